"""dashboard.uploads without Streamlit: labels, refusals in the scrutineer's words, messages cleaned of server paths
and command-line advice, overlaps found before submitting."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from compliance.judge.outings import LogSpan, Outing
from dashboard.uploads import UploadRefused, allowed_suffix, check_upload, label, overlapping, plain

T0 = datetime(2025, 6, 28, 16, 30, tzinfo=UTC)


def _span(name: str, start_s: float, end_s: float) -> LogSpan:
    return LogSpan(name, T0 + timedelta(seconds=start_s), T0 + timedelta(seconds=end_s))


def test_a_label_is_the_last_name_component_with_safe_characters_only():
    assert label("../../etc/passwd.log") == "passwd.log"
    assert label("C:\\logs\\car 7 (fp1).blf") == "car 7 _fp1_.blf"
    assert label("") == "upload"


def test_only_the_log_types_bopwatch_reads_are_allowed():
    assert allowed_suffix("car7.ASC.gz") == ".asc.gz"
    assert allowed_suffix("candump-2026-06-27.txt") == ".txt"      # read by content (telemetry.formats.sniff)
    assert allowed_suffix("vector_export.dat.gz") == ".dat.gz"
    with pytest.raises(UploadRefused, match="not a log type bopwatch reads"):
        allowed_suffix("setup.exe")
    with pytest.raises(UploadRefused):
        allowed_suffix(".blf")                       # a suffix alone is no name


def test_refusals_say_what_to_do_without_a_command_line():
    big = check_upload("big.blf", b"0" * 2001, max_bytes=2000)
    assert big.refusal.startswith("big.blf is 0.0 MB, above the dashboard's limit")
    assert "data operator" in big.refusal and "--" not in big.refusal
    assert check_upload("empty.log", b"", max_bytes=10).refusal == "empty.log is empty: upload the log file itself"
    fine = check_upload("car7.log", b"(1.0) can0 100#00\n", max_bytes=100)
    assert fine.refusal is None and len(fine.sha256) == 64


def test_plain_takes_out_server_paths_and_command_line_advice():
    staged = "/tmp/bopwatch-upload-x1/0/0123456789abcdef.blf"
    text = (f"{staged}: /srv/store_store/originals/ab/abcdef.blf: overlaps car7.blf by 240 s: two recordings of "
            "the same time cannot be one session (if it is a new outing of the car, ingest it with --join new "
            "(the dashboard: 'start a new run'); if it belongs to another session or car, file it there)")
    assert plain(text, {staged: "second.blf", "abcdef.blf": "car7.blf"}) == (
        "second.blf: car7.blf: overlaps car7.blf by 240 s: two recordings of the same time cannot be one session")
    assert plain("x.log: line 3: bad line (the file is damaged; ask for the logger's original file)") == (
        "x.log: line 3: bad line (the file is damaged; ask for the logger's original file)")
    assert plain("no profile for car 7 (pass --profile, an --entry-list with the model)") == "no profile for car 7"


def test_overlaps_with_the_stored_run_and_among_the_dropped_files_are_named():
    stored = Outing(1, (_span("car7.blf", 0, 240),))
    rolled, again, twin = _span("car7_2.blf", 240, 480), _span("again.blf", 100, 300), _span("twin.blf", 250, 260)
    assert overlapping(stored, [rolled]) == []
    found = overlapping(stored, [again, rolled, twin])
    assert found[0].startswith("again.blf overlaps the stored car7.blf (again.blf: 2025-06-28 16:31:40 UTC to ")
    assert any(f.startswith("again.blf overlaps twin.blf, also dropped now") for f in found)
    assert any(f.startswith("car7_2.blf overlaps twin.blf, also dropped now") for f in found)
    assert overlapping(None, [rolled, "cannot be read"]) == []
