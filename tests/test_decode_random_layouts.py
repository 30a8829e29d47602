"""Bit-exactness on Hypothesis-generated message layouts: random start bits, lengths up to 64, both byte orders,
signed/unsigned/IEEE float, integer and fractional scales and offsets (including the exact-integer path past
2**53), classic and CAN FD lengths, a multiplexer with groups, overlapping signals (strict=False) - each message
decoded by us and by cantools' ``decode_message(..., decode_choices=False)`` on random payloads."""

from __future__ import annotations

import numpy as np
from _decode_support import ours, reference, same
from cantools.database.can import Database, Message, Signal
from cantools.database.conversion import BaseConversion
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from telemetry.decode import decode_frames
from telemetry.frames import FLAG_FD, Frames

LENGTHS = [1, 2, 3, 4, 5, 6, 7, 8, 12, 16, 20, 24, 32, 48, 64]


@st.composite
def signal(draw, nbytes: int, index: int, mux_ids=None, is_mux: bool = False):
    total = 8 * nbytes
    kind = draw(st.sampled_from(["u", "s", "f"])) if not is_mux else "u"
    if kind == "f":
        length = draw(st.sampled_from([b for b in (16, 32, 64) if b <= total] or [0]))
        if length == 0:
            kind, length = "u", draw(st.integers(1, min(64, total)))
    else:
        length = draw(st.integers(1, min(64 if not is_mux else 8, total)))
    big = draw(st.booleans())
    if big:
        # cantools' big-endian start is the MSB's sawtooth bit number; choose its network position so it fits
        net = draw(st.integers(0, total - length))
        start = 8 * (net // 8) + (7 - net % 8)
    else:
        start = draw(st.integers(0, total - length))
    scale = draw(st.sampled_from([1, 1, 2, 3, -1, 0.5, 0.1, 0.01, 1e-3, 1.5, 7, 1000]))
    offset = draw(st.sampled_from([0, 0, 1, -40, 0.5, -273.15, 100000]))
    conversion = BaseConversion.factory(scale=scale, offset=offset, is_float=kind == "f")
    return Signal(f"S{index}", start, length, "big_endian" if big else "little_endian", is_signed=kind == "s",
                  conversion=conversion, is_multiplexer=is_mux, multiplexer_ids=mux_ids,
                  multiplexer_signal="Mux" if mux_ids is not None else None)


@st.composite
def message(draw, frame_id: int):
    nbytes = draw(st.sampled_from(LENGTHS))
    n = draw(st.integers(1, 5))
    sigs = [draw(signal(nbytes, i)) for i in range(n)]
    if draw(st.booleans()) and nbytes >= 2:
        mux = Signal("Mux", 0, 2, "little_endian", is_multiplexer=True)
        sigs = [s for s in sigs if s.byte_order == "big_endian" or s.start >= 2]
        sigs.append(mux)
        for g in (0, 1, 2):
            sigs.append(draw(signal(nbytes, 10 + g, mux_ids=[g])))
    return Message(frame_id, f"M{frame_id}", nbytes, sigs, strict=False, is_fd=nbytes > 8)


@settings(max_examples=40, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(st.lists(st.integers(1, 30), min_size=1, max_size=4, unique=True).flatmap(
    lambda ids: st.tuples(st.tuples(*[message(i) for i in ids]), st.randoms(use_true_random=False))))
def test_random_layouts_decode_like_cantools(case):
    messages, rnd = case
    db = Database(messages=list(messages), strict=False)
    rows = []
    for _ in range(24):
        m = rnd.choice(messages)
        size = min(64, max(0, m.length + rnd.choice([0, 0, 0, 0, -1, 1])))
        fill = rnd.random()
        payload = bytes([0xFF] * size) if fill < 0.1 else bytes(size) if fill < 0.2 else rnd.randbytes(size)
        rows.append((m.frame_id, payload))
    n = len(rows)
    data = np.zeros((n, 64), np.uint8)
    for i, (_, p) in enumerate(rows):
        data[i, :len(p)] = np.frombuffer(p, np.uint8)
    frames = Frames(np.arange(n, dtype=float), np.zeros(n, np.uint8), np.array([r[0] for r in rows], np.uint32),
                    np.full(n, FLAG_FD, np.uint8), np.array([len(p) for _, p in rows], np.uint8), data)
    expected = reference([db], frames)
    got = ours(decode_frames(frames, db))
    bad = [(k, got.get(k), expected.get(k)) for k in set(got) | set(expected)
           if k not in got or k not in expected or not same(got[k], expected[k])]
    assert not bad, bad[:5]
