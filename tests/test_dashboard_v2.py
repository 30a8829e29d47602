"""The dashboard on the sample endurance session (SPEC §5), through AppTest like ``test_dashboard_pages``: the
overview matrix has the new rule kinds as columns in verdict order, the car page shows the car entry, the
bulletin's information, each rule's counting scope, worst scope, time over and gate, and the stint budgets; its
Limits tab draws refuel_time and stint_energy; the BoP page lists information fields and car entries. The §5 reads
(``compliance.access.v2_facts``) are scoped to the viewer like every query."""

from __future__ import annotations

from pathlib import Path

import pytest
from _dashboard_login import login, write_accounts
from streamlit.testing.v1 import AppTest

from compliance.access import queries, v2_facts
from compliance.access.auth import Viewer
from compliance.ingest.pipeline import ingest_logs, load_event_info
from compliance.store import schema as st

APP = str(Path(__file__).resolve().parent.parent / "dashboard" / "app.py")
SAMPLE = Path(__file__).resolve().parent.parent / "sample_logs"
CARS = ("car7.blf", "car32.log.gz", "car63.blf", "car88.asc.gz", "car411.log.gz")
PASSWORDS = {"tech": "tech-v2-pass", "kestrel": "kestrel-v2-pass"}
TIMEOUT = 90


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    if not (SAMPLE / "endurance" / CARS[0]).exists():
        pytest.skip("sample_logs/endurance is absent (bopwatch simulate event --out sample_logs)")
    folder = tmp_path_factory.mktemp("dash_v2")
    db = folder / "store.duckdb"
    store = st.open_store(db)
    outcomes = ingest_logs(store, [SAMPLE / "endurance" / n for n in CARS],
                           event_info=load_event_info(SAMPLE / "event.toml"), reason="test")
    assert [o.status for o in outcomes] == ["checked"] * len(CARS), outcomes
    accounts = write_accounts(folder / "accounts.toml", PASSWORDS)
    return db, accounts


@pytest.fixture
def env(served, monkeypatch):
    db, accounts = served
    monkeypatch.setenv("BOPWATCH_DB", str(db))
    monkeypatch.setenv("BOPWATCH_ACCOUNTS", str(accounts))
    return served


def _login(user: str) -> AppTest:
    at = login(user, PASSWORDS[user], timeout=TIMEOUT)
    assert not at.exception, at.exception
    return at


def _text(at: AppTest) -> str:
    parts = [m.value for m in at.markdown] + [e.value for e in at.error] + [w.value for w in at.warning]
    parts += [s.value for s in at.success] + [i.value for i in at.info] + [c.value for c in at.caption]
    parts += [frame.value.to_csv() for frame in at.dataframe]
    return "\n".join(map(str, parts))


def _frame(at: AppTest, column: str):
    """The first dataframe with ``column`` (AppTest does not expose a dataframe's key)."""
    return next(f.value for f in at.dataframe if column in f.value.columns)


def _car_page(at: AppTest, car: str) -> AppTest:
    at.switch_page("app_pages/car.py").run()
    if at.selectbox(key="car_session").value != "endurance":
        at.selectbox(key="car_session").set_value("endurance").run()
    at.selectbox(key="car_car").set_value(car).run()
    assert not at.exception, at.exception
    return at


def test_overview_matrix_has_the_new_kinds_in_verdict_order(env):
    at = _login("tech")
    if at.selectbox(key="ov_session").value != "endurance":
        at.selectbox(key="ov_session").set_value("endurance").run()
    matrix = at.dataframe[0].value
    rules = [c for c in matrix.columns if c in ("boost", "fuel_flow", "power", "stint_energy", "rev_limit",
                                                 "throttle", "refuel_time")]
    assert rules == ["boost", "fuel_flow", "power", "stint_energy", "rev_limit", "throttle", "refuel_time"]
    row = {r["car"]: r for r in matrix.to_dict("records")}
    assert row["#88"]["refuel_time"] == "✗ 1/0" and row["#411"]["throttle"] == "✗ 3/0"
    assert row["#63"]["rev_limit"] == "✓ 0/0" and row["#7"]["boost"] == "✗ 4/3"


def test_car_page_shows_worst_scope_gate_car_entry_and_info(env):
    at = _car_page(_login("tech"), "7")
    text = _text(at)
    assert 'car entry `[cars."7"]`' in text
    assert "Bulletin information (not judged): ballast_kg 30" in text and "homologation GT3-035" in text
    rules = _frame(at, "worst scope")
    assert list(rules["rule"]) == ["boost", "power", "stint_energy", "refuel_time"]
    boost = rules.iloc[0]
    assert boost["counted"] == "3 allowed per 60 s window"
    assert boost["worst scope"] == "170.96-230.96 s: 4 exceedances, 1.24 s over"
    assert boost["time over"] == "1.24 s of 2 s allowed"
    assert boost["judged only while"] == "engine_speed > 3000 and long_accel >= 0 and throttle >= 30"
    at.radio(key="car_rule").set_value("boost").run()
    assert "worst scope: 170.96-230.96 s: 4 exceedances, 1.24 s over" in _text(at)


def test_car_page_stint_budgets_and_own_charts(env):
    at = _car_page(_login("tech"), "63")
    stints = _frame(at, "budget MJ")
    assert list(stints["budget MJ"]) == ["40.000", "31.930"] and list(stints["over budget"]) == ["no", "yes"]
    at.radio(key="car_rule").set_value("stint_energy").run()
    assert not at.exception, at.exception
    titles = [c.proto.spec for c in at.get("plotly_chart")]
    assert any("replenished budget" in t for t in titles)
    at = _car_page(_login("tech"), "88")
    at.radio(key="car_rule").set_value("refuel_time").run()
    assert not at.exception, at.exception
    assert any("OUTSIDE THE BOUND" in c.proto.spec for c in at.get("plotly_chart"))


def test_bop_page_lists_information_and_car_entries(env):
    at = _login("tech")
    at.switch_page("app_pages/bop.py").run()
    assert not at.exception, at.exception
    at.selectbox(key="bop_model").set_value("bmw_m4_gt3").run()
    info = _frame(at, "field")
    assert {"homologation", "fuel_capacity_l", "min_weight_kg"} <= set(info["field"])
    cars = _frame(at, "overrides")
    seven = cars[cars["car"] == "#7"].iloc[0]
    assert seven["overrides"] == "boost" and "2.62" in seven["car limits"] and "ballast_kg 30" in seven["information"]
    rules = _frame(at, "allowed exceedances")
    assert "refuel_time" in set(rules["rule"]) and "window (60 s)" in set(rules["counted per"].dropna())


def test_v2_facts_are_scoped_to_the_viewer(served):
    db, _ = served
    store = st.open_store(db, create=False)
    team = Viewer("kestrel", "team", "Kestrel Racing")
    runs = queries.car_runs(team, store)
    assert {r["car"] for r in runs} == {"7"}
    facts = v2_facts.run_facts(team, store, runs[0]["run_id"])
    assert facts.car_entry == "7" and facts.info["ballast_kg"] == 30
    assert [r["rule"] for r in facts.rules] == ["boost", "power", "stint_energy", "refuel_time"]
    other = next(r for r in queries.car_runs(Viewer("tech", "technical"), store) if r["car"] == "63")
    with pytest.raises(queries.NotFound):
        v2_facts.run_facts(team, store, other["run_id"])
