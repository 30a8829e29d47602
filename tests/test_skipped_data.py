"""Skipped data is never a pass: a log with 1 % of its lines garbled is ``incomplete`` (a ``skipped_data`` error
naming the count and the first lines), not ``compliant``; below ``SKIPPED_SHARE`` the skipped lines stay a
warning; a whole skipped BLF container is an error whatever the share; an infringement found in the lines read
stays an infringement."""

from __future__ import annotations

import json

import pytest
from _compliance_helpers import session
from _compliance_logs import write_log

from compliance.cli import main
from compliance.judge.quality import SKIPPED_SHARE, check_quality, skipped_data
from telemetry.channels import SourceInfo
from telemetry.frames import Finding


@pytest.fixture(scope="module")
def cdata(data_dir):
    return data_dir / "compliance"


def _garble(path, every: int, *, keep_id: bool = False):
    """Damage every ``every``-th frame line (a byte of the identifier becomes ``Z``, or with ``keep_id`` the
    identifier stays readable and the payload is damaged); returns how many."""
    lines = path.read_text().splitlines(keepends=True)
    n = 0
    for i in range(every // 2, len(lines), every):
        lines[i] = (lines[i].replace("#", "#Z", 1) if keep_id else lines[i].replace(" can0 ", " can0 Z", 1)
                    .replace("#", "Z", 1))
        n += 1
    path.write_text("".join(lines))
    return n


def _check(capsys, cdata, log):
    code = main(["check", str(log), "--profile", str(cdata / "profile_test_turbo.toml"), "--bulletin",
                 str(cdata / "bulletin_cli.toml"), "--json"])
    out, _ = capsys.readouterr()
    return code, json.loads(out)


def test_one_percent_of_lines_garbled_is_incomplete_not_compliant(tmp_path, capsys, cdata):
    log = write_log(tmp_path / "clean.log", 60.0)
    code, clean = _check(capsys, cdata, log)
    assert code == 0 and clean["verdict"] == "compliant"
    garbled = _garble(log, 100)
    code, d = _check(capsys, cdata, log)
    assert code == 3 and d["verdict"] == "incomplete"
    lost = [f for f in d["data_quality"] if f["check"] == "skipped_data"]
    assert len(lost) == 1 and lost[0]["severity"] == "error" and lost[0]["channel"] == ""
    assert f"{garbled:,} lines not read of" in lost[0]["detail"] and "(1.00%)" in lost[0]["detail"]
    assert "at lines 51, 151, 251" in lost[0]["detail"]
    assert all(r["verdict"] == "incomplete" and any("skipped_data" in x for x in r["reasons"]) for r in d["rules"])


def test_a_few_skipped_lines_below_the_share_stay_a_warning(tmp_path, capsys, cdata):
    log = write_log(tmp_path / "few.log", 60.0)
    lines = log.read_text().count("\n")
    every = int(2 / SKIPPED_SHARE)          # half the share
    garbled = _garble(log, every)
    assert 0 < garbled / lines <= SKIPPED_SHARE
    code, d = _check(capsys, cdata, log)
    assert code == 0 and d["verdict"] == "compliant"
    assert not [f for f in d["data_quality"] if f["check"] == "skipped_data"]
    assert [f["severity"] for f in d["data_quality"] if f["check"] == "skipped_line"] == ["warning"]


def test_one_skipped_line_on_a_message_a_rule_needs_is_incomplete(tmp_path, capsys, cdata):
    log = write_log(tmp_path / "one.log", 60.0)
    lines = log.read_text().splitlines(keepends=True)
    at = next(i for i, line in enumerate(lines) if " 100#" in line)     # ENGINE: boost, rpm, fuel flow
    lines[at] = lines[at].replace("100#", "100#Z", 1)
    log.write_text("".join(lines))
    code, d = _check(capsys, cdata, log)
    assert code == 3 and d["verdict"] == "incomplete"
    lost = [f for f in d["data_quality"] if f["check"] == "skipped_data"]
    assert len(lost) == 1 and "0x100 (ENGINE), which the rules need" in lost[0]["detail"]
    assert f"at line {at + 1}" in lost[0]["detail"]


def test_inspect_lists_the_ids_a_skipped_line_still_shows(tmp_path, capsys):
    log = tmp_path / "x.log"
    log.write_text("(1.000000) can0 123#1122334455667788\n(1.010000) can0 123#11223344556677ZZ\n"
                   "(1.020000) can0 1ABCDEF0#ZZ\n(1.030000) can0 ZZZ\n")
    assert main(["inspect", str(log), "--json"]) == 0
    found = json.loads(capsys.readouterr().out)["findings"]
    assert [(f["kind"], f["count"], f["ids"]) for f in found] == [("skipped_line", 3, [0x123, 0x1ABCDEF0])]


def test_infringement_in_the_lines_read_outranks_skipped_data(tmp_path, capsys, cdata):
    log = write_log(tmp_path / "over.log", 60.0, boost_peaks=[(10.0, 0.5, 0.08), (30.0, 0.5, 0.08),
                                                             (45.0, 0.5, 0.08)])
    _garble(log, 100)
    code, d = _check(capsys, cdata, log)
    assert code == 1 and d["verdict"] == "infringement"
    assert [f["check"] for f in d["data_quality"]].count("skipped_data") == 1


def _source(findings, frames=100_000) -> SourceInfo:
    return SourceInfo("x.blf", "0" * 64, "blf", 1, frames, (0,), 1, None, 10.0, tuple(findings))


def test_threshold_is_a_share_of_frames_plus_skipped():
    at = int(SKIPPED_SHARE * 100_000)
    assert skipped_data(_source([Finding("skipped_line", "x", line=3, count=at)], 100_000 - at)) is None
    over = skipped_data(_source([Finding("skipped_line", "x", line=3, count=at + 1)], 100_000 - at))
    assert over is not None and over.severity == "error" and over.check == "skipped_data"


def test_unknown_blf_objects_count_and_a_skipped_container_is_always_an_error():
    many = skipped_data(_source([Finding("unknown_object", "objects of unknown type skipped: type 200 x500",
                                         count=500)]))
    assert many is not None and "objects of unknown type not read" in many.detail
    one_container = skipped_data(_source([Finding("unknown_object", "log container with unknown compression "
                                                  "method 7 skipped", offset=4096)]))
    assert one_container is not None and "a whole log container was skipped" in one_container.detail
    other = skipped_data(_source([Finding("other_objects", "objects that are not CAN frames", count=9000)]))
    assert other is None


def test_check_quality_reports_it_once_per_file_with_its_place():
    s = session({"engine_speed": ([0.0, 1.0], [5000.0, 5000.0])})
    src = _source([Finding("skipped_line", "40 lines not understood (skipped) at lines 7, 9", line=7, count=40)],
                  1000)
    s = type(s)(s.channels, (src,), s.start, s.messages, s.signals, s.findings, s.missing)
    found = [f for f in check_quality(s, None, ["engine_speed"]) if f.check == "skipped_data"]
    assert len(found) == 1 and "x.blf: 40 lines not read of 1,040 (3.85%)" in found[0].detail
    assert "at lines 7, 9" in found[0].detail


def test_asc_skipped_lines_keep_their_ids(tmp_path, capsys):
    log = tmp_path / "x.asc"
    log.write_text("date Mon Jun 27 13:30:00.000 2026\nbase hex  timestamps absolute\n"
                   "Begin TriggerBlock Mon Jun 27 13:30:00.000 2026\n"
                   "   1.000000 1  100             Rx   d 8 11 22 33 44 55 66 77 88\n"
                   "   1.010000 1  100             Rx   d 8 11 22 33 ZZ 55 66 77 88\n"
                   "   1.020000 1  1ABCDEF0x       Rx   d 8 11 22 33 QQ 55 66 77 88\n"
                   "   1.030000 1  GHI             Rx   d 8 11 22 33 QQ 55 66 77 88\nEnd TriggerBlock\n")
    assert main(["inspect", str(log), "--json"]) == 0
    found = json.loads(capsys.readouterr().out)["findings"]
    assert [(f["kind"], f["count"], f["ids"]) for f in found] == [("skipped_line", 3, [0x100, 0x1ABCDEF0])]
