"""The Upload page in ``streamlit.testing.v1.AppTest`` on a store built with the real ingest: the form is empty
after a submission, each file gets its own row, and a car that already has a log in the session is asked "add to
this run or start a new run?", with an overlapping file offered only a new run (never merged)."""

from __future__ import annotations

import os
from pathlib import Path

import bcrypt
import pytest
from _store_support import BULLETIN_R1, BULLETIN_R2, PROFILE, START_EPOCH, candump_text, write_log
from streamlit.testing.v1 import AppTest

from compliance.access import queries as q
from compliance.access.auth import Viewer
from compliance.ingest.pipeline import ingest_logs, load_event_info
from compliance.store import schema as st

APP = str(Path(__file__).resolve().parent.parent / "dashboard" / "app.py")
EVENT = "upl-ring-2025"
EVENT_TOML = f"""id = "{EVENT}"
name = "Upload Ring"
[[sessions]]
id = "q1"
start = "2025-06-28T16:30:00Z"
end = "2025-06-28T17:00:00Z"
"""
ENTRIES = {"417": "Red Racing", "528": "Blue Motorsport", "639": "Blue Motorsport", "750": "Green GT",
           "861": "Green GT"}
STAFF = Viewer("tester", "scrutineer")


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    folder = tmp_path_factory.mktemp("upload")
    (folder / "entry_list.csv").write_text("car,team,model,class,drivers\n" + "".join(
        f"{car},{team},store_test_turbo,Pro,Driver {car}\n" for car, team in ENTRIES.items()))
    (folder / "event.toml").write_text(EVENT_TOML)
    logs = [write_log(folder / f"car{car}_q1.log", event=EVENT, session="q1", car=car, seed=i)
            for i, car in enumerate(("417", "639"))]
    db = folder / "bopwatch.duckdb"
    outcomes = ingest_logs(st.open_store(db), logs, profile=str(PROFILE), bulletin=[BULLETIN_R1, BULLETIN_R2],
                           event_info=load_event_info(folder / "event.toml"), actor="setup")
    assert [o.status for o in outcomes] == ["checked", "checked"], outcomes
    accounts = folder / "accounts.toml"
    accounts.write_text('[accounts.chief]\nrole = "scrutineer"\n'
                        f'password_hash = "{bcrypt.hashpw(b"chief-pass", bcrypt.gensalt(4)).decode()}"\n')
    return db, accounts


@pytest.fixture
def page(served, monkeypatch):
    db, accounts = served
    monkeypatch.setenv("BOPWATCH_DB", str(db))
    monkeypatch.setenv("BOPWATCH_ACCOUNTS", str(accounts))
    monkeypatch.setenv("BOPWATCH_PROFILES", str(PROFILE.parent))
    at = AppTest.from_file(APP, default_timeout=90).run()
    at.text_input(key="login_user").input("chief")
    at.text_input(key="login_password").input("chief-pass")
    at.button[0].click().run()
    at.switch_page("app_pages/upload.py").run()
    assert not at.exception, at.exception
    return at


def _drop(at: AppTest, car: str, *files: tuple[str, str]) -> AppTest:
    at.selectbox(key="up_car").set_value(car).run()
    uploader = next(u for u in at.get("file_uploader"))
    at.file_uploader(key=uploader.key).set_value([(name, text.encode(), "text/plain") for name, text in files])
    return at.run()


def _store() -> st.Store:
    return st.open_store(os.environ["BOPWATCH_DB"], create=False)


def _texts(at: AppTest) -> list[str]:
    return [e.value for kind in (at.error, at.warning, at.success, at.info) for e in kind]


