"""The join rules of a car's session through ``bopwatch ingest``, ``watch`` and ``check`` (compliance.judge.outings):
rolled files are joined; overlapping files are never interleaved (refused, or a separate outing on request); a
log outside the session window or too far from the others is refused with the reason; every exit code."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from _store_support import BULLETIN_R1, PROFILE, START_EPOCH, write_log

from compliance.cli import main
from compliance.ingest.watch import Watcher
from compliance.store import schema as st

EVENT_TOML = """id = "ev"
[[sessions]]
id = "race"
start = "2025-06-28T16:30:00Z"
end = "2025-06-28T17:30:00Z"
"""


def _ingest(db, *args, extra=()):
    return main(["ingest", *map(str, args), "--profile", str(PROFILE), "--bulletin", str(BULLETIN_R1),
                 "--db", str(db), *extra])


def _lines(capsys):
    return [json.loads(x) for x in capsys.readouterr().out.splitlines()]


def _runs(db):
    with st.open_store(db).reading() as conn:
        return conn.execute("SELECT outing, log_count, verdict FROM latest_runs ORDER BY outing").fetchall()


def _logs(db):
    with st.open_store(db).reading() as conn:
        return conn.execute("SELECT original_name, outing FROM logs ORDER BY original_name").fetchall()


def test_a_rolled_file_joins_the_run(tmp_path, capsys):
    first = write_log(tmp_path / "car7_001.log", exceedances=1)
    second = write_log(tmp_path / "car7_002.log", exceedances=1, start_epoch=START_EPOCH + 20, seed=2)
    assert _ingest(tmp_path / "s.duckdb", first) == 0
    assert _ingest(tmp_path / "s.duckdb", second) == 1          # 2 exceedances in the session, 1 allowed
    assert [x["outing"] for x in _lines(capsys)] == [1, 1]
    assert _runs(tmp_path / "s.duckdb") == [(1, 2, "infringement")]


def test_an_overlapping_log_is_refused_naming_both_files_and_the_stored_run_is_unchanged(tmp_path, capsys,
                                                                                          caplog):
    db = tmp_path / "s.duckdb"
    first = write_log(tmp_path / "car7_logger.log", exceedances=0)
    assert _ingest(db, first) == 0
    capsys.readouterr()
    second = write_log(tmp_path / "car7_again.log", exceedances=4, start_epoch=START_EPOCH + 5, seed=3)
    assert _ingest(db, second) == 2
    captured = capsys.readouterr()
    (line,) = [json.loads(x) for x in captured.out.splitlines()]
    assert line["status"] == "error" and line["verdict"] is None
    assert "car7_again.log overlaps car7_logger.log by 14.990 s" in line["error"]
    assert "--join new" in line["error"] and "originals" not in line["error"]
    assert "car7_again.log overlaps car7_logger.log" in caplog.text           # the stderr line
    assert _runs(db) == [(1, 1, "compliant")]
    assert _logs(db) == [("car7_logger.log", 1)]


def test_join_new_files_an_overlapping_log_as_its_own_outing(tmp_path, capsys):
    db = tmp_path / "s.duckdb"
    assert _ingest(db, write_log(tmp_path / "a.log", exceedances=0)) == 0
    other = write_log(tmp_path / "b.log", exceedances=4, start_epoch=START_EPOCH + 5, seed=3)
    assert _ingest(db, other, extra=["--join", "new"]) == 1
    assert [(x["outing"], x["verdict"]) for x in _lines(capsys)] == [(1, "compliant"), (2, "infringement")]
    assert _runs(db) == [(1, 1, "compliant"), (2, 1, "infringement")]      # never merged: one log per run
    assert _logs(db) == [("a.log", 1), ("b.log", 2)]
    assert _ingest(db, other, extra=["--join", "new"]) == 1                # the same file again: a duplicate
    (line,) = _lines(capsys)
    assert (line["status"], line["outing"]) == ("duplicate", 2)
    assert main(["recheck", "--event", "ev", "--session", "race", "--bulletin", str(BULLETIN_R1),
                 "--profile", str(PROFILE), "--db", str(db)]) == 1
    assert [(x["outing"], x["verdict"]) for x in _lines(capsys)] == [(1, "compliant"), (2, "infringement")]


def test_two_overlapping_files_in_one_command_are_refused(tmp_path, capsys):
    a = write_log(tmp_path / "a.log")
    b = write_log(tmp_path / "b.log", start_epoch=START_EPOCH + 10, seed=1)
    assert _ingest(tmp_path / "s.duckdb", a, b) == 2
    lines = _lines(capsys)
    assert [x["status"] for x in lines] == ["error", "error"]
    assert all("b.log overlaps a.log by 9.990 s" in x["error"] for x in lines)


def test_a_log_outside_the_session_window_is_refused_with_the_window_and_its_start(tmp_path, capsys):
    (tmp_path / "event.toml").write_text(EVENT_TOML)
    late = write_log(tmp_path / "car7_race.log", start_epoch=START_EPOCH + 24 * 3600)
    code = main(["ingest", str(late), "--profile", str(PROFILE), "--bulletin", str(BULLETIN_R1),
                 "--event-info", str(tmp_path / "event.toml"), "--db", str(tmp_path / "s.duckdb")])
    assert code == 2
    (line,) = _lines(capsys)
    assert ("car7_race.log starts at 2025-06-29 16:30:00 UTC, outside the window of session race "
            "(2025-06-28 16:30:00 UTC to 2025-06-28 17:30:00 UTC, with 30 min either side)") in line["error"]
    assert _logs(tmp_path / "s.duckdb") == []


def test_a_log_outside_the_window_is_refused_even_without_a_bulletin(tmp_path, capsys):
    (tmp_path / "event.toml").write_text(EVENT_TOML)
    late = write_log(tmp_path / "car7_race.log", start_epoch=START_EPOCH + 24 * 3600)
    assert main(["ingest", str(late), "--profile", str(PROFILE), "--event-info", str(tmp_path / "event.toml"),
                 "--db", str(tmp_path / "s.duckdb")]) == 2
    assert "outside the window of session race" in _lines(capsys)[0]["error"]


def test_a_log_inside_the_margin_is_accepted_and_the_margin_is_the_event_files(tmp_path, capsys):
    (tmp_path / "event.toml").write_text(EVENT_TOML)
    early = write_log(tmp_path / "early.log", start_epoch=START_EPOCH - 20 * 60)
    args = ["--profile", str(PROFILE), "--bulletin", str(BULLETIN_R1), "--db", str(tmp_path / "s.duckdb")]
    assert main(["ingest", str(early), "--event-info", str(tmp_path / "event.toml"), *args]) == 0
    (tmp_path / "strict.toml").write_text("window_margin_s = 60\n" + EVENT_TOML)
    earlier = write_log(tmp_path / "earlier.log", start_epoch=START_EPOCH - 20 * 60 - 30, seed=4)
    assert main(["ingest", str(earlier), "--event-info", str(tmp_path / "strict.toml"), "--join", "new",
                 *args]) == 2
    assert "with 1 min either side" in _lines(capsys)[-1]["error"]


def test_a_log_far_after_the_others_is_refused_unless_the_gap_is_raised(tmp_path, capsys):
    db = tmp_path / "s.duckdb"
    assert _ingest(db, write_log(tmp_path / "a.log")) == 0
    far = write_log(tmp_path / "b.log", start_epoch=START_EPOCH + 7200, seed=1)
    assert _ingest(db, far) == 2
    assert "b.log starts 7180 s after a.log ends, more than the 3600 s allowed" in _lines(capsys)[-1]["error"]
    assert _ingest(db, far, extra=["--max-gap", "inf"]) == 3            # joined: the 2 hours between are a gap
    assert _runs(db) == [(1, 2, "incomplete")]


def test_exit_4_when_stored_without_a_verdict(tmp_path, capsys):
    log = write_log(tmp_path / "car7.log")
    assert main(["ingest", str(log), "--profile", str(PROFILE), "--db", str(tmp_path / "s.duckdb")]) == 4
    assert _lines(capsys)[0]["status"] == "stored"


@pytest.mark.parametrize(("exceedances", "code"), [(0, 0), (3, 1)])
def test_exit_code_follows_the_verdict(tmp_path, capsys, exceedances, code):
    assert _ingest(tmp_path / "s.duckdb", write_log(tmp_path / "car7.log", exceedances=exceedances)) == code


def test_exit_3_when_the_data_cannot_certify_the_car(tmp_path, capsys):
    log = write_log(tmp_path / "car7.log")
    lines = log.read_text().splitlines()
    log.write_text("\n".join(lines[:300] + lines[900:]) + "\n")      # 6 s without boost: a gap
    assert _ingest(tmp_path / "s.duckdb", log) == 3
    assert _lines(capsys)[0]["verdict"] == "incomplete"


def test_exit_2_for_an_unreadable_log_and_for_no_log_at_all(tmp_path, capsys):
    bad = tmp_path / "car7.blf"
    bad.write_bytes(b"not a blf file at all")
    Path(f"{bad}.meta.json").write_text(json.dumps({"event": "ev", "session": "race", "car": "7"}))
    assert _ingest(tmp_path / "s.duckdb", bad) == 2
    assert _lines(capsys)[0]["status"] == "error"
    empty = tmp_path / "empty"
    empty.mkdir()
    assert _ingest(tmp_path / "s.duckdb", empty) == 2
    assert "no log file found there" in capsys.readouterr().err


def test_exit_2_when_one_log_fails_even_if_another_infringes(tmp_path, capsys):
    good = write_log(tmp_path / "car7.log", exceedances=3)
    bad = write_log(tmp_path / "car8.log", car="8", sidecar=False)
    assert _ingest(tmp_path / "s.duckdb", good, bad) == 2


def test_a_sidecar_can_declare_a_new_outing_for_the_watcher(tmp_path):
    db = tmp_path / "s.duckdb"
    folder = tmp_path / "cards"
    folder.mkdir()
    outcomes = []
    store = st.open_store(db)
    options = {"profile": str(PROFILE), "bulletin": [str(BULLETIN_R1)]}
    for name, start, extra in (("a.log", START_EPOCH, {}), ("b.log", START_EPOCH + 5, {"join": "new"})):
        log = write_log(folder / name, start_epoch=start, seed=len(outcomes), exceedances=3 if extra else 0)
        side = json.loads(Path(f"{log}.meta.json").read_text())
        Path(f"{log}.meta.json").write_text(json.dumps(side | extra))
        for p in (log, Path(f"{log}.meta.json")):
            os.utime(p, (1, 1))
        Watcher(store, folder, outcomes.append, options, settle_s=0.0, poll_s=0.05, poll=True).run(once=True)
    last = {o.path.rsplit("/", 1)[-1]: (o.outing, o.verdict) for o in outcomes}
    assert last == {"a.log": (1, "compliant"), "b.log": (2, "infringement")}


def test_a_bad_join_in_a_sidecar_names_the_key(tmp_path, capsys):
    log = write_log(tmp_path / "car7.log")
    side = json.loads(Path(f"{log}.meta.json").read_text())
    Path(f"{log}.meta.json").write_text(json.dumps(side | {"join": "merge"}))
    assert _ingest(tmp_path / "s.duckdb", log) == 2
    assert "'merge' is not one of auto, add, new" in _lines(capsys)[0]["error"]


def test_check_refuses_overlapping_logs_naming_both(tmp_path, capsys):
    a = write_log(tmp_path / "a.log", sidecar=False)
    b = write_log(tmp_path / "b.log", sidecar=False, start_epoch=START_EPOCH + 10, seed=1)
    assert main(["check", str(a), str(b), "--profile", str(PROFILE), "--bulletin", str(BULLETIN_R1)]) == 2
    err = capsys.readouterr().err
    assert "b.log" in err and "overlaps a.log by 9.990 s" in err


def test_check_refuses_a_log_beyond_the_gap(tmp_path, capsys):
    a = write_log(tmp_path / "a.log", sidecar=False)
    b = write_log(tmp_path / "b.log", sidecar=False, start_epoch=START_EPOCH + 86400, seed=1)
    assert main(["check", str(a), str(b), "--profile", str(PROFILE), "--bulletin", str(BULLETIN_R1)]) == 2
    assert "more than the 3600 s allowed" in capsys.readouterr().err
    assert main(["check", str(a), str(b), "--profile", str(PROFILE), "--bulletin", str(BULLETIN_R1),
                 "--max-gap", "inf", "--json"]) == 3


def test_the_dashboard_query_lists_each_outing_with_its_time_range_and_team_scope(tmp_path, capsys):
    from compliance.access import queries as q
    from compliance.access.auth import Viewer

    db = tmp_path / "s.duckdb"
    assert _ingest(db, write_log(tmp_path / "a.log")) == 0
    assert _ingest(db, write_log(tmp_path / "b.log", start_epoch=START_EPOCH + 5, seed=1, exceedances=3),
                   extra=["--join", "new"]) == 1
    store = st.open_store(db)
    tech = Viewer("tech", "technical")
    first, second = q.outings(tech, store, "ev", "race", "7")
    assert (first.number, [s.name for s in first.logs], first.verdict) == (1, ["a.log"], "compliant")
    assert (second.number, second.verdict) == (2, "infringement") and second.run_id
    assert first.start.isoformat() == "2025-06-28T16:30:00+00:00" and 19.9 < (first.end - first.start).total_seconds() < 20
    assert first.overlaps(second.logs[0])
    rows = q.session_matrix(tech, store, event="ev", session="race")
    assert [(r.label, r.verdict) for r in rows] == [("7", "compliant"), ("7 (outing 2)", "infringement")]
    assert q.outings(Viewer("red", "team", "Red Racing"), store, "ev", "race", "7") == []


def test_names_given_for_staged_files_are_what_the_store_and_the_errors_say(tmp_path):
    from compliance.ingest.pipeline import ingest_logs

    db = tmp_path / "s.duckdb"
    store = st.open_store(db)
    staged = write_log(tmp_path / "19b57c912a54391c.log")
    clash = write_log(tmp_path / "77aa00ff11223344.log", start_epoch=START_EPOCH + 5, seed=1)
    opts = {"profile": str(PROFILE), "bulletin": str(BULLETIN_R1)}
    (ok,) = ingest_logs(store, [staged], names={str(staged): "car7 practice.log"}, **opts)
    assert ok.verdict == "compliant" and _logs(db) == [("car7 practice.log", 1)]
    (refused,) = ingest_logs(store, [clash], names={str(clash): "car7 second.log"}, **opts)
    assert refused.status == "error"
    assert refused.problem.startswith("car7 second.log overlaps car7 practice.log by 14.990 s")
    assert "77aa00ff" not in refused.problem and "--join" not in refused.problem and "/" not in refused.problem


def test_the_steward_report_lists_each_outing_as_its_own_car_row(tmp_path, capsys):
    from compliance.reports.steward import build_report, to_csv, to_json
    from compliance.reports.steward_html import to_html

    db = tmp_path / "s.duckdb"
    assert _ingest(db, write_log(tmp_path / "a.log")) == 0
    assert _ingest(db, write_log(tmp_path / "b.log", start_epoch=START_EPOCH + 5, seed=1, exceedances=3),
                   extra=["--join", "new"]) == 1
    store = st.open_store(db)
    report = build_report(store, "ev", "race")
    assert [(c.label, c.run["verdict"]) for c in report.cars] == [("7", "compliant"),
                                                                  ("7 (outing 2)", "infringement")]
    assert [(c["car"], c["outing"]) for c in json.loads(to_json(report))["cars"]] == [("7", 1), ("7", 2)]
    assert [row.split(",")[-1] for row in to_csv(report).splitlines()[1:]] == ["1", "2"]
    html = to_html(report, store)
    assert "id='car-7-outing-2'" in html and "Car 7 (outing 2)" in html


def test_the_stored_session_window_applies_without_the_event_file(tmp_path, capsys):
    """The dashboard's uploads pass no event file: the session's start and end as stored still bound it."""
    (tmp_path / "event.toml").write_text(EVENT_TOML)
    db = tmp_path / "s.duckdb"
    args = ["--profile", str(PROFILE), "--bulletin", str(BULLETIN_R1), "--db", str(db)]
    assert main(["ingest", str(write_log(tmp_path / "car8.log", car="8")), "--event-info",
                 str(tmp_path / "event.toml"), *args]) == 0
    late = write_log(tmp_path / "car7_race.log", start_epoch=START_EPOCH + 24 * 3600)
    assert main(["ingest", str(late), *args]) == 2
    assert "outside the window of session race" in _lines(capsys)[-1]["error"]


def test_a_candump_log_named_txt_is_found_in_a_folder_and_a_readme_is_not(tmp_path, capsys):
    from compliance.ingest.pipeline import expand_paths

    folder = tmp_path / "cards"
    folder.mkdir()
    log = write_log(folder / "car7.txt")
    (folder / "README.txt").write_text("card of car 7, copied by the data technician\n")
    assert expand_paths([folder]) == [log]
    assert _ingest(tmp_path / "s.duckdb", folder) == 0
    assert _logs(tmp_path / "s.duckdb") == [("car7.txt", 1)]
