"""The live session: a reception thread, a bounded queue, the recorder and the judge, and the final check.

The reception thread only calls ``bus.recv`` and ``queue.put_nowait``: when the queue is full (a consumer too
slow) the frame is counted in ``dropped``, never waited for. The processing loop (the caller's thread) drains the
queue in batches, records them (sync every ``sync_s``), and every ``tick_s`` lets the judge report closed
exceedances. ``stop()`` (from a signal handler) ends it; ``finish()`` closes the files and runs ``check`` on them.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from telemetry.bus import messages_to_frames

from ..bop.bulletins import Bulletin, in_force, load_bulletins
from ..judge.check import check_logs
from ..judge.outings import DEFAULT_MAX_GAP_S
from .judge import LiveJudge
from .recorder import RollingRecorder

__all__ = ["LiveRun"]

Emit = Callable[[dict], None]


class LiveRun:
    def __init__(self, bus, profile, bulletins, record_dir: str | Path, *, car: str | None = None,
                 emit: Emit | None = None, queue_size: int = 1 << 20, roll_s: float = 600.0,
                 roll_mb: float = 100.0, sync_s: float = 1.0, tick_s: float = 0.1, gap_s: float = 1.0) -> None:
        from telemetry import profiles

        self.buses = list(bus) if isinstance(bus, list | tuple) else [bus]
        self.profile_arg = profile
        self.profile = profiles.load_profile(profile) if isinstance(profile, str | Path) else profile
        self.bulletins_arg = bulletins
        if isinstance(bulletins, Bulletin):
            self._candidates = [bulletins]
        else:
            self._candidates = load_bulletins(bulletins)
        self.car = car
        self.emit = emit or (lambda event: None)
        self.recorder = RollingRecorder(record_dir, roll_s=roll_s, roll_mb=roll_mb)
        self.queue: queue.Queue = queue.Queue(maxsize=queue_size)
        self.sync_s, self.tick_s, self.gap_s = sync_s, tick_s, gap_s
        self.received = 0
        self.dropped = 0
        self._reported_drops = 0
        self.judge: LiveJudge | None = None
        self.t0: float | None = None
        self._stop = threading.Event()
        self._rx_stop = threading.Event()
        self._rx = [threading.Thread(target=self._receive, args=(i, b), name=f"bopwatch-live-rx{i}", daemon=True)
                    for i, b in enumerate(self.buses)]
        self._in_gap = False
        self._last_frame_wall = None
        self.hold_s = 0.05
        self._held: list = []
        self._last_written: float | None = None
        self.late = 0          # frames that arrived more than hold_s after a later one (written out of order)

    # -- reception ------------------------------------------------------------------------------------------
    def _receive(self, index: int, bus) -> None:
        """Bus ``index`` (0-based, the order of ``--channel``): read, tag, queue; never wait for the consumer."""
        q = self.queue
        while not self._rx_stop.is_set():
            msg = bus.recv(timeout=0.05)
            if msg is None:
                continue
            msg.channel = index
            self.received += 1
            try:
                q.put_nowait(msg)
            except queue.Full:
                self.dropped += 1

    def stop(self) -> None:
        self._stop.set()

    # -- processing -----------------------------------------------------------------------------------------
    def _drain(self, wait_s: float) -> list:
        batch = []
        try:
            batch.append(self.queue.get(timeout=wait_s))
            while len(batch) < 50_000:
                batch.append(self.queue.get_nowait())
        except queue.Empty:
            pass
        return batch

    def _process(self, batch: list, final: bool = False) -> None:
        if not batch and not (final and self._held):
            return
        if self.t0 is None:
            self.t0 = min(m.timestamp for m in batch)
            start = datetime.fromtimestamp(self.t0, UTC)
            bulletin = in_force(self._candidates, start) if len(self._candidates) > 1 else self._candidates[0]
            self.judge = LiveJudge(self.profile, bulletin, car=self.car)
            self.emit({"event": "start", "start": start.isoformat().replace("+00:00", "Z"),
                       "bulletin": bulletin.id, "model": self.profile.model})
        # buses arrive on several threads: frames are held ``hold_s`` and written in time order
        self._held.extend(batch)
        self._held.sort(key=lambda m: m.timestamp)
        if not final:
            cut = self._held[-1].timestamp - self.hold_s
            n = next((i for i, m in enumerate(self._held) if m.timestamp > cut), len(self._held))
        else:
            n = len(self._held)
        if n == 0:
            return
        ready, self._held = self._held[:n], self._held[n:]
        if self._last_written is not None and ready[0].timestamp < self._last_written:
            self.late += sum(1 for m in ready if m.timestamp < self._last_written)
        self._last_written = ready[-1].timestamp
        frames = messages_to_frames(ready, self.t0)
        self.recorder.write(frames, self.t0)
        self.judge.add(frames)
        self._last_frame_wall = time.monotonic()
        if self._in_gap:
            self._in_gap = False
            self.emit({"event": "data_quality", "check": "gap_end", "channel": "", "severity": "info",
                       "start_s": round(float(frames.timestamp[0]), 6), "detail": "frames again"})

    def _quality(self) -> None:
        if self.dropped > self._reported_drops:
            self.emit({"event": "data_quality", "check": "dropped", "channel": "", "severity": "error",
                       "count": self.dropped, "detail": f"{self.dropped} frames dropped (consumer too slow)"})
            self._reported_drops = self.dropped
        if (self._last_frame_wall is not None and not self._in_gap
                and time.monotonic() - self._last_frame_wall > self.gap_s):
            self._in_gap = True
            self.emit({"event": "data_quality", "check": "gap", "channel": "", "severity": "warning",
                       "start_s": round(self.judge.last_t, 6), "detail": f"no frames for {self.gap_s:g} s"})

    def _tick(self) -> None:
        if self.judge is None:
            return
        for e in self.judge.tick():
            self.emit({"event": "exceedance", **e.to_dict()})

    def run(self, duration_s: float | None = None, on_tick: Callable[[LiveRun], None] | None = None) -> None:
        """Receive, record and judge until ``stop()`` or ``duration_s``; then drain what was received."""
        for th in self._rx:
            th.start()
        began = time.monotonic()
        next_sync = next_tick = began
        try:
            while not self._stop.is_set():
                now = time.monotonic()
                if duration_s is not None and now - began >= duration_s:
                    break
                self._process(self._drain(min(0.05, self.tick_s)))
                now = time.monotonic()
                if now >= next_sync:
                    self.recorder.sync()
                    next_sync = now + self.sync_s
                if now >= next_tick:
                    self._tick()
                    self._quality()
                    if on_tick is not None:
                        on_tick(self)
                    next_tick = now + self.tick_s
        finally:
            self._rx_stop.set()
            for th in self._rx:
                th.join(timeout=2.0)
            while True:
                batch = self._drain(0.0)
                if not batch:
                    break
                self._process(batch)
            self._process([], final=True)
            self._tick()
            self._quality()

    def finish(self):
        """Close the files and judge them: exactly ``check`` of the recorded files (``None`` without frames)."""
        files = self.recorder.close()
        if not files:
            return files, None
        result = check_logs([str(p) for p in files], self.profile_arg, self.bulletins_arg,
                            max_gap_s=DEFAULT_MAX_GAP_S, car=self.car)
        return files, result.verdict
