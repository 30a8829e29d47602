"""candump's screen output saved to a file (``candump -ta/-tz/-tA can0 > log.txt``), in the layout of can-utils'
``snprintf_long_canframe``: the same frames as the ``-l`` log of the same traffic; FD, remote, error frames, the
``-x`` direction block, the ``-a`` ASCII view, ``-e`` detail lines; a garbled line is skipped and counted."""

from __future__ import annotations

import numpy as np
import pytest

from telemetry.errors import UnsupportedFormat
from telemetry.formats import inspect_log, read_frames

RNG = np.random.default_rng(21)


def _traffic(n: int):
    ids = RNG.choice([0x100, 0x1A0, 0x7DF, 0x18FEF100, 0x0CF00400], n)
    lengths = RNG.integers(0, 9, n)
    data = [bytes(RNG.integers(0, 256, k, dtype=np.uint8)) for k in lengths]
    times = 1_751_128_200 + np.cumsum(RNG.integers(100, 5000, n)) / 1e6
    buses = RNG.integers(0, 2, n)
    return ids, data, times, buses


def _log_line(t, bus, ident, data) -> str:
    return f"({t:.6f}) can{bus} {ident:08X}#{data.hex().upper()}\n" if ident > 0x7FF else \
        f"({t:.6f}) can{bus} {ident:03X}#{data.hex().upper()}\n"


def _screen_line(stamp, bus, ident, data, *, ascii_view=False, direction=False) -> str:
    idtext = f"{ident:08X}" if ident > 0x7FF else f"{ident:03X}  "
    body = "  ".join(filter(None, [f" ({stamp})", f"can{bus}", "RX - -" if direction else "", idtext,
                                   f" [{len(data)}]", " ".join(f"{b:02X}" for b in data)]))
    if ascii_view:
        body += "   '" + "".join(chr(b) if 32 <= b < 127 else "." for b in data) + "'"
    return body + "\n"


@pytest.mark.parametrize(("ascii_view", "direction"), [(False, False), (True, False), (False, True)])
def test_screen_output_equals_the_log_of_the_same_traffic(tmp_path, ascii_view, direction):
    ids, data, times, buses = _traffic(4000)
    log = tmp_path / "a.log"
    log.write_text("".join(_log_line(t, b, i, d) for t, b, i, d in zip(times, buses, ids, data, strict=True)))
    screen = tmp_path / "a.txt"
    screen.write_text("".join(_screen_line(f"{t:.6f}", b, i, d, ascii_view=ascii_view, direction=direction)
                              for t, b, i, d in zip(times, buses, ids, data, strict=True)))
    a, b = read_frames(log), read_frames(screen)
    assert len(b) == 4000 and not [f for f in b.findings if f.kind == "skipped_line"]
    for col in ("timestamp", "arbitration_id", "bus", "flags", "length", "data"):
        np.testing.assert_array_equal(getattr(a, col), getattr(b, col))
    assert a.start == b.start
    info = inspect_log(screen)
    assert info.format == "candump" and info.detected == "candump screen output (candump -t)"


def test_fd_remote_error_and_detail_lines(tmp_path):
    path = tmp_path / "mixed.txt"
    path.write_text(" (1700000000.000100)  can0  123  [12]  11 22 33 44 55 66 77 88 99 AA BB CC\n"
                    " (1700000000.000200)  can0  200   [4]  remote request\n"
                    " (1700000000.000300)  can1  20000004   [8]  00 04 00 00 00 00 00 00   ERRORFRAME\n"
                    "\tcontroller-problem{rx-error-warning}\n\tbus-off\n"
                    " (1700000000.000400)  can0  12345678   [2]  01 02\n")
    fr = read_frames(path)
    assert not [f for f in fr.findings if f.kind == "skipped_line"]      # the -e detail line carries no frame
    assert fr.is_fd.tolist() == [True, False, False, False] and fr.length.tolist()[0] == 12
    assert fr.is_remote.tolist() == [False, True, False, False] and fr.length.tolist()[1] == 4
    assert fr.is_error.tolist() == [False, False, True, False] and fr.bus.tolist() == [0, 0, 1, 0]
    assert fr.is_extended.tolist()[3] and fr.arbitration_id.tolist()[3] == 0x12345678


def test_relative_and_date_time_stamps(tmp_path):
    tz = tmp_path / "tz.txt"
    tz.write_text(" (000.000000)  can0  100   [1]  01\n (000.250000)  can0  100   [1]  02\n")
    fr = read_frames(tz)
    np.testing.assert_allclose(fr.timestamp, [0.0, 0.25])
    assert fr.start is None
    dated = tmp_path / "ta.txt"
    dated.write_text(" (2026-06-27 13:30:00.100000)  can0  100   [1]  01\n"
                     " (2026-06-27 13:30:01.350000)  can0  100   [1]  02\n")
    fr = read_frames(dated)
    np.testing.assert_allclose(fr.timestamp, [0.1, 1.35])
    assert fr.start.isoformat() == "2026-06-27T13:30:00+00:00"


def test_garbled_line_is_skipped_and_counted(tmp_path):
    path = tmp_path / "bad.txt"
    path.write_text(" (1700000000.000100)  can0  100   [2]  01 02\n"
                    " (1700000000.000200)  can0  100   [3]  01 02\n"
                    " (1700000000.000300)  can0  1Z0   [1]  01\n"
                    " (1700000000.000400)  can0  100   [1]  07\n")
    fr = read_frames(path)
    skipped = [f for f in fr.findings if f.kind == "skipped_line"]
    assert len(fr) == 2 and skipped[0].count == 2 and skipped[0].line == 2


def test_without_time_stamps_is_refused(tmp_path):
    path = tmp_path / "plain.txt"
    path.write_text("  can0  100   [2]  01 02\n  can0  100   [1]  07\n")
    with pytest.raises(UnsupportedFormat, match="without time stamps"):
        read_frames(path)
