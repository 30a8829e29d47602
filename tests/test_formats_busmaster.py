"""BUSMASTER logs as BUSMASTER writes them (the header and lines of a BUSMASTER 2.4.0 log quoted in SavvyCAN's
reader, the layout Wireshark's reader parses): hex and decimal numbers, system/absolute/relative time, remote,
CAN FD and error frames, 1-based channels, midnight; J1939 logs refused; read under any name."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pytest

from telemetry.errors import UnsupportedFormat
from telemetry.formats import inspect_log, read_frames

HEADER = """***BUSMASTER Ver 2.4.0***
***PROTOCOL CAN***
***NOTE: PLEASE DO NOT EDIT THIS DOCUMENT***
***[START LOGGING SESSION]***
***START DATE AND TIME 8:8:2014 11:49:7:965***
***{numbers}***
***{mode} MODE***
***START CHANNEL BAUD RATE***
***CHANNEL 1 - Kvaser - Kvaser Leaf Light HS #0 (Channel 0), Serial Number- 0, Firmware- 0x00000037 0x00020000 - 500000 bps***
***END CHANNEL BAUD RATE***
***START DATABASE FILES (DBF/DBC)***
***END OF DATABASE FILES (DBF/DBC)***
***<Time><Tx/Rx><Channel><CAN ID><Type><DLC><DataBytes>***
"""
LINES = """11:49:12:9420 Rx 1 0x023 s 1 40
11:49:12:9440 Rx 1 0x460 s 8 03 E0 00 00 C0 00 00 00
11:49:12:9530 Rx 1 0x023 s 1 40
11:49:12:9680 Rx 2 0x408 s 8 0F 02 00 30 00 00 7F 00
11:49:12:9680 Tx 1 0x18FEF100 x 3 0A 0B 0C
11:49:12:9690 Rx 1 0x045 sr 4
"""
FOOTER = "***END DATE AND TIME 8:8:2014 11:49:13:100***\n***[STOP LOGGING SESSION]***\n"


def _write(path, mode="SYSTEM", numbers="HEX", lines=LINES):
    path.write_text(HEADER.format(mode=mode, numbers=numbers) + lines + FOOTER)
    return path


def test_system_mode_hex_log_reads_every_frame(tmp_path):
    fr = read_frames(_write(tmp_path / "bm.log"))
    assert len(fr) == 6 and not [f for f in fr.findings if f.kind == "skipped_line"]
    assert fr.start == datetime(2014, 8, 8, 11, 49, 7, 965000, tzinfo=UTC)
    np.testing.assert_allclose(fr.timestamp, np.array([12.942, 12.944, 12.953, 12.968, 12.968, 12.969]) - 7.965,
                               atol=1e-9)
    assert fr.arbitration_id.tolist() == [0x23, 0x460, 0x23, 0x408, 0x18FEF100, 0x45]
    assert fr.bus.tolist() == [0, 0, 0, 1, 0, 0]
    assert fr.is_extended.tolist() == [False] * 4 + [True, False]
    assert fr.is_remote.tolist() == [False] * 5 + [True]
    assert fr.length.tolist() == [1, 8, 1, 8, 3, 4]
    assert bytes(fr.data[1, :8]) == bytes.fromhex("03E00000C0000000") and fr.data[5].sum() == 0


def test_decimal_numbers_give_the_same_frames(tmp_path):
    dec = "\n".join(
        " ".join([*parts[:3], str(int(parts[3], 16)), parts[4], parts[5]] + [str(int(b, 16)) for b in parts[6:]])
        for parts in (line.split() for line in LINES.strip().splitlines())) + "\n"
    a = read_frames(_write(tmp_path / "hex.log"))
    b = read_frames(_write(tmp_path / "dec.log", numbers="DEC", lines=dec))
    for col in ("timestamp", "arbitration_id", "bus", "flags", "length", "data"):
        np.testing.assert_array_equal(getattr(a, col), getattr(b, col))


def test_absolute_and_relative_time_modes(tmp_path):
    lines = "0:0:0:1000 Rx 1 0x100 s 1 01\n0:0:0:5000 Rx 1 0x100 s 1 02\n0:0:1:0000 Rx 1 0x100 s 1 03\n"
    absolute = read_frames(_write(tmp_path / "abs.log", "ABSOLUTE", lines=lines))
    np.testing.assert_allclose(absolute.timestamp, [0.1, 0.5, 1.0])
    relative = read_frames(_write(tmp_path / "rel.log", "RELATIVE", lines=lines))
    np.testing.assert_allclose(relative.timestamp, [0.1, 0.6, 1.6])
    assert "relative_timestamps" in [f.kind for f in relative.findings]


def test_system_time_across_midnight(tmp_path):
    path = tmp_path / "night.log"
    path.write_text(HEADER.format(mode="SYSTEM", numbers="HEX").replace("11:49:7:965", "23:59:59:0")
                    + "23:59:59:5000 Rx 1 0x100 s 1 01\n0:0:0:5000 Rx 1 0x100 s 1 02\n")
    np.testing.assert_allclose(read_frames(path).timestamp, [0.5, 1.5])


def test_fd_and_error_frames(tmp_path):
    lines = ("11:49:12:9420 Rx 1 0x123 s-fd 12 " + " ".join(["AA"] * 12) + "\n"
             "11:49:12:9430 Rx 1 0x1234567 x-fd 9 " + " ".join(["BB"] * 12) + "\n"
             "11:49:12:9440 Rx 1 0x0 ERR Bus Error\n")
    fr = read_frames(_write(tmp_path / "fd.log", lines=lines))
    assert fr.is_fd.tolist() == [True, True, False] and fr.length.tolist()[:2] == [12, 12]
    assert fr.is_error.tolist() == [False, False, True]


def test_garbled_line_is_skipped_with_its_line_number(tmp_path):
    lines = LINES.replace("11:49:12:9530 Rx 1 0x023 s 1 40", "11:49:12:9530 Rx 1 0x0Z3 s 1 40")
    fr = read_frames(_write(tmp_path / "bad.log", lines=lines))
    skipped = [f for f in fr.findings if f.kind == "skipped_line"]
    assert len(fr) == 5 and skipped[0].line == HEADER.count("\n") + 3


def test_j1939_log_is_refused(tmp_path):
    path = tmp_path / "j.log"
    path.write_text(HEADER.format(mode="SYSTEM", numbers="HEX").replace("PROTOCOL CAN", "PROTOCOL J1939"))
    with pytest.raises(UnsupportedFormat, match="BUSMASTER J1939 log"):
        read_frames(path)


@pytest.mark.parametrize("name", ["bm.log", "bm.txt", "bm.csv"])
def test_read_under_any_name(tmp_path, name):
    info = inspect_log(_write(tmp_path / name))
    assert info.format == "busmaster" and info.frames == 6 and info.detected == "BUSMASTER log"


def test_long_log_fast_path_equals_the_per_line_parser(tmp_path, monkeypatch):
    from telemetry.formats.busmaster import BusmasterLog
    per_line = []
    careful = BusmasterLog._slow
    monkeypatch.setattr(BusmasterLog, "_slow", lambda self, line, no: per_line.append(no) or careful(self, line, no))
    rng = np.random.default_rng(5)
    rows = []
    for i in range(20_000):
        n = int(rng.integers(0, 9))
        t = 11 * 3600 + 50 * 60 + i * 0.0005
        h, rem = divmod(t, 3600)
        m, s = divmod(rem, 60)
        stamp = f"{int(h)}:{int(m)}:{int(s)}:{int(round((s % 1) * 10000)) % 10000:04d}"
        data = " ".join(f"{b:02X}" for b in rng.integers(0, 256, n))
        rows.append(f"{stamp} Rx {1 + i % 2} 0x{int(rng.integers(0, 0x800)):03X} s {n} {data}".rstrip())
    hexed = read_frames(_write(tmp_path / "fast.log", lines="\n".join(rows) + "\n"))
    assert len(per_line) < 20          # the header and footer lines only: the frames took the fast path
    dec_rows = []
    for r in rows:
        p = r.split()
        dec_rows.append(" ".join([*p[:3], str(int(p[3], 16)), p[4], p[5]] + [str(int(b, 16)) for b in p[6:]]))
    slow = read_frames(_write(tmp_path / "slow.log", numbers="DEC", lines="\n".join(dec_rows) + "\n"))
    assert len(hexed) == 20_000 == len(slow) and len(per_line) > 20_000
    for col in ("timestamp", "arbitration_id", "bus", "flags", "length", "data"):
        np.testing.assert_array_equal(getattr(hexed, col), getattr(slow, col))
