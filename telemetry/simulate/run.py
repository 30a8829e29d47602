"""One simulated session, end to end: drive, inject, encode, write the log, and return its ground truth."""

from __future__ import annotations

import hashlib
import json
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from ..errors import TelemetryError
from ..frames import Frames
from .cars import DBC_DIR, car_model, load_car_profile
from .drive import BOOST_MARGIN_BAR, DT, SessionPlan, boost_limit, drive_session
from .encode import encode_chunk, plan_messages, sample_message
from .injections import (
    QUALITY_KINDS,
    FrameInjector,
    Injection,
    apply_signal_injections,
    shaft_power_kw,
    stint_energies_mj,
)
from .knobs import knobs_set
from .limits import bulletin_weight, load_limits, no_limits, power_limit
from .track import TRACKS
from .truth import expected_rules
from .writers import DecodedGroup, open_writer, write_mdf_decoded

__all__ = ["SimConfig", "simulate_log", "DEFAULT_START", "performance"]

log = logging.getLogger(__name__)
DEFAULT_START = datetime(2026, 6, 27, 9, 0, 0, tzinfo=UTC)
VERSION = "0.1.0"


@dataclass(frozen=True, slots=True)
class SimConfig:
    model: str
    out: Path
    fmt: str = "blf"
    duration_s: float = 300.0
    track: str = "brands_hatch_gp"
    seed: int = 1
    start: datetime = DEFAULT_START
    bulletin: Path | None = None
    profile: Path | None = None                  # default: dbc/<model>.toml
    injections: tuple[Injection, ...] = ()
    pit_stops: tuple[float, ...] = ()
    start_in_pit: bool = True
    message_set: str = "all"                     # "all" DBC messages, or "logged": only what a BoP check reads
    gz: bool = False
    chunk_s: float = 60.0
    compression_level: int = 6
    ground_truth: Path | None = None             # default: <out>.truth.json
    extra_truth: dict = field(default_factory=dict)
    omit_channels: tuple[str, ...] = ()          # mapped channels this logger does not record (e.g. no IMU)
    car: str | None = None                       # the car number: its [cars."N"] entry in the bulletin applies
    stop_s: float = 14.0                         # stationary time per pit stop
    refuel_s: float = 9.0                        # refuelling sensor on for this long, 2 s into each stop
    # BoP test knobs (telemetry/simulate/knobs.py; all off by default: no change to any output)
    power_offset_pct: float = 0.0                # % more torque/power at the same boost and rpm
    boost_margin_bar: float | None = None        # full-throttle boost target under the limit (None: 0.035 bar)
    mass_kg: float | str | None = None           # kg, "bulletin" (min weight + ballast), None: the model's own


def _rel(path: Path, base: Path) -> str:
    try:
        return Path(os.path.relpath(path, base)).as_posix()
    except ValueError:
        return path.as_posix()


def _profile_name(path: Path) -> str:
    """``dbc/<name>`` for a shipped profile (the same on every machine), else the path as given."""
    return f"dbc/{path.name}" if path.resolve().parent == DBC_DIR.resolve() else path.as_posix()


def _headroom(drive, events, source: str) -> dict[str, float]:
    """Largest value - limit outside injected events, per rule (negative: stayed under the limit)."""
    inside = np.zeros(len(drive.t), bool)
    for e in events:
        if "end_s" in e and e["kind"] in ("boost", "fuel_flow", "power", "boost_gated", "rev_limit", "throttle"):
            inside[int(e["start_s"] / DT) - 5: int(e["end_s"] / DT) + 5] = True
    out = {}
    ch = drive.channels
    limits = drive.limits
    if limits.get("boost"):
        out["boost"] = float(np.max((ch["boost_pressure"] - boost_limit(limits, ch["engine_speed"],
                                                                          ch["ambient_pressure"]))[~inside]))
    if limits.get("fuel_flow"):
        out["fuel_flow"] = float(np.max((ch["fuel_flow"] - limits.get("fuel_flow").limit(ch["engine_speed"]))[~inside]))
    if limits.get("power"):
        rule = limits.get("power")
        power = shaft_power_kw(ch, drive.wheel_radius_m, source)
        out["power"] = float(np.max((power - power_limit(rule, ch["engine_speed"], ch["vehicle_speed"]))[~inside]))
    if limits.get("rev_limit"):
        rule = limits.get("rev_limit")
        out["rev_limit"] = float(np.max((ch["engine_speed"] - rule.limit(ch["gear"]))[~inside]))
    if limits.get("throttle"):
        out["throttle"] = float(np.max((ch["throttle"] - limits.get("throttle").limit.values[0])[~inside]))
    return {k: round(v, 4) for k, v in out.items()}


