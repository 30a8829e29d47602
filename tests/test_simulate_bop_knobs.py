"""The simulator's BoP test knobs (issue 17), proven on decoded logs: a power offset at equal boost, sandbagging
(boost run under the limit), the car's mass; and bop_test_event, its ground truth and its closed loop."""

from __future__ import annotations

import argparse
import hashlib
import json
import tomllib
from pathlib import Path

import numpy as np
import pytest

from telemetry.profiles import load_profile
from telemetry.session import load_session
from telemetry.simulate.bop_test import DEFAULT_OFFSETS, base_bulletin_text, base_weights, bop_test_event
from telemetry.simulate.cars import CARS
from telemetry.simulate.drive import boost_limit, peak_wheel_power_kw
from telemetry.simulate.knobs import add_knob_arguments, knob_fields
from telemetry.simulate.limits import bulletin_weight, load_limits
from telemetry.simulate.run import SimConfig, simulate_log

ROOT = Path(__file__).resolve().parent.parent
ENDURANCE = ROOT / "sample_logs" / "bulletins" / "gtwce-2026-brh-v3-endurance.toml"
G0 = 9.80665


@pytest.fixture(scope="module")
def base(tmp_path_factory) -> Path:
    """The BoP test base bulletin (no power caps) for the two turbo models, one GT3 and one GT4."""
    path = tmp_path_factory.mktemp("bulletin") / "base.toml"
    path.write_text(base_bulletin_text(("bmw_m4_gt3", "mercedes_amg_gt4")))
    return path


def _run(tmp: Path, model: str, bulletin: Path, name: str, seed: int = 3, duration: float = 150.0, **knobs) -> dict:
    out = tmp / f"{name}.log"
    truth = simulate_log(SimConfig(model=model, out=out, fmt="candump", duration_s=duration, seed=seed,
                                   bulletin=bulletin, start_in_pit=False, message_set="logged", **knobs))
    session = load_session(out, load_profile(ROOT / "dbc" / f"{model}.toml"))
    grid = session.channels["power"].time
    data = {name: np.interp(grid, ch.time, ch.value) for name, ch in session.channels.items()}
    data["t"] = grid
    data["truth"] = truth
    return data


def _full(d: dict, rpm: float = 5000.0) -> np.ndarray:
    return (d["throttle"] > 99.0) & (d["engine_speed"] > rpm) & (d["gear"] >= 2)


def _binned(d: dict, value: str, sel: np.ndarray) -> dict[tuple[int, int], float]:
    """Median of ``value`` per (rpm bin of 250, boost bin of 0.02 bar) with at least 20 samples."""
    keys = np.stack([np.floor(d["engine_speed"][sel] / 250.0), np.floor(d["boost_pressure"][sel] / 0.02)], axis=1)
    vals = d[value][sel]
    out = {}
    for key in {tuple(k) for k in keys.astype(int).tolist()}:
        inside = np.all(keys == key, axis=1)
        if inside.sum() >= 20:
            out[key] = float(np.median(vals[inside]))
    return out


