"""The dashboard's query layer: what each role may see, the session matrix, evidence, traces, bulletins."""

from __future__ import annotations

import numpy as np
import pytest
from _dashboard_store import EVENT, SESSION, build_store

from compliance.access import queries as q
from compliance.access.auth import AuthError, Viewer

CHIEF = Viewer("chief", "scrutineer")
TECH = Viewer("tech", "technical")
RED = Viewer("red", "team", "Red Racing")
BLUE = Viewer("blue", "team", "Blue Motorsport")


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    db, _ = build_store(tmp_path_factory.mktemp("store"), bulletin_v2=True)
    return q.open_for(db)


def _run_of(store, car: str) -> str:
    return next(r.run_id for r in q.session_matrix(CHIEF, store, event=EVENT, session=SESSION) if r.car == car)


def test_staff_see_every_entered_car_including_one_without_a_run(store):
    for viewer in (CHIEF, TECH):
        rows = q.session_matrix(viewer, store, event=EVENT, session=SESSION)
        assert [r.car for r in rows] == ["417", "528", "639", "750"]
        assert [r.verdict for r in rows] == ["infringement", "compliant", "incomplete", None]


def test_team_sees_only_its_own_cars_in_the_matrix(store):
    assert [r.car for r in q.session_matrix(RED, store, event=EVENT, session=SESSION)] == ["417"]
    assert [r.car for r in q.session_matrix(BLUE, store, event=EVENT, session=SESSION)] == ["528", "639"]


def test_team_filters_offer_only_its_own_team_and_models(store):
    red = q.filter_options(RED, store)
    assert red.teams == ("Red Racing",) and red.models == ("bmw_m4_gt3",)
    assert q.filter_options(TECH, store).teams == ("Blue Motorsport", "Green GT", "Red Racing")


def test_matrix_cell_counts_exceedances_against_the_allowance(store):
    row = next(r for r in q.session_matrix(TECH, store, event=EVENT, session=SESSION) if r.car == "417")
    assert row.rules["boost"].verdict == "infringement"
    assert (row.rules["boost"].count, row.rules["boost"].allowance) == (3, 1)
    assert row.rules["boost"].text == "INFRINGEMENT 3/1"
    assert q.matrix_rules([row]) == ["boost", "fuel_flow", "power"]


def test_matrix_filters_by_model_class_and_team(store):
    rows = q.session_matrix(TECH, store, event=EVENT, session=SESSION, models=["porsche_911_gt3_r"])
    assert [r.car for r in rows] == ["528", "750"]
    rows = q.session_matrix(TECH, store, event=EVENT, session=SESSION, teams=["Blue Motorsport"])
    assert [r.car for r in rows] == ["528", "639"]
    assert q.session_matrix(TECH, store, event=EVENT, session=SESSION, classes=["Bronze"]) == []


def test_team_cannot_open_another_teams_run_and_cannot_tell_it_exists(store):
    other = _run_of(store, "528")
    with pytest.raises(q.NotFound) as hidden:
        q.run_detail(RED, store, other)
    with pytest.raises(q.NotFound) as absent:
        q.run_detail(RED, store, "f" * 32)
    assert str(hidden.value).replace(other, "X") == str(absent.value).replace("f" * 32, "X")
    for read in (q.verdict_json, lambda v, s, r: q.channel_trace(v, s, r, "boost_pressure"),
                 lambda v, s, r: q.limit_trace(v, s, r, "boost"), lambda v, s, r: q.power_curve(v, s, r)):
        with pytest.raises(q.NotFound):
            read(RED, store, other)


def test_team_run_list_and_fleet_hold_only_its_cars(store):
    assert {r["car"] for r in q.car_runs(RED, store)} == {"417"}
    assert {r["car"] for r in q.car_runs(BLUE, store)} == {"528", "639"}
    assert [label for label, *_ in q.fleet_envelope(RED, store, "bmw_m4_gt3", "boost_pressure")] == [
        "car 417 race (testring-2025)"]
    assert len(q.fleet_envelope(TECH, store, "bmw_m4_gt3", "boost_pressure")) == 2


def test_team_sees_only_the_bulletins_its_runs_used(store):
    assert {b.id for b in q.bulletins(TECH, store)} == {"TEST-2025-R1", "TEST-2025-R2"}
    assert {b.id for b in q.bulletins(BLUE, store)} == {"TEST-2025-R1"}


def test_entry_list_is_filtered_for_teams(store):
    assert [e["car"] for e in q.entry_list(CHIEF, store, EVENT)] == ["417", "528", "639", "750"]
    assert [e["car"] for e in q.entry_list(RED, store, EVENT)] == ["417"]


