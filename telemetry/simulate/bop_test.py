"""A simulated "BoP test" session (issue 17): cars of several models doing full-throttle laps, with known
power-to-weight differences between the models, and ground truth per car to test a BoP analysis against.

The built-in base bulletin (:func:`base_bulletin_text`) balances the models: its boost tables and fuel-flow caps
are those of the sample event's first bulletin (no power or stint-energy rules, so nothing clips the power the
boost gives), and each model's min_weight_kg is its simulated peak power at those limits divided by the class's
median power-to-weight, so with no knobs every model of a class has (to rounding of 1 kg) the same power-to-weight.
``power_to_weight_offsets`` (model -> %) then set the known differences, as power offsets at equal boost
(``via="power"``: power_offset_pct = the offset, so power-to-weight is offset % over the base) or as an undeclared
mass (``via="mass"``: the car runs at bulletin weight + extra_kg, extra_kg = base weight x (1/(1 + offset) - 1)).
The knobs are properties of the car, never of the bulletin: run again with ``bulletin=`` a new bulletin (the
analysis's boost/weight deltas applied) and the same cars run to that BoP, the boost limit in force driving their
power (dP/P = dBoost / (Boost - ambient), docs/simulator.md) and its min_weight_kg + info.ballast_kg their mass.

Output (``out_dir``): ``event.toml``, ``entry_list.csv``, ``bulletins/<bulletin>.toml`` (the one in force),
``bop_test/car<N>.<ext>`` + ``.meta.json``, ``ground_truth/bop_test/car<N>.json`` (the simulator's truth, with
``knobs`` and ``performance``) and ``ground_truth/bop_test.json`` (the summary: per car and per model).
"""

from __future__ import annotations

import json
import shutil
import statistics
import zlib
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

from ..errors import TelemetryError
from .cars import CARS, DBC_DIR
from .drive import BOOST_MARGIN_BAR, peak_wheel_power_kw
from .event import _models, _toml_value
from .limits import bulletin_weight, load_limits
from .run import SimConfig, simulate_log
from .track import TRACKS
from .writers import suffix_for

__all__ = ["DEFAULT_MODELS", "DEFAULT_OFFSETS", "SESSION_ID", "base_bulletin_text", "base_weights",
           "bop_test_event"]

DEFAULT_MODELS = ("bmw_m4_gt3", "ferrari_296_gt3", "porsche_911_gt3_r", "lamborghini_huracan_gt3_evo2")
#: model -> power-to-weight offset (%) over the balanced base: the known differences of the default test
DEFAULT_OFFSETS = {"bmw_m4_gt3": 4.0, "ferrari_296_gt3": -3.0, "porsche_911_gt3_r": 2.0,
                   "lamborghini_huracan_gt3_evo2": -1.0}
SESSION_ID = "bop_test"
BASE_ID = "BOP-TEST-BASE"
BASE_NAME = "bop-test-base"
DEFAULT_START = datetime(2026, 3, 10, 10, 0, tzinfo=UTC)
_BASE_RULES = ("boost", "fuel_flow")


def _base_models(models: Sequence[str], track: str) -> dict:
    """The base bulletin's model tables: the sample v1 limits (boost, fuel flow) and balancing weights."""
    sample = _models(0.0)
    tables = {}
    for m in models:
        if m not in sample:
            raise TelemetryError(f"model {m!r} has no base BoP", place="models", fix=f"use {', '.join(sample)}")
        tables[m] = {"name": sample[m]["name"], "min_weight_kg": 0,
                     **{r: sample[m][r] for r in _BASE_RULES if r in sample[m]}}
    weights = _balance(tables, track)
    for m in models:
        tables[m]["min_weight_kg"] = weights[m]
    return tables


def _natural_peak_kw(path: Path, model: str, track: str) -> float:
    """Peak power (kW, in the terms the model logs it) of ``model`` with no knobs under a bulletin file."""
    car = CARS[model]
    limits = load_limits(path, model)
    wheel = peak_wheel_power_kw(car, limits, TRACKS[track].ambient_mbar / 1000.0)
    return wheel if car.torque_sensors else wheel / car.driveline_efficiency