@pytest.mark.parametrize("model", ["bmw_m4_gt3", "mercedes_amg_gt4"])   # drive-shaft power, engine power
def test_power_offset_gives_that_much_more_logged_power_at_the_same_boost_and_rpm(tmp_path, base, model):
    plain = _run(tmp_path, model, base, "plain")
    more = _run(tmp_path, model, base, "more", power_offset_pct=5.0)
    a, b = _binned(plain, "power", _full(plain)), _binned(more, "power", _full(more))
    common = sorted(set(a) & set(b))
    assert len(common) >= 5
    ratio = np.median([b[k] / a[k] for k in common])
    assert ratio == pytest.approx(1.05, abs=0.01)
    # the logged boost is unchanged at full throttle, rpm bin by rpm bin
    for d in (plain, more):
        d["rpm_bin"] = np.floor(d["engine_speed"] / 250.0)
    for rpm_bin in np.unique(plain["rpm_bin"][_full(plain, 5500)]):
        sa = _full(plain, 5500) & (plain["rpm_bin"] == rpm_bin)
        sb = _full(more, 5500) & (more["rpm_bin"] == rpm_bin)
        if sa.sum() > 50 and sb.sum() > 50:
            assert np.median(more["boost_pressure"][sb]) == pytest.approx(np.median(plain["boost_pressure"][sa]),
                                                                          abs=0.006)
    # and the ground truth records the knob and the expected peak
    knobs, perf = more["truth"]["knobs"], more["truth"]["performance"]
    assert knobs["power_offset_pct"] == 5.0 and knobs["mass_from"] == "model"
    car, limits = CARS[model], load_limits(base, model)
    wheel = peak_wheel_power_kw(car, limits, 1.006, power_offset_pct=5.0)
    assert wheel / peak_wheel_power_kw(car, limits, 1.006) == pytest.approx(1.05, rel=1e-9)
    expected = wheel if car.torque_sensors else wheel / car.driveline_efficiency
    assert perf["expected_peak_power_kw"] == pytest.approx(expected, abs=0.001)
    assert perf["measured_peak_power_kw"] == pytest.approx(perf["expected_peak_power_kw"], rel=0.01)
    assert "knobs" not in plain["truth"] and "performance" not in plain["truth"]      # knobs off: output as before


def test_boost_margin_keeps_full_throttle_boost_that_far_under_the_limit(tmp_path, base):
    runs = {margin: _run(tmp_path, "bmw_m4_gt3", base, f"m{margin}", boost_margin_bar=margin)
            for margin in (0.035, 0.1)}
    limits = load_limits(base, "bmw_m4_gt3")
    under = {}
    for margin, d in runs.items():
        sel = _full(d, 5000)
        limit = boost_limit(limits, d["engine_speed"], d["ambient_pressure"])
        under[margin] = float(np.median((d["boost_pressure"] - limit)[sel]))
        assert np.percentile((d["boost_pressure"] - limit)[sel], 99) < -margin + 0.02   # never uses the allowance
        assert runs[margin]["truth"]["knobs"]["boost_margin_bar"] == margin
    assert under[0.1] == pytest.approx(-0.1, abs=0.01) and under[0.035] == pytest.approx(-0.035, abs=0.01)
    # power follows boost: ~dBoost / (Boost - ambient) less peak power (0.065 bar on ~1.35 bar gauge: ~4.8 %)
    p = {m: d["truth"]["performance"]["measured_peak_power_kw"] for m, d in runs.items()}
    assert 0.035 < 1 - p[0.1] / p[0.035] < 0.065


def test_heavier_car_has_lower_full_throttle_long_accel_at_the_same_speed(tmp_path, base):
    light = _run(tmp_path, "bmw_m4_gt3", base, "light", mass_kg=1250.0)
    heavy = _run(tmp_path, "bmw_m4_gt3", base, "heavy", mass_kg=1500.0)
    assert light["truth"]["knobs"]["mass_kg"] == 1250.0 and heavy["truth"]["knobs"]["mass_kg"] == 1500.0
    lower = 0
    bins = range(120, 220, 20)
    for v0 in bins:
        medians = []
        for d in (light, heavy):
            sel = _full(d, 4000) & (d["vehicle_speed"] >= v0) & (d["vehicle_speed"] < v0 + 20)
            assert sel.sum() > 30
            medians.append(float(np.median(d["long_accel"][sel])))
            # long_accel agrees with the logged speed's derivative
            dv = np.gradient(d["vehicle_speed"] / 3.6, d["t"])
            assert np.median(dv[sel]) == pytest.approx(medians[-1] * G0, abs=0.25)
        lower += medians[1] < medians[0] - 0.01
    assert lower == len(bins)
    assert light["truth"]["session"]["laps"][0] < heavy["truth"]["session"]["laps"][0]      # and laps slower


