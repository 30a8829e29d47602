"""ASAM MDF 4 writers through asammdf: CAN bus logging (``CAN_DataFrame``) and decoded physical channels.

Bus logging follows the ASAM MDF bus-logging layout as CAN loggers and python-can's ``MF4Writer`` write it: one
channel group whose source is a CAN bus, a structured ``CAN_DataFrame`` channel with the members ``BusChannel``
(1-based, as loggers number their CAN ports), ``ID``, ``IDE``, ``DLC``, ``DataLength``, ``DataBytes``, ``Dir``,
``EDL``, ``BRS``, ``ESI``; ``asammdf.MDF.extract_bus_logging`` decodes it with a DBC per bus channel.

Output is deterministic: the measurement start comes from the session, and the file-history block asammdf would
stamp with the wall clock is written with the session start instead.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import numpy as np

from ...frames import Frames

__all__ = ["write_mf4_bus", "write_mdf_decoded", "DecodedGroup", "CAN_DATAFRAME_DTYPE"]

CAN_DATAFRAME_DTYPE = np.dtype([
    ("CAN_DataFrame.BusChannel", "<u1"), ("CAN_DataFrame.ID", "<u4"), ("CAN_DataFrame.IDE", "<u1"),
    ("CAN_DataFrame.DLC", "<u1"), ("CAN_DataFrame.DataLength", "<u1"), ("CAN_DataFrame.DataBytes", "(64,)u1"),
    ("CAN_DataFrame.Dir", "<u1"), ("CAN_DataFrame.EDL", "<u1"), ("CAN_DataFrame.BRS", "<u1"),
    ("CAN_DataFrame.ESI", "<u1"),
])


@dataclass(frozen=True, slots=True)
class DecodedGroup:
    """One raster of decoded channels (a DBC message's signals, as WinDARAB-style exports group them)."""

    name: str
    time: np.ndarray
    channels: tuple[tuple[str, np.ndarray, str], ...]   # (name, values, unit)


def _new_mdf(start: datetime):
    from asammdf import MDF
    from asammdf.blocks.v4_blocks import FileHistory

    mdf = MDF(version="4.10")
    mdf.header.start_time = start
    history = FileHistory()
    history.abs_time = int(start.timestamp()) * 10**9
    history.tz_offset = 0
    history.daylight_save_time = 0
    history.comment = ("<FHcomment><TX>created</TX><tool_id>bopwatch simulate</tool_id>"
                       "<tool_vendor>bopwatch</tool_vendor><tool_version>0.1.0</tool_version></FHcomment>")
    mdf.file_history.append(history)
    return mdf


def _save(mdf, path: Path, compression: int) -> None:
    try:
        mdf.save(path, overwrite=True, compression=compression, add_history_block=False)
    finally:
        mdf.close()


def write_mf4_bus(path: str | Path, frames: Frames, start: datetime, compression: int = 2) -> None:
    from asammdf import Signal, Source

    records = np.zeros(len(frames), CAN_DATAFRAME_DTYPE)
    records["CAN_DataFrame.BusChannel"] = frames.bus + 1
    records["CAN_DataFrame.ID"] = frames.arbitration_id
    records["CAN_DataFrame.IDE"] = frames.is_extended
    records["CAN_DataFrame.DLC"] = frames.length
    records["CAN_DataFrame.DataLength"] = frames.length
    records["CAN_DataFrame.DataBytes"][:, : frames.data.shape[1]] = frames.data
    source = Source(name="CAN", path="CAN", comment="SRO data logger", source_type=Source.SOURCE_BUS,
                    bus_type=Source.BUS_TYPE_CAN)
    mdf = _new_mdf(start)
    mdf.append(Signal(name="CAN_DataFrame", samples=records, timestamps=frames.timestamp.astype(np.float64),
                      source=source, comment="CAN bus logging"), acq_name="CAN1", acq_source=source)
    _save(mdf, Path(path), compression)


def write_mdf_decoded(path: str | Path, groups: list[DecodedGroup], start: datetime, compression: int = 2) -> None:
    from asammdf import Signal

    mdf = _new_mdf(start)
    for group in groups:
        signals = [Signal(name=name, samples=np.asarray(values, np.float64), timestamps=group.time,
                          unit=unit, comment=f"{group.name}.{name}") for name, values, unit in group.channels]
        mdf.append(signals, acq_name=group.name, comment=group.name)
    _save(mdf, Path(path), compression)
