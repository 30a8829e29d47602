"""The GT car simulator: tracks, car models, BoP-calibrated driving, CAN encoding, injections and log writers.

Deterministic from a seed; vectorised with numpy. ``simulate_log`` writes one session's log and returns its
ground truth; ``generate_event`` writes the whole sample event (see docs/simulator.md), ``generate_endurance`` its
endurance session (SPEC §5 bulletin), ``bop_test_event`` a simulated BoP test with known power-to-weight.
"""

from .bop_test import bop_test_event
from .cars import CARS, CarModel, car_model, load_car_profile
from .endurance import generate_endurance
from .event import generate_event
from .injections import KINDS, Injection, parse_injection
from .run import SimConfig, simulate_log
from .track import TRACKS
from .writers import FORMATS

__all__ = ["CARS", "CarModel", "car_model", "load_car_profile", "generate_event", "generate_endurance", "KINDS",
           "Injection", "parse_injection", "SimConfig", "simulate_log", "TRACKS", "FORMATS",
           "bop_test_event"]
