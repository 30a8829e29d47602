"""One car against its model's reference run: per bin, is the car where the reference puts it?

Evidence to investigate, never a verdict: the findings (kind ``reference``) are listed with the evidence and never
change a rule's verdict. For each envelope the car and the reference share, a bin is compared when both hold at
least ``min_samples`` samples in it. The reference's band in a bin is its median widened by the larger of
``min_band_pct`` % of the median and half its own interquartile range times ``iqr_factor`` (the reference's own
spread); the car's median outside the band is the bin ``above`` or ``below``. A finding is raised for a quantity
when at least ``min_bins`` compared bins lie on the same side and hold at least ``min_share`` of the compared
bins (so one odd bin, or a car that crosses the band, is not a finding). Its figure is the median of the car's
bin medians over the reference's (``ratio``), e.g. 1.05: 5 % more power at the same rpm at full throttle.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass

import numpy as np

from .envelopes import QUANTITIES, Envelope, RunEnvelopes

__all__ = ["ReferenceSettings", "BinComparison", "ReferenceFinding", "Comparison", "compare"]


@dataclass(frozen=True, slots=True)
class ReferenceSettings:
    """Thresholds of a comparison (stored with a reference: ``reference set --min-samples ...``)."""

    min_samples: int = 25           # per bin, in the car and in the reference
    min_bins: int = 3               # bins on one side before a quantity is a finding
    min_share: float = 0.6          # of the compared bins
    min_band_pct: float = 2.0       # the band is at least +-2 % of the reference's median
    iqr_factor: float = 1.0         # ... or half the reference's interquartile range times this

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: Mapping | None) -> ReferenceSettings:
        d = dict(d or {})
        known = {k: d[k] for k in cls.__dataclass_fields__ if k in d}
        return cls(**known)


@dataclass(frozen=True, slots=True)
class BinComparison:
    lower: float
    upper: float
    car_p50: float
    band_low: float
    band_high: float
    ref_p50: float
    car_samples: int
    ref_samples: int
    side: str                       # "inside", "above", "below"

    def to_dict(self) -> dict:
        return {k: (round(v, 6) if isinstance(v, float) else v) for k, v in asdict(self).items()}


@dataclass(frozen=True, slots=True)
class ReferenceFinding:
    kind: str                       # always "reference" (advisory)
    quantity: str
    side: str                       # "above" | "below"
    bins: int
    compared: int
    samples: int
    ratio: float
    detail: str

    def to_dict(self) -> dict:
        return {"kind": self.kind, "quantity": self.quantity, "side": self.side, "bins": self.bins,
                "compared": self.compared, "samples": self.samples, "ratio": round(self.ratio, 6),
                "detail": self.detail}


@dataclass(frozen=True, slots=True)
class Comparison:
    reference: Mapping[str, object]          # what the reference is (id, model, source)
    settings: ReferenceSettings
    bins: Mapping[str, tuple[BinComparison, ...]]
    findings: tuple[ReferenceFinding, ...]

    def to_dict(self) -> dict:
        return {"reference": dict(self.reference), "settings": self.settings.to_dict(),
                "findings": [f.to_dict() for f in self.findings],
                "quantities": {q: [b.to_dict() for b in self.bins[q]] for q in QUANTITIES if q in self.bins}}


def _compare_envelope(car: Envelope, ref: Envelope, s: ReferenceSettings) -> list[BinComparison]:
    by_lower = {round(lo, 6): i for i, lo in enumerate(ref.lower)}
    out = []
    for i, lo in enumerate(car.lower):
        j = by_lower.get(round(lo, 6))
        if j is None or car.counts[i] < s.min_samples or ref.counts[j] < s.min_samples:
            continue
        median = ref.p50[j]
        half = max(abs(median) * s.min_band_pct / 100.0, (ref.p75[j] - ref.p25[j]) / 2.0 * s.iqr_factor)
        low, high = median - half, median + half
        value = car.p50[i]
        side = "above" if value > high else "below" if value < low else "inside"
        out.append(BinComparison(lo, lo + car.width, value, low, high, median, car.counts[i], ref.counts[j], side))
    return out


def _finding(quantity: str, env: Envelope, bins: list[BinComparison], s: ReferenceSettings) -> ReferenceFinding | None:
    for side in ("above", "below"):
        hits = [b for b in bins if b.side == side]
        if len(hits) < s.min_bins or len(hits) < s.min_share * len(bins):
            continue
        ratios = [b.car_p50 / b.ref_p50 for b in hits if b.ref_p50]
        ratio = float(np.median(ratios)) if ratios else float("nan")
        samples = sum(b.car_samples for b in hits)
        where = f"{hits[0].lower:g}-{hits[-1].upper:g} {env.key_unit}"
        pct = (ratio - 1.0) * 100.0
        return ReferenceFinding(
            "reference", quantity, side, len(hits), len(bins), samples, ratio,
            f"{env.value} {side} the reference in {len(hits)} of {len(bins)} {env.key} bins ({where}, "
            f"{samples:,} samples{' at full throttle' if env.gated else ''}): median {pct:+.1f} % against the "
            "reference's band; to investigate (engine map, sensor offset), not a verdict")
    return None


def compare(car: RunEnvelopes, ref: RunEnvelopes, *, settings: ReferenceSettings | None = None,
            reference: Mapping[str, object] | None = None) -> Comparison:
    """Compare ``car`` with ``ref`` (the same model's reference run), envelope by envelope."""
    s = settings or ReferenceSettings()
    bins: dict[str, tuple[BinComparison, ...]] = {}
    findings = []
    for quantity in QUANTITIES:
        a, b = car.envelopes.get(quantity), ref.envelopes.get(quantity)
        if a is None or b is None:
            continue
        compared = _compare_envelope(a, b, s)
        bins[quantity] = tuple(compared)
        found = _finding(quantity, a, compared, s)
        if found is not None:
            findings.append(found)
    return Comparison(dict(reference or {"model": ref.model}), s, bins, tuple(findings))
