"""Unit spellings found in DBC and MDF files, normalised and converted with pint (SPEC §1).

DBC authors write the same unit many ways (``1/min``, ``U/min``, ``rpm``; ``Nm``, ``N.m``; ``kph``, ``km/h``;
``degC``, ``°C``). :func:`normalise` maps each to one pint expression; :func:`convert` converts numpy arrays.

Two pitfalls this module exists for:

* pint treats the radian as dimensionless, so it would convert ``1/min`` to ``rpm`` with a factor 1/(2*pi).
  Engine speed written as ``1/min`` means revolutions per minute, so such spellings are normalised to ``rpm``
  before pint sees them.
* A volume flow (``l/h``) is not a mass flow (``kg/h``): converting needs the fuel density, which the caller
  must give (``density_kg_per_l``); without it the conversion is refused.
* pint reads ``g`` as the gram, but an accelerometer's ``g`` is standard gravity (9.80665 m/s^2). ``g`` (and
  ``mg``) mean gravity only in an acceleration context: converting for a canonical channel whose unit is ``g``
  (``long_accel``, ``lat_accel``: ``channel=`` names it), or when the other unit is an acceleration (``m/s^2``).
  Everywhere else ``g`` stays the gram (``FuelUsed`` in g converts to kg).
"""

from __future__ import annotations

import logging
from functools import lru_cache

import numpy as np

from .errors import UnitError

__all__ = ["normalise", "convert", "can_convert", "registry"]

log = logging.getLogger(__name__)

#: Lower-cased spelling -> pint expression. Anything absent is handed to pint as written.
_ALIASES: dict[str, str] = {
    # rotational speed
    "1/min": "rpm", "u/min": "rpm", "r/min": "rpm", "rev/min": "rpm", "rpm": "rpm", "min-1": "rpm",
    "min^-1": "rpm", "1/mn": "rpm", "tr/min": "rpm", "upm": "rpm",
    # torque
    "nm": "N*m", "n.m": "N*m", "n*m": "N*m", "n m": "N*m", "n·m": "N*m", "knm": "kN*m",
    # speed
    "km/h": "km/h", "kph": "km/h", "kmh": "km/h", "km/hr": "km/h", "m/s": "m/s", "mph": "mph",
    # pressure
    "kpa": "kPa", "mbar": "mbar", "psi": "psi", "bar": "bar", "hpa": "hPa", "pa": "Pa", "mpa": "MPa",
    "psia": "psi", "bara": "bar", "kpaa": "kPa", "mbara": "mbar",
    # flow
    "g/s": "g/s", "kg/h": "kg/h", "g/h": "g/h", "kg/s": "kg/s", "l/h": "l/h", "lph": "l/h", "l/min": "l/min",
    "ml/s": "ml/s", "cc/min": "ml/min",
    # temperature
    "degc": "degC", "°c": "degC", "c": "degC", "deg c": "degC", "degf": "degF", "°f": "degF", "k": "K",
    # ratios and counts
    "%": "percent", "pct": "percent", "percent": "percent",
    "-": "", "": "", "none": "", "n/a": "", "1": "", "gear": "", "count": "", "bool": "",
    # power and distance
    "kw": "kW", "w": "W", "hp": "hp", "ps": "metric_horsepower", "m": "m", "km": "km",
    # acceleration (spellings that cannot be a mass; "g" itself is context-dependent: see _GRAVITY_ALIASES)
    "m/s^2": "m/s**2", "m/s**2": "m/s**2", "m/s²": "m/s**2", "m/s2": "m/s**2", "m/s/s": "m/s**2",
    "mps2": "m/s**2", "ft/s^2": "ft/s**2", "ft/s**2": "ft/s**2", "ft/s²": "ft/s**2",
    "g0": "g0", "g_0": "g0", "gn": "g0", "g_n": "g0", "standard_gravity": "g0",
}

#: Spellings that mean standard gravity (not grams) in an acceleration context.
_GRAVITY_ALIASES: dict[str, str] = {"g": "g0", "mg": "mg0", "g0": "g0", "gn": "g0", "g_n": "g0", "g_0": "g0",
                                    "standard_gravity": "g0"}
_ACCELERATIONS = ("m/s**2", "ft/s**2", "g0", "mg0")

#: pint expression -> (dimension, factor to that dimension's SI unit) for the linear units loggers use. Conversions
#: between two of these skip pint (whose registry costs ~0.9 s of start-up per process); pint's own definitions
#: give the same factors (tests/test_units.py checks every pair against pint).
_LINEAR: dict[str, tuple[str, float]] = {
    "rpm": ("rotation", 1.0),
    "Pa": ("pressure", 1.0), "hPa": ("pressure", 1e2), "mbar": ("pressure", 1e2), "kPa": ("pressure", 1e3),
    "bar": ("pressure", 1e5), "MPa": ("pressure", 1e6), "psi": ("pressure", 6894.757293168361),
    "kg/s": ("mass_flow", 1.0), "g/s": ("mass_flow", 1e-3), "kg/h": ("mass_flow", 1.0 / 3600.0),
    "g/h": ("mass_flow", 1e-3 / 3600.0),
    "N*m": ("torque", 1.0), "kN*m": ("torque", 1e3),
    "m/s": ("speed", 1.0), "km/h": ("speed", 1.0 / 3.6), "mph": ("speed", 0.44704),
    "W": ("power", 1.0), "kW": ("power", 1e3),
    "m": ("length", 1.0), "km": ("length", 1e3),
    "": ("ratio", 1.0), "percent": ("ratio", 0.01),
    "m/s**2": ("acceleration", 1.0), "g0": ("acceleration", 9.80665), "mg0": ("acceleration", 9.80665e-3),
    "ft/s**2": ("acceleration", 0.3048),
}


