"""The BoP test knobs of a simulated car (docs/simulator.md, "BoP test knobs"), and their command-line form.

- ``power_offset_pct`` (%): the engine makes that much more torque, so power, at the same boost and rpm (an
  engine map or a sensor offset): logged boost unchanged, logged power (drive-shaft torque x speed, or engine
  torque x speed) higher by that share; fuel flow stays at its equal-boost value. 0 = off.
- ``boost_margin_bar`` (bar): how far under the ambient-corrected boost limit the team's full-throttle boost
  target sits (sandbagging: 0.1 never uses the allowance); power follows boost. None = the usual 0.035 bar.
  Turbo engines only.
- ``mass_kg`` (kg, or ``"bulletin"``): the car's mass, in the lap speed profile and the power the driven speed
  needs (so in ``long_accel``). ``"bulletin"``: min_weight_kg + ``info.ballast_kg`` of the bulletin in force.
  None = the model's own (cars.py).

All off by default, so existing outputs do not change; a run with any knob set records them in its ground truth.
"""

from __future__ import annotations

import argparse

from ..errors import TelemetryError

__all__ = ["KNOB_DEFAULTS", "knobs_set", "parse_mass", "add_knob_arguments", "knob_fields"]

KNOB_DEFAULTS = {"power_offset_pct": 0.0, "boost_margin_bar": None, "mass_kg": None}


def knobs_set(config) -> bool:
    """Whether any knob of ``config`` (a SimConfig) is not at its default (off)."""
    return any(getattr(config, k) != v for k, v in KNOB_DEFAULTS.items())


def parse_mass(text: str | float | None) -> float | str | None:
    """``--mass`` value: kg (a number > 0) or ``bulletin``."""
    if text is None or text == "bulletin":
        return text
    try:
        value = float(text)
    except ValueError:
        raise TelemetryError(f"--mass {text!r} is neither kg nor 'bulletin'", place="--mass",
                             fix="write e.g. --mass 1340 or --mass bulletin") from None
    if not value > 0:
        raise TelemetryError(f"--mass {text!r} is not a positive mass", place="--mass", fix="give kg > 0")
    return value


def _mass_arg(text: str) -> float | str:
    try:
        return parse_mass(text)
    except TelemetryError as err:
        raise argparse.ArgumentTypeError(f"{text!r} is neither kg (> 0) nor 'bulletin'") from err


def add_knob_arguments(parser: argparse.ArgumentParser) -> None:
    """Add ``--power-offset``, ``--boost-margin`` and ``--mass`` to a ``simulate log`` parser."""
    group = parser.add_argument_group("BoP test knobs (default: off)")
    group.add_argument("--power-offset", type=float, default=0.0, metavar="PCT", dest="power_offset_pct",
                       help="the engine makes PCT %% more torque/power at the same boost and rpm (engine map or "
                            "sensor offset; logged boost and fuel flow unchanged)")
    group.add_argument("--boost-margin", type=float, default=None, metavar="BAR", dest="boost_margin_bar",
                       help="sandbagging: full-throttle boost target BAR under the ambient-corrected limit "
                            "(default 0.035, as teams calibrate); turbo engines only")
    group.add_argument("--mass", type=_mass_arg, default=None, metavar="KG|bulletin", dest="mass_kg",
                       help="car mass in kg, or 'bulletin' (min_weight_kg + info.ballast_kg of --bulletin); "
                            "default: the model's own")


def knob_fields(args: argparse.Namespace) -> dict:
    """The SimConfig fields the knob options set: ``SimConfig(..., **knob_fields(args))``."""
    return {k: getattr(args, k, v) for k, v in KNOB_DEFAULTS.items()}
