"""The endurance session (SPEC §5 bulletin): every car gets the verdict its story says, each new rule kind is
broken by some car, and what the ground truth says is in the decoded data (python-can + cantools, not the
compliance engine): over-revs, throttle over the cap and the short refuelling exactly where the truth puts
them, and car 32's over-boosts only where the boost rule's `when` gate is shut."""

from __future__ import annotations

import hashlib
import json
import tomllib
from pathlib import Path

import numpy as np
import pytest
from test_simulate_oracle import ROOT, decode, held, read_frames, runs_above

from telemetry.simulate import generate_endurance
from telemetry.simulate.endurance import BULLETIN_FILE, BULLETIN_TOML, CARS, SESSION, event_toml_section
from telemetry.simulate.limits import load_limits, power_limit

RAMP = 0.035          # the 3 blended samples either side of a plateau, plus a little


@pytest.fixture(scope="module")
def event(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("endurance")
    generate_endurance(out)
    return out


def _truth(event: Path, car: int) -> dict:
    return json.loads((event / "ground_truth" / "endurance" / f"car{car}.json").read_text())


def _decoded(event: Path, car: int) -> tuple[dict, dict]:
    truth = _truth(event, car)
    return truth, decode(read_frames(event / "endurance" / truth["file"]["path"]), ROOT / truth["car"]["profile"])


def test_every_car_gets_the_verdict_of_its_story(event: Path) -> None:
    for entry in CARS:
        truth = _truth(event, entry.car)
        assert truth["expected"]["verdict"] == entry.verdict, (entry.car, truth["expected"]["rules"])
        assert truth["bulletin"] == {"id": "GTWCE-2026-BRH-03", "path": f"../bulletins/{BULLETIN_FILE}",
                                     "car_entry": str(entry.car)}
        meta = json.loads((event / "endurance" / (truth["file"]["path"] + ".meta.json")).read_text())
        assert meta == {"event": "gtwce-sprint-2026-brh", "session": "endurance", "car": entry.car}


def test_each_new_rule_kind_infringes_and_one_car_is_only_gated_out(event: Path) -> None:
    infringing: dict[str, set[int]] = {}
    for entry in CARS:
        for rule, r in _truth(event, entry.car)["expected"]["rules"].items():
            if r["infringes"]:
                infringing.setdefault(rule, set()).add(entry.car)
    assert infringing == {"boost": {7, 71}, "power": {51}, "rev_limit": {92}, "refuel_time": {88},
                          "stint_energy": {63}, "throttle": {411}}
    boost = _truth(event, 32)["expected"]["rules"]["boost"]
    assert boost["exceedances"] == 0 and boost["not_counted"] == 4 and not boost["infringes"]
    events = _truth(event, 32)["injections"]
    assert len(events) == 4 and all(e["counted"] is False and e["excess"] > 0.07 for e in events)
    assert all({"throttle", "long_accel"} <= set(e["gated_out_by"]) for e in events)


def test_scopes_time_over_and_budgets_are_in_the_truth(event: Path) -> None:
    window = _truth(event, 7)["expected"]["rules"]["boost"]
    assert window["count_per"] == "window" and window["worst_scope"]["count"] == 4 > window["max_exceedances"]
    lap = _truth(event, 71)["expected"]["rules"]["boost"]
    assert lap["count_per"] == "lap" and lap["worst_scope"]["count"] == 2 <= lap["max_exceedances"]
    assert lap["time_over_s"] == pytest.approx(1.4) and lap["time_over_s"] > lap["max_time_over_s"]
    stints = _truth(event, 63)["expected"]["rules"]["stint_energy"]["stints"]
    assert stints[1]["budget_mj"] < stints[1]["used_mj"] < 40.0          # a §3 reset to max_mj would pass it
    fills = _truth(event, 88)["expected"]["rules"]["refuel_time"]["refuellings"]
    assert [f["duration_s"] for f in fills] == [31.0]
    assert not _truth(event, 88)["expected"]["rules"]["stint_energy"]["infringes"]


def _excursions(t: np.ndarray, excess: np.ndarray, min_duration_s: float = 0.1) -> list[tuple[float, float]]:
    """Runs over the limit lasting ``min_duration_s`` (the rules' own; shorter single-sample blips are not
    exceedances)."""
    return [(a, b) for a, b, _ in runs_above(t, excess, min_duration_s)]


def _match(found: list[tuple[float, float]], truth: list[dict]) -> None:
    want = sorted((e["start_s"], e["end_s"] - 0.01) for e in truth)
    assert len(found) == len(want), (found, want)
    for (a, b), (wa, wb) in zip(sorted(found), want, strict=True):
        assert abs(a - wa) <= RAMP + 0.01 and abs(b - wb) <= RAMP + 0.01, ((a, b), (wa, wb))


def test_over_revs_are_in_the_decoded_engine_speed_exactly_where_the_truth_says(event: Path) -> None:
    truth, ch = _decoded(event, 92)
    rule = tomllib.loads(BULLETIN_TOML)["models"]["porsche_911_gt3_r"]["rev_limit"]
    t, rpm = ch["engine_speed"]
    gear = held(*ch["gear"], t)
    limit = np.asarray(rule["max_rpm"], float)[np.clip(np.searchsorted(rule["gear"], gear, "right") - 1, 0, 5)]
    _match(_excursions(t, np.nan_to_num(rpm - limit - rule["tolerance"], nan=-1)), truth["injections"])
    assert all(e["peak"] - e["limit"] > 200 for e in truth["injections"])


def test_throttle_over_the_cap_is_in_the_decoded_throttle_exactly_where_the_truth_says(event: Path) -> None:
    truth, ch = _decoded(event, 411)
    t, throttle = ch["throttle"]
    _match(_excursions(t, throttle - 90.0 - 1.0), truth["injections"])
    assert throttle[(t > 20) & (t < 260)].max() == pytest.approx(100.0, abs=0.2)


def test_the_short_refuelling_is_in_the_decoded_refuel_channel(event: Path) -> None:
    truth, ch = _decoded(event, 88)
    t, refuel = ch["refuel"]
    on = np.flatnonzero(np.diff(np.concatenate([[0], (refuel > 0.5).astype(int), [0]])))
    (start, end), = [(t[a], t[b]) for a, b in zip(on[::2], on[1::2], strict=True)]
    (event_,) = truth["injections"]
    assert abs(start - event_["start_s"]) <= 0.1 and abs(end - event_["end_s"]) <= 0.1
    assert end - start < 37.0 - 0.5


def test_gated_out_overboosts_are_over_the_limit_only_where_the_gate_is_shut(event: Path) -> None:
    truth, ch = _decoded(event, 32)
    doc = tomllib.loads(BULLETIN_TOML)
    rule = doc["models"]["bmw_m4_gt3"]["boost"]
    t, boost = ch["boost_pressure"]
    limit = np.interp(held(*ch["engine_speed"], t), rule["rpm"], rule["max_bar"]) + held(
        *ch["ambient_pressure"], t) - doc["reference_ambient_pressure_bar"]
    over = np.nan_to_num(boost - limit - rule["tolerance"], nan=-1)
    runs = _excursions(t, over, rule["min_duration_s"])
    _match(runs, truth["injections"])
    inside = np.zeros(len(t), bool)
    for a, b in runs:
        inside |= (t >= a) & (t <= b)
    gate = ((held(*ch["throttle"], t) >= 30) & (held(*ch["engine_speed"], t) > 3000)
            & (held(*ch["long_accel"], t) >= 0))
    assert inside.sum() > 100 and not (gate & inside).any()


def test_the_drive_gives_plausible_accelerations(event: Path) -> None:
    _, ch = _decoded(event, 7)
    t, along = ch["long_accel"]
    tv, speed = ch["vehicle_speed"]
    dvdt = np.gradient(np.convolve(speed, np.ones(25) / 25, "same"), tv) / 3.6 / 9.80665
    sel = (tv > 5) & (tv < SESSION.duration_s - 5)
    assert np.corrcoef(held(t, along, tv[sel]), dvdt[sel])[0, 1] > 0.9
    assert -2.2 < along.min() < -1.2 and 0.3 < along.max() < 1.2          # braking ~1.7 g, traction-limited
    lat = ch["lat_accel"][1]
    assert 1.2 < np.abs(lat).max() < 2.3 and lat.min() < -1.0 < 1.0 < lat.max()


def test_the_car_entry_overrides_the_model_and_the_power_limit_is_a_share_of_the_declared_curve(
        tmp_path: Path) -> None:
    path = tmp_path / BULLETIN_FILE
    path.write_text(BULLETIN_TOML)
    car7, model = load_limits(path, "bmw_m4_gt3", "7"), load_limits(path, "bmw_m4_gt3")
    assert car7.get("boost").limit.values == (2.62, 2.62, 2.55, 2.45, 2.35)
    assert model.get("boost").limit.values == (2.64, 2.64, 2.57, 2.47, 2.37)
    assert car7.get("boost").when == (("throttle", ">=", 30.0), ("engine_speed", ">", 3000.0),
                                      ("long_accel", ">=", 0.0))
    power = model.get("power")
    got = power_limit(power, np.array([7000.0, 7000.0, 6000.0]), np.array([199.9, 200.0, 250.0]))
    np.testing.assert_allclose(got, [362.0 * 0.953, 362.0 * 0.911, 350.0 * 0.911])
    assert load_limits(path, "porsche_911_gt3_r").get("rev_limit").limit(np.array([3.0, 4.0, 6.0])).tolist() == [
        9500.0, 9550.0, 9600.0]


def test_regenerating_writes_the_same_bytes_and_the_event_section_points_at_the_bulletin(
        event: Path, tmp_path: Path) -> None:
    generate_endurance(tmp_path)

    def digests(root: Path) -> dict[str, str]:
        return {p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
                for p in root.rglob("*") if p.is_file()}

    assert digests(tmp_path) == digests(event)
    (session,) = tomllib.loads(event_toml_section())["sessions"]
    assert session["id"] == "endurance" and (event / session["bulletin"]).is_file()
    assert (ROOT / "sample_logs" / session["bulletin"]).read_text() == BULLETIN_TOML
