"""The sanctions ledger (SPEC §5 "Sanctions over an event"): ladder steps, the last step repeating, session start
order, the latest verdict only, outings counted once, the event file's [sanctions] validated, the ladders kept in
the store and bound into the audit chain, ``bopwatch ledger`` and the steward report and dashboard showing it."""

from __future__ import annotations

import hashlib
import json
import uuid
from datetime import datetime
from pathlib import Path

import bcrypt
import pytest
from _store_support import verdict_dict

from compliance.cli import main
from compliance.errors import ComplianceError
from compliance.ingest.event_file import load_event_info
from compliance.store import audit
from compliance.store import schema as st
from compliance.store.ledger import (
    Infringement,
    compute_ledger,
    event_ledger,
    record_ladders,
    sanction_for,
    session_order,
)

LADDER = ("reprimand", "drive-through", "disqualification")
SAMPLE_EVENT = "gtwce-sprint-2026-brh"


# -- the pure computation -------------------------------------------------------------------------------------
def test_each_infringing_session_takes_the_next_step_and_the_last_step_repeats():
    assert [sanction_for(LADDER, n) for n in range(1, 6)] == [
        "reprimand", "drive-through", "disqualification", "disqualification", "disqualification"]
    assert sanction_for(("fine",), 4) == "fine"
    assert sanction_for(None, 1) is None and sanction_for((), 2) is None
    with pytest.raises(ValueError):
        sanction_for(LADDER, 0)


def test_sessions_count_in_event_order_not_in_the_order_rows_come():
    rows = [Infringement("7", "boost", s) for s in ("endurance", "practice", "race", "q")]
    entries = compute_ledger(rows, {"boost": LADDER}, ["practice", "q", "race", "endurance"])
    assert [(e.session, e.n, e.sanction) for e in entries] == [
        ("practice", 1, "reprimand"), ("q", 2, "drive-through"), ("race", 3, "disqualification"),
        ("endurance", 4, "disqualification")]


def test_a_session_counts_once_however_many_outings_infringe():
    rows = [Infringement("7", "boost", "race"), Infringement("7", "boost", "race"),
            Infringement("7", "boost", "endurance")]
    entries = compute_ledger(rows, {"boost": LADDER}, ["race", "endurance"])
    assert [(e.session, e.n) for e in entries] == [("race", 1), ("endurance", 2)]


def test_a_rule_without_a_ladder_is_counted_with_no_sanction():
    rows = [Infringement("63", "stint_energy", "race"), Infringement("63", "stint_energy", "endurance")]
    entries = compute_ledger(rows, {"boost": LADDER}, ["race", "endurance"])
    assert [(e.n, e.sanction) for e in entries] == [(1, None), (2, None)]
    assert [e.sanction for e in compute_ledger(rows, None, ["race", "endurance"])] == [None, None]


def test_entries_are_ordered_by_car_number_rule_order_and_session():
    rows = [Infringement("411", "throttle", "race"), Infringement("7", "limit.oil", "race"),
            Infringement("7", "power", "race"), Infringement("32", "boost", "endurance"),
            Infringement("7", "boost", "endurance"), Infringement("7", "boost", "race"),
            Infringement("7", "boost", "unlisted")]
    entries = compute_ledger(rows, {"boost": LADDER}, ["race", "endurance"])
    assert [(e.car, e.rule, e.session, e.n) for e in entries] == [
        ("7", "boost", "race", 1), ("7", "boost", "endurance", 2), ("7", "boost", "unlisted", 3),
        ("7", "power", "race", 1), ("7", "limit.oil", "race", 1), ("32", "boost", "endurance", 1),
        ("411", "throttle", "race", 1)]


# -- what the store holds -------------------------------------------------------------------------------------
def _run(store, session: str, car: str, rules: dict[str, str], *, outing: int = 1,
         start: datetime | None = None) -> None:
    """One run whose rule verdicts are ``rules`` (later runs of a car/session/outing are its latest)."""
    tag = uuid.uuid4().hex
    sha = hashlib.sha256(tag.encode()).hexdigest()
    verdict = verdict_dict(logs=(sha,))
    verdict["rules"] = [{"rule": r, "verdict": v, "exceedance_count": 0, "max_exceedances": 0}
                        for r, v in rules.items()]
    verdict["verdict"] = st.worst_verdict(list(rules.values())) or "compliant"
    verdict["exceedances"] = []
    run = st.RunRecord(tag, hashlib.sha256(f"run-{tag}".encode()).hexdigest(), "ev", session, car, (sha,),
                       verdict, "ingest", session_start=start, outing=outing)
    with st.open_store(store.db).writing() as conn:
        st.upsert_event(conn, "ev")
        st.upsert_session(conn, "ev", session)
        st.insert_log(conn, st.LogRecord(sha, "ev", session, car, f"{tag}.blf", f"originals/{sha}.blf", 1,
                                         outing=outing), "test")
        st.insert_run(conn, run, "test")


