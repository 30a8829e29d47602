"""The verdict value objects and their JSON form (SPEC §4 ``check --json`` plus documented extensions).

``Verdict.to_json()`` is deterministic: identical inputs give byte-identical text. Key order is fixed (SPEC
order, extensions after), lists are in a fixed order (rules in SPEC order, exceedances by rule then time,
findings by time, check, channel), floats are rounded to 6 decimals (-0.0 written as 0.0, NaN as null),
and no wall-clock time is written.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime

__all__ = [
    "COMPLIANT", "INFRINGEMENT", "INCOMPLETE", "Exceedance", "QualityFinding", "RuleResult", "LapSummary",
    "Verdict", "session_verdict", "rounded", "utc_text",
]

COMPLIANT, INFRINGEMENT, INCOMPLETE = "compliant", "infringement", "incomplete"
_DECIMALS = 6


def rounded(x: float | None) -> float | None:
    """A float as the JSON writes it: 6 decimals, -0.0 as 0.0, NaN/inf as None."""
    if x is None or not math.isfinite(x):
        return None
    r = round(float(x), _DECIMALS)
    return 0.0 if r == 0 else r


def utc_text(at: datetime | None) -> str | None:
    if at is None:
        return None
    return at.strftime("%Y-%m-%dT%H:%M:%S.%fZ").replace(".000000Z", "Z")


@dataclass(frozen=True, slots=True)
class Exceedance:
    rule: str
    start_s: float
    end_s: float
    duration_s: float
    peak: float
    limit: float
    excess: float
    unit: str
    lap: int | None = None

    def with_lap(self, lap: int | None) -> Exceedance:
        return replace(self, lap=lap)

    def to_dict(self) -> dict:
        return {"rule": self.rule, "start_s": rounded(self.start_s), "end_s": rounded(self.end_s),
                "duration_s": rounded(self.duration_s), "peak": rounded(self.peak), "limit": rounded(self.limit),
                "excess": rounded(self.excess), "unit": self.unit, "lap": self.lap}


@dataclass(frozen=True, slots=True)
class QualityFinding:
    """One data-quality problem. ``channel`` is a canonical channel, ``bus:Message`` for a message that feeds
    none, or ``""`` for the whole session (e.g. a truncated file). ``severity`` is ``error`` or ``warning``."""

    check: str
    channel: str
    start_s: float
    end_s: float
    severity: str
    detail: str

    def to_dict(self) -> dict:
        return {"check": self.check, "channel": self.channel, "start_s": rounded(self.start_s),
                "end_s": rounded(self.end_s), "severity": self.severity, "detail": self.detail}

    def sort_key(self) -> tuple:
        return (self.start_s, self.check, self.channel, self.end_s, self.detail)


@dataclass(frozen=True, slots=True)
class RuleResult:
    rule: str
    verdict: str
    exceedance_count: int
    max_exceedances: int
    limit_source: str = ""
    needs: tuple[str, ...] = ()
    reasons: tuple[str, ...] = ()        # why incomplete
    tolerance: float = 0.0
    min_duration_s: float = 0.0
    unit: str = ""
    extra: Mapping[str, object] | None = None   # SPEC §5 fields of a rule using a §5 key (scopes, stints)

    def to_dict(self) -> dict:
        out = {"rule": self.rule, "verdict": self.verdict, "exceedance_count": self.exceedance_count,
               "max_exceedances": self.max_exceedances, "unit": self.unit,
               "tolerance": rounded(self.tolerance), "min_duration_s": rounded(self.min_duration_s),
               "limit_source": self.limit_source, "needs": list(self.needs), "reasons": list(self.reasons)}
        if self.extra:
            out.update(self.extra)
        return out


@dataclass(frozen=True, slots=True)
class LapSummary:
    lap: int
    start_s: float
    end_s: float
    exceedances: Mapping[str, int] = field(default_factory=dict)

    def to_dict(self) -> dict:
        return {"lap": self.lap, "start_s": rounded(self.start_s), "end_s": rounded(self.end_s),
                "lap_time_s": rounded(self.end_s - self.start_s),
                "exceedances": {k: self.exceedances[k] for k in sorted(self.exceedances)}}


def session_verdict(rules: tuple[RuleResult, ...]) -> str:
    """SPEC §3: infringement if any rule infringes, else incomplete if any is incomplete, else compliant."""
    verdicts = {r.verdict for r in rules}
    if INFRINGEMENT in verdicts:
        return INFRINGEMENT
    if INCOMPLETE in verdicts:
        return INCOMPLETE
    return COMPLIANT


@dataclass(frozen=True, slots=True)
class Verdict:
    tool: Mapping[str, str]
    inputs: tuple[Mapping, ...]
    profile: Mapping[str, str]
    bulletin: Mapping[str, str | None]
    verdict: str
    rules: tuple[RuleResult, ...]
    exceedances: tuple[Exceedance, ...]
    data_quality: tuple[QualityFinding, ...]
    session_start: datetime | None = None
    duration_s: float = 0.0
    laps: tuple[LapSummary, ...] = ()
    lap_source: str | None = None
    reference: Mapping | None = None     # issue 17: the car against its model's reference (advisory, no verdict)

    def rule(self, name: str) -> RuleResult | None:
        return next((r for r in self.rules if r.rule == name), None)

    def to_dict(self) -> dict:
        return {
            "tool": dict(self.tool),
            "inputs": [dict(i) for i in self.inputs],
            "profile": dict(self.profile),
            "bulletin": dict(self.bulletin),
            "verdict": self.verdict,
            "rules": [r.to_dict() for r in self.rules],
            "exceedances": [e.to_dict() for e in self.exceedances],
            "data_quality": [f.to_dict() for f in self.data_quality],
            "session_start": utc_text(self.session_start),
            "duration_s": rounded(self.duration_s),
            "lap_source": self.lap_source,
            "laps": [lap.to_dict() for lap in self.laps],
            **({"reference": dict(self.reference)} if self.reference is not None else {}),
        }

    def to_json(self, *, indent: int | None = 2) -> str:
        return json.dumps(self.to_dict(), indent=indent, ensure_ascii=False, allow_nan=False) + "\n"
