"""Frame-for-frame comparison of our readers with python-can's on the same file (helper for the format tests)."""

from __future__ import annotations

import can
import numpy as np

from telemetry.frames import Frames


def sample_messages(n: int = 300, fd: bool = True, seed: int = 7) -> list[can.Message]:
    """Classic, extended, remote, error and (optionally) CAN FD frames on two channels."""
    rng = np.random.default_rng(seed)
    out = []
    t0 = 1_700_000_000.0
    for i in range(n):
        kind = i % 10
        ext = kind in (1, 5)
        ident = int(rng.integers(0, 0x1FFFFFFF if ext else 0x7FF))
        ts = t0 + i * 0.000731 + 0.5
        if kind == 3:
            out.append(can.Message(timestamp=ts, arbitration_id=ident, is_extended_id=ext, is_remote_frame=True,
                                   dlc=int(rng.integers(0, 9)), channel=i % 2))
        elif kind == 7 and fd:
            length = int(rng.choice([12, 16, 20, 24, 32, 48, 64]))
            out.append(can.Message(timestamp=ts, arbitration_id=ident, is_extended_id=ext, is_fd=True,
                                   bitrate_switch=bool(i % 3), data=rng.bytes(length), channel=i % 2))
        else:
            out.append(can.Message(timestamp=ts, arbitration_id=ident, is_extended_id=ext,
                                   data=rng.bytes(int(rng.integers(0, 9))), channel=i % 2))
    return out


def assert_same_frames(ours: Frames, theirs: list[can.Message], *, origin: float | None = None,
                       bus_offset: int = 0, tol: float = 1e-6, check_fd: bool = True) -> None:
    """``origin``: python-can's time of our timestamp 0 (default: our ``start``)."""
    assert len(ours) == len(theirs), f"{len(ours)} frames instead of python-can's {len(theirs)}"
    if origin is None:
        origin = ours.start.timestamp() if ours.start is not None else 0.0
    ts = np.array([m.timestamp for m in theirs])
    np.testing.assert_allclose(ours.timestamp + origin, ts, rtol=0, atol=tol)
    np.testing.assert_array_equal(ours.arbitration_id, [m.arbitration_id for m in theirs])
    np.testing.assert_array_equal(ours.is_remote, [m.is_remote_frame for m in theirs])
    np.testing.assert_array_equal(ours.is_error, [m.is_error_frame for m in theirs])
    err = ours.is_error
    np.testing.assert_array_equal(ours.is_extended[~err], [m.is_extended_id for m in theirs if not m.is_error_frame])
    if check_fd:
        np.testing.assert_array_equal(ours.is_fd, [m.is_fd for m in theirs])
    for i, m in enumerate(theirs):
        if m.is_remote_frame:
            assert ours.length[i] == m.dlc, f"frame {i}: remote length {ours.length[i]} != dlc {m.dlc}"
            continue
        assert bytes(ours.data[i, :ours.length[i]]) == bytes(m.data), f"frame {i}: payload differs"
        assert not ours.data[i, ours.length[i]:].any(), f"frame {i}: bytes past the length are not zero"
        if isinstance(m.channel, int):
            assert ours.bus[i] == m.channel + bus_offset, f"frame {i}: bus {ours.bus[i]} != {m.channel}"