def _mass(config: SimConfig) -> tuple[float | None, dict | None]:
    """The mass knob resolved to kg (None: the model's own), with the bulletin's weight when it came from there."""
    if config.mass_kg is None or not isinstance(config.mass_kg, str):
        return config.mass_kg, None
    if config.mass_kg != "bulletin":
        raise TelemetryError(f"mass_kg {config.mass_kg!r} is neither kg nor 'bulletin'", place="--mass",
                             fix="give kg or 'bulletin'")
    if config.bulletin is None:
        raise TelemetryError("mass 'bulletin' without a bulletin", place="--mass", fix="give --bulletin")
    weight = bulletin_weight(config.bulletin, config.model, config.car)
    return weight["mass_kg"], weight


def _knobs_truth(config: SimConfig, car, drive, weight: dict | None) -> dict:
    turbo = car.engine == "turbo"
    margin = config.boost_margin_bar
    return {"power_offset_pct": float(config.power_offset_pct),
            "boost_margin_bar": (BOOST_MARGIN_BAR if margin is None else float(margin)) if turbo else None,
            "boost_margin_given": margin is not None,
            "mass_kg": round(float(drive.nominal["mass_kg"]), 3),
            "mass_from": "model" if config.mass_kg is None else "bulletin" if weight else "given",
            **({"bulletin_weight": weight} if weight else {})}


def performance(drive, source: str) -> dict:
    """Expected and measured peak power (in the terms power is logged: drive shafts or engine) and their
    power-to-weight, from the simulated channels (what the log holds, before frame faults)."""
    expected = drive.nominal["peak_engine_power_kw" if source == "engine" else "peak_wheel_power_kw"]
    power = shaft_power_kw(drive.channels, drive.wheel_radius_m, source)
    k = int(round(0.5 / DT))
    smooth = np.convolve(power, np.ones(k) / k, mode="valid") if len(power) >= k else power
    measured = float(np.max(smooth)) if len(smooth) else 0.0
    mass = float(drive.nominal["mass_kg"])
    return {"power_basis": source, "expected_peak_power_kw": round(expected, 3),
            "measured_peak_power_kw": round(measured, 3),
            "expected_power_to_weight_kw_kg": round(expected / mass, 6),
            "measured_power_to_weight_kw_kg": round(measured / mass, 6)}


