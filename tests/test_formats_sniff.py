"""A log is read by what it holds, whatever its name: a candump log named ``.txt``, an MDF 3 file named ``.log``, a
BLF named ``.dat`` (and ASC/TRC/CSV under each other's names, gzipped or not) give the same frames as under their
own names, with a ``format_by_content`` finding and ``inspect``'s ``detected``; formats bopwatch does not read are
refused naming what they are; a file whose content is inconclusive goes to its suffix's reader."""

from __future__ import annotations

import gzip
import os
import shutil
import time
import warnings

import can
import numpy as np
import pytest
from _can_parity import sample_messages

from telemetry.errors import CorruptLog, UnsupportedFormat
from telemetry.formats import inspect_log, open_log, read_frames, sniff

CANDUMP = b"".join(b"(1700000000.%06d) can0 %03X#%016X\n" % (i * 1000, 0x100 + i % 5, i * 7919)
                   for i in range(500))
ASC = (b"date Tue Jun 27 13:30:00.000 2026\nbase hex  timestamps absolute\nno internal events logged\n"
       b"// version 13.0.0\nBegin Triggerblock Tue Jun 27 13:30:00.000 2026\n"
       b"   0.001000 1  123             Rx   d 8 01 02 03 04 05 06 07 08\n"
       b"   0.002000 2  18FEF100x       Rx   d 3 0A 0B 0C\nEnd TriggerBlock\n")
TRC = (b";$FILEVERSION=1.1\n;$STARTTIME=46200.5625\n;\n"
       b"     1)         1.0  Rx         0123  8  01 02 03 04 05 06 07 08\n"
       b"     2)         2.5  Rx     18FEF100  3  0A 0B 0C\n")
SAVVY = (b"Time Stamp,ID,Extended,Dir,Bus,LEN,D1,D2,D3,D4,D5,D6,D7,D8\n"
         b"1000,00000123,false,Rx,0,8,01,02,03,04,05,06,07,08,\n"
         b"2500,18FEF100,true,Rx,1,3,0A,0B,0C,00,00,00,00,00,\n")


def _same(a, b) -> None:
    np.testing.assert_array_equal(a.timestamp, b.timestamp)
    np.testing.assert_array_equal(a.arbitration_id, b.arbitration_id)
    np.testing.assert_array_equal(a.data, b.data)
    np.testing.assert_array_equal(a.bus, b.bus)
    np.testing.assert_array_equal(a.flags, b.flags)
    assert a.start == b.start


def _kinds(frames) -> list[str]:
    return [f.kind for f in frames.findings]


@pytest.mark.parametrize(("content", "own", "other"), [
    (CANDUMP, "log", "txt"), (CANDUMP, "log", "asc"), (CANDUMP, "log", "log.txt"),
    (ASC, "asc", "txt"), (ASC, "asc", "log"), (TRC, "trc", "csv"), (TRC, "trc", "txt"),
    (SAVVY, "csv", "txt"), (SAVVY, "csv", "log"),
])
def test_text_log_under_another_name_reads_as_under_its_own(tmp_path, content, own, other):
    (tmp_path / f"a.{own}").write_bytes(content)
    (tmp_path / f"b.{other}").write_bytes(content)
    mine, renamed = read_frames(tmp_path / f"a.{own}"), read_frames(tmp_path / f"b.{other}")
    _same(mine, renamed)
    assert len(renamed) and _kinds(renamed) == ["format_by_content", *_kinds(mine)]
    assert "by its content" in renamed.findings[0].detail and f".{other.split('.')[-1]}" in renamed.findings[0].detail


def test_candump_named_txt_gzipped(tmp_path):
    (tmp_path / "a.log").write_bytes(CANDUMP)
    (tmp_path / "b.txt.gz").write_bytes(gzip.compress(CANDUMP))
    _same(read_frames(tmp_path / "a.log"), read_frames(tmp_path / "b.txt.gz"))
    info = inspect_log(tmp_path / "b.txt.gz")
    assert info.format == "candump" and info.detected == "candump -l log (gzip)" and info.frames == 500