def test_mass_from_the_bulletin_is_min_weight_plus_ballast(tmp_path):
    assert bulletin_weight(ENDURANCE, "mercedes_amg_gt4") == {"min_weight_kg": 1470.0, "ballast_kg": 10.0,
                                                               "mass_kg": 1480.0}
    assert bulletin_weight(ENDURANCE, "bmw_m4_gt3", car="7")["mass_kg"] == 1350.0       # car's own ballast
    truth = simulate_log(SimConfig(model="mercedes_amg_gt4", out=tmp_path / "a.log", fmt="candump", duration_s=10.0,
                                   bulletin=ENDURANCE, mass_kg="bulletin"))
    assert truth["knobs"]["mass_kg"] == 1480.0 and truth["knobs"]["mass_from"] == "bulletin"
    assert truth["knobs"]["bulletin_weight"]["ballast_kg"] == 10.0


def test_cli_helper_turns_options_into_simconfig_fields():
    parser = argparse.ArgumentParser()
    add_knob_arguments(parser)
    assert knob_fields(parser.parse_args([])) == {"power_offset_pct": 0.0, "boost_margin_bar": None,
                                                  "mass_kg": None}
    args = parser.parse_args(["--power-offset", "5", "--boost-margin", "0.1", "--mass", "bulletin"])
    assert knob_fields(args) == {"power_offset_pct": 5.0, "boost_margin_bar": 0.1, "mass_kg": "bulletin"}
    assert knob_fields(parser.parse_args(["--mass", "1340"]))["mass_kg"] == 1340.0
    with pytest.raises(SystemExit):
        parser.parse_args(["--mass", "heavy"])


@pytest.fixture(scope="module")
def bop_run(tmp_path_factory) -> tuple[Path, dict]:
    out = tmp_path_factory.mktemp("bop") / "run"
    return out, bop_test_event(out, 7, duration_s=120.0)


def test_bop_test_event_writes_logs_and_ground_truth_with_the_known_differences(bop_run):
    out, summary = bop_run
    assert json.loads((out / "ground_truth" / "bop_test.json").read_text()) == summary
    event = tomllib.loads((out / "event.toml").read_text())
    assert event["sessions"][0]["bulletin"] == "bulletins/bop-test-base.toml"
    weights = base_weights()
    assert len(summary["cars"]) == 4
    for row in summary["cars"]:
        log = out / row["file"]
        truth = json.loads((out / "ground_truth" / "bop_test" / f"car{row['car']}.json").read_text())
        assert log.is_file() and truth["file"]["sha256"] == hashlib.sha256(log.read_bytes()).hexdigest()
        assert json.loads(log.with_name(log.name + ".meta.json").read_text())["car"] == row["car"]
        assert truth["car"]["model"] == row["model"] and truth["knobs"]["mass_kg"] == row["mass_kg"]
        assert row["mass_kg"] == weights[row["model"]]
        assert row["power_offset_pct"] == DEFAULT_OFFSETS[row["model"]]
        assert row["expected_power_to_weight_kw_kg"] == pytest.approx(row["expected_peak_power_kw"] / row["mass_kg"],
                                                                      rel=1e-5)
        assert row["measured_peak_power_kw"] == pytest.approx(row["expected_peak_power_kw"], rel=0.01)
        assert truth["expected"]["verdict"] == "compliant"
    # the balanced base: power-to-weight differences are the offsets (to the 1 kg rounding of the weights)
    pw = {m: v["expected_power_to_weight_kw_kg"] for m, v in summary["models"].items()}
    for m, offset in DEFAULT_OFFSETS.items():
        ratio = pw[m] / pw["lamborghini_huracan_gt3_evo2"]
        assert ratio == pytest.approx((1 + offset / 100) / (1 + DEFAULT_OFFSETS["lamborghini_huracan_gt3_evo2"] / 100),
                                      abs=0.002)


