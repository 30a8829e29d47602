"""``check``: one session's logs, a car profile and the bulletin(s) -> a verdict.

``check_session`` judges a ``Session`` already in memory (what tests and the store use); ``check_logs`` reads
the logs first (``telemetry.load_session``) and picks the bulletin in force at the session's start.

A rule is ``infringement`` when its exceedances outnumber ``max_exceedances`` (exceedances found in the data
that was logged are evidence whatever else is wrong), else ``incomplete`` when a channel it needs is missing or
carries an error finding (or a session-wide error such as a truncated file), else ``compliant``. Samples
decoded from frames that failed their checksum, and samples of a frozen sensor, are left out of rule evaluation
(they are not measurements).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from telemetry.channels import Channel, Session

from ..bop.bulletins import Bulletin, RuleSpec, in_force, load_bulletins
from ..bop.kinds import rule_order
from ..errors import RuleError
from .laps import Laps, lap_at, segment_laps, summarise_laps
from .outings import SessionWindow, check_window
from .quality import check_quality, power_inputs
from .rules import evaluate
from .scope import judge_scopes
from .verdict import (
    COMPLIANT,
    INCOMPLETE,
    INFRINGEMENT,
    Exceedance,
    QualityFinding,
    RuleResult,
    Verdict,
    rounded,
    session_verdict,
    utc_text,
)

__all__ = ["CheckResult", "check_session", "check_logs", "tool_info", "rule_dependencies"]

log = logging.getLogger(__name__)
Progress = Callable[[int, int | None, str], None]


@dataclass(frozen=True, slots=True)
class CheckResult:
    verdict: Verdict
    session: Session
    bulletin: Bulletin
    laps: Laps | None


def tool_info() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version
    try:
        v = version("bopwatch")
    except PackageNotFoundError:  # pragma: no cover - source tree without installation
        v = "0.1.0"
    return {"name": "bopwatch", "version": v}


def rule_dependencies(spec: RuleSpec, profile: object | None) -> tuple[str, ...]:
    """Channels whose data-quality errors make ``spec`` incomplete: what it needs, plus what power is made of."""
    deps = list(spec.needs)
    if "power" in deps:
        deps.extend(power_inputs(profile))
    return tuple(dict.fromkeys(deps))


def _check_profile_maps(specs: Iterable[RuleSpec], profile: object, bulletin: Bulletin) -> None:
    """A profile that cannot provide a channel a rule needs is an input error (exit 2), not incomplete data."""
    mapped = set(getattr(profile, "channels", {}) or {})
    if getattr(profile, "power", None) is not None:
        mapped.add("power")
    path = getattr(profile, "path", None)
    for spec in specs:
        for channel in spec.needs:
            if channel not in mapped:
                fix = ('add a [power] table (source = "driveshaft" or "engine") or map power in [channels]'
                       if channel == "power" else f'map it in [channels], e.g. {channel} = "Message.Signal"')
                raise RuleError(
                    f"bulletin {bulletin.id} rule {spec.rule} needs channel {channel}, which the profile does "
                    "not provide", path=path, place="[channels]", fix=fix)


_BLOCK = 1 << 20   # samples per block when matching samples to checksum failures (bounded temporaries)


def _evidence_channels(session: Session, profile: object | None, findings: Sequence[QualityFinding],
                       used: Iterable[str] | None = None) -> dict[str, Channel]:
    """Channels for rule evaluation without what is not a measurement: samples of frames that failed their
    checksum are removed (not blanked, so a run of samples above the limit stays one run), and samples of a
    sensor while it was frozen are blanked (NaN: not judged). The findings themselves make the rule
    incomplete. Only the channels in ``used`` (default: every channel) are cleaned; the others are returned
    as they are (a copy of a long channel no rule reads would only cost memory)."""
    used = set(session.channels) if used is None else set(used)
    bad: dict[str, list[np.ndarray]] = {}
    inputs = set(power_inputs(profile))
    for trace in session.messages.values():
        if len(trace.checksum_failures) == 0:
            continue
        for name in trace.signals:
            bad.setdefault(name, []).append(np.asarray(trace.checksum_failures, dtype=np.float64))
            if name in inputs:
                bad.setdefault("power", []).append(np.asarray(trace.checksum_failures, dtype=np.float64))
    out = dict(session.channels)
    for name, times in bad.items():
        ch = out.get(name)
        if ch is None or len(ch) == 0 or name not in used:
            continue
        failures = np.unique(np.concatenate(times))
        near = np.empty(len(ch), dtype=bool)
        for a in range(0, len(ch), _BLOCK):
            t = ch.time[a:a + _BLOCK]
            idx = np.clip(np.searchsorted(failures, t), 0, len(failures) - 1)
            part = np.abs(failures[idx] - t) <= 1e-7
            idx_left = np.clip(idx - 1, 0, len(failures) - 1)
            part |= np.abs(failures[idx_left] - t) <= 1e-7
            near[a:a + len(t)] = part
        if near.any():
            keep = ~near
            out[name] = replace(ch, time=ch.time[keep], value=ch.value[keep])
    for f in findings:
        ch = out.get(f.channel)
        if f.check != "frozen" or f.severity != "error" or ch is None or f.channel not in used:
            continue
        a = np.searchsorted(ch.time, f.start_s, side="left")
        b = np.searchsorted(ch.time, f.end_s, side="right")
        if b > a:
            value = ch.value.astype(np.float64, copy=True)
            value[a:b] = np.nan
            out[f.channel] = replace(ch, value=value)
    return out


def _source_dict(src) -> dict:
    return {"path": src.path, "sha256": src.sha256, "format": src.format, "frames": src.frames,
            "start": utc_text(src.start), "duration_s": rounded(src.duration_s), "size": src.size,
            "findings": len(src.findings)}


def _extra(spec: RuleSpec, scopes, evaluation) -> dict | None:
    """The §5 fields of a rule that uses a §5 key (a §3 rule's JSON stays as it was)."""
    if not spec.v2:
        return None
    worst = scopes.worst if scopes is not None else None
    out: dict = {"count_per": spec.count_per, "window_s": rounded(spec.window_s),
                 "max_time_over_s": rounded(spec.max_time_over_s),
                 "time_over_s": rounded(worst.time_over_s if worst is not None else 0.0),
                 "worst_scope": None if worst is None else worst.to_dict()}
    if spec.when:
        out["when"] = [c.text() for c in spec.when]
    if spec.replenish_mj_s is not None and evaluation is not None:
        out["stints"] = [s.to_dict() for s in evaluation.stints]
    return out


def _judge(spec: RuleSpec, channels: Mapping[str, Channel], bulletin: Bulletin, deps: tuple[str, ...],
           findings: Sequence[QualityFinding], *, laps: Laps | None = None, duration_s: float = 0.0,
           ambient_bar: float | None = None) -> tuple[RuleResult, tuple[Exceedance, ...]]:
    reasons = []
    for f in findings:
        if f.severity == "error" and (f.channel in deps or f.channel == ""):
            reasons.append(f"{f.check} {f.channel or 'session'} {f.start_s:.3f}-{f.end_s:.3f} s")
    present = all(c in channels and len(channels[c]) for c in spec.needs)
    found: tuple[Exceedance, ...] = ()
    source = ""
    evaluation = scopes = None
    if present:
        evaluation = evaluate(spec, channels, reference_ambient_bar=bulletin.reference_ambient_pressure_bar,
                              official_ambient_bar=ambient_bar)
        found, source = evaluation.exceedances, evaluation.limit_source
        if evaluation.problem:
            reasons.append(evaluation.problem)
        scopes = judge_scopes(spec, found, duration_s, laps)
        if scopes.problem:
            reasons.append(scopes.problem)
    if scopes is not None and scopes.infringes:
        verdict = INFRINGEMENT
    elif reasons or not present:
        verdict = INCOMPLETE
    else:
        verdict = COMPLIANT
    unique_reasons = tuple(dict.fromkeys(reasons))
    return RuleResult(rule=spec.rule, verdict=verdict, exceedance_count=len(found),
                      max_exceedances=spec.max_exceedances, limit_source=source, needs=spec.needs,
                      reasons=unique_reasons[:20] + ((f"... {len(unique_reasons) - 20} more",)
                                                     if len(unique_reasons) > 20 else ()),
                      tolerance=spec.tolerance, min_duration_s=spec.min_duration_s, unit=spec.unit,
                      extra=_extra(spec, scopes, evaluation)), found


def check_session(session: Session, bulletin: Bulletin, *, model: str, profile: object | None = None,
                  lap_length_m: float | None = None, car: str | None = None,
                  ambient_bar: float | None = None) -> CheckResult:
    """Judge ``session`` for a car of ``model`` against ``bulletin``.

    ``profile`` (a ``telemetry.Profile``) is optional: when given, every channel a rule needs must be mapped
    by it (else ``RuleError``), and its ``[power]`` source says which channels power depends on. ``car`` selects
    the bulletin's ``[cars."N"]`` entry (SPEC §5) when it has one; ``ambient_bar`` is the official ambient
    pressure of the session (``check --ambient-bar``, the event file's ``ambient_pressure_bar``).
    """
    entry = bulletin.entry(model, None if car is None else str(car))
    specs = sorted(entry.rules.values(), key=lambda s: rule_order(s.rule))
    if profile is not None:
        _check_profile_maps(specs, profile, bulletin)
    needed = sorted({c for s in specs for c in s.needs})
    findings = check_quality(session, profile, needed)
    results, exceedances = [], []
    used = {c for s in specs for c in s.needs} | {"ambient_pressure"}   # what the rules read
    channels = _evidence_channels(session, profile, findings, used)
    laps = segment_laps(session, lap_length_m if lap_length_m is not None else bulletin.track_length_m)
    for spec in specs:
        result, found = _judge(spec, channels, bulletin, rule_dependencies(spec, profile), findings, laps=laps,
                               duration_s=session.duration_s, ambient_bar=ambient_bar)
        results.append(result)
        exceedances.extend(found)
    lap_numbers = lap_at(laps, [e.start_s for e in exceedances])
    if lap_numbers is not None:
        exceedances = [e.with_lap(int(n)) for e, n in zip(exceedances, lap_numbers.tolist(), strict=True)]
    exceedances.sort(key=lambda e: (rule_order(e.rule), e.start_s))
    rules = tuple(results)
    verdict = Verdict(
        tool=tool_info(),
        inputs=tuple(_source_dict(s) for s in session.sources),
        profile={"model": model, "name": str(getattr(profile, "name", "")),
                 "sha256": str(getattr(profile, "sha256", ""))},
        bulletin={"id": bulletin.id, "sha256": bulletin.sha256, "series": bulletin.series,
                  "event": bulletin.event, "effective_from": utc_text(bulletin.effective_from),
                  "effective_until": utc_text(bulletin.effective_until),
                  "track_category": bulletin.track_category,
                  **({"car_entry": str(car) if car is not None and str(car) in bulletin.cars else None}
                     if bulletin.cars else {})},
        verdict=session_verdict(rules), rules=rules, exceedances=tuple(exceedances),
        data_quality=tuple(findings), session_start=session.start, duration_s=session.duration_s,
        laps=summarise_laps(laps, exceedances), lap_source=None if laps is None else laps.source,
    )
    log.info("verdict %s (%s)", verdict.verdict, ", ".join(f"{r.rule}={r.verdict}" for r in rules))
    return CheckResult(verdict, session, bulletin, laps)


def check_logs(paths: Sequence[str | Path], profile, bulletins, *, progress: Progress | None = None,
               lap_length_m: float | None = None, track_category: str | None = None,
               max_gap_s: float | None = None, window: SessionWindow | None = None, car: str | None = None,
               ambient_bar: float | None = None) -> CheckResult:
    """Read ``paths`` (one session, joined in time order), pick the bulletin in force, judge.

    ``profile`` is a profile path or a loaded ``Profile``; ``bulletins`` a ``Bulletin``, a list of them, or
    file/folder paths (an explicit single bulletin is used whatever its dates). The join rules of
    :mod:`compliance.judge.outings` apply: files that overlap in time, or lie more than ``max_gap_s`` apart, raise
    ``telemetry.errors.JoinError``; a file starting outside ``window`` raises :class:`JoinRefused`.
    """
    from telemetry import profiles, session  # imported late: reading logs is telemetry's job

    if isinstance(profile, str | Path):
        profile = profiles.load_profile(profile)
    if isinstance(bulletins, Bulletin):
        candidates = [bulletins]
    elif isinstance(bulletins, str | Path):
        candidates = load_bulletins(bulletins)
    else:
        items = list(bulletins)
        candidates = ([b for b in items if isinstance(b, Bulletin)]
                      + (load_bulletins([p for p in items if not isinstance(p, Bulletin)])
                         if any(not isinstance(p, Bulletin) for p in items) else []))
    # fail fast on a bulletin that cannot judge this car at all, before reading the logs
    if len(candidates) == 1:
        _check_profile_maps(candidates[0].entry(profile.model, car).rules.values(), profile, candidates[0])
    joined = session.load_session([Path(p) for p in paths], profile, progress=progress, max_gap_s=max_gap_s)
    check_window(joined.sources, window)
    bulletin = in_force(candidates, joined.start, track_category=track_category)
    return check_session(joined, bulletin, model=profile.model, profile=profile, lap_length_m=lap_length_m,
                         car=car, ambient_bar=ambient_bar)
