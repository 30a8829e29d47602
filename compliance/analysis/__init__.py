"""Analysis: what the data says beyond the rules. Envelopes of a run (boost, power, fuel flow, acceleration against
rpm and speed), a car against its model's reference run (advisory findings of kind ``reference``, never a
verdict), and the BoP working group's view of the field. Pure: channels and bulletins in, tables out; the store
keeps references (``compliance.store.references``)."""
from .compare import Comparison, ReferenceFinding, ReferenceSettings, compare
from .envelopes import QUANTITIES, Envelope, RunEnvelopes, envelope, run_envelopes

__all__ = ["QUANTITIES", "Envelope", "RunEnvelopes", "envelope", "run_envelopes", "ReferenceSettings",
           "ReferenceFinding", "Comparison", "compare"]
