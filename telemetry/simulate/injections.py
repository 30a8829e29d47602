"""Faults put into a simulated session on purpose, each recorded as ground truth.

Signal injections change the drive before encoding (``boost``, ``fuel_flow``, ``power`` excursions over the
limit, ``stint_energy`` excess, a ``frozen`` sensor; and for SPEC §5 bulletins ``rev_limit`` over-revs,
``throttle`` over its cap, a short ``refuel_time``, and ``boost_gated`` excursions placed only where the boost
rule's ``when`` gate is shut, which must not count); each changes only the channels of its own rule, so the
truth stays unambiguous. Where a rule has a ``when`` gate, counted excursions are placed where it is open. Frame injections act on encoded frames (``gap``, ``dropped`` frames, ``checksum``
failures, a ``missing`` channel, a ``time_jump``); ``truncate`` cuts the written file.

Text form (CLI): ``kind:key=value,key=value``; lists of times separated by ``;`` (``boost:at=61.5;130``).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np

from ..errors import TelemetryError
from .cars import CarModel, CarProfile
from .drive import DT, Drive, boost_limit
from .limits import gate, power_limit

__all__ = ["Injection", "parse_injection", "KINDS", "apply_signal_injections", "FrameInjector", "shaft_power_kw",
           "stint_energies_mj", "SIGNAL_KINDS", "QUALITY_KINDS"]

#: kind -> (parameters with defaults, help text)
KINDS: dict[str, tuple[dict, str]] = {
    "boost": ({"count": 6, "height": 0.08, "duration": 0.4, "at": None, "between": None},
              "over-boost excursions: count, height over the ambient-corrected limit (bar), duration (s), at (s), "
              "between (a;b: all start in [a, b) s)"),
    "fuel_flow": ({"count": 4, "height": 4.0, "duration": 0.8, "at": None, "between": None},
                  "fuel-flow excess: count, height over the limit (kg/h), duration (s), at (s), between"),
    "power": ({"count": 4, "height": 12.0, "duration": 0.8, "at": None, "between": None},
              "power excess at the drive shafts (or engine): count, height over the limit (kW), duration, at, "
              "between"),
    "rev_limit": ({"count": 3, "height": 250.0, "duration": 0.4, "at": None, "between": None},
                  "over-revs: engine speed held `height` rpm over the (per-gear) rev limit for `duration` s"),
    "throttle": ({"count": 3, "height": 8.0, "duration": 1.0, "at": None, "between": None},
                 "throttle over its cap: `height` points over max_pct (at most 100 %) for `duration` s"),
    "refuel_time": ({"stop": 0, "duration": 30.0},
                    "a short refuelling: the refuelling of pit stop `stop` lasts only `duration` s"),
    "boost_gated": ({"count": 4, "height": 0.08, "duration": 0.3, "at": None, "between": None},
                    "over-boost only while the boost rule's `when` gate is shut (lifting, braking): not counted"),
    "stint_energy": ({"stint": -1, "factor": 1.12},
                     "energy over a stint: drive-shaft torque x factor through stint number `stint` (-1: longest)"),
    "frozen": ({"channel": "boost_pressure", "at": None, "duration": 6.0},
               "frozen sensor: the channel holds one value from `at` for `duration` s"),
    "gap": ({"at": None, "duration": 4.0}, "logging gap: no frames on any bus from `at` for `duration` s"),
    "dropped": ({"message": "LOG_Pressures", "count": 5},
                "dropped frames: `count` single frames of `message` lost (rolling-counter skips)"),
    "checksum": ({"message": "LOG_Fuel", "count": 5}, "checksum failures: `count` frames of `message` corrupted"),
    "missing": ({"channel": "fuel_flow"}, "missing channel: the message carrying `channel` is never sent"),
    "time_jump": ({"at": None, "delta": 2.5}, "time jump: time stamps from `at` on move by `delta` s"),
    "truncate": ({"keep": 0.85}, "truncated file: only the first `keep` fraction of the bytes is written"),
}
SIGNAL_KINDS = ("boost", "fuel_flow", "power", "stint_energy", "frozen", "rev_limit", "throttle", "refuel_time",
                "boost_gated")
_EXCURSIONS = ("boost", "fuel_flow", "power", "rev_limit", "throttle", "boost_gated")
QUALITY_KINDS = ("frozen", "gap", "dropped", "checksum", "missing", "time_jump", "truncate")


@dataclass(frozen=True, slots=True)
class Injection:
    kind: str
    params: dict = field(default_factory=dict)

    def get(self, key: str):
        return self.params.get(key, KINDS[self.kind][0][key])


def parse_injection(text: str) -> Injection:
    kind, _, rest = text.partition(":")
    kind = kind.strip()
    if kind not in KINDS:
        raise TelemetryError(f"unknown injection {kind!r}", place="--inject", fix=f"use one of {', '.join(KINDS)}")
    defaults = KINDS[kind][0]
    params: dict = {}
    for item in filter(None, (p.strip() for p in rest.split(","))):
        key, _, value = item.partition("=")
        if key not in defaults:
            raise TelemetryError(f"injection {kind} has no parameter {key!r}", place=f"--inject {text}",
                                 fix=f"use {', '.join(defaults)}")
        if key in ("at", "between"):
            params[key] = tuple(float(v) for v in value.split(";") if v)
        elif key in ("channel", "message"):
            params[key] = value
        elif key in ("count", "stint", "stop"):
            params[key] = int(value)
        else:
            params[key] = float(value)
    return Injection(kind, params)


def shaft_power_kw(channels: dict[str, np.ndarray], radius: float, source: str) -> np.ndarray:
    """Power as SPEC §1 derives it: drive-shaft torques x rear wheel angular speed, or engine torque x speed."""
    if source == "engine":
        return channels["engine_torque"] * channels["engine_speed"] * np.pi / 30.0 / 1000.0
    omega = 0.5 * (channels["wheel_speed_rl"] + channels["wheel_speed_rr"]) / 3.6 / radius
    return (channels["driveshaft_torque_left"] + channels["driveshaft_torque_right"]) * omega / 1000.0


def stint_energies_mj(drive: Drive, source: str) -> list[float]:
    """Energy (MJ) per stint between refuellings; negative power (engine braking) counts as 0."""
    power = np.maximum(shaft_power_kw(drive.channels, drive.wheel_radius_m, source), 0.0)
    out = []
    for a, b in drive.stints:
        sel = (drive.t >= a) & (drive.t < b) & (drive.channels["refuel"] < 0.5)
        out.append(float(power[sel].sum() * DT / 1000.0))
    return out


def _windows(ok: np.ndarray, need: int, taken: list[tuple[int, int]], rng, count: int) -> list[int]:
    """``count`` start indices where ``ok`` holds for ``need`` samples, apart from each other and ``taken``."""
    run = np.convolve(ok.astype(np.int32), np.ones(need, np.int32), mode="valid") == need
    starts = np.flatnonzero(run)
    starts = starts[(starts > 200) & (starts < len(ok) - need - 200)]
    chosen: list[int] = []
    for i in rng.permutation(starts):
        if all(i + need + 100 < a or i > b + 100 for a, b in taken):
            chosen.append(int(i))
            taken.append((int(i), int(i) + need))
            if len(chosen) == count:
                break
    return sorted(chosen)


#: how far past a `when` threshold a channel must be for a placed excursion to be surely gated in (or out)
_GATE_MARGIN = {"throttle": 8.0, "engine_speed": 250.0, "long_accel": 0.06, "lat_accel": 0.06,
                "vehicle_speed": 5.0}


def _condition(channel: np.ndarray, op: str, number: float, margin: float) -> np.ndarray:
    """Where the condition holds by ``margin`` (margin > 0), or fails by -margin (margin < 0: it fails there)."""
    return channel >= number + margin if op in (">", ">=") else channel <= number - margin


def _gate_open(rule, ch) -> np.ndarray:
    ok = np.ones(len(ch["engine_speed"]), bool)
    for name, op, number in rule.when:
        ok &= _condition(ch[name], op, number, _GATE_MARGIN.get(name, 0.0))
    return ok


def _gate_shut(rule, ch) -> np.ndarray:
    """Where some condition surely fails: throttle and (when gated on) acceleration clearly on the wrong side."""
    shut = np.zeros(len(ch["engine_speed"]), bool)
    for name, op, number in rule.when:
        m = _GATE_MARGIN.get(name, 0.0)
        shut |= (ch[name] <= number - 1.5 * m) if op in (">", ">=") else (ch[name] >= number + 1.5 * m)
    return shut


def _shut_by(rule, ch, i0: int, i1: int) -> list[str]:
    """The conditions of the gate that fail at every sample of [i0, i1)."""
    sel = {k: v[i0:i1] for k, v in ch.items()}
    return sorted(name for name, op, number in rule.when if not gate(
        type(rule)(rule.name, rule.limit, rule.unit, when=((name, op, number),)), sel).any())


def _erode(ok: np.ndarray, k: int) -> np.ndarray:
    """True where ``ok`` holds at every sample within ``k`` samples either side."""
    run = np.convolve(ok.astype(np.int32), np.ones(2 * k + 1, np.int32), mode="same")
    return run == 2 * k + 1


def _runs(flag: np.ndarray) -> list[tuple[int, int]]:
    edges = np.flatnonzero(np.diff(np.concatenate([[0], flag.astype(np.int8), [0]])))
    return [(int(a), int(b)) for a, b in zip(edges[::2], edges[1::2], strict=True)]


def _plateau(x: np.ndarray, target: np.ndarray, i0: int, i1: int, noise: np.ndarray) -> None:
    for j, w in enumerate((0.25, 0.5, 0.75)):
        x[i0 - 3 + j] = (1 - w) * x[i0 - 3 + j] + w * target[i0 - 3 + j]
        x[i1 + 2 - j] = (1 - w) * x[i1 + 2 - j] + w * target[i1 + 2 - j]
    x[i0:i1] = target[i0:i1] + noise


def apply_signal_injections(drive: Drive, injections: list[Injection], car: CarModel, profile: CarProfile,
                            rng: np.random.Generator) -> tuple[Drive, list[dict]]:
    ch = {k: v.copy() for k, v in drive.channels.items()}
    limits = drive.limits
    events: list[dict] = []
    taken: list[tuple[int, int]] = []
    source = profile.power_source or "driveshaft"
    cap = limits.get("throttle")
    top = 99.0 if cap is None else cap.limit.values[0] - 3.0      # full throttle (at the team's cap, if any)
    full = (ch["throttle"] >= top) & (ch["vehicle_speed"] > 80)
    steady = np.concatenate([[True], np.diff(ch["gear"]) == 0])
    for inj in injections:
        if inj.kind not in _EXCURSIONS:
            continue
        rule_name = "boost" if inj.kind == "boost_gated" else inj.kind
        rule = limits.get(rule_name)
        if rule is None:
            raise TelemetryError(f"the bulletin has no {rule_name} rule for {car.model}", place=f"--inject {inj.kind}",
                                 fix="give a bulletin with that rule (--bulletin) or inject another kind")
        if inj.kind == "boost_gated" and not rule.when:
            raise TelemetryError(f"the {car.model} boost rule has no when gate", place="--inject boost_gated",
                                 fix="give a bulletin whose boost rule carries when = {...}")
        need = int(round(inj.get("duration") / DT))
        if inj.kind == "boost_gated":
            ok = _erode(_gate_shut(rule, ch) & steady, 12) & (ch["vehicle_speed"] > 80)
        elif inj.kind == "rev_limit":
            ok = full & steady & (ch["engine_speed"] > car.shift_rpm - 700)
        else:
            ok = full & steady & (ch["engine_speed"] > 4500)
        if rule.when and inj.kind != "boost_gated":
            ok &= _erode(_gate_open(rule, ch), 12)
        between = inj.get("between")
        if between:
            ok &= (drive.t >= between[0]) & (drive.t < between[1] - inj.get("duration"))
        at = inj.get("at")
        starts = [int(round(a / DT)) for a in at] if at else _windows(ok, need + 10, taken, rng, inj.get("count"))
        if not at and len(starts) < inj.get("count"):
            raise TelemetryError(f"only {len(starts)} windows for {inj.get('count')} {inj.kind} excursions",
                                 place=f"--inject {inj.kind}", fix="simulate a longer session or widen between=")
        for start in starts:
            i0, i1 = start + 5, start + 5 + need
            extra: dict = {}
            if inj.kind in ("boost", "boost_gated"):
                limit = boost_limit(limits, ch["engine_speed"], ch["ambient_pressure"])
                _plateau(ch["boost_pressure"], limit + inj.get("height"), i0, i1, rng.normal(0, 0.002, need))
                value = ch["boost_pressure"]
                if inj.kind == "boost_gated":
                    extra = {"counted": False, "gated_out_by": _shut_by(rule, ch, i0 - 3, i1 + 3)}
            elif inj.kind == "fuel_flow":
                limit = rule.limit(ch["engine_speed"])
                _plateau(ch["fuel_flow"], limit + inj.get("height"), i0, i1, rng.normal(0, 0.2, need))
                value = ch["fuel_flow"]
            elif inj.kind == "rev_limit":
                limit = rule.limit(ch["gear"])
                _plateau(ch["engine_speed"], limit + inj.get("height"), i0, i1, rng.normal(0, 3.0, need))
                value = ch["engine_speed"]
                extra = {"gear": int(ch["gear"][i0])}
            elif inj.kind == "throttle":
                limit = np.full(len(drive.t), rule.limit.values[0])
                target = np.minimum(limit + inj.get("height"), 100.0)
                _plateau(ch["throttle"], target, i0, i1, np.zeros(need))
                value = ch["throttle"]
            else:
                limit = power_limit(rule, ch["engine_speed"], ch["vehicle_speed"])
                power = shaft_power_kw(ch, drive.wheel_radius_m, source)
                wanted = power.copy()
                _plateau(wanted, limit + inj.get("height"), i0, i1, rng.normal(0, 0.5, need))
                scale = np.ones_like(power)
                span = slice(i0 - 3, i1 + 3)
                scale[span] = wanted[span] / np.maximum(power[span], 1.0)
                names = ("engine_torque",) if source == "engine" else ("driveshaft_torque_left",
                                                                        "driveshaft_torque_right")
                for name in names:
                    ch[name] = ch[name] * scale
                value = shaft_power_kw(ch, drive.wheel_radius_m, source)
            seg = value[i0:i1]
            k = i0 + int(np.argmax(seg - limit[i0:i1]))
            events.append({"kind": inj.kind, "rule": rule_name, "start_s": round(i0 * DT, 3),
                           "end_s": round(i1 * DT, 3), "duration_s": round((i1 - i0) * DT, 3),
                           "peak": round(float(value[k]), 4), "limit": round(float(limit[k]), 4),
                           "excess": round(float(value[k] - limit[k]), 4), "unit": rule.unit, **extra})
    for inj in injections:
        if inj.kind == "refuel_time":
            runs = _runs(ch["refuel"] > 0.5)
            if inj.get("stop") >= len(runs):
                raise TelemetryError(f"no pit stop {inj.get('stop')} with a refuelling", place="--inject refuel_time",
                                     fix="simulate pit stops (--pit-stop) or name an earlier stop")
            a, b = runs[inj.get("stop")]
            cut = min(b, a + int(round(inj.get("duration") / DT)))
            ch["refuel"][cut:b] = 0.0
            rule = limits.get("refuel_time")
            events.append({"kind": "refuel_time", "rule": "refuel_time", "stop": inj.get("stop"),
                           "start_s": round(a * DT, 3), "end_s": round(cut * DT, 3),
                           "duration_s": round((cut - a) * DT, 3), "peak": round((cut - a) * DT, 3),
                           "limit": None if rule is None else rule.limit.values[0], "unit": "s"})
    for inj in injections:
        if inj.kind == "stint_energy":
            power = shaft_power_kw(ch, drive.wheel_radius_m, source)
            lengths = [b - a for a, b in drive.stints]
            index = inj.get("stint") if inj.get("stint") >= 0 else int(np.argmax(lengths))
            a, b = drive.stints[index]
            sel = (drive.t >= a) & (drive.t < b) & (power > 0)
            wanted = power.copy()
            wanted[sel] *= inj.get("factor")
            rule = limits.get("power")
            if rule is not None:
                cap_kw = power_limit(rule, ch["engine_speed"], ch["vehicle_speed"]) * 0.985
                wanted = np.where(sel, np.minimum(wanted, np.maximum(power, cap_kw)), wanted)
            scale = np.where(sel, wanted / np.maximum(power, 1e-3), 1.0)
            names = ("engine_torque",) if source == "engine" else ("driveshaft_torque_left", "driveshaft_torque_right")
            for name in names:
                ch[name] = ch[name] * scale
            events.append({"kind": "stint_energy", "rule": "stint_energy", "stint": index,
                           "start_s": round(a, 3), "end_s": round(min(b, drive.t[-1]), 3),
                           "factor": inj.get("factor"), "unit": "MJ"})
        elif inj.kind == "frozen":
            name = inj.get("channel")
            if name not in ch:
                raise TelemetryError(f"no channel {name!r} to freeze", place="--inject frozen",
                                     fix=f"use one of {', '.join(ch)}")
            at = inj.get("at")
            duration = inj.get("duration")
            i0 = int(round(at[0] / DT)) if at else _windows(ch["vehicle_speed"] > 60, int(duration / DT) + 20,
                                                             taken, rng, 1)[0] + 10
            i1 = min(len(drive.t), i0 + int(round(duration / DT)))
            ch[name][i0:i1] = ch[name][i0]
            events.append({"kind": "frozen", "channel": name, "start_s": round(i0 * DT, 3),
                           "end_s": round(i1 * DT, 3), "value": round(float(ch[name][i0]), 4)})
    return replace(drive, channels=ch), events


class FrameInjector:
    """Frame-level faults, applied to each message's frames before they are merged (``filter``), and to the
    merged chunk (``shift``)."""

    def __init__(self, injections: list[Injection], plans, duration_s: float, profile: CarProfile,
                 rng: np.random.Generator, avoid: list[tuple[float, float]]) -> None:
        self.events: list[dict] = []
        self.gaps: list[tuple[float, float]] = []
        self.missing: set[str] = set()
        self.drop: dict[str, set[int]] = {}
        self.corrupt: dict[str, set[int]] = {}
        self.jumps: list[tuple[float, float]] = []
        by_name = {p.name: p for p in plans}
        avoid = list(avoid)

        def free_time(length: float) -> float:
            for _ in range(1000):
                at = float(rng.uniform(10.0, max(10.5, duration_s - length - 10.0)))
                if all(at + length + 2 < a or at > b + 2 for a, b in avoid):
                    avoid.append((at, at + length))
                    return round(at, 2)
            raise TelemetryError("no free time left for an injection", place="--inject",
                                 fix="simulate a longer session or give at=")

        for inj in injections:
            if inj.kind == "gap":
                at = inj.get("at")[0] if inj.get("at") else free_time(inj.get("duration"))
                self.gaps.append((at, at + inj.get("duration")))
                self.events.append({"kind": "gap", "start_s": at, "end_s": round(at + inj.get("duration"), 3)})
            elif inj.kind in ("dropped", "checksum"):
                name = inj.get("message")
                if name not in by_name:
                    raise TelemetryError(f"the car sends no message {name!r}", place=f"--inject {inj.kind}",
                                         fix=f"use one of {', '.join(sorted(by_name))}")
                plan = by_name[name]
                if inj.kind == "checksum" and not plan.checksum:
                    raise TelemetryError(f"{name} has no checksum in the profile's [[integrity]]",
                                         place="--inject checksum", fix="name a message with a checksum")
                total = int(duration_s / plan.cycle_s) - 2
                picks = sorted(int(k) for k in rng.choice(np.arange(100, total - 100, 7), inj.get("count"),
                                                           replace=False))
                (self.drop if inj.kind == "dropped" else self.corrupt).setdefault(name, set()).update(picks)
                times = [round(plan.phase_s + k * plan.cycle_s, 6) for k in picks]
                self.events.append({"kind": inj.kind, "message": name, "bus": plan.bus, "count": len(picks),
                                    "times_s": times})
            elif inj.kind == "missing":
                channel = inj.get("channel")
                if channel not in profile.channels:
                    raise TelemetryError(f"the profile maps no channel {channel!r}", place="--inject missing",
                                         fix=f"use one of {', '.join(profile.channels)}")
                ref = profile.channels[channel]
                self.missing.add(ref.message)
                lost = sorted(c for c, r in profile.channels.items() if r.message == ref.message and r.bus == ref.bus)
                self.events.append({"kind": "missing", "message": ref.message, "bus": ref.bus, "channels": lost})
            elif inj.kind == "time_jump":
                at = inj.get("at")[0] if inj.get("at") else free_time(abs(inj.get("delta")))
                self.jumps.append((at, inj.get("delta")))
                self.events.append({"kind": "time_jump", "at_s": at, "delta_s": inj.get("delta")})

    def filter(self, plan, k, t, data):
        keep = np.ones(len(k), bool)
        if plan.name in self.missing:
            keep[:] = False
        for a, b in self.gaps:
            keep &= ~((t >= a) & (t < b))
        if plan.name in self.drop:
            keep &= ~np.isin(k, list(self.drop[plan.name]))
        if plan.name in self.corrupt:
            bad = np.isin(k, list(self.corrupt[plan.name]))
            if bad.any():
                byte = plan.message.get_signal_by_name(plan.checksum).start // 8
                data = data.copy()
                data[bad, byte] ^= 0xA5
        return k[keep], t[keep], data[keep]

    def shift(self, timestamp: np.ndarray) -> np.ndarray:
        out = timestamp
        for at, delta in self.jumps:
            out = np.where(timestamp >= at, out + delta, out)
        return out