def test_audit_log_is_for_staff_only(store):
    assert q.audit_rows(TECH, store, limit=2)[0]["seq"] > 1
    assert q.audit_status(CHIEF, store)["ok"] is True
    assert {"log.store", "run.write"} <= set(q.audit_actions(TECH, store))
    with pytest.raises(AuthError):
        q.audit_rows(RED, store)
    with pytest.raises(AuthError):
        q.audit_status(BLUE, store)
    with pytest.raises(AuthError):
        q.audit_actions(BLUE, store)


def test_run_detail_carries_provenance_exceedances_and_logs(store):
    detail = q.run_detail(TECH, store, _run_of(store, "417"))
    assert detail.run["bulletin_id"] == "TEST-2025-R2" and len(detail.run["bulletin_sha256"]) == 64
    assert detail.entry["team"] == "Red Racing"
    assert [e["start_s"] for e in detail.exceedances] == [10.0, 25.0, 40.0]
    assert detail.logs[0]["original_name"] == "car417.log"
    assert q.exceedance_windows(detail, "boost", margin_s=1.0)[0] == (9.0, 11.49)


def test_decimation_keeps_every_peak_and_stays_under_the_budget():
    rng = np.random.default_rng(1)
    t = np.arange(200_000) / 1000.0
    v = rng.normal(size=t.size)
    v[123_457] = 50.0                                  # one spike
    v[77_000] = -40.0
    dt, dv = q.decimate_minmax(t, v, 2000)
    assert len(dt) <= 2000 and np.all(np.diff(dt) > 0)
    assert dv.max() == 50.0 and dv.min() == -40.0
    assert t[123_457] in dt


def test_decimation_returns_short_series_unchanged():
    t, v = np.arange(10.0), np.arange(10.0)[::-1]
    dt, dv = q.decimate_minmax(t, v, 100)
    assert dt is t and dv is v


def test_trace_is_decimated_for_the_session_and_full_resolution_in_a_window(store):
    run = _run_of(store, "417")
    whole = q.channel_trace(TECH, store, run, "boost_pressure", max_points=1000)
    assert whole.decimated and whole.samples == 6000 and len(whole.time) <= 1000
    assert whole.value.max() == pytest.approx(2.6)
    zoom = q.channel_trace(TECH, store, run, "boost_pressure", window=(9.0, 11.5), max_points=1000)
    assert not zoom.decimated and len(zoom.time) == zoom.samples == 251


def test_limit_trace_is_the_bulletin_curve_plus_tolerance_at_the_held_rpm(store):
    run = _run_of(store, "639")
    limit = q.limit_trace(TECH, store, run, "boost", window=(0.0, 0.0))
    rpm = q.channel_trace(TECH, store, run, "engine_speed", window=(0.0, 0.0))
    expected = np.interp(rpm.value[0], [4000, 5000, 6000, 7000], [2.40, 2.35, 2.30, 2.25]) + 0.02
    assert limit.value[0] == pytest.approx(expected)


def test_rule_evidence_gives_the_plots_the_rule_its_channels_and_exceedances(store):
    evidence = q.rule_evidence(TECH, store, _run_of(store, "417"), "boost")
    assert evidence.spec.key == "engine_speed" and set(evidence.channels) == {"boost_pressure", "engine_speed"}
    assert [e.start_s for e in evidence.exceedances] == [10.0, 25.0, 40.0]
    assert evidence.exceedances[0].peak == pytest.approx(2.6)


def test_bulletin_versions_are_compared(store):
    infos = {b.id: b for b in q.bulletins(TECH, store)}
    changes = q.bulletin_changes(infos["TEST-2025-R1"], infos["TEST-2025-R2"])
    assert changes == [{"model": "bmw_m4_gt3", "rule": "boost", "change": "changed", "delta": 0.05,
                        "fields": {"limits": {"old": [2.4, 2.35, 2.3, 2.25], "new": [2.45, 2.4, 2.35, 2.3]}}}]


def test_power_curve_bins_power_by_rpm(store):
    curve = q.power_curve(TECH, store, _run_of(store, "528"))
    assert len(curve["rpm"]) == len(curve["max_kw"]) == len(curve["p95_kw"]) > 5
    assert np.all(curve["p95_kw"] <= curve["max_kw"])


def test_steward_report_for_a_team_is_of_its_own_car_only(store):
    html = q.steward_report(RED, store, EVENT, SESSION, car="417").decode()
    assert "417" in html and "Blue Motorsport" not in html and "Red Racing" in html
    with pytest.raises(q.NotFound):
        q.steward_report(RED, store, EVENT, SESSION, car="528")
    with pytest.raises(AuthError):
        q.steward_report(RED, store, EVENT, SESSION)
    assert "Blue Motorsport" in q.steward_report(TECH, store, EVENT, SESSION).decode()
