"""Bit-exactness against cantools: every corpus database cantools loads, on random frames (Hypothesis), and the
corpus log + DBC pairs (logs read with python-can, so this test does not depend on our readers).

Reference: ``Database.decode_message(frame_id, data, decode_choices=False)`` as float64; frames cantools refuses
(short, unknown multiplexer value) must yield nothing from us either.
"""

from __future__ import annotations

import logging
import warnings
from functools import cache
from pathlib import Path

import numpy as np
import pytest
from _decode_support import frames_from_messages, ours, reference, same
from conftest import CORPUS
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from telemetry.decode import decode_frames
from telemetry.frames import FLAG_EXTENDED, Frames

pytestmark = pytest.mark.corpus

_SUFFIXES = (".dbc", ".kcd", ".sym", ".arxml")


def _database_files() -> list[str]:
    if CORPUS is None:
        return []
    return sorted(str(p.relative_to(CORPUS)) for p in CORPUS.rglob("*") if p.suffix.lower() in _SUFFIXES)


@cache
def _load(rel: str):
    import cantools

    logging.getLogger("cantools").setLevel(logging.CRITICAL)
    try:
        db = cantools.database.load_file(str(CORPUS / rel), strict=False)
    except Exception:
        return None
    if not hasattr(db, "messages"):
        return None
    # messages cantools decodes with python bitstruct beyond 64 bits are reported by us as undecodable
    usable = [m for m in db.messages if not m.is_container and all(s.length <= 64 for s in m.signals)]
    return db, usable


def _assert_same(databases, frames: Frames, decoded) -> None:
    expected = reference(databases, frames)
    got = ours(decoded)
    bad = [(k, got.get(k), expected.get(k)) for k in set(got) | set(expected)
           if k not in got or k not in expected or not same(got[k], expected[k])]
    assert not bad, f"{len(bad)} differences, e.g. {sorted(bad, key=str)[:5]}"


