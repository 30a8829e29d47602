"""Decoded data as it leaves telemetry: ``Channel`` time series, per-message ``MessageTrace``s for
data-quality checks, per-file ``SourceInfo``, and the ``Session`` that holds one session's worth of them.

Also the registry of canonical channels (SPEC §1): their names, units and whether they are continuous. The
accelerations (``long_accel``, ``lat_accel``, SPEC §5) are in ``g``, standard gravity: see
:data:`GRAVITY_UNIT` and :mod:`telemetry.units`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from types import MappingProxyType

import numpy as np

from .frames import Finding

__all__ = ["CanonicalChannel", "CANONICAL", "GRAVITY_UNIT", "Channel", "MessageTrace", "SourceInfo", "Session"]

#: The canonical unit of the acceleration channels: standard gravity (9.80665 m/s^2). Where a canonical channel's
#: unit is this, a DBC/MDF unit ``g`` means gravity too, not grams (telemetry.units.convert).
GRAVITY_UNIT = "g"


@dataclass(frozen=True, slots=True)
class CanonicalChannel:
    name: str
    unit: str            # pint-compatible unit string of the canonical unit ("" for dimensionless); "g" is the
                         # standard gravity 9.80665 m/s^2 (an acceleration), never the gram (telemetry.units)
    continuous: bool     # continuous signals may be interpolated; discrete ones are held (last known sample)
    description: str

    @property
    def optional(self) -> bool:
        """SPEC marks it optional: a logger without it is normal, so its absence is no finding unless needed."""
        return self.description.endswith("(optional)")


CANONICAL: Mapping[str, CanonicalChannel] = MappingProxyType({c.name: c for c in [
    CanonicalChannel("engine_speed", "rpm", True, "engine speed"),
    CanonicalChannel("boost_pressure", "bar", True, "intake manifold absolute pressure"),
    CanonicalChannel("ambient_pressure", "bar", True, "ambient absolute pressure"),
    CanonicalChannel("fuel_flow", "kg/h", True, "fuel mass flow"),
    CanonicalChannel("engine_torque", "N*m", True, "engine torque from the ECU"),
    CanonicalChannel("driveshaft_torque_left", "N*m", True, "left drive-shaft torque sensor"),
    CanonicalChannel("driveshaft_torque_right", "N*m", True, "right drive-shaft torque sensor"),
    CanonicalChannel("vehicle_speed", "km/h", True, "vehicle speed"),
    CanonicalChannel("wheel_speed_fl", "km/h", True, "front-left wheel speed"),
    CanonicalChannel("wheel_speed_fr", "km/h", True, "front-right wheel speed"),
    CanonicalChannel("wheel_speed_rl", "km/h", True, "rear-left wheel speed"),
    CanonicalChannel("wheel_speed_rr", "km/h", True, "rear-right wheel speed"),
    CanonicalChannel("throttle", "%", True, "throttle pedal or butterfly position"),
    CanonicalChannel("gear", "", False, "engaged gear"),
    CanonicalChannel("refuel", "", False, "refuelling sensor, 1 while refuelling"),
    CanonicalChannel("lap", "", False, "lap counter or beacon (optional)"),
    CanonicalChannel("distance", "m", True, "distance travelled (optional)"),
    CanonicalChannel("long_accel", GRAVITY_UNIT, True, "longitudinal acceleration, + forwards (optional)"),
    CanonicalChannel("lat_accel", GRAVITY_UNIT, True, "lateral acceleration (optional)"),
    CanonicalChannel("power", "kW", True, "derived: torque x angular speed"),
]})


@dataclass(frozen=True, slots=True)
class Channel:
    """One time series. ``time`` is float64 seconds from the session origin (the first frame of the session),
    ``value`` float64 in ``unit`` (the canonical unit for canonical channels)."""

    name: str
    unit: str
    time: np.ndarray
    value: np.ndarray
    source: str = ""          # "Message.Signal", an MDF channel name, or "derived: ..."
    bus: int | None = None

    def __len__(self) -> int:
        return len(self.time)


@dataclass(frozen=True, slots=True)
class MessageTrace:
    """When one CAN message arrived, what its DBC says its cycle is, and where its integrity checks failed.

    ``counter_skips`` and ``checksum_failures`` are the times (session seconds) of the frames where the rolling
    counter did not advance by one or the checksum did not match; both are empty when the profile declares no
    such check for the message (``checked`` says which checks were made).
    """

    name: str
    bus: int
    time: np.ndarray
    cycle_time_s: float | None
    counter_skips: np.ndarray = field(default_factory=lambda: np.empty(0))
    checksum_failures: np.ndarray = field(default_factory=lambda: np.empty(0))
    checked: tuple[str, ...] = ()     # subset of ("counter", "checksum")
    signals: tuple[str, ...] = ()     # canonical channels fed by this message


@dataclass(frozen=True, slots=True)
class SourceInfo:
    """One input file as read: what ``inspect`` prints and what a verdict cites."""

    path: str
    sha256: str
    format: str
    size: int
    frames: int | None          # raw CAN frames read (None for decoded-channel files)
    buses: tuple[int, ...]
    ids: int | None             # distinct arbitration ids
    start: datetime | None      # absolute UTC start, where the file records it
    duration_s: float
    findings: tuple[Finding, ...] = ()
    detected: str | None = None  # what the content was taken for ("candump -l log", "MDF 3.30", "TRC 2.1")

    def to_dict(self) -> dict:
        out = {
            "path": self.path, "sha256": self.sha256, "format": self.format, "size": self.size,
            "frames": self.frames, "buses": list(self.buses), "ids": self.ids,
            "start": None if self.start is None else self.start.strftime("%Y-%m-%dT%H:%M:%S.%fZ").replace(
                ".000000Z", "Z"),
            "duration_s": round(self.duration_s, 6),
            "findings": [f.to_dict() for f in self.findings],
        }
        if self.detected is not None:
            out["detected"] = self.detected
        return out


@dataclass(frozen=True, slots=True)
class Session:
    """One session's decoded data, possibly joined from several files in time order."""

    channels: Mapping[str, Channel]              # canonical channels present
    sources: tuple[SourceInfo, ...]
    start: datetime | None                       # absolute UTC of time 0, where known
    messages: Mapping[str, MessageTrace] = field(default_factory=dict)   # key "bus:Message"
    signals: Mapping[str, Channel] = field(default_factory=dict)        # every DBC signal, when asked
    findings: tuple[Finding, ...] = ()           # decoder findings (short frames, unknown ids, joins)
    missing: tuple[str, ...] = ()                # canonical channels the profile maps but no data arrived for

    @property
    def duration_s(self) -> float:
        ends = [float(c.time[-1]) for c in self.channels.values() if len(c)]
        return max(ends) if ends else 0.0