def _balance(tables: dict, track: str) -> dict[str, int]:
    """min_weight_kg per model: peak power / the median power-to-weight of its class at the sample weights."""
    import tempfile

    sample = _models(0.0)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "base.toml"
        path.write_text(_text("probe", tables, track=track))
        peaks = {m: _natural_peak_kw(path, m, track) for m in tables}
    weights = {}
    for cls in sorted({CARS[m].car_class for m in tables}):
        members = [m for m in tables if CARS[m].car_class == cls]
        target = statistics.median(peaks[m] / sample[m]["min_weight_kg"] for m in members)
        weights.update({m: int(round(peaks[m] / target)) for m in members})
    return weights


def _text(bulletin_id: str, tables: dict, start: datetime = DEFAULT_START, track: str = "brands_hatch_gp") -> str:
    lines = ["# BoP test base (simulated): the sample event's boost tables and fuel-flow caps, min weights that",
             "# balance every model's power-to-weight within its class (telemetry/simulate/bop_test.py).",
             f"id = {_toml_value(bulletin_id)}", 'series = "BoP test"', f"track = {_toml_value(TRACKS[track].name)}",
             f"track_length_m = {int(TRACKS[track].length_m)}",
             f"effective_from = {_toml_value(start - timedelta(days=1))}", "reference_ambient_pressure_bar = 1.010"]
    for model, rules in tables.items():
        lines += ["", f"[models.{model}]", f"name = {_toml_value(rules['name'])}",
                  f"min_weight_kg = {rules['min_weight_kg']}", "", f"[models.{model}.info]", "ballast_kg = 0"]
        for rule in _BASE_RULES:
            if rule in rules:
                lines.append(f"\n[models.{model}.{rule}]")
                lines += [f"{k} = {_toml_value(v)}" for k, v in rules[rule].items()]
    return "\n".join(lines) + "\n"


def base_bulletin_text(models: Sequence[str] = DEFAULT_MODELS, track: str = "brands_hatch_gp",
                       start: datetime = DEFAULT_START) -> str:
    """The built-in base bulletin of a BoP test of ``models`` (balanced power-to-weight, see the module doc)."""
    return _text(BASE_ID, _base_models(models, track), start, track)


def base_weights(models: Sequence[str] = DEFAULT_MODELS, track: str = "brands_hatch_gp") -> dict[str, int]:
    """The base bulletin's min_weight_kg per model."""
    return {m: t["min_weight_kg"] for m, t in _base_models(models, track).items()}


def _seed(seed: int, car: int) -> int:
    return zlib.crc32(f"bop-test/{seed}/car{car}".encode())