@pytest.fixture
def store(tmp_path):
    return st.open_store(tmp_path / "ledger.duckdb")


def _ledger(store, **kw):
    with store.reading() as conn:
        return [(e.car, e.rule, e.session, e.n, e.sanction) for e in event_ledger(conn, "ev", **kw).entries]


def test_only_the_latest_verdict_of_a_session_counts(store):
    _run(store, "race", "7", {"boost": "infringement"})
    _run(store, "race", "7", {"boost": "compliant"})          # a recheck cleared it
    _run(store, "fp", "7", {"boost": "compliant"})
    _run(store, "fp", "7", {"boost": "infringement"})         # a recheck found it
    _run(store, "q", "7", {"boost": "incomplete"})            # cannot certify: not an infringement
    assert _ledger(store, ladders={"boost": LADDER}) == [("7", "boost", "fp", 1, "reprimand")]


def test_several_outings_of_a_session_count_once(store):
    _run(store, "race", "7", {"boost": "compliant"}, outing=1)
    _run(store, "race", "7", {"boost": "infringement"}, outing=2)
    _run(store, "race", "7", {"boost": "infringement"}, outing=3)
    _run(store, "race2", "7", {"boost": "infringement"})
    assert _ledger(store, ladders={"boost": LADDER}) == [("7", "boost", "race", 1, "reprimand"),
                                                         ("7", "boost", "race2", 2, "drive-through")]


def test_sessions_are_ordered_by_start_event_file_first_then_stored_then_logged(store):
    _run(store, "b", "7", {"boost": "infringement"}, start=datetime(2026, 6, 2))
    _run(store, "a", "7", {"boost": "infringement"}, start=datetime(2026, 6, 3))
    _run(store, "c", "7", {"boost": "infringement"})                 # no start at all: last
    with store.reading() as conn:
        assert session_order(conn, "ev") == ["b", "a", "c"]           # the logged starts
    with store.writing() as conn:
        st.upsert_session(conn, "ev", "a", start_at="2026-06-01T10:00:00Z")   # the stored start wins
    with store.reading() as conn:
        assert session_order(conn, "ev") == ["a", "b", "c"]
        assert session_order(conn, "ev", {"c": datetime.fromisoformat("2026-05-01T00:00:00+00:00")}) == [
            "c", "a", "b"]                                              # the event file's start wins
    assert [x[2:4] for x in _ledger(store)] == [("a", 1), ("b", 2), ("c", 3)]


def test_ladders_are_recorded_once_replaced_when_changed_and_bound_into_the_audit_chain(store):
    _run(store, "race", "7", {"boost": "infringement"})

    def rows():
        with store.reading() as conn:
            return conn.execute("SELECT count(*) FROM audit_log WHERE action = 'metadata.event_sanctions'"
                                ).fetchone()[0]

    with store.writing() as conn:
        record_ladders(conn, "ev", None)                               # no [sanctions]: nothing written
    assert rows() == 0 and _ledger(store) == [("7", "boost", "race", 1, None)]
    for ladder in (LADDER, LADDER, ("fine",)):
        with store.writing() as conn:
            record_ladders(conn, "ev", {"boost": ladder}, source="/x/event.toml")
    assert rows() == 2 and _ledger(store) == [("7", "boost", "race", 1, "fine")]
    assert audit.verify(store, originals=False).ok, audit.verify(store, originals=False).problems
    with store.writing() as conn:
        conn.execute("""UPDATE event_sanctions SET ladders = '{"boost":["nothing"]}'""")
    problems = audit.verify(store, originals=False).problems
    assert any("event_sanctions event=ev: column ladders changed" in p for p in problems), problems


# -- the event file's [sanctions] -----------------------------------------------------------------------------
def _event(tmp_path: Path, sanctions: str) -> Path:
    path = tmp_path / "event.toml"
    path.write_text(f'id = "ev"\n{sanctions}\n[[sessions]]\nid = "race"\n')
    return path


def test_event_file_ladders_are_read_per_rule_including_limit_rules(tmp_path):
    info = load_event_info(_event(tmp_path, '[sanctions]\nboost = ["reprimand", " fine "]\n'
                                            'limit.oil_cap = ["warning"]\n"limit.brake-temp" = ["x"]'))
    assert info.sanctions == {"boost": ("reprimand", "fine"), "limit.oil_cap": ("warning",),
                              "limit.brake-temp": ("x",)}
    assert load_event_info(_event(tmp_path, "")).sanctions is None
    assert load_event_info(_event(tmp_path, "[sanctions]")).sanctions == {}
    assert load_event_info(Path(__file__).parents[1] / "sample_logs" / "event.toml").sanctions == {
        "boost": LADDER, "power": LADDER}


