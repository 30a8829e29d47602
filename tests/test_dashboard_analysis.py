"""The "BoP analysis" page (issue 17) and its authorised reads (compliance.access.analysis), on the small store of
``_dashboard_store`` with weights in its bulletins and two reference runs: technical staff see the per-model
table, the proposal, the power-against-speed chart and the references; a team (and a scrutineer) get no page in
the navigation, and the page itself, run for them anyway, refuses before reading anything."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from _dashboard_login import login, write_accounts
from _dashboard_store import EVENT
from streamlit.testing.v1 import AppTest

from compliance.access import analysis
from compliance.access.auth import AuthError, LoginSession, Viewer
from compliance.store import schema as st
from compliance.store.references import set_reference

ROOT = Path(__file__).resolve().parent.parent
APP = str(ROOT / "dashboard" / "app.py")
PAGE = str(ROOT / "dashboard" / "app_pages" / "analysis.py")
PASSWORDS = {"chief": "chief-pass", "tech": "tech-pass", "red": "red-pass"}
TIMEOUT = 90
WEIGHTS = {"bmw_m4_gt3": 1300.0, "porsche_911_gt3_r": 1250.0}
REFERENCES = {"porsche_911_gt3_r": "run528" + "0" * 26, "bmw_m4_gt3": "run639" + "0" * 26}


def build_analysis_store(folder: Path) -> tuple[Path, dict[str, str]]:
    """``_dashboard_store.build_store`` with a ``min_weight_kg`` per model in both bulletins (R1 and its R2
    recheck of car 417), and a reference run per model; returns (db, model -> reference id)."""
    import _dashboard_store as ds

    def weighted(text: str) -> str:
        for model, kg in WEIGHTS.items():
            head = f"[models.{model}]\n"
            text = text.replace(head, f"{head}min_weight_kg = {kg}\n", 1)
        return text

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(ds, "BULLETIN", weighted(ds.BULLETIN))
        mp.setattr(ds, "BULLETIN_V2", weighted(ds.BULLETIN_V2))
        db, _ = ds.build_store(folder, bulletin_v2=True)
    store = st.open_store(db)
    refs = {model: set_reference(store, run_id=run, actor="tester").reference_id for model, run in REFERENCES.items()}
    return db, refs


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    folder = tmp_path_factory.mktemp("analysis")
    db, refs = build_analysis_store(folder)
    accounts = write_accounts(folder / "accounts.toml", PASSWORDS)
    return db, accounts, refs


@pytest.fixture
def env(served, monkeypatch):
    db, accounts, _ = served
    monkeypatch.setenv("BOPWATCH_DB", str(db))
    monkeypatch.setenv("BOPWATCH_ACCOUNTS", str(accounts))
    return served


def _login(user: str) -> AppTest:
    at = login(user, PASSWORDS[user], timeout=TIMEOUT)
    assert not at.exception, at.exception
    return at


#: a column only each of the page's tables has (AppTest gives a dataframe no key to find it by)
_TABLES = {"an_models": "power-to-weight [W/kg]", "an_proposals": "weight delta [kg]",
           "an_inputs": "peak power sd [kW]", "an_cars": "full throttle [s]", "an_references": "reference"}


def _frame(at: AppTest, key: str):
    column = _TABLES[key]
    found = [f.value for f in at.dataframe if column in f.value.columns
             and (key != "an_models" or "weight delta [kg]" not in f.value.columns)]
    assert len(found) == 1, f"{len(found)} dataframes {key}"
    return found[0]


def _all_text(at: AppTest) -> str:
    parts = [m.value for m in at.markdown] + [e.value for e in at.error] + [w.value for w in at.warning]
    parts += [i.value for i in at.info] + [c.value for c in at.caption] + [str(t.value) for t in at.title]
    parts += [f.value.to_csv() for f in at.dataframe]
    parts += [str(o) for box in at.selectbox for o in box.options]
    return "\n".join(map(str, parts))


def test_technical_staff_see_the_tables_the_proposal_the_chart_and_the_references(env):
    _, _, refs = env
    at = _login("tech")
    at.switch_page("app_pages/analysis.py").run()
    assert not at.exception, at.exception
    assert at.title[0].value == "BoP analysis"
    models = _frame(at, "an_models").set_index("model")
    assert list(models.index) == ["bmw_m4_gt3", "porsche_911_gt3_r"]
    assert models.loc["bmw_m4_gt3", "cars"] == "417 639" and models.loc["porsche_911_gt3_r", "cars"] == "528"
    assert models.loc["bmw_m4_gt3", "weight [kg]"] == 1300 and models.loc["porsche_911_gt3_r", "weight [kg]"] == 1250
    for column in ("peak power [kW]", "power-to-weight [W/kg]", "top speed [km/h]", "boost usage [%]",
                   "100-200 km/h [s]", "best lap [s]", "sensitivity [kW/bar]", "sensitivity source"):
        assert column in models.columns
    ptw = models["power-to-weight [W/kg]"]
    assert ptw["bmw_m4_gt3"] == pytest.approx(models.loc["bmw_m4_gt3", "peak power [kW]"] * 1000 / 1300, rel=1e-3)
    assert models.loc["bmw_m4_gt3", "sensitivity source"].startswith(("measured", "assumed"))
    proposals = _frame(at, "an_proposals").set_index("model")
    assert set(proposals.index) == set(WEIGHTS)
    heavier = proposals.loc["porsche_911_gt3_r", "weight delta [kg]"]      # the lighter car is over the median
    assert heavier.startswith("+") and "±" in heavier
    assert "±" in proposals.loc["bmw_m4_gt3", "boost delta [bar]"]
    assert "Inputs of each proposal" in [e.label for e in at.expander]
    assert len(at.get("plotly_chart")) == 1
    listed = _frame(at, "an_references")
    assert set(listed["reference"]) == set(refs.values()) and set(listed["active"]) == {True}
    assert set(listed["run"]) == set(REFERENCES.values())


def test_a_model_as_target_gives_it_no_delta_and_a_reload_reuses_the_cache(env, monkeypatch):
    at = _login("tech")
    at.switch_page("app_pages/analysis.py").run()
    at.selectbox(key=f"an_target_{EVENT}").set_value("porsche_911_gt3_r").run()
    assert not at.exception, at.exception
    proposals = _frame(at, "an_proposals").set_index("model")
    assert proposals.loc["porsche_911_gt3_r", "weight delta [kg]"].startswith(("+0 ", "-0 "))
    calls = []
    real = analysis.field_analysis
    monkeypatch.setattr(analysis, "field_analysis", lambda *a, **k: calls.append(a) or real(*a, **k))
    again = _login("tech")
    again.switch_page("app_pages/analysis.py").run()
    again.selectbox(key=f"an_target_{EVENT}").set_value("porsche_911_gt3_r").run()
    assert not again.exception and calls == []           # same store version, sessions and target: cached


@pytest.mark.parametrize("user", ["red", "chief"])
def test_teams_and_scrutineers_get_no_analysis_page(env, user):
    at = _login(user)
    with pytest.raises(ValueError, match="Could not find a navigation page"):
        at.switch_page("app_pages/analysis.py")
    assert "BoP analysis" not in _all_text(at)


def test_the_page_run_for_a_team_anyway_refuses_before_reading(env, monkeypatch):
    _, _, refs = env
    monkeypatch.setattr(analysis, "field_analysis", lambda *a, **k: pytest.fail("read for a team"))
    at = AppTest.from_file(PAGE, default_timeout=TIMEOUT)
    now = time.time()
    at.session_state["_bopwatch_login"] = LoginSession(Viewer("red", "team", "Red Racing"), now, now)
    at.run()
    assert not at.exception, at.exception
    assert [e.value for e in at.error] == ["role team may not see the BoP analysis (the BoP analysis is for "
                                           "technical staff: log in with a technical account)"]
    text = _all_text(at)
    assert not at.dataframe and not at.get("plotly_chart")
    assert all(ref not in text for ref in refs.values())


@pytest.mark.parametrize("role, team", [("team", "Red Racing"), ("scrutineer", None)])
def test_the_reads_refuse_every_role_but_technical(served, role, team):
    db, _, _ = served
    store = st.open_store(db)
    viewer = Viewer("x", role, team)
    assert not analysis.may_analyse(viewer) and not analysis.may_analyse(None)
    for call in (lambda: analysis.field_analysis(viewer, store, EVENT), lambda: analysis.references(viewer, store),
                 lambda: analysis.references(viewer, store, "bmw_m4_gt3"),
                 lambda: analysis.analysis_options(viewer, store), lambda: analysis.store_version(viewer, store)):
        with pytest.raises(AuthError, match=f"role {role} may not see the BoP analysis"):
            call()
    with pytest.raises(AuthError, match="not logged in"):
        analysis.references(None, store)


def test_the_reads_for_technical_staff(served):
    db, _, refs = served
    store = st.open_store(db)
    tech = Viewer("tech", "technical")
    assert analysis.may_analyse(tech)
    options = analysis.analysis_options(tech, store)
    assert options == {EVENT: {"name": "Testring 6 Hours", "sessions": ["race"], "models": sorted(WEIGHTS)}}
    result = analysis.field_analysis(tech, store, EVENT, ["race"])
    assert {m.model: m.weight_kg for m in result.models} == WEIGHTS and len(result.proposals) == 2
    assert [r.reference_id for r in analysis.references(tech, store, "bmw_m4_gt3")] == [refs["bmw_m4_gt3"]]
    version = analysis.store_version(tech, store)
    assert version == analysis.store_version(tech, store) and version.endswith("references 2:2")
