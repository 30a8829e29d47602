"""The whole sample event (``sample_logs/``) goes into a store: every log judged, a report per session in every
format, the verdicts those of the simulator's ground truth, and ingesting it all again adds nothing."""

from __future__ import annotations

import json

import pytest

from compliance.ingest.pipeline import expand_paths, ingest_logs, load_event_info
from compliance.reports.render import render
from compliance.reports.steward import FORMATS, build_report
from compliance.store import audit
from compliance.store import schema as st

pytestmark = pytest.mark.slow

TABLES = ("events", "sessions", "entries", "logs", "runs", "run_logs", "rule_results", "exceedances",
          "quality_findings", "channel_summaries", "audit_log")


@pytest.fixture(scope="module")
def event_store(sample_logs, tmp_path_factory):
    if not (sample_logs / "event.toml").is_file():
        pytest.skip("sample_logs/ is absent (bopwatch simulate event --out sample_logs)")
    info = load_event_info(sample_logs / "event.toml")
    store = st.open_store(tmp_path_factory.mktemp("event") / "event.duckdb")
    logs = expand_paths([sample_logs])
    outcomes = ingest_logs(store, logs, event_info=info, reason="demo")
    return store, info, logs, outcomes


def _counts(store):
    with store.reading() as conn:
        return {t: conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in TABLES}


def test_every_sample_log_is_judged(event_store):
    store, info, logs, outcomes = event_store
    errors = [(o.path, o.error) for o in outcomes if o.status != "checked"]
    assert not errors
    with store.reading() as conn:
        assert conn.execute("SELECT count(*) FROM logs").fetchone()[0] == len(logs)
        sessions = {r[0]: r[1:] for r in conn.execute("SELECT session, type, start_at FROM sessions").fetchall()}
        teams = conn.execute("SELECT count(*) FROM entries WHERE team IS NOT NULL AND model IS NOT NULL"
                             ).fetchone()[0]
    assert set(sessions) == set(info.sessions) and all(t is not None and s is not None for t, s in
                                                        sessions.values())
    assert teams == len(info.entries)
    assert audit.verify(store).ok


def test_a_report_per_session_in_every_format(event_store):
    store, info, _, _ = event_store
    for session in info.sessions:
        report = build_report(store, info.event, session)
        assert len(report.cars) == len(info.entries) and not report.problems
        for fmt in FORMATS:
            data = render(report, fmt, store)
            assert len(data) > 500, (session, fmt)
        cars = json.loads(render(report, "json"))["cars"]
        assert all(c["logs"][0]["sha256"] and c["run"]["bulletin_sha256"] for c in cars)


def test_stored_verdicts_match_the_ground_truth(event_store, sample_logs):
    store, info, _, _ = event_store
    with store.reading() as conn:
        got = {(s, c): v for s, c, v in conn.execute("SELECT session, car, verdict FROM latest_runs").fetchall()}
    expected = {}
    for truth in sorted((sample_logs / "ground_truth").glob("*/car*.json")):
        data = json.loads(truth.read_text())
        expected[(truth.parent.name, truth.stem.removeprefix("car"))] = data["expected"]["verdict"]
    assert got == expected


def test_ingesting_the_event_again_adds_nothing(event_store):
    store, info, logs, _ = event_store
    before = _counts(store)
    again = ingest_logs(store, logs, event_info=info, reason="demo")
    assert {o.status for o in again} == {"duplicate"}
    assert _counts(store) == before
