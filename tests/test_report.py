"""``bopwatch report``: HTML (self-contained, with plots), PDF, CSV and JSON of a stored session; each names the
file hashes, bulletin, tool version and the command that reproduces it; a changed original is flagged."""

from __future__ import annotations

import csv
import io
import json
import os

import pytest
from _store_support import BULLETIN_R1, BULLETIN_R2, PROFILE, write_log

from compliance.errors import StoreError
from compliance.ingest.pipeline import ingest_logs, recheck
from compliance.reports.render import render
from compliance.reports.steward import build_report, to_csv
from compliance.store import schema as st


@pytest.fixture(scope="module")
def session_store(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("report")
    logs = [write_log(tmp / "car7.log", car="7", exceedances=3, seconds=10),
            write_log(tmp / "car8.log", car="8", exceedances=0, seconds=10, seed=1)]
    store = st.open_store(tmp / "r.duckdb")
    out = ingest_logs(store, logs, profile=str(PROFILE), bulletin=BULLETIN_R1, command="bopwatch ingest ...")
    assert [o.status for o in out] == ["checked", "checked"], out
    recheck(store, event="ev", session="race", bulletin=BULLETIN_R2, profile=str(PROFILE))
    return store, {o.car: o.sha256 for o in out}


def test_json_report_names_hashes_bulletin_tool_and_command(session_store):
    store, shas = session_store
    report = build_report(store, "ev", "race", bulletin="STORE-TEST-R1", fmt="json", out="x.json")
    obj = json.loads(render(report, "json"))
    assert obj["report"]["verdict"] == "infringement"
    assert obj["report"]["command"].startswith("bopwatch report --event ev --session race --bulletin "
                                               "STORE-TEST-R1 --format json --out ")
    assert obj["report"]["tool"]["version"]
    cars = {c["car"]: c for c in obj["cars"]}
    assert cars["7"]["run"]["verdict"] == "infringement" and len(cars["7"]["check"]["exceedances"]) == 3
    assert cars["7"]["logs"][0]["sha256"] == shas["7"] and cars["7"]["logs"][0]["integrity"] == "intact"
    assert cars["7"]["run"]["bulletin_sha256"] == cars["7"]["check"]["bulletin"]["sha256"]
    assert cars["7"]["run"]["command"] == "bopwatch ingest ..."
    assert cars["7"]["run"]["created_at"].endswith("Z")


def test_latest_run_per_car_is_the_default_and_both_bulletins_are_kept(session_store):
    store, _ = session_store
    report = build_report(store, "ev", "race")
    assert {c.run["bulletin_id"] for c in report.cars} == {"STORE-TEST-R2"}
    assert all(c.runs_total == 2 for c in report.cars)


def test_csv_has_one_row_per_car_and_rule(session_store):
    store, shas = session_store
    rows = list(csv.DictReader(io.StringIO(to_csv(build_report(store, "ev", "race", bulletin="STORE-TEST-R1")))))
    assert [(r["car"], r["rule"], r["rule_verdict"], r["exceedance_count"]) for r in rows] == [
        ("7", "boost", "infringement", "3"), ("8", "boost", "compliant", "0")]
    assert rows[0]["log_sha256"] == shas["7"] and rows[0]["bulletin_id"] == "STORE-TEST-R1"


def test_html_is_self_contained_with_svg_evidence_and_no_script(session_store):
    store, shas = session_store
    text = render(build_report(store, "ev", "race", bulletin="STORE-TEST-R1"), "html", store).decode()
    assert "<script" not in text and "plotly" not in text.lower() and "scattergl" not in text.lower()
    assert text.count("data-chart='value_vs_key'") == 2             # boost against rpm, one per car
    assert text.count("data-chart='exceedance'") == 3               # a close-up per exceedance of car 7
    assert shas["7"] in text and "STORE-TEST-R1" in text and "Reproduce this report" in text


def test_pdf_has_a_page_per_car_and_plots_without_a_browser(session_store):
    store, _ = session_store
    from compliance.reports.steward_pdf import to_pdf
    data = to_pdf(build_report(store, "ev", "race", bulletin="STORE-TEST-R1"), store, compress=False)
    assert data.startswith(b"%PDF-")
    pages = int(data.split(b"/Count ")[1].split(b"\n")[0])
    assert pages >= 3                                              # matrix page + a page per car, plots after
    text = data.decode("latin-1")
    assert text.count("car 7 boost exceedance") == 3 and "car 8 boost: boost_pressure against rpm" in text
    assert text.count(" l\n") > 1000                                  # the traces, drawn as vector lines


def test_car_report_and_unknown_session(session_store):
    store, _ = session_store
    assert [c.car for c in build_report(store, "ev", "race", car="8").cars] == ["8"]
    with pytest.raises(StoreError, match="no session ev/qualifying"):
        build_report(store, "ev", "qualifying")


def test_changed_original_is_flagged_in_the_report(tmp_path):
    log = write_log(tmp_path / "car7.log", seconds=5)
    store = st.open_store(tmp_path / "r.duckdb")
    ingest_logs(store, [log], profile=str(PROFILE), bulletin=BULLETIN_R1)
    stored = next(p for p in store.layout.originals.rglob("*.log"))
    os.chmod(stored, 0o644)
    stored.write_text("edited")
    report = build_report(store, "ev", "race")
    assert report.problems and "stored original changed" in report.problems[0]
    assert "stored original changed" in render(report, "html").decode()


def test_entries_without_a_verdict_are_listed_not_dropped(tmp_path):
    store = st.open_store(tmp_path / "r.duckdb")
    (tmp_path / "entries.csv").write_text("car,team,model,class,drivers\n7,A,store_test_turbo,Pro,X\n"
                                          "8,B,store_test_turbo,Pro,Y\n9,C,store_test_turbo,Pro,Z\n")
    ingest_logs(store, [write_log(tmp_path / "car7.log", seconds=5)], profile=str(PROFILE), bulletin=BULLETIN_R1,
                entry_list=tmp_path / "entries.csv")
    ingest_logs(store, [write_log(tmp_path / "car8.log", car="8", seconds=5, seed=8)], profile=str(PROFILE),
                entry_list=tmp_path / "entries.csv")                      # no bulletin: stored, not judged
    report = build_report(store, "ev", "race")
    assert [c.car for c in report.cars] == ["7"]
    assert [(u["car"], u["status"]) for u in report.unjudged] == [("8", "logs stored, not judged"), ("9", "no log")]
    assert "no log" in render(report, "html").decode() and "\nev,race,9,C," in to_csv(report)
    assert json.loads(render(report, "json"))["unjudged"][0]["car"] == "8"
