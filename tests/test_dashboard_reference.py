"""The car page's Reference tab (issue 17): officials see a car's comparison with its model's reference (the
findings and the car's medians over the reference's band); a team account does not get the tab (a reference may
be a rival team's car)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from _dashboard_login import login, write_accounts
from streamlit.testing.v1 import AppTest

from compliance.ingest.pipeline import ingest_logs, load_event_info
from compliance.store import schema as st
from compliance.store.references import set_reference

APP = str(Path(__file__).resolve().parent.parent / "dashboard" / "app.py")
SAMPLE = Path(__file__).resolve().parent.parent / "sample_logs"
EVENT = "gtwce-sprint-2026-brh"
PASSWORDS = {"tech": "tech-ref-pass", "kestrel": "kestrel-ref-pass"}
TIMEOUT = 90


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    folder = tmp_path_factory.mktemp("dash_ref")
    store = st.open_store(folder / "store.duckdb")
    info = load_event_info(SAMPLE / "event.toml")
    assert [o.status for o in ingest_logs(store, [SAMPLE / "race" / "car32.mf4"], event_info=info)] == ["checked"]
    set_reference(store, event=EVENT, session="race", car="32")
    # car 7's practice log, judged after the reference exists (v1 bulletin: no reference for it), and its race
    shutil.copy(SAMPLE / "race" / "car7.blf", folder / "car7.blf")
    shutil.copy(SAMPLE / "race" / "car7.blf.meta.json", folder / "car7.blf.meta.json")
    assert [o.status for o in ingest_logs(store, [folder / "car7.blf"], event_info=info)] == ["checked"]
    accounts = write_accounts(folder / "accounts.toml", PASSWORDS)
    return folder / "store.duckdb", accounts


@pytest.fixture
def env(served, monkeypatch):
    db, accounts = served
    monkeypatch.setenv("BOPWATCH_DB", str(db))
    monkeypatch.setenv("BOPWATCH_ACCOUNTS", str(accounts))
    return served


def _car7(user: str) -> AppTest:
    at = login(user, PASSWORDS[user], timeout=TIMEOUT)
    at.switch_page("app_pages/car.py").run()
    if at.selectbox(key="car_session").value != "race":
        at.selectbox(key="car_session").set_value("race").run()
    at.selectbox(key="car_car").set_value("7").run()
    assert not at.exception, at.exception
    return at


def test_officials_see_the_car_over_its_reference(env):
    at = _car7("tech")
    assert [t.label for t in at.tabs][-1] == "Reference"
    captions = " ".join(c.value for c in at.caption)
    assert "Against reference bmw_m4_gt3@GTWCE-2026-BRH-02#1" in captions and "never a verdict" in captions
    assert at.radio(key="car_ref_q").options[:2] == ["boost_vs_rpm", "power_vs_rpm"]
    figure = next(c for c in at.get("plotly_chart") if c.key == "car_ref_fig")
    assert "this car against its model's reference" in figure.proto.spec


def test_a_team_gets_no_reference_tab(env):
    at = _car7("kestrel")
    assert "Reference" not in [t.label for t in at.tabs]
