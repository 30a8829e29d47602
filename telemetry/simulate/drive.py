"""A car driven round a track for one session: every canonical channel on a 100 Hz grid, in canonical units.

The team calibrates the engine to the bulletin in force (boost target under the ambient-corrected limit, torque
capped so fuel flow and drive-shaft power stay under theirs), as teams do; injections then break that on purpose.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .cars import CarModel
from .limits import Limits, power_limit
from .track import LapKind, Track, lap_profile

__all__ = ["SessionPlan", "Drive", "drive_session", "first_order_lag", "lateral_g", "DT", "peak_wheel_power_kw"]

DT = 0.01                 # physics grid step, s
BOOST_MARGIN_BAR = 0.035  # how far under the boost limit the team's boost target sits
FUEL_MARGIN = 0.03        # fraction of the fuel-flow cap kept in reserve
POWER_MARGIN = 0.025      # fraction of the power cap kept in reserve
THROTTLE_MARGIN_PCT = 2.0 # how far under a throttle cap the team's throttle map stops the butterfly
LEVEL_SPEED_MARGIN = 1.5  # km/h either side of a level_pct speed split where the team takes the lower level
SHIFT_CUT_S = 0.04
G0 = 9.80665              # standard gravity, m/s^2: the unit of long_accel and lat_accel


@dataclass(frozen=True, slots=True)
class SessionPlan:
    duration_s: float
    start_in_pit: bool = True          # the session starts with the car in its pit box
    pit_stops: tuple[float, ...] = ()  # times: the car pits at the end of the lap running at that time
    stop_s: float = 14.0               # stationary time per pit stop
    refuel_s: float = 9.0              # refuelling sensor on for this long, 2 s into the stop
    ambient_bar: float | None = None   # None: the track's typical ambient pressure


@dataclass(frozen=True, slots=True)
class Drive:
    t: np.ndarray                              # s, 100 Hz, from 0
    channels: dict[str, np.ndarray]            # canonical name -> values in canonical units
    extras: dict[str, np.ndarray]              # logger signals that are not canonical (lap distance, GPS...)
    stints: tuple[tuple[float, float], ...]    # (start_s, end_s) between refuellings
    laps: tuple[float, ...]                    # times the car crossed the line
    wheel_radius_m: float
    limits: Limits
    nominal: dict[str, float] = field(default_factory=dict)   # calibration figures for the ground truth


def first_order_lag(x: np.ndarray, tau_s: float, dt: float = DT) -> np.ndarray:
    """y' = (x - y)/tau, exactly discretised, vectorised in blocks (state carried between blocks)."""
    a = float(np.exp(-dt / tau_s))
    n = len(x)
    y = np.empty(n)
    block = 256
    powers = a ** np.arange(1, block + 1)
    inv = a ** -np.arange(1, block + 1)
    state = float(x[0]) if n else 0.0
    for start in range(0, n, block):
        seg = x[start:start + block]
        m = len(seg)
        acc = np.cumsum((1 - a) * seg * inv[:m])
        y[start:start + m] = powers[:m] * (state + acc)
        state = y[start + m - 1]
    return y


def _lap_plan(track: Track, car: CarModel, plan: SessionPlan, power_w: float, rng: np.random.Generator,
              mass_kg: float):
    """Concatenated (t, s, v) samples of every lap, with stationary blocks in the pit box."""
    variants: dict[str, list] = {}

    def profile(kind: str):
        if kind not in variants:
            variants[kind] = [lap_profile(track, kind, power_w=power_w, mass_kg=mass_kg, cda_m2=car.cda_m2,
                                          apex_scale=rng.normal(1.0, 0.012, len(track.corners)))
                              for _ in range(4 if kind == LapKind.FLYING else 2)]
        return variants[kind][int(rng.integers(len(variants[kind])))]

    ts, ss, vs = [], [], []
    now, dist = 0.0, 0.0
    stops, refuels, crossings = [], [], []
    pending = sorted(plan.pit_stops)
    in_pit = plan.start_in_pit
    if in_pit:
        ts.append(np.array([0.0, 2.0]))
        ss.append(np.array([0.0, 0.0]))
        vs.append(np.array([0.0, 0.0]))
        now = 2.0
    while now < plan.duration_s + 1.0:
        flying_v, flying_t = profile(LapKind.FLYING)
        pit_now = bool(pending) and pending[0] <= now + flying_t[-1]
        kind = {(False, False): LapKind.FLYING, (True, False): LapKind.OUT, (False, True): LapKind.IN,
                (True, True): LapKind.IN_OUT}[(in_pit, pit_now)]
        v, t = profile(kind)
        s = np.arange(len(v), dtype=np.float64)
        ts.append(now + t[1:])
        ss.append(dist + s[1:])
        vs.append(v[1:])
        now += t[-1]
        dist += s[-1]
        crossings.append(now)
        in_pit = pit_now
        if pit_now:
            pending.pop(0)
            stops.append(now)
            refuels.append((now + 2.0, now + 2.0 + plan.refuel_s))
            ts.append(np.array([now + plan.stop_s]))
            ss.append(np.array([dist]))
            vs.append(np.array([0.0]))
            now += plan.stop_s
    return (np.concatenate(ts), np.concatenate(ss), np.concatenate(vs), stops, refuels, crossings)


