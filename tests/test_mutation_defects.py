"""The defect classes of issue 14's independent mutation run, each on an input written from its description:
a candump bus name of tens of thousands of digits (``ValueError`` past Python's int-conversion limit, and a
quadratic ``\\d+$`` search), header regexes that backtrack on a 100 kB line or on thousands of blank lines, an ASC
frame line with 3.5 M data bytes, a trigger block without its end, and damaged MDF 3 decoded-channel files that
crash the interpreter inside asammdf. The fixtures are in ``tests/fuzz_regressions/`` (run by
``test_fuzz_regressions.py`` too); these tests say what each must give."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from telemetry import open_log
from telemetry.formats.asc import parse_asc_date
from telemetry.formats.candump import _trailing_bus

FIXTURES = Path(__file__).resolve().parent / "fuzz_regressions"
ROOT = Path(__file__).resolve().parents[1]


def _read(path: Path):
    with open_log(path) as log:
        chunks = list(log.chunks())
        return sum(len(c.timestamp) for c in chunks), chunks, {f.kind: f for f in log.findings}


def _skipped(path: Path) -> int:
    """Lines skipped for any reason (not understood, or longer than the text readers' line limit)."""
    with open_log(path) as log:
        for _ in log.chunks():
            pass
        return sum(f.count or 0 for f in log.findings if f.kind == "skipped_line")


def _fast(seconds: float, call, *args):
    started = time.process_time()
    result = call(*args)
    assert time.process_time() - started < seconds, f"{call.__name__} took over {seconds} s of CPU"
    return result


# -- candump: bus names ------------------------------------------------------------------------------------------
def test_a_bus_name_of_50000_digits_is_a_name_not_an_int_conversion_error():
    frames, chunks, _ = _read(FIXTURES / "candump_bus_name_50000_digits.log")
    assert frames == 7
    buses = sorted({int(b) for c in chunks for b in c.bus})
    assert buses == [0, 1]          # can0, then the long name numbered in order of appearance


def test_a_bus_name_of_digits_then_a_letter_is_read_in_linear_time():
    path = FIXTURES / "candump_bus_name_100000_digits_then_letter.log.gz"
    frames, _, _ = _fast(10.0, _read, path)
    assert frames + _skipped(path) == 7      # the 100 kB line is read, or skipped as longer than the line limit


@pytest.mark.parametrize(("name", "bus"), [("can0", 0), ("vcan12", 12), ("can255", 255), ("can007", 7),
                                           ("can256", None), ("can", None), ("", None), ("can" + "9" * 5000, None),
                                           ("can" + "0" * 5000 + "3", 3), ("can1x", None)])
def test_trailing_bus_number(name, bus):
    assert _trailing_bus(name) == bus


def test_trailing_bus_is_linear_in_the_name():
    _fast(1.0, _trailing_bus, "can" + "7" * 1_000_000 + "x")
    _fast(1.0, _trailing_bus, "can" + "7" * 1_000_000)


def test_a_candump_epoch_past_year_9999_is_a_bad_start_finding():
    frames, _, findings = _read(FIXTURES / "candump_epoch_past_year_9999_header.log")
    assert frames == 2
    assert "bad_start" in findings


def test_blank_lines_before_the_first_candump_frame_are_read_in_linear_time():
    frames, _, _ = _fast(10.0, _read, FIXTURES / "candump_60000_blank_lines_before_first_frame.log.gz")
    assert frames == 3


def test_a_candump_frame_over_64_bytes_is_a_skipped_line(tmp_path):
    log = tmp_path / "long.log"
    log.write_text("(1700000000.000000) can0 123#0102\n"
                   "(1700000000.100000) can0 123##1" + "01" * 65 + "\n"
                   "(1700000000.200000) can0 123#" + "01" * 9 + "\n"
                   "(1700000000.300000) can0 123##1" + "01" * 100_000 + "\n"
                   "(1700000000.400000) can0 123#0304\n")
    frames, _, _ = _read(log)
    assert frames == 2
    assert _skipped(log) == 3


# -- ASC --------------------------------------------------------------------------------------------------------
def test_parse_asc_date_is_linear_on_a_100kb_line():
    assert _fast(1.0, parse_asc_date, "date " + "a" * 100_000) is None
    assert _fast(1.0, parse_asc_date, "Begin Triggerblock " + "Sep " * 250_000) is None
    assert _fast(1.0, parse_asc_date, "date " + "1 " * 500_000) is None


def test_parse_asc_date_still_reads_the_dates_it_read():
    assert parse_asc_date("date Sam Sep 30 15:06:13.191 2017").isoformat() == "2017-09-30T15:06:13.191000+00:00"
    assert parse_asc_date("date Thu Jun 26 04:09:35.000 pm 2014").hour == 16
    assert parse_asc_date("Begin Triggerblock Thu, 09 Nov 2023 20:29:27 GMT").year == 2023
    assert parse_asc_date("date Mär 3 10:00:00 2021").month == 3


def test_an_asc_file_with_a_100kb_date_line_is_read():
    frames, _, _ = _fast(10.0, _read, FIXTURES / "asc_date_line_100kb_of_letters.asc.gz")
    assert frames == 2


def test_blank_lines_in_an_asc_header_are_read_in_linear_time():
    frames, _, _ = _fast(10.0, _read, FIXTURES / "asc_60000_blank_lines_in_header.asc.gz")
    assert frames == 2


def test_an_asc_frame_line_with_3_5m_data_bytes_is_a_skipped_line():
    frames, chunks, findings = _read(FIXTURES / "asc_frame_line_3_5m_data_bytes.asc.gz")
    assert frames == 4
    assert findings["skipped_line"].count == 1
    assert findings["skipped_line"].line == 8
    assert max(int(n) for c in chunks for n in c.length) == 8


@pytest.mark.parametrize("count", [65, 100])
def test_an_asc_frame_with_more_than_64_data_bytes_is_a_skipped_line(tmp_path, count):
    log = tmp_path / "long.asc"
    log.write_text("base hex  timestamps absolute\n"
                   "   0.010000 1  123             Rx   d 8 01 02 03 04 05 06 07 08\n"
                   "   0.020000 1  123             Rx   d F " + "01 " * count + "\n"
                   "   0.030000 1  123             Rx   d 8 " + "01 " * count + "\n"
                   "   0.040000 1  123             Rx   d F " + "01 " * 64 + "\n")
    frames, chunks, findings = _read(log)
    assert frames == 2
    assert findings["skipped_line"].count == 2
    assert sorted(int(n) for c in chunks for n in c.length) == [8, 64]


def test_a_missing_end_triggerblock_is_a_truncated_finding():
    frames, _, findings = _read(FIXTURES / "asc_missing_end_triggerblock.asc")
    assert frames == 2
    assert findings["truncated"].line == 5
    assert "End TriggerBlock" in findings["truncated"].detail


def test_an_ended_trigger_block_is_not_truncated(tmp_path):
    log = tmp_path / "whole.asc"
    text = (FIXTURES / "asc_missing_end_triggerblock.asc").read_text()
    log.write_text(text + "End TriggerBlock\n")
    _, _, findings = _read(log)
    assert "truncated" not in findings


def test_every_sample_asc_log_ends_its_trigger_blocks():
    for path in sorted((ROOT / "sample_logs").rglob("*.asc")):
        _, _, findings = _read(path)
        assert "truncated" not in findings, path


# -- MDF 3 decoded channels: asammdf's native reader crashes the interpreter --------------------------------------
CRASHERS = sorted(FIXTURES.glob("mdf3_decoded_*.mdf"))
#: found by the seed-14 fuzz run: a DZ block whose stored size (2**59) reaches past the end of the file
BLOCK_CRASHERS = [FIXTURES / "mdf_decoded_data_block_past_end_of_file.mf4"]

_CHILD = textwrap.dedent("""
    import sys
    from telemetry import open_log
    from telemetry.errors import TelemetryError
    try:
        with open_log(sys.argv[1]) as log:
            log.channels()
    except TelemetryError as err:
        print(type(err).__name__, err)
        sys.exit(3)
""")


@pytest.mark.parametrize("fixture", CRASHERS + BLOCK_CRASHERS, ids=lambda p: p.name)
def test_a_damaged_mdf3_decoded_file_is_refused_before_asammdf_reads_it(fixture):
    """In a child process, so that a regression kills the child, not the test run: the library call
    (``open_log(...).channels()``) returns a ``CorruptLog`` naming the channel and its record."""
    done = subprocess.run([sys.executable, "-c", _CHILD, str(fixture)], capture_output=True, text=True,
                          timeout=60, cwd=ROOT)
    assert done.returncode == 3, (done.returncode, done.stderr[-2000:])
    assert done.stdout.startswith("CorruptLog")
    assert ("lies outside its" in done.stdout or "past the end of the" in done.stdout) and fixture.name in done.stdout


def test_the_mdf3_fixtures_really_crash_asammdf():
    """The fixtures are the real thing: read directly with asammdf, the SIGSEGV ones kill the interpreter."""
    code = textwrap.dedent("""
        import sys, warnings, logging
        logging.disable(logging.CRITICAL)
        warnings.simplefilter("ignore")
        from asammdf import MDF
        mdf = MDF(sys.argv[1])
        for g, grp in enumerate(mdf.groups):
            for i in range(len(grp.channels)):
                try:
                    mdf.get(group=g, index=i)
                except Exception:
                    pass
    """)
    crashed = 0
    for fixture in [p for p in CRASHERS if p.name.endswith("_sigsegv.mdf")] + BLOCK_CRASHERS:
        done = subprocess.run([sys.executable, "-c", code, str(fixture)], capture_output=True, timeout=60)
        crashed += done.returncode < 0
    if not crashed:
        pytest.skip("this asammdf no longer crashes on the fixtures (the checks stay: they cost nothing)")


def test_a_sound_mdf3_file_is_read_whole(tmp_path):
    import numpy as np
    from asammdf import MDF, Signal

    t = np.arange(50) * 0.01
    path = tmp_path / "sound.mdf"
    with MDF(version="3.30") as mdf:
        mdf.append([Signal(np.arange(50, dtype=np.float64), t, name="EngineSpeed", unit="rpm"),
                    Signal((np.arange(50) % 7).astype(np.uint8), t, name="Gear", unit=""),
                    Signal(np.arange(50, dtype=np.int16) - 25, t, name="Steer", unit="deg")])
        mdf.save(path, overwrite=True)
    with open_log(path) as log:
        channels = {c.name: c for c in log.channels()}
    assert set(channels) == {"EngineSpeed", "Gear", "Steer"}
    assert channels["Steer"].value[0] == -25 and len(channels["Gear"].time) == 50



def test_an_asc_canfd_line_with_more_than_64_data_bytes_is_a_skipped_line(tmp_path):
    tail = "  0    0      3000      0      0      0      0      0\n"
    log = tmp_path / "long_fd.asc"
    log.write_text("base hex  timestamps absolute\n"
                   "   0.010000 CANFD   1 Rx        123       1 0 f 64 " + "01 " * 64 + tail +
                   "   0.020000 CANFD   1 Rx        123       1 0 f 100 " + "01 " * 100 + tail +
                   "   0.030000 CANFD   1 Rx        123       1 0 f 64 " + "02 " * 64 + tail)
    frames, chunks, findings = _read(log)
    assert frames == 2
    assert findings["skipped_line"].count == 1 and findings["skipped_line"].line == 3


def test_an_mdf3_file_written_here_and_damaged_is_refused_in_a_child(tmp_path):
    """The defect made from scratch: an asammdf-written MDF 3.30 file whose ``Counter`` channel gets an
    additional byte offset of 45,616 (CN block + 226), far past its 17-byte record, as in the mutation run."""
    import struct

    import numpy as np
    from asammdf import MDF, Signal

    t = np.arange(100) * 0.02
    path = tmp_path / "damaged.mdf"
    with MDF(version="3.30") as mdf:
        mdf.append([Signal(np.full(100, 95.0), t, name="FuelMassFlow", unit="kg/h"),
                    Signal((np.arange(100) % 256).astype(np.uint8), t, name="Counter", unit="")])
        mdf.save(path, overwrite=True)
    data = bytearray(path.read_bytes())
    cn = data.find(b"Counter\0") - 26
    assert data[cn:cn + 2] == b"CN"
    struct.pack_into("<H", data, cn + 226, 45_616)
    path.write_bytes(bytes(data))
    done = subprocess.run([sys.executable, "-c", _CHILD, str(path)], capture_output=True, text=True, timeout=60,
                          cwd=ROOT)
    assert done.returncode == 3, (done.returncode, done.stderr[-2000:])
    assert "channel 'Counter' of group 0 lies outside its" in done.stdout