def test_blf_named_dat_reads_as_blf(tmp_path):
    own, other = tmp_path / "car.blf", tmp_path / "car.dat"
    with can.BLFWriter(own) as w:
        for m in sample_messages(2000):
            w.on_message_received(m)
    shutil.copyfile(own, other)
    a, b = read_frames(own), read_frames(other)
    _same(a, b)
    assert len(b) == 2000 and _kinds(b) == ["format_by_content", *_kinds(a)]
    info = inspect_log(other)
    assert info.format == "blf" and info.detected == "Vector BLF"
    assert inspect_log(own).detected == "Vector BLF" and "format_by_content" not in _kinds(a)


def _write_mdf3(path) -> None:
    from asammdf import MDF, Signal
    t = np.arange(0, 5, 0.01)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        mdf = MDF(version="3.30")
        mdf.append([Signal(2.0 + 0.1 * np.sin(t), t, name="MAP", unit="bar"),
                    Signal(6000 + 100 * t, t, name="nEng", unit="rpm")])
        mdf.save(path, overwrite=True)
        mdf.close()


def test_mdf3_named_log_reads_as_mdf(tmp_path):
    own, other = tmp_path / "meas.mdf", tmp_path / "meas.log"
    _write_mdf3(own)
    shutil.copyfile(own, other)
    with open_log(own) as a, open_log(other) as b:
        assert b.kind == "channels" and b.format == "mdf" and b.detected == "MDF 3.30"
        ca, cb = {c.name: c for c in a.channels()}, {c.name: c for c in b.channels()}
        assert [f.kind for f in b.findings][:1] == ["format_by_content"]
    assert set(cb) == {"MAP", "nEng"} == set(ca)
    for name in ca:
        np.testing.assert_array_equal(ca[name].value, cb[name].value)
        np.testing.assert_array_equal(ca[name].time, cb[name].time)
        assert ca[name].unit == cb[name].unit


def test_corpus_mdf3_named_log(tmp_path, corpus_dir):
    src = next(iter(sorted(corpus_dir.rglob("*.mdf"))), None)
    if src is None:
        pytest.skip("no MDF 3 file in the corpus")
    shutil.copyfile(src, tmp_path / "x.log")
    a, b = inspect_log(src), inspect_log(tmp_path / "x.log")
    assert (a.format, a.duration_s, a.start) == (b.format, b.duration_s, b.start)
    assert b.detected.startswith("MDF ")


@pytest.mark.parametrize(("content", "named"), [
    (b"1320745424.000 CXX OVMS Tesla Roadster log\n1320745424.002 R11 402 FA 01 C3 A0 96 00 07 01\n", "CRTD"),
    (b"  can0  123   [8]  11 22 33 44 55 66 77 88\n  can0  456   [2]  01 02\n", "candump screen output without time"),
    (b"Chn Identifier Flg   DLC  D0...1...2...3...4...5...6..D7       Time     Dir\n"
     b" 0    000000AD         8  FF  FF  00  00  00  00  00  00     154.266550 R\n", "Kvaser"),
    (b"# Logger type: CL2000\n# HW rev: 6.xx\nTimestamp;Type;ID;Data\n01T022231683;8;7df;02010d5555555555\n",
     "CLX000"),
    (b"ASCII Trace IXXAT SavvyCAN V213\nDate: 1:1:2020\n", "IXXAT"),
    (b"\xd4\xc3\xb2\xa1\x02\x00\x04\x00" + bytes(200), "pcap"),
    (b"\x0a\x0d\x0d\x0a" + bytes(200), "pcapng"),
    (b"PK\x03\x04" + bytes(200), "ZIP archive"),
])
@pytest.mark.parametrize("suffix", ["log", "txt", "csv"])
def test_formats_not_read_are_refused_by_name(tmp_path, content, named, suffix):
    path = tmp_path / f"x.{suffix}"
    path.write_bytes(content)
    with pytest.raises(UnsupportedFormat, match=named) as err:
        read_frames(path)
    assert str(path) in str(err.value) and "\n" not in str(err.value)