def bop_test_event(out_dir: str | Path, seed: int, *, models: Sequence[str] = DEFAULT_MODELS,
                   power_to_weight_offsets: Mapping[str, float] | None = None, via: str = "power",
                   boost_margins: Mapping[str, float] | None = None, bulletin: str | Path | None = None,
                   cars_per_model: int = 1, boost_sweep_bar: float | None = None,
                   duration_s: float = 180.0, track: str = "brands_hatch_gp",
                   fmt: str = "blf", start: datetime = DEFAULT_START, message_set: str = "logged",
                   progress: Callable[[int, int | None, str], None] | None = None) -> dict:
    """Simulate a BoP test session into ``out_dir`` and return its summary (also ``ground_truth/bop_test.json``).

    ``power_to_weight_offsets``: model -> % over the balanced base (default :data:`DEFAULT_OFFSETS` for the
    models it names, 0 for others); ``via``: "power" (power offset at equal boost) or "mass" (undeclared extra
    mass); ``boost_margins``: model -> bar under the boost limit (sandbagging; default the usual 0.035 bar);
    ``bulletin``: the BoP in force (default: the built-in base, written to ``bulletins/bop-test-base.toml``);
    ``cars_per_model``: 1 or 2. ``boost_sweep_bar`` (with 2 cars): the second car of each model runs that much further
    under its boost limit, a boost sweep as BoP tests run them, so the analysis measures power against boost
    (turbo models; it changes nothing on the others). Each car runs ``duration_s`` (120-300 s) of flying laps
    from a rolling start.
    The same arguments write the same bytes.
    """
    out = Path(out_dir)
    models = tuple(models)
    if via not in ("power", "mass"):
        raise TelemetryError(f"via {via!r}", place="via", fix="use 'power' or 'mass'")
    if boost_sweep_bar is not None and cars_per_model != 2:
        raise TelemetryError("a boost sweep needs two cars per model", place="boost_sweep_bar",
                             fix="give cars_per_model=2")
    if cars_per_model not in (1, 2):
        raise TelemetryError(f"cars_per_model {cars_per_model}", place="cars_per_model", fix="use 1 or 2")
    if not 120.0 <= duration_s <= 300.0:
        raise TelemetryError(f"duration {duration_s} s", place="duration_s", fix="a BoP test run is 120-300 s")
    if track not in TRACKS:
        raise TelemetryError(f"unknown track {track!r}", place="track", fix=f"use one of {', '.join(TRACKS)}")
    offsets = {m: float((DEFAULT_OFFSETS if power_to_weight_offsets is None else power_to_weight_offsets)
                        .get(m, 0.0)) for m in models}
    unknown = sorted(set(power_to_weight_offsets or {}) - set(models))
    if unknown:
        raise TelemetryError(f"offsets for models not in the test: {', '.join(unknown)}",
                             place="power_to_weight_offsets", fix="name only models of the test")
    margins = dict(boost_margins or {})
    base = base_weights(models, track)

    out.mkdir(parents=True, exist_ok=True)
    for sub in ("bulletins", "ground_truth", SESSION_ID):
        if (out / sub).is_dir():
            shutil.rmtree(out / sub)
    (out / "bulletins").mkdir()
    if bulletin is None:
        in_force = out / "bulletins" / f"{BASE_NAME}.toml"
        in_force.write_text(base_bulletin_text(models, track, start))
    else:
        in_force = out / "bulletins" / Path(bulletin).name
        in_force.write_bytes(Path(bulletin).read_bytes())
    cars = []
    for i, m in enumerate(models):
        for j in range(cars_per_model):
            cars.append((10 * (i + 1) + j + 1, m))
    end = start + timedelta(seconds=duration_s)
    (out / "event.toml").write_text("\n".join([
        "# A simulated BoP test session (telemetry/simulate/bop_test.py); profiles from dbc/.",
        f'id = "bop-test-{seed}"', f'name = "Simulated BoP test (seed {seed})"', 'series = "BoP test"',
        f"track = {json.dumps(TRACKS[track].name)}", f"track_length_m = {int(TRACKS[track].length_m)}",
        'entry_list = "entry_list.csv"', "", "[[sessions]]", f'id = "{SESSION_ID}"', 'type = "test"',
        f'start = "{start.strftime("%Y-%m-%dT%H:%M:%SZ")}"', f'end = "{end.strftime("%Y-%m-%dT%H:%M:%SZ")}"',
        f'bulletin = "bulletins/{in_force.name}"', ""]))
    (out / "entry_list.csv").write_text("car,team,model,class,drivers\n" + "".join(
        f"{n},BoP test {CARS[m].name},{m},{CARS[m].car_class},Test driver {n}\n" for n, m in cars))

    rows = []
    for k, (number, m) in enumerate(cars):
        weight = bulletin_weight(in_force, m)
        extra = base[m] * (1.0 / (1.0 + offsets[m] / 100.0) - 1.0) if via == "mass" else 0.0
        path = out / SESSION_ID / f"car{number}{suffix_for(fmt, False)}"
        config = SimConfig(
            model=m, out=path, fmt=fmt, duration_s=duration_s, track=track, seed=_seed(seed, number), start=start,
            bulletin=in_force, profile=DBC_DIR / f"{m}.toml", start_in_pit=False, message_set=message_set,
            ground_truth=out / "ground_truth" / SESSION_ID / f"car{number}.json",
            power_offset_pct=offsets[m] if via == "power" else 0.0,
            boost_margin_bar=(margins.get(m) if not (boost_sweep_bar and number % 10 == 2) else
                              (BOOST_MARGIN_BAR if margins.get(m) is None else margins[m]) + boost_sweep_bar),
            mass_kg=round(weight["mass_kg"] + extra, 3),
            extra_truth={"event": f"bop-test-{seed}", "session_id": SESSION_ID, "car_number": number,
                         "team": f"BoP test {CARS[m].name}",
                         "bop_test": {"power_to_weight_offset_pct": offsets[m], "via": via,
                                      "extra_mass_kg": round(extra, 3), "bulletin_weight": weight,
                                      "base_min_weight_kg": base[m]}})
        truth = simulate_log(config)
        meta = {"event": f"bop-test-{seed}", "session": SESSION_ID, "car": number}
        path.with_name(path.name + ".meta.json").write_text(json.dumps(meta, sort_keys=True) + "\n")
        perf, knobs = truth["performance"], truth["knobs"]
        rows.append({"car": number, "model": m, "class": CARS[m].car_class, "file": f"{SESSION_ID}/{path.name}",
                     "mass_kg": knobs["mass_kg"], "power_offset_pct": knobs["power_offset_pct"],
                     "boost_margin_bar": knobs["boost_margin_bar"], "extra_mass_kg": round(extra, 3),
                     "power_to_weight_offset_pct": offsets[m], "power_basis": perf["power_basis"],
                     "expected_peak_power_kw": perf["expected_peak_power_kw"],
                     "measured_peak_power_kw": perf["measured_peak_power_kw"],
                     "expected_power_to_weight_kw_kg": perf["expected_power_to_weight_kw_kg"],
                     "measured_power_to_weight_kw_kg": perf["measured_power_to_weight_kw_kg"],
                     "best_lap_s": _best_lap(truth["session"]["laps"])})
        if progress:
            progress(k + 1, len(cars), f"car{number}")
    summary = {"generator": {"tool": "bopwatch simulate bop_test", "seed": seed}, "session": SESSION_ID,
               "track": track, "duration_s": duration_s, "via": via,
               "bulletin": {"id": load_limits(in_force, models[0]).bulletin_id,
                            "path": f"bulletins/{in_force.name}"},
               "base_min_weight_kg": base, "cars": rows, "models": _per_model(rows)}
    (out / "ground_truth" / f"{SESSION_ID}.json").write_text(json.dumps(summary, indent=1, sort_keys=True) + "\n")
    return summary