def test_bop_test_event_is_deterministic_per_seed(tmp_path, bop_run):
    out, _ = bop_run
    bop_test_event(tmp_path / "again", 7, duration_s=120.0)
    files = {p.relative_to(out).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
             for p in out.rglob("*") if p.is_file()}
    again = {p.relative_to(tmp_path / "again").as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
             for p in (tmp_path / "again").rglob("*") if p.is_file()}
    assert files == again
    other = bop_test_event(tmp_path / "other", 8, models=("bmw_m4_gt3",), duration_s=120.0)
    assert other["cars"][0]["measured_peak_power_kw"] != _row(bop_run[1], "bmw_m4_gt3")["measured_peak_power_kw"]


def _row(summary: dict, model: str) -> dict:
    return next(r for r in summary["cars"] if r["model"] == model)


def test_closed_loop_a_new_bulletin_drives_boost_power_and_mass(tmp_path, bop_run):
    """Balance the field from the first run's ground truth (turbo models by boost, with the documented
    sensitivity dP/P = dBoost / (Boost - ambient); NA models by weight): the spread shrinks by far over 50 %."""
    out, first = bop_run
    text = (out / "bulletins" / "bop-test-base.toml").read_text()
    data = tomllib.loads(text)
    pw = {m: v["expected_power_to_weight_kw_kg"] for m, v in first["models"].items()}
    target = float(np.median(list(pw.values())))
    ambient = 1.006                                    # Brands Hatch
    for m, value in pw.items():
        entry = data["models"][m]
        if "boost" in entry:
            table = entry["boost"]["max_bar"]
            gauge = table[-1] - 0.035 + (ambient - 1.010) - ambient     # peak power is made at the top of the table
            delta = round((target / value - 1.0) * gauge, 3)
            old = "max_bar = [" + ", ".join(repr(v) for v in table) + "]"
            assert old in text
            text = text.replace(old, "max_bar = [" + ", ".join(repr(round(v + delta, 3)) for v in table) + "]")
        else:
            new = int(round(entry["min_weight_kg"] * value / target))
            text = text.replace(f"[models.{m}]\nname = {json.dumps(entry['name'])}\nmin_weight_kg = "
                                f"{entry['min_weight_kg']}", f"[models.{m}]\nname = {json.dumps(entry['name'])}\n"
                                f"min_weight_kg = {new - 5}")
            text = text.replace(f"[models.{m}.info]\nballast_kg = 0", f"[models.{m}.info]\nballast_kg = 5")
    new_bulletin = tmp_path / "bop-test-v2.toml"
    new_bulletin.write_text(text.replace('id = "BOP-TEST-BASE"', 'id = "BOP-TEST-02"'))
    second = bop_test_event(tmp_path / "second", 7, duration_s=120.0, bulletin=new_bulletin)
    assert second["bulletin"] == {"id": "BOP-TEST-02", "path": "bulletins/bop-test-v2.toml"}
    for m in pw:
        a, b = _row(first, m), _row(second, m)
        assert b["power_offset_pct"] == a["power_offset_pct"]                  # the car is the same car
        if "boost" in data["models"][m]:
            assert b["mass_kg"] == a["mass_kg"] and b["expected_peak_power_kw"] != a["expected_peak_power_kw"]
        else:
            assert b["mass_kg"] == bulletin_weight(new_bulletin, m)["mass_kg"] != a["mass_kg"]
            assert b["expected_peak_power_kw"] == a["expected_peak_power_kw"]
    spread = {run["generator"]["seed"] and k: run["models"]["bmw_m4_gt3"]["class_spread_pct"]
              for k, run in (("first", first), ("second", second))}
    measured = {k: np.ptp([r["measured_power_to_weight_kw_kg"] for r in run["cars"]])
                for k, run in (("first", first), ("second", second))}
    assert spread["second"] < 0.5 * spread["first"] and measured["second"] < 0.5 * measured["first"]
