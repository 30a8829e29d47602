"""bopwatch telemetry: log file -> raw CAN frames -> decoded signals -> canonical channels. Knows nothing of BoP.

The public API::

    open_log, read_frames, inspect_log        # telemetry.formats: every log format into Frames
    load_profile, load_database               # telemetry.profiles: car profiles (SPEC §2) and their DBCs
    decode_frames                             # telemetry.decode: vectorised, bit-exact with cantools
    load_session                              # telemetry.session: files -> one Session of canonical channels
    convert                                   # telemetry.units: unit conversion (pint)

Names are imported on first use, so ``import telemetry`` stays cheap (cantools, pint and asammdf load lazily).
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING

from .channels import CANONICAL, Channel, MessageTrace, Session, SourceInfo
from .errors import (
    CorruptLog,
    DbcError,
    JoinError,
    ProfileError,
    TelemetryError,
    UnitError,
    UnsupportedFormat,
)
from .frames import Finding, Frames

__all__ = [
    "open_log", "read_frames", "inspect_log", "load_profile", "load_database", "decode_frames", "load_session",
    "convert", "Profile", "Decoded", "DecodedMessage", "DecodedSignal",
    "Frames", "Finding", "Channel", "MessageTrace", "Session", "SourceInfo", "CANONICAL",
    "TelemetryError", "UnsupportedFormat", "CorruptLog", "DbcError", "ProfileError", "UnitError", "JoinError",
]

_LAZY = {
    "open_log": "formats", "read_frames": "formats", "inspect_log": "formats",
    "load_profile": "profiles", "load_database": "profiles", "Profile": "profiles",
    "decode_frames": "decode", "Decoded": "decode", "DecodedMessage": "decode", "DecodedSignal": "decode",
    "load_session": "session", "convert": "units",
}

if TYPE_CHECKING:  # pragma: no cover
    from .decode import Decoded, DecodedMessage, DecodedSignal, decode_frames
    from .formats import inspect_log, open_log, read_frames
    from .profiles import Profile, load_database, load_profile
    from .session import load_session
    from .units import convert


def __getattr__(name: str):
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'telemetry' has no attribute {name!r}")
    value = getattr(import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