def _best_lap(crossings: list[float]) -> float | None:
    """The best full lap (s) between line crossings (the first lap from the rolling start is not timed)."""
    laps = [b - a for a, b in zip(crossings, crossings[1:], strict=False)]
    return round(float(min(laps)), 3) if laps else None


def _per_model(rows: list[dict]) -> dict:
    out = {}
    for m in dict.fromkeys(r["model"] for r in rows):
        mine = [r for r in rows if r["model"] == m]
        out[m] = {"cars": [r["car"] for r in mine], "class": mine[0]["class"],
                  "power_to_weight_offset_pct": mine[0]["power_to_weight_offset_pct"],
                  "expected_power_to_weight_kw_kg": round(statistics.fmean(
                      r["expected_power_to_weight_kw_kg"] for r in mine), 6)}
    for cls in {v["class"] for v in out.values()}:
        members = [v for v in out.values() if v["class"] == cls]
        median = statistics.median(v["expected_power_to_weight_kw_kg"] for v in members)
        values = [v["expected_power_to_weight_kw_kg"] for v in members]
        spread = round(100.0 * (max(values) - min(values)) / median, 3)
        for v in members:
            v["vs_class_median_pct"] = round(100.0 * (v["expected_power_to_weight_kw_kg"] / median - 1.0), 3)
            v["class_spread_pct"] = spread
    return out
