"""Golden test of the SPEC §5 engine: the simulated endurance session's 8 cars, judged by ``check_logs`` against
the session's own bulletin and car entries, give the simulator's expected per-rule results (ground truth)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from compliance.judge.check import check_logs
from telemetry.simulate.endurance import generate_endurance

ROOT = Path(__file__).resolve().parents[1]
CARS = (7, 32, 51, 71, 92, 88, 63, 411)
# one sample of the 10 ms channels plus the simulator's blended plateau edges (tests/test_simulate_endurance.py
# RAMP: 3 blended samples either side of a plateau, the edge sample may land either side of the limit)
SAMPLE_S = 0.035


@pytest.fixture(scope="module")
def event(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("endurance")
    generate_endurance(out)
    return out


@pytest.fixture(scope="module")
def judged(event: Path) -> dict[int, tuple[dict, object]]:
    """car -> (ground truth, CheckResult), each car checked once for the whole module."""
    out = {}
    for car in CARS:
        truth = json.loads((event / "ground_truth" / "endurance" / f"car{car}.json").read_text())
        log = event / "endurance" / truth["file"]["path"]
        bulletin = event / "endurance" / truth["bulletin"]["path"]
        if not bulletin.is_file():       # written beside the logs, or wherever generate_endurance puts it
            bulletin = next(event.rglob(Path(truth["bulletin"]["path"]).name))
        result = check_logs([log], ROOT / truth["car"]["profile"], bulletin, car=str(car))
        out[car] = (truth, result)
    return out


def _rule(result, name: str) -> dict:
    rule = next((r for r in result.verdict.to_dict()["rules"] if r["rule"] == name), None)
    assert rule is not None, f"rule {name} missing from the verdict"
    return rule


def _sample_tol(result, channel: str) -> float:
    """One sample period of ``channel`` in the judged session (at least SAMPLE_S, the truth's edge blending)."""
    ch = result.session.channels[channel]
    return max(SAMPLE_S, float(np.median(np.diff(ch.time)))) + 1e-6


def _exceedances(result, name: str) -> list[dict]:
    return [e for e in result.verdict.to_dict()["exceedances"] if e["rule"] == name]


@pytest.mark.parametrize("car", CARS)
def test_session_verdict_and_car_entry(judged, car: int) -> None:
    truth, result = judged[car]
    assert result.verdict.verdict == truth["expected"]["verdict"]
    assert result.verdict.bulletin["id"] == truth["bulletin"]["id"]
    assert result.verdict.bulletin["car_entry"] == truth["bulletin"]["car_entry"]


@pytest.mark.parametrize("car", CARS)
def test_verdict_and_count_per_rule(judged, car: int) -> None:
    truth, result = judged[car]
    expected = truth["expected"]["rules"]
    got = {r["rule"]: r for r in result.verdict.to_dict()["rules"]}
    assert set(got) == set(expected)
    for name, want in expected.items():
        rule = got[name]
        assert rule["verdict"] == ("infringement" if want["infringes"] else "compliant"), name
        assert rule["exceedance_count"] == want["exceedances"], name
        assert rule["max_exceedances"] == want["max_exceedances"], name
        assert len(_exceedances(result, name)) == want["exceedances"], name
        for key in ("count_per", "window_s", "max_time_over_s"):
            if key in want:
                assert rule[key] == want[key], (name, key)


@pytest.mark.parametrize("car", CARS)
def test_exceedance_timing_within_one_sample(judged, car: int) -> None:
    truth, result = judged[car]
    counted = [i for i in truth["injections"] if i.get("counted", True)]
    for name in {i["rule"] for i in counted}:
        want = sorted((i for i in counted if i["rule"] == name), key=lambda i: i["start_s"])
        got = sorted(_exceedances(result, name), key=lambda e: e["start_s"])
        assert len(got) == len(want), name
        spec_channel = {"stint_energy": "power", "refuel_time": "refuel"}.get(name)
        channel = spec_channel or next(c for c in _rule(result, name)["needs"])
        tol = _sample_tol(result, channel)
        for w, g in zip(want, got, strict=True):
            if name != "stint_energy":            # a stint's exceedance starts where it crosses its budget
                assert abs(g["start_s"] - w["start_s"]) <= tol, (name, g, w)
            assert abs(g["end_s"] - w["end_s"]) <= tol, (name, g, w)
            if "peak" in w and name == "refuel_time":
                assert abs(g["peak"] - w["peak"]) <= 2 * tol
            if "limit" in w and name in ("throttle", "rev_limit", "refuel_time"):
                assert g["limit"] == pytest.approx(w["limit"])


def test_car_32_gated_out_excursions_are_not_counted(judged) -> None:
    truth, result = judged[32]
    gated = [i for i in truth["injections"] if i["kind"] == "boost_gated"]
    assert len(gated) == truth["expected"]["rules"]["boost"]["not_counted"] == 4
    boost = _rule(result, "boost")
    assert boost["verdict"] == "compliant" and boost["exceedance_count"] == 0
    assert boost["when"] == ["engine_speed > 3000", "long_accel >= 0", "throttle >= 30"]
    assert _exceedances(result, "boost") == []
    # the excursions are real: over the limit in the log, just not where the gate is open
    chans = result.session.channels
    for inj in gated:
        t = chans["boost_pressure"].time
        sel = (t >= inj["start_s"]) & (t <= inj["end_s"])
        assert np.max(chans["boost_pressure"].value[sel]) > inj["limit"]


@pytest.mark.parametrize("car", [7, 71])
def test_worst_scope_and_time_over(judged, car: int) -> None:
    truth, result = judged[car]
    want = truth["expected"]["rules"]["boost"]
    boost = _rule(result, "boost")
    n = want["exceedances"]
    tol = _sample_tol(result, "boost_pressure")
    # time over sums n durations, each within two samples (start and end)
    assert boost["time_over_s"] == pytest.approx(want["time_over_s"], abs=2 * n * tol)
    scope, wscope = boost["worst_scope"], want["worst_scope"]
    assert scope["count"] == wscope["count"]
    assert scope["lap"] == wscope["lap"]
    assert scope["time_over_s"] == pytest.approx(wscope["time_over_s"], abs=2 * n * tol)
    # lap bounds come from the lap counter (100 ms beacon), window bounds from the first exceedance's start
    bound_tol = 0.1 + 1e-6 if want["count_per"] == "lap" else tol
    assert scope["start_s"] == pytest.approx(wscope["start_s"], abs=bound_tol)
    assert scope["end_s"] == pytest.approx(wscope["end_s"], abs=bound_tol)
    if want["count_per"] == "window":
        assert scope["end_s"] - scope["start_s"] == pytest.approx(want["window_s"])
    assert (boost["time_over_s"] > want["max_time_over_s"]) == (want["time_over_s"] > want["max_time_over_s"])


@pytest.mark.parametrize("car", [c for c in CARS if c != 411])      # the GT4 has no stint energy rule
def test_stint_budgets_follow_the_replenishment(judged, car: int) -> None:
    truth, result = judged[car]
    want = truth["expected"]["rules"]["stint_energy"]["stints"]
    got = _rule(result, "stint_energy")["stints"]
    assert len(got) == len(want)
    for g, w in zip(got, want, strict=True):
        assert g["budget_mj"] == pytest.approx(w["budget_mj"], abs=0.1)
        assert g["used_mj"] == pytest.approx(w["used_mj"], abs=0.1)