def test_the_form_is_empty_after_a_submission_and_the_verdict_stays(page):
    at = _drop(page, "528", ("car528_q1.log", candump_text(seed=5)))
    assert any("**car #528**" in t and "session q1" in t for t in _texts(at)), _texts(at)   # shown before submit
    assert at.get("radio") == []                        # no stored run: nothing to ask
    at.button(key="up_go").click().run()
    assert not at.exception, at.exception
    assert "car528_q1.log: car #528 q1: **COMPLIANT** under STORE-TEST-R2" in _texts(at)
    uploader = next(u for u in at.get("file_uploader"))
    assert uploader.key == "up_files_1" and not uploader.value          # a new, empty uploader
    assert at.button(key="up_go").disabled
    assert [s.name for o in q.outings(STAFF, _store(), EVENT, "q1", "528") for s in o.logs] == ["car528_q1.log"]


def test_an_overlapping_file_is_offered_only_a_new_run_and_is_never_merged(page):
    at = _drop(page, "417", ("second_recording.log", candump_text(seed=7, exceedances=2)))
    assert not at.exception, at.exception
    question = at.get("radio")[0]
    assert question.options == ["Start a new run (a new outing)"]
    warning = " ".join(w.value for w in at.warning)
    assert "second_recording.log overlaps the stored car417_q1.log" in warning
    assert "2025-06-28 16:30:00 UTC to 2025-06-28 16:30:19.990 UTC" in warning     # both time ranges
    assert at.button(key="up_go").disabled                            # nothing chosen yet
    question.set_value("new").run()
    at.button(key="up_go").click().run()
    assert not at.exception, at.exception
    assert any(t.startswith("second_recording.log: car #417 q1 (run 2): **COMPLIANT**") for t in _texts(at)), _texts(at)
    runs = q.outings(STAFF, _store(), EVENT, "q1", "417")
    assert [(o.number, [s.name for s in o.logs]) for o in runs] == [
        (1, ["car417_q1.log"]), (2, ["second_recording.log"])]


def test_a_rolled_file_can_be_added_to_the_run(page):
    rolled = candump_text(seed=8, start_epoch=START_EPOCH + 20.0)
    at = _drop(page, "639", ("car639_q1_part2.log", rolled))
    question = at.get("radio")[0]
    assert question.options == ["Add to this run (the logger rolled files)", "Start a new run (a new outing)"]
    assert any("car639_q1.log" in str(frame.value.to_csv()) for frame in at.dataframe)    # the stored run
    question.set_value("add").run()
    at.button(key="up_go").click().run()
    assert not at.exception, at.exception
    assert any(t.startswith("car639_q1_part2.log: car #639 q1: **") for t in _texts(at)), _texts(at)
    runs = q.outings(STAFF, _store(), EVENT, "q1", "639")
    assert [[s.name for s in o.logs] for o in runs] == [["car639_q1.log", "car639_q1_part2.log"]]


def test_each_file_gets_its_own_row_in_words_without_paths_or_options(page):
    at = _drop(page, "750", ("car750_q1.log", candump_text(seed=9)), ("notes.log", "this is no log\n"))
    at.button(key="up_go").click().run()
    assert not at.exception, at.exception
    rows = [t for t in _texts(at) if t.startswith(("car750_q1.log:", "notes.log:"))]
    assert len(rows) == 2, rows
    waited, bad = sorted(rows)              # judged together: the readable file says what it waited for
    assert bad.startswith("notes.log: not stored: no line looks like a candump log line")
    assert waited.startswith("car750_q1.log: not stored either: it was to be judged with notes.log")
    for row in rows:                                        # no server path, no command-line advice
        assert "/tmp" not in row and "--" not in row and "bopwatch-upload" not in row


def test_two_overlapping_files_dropped_together_are_refused_naming_both(page):
    at = _drop(page, "861", ("car861_a.log", candump_text(seed=10)), ("car861_b.log", candump_text(seed=11)))
    at.button(key="up_go").click().run()
    assert not at.exception, at.exception
    rows = [t for t in _texts(at) if t.startswith(("car861_a.log:", "car861_b.log:"))]
    assert len(rows) == 2, _texts(at)
    assert all("overlaps" in row and "car861_a.log" in row and "car861_b.log" in row for row in rows), rows
    assert q.outings(STAFF, _store(), EVENT, "q1", "861") == []          # nothing stored, nothing merged