def test_unknown_content_under_an_unknown_suffix_lists_the_formats(tmp_path):
    path = tmp_path / "notes.txt"
    path.write_text("shopping list\nmilk\n")
    with pytest.raises(UnsupportedFormat,
                       match="unknown log format '.txt'.*none of BLF, MDF, ASC, candump, TRC, CSV or BUSMASTER"):
        read_frames(path)


def test_inconclusive_content_goes_to_the_suffix_reader(tmp_path):
    path = tmp_path / "damaged.log"
    path.write_text("garbage line one\ngarbage line two\n")
    with pytest.raises(CorruptLog, match="no line looks like a candump log line"):
        read_frames(path)


def test_suffix_wins_when_the_content_fits_it_too(tmp_path):
    """An ASC file whose lines also look like another format's stays ASC (no finding)."""
    path = tmp_path / "x.asc"
    path.write_bytes(ASC)
    frames = read_frames(path)
    assert "format_by_content" not in _kinds(frames) and len(frames) == 2
    assert inspect_log(path).detected == "Vector ASC (version 13.0.0)"


@pytest.mark.parametrize(("content", "fmt", "what"), [
    (CANDUMP, "candump", "candump -l log"), (TRC, "trc", "PEAK TRC 1.1"), (SAVVY, "csv", "SavvyCAN/GVRET CSV"),
    (b"TimestampEpoch;BusChannel;ID;IDE;DLC;DataLength;Dir;EDL;BRS;DataBytes\n", "csv", "CSS Electronics CSV"),
    (b"MDF     4.10    amdf", "mdf", "MDF 4.10"), (b"UnFinMF 4.10    ", "mdf", "MDF 4.10 (not finalised)"),
    (b"LOGG" + bytes(140), "blf", "Vector BLF"),
    (b"***BUSMASTER Ver 3.2.0***\n***PROTOCOL CAN***\n11:49:12:9420 Rx 1 0x023 s 1 40\n", "busmaster",
     "BUSMASTER log"),
])
def test_sniff_names_format_and_dialect(tmp_path, content, fmt, what):
    path = tmp_path / "x.bin"
    path.write_bytes(content)
    found = sniff(path)
    assert (found.format, found.what) == (fmt, what)


def test_sniff_of_a_gzip_bomb_reads_only_the_head(tmp_path):
    path = tmp_path / "bomb.log.gz"
    with gzip.open(path, "wb", compresslevel=1) as g:
        block = b"\n" * (1 << 20)
        for _ in range(256):        # 256 MiB of newlines in ~250 KB
            g.write(block)
    t = time.perf_counter()
    assert sniff(path).format == ""
    assert time.perf_counter() - t < 2.0


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs on this system")
def test_a_fifo_is_refused_without_being_opened(tmp_path):
    path = tmp_path / "pipe.log"
    os.mkfifo(path)
    t = time.perf_counter()
    with pytest.raises((UnsupportedFormat, CorruptLog)):
        read_frames(path)
    assert time.perf_counter() - t < 1.0


def test_check_judges_a_renamed_log_as_under_its_own_name(tmp_path, capsys, data_dir):
    """``bopwatch check`` on a candump log named ``.txt``: the same verdict, rules and exceedances as ``.log``; the
    input's format is candump and the renaming is a warning in data_quality."""
    import json

    from _compliance_logs import write_log

    from compliance.cli import main

    cdata = data_dir / "compliance"
    own = write_log(tmp_path / "run.log", 60.0, boost_peaks=[(10.0, 0.5, 0.08)])
    renamed = tmp_path / "run.txt"
    shutil.copyfile(own, renamed)
    out = []
    for log in (own, renamed):
        code = main(["check", str(log), "--profile", str(cdata / "profile_test_turbo.toml"), "--bulletin",
                     str(cdata / "bulletin_cli.toml"), "--json"])
        out.append((code, json.loads(capsys.readouterr().out)))
    (code_a, a), (code_b, b) = out
    assert code_a == code_b and a["verdict"] == b["verdict"] and a["rules"] == b["rules"]
    assert a["exceedances"] == b["exceedances"] and b["inputs"][0]["format"] == "candump"
    extra = [f for f in b["data_quality"] if f not in a["data_quality"]]
    assert [(f["check"], f["severity"]) for f in extra] == [("format_by_content", "warning")]