@pytest.mark.parametrize("rel", _database_files() or ["(no corpus)"])
def test_random_frames_decode_like_cantools(rel: str) -> None:
    if CORPUS is None:
        pytest.skip("../shared/corpus is absent")
    loaded = _load(rel)
    if loaded is None:
        # a database cantools refuses: loading it through a profile is a one-line DbcError naming the file
        from telemetry.errors import DbcError
        from telemetry.profiles import load_database

        with pytest.raises(DbcError) as err:
            load_database(CORPUS / rel)
        assert Path(rel).name in str(err.value) and "\n" not in str(err.value)
        return
    db, usable = loaded
    if not usable:  # an empty database (or only containers / >64-bit signals): nothing decodes, all is counted
        frames = Frames(np.zeros(1), np.zeros(1, np.uint8), np.array([0x123], np.uint32), np.zeros(1, np.uint8),
                        np.full(1, 8, np.uint8), np.zeros((1, 8), np.uint8))
        decoded = decode_frames(frames, db)
        assert sum(len(m) for m in decoded.messages.values()) == 0
        assert len(reference([db], frames)) == 0
        return

    frame = st.tuples(st.integers(0, len(usable) - 1), st.integers(-1, 1), st.randoms(use_true_random=False))

    @settings(max_examples=6, deadline=None, derandomize=True,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
    @given(st.lists(frame, min_size=1, max_size=40), st.sampled_from([0x00, 0xFF, None]))
    def check(picks, fill) -> None:
        n = len(picks)
        width = max(8, max(usable[i].length + d for i, d, _ in picks))
        width = 8 if width <= 8 else 64
        data = np.zeros((n, width), np.uint8)
        length = np.zeros(n, np.uint8)
        for row, (i, delta, rnd) in enumerate(picks):
            size = min(64, max(0, usable[i].length + delta))
            payload = bytes([fill] * size) if fill is not None and rnd.random() < 0.2 else rnd.randbytes(size)
            data[row, :size] = np.frombuffer(payload, np.uint8)
            length[row] = size
        msgs = [usable[i] for i, _, _ in picks]
        frames = Frames(np.arange(n, dtype=np.float64), np.zeros(n, np.uint8),
                        np.array([m.frame_id for m in msgs], np.uint32),
                        np.array([FLAG_EXTENDED if m.is_extended_frame else 0 for m in msgs], np.uint8),
                        length, data)
        _assert_same([db], frames, decode_frames(frames, db))

    check()


# "Log + matching DBC pairs" of MANIFEST.md whose logs python-can reads and whose DBCs cantools loads, with the
# frames decoded by exact id (MANIFEST's counts; where it used allow_truncated=True, short frames are excluded
# here: accellog 812 = 775 + 37 short, noeculog 303 = 299 + 4 short; the J1939/ISO-TP/NMEA pairs match no id
# exactly, as MANIFEST notes, and still prove that every frame is counted)
PAIRS = [
    ("api-examples/other/matlab-basics/LOG_datastore/3BA199E2/00000164/00000005-60FEB5A8.MF4",
     ["api-examples/other/matlab-basics/dbc_files/canmod-gps.dbc"], 4846),
    ("api-examples/other/matlab-basics/00000014.MF4", ["api-examples/other/matlab-basics/my_dbc.DBC"], 9574),
    ("api-examples/other/matlab-basics/00000014_fin.MF4", ["api-examples/other/matlab-basics/my_dbc.DBC"], 9574),
    ("api-examples/other/concatenate-mf4-by-period/LOG/2F6913DB/00001089/00000001-63BEF5CD.MF4",
     ["api-examples/other/concatenate-mf4-by-period/dbc_files/gnss.dbc"], 3013),
    ("api-examples/data-processing/LOG/FCBF0606/00003482/00000001-60B621D9.MF4",
     ["api-examples/data-processing/dbc_files/CSS-Electronics-SAE-J1939-DEMO.dbc"], 0),
    ("api-examples/data-processing/LOG/FCBF0606/00003482/00000001-60B621D9.MF4",
     ["api-examples/data-processing/dbc_files/tp_j1939.dbc"], 0),
    ("api-examples/data-processing/LOG/17BD1DB7/00000006/00000170.MF4",
     ["api-examples/data-processing/dbc_files/tp_uds.dbc"], 0),
    ("api-examples/data-processing/LOG/2F6913DB/00000004/00000001.MF4",
     ["api-examples/data-processing/dbc_files/tp_uds_nissan.dbc"], 0),
    ("api-examples/data-processing/LOG/94C49784/00000005/00000002.MF4",
     ["api-examples/data-processing/dbc_files/tp_nmea.dbc"], 0),
    ("CANBUSlogs/Yaris_09/accellog.log", ["opendbc/toyota_iQ_2009_can.dbc"], 775),
    ("CANBUSlogs/Yaris_09/noeculog.trc", ["opendbc/toyota_iQ_2009_can.dbc"], 299),
    ("CANBUSlogs/genesis/candump-2021-05-28_164301.log", ["CANBUSlogs/genesis/slimmeddbc.dbc"], 940),
    ("CANBUSlogs/gt350_can_logs/keyonstraight.trc",
     ["opendbc/ford_fusion_2018_pt.dbc", "opendbc/ford_cgea1_2_ptcan_2011.dbc"], 1508),
    ("CANBUSlogs/forte/testlog.log",
     ["CANBUSlogs/forte/raw.githubusercontent.com_commaai_opendbc_master_hyundai_kia_generic.dbc"], 100),
]


@pytest.mark.parametrize(("log", "dbcs", "decoded_frames"), PAIRS,
                         ids=[Path(p[0]).name + "+" + Path(p[1][0]).stem for p in PAIRS])
def test_corpus_pair_decodes_like_cantools(corpus_dir: Path, log: str, dbcs: list[str], decoded_frames: int) -> None:
    import can

    databases = []
    for rel in dbcs:
        loaded = _load(rel)
        if loaded is None:
            pytest.skip(f"cantools does not load {rel}")
        databases.append(loaded[0])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        messages = list(can.LogReader(str(corpus_dir / log)))
    frames = frames_from_messages(messages)
    decoded = decode_frames(frames, [(None, db) for db in databases])
    _assert_same(databases, frames, decoded)
    # every frame is accounted for: decoded, or counted as unknown/short/refused
    counted = sum(len(m) for m in decoded.messages.values()) + sum(c[0] for c in decoded.unknown.values()) \
        + sum(c.count for c in decoded.short.values()) + sum(c.count for c in decoded.bad_mux.values())
    assert counted == len(frames)
    assert sum(len(m) for m in decoded.messages.values()) == decoded_frames