def _linear(src: str, dst: str) -> float | None:
    """The factor from ``src`` to ``dst`` when both are known linear units of one dimension, else None."""
    a, b = _LINEAR.get(src), _LINEAR.get(dst)
    if a is None or b is None or a[0] != b[0]:
        return None
    return a[1] / b[1]


def normalise(unit: str | None, *, gravity: bool = False) -> str:
    """The pint expression for a unit as DBC/MDF files spell it (``""`` for dimensionless).

    ``gravity``: the unit is an acceleration, so ``g`` is standard gravity (``g0``), not the gram.
    """
    text = (unit or "").strip()
    key = text.lower()
    if gravity and key in _GRAVITY_ALIASES:
        return _GRAVITY_ALIASES[key]
    if key in _ALIASES:
        return _ALIASES[key]
    return text


def _gravity_context(from_unit: str | None, to_unit: str | None, channel: str | None) -> bool:
    """Whether ``g`` means standard gravity here: the canonical ``channel``'s unit is g (an acceleration), or one
    side is an acceleration in any case (then a ``g`` on the other side cannot be a gram)."""
    if channel is not None:
        from .channels import CANONICAL, GRAVITY_UNIT

        canonical = CANONICAL.get(channel)
        if canonical is not None:
            return canonical.unit == GRAVITY_UNIT
    return normalise(from_unit) in _ACCELERATIONS or normalise(to_unit) in _ACCELERATIONS


@lru_cache(maxsize=1)
def registry():
    """The process-wide pint registry (created on first use: it takes a few hundred milliseconds)."""
    import pint

    return pint.UnitRegistry()


def _is_volume_flow(unit: str) -> bool:
    ureg = registry()
    try:
        return ureg.Quantity(1.0, unit).dimensionality == ureg.Quantity(1.0, "l/h").dimensionality
    except Exception:
        return False


def _is_mass_flow(unit: str) -> bool:
    ureg = registry()
    try:
        return ureg.Quantity(1.0, unit).dimensionality == ureg.Quantity(1.0, "kg/h").dimensionality
    except Exception:
        return False


def _describe(profile: str | None, channel: str | None, signal: str | None) -> tuple[str | None, str | None]:
    place = ", ".join(p for p in (f"channel {channel}" if channel else "",
                                  f"signal {signal}" if signal else "") if p) or None
    return profile, place


def can_convert(from_unit: str | None, to_unit: str | None, *, density_kg_per_l: float | None = None,
                channel: str | None = None) -> bool:
    """True when :func:`convert` would succeed for these units (for the canonical ``channel``, when given)."""
    try:
        convert(np.zeros(1), from_unit, to_unit, density_kg_per_l=density_kg_per_l, channel=channel)
    except UnitError:
        return False
    return True


def convert(values: np.ndarray, from_unit: str | None, to_unit: str | None, *,
            density_kg_per_l: float | None = None, profile: str | None = None, channel: str | None = None,
            signal: str | None = None) -> np.ndarray:
    """``values`` (float64) in ``from_unit`` expressed in ``to_unit``.

    Same unit after normalisation: the array is returned unchanged (no rounding). A volume flow converts to a
    mass flow only with ``density_kg_per_l``. ``g`` is standard gravity for a canonical ``channel`` whose unit is
    g (and opposite an acceleration unit), else the gram. Anything else pint cannot convert raises
    :class:`UnitError` naming the profile, the channel and the signal given.
    """
    gravity = _gravity_context(from_unit, to_unit, channel)
    src, dst = normalise(from_unit, gravity=gravity), normalise(to_unit, gravity=gravity)
    values = np.asarray(values, dtype=np.float64)
    if src == dst:
        return values
    factor = _linear(src, dst)
    if factor is not None:
        return values * factor
    path, place = _describe(profile, channel, signal)
    ureg = registry()
    try:
        if _is_volume_flow(src) and _is_mass_flow(dst):
            if density_kg_per_l is None:
                raise UnitError(
                    f"cannot convert a volume flow {from_unit!r} to a mass flow {to_unit!r} without a density",
                    path=path, place=place,
                    fix="give the fuel density in the profile: {signal=..., unit=..., density_kg_per_l=0.745}")
            quantity = ureg.Quantity(values, src) * ureg.Quantity(density_kg_per_l, "kg/l")
            return np.asarray(quantity.to(dst).magnitude, dtype=np.float64)
        quantity = ureg.Quantity(values, src or "dimensionless")
        return np.asarray(quantity.to(dst or "dimensionless").magnitude, dtype=np.float64)
    except UnitError:
        raise
    except Exception as err:  # pint raises UndefinedUnitError, DimensionalityError, ...
        raise UnitError(
            f"cannot convert unit {from_unit!r} to {to_unit!r} ({type(err).__name__}: {err})",
            path=path, place=place,
            fix="set the signal's unit in the profile: {signal=..., unit=\"<unit of the DBC signal>\"}",
        ) from None