def simulate_log(config: SimConfig, progress: Callable[[int, int | None, str], None] | None = None) -> dict:
    """Write one session's log to ``config.out`` and its ground truth (JSON) beside it; return the truth."""
    if config.track not in TRACKS:
        raise TelemetryError(f"unknown track {config.track!r}", place="--track", fix=f"use one of {', '.join(TRACKS)}")
    car = car_model(config.model)
    profile_path = config.profile or DBC_DIR / f"{config.model}.toml"
    profile = load_car_profile(profile_path)
    if config.omit_channels:
        profile = replace(profile, channels={k: v for k, v in profile.channels.items()
                                             if k not in config.omit_channels})
    limits = (load_limits(config.bulletin, config.model, config.car) if config.bulletin
              else no_limits(config.model))
    rng = np.random.default_rng([config.seed, 7])
    plan = SessionPlan(config.duration_s, start_in_pit=config.start_in_pit, pit_stops=config.pit_stops,
                       stop_s=config.stop_s, refuel_s=config.refuel_s)
    mass_kg, weight = _mass(config)
    drive = drive_session(TRACKS[config.track], car, limits, plan, wheel_radius_m=profile.wheel_radius_m,
                          seed=config.seed, power_offset_pct=config.power_offset_pct,
                          boost_margin_bar=config.boost_margin_bar, mass_kg=mass_kg)
    injections = list(config.injections)
    drive, events = apply_signal_injections(drive, injections, car, profile, rng)
    plans = plan_messages(profile, set(drive.extras), message_set=config.message_set,
                          torque_sensors=car.torque_sensors)
    avoid = [(e["start_s"] - 1, e["end_s"] + 1) for e in events if "end_s" in e and e["kind"] != "stint_energy"]
    frame_faults = FrameInjector(injections, plans, config.duration_s, profile, rng, avoid)
    events += frame_faults.events
    source = profile.power_source or ("driveshaft" if car.torque_sensors else "engine")

    out = Path(config.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    total_frames = 0
    n_chunks = int(np.ceil(config.duration_s / config.chunk_s))
    if config.fmt == "mdf":
        if any(i.kind in ("checksum", "dropped", "time_jump") for i in injections):
            raise TelemetryError("decoded-channel MDF has no frames, counters or checksums",
                                 place="--inject", fix="use a raw-frame format for frame faults")
        groups = _decoded_groups(plans, drive, config, frame_faults)
        write_mdf_decoded(out, groups, config.start)
        total_frames = None
    else:
        writer = open_writer(out, config.fmt, config.start, gz=config.gz,
                             compression_level=config.compression_level)
        try:
            for c in range(n_chunks):
                t0, t1 = c * config.chunk_s, min(config.duration_s, (c + 1) * config.chunk_s)
                frames = encode_chunk(plans, drive, t0, t1, frame_faults.filter)
                if frame_faults.jumps:
                    frames = Frames(frame_faults.shift(frames.timestamp), frames.bus, frames.arbitration_id,
                                    frames.flags, frames.length, frames.data)
                writer.write(frames)
                total_frames += len(frames)
                if progress:
                    progress(c + 1, n_chunks, f"{out.name}")
        finally:
            writer.close()
    for inj in injections:
        if inj.kind == "truncate":
            size = out.stat().st_size
            keep = int(size * inj.get("keep"))
            with open(out, "r+b") as f:
                f.truncate(keep)
            events.append({"kind": "truncate", "original_bytes": size, "kept_bytes": keep})

    truth = _truth(config, car, profile_path, limits, drive, events, plans, total_frames, source, out)
    if knobs_set(config):
        truth["knobs"] = _knobs_truth(config, car, drive, weight)
        truth["performance"] = performance(drive, source)
    truth_path = config.ground_truth or out.with_name(out.name + ".truth.json")
    truth_path.parent.mkdir(parents=True, exist_ok=True)
    truth_path.write_text(json.dumps(truth, indent=1, sort_keys=True) + "\n")
    return truth


def _decoded_groups(plans, drive, config: SimConfig, faults: FrameInjector) -> list[DecodedGroup]:
    from .encode import frame_times

    groups = []
    seen: set[str] = set()
    for plan in plans:
        if plan.message.is_multiplexed():
            continue
        k, t = frame_times(plan, 0.0, config.duration_s)
        dummy = np.zeros((len(k), plan.message.length), np.uint8)
        k, t, _ = faults.filter(plan, k, t, dummy)
        raws = sample_message(plan, drive, k, t)
        channels = []
        for s in plan.message.signals:
            if plan.sources[s.name][0] in ("counter", "zero") or s.name in seen:
                continue
            seen.add(s.name)
            unit = plan.sources[s.name][2] if plan.sources[s.name][0] == "channel" else (s.unit or "")
            channels.append((s.name, raws[s.name] * s.scale + s.offset, unit))
        if len(t) and channels:
            groups.append(DecodedGroup(plan.name, t, tuple(channels)))
    return groups


def _truth(config, car, profile_path, limits, drive, events, plans, total_frames, source, out) -> dict:
    base = out.parent
    energies = stint_energies_mj(drive, source)
    rules = expected_rules(limits, drive, events, energies, config.duration_s)
    quality = sorted({e["kind"] for e in events if e["kind"] in QUALITY_KINDS})
    verdict = ("infringement" if any(r["infringes"] for r in rules.values())
               else "incomplete" if quality else "compliant")
    size = out.stat().st_size
    return {
        "generator": {"tool": "bopwatch simulate", "version": VERSION, "seed": config.seed},
        "file": {"path": out.name, "format": config.fmt, "gzip": config.gz, "frames": total_frames,
                 "bytes": size, "sha256": hashlib.sha256(out.read_bytes()).hexdigest()},
        "car": {"model": car.model, "name": car.name, "class": car.car_class, "engine": car.engine,
                "profile": _profile_name(Path(profile_path)), "power_source": source,
                "wheel_radius_m": drive.wheel_radius_m},
        "session": {"track": config.track, "start": config.start.strftime("%Y-%m-%dT%H:%M:%SZ"),
                    "duration_s": config.duration_s, "laps": [round(x, 3) for x in drive.laps],
                    "stints": [[round(a, 3), round(min(b, config.duration_s), 3)] for a, b in drive.stints],
                    "stint_energy_mj": [round(e, 3) for e in energies],
                    "message_set": config.message_set,
                    "messages": [{"bus": p.bus, "name": p.name, "id": p.message.frame_id,
                                  "cycle_ms": round(p.cycle_s * 1000)} for p in plans]},
        "bulletin": None if config.bulletin is None else {"id": limits.bulletin_id,
                                                          "path": _rel(Path(config.bulletin), base),
                                                          **({"car_entry": config.car} if config.car else {})},
        "injections": events,
        "headroom": _headroom(drive, events, source),
        "expected": {"rules": rules, "data_quality": quality, "verdict": verdict},
        **config.extra_truth,
    }