@pytest.mark.parametrize(("sanctions", "place", "problem", "fix"), [
    ("sanctions = 3", "sanctions", "is not a table", "[sanctions] table"),
    ("[sanctions]\nboost = []", "sanctions.boost", "is not a non-empty list", 'boost = ["reprimand"'),
    ('[sanctions]\nboost = "reprimand"', "sanctions.boost", "is not a non-empty list", 'boost = ["reprimand"'),
    ('[sanctions]\nboost = ["reprimand", ""]', "sanctions.boost", "step 2 ('') is not a sanction", "non-empty"),
    ('[sanctions]\npower = ["reprimand", 3]', "sanctions.power", "step 2 (3) is not a sanction", "non-empty"),
    ('[sanctions]\nbost = ["reprimand"]', "sanctions.bost", "'bost' is not a rule name", "limit.<name>"),
    ('[sanctions]\n"limit." = ["reprimand"]', "sanctions.limit.", "is not a rule name", "boost, fuel_flow"),
])
def test_a_bad_sanctions_table_names_the_file_the_key_and_the_fix(tmp_path, sanctions, place, problem, fix):
    path = _event(tmp_path, sanctions)
    with pytest.raises(ComplianceError) as err:
        load_event_info(path)
    text = str(err.value)
    assert text.startswith(f"{path}: {place}: ") and problem in text and fix in err.value.fix, text
    assert "\n" not in text


# -- end to end on the sample event ---------------------------------------------------------------------------
SAMPLE_CARS = {"race": ("car7.blf", "car63.blf"), "endurance": ("car7.blf", "car63.blf", "car71.trc.gz"),
               "practice": ("car7.blf",), "qualifying": ("car71.blf",)}
EXPECTED = [
    {"car": "7", "rule": "boost", "session": "race", "n": 1, "sanction": "reprimand"},
    {"car": "7", "rule": "boost", "session": "endurance", "n": 2, "sanction": "drive-through"},
    {"car": "63", "rule": "stint_energy", "session": "race", "n": 1, "sanction": None},
    {"car": "63", "rule": "stint_energy", "session": "endurance", "n": 2, "sanction": None},
    {"car": "71", "rule": "boost", "session": "endurance", "n": 1, "sanction": "reprimand"},
    {"car": "71", "rule": "power", "session": "qualifying", "n": 1, "sanction": "reprimand"},
]


@pytest.fixture(scope="module")
def sample_store(sample_logs, tmp_path_factory):
    """Cars 7, 63 and 71 of the sample event ingested with its event file (a few seconds)."""
    if not (sample_logs / "event.toml").is_file():
        pytest.skip("sample_logs/ is absent (bopwatch simulate event --out sample_logs)")
    db = tmp_path_factory.mktemp("ledger") / "sample.duckdb"
    logs = [str(sample_logs / s / f) for s, files in SAMPLE_CARS.items() for f in files]
    assert main(["ingest", *logs, "--event-info", str(sample_logs / "event.toml"), "--db", str(db)]) == 1
    return db


