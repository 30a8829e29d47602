"""The pre-session logger check (issue 18): listen on a car's CAN bus(es) for a while, then say per item whether
the logger is fit to certify a session: every needed channel present at its DBC raster, plausible values,
rolling counters and checksums good, bus load and error frames within bounds.

``collect`` gathers frames from python-can buses into :class:`telemetry.frames.Frames` columns; ``items`` decodes
them with the car profile the way ``check`` does (the same ``load_session`` path) and judges each item.
"""

from .collect import Capture, LoggerBusError, collect
from .items import (
    BUS_LOAD_MAX,
    ERROR_FRAMES_MIN,
    ERROR_SHARE_MAX,
    GAP_CYCLES,
    GREEN,
    RASTER_TOLERANCE,
    RED,
    SKIP,
    Item,
    LoggerCheck,
    check_capture,
    needed_channels,
)

__all__ = ["Capture", "LoggerBusError", "collect", "Item", "LoggerCheck", "check_capture", "needed_channels",
           "GREEN", "RED", "SKIP", "RASTER_TOLERANCE", "GAP_CYCLES", "BUS_LOAD_MAX", "ERROR_FRAMES_MIN",
           "ERROR_SHARE_MAX"]
