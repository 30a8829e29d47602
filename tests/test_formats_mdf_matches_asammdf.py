"""Every bus-logging MF4 of the corpus (CANedge finalised and unfinalised, per-identifier groups with virtual
channels and 48-bit time stamps, VLSD payloads) gives through the chunked record reader exactly the frames that
asammdf's own per-member arrays (``MDF.select``) give, joined in time order."""

from __future__ import annotations

import numpy as np
import pytest

from telemetry.formats import open_log
from telemetry.formats.mdf import FRAME_GROUPS

pytestmark = pytest.mark.corpus


def _bus_logs(corpus_dir):
    return sorted(p for p in corpus_dir.rglob("*") if p.suffix.lower() == ".mf4" and "decoded" not in str(p))


def test_record_reader_equals_asammdf_select_on_every_corpus_bus_log(corpus_dir):
    checked = 0
    for path in _bus_logs(corpus_dir):
        with open_log(path) as lf:
            if lf.kind != "frames":
                continue
            ours = [c for c in lf.chunks(max_frames=1_000)]
            parts = [lf._group_columns(name, group, extra)
                     for name, extra in FRAME_GROUPS.items() for group, _ in lf._mdf.channels_db.get(name, ())]
        parts = [p for p in parts if p is not None]
        ts = np.concatenate([p[0] for p in parts])
        order = np.argsort(ts, kind="stable")
        got = {k: np.concatenate([getattr(c, k) for c in ours]) for k in ("timestamp", "bus", "arbitration_id",
                                                                           "flags", "length")}
        for k, col in zip(("timestamp", "bus", "arbitration_id", "flags", "length"), range(5), strict=True):
            want = np.concatenate([p[col] for p in parts])[order]
            np.testing.assert_array_equal(got[k], want.astype(got[k].dtype), err_msg=f"{path.name}: {k}")
        data = np.zeros((len(ts), 64), np.uint8)
        row = 0
        for p in parts:
            data[row:row + len(p[0]), :p[5].shape[1]] = p[5]
            row += len(p[0])
        ours_data = np.zeros_like(data)
        row = 0
        for c in ours:
            ours_data[row:row + len(c), :c.data.shape[1]] = c.data
            row += len(c)
        np.testing.assert_array_equal(ours_data, data[order], err_msg=f"{path.name}: data")
        checked += 1
    assert checked >= 7