def test_cli_json_lists_the_sample_ledger(sample_store, capsys):
    assert main(["ledger", "--event", SAMPLE_EVENT, "--db", str(sample_store), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out == {"event": SAMPLE_EVENT, "entries": EXPECTED}


def test_cli_text_table(sample_store, capsys):
    assert main(["ledger", "--event", SAMPLE_EVENT, "--db", str(sample_store)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert "ladders: boost, power" in lines[0] and "practice, qualifying, race, endurance" in lines[0]
    assert lines[1].split() == ["car", "rule", "session", "n", "sanction"]
    assert lines[3].split() == ["7", "boost", "endurance", "2", "drive-through"]
    assert "no ladder" in lines[4]


def test_cli_errors_exit_2_with_one_line_naming_the_fix(sample_store, tmp_path, capsys):
    assert main(["ledger", "--event", "nope", "--db", str(sample_store)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "no event 'nope'" in err and SAMPLE_EVENT in err and "--event" in err
    assert main(["ledger", "--event", SAMPLE_EVENT, "--db", str(tmp_path / "none.duckdb")]) == 2
    assert "no store" in capsys.readouterr().err
    other = _event(tmp_path, '[sanctions]\nboost = ["x"]')
    assert main(["ledger", "--event", SAMPLE_EVENT, "--db", str(sample_store), "--event-file", str(other)]) == 2
    err = capsys.readouterr().err.strip()
    assert "is for event 'ev'" in err and f"--event {'ev'}" in err
    bad = _event(tmp_path, '[sanctions]\nboost = []')
    assert main(["ledger", "--event", "ev", "--db", str(sample_store), "--event-file", str(bad)]) == 2
    assert "sanctions.boost" in capsys.readouterr().err


def test_cli_event_file_records_its_ladder(tmp_path, capsys):
    db = tmp_path / "s.duckdb"
    store = st.open_store(db)
    _run(store, "race", "7", {"boost": "infringement"})
    event = _event(tmp_path, '[sanctions]\nboost = ["fine", "exclusion"]')
    assert main(["ledger", "--event", "ev", "--db", str(db), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["entries"][0]["sanction"] is None
    assert main(["ledger", "--event", "ev", "--db", str(db), "--json", "--event-file", str(event)]) == 0
    assert json.loads(capsys.readouterr().out)["entries"][0]["sanction"] == "fine"
    assert main(["ledger", "--event", "ev", "--db", str(db), "--json"]) == 0      # kept in the store
    assert json.loads(capsys.readouterr().out)["entries"][0]["sanction"] == "fine"
    assert audit.verify(store, originals=False).ok


def test_ingest_records_the_ladder_and_the_chain_still_verifies(sample_store):
    store = st.open_store(sample_store, create=False)
    with store.reading() as conn:
        ladders, source = conn.execute("SELECT ladders, source_path FROM event_sanctions WHERE event = ?",
                                       [SAMPLE_EVENT]).fetchone()
    assert json.loads(ladders) == {"boost": list(LADDER), "power": list(LADDER)}
    assert source.endswith("sample_logs/event.toml")
    assert audit.verify(store).ok


def test_the_steward_report_shows_the_sessions_ledger(sample_store):
    from compliance.reports.render import render
    from compliance.reports.steward import build_report

    store = st.open_store(sample_store, create=False)
    report = build_report(store, SAMPLE_EVENT, "endurance")
    assert [(r.car, r.rule, r.n, r.sanction, r.earlier) for r in report.ledger.rows] == [
        ("7", "boost", 2, "drive-through", ("race",)), ("63", "stint_energy", 2, None, ("race",)),
        ("71", "boost", 1, "reprimand", ())]
    html = render(report, "html", store).decode()
    assert "Sanctions ledger" in html and "drive-through" in html and "the stewards decide" in html
    assert json.loads(render(report, "json", store))["ledger"]["entries"][0]["sanction"] == "drive-through"
    assert render(report, "pdf", store).startswith(b"%PDF")
    one = build_report(store, SAMPLE_EVENT, "race", car="7")
    assert [(r.car, r.n, r.sanction) for r in one.ledger.rows] == [("7", 1, "reprimand")]


def test_a_team_sees_only_its_cars_with_the_events_count(sample_store):
    from compliance.access import Viewer, ledger

    store = st.open_store(sample_store, create=False)
    staff = ledger.sanctions_ledger(Viewer("t", "technical"), store, SAMPLE_EVENT)
    assert [e.to_dict() for e in staff.entries] == EXPECTED
    team = ledger.sanctions_ledger(Viewer("k", "team", "Kestrel Racing"), store, SAMPLE_EVENT)
    assert [e.to_dict() for e in team.entries] == EXPECTED[:2]
    assert ledger.sanctions_ledger(Viewer("n", "team", "Nobody"), store, SAMPLE_EVENT).entries == ()


def test_dashboard_sanctions_page(sample_store, tmp_path, monkeypatch):
    from streamlit.testing.v1 import AppTest

    accounts = tmp_path / "accounts.toml"
    hashed = bcrypt.hashpw(b"pw", bcrypt.gensalt(4)).decode()
    accounts.write_text(f'[accounts.tech]\nrole = "technical"\npassword_hash = "{hashed}"\n'
                        f'[accounts.kestrel]\nrole = "team"\nteam = "Kestrel Racing"\npassword_hash = "{hashed}"\n')
    monkeypatch.setenv("BOPWATCH_DB", str(sample_store))
    monkeypatch.setenv("BOPWATCH_ACCOUNTS", str(accounts))
    app = str(Path(__file__).resolve().parents[1] / "dashboard" / "app.py")
    for user, cars in (("tech", ["7", "7", "63", "63", "71", "71"]), ("kestrel", ["7", "7"])):
        at = AppTest.from_file(app, default_timeout=60).run()
        at.text_input(key="login_user").input(user)
        at.text_input(key="login_password").input("pw")
        at.button[0].click().run()
        at.switch_page("app_pages/sanctions.py").run()
        assert not at.exception, at.exception
        assert at.title[0].value == "Sanctions"
        table = at.dataframe[0].value
        assert list(table["car"]) == cars, user
        assert list(table["sanction"])[:2] == ["reprimand", "drive-through"]
