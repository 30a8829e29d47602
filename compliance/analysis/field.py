"""The BoP working group's view of a field (issue 17): per model, where the data puts it, and what would bring it
to a target.

Per car (its latest run of the chosen sessions): peak power (the highest full-throttle median of the
``power_vs_rpm`` envelope over bins of at least ``min_samples``), top speed, the time from 100 to 200 km/h in
full-throttle stretches, boost usage (the share of full-throttle samples inside the rpm range of the boost table
whose boost is within 0.05 bar, or the rule's tolerance when larger, of the limit: a boost controller's band; a
model that never reaches its limit hides performance), best lap. Per model: the medians over its cars (peak
power over the cars at their boost limit, usage >= 50 %, when the model has any: a car of a boost sweep measures
the sensitivity, not the model's potential), the weight from the bulletin (``min_weight_kg`` +
``info.ballast_kg``), power-to-weight, and the sensitivity of power to boost, measured from the boost levels of
the model's runs (``_sensitivity``) when they differ, else the proportional law (power ~ absolute boost at a given
rpm: dP/dB = P/B), stated as such.

**Proposal**: for a target power-to-weight (the field's median, or a named model's), each model's weight delta
(``P / target - weight``) and boost delta (``(target x weight - P) / (dP/dB)``), each with its inputs and a
standard uncertainty (the spread of the model's cars' peak power, and the sensitivity's standard error).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from types import SimpleNamespace

import numpy as np

from telemetry.channels import Channel

from ..bop.spec import ModelBop
from ..judge.laps import segment_laps
from ..judge.rules import limit_series
from ..judge.samples import held_at, runs
from .envelopes import FULL_THROTTLE_PCT, RunEnvelopes, envelope, full_throttle, run_envelopes

__all__ = ["CarData", "CarMetrics", "ModelMetrics", "Proposal", "FieldAnalysis", "car_metrics", "analyse"]

MIN_SAMPLES = 25
USAGE_MARGIN_BAR = 0.05      # a boost controller's band: a car run as it should sits inside it
MAX_RELATIVE_SE = 0.25


@dataclass(frozen=True, slots=True)
class CarData:
    """What the analysis needs of one car: its channels (a stored run's Parquet), its bulletin entry."""

    car: str
    model: str
    session: str
    channels: Mapping[str, Channel]
    duration_s: float
    entry: ModelBop | None = None
    reference_ambient_bar: float | None = None
    lap_length_m: float | None = None


@dataclass(frozen=True, slots=True)
class CarMetrics:
    car: str
    model: str
    session: str
    peak_power_kw: float | None
    peak_power_rpm: float | None
    top_speed_kmh: float | None
    accel_100_200_s: float | None
    boost_usage: float | None           # share of full-throttle samples at the limit (0..1)
    best_lap_s: float | None
    full_throttle_s: float

    def to_dict(self) -> dict:
        return {k: (round(v, 4) if isinstance(v, float) else v) for k, v in asdict(self).items()}


@dataclass(frozen=True, slots=True)
class ModelMetrics:
    model: str
    cars: tuple[str, ...]
    weight_kg: float | None
    weight_source: str
    peak_power_kw: float | None
    peak_power_sd_kw: float | None      # standard uncertainty of the model's peak power (spread / sqrt(n))
    power_to_weight_w_kg: float | None
    top_speed_kmh: float | None
    accel_100_200_s: float | None
    boost_usage: float | None
    best_laps_s: tuple[float, ...]
    sensitivity_kw_bar: float | None
    sensitivity_se_kw_bar: float | None
    sensitivity_source: str
    power_vs_speed: Mapping[str, list] = field(default_factory=dict)

    def to_dict(self) -> dict:
        out = {k: (round(v, 4) if isinstance(v, float) else v) for k, v in asdict(self).items()}
        out["cars"], out["best_laps_s"] = list(self.cars), [round(x, 3) for x in self.best_laps_s]
        return out


@dataclass(frozen=True, slots=True)
class Proposal:
    model: str
    target_w_kg: float
    power_to_weight_w_kg: float
    weight_delta_kg: float
    weight_delta_sd_kg: float
    boost_delta_bar: float | None
    boost_delta_sd_bar: float | None
    inputs: Mapping[str, object]

    def to_dict(self) -> dict:
        out = {k: (round(v, 4) if isinstance(v, float) else v) for k, v in asdict(self).items()}
        out["inputs"] = dict(self.inputs)
        return out


@dataclass(frozen=True, slots=True)
class FieldAnalysis:
    sessions: tuple[str, ...]
    target: str
    target_w_kg: float | None
    cars: tuple[CarMetrics, ...]
    models: tuple[ModelMetrics, ...]
    proposals: tuple[Proposal, ...]

    def to_dict(self) -> dict:
        return {"sessions": list(self.sessions), "target": self.target,
                "target_w_kg": None if self.target_w_kg is None else round(self.target_w_kg, 4),
                "models": [m.to_dict() for m in self.models], "proposals": [p.to_dict() for p in self.proposals],
                "cars": [c.to_dict() for c in self.cars]}

    def to_csv(self) -> str:
        head = ["model", "cars", "weight_kg", "peak_power_kw", "power_to_weight_w_kg", "top_speed_kmh",
                "accel_100_200_s", "boost_usage", "best_lap_s", "sensitivity_kw_bar", "target_w_kg",
                "weight_delta_kg", "weight_delta_sd_kg", "boost_delta_bar", "boost_delta_sd_bar"]
        rows = [",".join(head)]
        proposals = {p.model: p for p in self.proposals}
        for m in self.models:
            p = proposals.get(m.model)
            cells = [m.model, " ".join(m.cars), m.weight_kg, m.peak_power_kw, m.power_to_weight_w_kg, m.top_speed_kmh,
                     m.accel_100_200_s, m.boost_usage, min(m.best_laps_s) if m.best_laps_s else None,
                     m.sensitivity_kw_bar, self.target_w_kg, p and p.weight_delta_kg, p and p.weight_delta_sd_kg,
                     p and p.boost_delta_bar, p and p.boost_delta_sd_bar]
            rows.append(",".join("" if c is None else (f"{c:.4f}" if isinstance(c, float) else str(c))
                                 for c in cells))
        return "\n".join(rows) + "\n"


def _full(channels: Mapping[str, Channel], t: np.ndarray) -> np.ndarray:
    return full_throttle(channels, t, FULL_THROTTLE_PCT)[0]


def _accel_100_200(channels: Mapping[str, Channel]) -> float | None:
    speed = channels.get("vehicle_speed")
    if speed is None or len(speed) < 2:
        return None
    t, v = speed.time, np.asarray(speed.value, dtype=np.float64)
    full = _full(channels, t)
    times = []
    first, last = runs(full)
    for a, b in zip(first.tolist(), last.tolist(), strict=True):
        seg_t, seg_v = t[a:b + 1], v[a:b + 1]
        low = np.flatnonzero(seg_v <= 100.0)
        if len(low) == 0:
            continue
        start = low[-1] if seg_v[-1] >= 200.0 else None
        if start is None:
            continue
        after = np.flatnonzero(seg_v[start:] >= 200.0)
        if len(after) and np.all(np.diff(seg_v[start:start + after[0] + 1]) > -5.0):
            times.append(float(seg_t[start + after[0]] - seg_t[start]))
    return float(np.median(times)) if times else None


def _boost_usage(data: CarData) -> float | None:
    spec = data.entry.rules.get("boost") if data.entry is not None else None
    boost = data.channels.get("boost_pressure")
    if spec is None or boost is None or len(boost) == 0 or "engine_speed" not in data.channels:
        return None
    t = boost.time
    limit, _ = limit_series(spec, data.channels, t, data.reference_ambient_bar)
    rpm = held_at(data.channels["engine_speed"], t)
    inside = (rpm >= spec.key_points[0]) & (rpm <= spec.key_points[-1]) if spec.key_points else np.ones(len(t), bool)
    ok = _full(data.channels, t) & inside & np.isfinite(limit) & np.isfinite(boost.value)
    if not ok.any():
        return None
    margin = max(spec.tolerance, USAGE_MARGIN_BAR)
    return float(np.mean(boost.value[ok] >= limit[ok] - margin))


def _best_lap(data: CarData) -> float | None:
    laps = segment_laps(SimpleNamespace(channels=data.channels, duration_s=data.duration_s), data.lap_length_m)
    if laps is None or len(laps) < 3:
        return None
    ends = np.concatenate((laps.start_s[1:], [laps.end_s]))
    times = (ends - laps.start_s)[1:-1]           # the out-lap and the last, unfinished lap are not laps
    return float(times.min()) if len(times) else None


def car_metrics(data: CarData, *, min_samples: int = MIN_SAMPLES, env: RunEnvelopes | None = None) -> CarMetrics:
    env = env or run_envelopes(data.channels, data.model, duration_s=data.duration_s)
    power = env.envelopes.get("power_vs_rpm")
    peak = rpm = None
    if power is not None:
        good = [i for i, n in enumerate(power.counts) if n >= min_samples]
        if good:
            best = max(good, key=lambda i: power.p50[i])
            peak, rpm = power.p50[best], power.lower[best] + power.width / 2
    return CarMetrics(data.car, data.model, data.session, peak, rpm, env.top_speed_kmh, _accel_100_200(data.channels),
                      _boost_usage(data), _best_lap(data), env.full_throttle_s)


def _sensitivity(cars: Sequence[CarData], peak_kw: float | None,
                 envs: Mapping[int, RunEnvelopes] | None = None) -> tuple[float | None, float | None, str]:
    """dP/dBoost (kW/bar) at the peak power, measured from differences in boost *level* between the model's runs
    (cars, sessions under other limits, a car running under its limit): per run and 250 rpm bin at full throttle
    the median boost and power; within each bin the runs' relative power d(ln P) against their boost, pooled;
    times the peak power. Sample noise of the boost sensor does not bias it (medians, not samples). Fewer than two
    runs whose boost differs by 0.01 bar in a bin: the proportional law P/B."""
    rows: dict[int, list[tuple[float, float]]] = {}
    boost_at_peak = []
    for data in cars:
        power, boost = data.channels.get("power"), data.channels.get("boost_pressure")
        if power is None or boost is None or not len(power) or "engine_speed" not in data.channels:
            continue
        t = power.time
        b, r = held_at(boost, t), held_at(data.channels["engine_speed"], t)
        ok = _full(data.channels, t) & np.isfinite(b) & np.isfinite(r) & np.isfinite(power.value)
        if not ok.any():
            continue
        bins = np.floor(r[ok] / 250.0).astype(np.int64)
        bb, pp = b[ok], np.asarray(power.value, dtype=np.float64)[ok]
        for k in np.unique(bins).tolist():
            sel = bins == k
            if sel.sum() >= MIN_SAMPLES:
                rows.setdefault(k, []).append((float(np.median(bb[sel])), float(np.median(pp[sel]))))
        known = (envs or {}).get(id(data))
        env = known.envelopes.get("boost_vs_rpm") if known is not None else envelope(data.channels, "boost_vs_rpm")
        if env is not None and env.p50:
            boost_at_peak.append(max(env.p50))
    dx, dy = [], []
    for pairs in rows.values():
        xs = np.array([x for x, _ in pairs])
        ys = np.array([y for _, y in pairs])
        if len(pairs) < 2 or np.ptp(xs) < 0.01 or ys.mean() <= 0:
            continue
        dx.extend((xs - xs.mean()).tolist())
        dy.extend(((ys - ys.mean()) / ys.mean()).tolist())
    if len(dx) >= 3 and peak_kw:
        x, y = np.array(dx), np.array(dy)
        sxx = float(np.dot(x, x))
        rel = float(np.dot(x, y)) / sxx
        resid = y - rel * x
        se = math.sqrt(float(np.dot(resid, resid)) / max(len(x) - 1, 1) / sxx) * peak_kw
        slope = rel * peak_kw
        if slope > 0 and se / slope < MAX_RELATIVE_SE:
            return slope, se, (f"measured: power against boost level between {len(cars)} runs, pooled over "
                               f"{len(rows)} rpm bins at full throttle")
    if peak_kw and boost_at_peak:
        b = float(np.median(boost_at_peak))
        return peak_kw / b, 0.25 * peak_kw / b, (f"assumed: power proportional to absolute boost ({b:.3f} bar at "
                                                 "full throttle); the runs' boost levels did not measure it to 25 %")
    return None, None, "unknown"


def _weight(entry: ModelBop | None) -> tuple[float | None, str]:
    if entry is None:
        return None, "no bulletin entry"
    base = entry.min_weight_kg if entry.min_weight_kg is not None else entry.info.get("min_weight_kg")
    if base is None:
        return None, "the bulletin gives no min_weight_kg"
    ballast = entry.info.get("ballast_kg", 0) or 0
    return float(base) + float(ballast), f"min_weight_kg {float(base):g} + ballast_kg {float(ballast):g}"


def _median(values: Sequence[float | None]) -> float | None:
    got = [v for v in values if v is not None]
    return float(np.median(got)) if got else None


def analyse(cars: Sequence[CarData], *, target: str = "median", sessions: Sequence[str] = ()) -> FieldAnalysis:
    """The field view of ``cars`` (one entry per car and session), and the proposal towards ``target`` (``median``
    of the models' power-to-weight, or a model's name)."""
    envs = {id(c): run_envelopes(c.channels, c.model, duration_s=c.duration_s) for c in cars}   # each once
    metrics = [car_metrics(c, env=envs[id(c)]) for c in cars]
    models = []
    for model in sorted({c.model for c in cars}):
        mine = [m for m in metrics if m.model == model]
        data = [c for c in cars if c.model == model]
        # the model's power is that of its cars run at their boost limit: a car of a boost sweep (or sandbagging)
        # tells the sensitivity, not the model's potential; without a boost rule, every car
        at_limit = [m for m in mine if m.boost_usage is not None and m.boost_usage >= 0.5]
        peaks = [m.peak_power_kw for m in (at_limit or mine) if m.peak_power_kw is not None]
        peak = _median(peaks)
        # the spread of the model's cars over sqrt(n), at least 1 % of the power (the envelope's own resolution: a
        # bin's median of one session; two cars whose peaks fall on the same figure are not known to 0 kW)
        sd = None if peak is None else max(float(np.std(peaks, ddof=1)) / math.sqrt(len(peaks))
                                           if len(peaks) > 1 else 0.0, 0.01 * peak)
        weight, source = _weight(next((c.entry for c in data if c.entry is not None), None))
        slope, se, how = _sensitivity(data, peak, envs)
        pvs = {}
        speed_envs = [e for c in data if (e := envs[id(c)].envelopes.get("power_vs_speed")) is not None]
        if speed_envs:
            keys = sorted({lo for e in speed_envs for lo in e.lower})
            pvs = {"speed_kmh": keys, "power_kw": [
                _median([e.p50[e.lower.index(k)] for e in speed_envs if k in e.lower]) for k in keys]}
        models.append(ModelMetrics(
            model, tuple(dict.fromkeys(m.car for m in mine)), weight, source, peak, sd,   # each car once
            None if peak is None or not weight else peak * 1000.0 / weight, _median([m.top_speed_kmh for m in mine]),
            _median([m.accel_100_200_s for m in mine]), _median([m.boost_usage for m in mine]),
            tuple(sorted(m.best_lap_s for m in mine if m.best_lap_s is not None)), slope, se, how, pvs))
    ratios = {m.model: m.power_to_weight_w_kg for m in models if m.power_to_weight_w_kg is not None}
    if target == "median":
        goal = float(np.median(list(ratios.values()))) if ratios else None
    else:
        goal = ratios.get(target)
    proposals = []
    if goal is not None:
        for m in models:
            if m.power_to_weight_w_kg is None or m.weight_kg is None or m.peak_power_kw is None:
                continue
            new_weight = m.peak_power_kw * 1000.0 / goal
            dw = new_weight - m.weight_kg
            dw_sd = (m.peak_power_sd_kw or 0.0) * 1000.0 / goal
            need_kw = goal * m.weight_kg / 1000.0 - m.peak_power_kw
            db = db_sd = None
            turbo = any("boost" in c.entry.rules for c in cars if c.model == m.model and c.entry is not None)
            if m.sensitivity_kw_bar and turbo:              # no boost rule (a restricted NA engine): weight only
                db = need_kw / m.sensitivity_kw_bar
                rel = (m.sensitivity_se_kw_bar or 0.0) / m.sensitivity_kw_bar
                db_sd = math.hypot((m.peak_power_sd_kw or 0.0) / m.sensitivity_kw_bar, abs(db) * rel)
            proposals.append(Proposal(m.model, goal, m.power_to_weight_w_kg, dw, dw_sd, db, db_sd, {
                "peak_power_kw": m.peak_power_kw, "peak_power_sd_kw": m.peak_power_sd_kw, "weight_kg": m.weight_kg,
                "weight_source": m.weight_source, "sensitivity_kw_bar": m.sensitivity_kw_bar,
                "sensitivity_source": m.sensitivity_source, "cars": list(m.cars),
                "either": "apply the weight delta or the boost delta, not both"}))
    return FieldAnalysis(tuple(sessions), target, goal, tuple(metrics), tuple(models), tuple(proposals))
