"""The incremental judge: a bounded tail of frames, decoded and judged by the rule code of ``check``.

Every ``tick`` decodes the last ``tail_s`` seconds of frames into the canonical channels the rules need
(``telemetry.bus.tail_channels``) and evaluates each rule (``compliance.judge.rules.evaluate``). An exceedance is
*closed* when a later sample of its channel exists (the value came back under the limit); each closed exceedance
is reported once. Memory is bounded by the tail, whatever the session length. The live judge does not apply the
data-quality cleaning of ``check`` (checksum failures, frozen sensors): the final verdict is ``check`` itself.
"""

from __future__ import annotations

from collections import deque

import numpy as np

from telemetry.bus import tail_channels
from telemetry.frames import Frames, concat_frames

from ..bop.bulletins import Bulletin
from ..bop.kinds import KINDS, rule_order
from ..judge.rules import evaluate
from ..judge.verdict import Exceedance

__all__ = ["LiveJudge"]


class LiveJudge:
    def __init__(self, profile, bulletin: Bulletin, *, car: str | None = None, tail_s: float = 30.0) -> None:
        self.profile, self.bulletin, self.tail_s = profile, bulletin, tail_s
        entry = bulletin.entry(profile.model, None if car is None else str(car))
        # rules judged on a tail: those with a limit path (a stint budget needs the whole session)
        self.specs = [s for s in sorted(entry.rules.values(), key=lambda s: rule_order(s.rule))
                      if getattr(KINDS.get(s.rule_kind), "path", "limit") == "limit"]
        self.all_rules = [s.rule for s in sorted(entry.rules.values(), key=lambda s: rule_order(s.rule))]
        self.max_exceedances = {s.rule: s.max_exceedances for s in entry.rules.values()}
        self.wanted = sorted({c for s in self.specs for c in s.needs} | {"ambient_pressure"})
        self._chunks: deque[Frames] = deque()
        self._seen: set[tuple[str, float]] = set()
        self.counts = {r: 0 for r in self.all_rules}
        self.last_t = 0.0

    def add(self, frames: Frames) -> None:
        """Frames with time relative to the session's first frame, in arrival order."""
        if not len(frames):
            return
        self._chunks.append(frames)
        self.last_t = max(self.last_t, float(frames.timestamp[-1]))
        while self._chunks and float(self._chunks[0].timestamp[-1]) < self.last_t - self.tail_s:
            self._chunks.popleft()

    def tick(self) -> list[Exceedance]:
        """The exceedances closed since the last tick, in rule order."""
        if not self._chunks:
            return []
        frames = concat_frames(list(self._chunks))
        tail_start = float(frames.timestamp[0])
        channels = tail_channels(frames, self.profile, self.wanted)
        out: list[Exceedance] = []
        for spec in self.specs:
            if not all(c in channels and len(channels[c]) for c in spec.needs):
                continue
            ends = min(float(channels[c].time[-1]) for c in spec.needs)
            ev = evaluate(spec, channels, reference_ambient_bar=self.bulletin.reference_ambient_pressure_bar)
            for e in ev.exceedances:
                # cut by the start of the tail (seen whole in an earlier tick), or still running
                if (e.start_s <= tail_start + 1e-6 and tail_start > 0.0) or e.end_s >= ends - 1e-9:
                    continue
                key = (e.rule, round(e.start_s, 3))
                if key in self._seen:
                    continue
                self._seen.add(key)
                self.counts[e.rule] = self.counts.get(e.rule, 0) + 1
                out.append(e)
        return out

    def table(self) -> list[tuple[str, int, int]]:
        return [(r, self.counts.get(r, 0), self.max_exceedances.get(r, 0)) for r in self.all_rules]

    @staticmethod
    def frames_span(frames: Frames) -> float:
        return float(np.ptp(frames.timestamp)) if len(frames) else 0.0