def lateral_g(track: Track, dist: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Lateral acceleration (g) at lap distance ``dist`` (m) and speed ``v`` (m/s): v^2 x curvature, the curvature
    a bump round each apex (radius from the apex speed and the grip a GT car has there, aero included), corners
    turning right and left in turn."""
    lap_m = dist % track.length_m
    curvature = np.zeros(len(dist))
    for k, corner in enumerate(track.corners):
        v_apex = corner.speed_kmh / 3.6
        grip_g = min(2.0, 1.35 + 0.5 * (v_apex / 55.0) ** 2)
        radius = v_apex ** 2 / (grip_g * G0)
        width = float(np.clip(0.6 * radius, 25.0, 120.0))
        offset = (lap_m - corner.apex_m + track.length_m / 2) % track.length_m - track.length_m / 2
        curvature += (1 if k % 2 else -1) / radius * np.exp(-(offset / width) ** 2)
    return v * v * curvature / G0


def _gears(v_rear: np.ndarray, accel: np.ndarray, car: CarModel, radius: float) -> np.ndarray:
    ratios = np.asarray(car.gear_ratios)
    vmax = car.shift_rpm * np.pi / 30.0 * radius / (ratios * car.final_drive)      # m/s at the shift point
    up = np.searchsorted(vmax, v_rear, side="left") + 1
    down = np.searchsorted(vmax * 0.86, v_rear, side="left") + 1
    gear = np.where(accel < -0.5, down, up).clip(1, len(ratios))
    # a gear is held for at least 0.4 s: runs that are shorter take the previous gear
    for _ in range(3):
        change = np.flatnonzero(np.diff(gear)) + 1
        bounds = np.concatenate([[0], change, [len(gear)]])
        short = np.flatnonzero((np.diff(bounds) < int(0.4 / DT)) & (bounds[:-1] > 0))
        if not len(short):
            break
        for k in short:
            gear[bounds[k]:bounds[k + 1]] = gear[bounds[k] - 1]
    return gear


def _calibrated_torque(car: CarModel, limits: Limits, rpm, speed_kmh, boost_target, ambient, power_factor=1.0):
    """Full-load engine torque after the team's BoP calibration (N*m).

    ``power_factor`` (1 + power_offset_pct / 100) scales the torque the engine makes at a given boost and rpm;
    the power cap applies to what is measured (the scaled torque), the fuel-flow cap to the fuel burnt, which
    stays at its equal-boost value (:func:`drive_session` burns fuel for torque / power_factor).
    """
    torque = car.full_load_torque(rpm)
    if power_factor != 1.0:
        torque = torque * power_factor
    omega = np.maximum(rpm, 1.0) * np.pi / 30.0
    if car.engine == "turbo":
        torque = torque * np.clip((boost_target - ambient) / (car.nominal_boost_bar - 1.0), 0.0, 1.0)
    power = limits.get("power")
    if power is not None:
        if power.declared is not None:   # a share of the declared curve: the lower level near a speed split
            cap_kw = np.minimum(power_limit(power, rpm, speed_kmh - LEVEL_SPEED_MARGIN),
                                power_limit(power, rpm, speed_kmh + LEVEL_SPEED_MARGIN)) * (1 - POWER_MARGIN)
        else:
            cap_kw = power_limit(power, rpm, speed_kmh) * (1 - POWER_MARGIN)
        torque = np.minimum(torque, cap_kw * 1000.0 / (car.driveline_efficiency * omega))
    fuel = limits.get("fuel_flow")
    if fuel is not None:
        cap = fuel.limit(rpm) * (1 - FUEL_MARGIN)
        torque = np.minimum(torque, cap / car.bsfc_kg_kwh * 1000.0 / omega * power_factor)
    return torque


def boost_limit(limits: Limits, rpm: np.ndarray, ambient: np.ndarray) -> np.ndarray | None:
    rule = limits.get("boost")
    if rule is None:
        return None
    limit = rule.limit(rpm)
    if rule.ambient_correction:
        limit = limit + (ambient - limits.reference_ambient_bar)
    return limit


def drive_session(track: Track, car: CarModel, limits: Limits, plan: SessionPlan, *, wheel_radius_m: float,
                  seed: int, power_offset_pct: float = 0.0, boost_margin_bar: float | None = None,
                  mass_kg: float | None = None) -> Drive:
    """One session of ``car`` on ``track``; the BoP knobs (docs/simulator.md, "BoP test knobs") default to off:

    ``power_offset_pct``: the engine makes that much more torque (and power) at the same boost and rpm (fuel flow
    unchanged); ``boost_margin_bar``: how far under the (ambient-corrected) boost limit the team's full-throttle
    boost target sits (None: the usual 0.035 bar; without a boost limit, under the nominal boost, None = 0);
    ``mass_kg``: the car's mass (None: the model's own).
    """
    rng = np.random.default_rng(seed)
    radius = wheel_radius_m
    mass = car.mass_kg if mass_kg is None else float(mass_kg)
    factor = 1.0 + float(power_offset_pct) / 100.0
    margin = BOOST_MARGIN_BAR if boost_margin_bar is None else float(boost_margin_bar)
    ambient0 = (plan.ambient_bar if plan.ambient_bar is not None else track.ambient_mbar / 1000.0)
    # a lap speed profile with the power the calibrated engine gives at the wheels around its peak
    peak_w = _peak_wheel_power_w(car, limits, ambient0, power_offset_pct, boost_margin_bar)
    lap_t, lap_s, lap_v, stops, refuels, crossings = _lap_plan(track, car, plan, peak_w, rng, mass)

    n = int(round(plan.duration_s / DT))
    t = np.arange(n) * DT
    dist = np.interp(t, lap_t, lap_s)
    v = np.interp(t, lap_t, lap_v)
    accel = np.gradient(v, DT)
    accel = np.convolve(accel, np.ones(10) / 10, mode="same")
    drag = 0.5 * 1.2 * car.cda_m2 * v ** 3 + 0.015 * mass * 9.81 * v
    need_w = mass * accel * v + drag

    moving = v > 0.3
    ambient = ambient0 + 0.0015 * np.sin(2 * np.pi * t / 5400.0 + rng.uniform(0, 6.28)) \
        + rng.normal(0, 0.0002, n)
    throttle_guess = np.clip(need_w / max(peak_w, 1.0), 0.0, 1.0)
    slip = np.where(v < 25, 0.012, 0.004) * throttle_guess
    v_rear = v * (1 + slip)
    gear = _gears(v_rear, accel, car, radius)
    gear = np.where(moving, gear, np.where(need_w > 0, 1, 0))
    ratio = np.asarray((0.0,) + car.gear_ratios)[gear] * car.final_drive
    rpm_wheel = v_rear / radius * ratio * 30.0 / np.pi
    rpm = np.maximum(rpm_wheel, np.where(gear == 1, np.maximum(car.idle_rpm, 3000 * (v < 8)), car.idle_rpm))
    rpm = rpm + rng.normal(0, 3.0, n)
    speed_kmh = v * 3.6

    limit = boost_limit(limits, rpm, ambient)
    if car.engine == "turbo":
        nominal = car.nominal_boost_bar
        if limit is None:
            target = nominal if boost_margin_bar is None else nominal - margin
        else:
            target = np.minimum(nominal, limit - margin)
        target = np.broadcast_to(target, rpm.shape)
    else:
        target = ambient
    torque_cal = _calibrated_torque(car, limits, rpm, speed_kmh, target, ambient, factor)
    omega_e = rpm * np.pi / 30.0
    avail_w = torque_cal * omega_e * car.driveline_efficiency
    throttle = np.clip(need_w / np.maximum(avail_w, 1.0), 0.0, 1.0) * moving
    throttle = np.where(~moving & (need_w > 0), 0.2, throttle)
    throttle = np.convolve(throttle, np.ones(5) / 5, mode="same")
    # shift cuts: engine torque off for 40 ms after each upshift
    cut = np.zeros(n, bool)
    for i in np.flatnonzero(np.diff(gear) > 0) + 1:
        cut[i:i + int(SHIFT_CUT_S / DT)] = True
    engine_torque = np.where(cut, 0.0, throttle * torque_cal)
    braking = (throttle < 0.02) & moving & (rpm > car.idle_rpm + 500)
    engine_torque = np.where(braking, -45.0 * rpm / car.shift_rpm, engine_torque)

    load = first_order_lag(throttle, 0.3 if car.engine == "turbo" else 0.05)
    if car.engine == "turbo":
        spool = np.clip((rpm - car.idle_rpm) / 2500.0, 0.3, 1.0)
        boost = ambient + (target * spool - ambient).clip(0) * load
        engine_torque = np.where(engine_torque > 0,
                                 engine_torque * np.clip((boost - ambient) / np.maximum(target - ambient, 0.05),
                                                         0.0, 1.0) ** 0.3, engine_torque)
    else:
        boost = ambient * (0.32 + 0.62 * load)
    boost = boost + rng.normal(0, 0.003, n)

    shaft_total = engine_torque * ratio * car.driveline_efficiency * (gear > 0)
    split = 0.5 + 0.015 * np.sin(2 * np.pi * dist / 700.0)
    omega_rear = v_rear / radius
    burnt = engine_torque if factor == 1.0 else engine_torque / factor   # fuel for the equal-boost torque
    fuel = np.where(engine_torque > 0, burnt * omega_e / 1000.0 * car.bsfc_kg_kwh, 0.0)
    fuel = np.where(~moving, 1.4, np.where(braking, 0.25, fuel + 1.0))
    fuel = np.maximum(fuel + rng.normal(0, 0.25, n), 0.0)

    lap = np.searchsorted(np.asarray(crossings), t, side="right")
    refuel = np.zeros(n)
    for a, b in refuels:
        refuel[(t >= a) & (t < b)] = 1.0
    front_delta = 0.01 * np.sin(2 * np.pi * dist / 500.0)
    # speed sensors are never exactly constant: the pit limiter hunts around its set speed, sensors have noise
    hunting = moving * (0.3 * np.sin(2 * np.pi * t / 1.3) + rng.normal(0, 0.05, n))
    speed_kmh = speed_kmh + hunting
    v_rear = v_rear + hunting / 3.6
    channels = {
        "engine_speed": rpm,
        "boost_pressure": boost,
        "ambient_pressure": ambient,
        "fuel_flow": fuel,
        "engine_torque": engine_torque + rng.normal(0, 1.0, n),
        "driveshaft_torque_left": shaft_total * split + rng.normal(0, 3.0, n),
        "driveshaft_torque_right": shaft_total * (1 - split) + rng.normal(0, 3.0, n),
        "vehicle_speed": speed_kmh,
        "wheel_speed_fl": speed_kmh * (1 + front_delta),
        "wheel_speed_fr": speed_kmh * (1 - front_delta),
        "wheel_speed_rl": v_rear * 3.6,
        "wheel_speed_rr": v_rear * 3.6,
        "throttle": throttle * 100.0,
        "gear": gear.astype(np.float64),
        "refuel": refuel,
        "lap": lap.astype(np.float64),
    }
    lap_start = np.concatenate([[0.0], crossings])
    last_lap = np.concatenate([[0.0], np.diff(lap_start)])
    fuel_used = np.cumsum(fuel) * DT / 3.6   # g
    extras = {
        "LapDistance": dist % track.length_m,
        "LastLapTime": last_lap[np.minimum(lap, len(last_lap) - 1)],
        "BeaconActive": ((lap > 0) & (t - lap_start[np.minimum(lap, len(lap_start) - 1)] < 0.1)).astype(float),
        "DriveshaftSpeed": omega_rear * 30.0 / np.pi,
        "GPSSpeed": v,
        "GPSLatitude": track.latitude + 0.004 * np.sin(2 * np.pi * dist / track.length_m),
        "GPSLongitude": track.longitude + 0.006 * np.cos(2 * np.pi * dist / track.length_m),
        "AccelLong": accel / 9.81,
        "AccelLat": 1.5 * np.sin(2 * np.pi * dist / 450.0) * np.clip(v / 40.0, 0, 1),
        "FuelUsed": fuel_used,
        "AmbientTemp": np.full(n, 21.5),
        "ChargeAirTemp": 38.0 + 12.0 * load,
        "FuelTemp": np.full(n, 31.0),
        "PitLimiter": ((dist % track.length_m < 350) | (dist % track.length_m > track.length_m - 350))
        .astype(np.float64) * (speed_kmh < 62),
        "LoggerSupply": np.full(n, 13.8),
    }
    cap = limits.get("throttle")
    if cap is not None:              # the team's throttle map stops the butterfly under the cap (SPEC §5)
        channels["throttle"] = np.minimum(channels["throttle"], cap.limit.values[0] - THROTTLE_MARGIN_PCT)
    # the logger's IMU (SPEC §5): its own noise source, so the channels above stay what they were without it
    imu = np.random.default_rng([seed, 11])
    channels["long_accel"] = accel / G0 + imu.normal(0, 0.008, n)
    channels["lat_accel"] = lateral_g(track, dist, v) * moving + imu.normal(0, 0.01, n)
    stint_bounds = [0.0] + [a for a, _ in refuels] + [plan.duration_s]
    stints = tuple((stint_bounds[i], stint_bounds[i + 1]) for i in range(len(stint_bounds) - 1))
    return Drive(t, channels, extras, stints, tuple(c for c in crossings if c < plan.duration_s), radius, limits,
                 {"peak_wheel_power_kw": peak_w / 1000.0, "ambient_bar": ambient0, "mass_kg": mass,
                  "peak_engine_power_kw": peak_w / car.driveline_efficiency / 1000.0})


def peak_wheel_power_kw(car: CarModel, limits: Limits, ambient_bar: float, *, power_offset_pct: float = 0.0,
                        boost_margin_bar: float | None = None) -> float:
    """Peak full-throttle power at the wheels (kW) of ``car`` calibrated to ``limits`` at ``ambient_bar``, with
    the knobs of :func:`drive_session`: the power its lap speed profile uses and a run's expected peak."""
    return _peak_wheel_power_w(car, limits, ambient_bar, power_offset_pct, boost_margin_bar) / 1000.0


def _peak_wheel_power_w(car: CarModel, limits: Limits, ambient_bar: float, power_offset_pct: float,
                        boost_margin_bar: float | None) -> float:
    factor = 1.0 + float(power_offset_pct) / 100.0
    margin = BOOST_MARGIN_BAR if boost_margin_bar is None else float(boost_margin_bar)
    rpm_probe = np.linspace(car.torque_rpm[0], car.shift_rpm, 60)
    probe_boost = _probe_boost(limits, rpm_probe, ambient_bar, margin)
    if limits.get("boost") is None and boost_margin_bar is not None:
        probe_boost = np.full(rpm_probe.shape, car.nominal_boost_bar - margin)
    probe = _calibrated_torque(car, limits, rpm_probe, np.full(60, 250.0),
                               np.minimum(car.nominal_boost_bar, probe_boost), ambient_bar, factor)
    return float(np.max(probe * rpm_probe * np.pi / 30.0)) * car.driveline_efficiency


def _probe_boost(limits: Limits, rpm: np.ndarray, ambient: float, margin: float = BOOST_MARGIN_BAR) -> np.ndarray:
    limit = boost_limit(limits, rpm, np.full(rpm.shape, ambient))
    return np.full(rpm.shape, 9.0) if limit is None else limit - margin
