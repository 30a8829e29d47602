"""Leak measurement for the long-lived parts of bopwatch: ``python -m tests.leaks`` (see ``__main__``).

Each workload runs the same unit of work many times in one process (the process a paddock daemon or the
dashboard server would be) and compares what the process holds after a warm-up with what it holds at the end:
resident memory (and its slope over the second half of the iterations, so a one-off cache is not a leak),
Python objects tracked by the garbage collector, open file descriptors, threads, child processes, and entries
left in the temporary folder (a private one: ``python -m tests.leaks`` points ``TMPDIR`` at it, so other
processes on the machine do not count). A workload leaks when any of the countable resources grew, or
when memory kept growing: slope over ``SLOPE_KB`` KB per iteration and growth over ``GROWTH_MB`` MB.
"""

from __future__ import annotations

import gc
import os
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import psutil

__all__ = ["Probe", "Result", "probe", "measure", "SLOPE_KB", "GROWTH_MB"]

#: memory growth that counts as a leak: both a steady slope and a total over the measured iterations
SLOPE_KB = 64.0
GROWTH_MB = 16.0


@dataclass(frozen=True, slots=True)
class Probe:
    rss_mb: float
    objects: int
    fds: int
    threads: int
    children: int
    temp_entries: int


def probe(pid: int | None = None, *, objects: bool = True) -> Probe:
    """What process ``pid`` (default: this one) holds now; ``objects`` counts gc-tracked objects (own process)."""
    proc = psutil.Process(pid)
    if objects:
        gc.collect()
    temp = len(os.listdir(tempfile.gettempdir()))
    return Probe(rss_mb=proc.memory_info().rss / 2**20, objects=len(gc.get_objects()) if objects else 0,
                 fds=proc.num_fds(), threads=proc.num_threads(),
                 children=len(proc.children(recursive=True)), temp_entries=temp)


@dataclass(frozen=True, slots=True)
class Result:
    workload: str
    iterations: int
    seconds: float
    before: Probe
    after: Probe
    rss_series: tuple[float, ...] = field(repr=False)

    @property
    def slope_kb(self) -> float:
        """Least-squares RSS slope over the second half of the iterations, KB per iteration."""
        ys = self.rss_series[len(self.rss_series) // 2:]
        n = len(ys)
        if n < 3:
            return 0.0
        mx, my = (n - 1) / 2, sum(ys) / n
        num = sum((i - mx) * (y - my) for i, y in enumerate(ys))
        den = sum((i - mx) ** 2 for i in range(n))
        return num / den * 1024

    @property
    def growth_mb(self) -> float:
        return self.after.rss_mb - self.before.rss_mb

    def leaks(self) -> list[str]:
        """What grew: empty when nothing leaked."""
        found = [f"{name} {getattr(self.before, name)} -> {getattr(self.after, name)}"
                 for name in ("fds", "threads", "children", "temp_entries")
                 if getattr(self.after, name) > getattr(self.before, name)]
        if self.slope_kb > SLOPE_KB and self.growth_mb > GROWTH_MB:
            found.append(f"memory +{self.growth_mb:.1f} MB, {self.slope_kb:.0f} KB per iteration")
        if self.before.objects and self.after.objects - self.before.objects > 50 * self.iterations:
            found.append(f"python objects {self.before.objects} -> {self.after.objects}")
        return found

    def row(self) -> dict:
        return {"workload": self.workload, "iterations": self.iterations, "seconds": round(self.seconds, 1),
                "rss_before_mb": round(self.before.rss_mb, 1), "rss_after_mb": round(self.after.rss_mb, 1),
                "slope_kb_per_iteration": round(self.slope_kb, 1),
                "objects": [self.before.objects, self.after.objects], "fds": [self.before.fds, self.after.fds],
                "threads": [self.before.threads, self.after.threads],
                "children": [self.before.children, self.after.children],
                "temp_entries": [self.before.temp_entries, self.after.temp_entries], "leaks": self.leaks()}


def measure(name: str, work: Callable[[int], None], iterations: int, *, warmup: int = 3,
            pid: int | None = None, settle: Callable[[], None] | None = None) -> Result:
    """Run ``work(i)`` ``warmup`` times, probe, run it ``iterations`` more times recording RSS, probe again.
    ``pid``: measure that process (a server) instead of this one; ``settle`` waits for it to go quiet."""
    own = pid is None
    for i in range(warmup):
        work(i)
    if settle:
        settle()
    before = probe(pid, objects=own)
    series = []
    started = time.monotonic()
    for i in range(warmup, warmup + iterations):
        work(i)
        series.append(psutil.Process(pid).memory_info().rss / 2**20)
    seconds = time.monotonic() - started
    if settle:
        settle()
    after = probe(pid, objects=own)
    return Result(name, iterations, seconds, before, after, tuple(series))
