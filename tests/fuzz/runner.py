"""The fuzzing loop: inputs made in this process, run in worker processes with a time and a memory limit.

Workers are long-lived (``spawn``ed, so they work from pytest and from the command line alike) and import the
readers once. Each input gets ``timeout_s`` of the worker's CPU time (at most ``WALL_FACTOR`` times that of wall
clock, so a loaded shared machine does not turn slow inputs into hangs); a worker that overruns is killed (a *hang*), one
that dies is a *crash* with its signal, and a Python exception other than the packages' own errors is a *crash*
with its type and innermost frame. Every crasher is copied to ``save_dir`` under a name saying what it is.
Input ``i`` of a run with seed ``S`` is made from ``random.Random(f"{S}:{i}")`` alone, so it can be made again.
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing as mp
import random
import shutil
import time
import traceback
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from multiprocessing.connection import Connection, wait
from pathlib import Path

from .mutate import mutate
from .seeds import Seed, write_seeds

__all__ = ["Outcome", "FormatStats", "Report", "fuzz", "make_input", "SUFFIX"]

log = logging.getLogger(__name__)

#: a job is a hang after ``timeout_s`` of its worker's CPU time, or this many times ``timeout_s`` of wall clock
WALL_FACTOR = 6
try:
    import os

    _CLK_TCK = os.sysconf("SC_CLK_TCK")
except (ValueError, OSError, AttributeError):
    _CLK_TCK = 100

#: how a mutated input of each format is named (the reader is picked by suffix)
SUFFIX = {"blf": ".blf", "asc": ".asc", "candump": ".log", "trc": ".trc", "csv": ".csv", "mf4": ".mf4",
          "mdf": ".mf4", "bulletin": ".bulletin.toml", "profile": ".profile.toml", "dbc": ".dbc"}


@dataclass(frozen=True, slots=True)
class Outcome:
    index: int
    format: str
    status: str          # decoded | refused | crash | hang
    detail: str          # error class, or the crash signature
    seconds: float
    mutations: tuple[str, ...]
    saved: str | None = None


@dataclass(slots=True)
class FormatStats:
    inputs: int = 0
    decoded: int = 0
    refused: int = 0
    crashes: int = 0
    hangs: int = 0
    slowest_s: float = 0.0
    refusals: Counter = field(default_factory=Counter)


@dataclass(slots=True)
class Report:
    seed: int
    timeout_s: float
    stats: dict[str, FormatStats] = field(default_factory=lambda: defaultdict(FormatStats))
    crashers: list[Outcome] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)     # format -> why it was not fuzzed
    seconds: float = 0.0
    interrupted: bool = False

    @property
    def total(self) -> int:
        return sum(s.inputs for s in self.stats.values())

    @property
    def failures(self) -> int:
        return sum(s.crashes + s.hangs for s in self.stats.values())

    def table(self) -> str:
        rows = [("format", "inputs", "decoded", "refused", "crashes", "hangs", "slowest CPU s")]
        for fmt, s in sorted(self.stats.items()):
            rows.append((fmt, str(s.inputs), str(s.decoded), str(s.refused), str(s.crashes), str(s.hangs),
                         f"{s.slowest_s:.2f}"))
        tot = ("total", str(self.total), *(str(sum(getattr(s, k) for s in self.stats.values()))
                                           for k in ("decoded", "refused", "crashes", "hangs")),
               f"{max((s.slowest_s for s in self.stats.values()), default=0):.2f}")
        rows.append(tot)
        widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
        lines = ["| " + " | ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) + " |" for r in rows]
        lines.insert(1, "|" + "|".join("-" * (w + 2) for w in widths) + "|")
        return "\n".join(lines)


# -- the worker ------------------------------------------------------------------------------------------------------
def _signature(err: BaseException) -> str:
    frames = traceback.extract_tb(err.__traceback__)
    ours = [f for f in frames if "/telemetry/" in f.filename or "/compliance/" in f.filename]
    where = (ours or frames)[-1] if frames else None
    place = f" at {Path(where.filename).name}:{where.lineno} ({where.name})" if where else ""
    return f"{type(err).__name__}: {str(err)[:160]}{place}"


def _serve(conn: Connection, memory_mb: int) -> None:
    """Worker loop: (index, format, path, support) in, (index, status, detail, seconds) out."""
    import resource
    import warnings

    logging.disable(logging.CRITICAL)
    warnings.simplefilter("ignore")
    from . import targets
    from .targets import run_input

    # import what the readers import lazily, before the memory limit (asammdf, cantools, pint)
    for module in ("asammdf", "cantools", "pint", "telemetry.formats", "telemetry.session", "compliance.bop.bulletins"):
        with contextlib.suppress(ImportError):
            __import__(module)
    targets._own_errors()
    limit = memory_mb * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (limit, resource.getrlimit(resource.RLIMIT_AS)[1]))
    conn.send("ready")
    while True:
        try:
            job = conn.recv()
        except EOFError:
            return
        if job is None:
            return
        index, fmt, path, support = job
        started = time.process_time()       # CPU time: what the input costs, whatever else the machine runs
        try:
            status, detail = "decoded", run_input(path, fmt, support)
            if detail.startswith("refused:"):
                status, detail = "refused", detail[len("refused:"):]
        except BaseException as err:  # noqa: BLE001 - every other exception is what the fuzzer reports
            status, detail = "crash", _signature(err)
        conn.send((index, status, detail, time.process_time() - started))


class _Worker:
    def __init__(self, ctx, memory_mb: int) -> None:
        self.conn, child = ctx.Pipe()
        self.proc = ctx.Process(target=_serve, args=(child, memory_mb), daemon=True)
        self.proc.start()
        child.close()
        # the time limit counts from here: imports (asammdf takes seconds) are not the input's time
        if not self.conn.poll(180) or self.conn.recv() != "ready":
            raise RuntimeError("a fuzz worker did not start within 180 s")
        self.job: tuple | None = None
        self.started = 0.0

    def send(self, job: tuple) -> None:
        self.job = job
        self.started = time.monotonic()
        self.cpu0 = self.cpu_s()
        self.conn.send(job[:4])

    def cpu_s(self) -> float:
        """CPU seconds the worker has used (user + system), or 0 where /proc cannot tell."""
        try:
            fields = Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
            return (int(fields[11]) + int(fields[12])) / _CLK_TCK
        except (OSError, IndexError, ValueError):
            return 0.0

    def overran(self, timeout_s: float) -> tuple[bool, float]:
        """Whether the job is a hang: ``timeout_s`` of the worker's CPU time, or ``WALL_FACTOR`` times that of
        wall clock (a machine shared with other jobs gives a worker a fraction of a core); and its CPU time."""
        wall = time.monotonic() - self.started
        cpu = self.cpu_s() - self.cpu0
        return wall >= timeout_s and (cpu >= timeout_s or wall >= WALL_FACTOR * timeout_s), cpu

    def kill(self) -> None:
        if self.proc.is_alive():
            self.proc.kill()
        self.proc.join(5)
        self.conn.close()


# -- making inputs ---------------------------------------------------------------------------------------------------
def make_input(index: int, seed: int, fmt: str, seeds: list[Seed], folder: Path) -> tuple[Path, tuple[str, ...]]:
    """Input ``index`` of format ``fmt``: a mutated copy of one of its seeds, written into ``folder``."""
    rng = random.Random(f"{seed}:{index}")
    source = rng.choice(seeds)
    inner = None
    if fmt == "gz":
        inner = {".blf": "blf", ".asc": "asc", ".log": "candump"}[Path(source.path.stem).suffix]
    elif fmt == "mdf" and source.path.suffix == ".mdf":
        inner = "mdf3"
    data, names = mutate(fmt, source.path.read_bytes(), rng, inner)
    suffix = ("".join(source.path.suffixes[-2:]) if fmt == "gz" else
              source.path.suffix if fmt == "mdf" else SUFFIX[fmt])
    path = folder / f"in{index:06d}_{fmt}{suffix}"
    path.write_bytes(data)
    return path, (source.path.name, *names)


# -- the loop -----------------------------------------------------------------------------------------------------------
def _crash_name(out: Outcome, suffix: str) -> str:
    kind = out.detail.split(":")[0] if out.status == "crash" else "hang"
    if kind.startswith("worker died"):      # "worker died (signal SIGSEGV)" -> "sigsegv"
        kind = kind.rstrip(")").split()[-1]
    return f"{out.format}_{kind.lower()}_{out.index:06d}{suffix}"


def _exit(code: int | None) -> str:
    if code is not None and code < 0:
        import signal

        try:
            return f"signal {signal.Signals(-code).name}"
        except ValueError:
            return f"signal {-code}"
    return f"exit code {code}"


class _Pool:
    """Worker processes; ``run(jobs, on_result)`` keeps each busy and enforces the per-job time limit."""

    def __init__(self, workers: int, memory_mb: int, timeout_s: float) -> None:
        self.ctx = mp.get_context("spawn")
        self.memory_mb, self.timeout_s = memory_mb, timeout_s
        self.pool = [_Worker(self.ctx, memory_mb) for _ in range(max(1, workers))]

    def _replace(self, old: _Worker, busy: list[_Worker]) -> _Worker:
        old.kill()
        new = _Worker(self.ctx, self.memory_mb)
        self.pool[self.pool.index(old)] = new
        busy[busy.index(old)] = new
        return new

    def run(self, jobs: Iterator[tuple], on_result: Callable[[tuple, str, str, float], None]) -> None:
        def feed(w: _Worker) -> bool:
            job = next(jobs, None)
            if job is None:
                return False
            w.send(job)
            return True

        busy = [w for w in self.pool if feed(w)]
        while busy:
            deadline = min(w.started + self.timeout_s for w in busy)
            ready = wait([w.conn for w in busy], timeout=max(0.25, deadline - time.monotonic()))
            for w in list(busy):
                job = w.job
                if w.conn in ready:
                    try:
                        _, status, detail, seconds = w.conn.recv()
                    except (EOFError, OSError):
                        w.proc.join(5)
                        status, detail = "crash", f"worker died ({_exit(w.proc.exitcode)})"
                        seconds = time.monotonic() - w.started
                        w = self._replace(w, busy)
                elif (over := w.overran(self.timeout_s))[0]:
                    seconds = time.monotonic() - w.started
                    status, detail = "hang", f"no answer within {seconds:.0f} s ({over[1]:.1f} s of CPU)"
                    w = self._replace(w, busy)
                else:
                    continue
                w.job = None
                on_result(job, status, detail, seconds)  # type: ignore[arg-type]
                if not feed(w):
                    busy.remove(w)

    def close(self) -> None:
        for w in self.pool:
            with contextlib.suppress(OSError):
                w.conn.send(None)
            w.proc.join(2)
            w.kill()


def _usable(seeds: list[Seed], pool: _Pool, workdir: Path, formats: tuple[str, ...],
            report: Report) -> dict[str, list[Seed]]:
    """Seeds that decode cleanly (a format whose reader is missing or refuses its seeds is not fuzzed)."""
    by_format: dict[str, list[Seed]] = defaultdict(list)
    jobs = iter([(-1 - i, s.format, str(s.path), str(workdir), ()) for i, s in enumerate(seeds)])

    def on_result(job: tuple, status: str, detail: str, seconds: float) -> None:
        s = seeds[-1 - job[0]]
        if status == "decoded":
            by_format[s.format].append(s)
        else:
            report.skipped.setdefault(s.format, f"{s.path.name}: {status} {detail}")

    pool.run(jobs, on_result)
    for fmt in formats:
        if by_format.get(fmt):
            report.skipped.pop(fmt, None)
        else:
            report.skipped.setdefault(fmt, "no seed could be written")
    return {f: by_format[f] for f in formats if by_format.get(f)}


def fuzz(inputs: int, *, seed: int = 0, formats: tuple[str, ...], workdir: Path, save_dir: Path | None,
         timeout_s: float = 10.0, memory_mb: int = 3072, workers: int = 2, only: list[int] | None = None,
         progress: Callable[[int, int], None] | None = None) -> Report:
    """Fuzz ``inputs`` inputs spread evenly over ``formats`` (round robin); ``only``: just these indexes."""
    started = time.monotonic()
    report = Report(seed, timeout_s)
    workdir.mkdir(parents=True, exist_ok=True)
    seeds = write_seeds(workdir, formats)
    pool = _Pool(workers, memory_mb, timeout_s)
    total = len(only) if only is not None else inputs
    done = 0

    def record(job: tuple, status: str, detail: str, seconds: float) -> None:
        nonlocal done
        index, fmt, path, _, names = job
        stats = report.stats[fmt]
        stats.inputs += 1
        stats.slowest_s = max(stats.slowest_s, seconds)
        if status == "decoded":
            stats.decoded += 1
        elif status == "refused":
            stats.refused += 1
            stats.refusals[detail] += 1
        else:
            stats.crashes += status == "crash"
            stats.hangs += status == "hang"
            saved = None
            out = Outcome(index, fmt, status, detail, seconds, tuple(names))
            if save_dir is not None:
                save_dir.mkdir(parents=True, exist_ok=True)
                suffix = "".join(Path(path).suffixes[-2:]) if fmt in ("gz", "bulletin", "profile") else \
                    Path(path).suffix
                saved = str(save_dir / _crash_name(out, suffix))
                shutil.copy(path, saved)
            report.crashers.append(Outcome(index, fmt, status, detail, seconds, tuple(names), saved))
            log.error("input %d (%s, %s): %s %s", index, fmt, "+".join(names), status, detail)
        Path(path).unlink(missing_ok=True)
        done += 1
        if progress is not None:
            progress(done, total)

    try:
        usable = _usable(seeds, pool, workdir, formats, report)
        order = [f for f in formats if f in usable]
        if order:
            def jobs() -> Iterator[tuple]:
                for index in (only if only is not None else range(inputs)):
                    fmt = order[index % len(order)]
                    path, names = make_input(index, seed, fmt, usable[fmt], workdir)
                    yield index, fmt, str(path), str(workdir), names

            pool.run(jobs(), record)
    except KeyboardInterrupt:       # Ctrl-C / SIGINT: stop and report what was fuzzed so far
        report.interrupted = True
    finally:
        pool.close()
    report.seconds = time.monotonic() - started
    return report
