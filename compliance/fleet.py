"""Many check jobs at once: a process pool on this machine (every core by default) or a Dask distributed cluster.

A :class:`CheckJob` is one car's session: its log files, the car profile and the bulletin(s). A worker reads,
decodes and judges it (``compliance.check.check_logs``) and, when the job names an output folder, writes the
results as Hive-partitioned Parquet (``event=E/session=S/car=N``) so a whole season is one query away::

    SELECT car, verdict, rule, exceedance_count
    FROM read_parquet('out/verdicts/**/*.parquet', hive_partitioning = true)

Datasets under the output folder: ``verdicts`` (one row per rule), ``exceedances`` (one row per exceedance),
``channels`` (the canonical channels, long form, as the store keeps them). File names are derived from the job's
inputs, so running the same jobs again rewrites the same files, and the serial, pool and cluster paths write
identical bytes.

``run_jobs(jobs, workers=None, scheduler=None)`` returns one :class:`JobResult` per job, in job order; a job that
fails carries its error and does not stop the others. With ``scheduler`` (an address such as
``tcp://10.0.0.5:8786``, or a ``distributed.Client``) the jobs run on the cluster: every worker must see the
log, profile, bulletin and output paths (a shared file system). ``workers=1`` runs the jobs in this process.

For ``bopwatch ingest`` the store keeps its single writer: :func:`ingest_parallel` computes every car's check in
the workers and lets ``compliance.ingest`` write the results from this process (see its docstring).
"""

from __future__ import annotations

import hashlib
import logging
import os
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from contextlib import contextmanager
from dataclasses import dataclass, field, fields
from pathlib import Path
from types import MappingProxyType
from typing import Any

from .errors import ComplianceError

__all__ = ["CheckJob", "JobResult", "run_jobs", "default_workers", "ingest_parallel", "DATASETS"]

log = logging.getLogger(__name__)
Progress = Callable[[int, int | None, str], None]

#: datasets written under a job's output folder, each partitioned event=/session=/car=
DATASETS = ("verdicts", "exceedances", "channels")


@dataclass(frozen=True, slots=True)
class CheckJob:
    """One car's session to judge. ``event``/``session``/``car`` name the output partition (and nothing else);
    ``out`` is the results folder (None: only the verdict comes back)."""

    paths: tuple[str, ...]
    profile: str
    bulletins: tuple[str, ...]
    event: str = "event"
    session: str = "session"
    car: str = ""
    out: str | None = None
    lap_length_m: float | None = None
    track_category: str | None = None
    keep_result: bool = False      # ship the whole CheckResult back (what ingest needs to write the store)

    @property
    def key(self) -> str:
        """Stable id of the job's inputs: names its output files."""
        text = "\n".join([*map(str, self.paths), self.profile, *self.bulletins, self.event, self.session,
                          self.car, str(self.lap_length_m), str(self.track_category)])
        return hashlib.sha256(text.encode()).hexdigest()[:16]


@dataclass(frozen=True, slots=True)
class JobResult:
    job: CheckJob
    verdict: dict | None = None          # SPEC §4 check --json object
    error: str | None = None             # one line naming the file and the fix
    seconds: float = 0.0                 # wall time in the worker
    frames: int = 0                      # raw frames read
    duration_s: float = 0.0              # logged time judged
    files: tuple[str, ...] = ()          # Parquet files written
    worker: str = ""                     # host:pid that ran it
    result: Any = None                   # the CheckResult, when the job asked for it

    @property
    def ok(self) -> bool:
        return self.error is None


def default_workers() -> int:
    """Every core this process may use (``BOPWATCH_WORKERS`` overrides)."""
    env = os.environ.get("BOPWATCH_WORKERS", "").strip()
    if env:
        try:
            return max(1, int(env))
        except ValueError:
            raise ComplianceError(f"BOPWATCH_WORKERS={env!r} is not a number",
                                  fix="set it to a whole number of worker processes, e.g. 2") from None
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


# -- the worker side -----------------------------------------------------------------------------------------
def _portable(obj: Any) -> tuple[type, dict, tuple[str, ...]]:
    """A frozen dataclass with its read-only mappings turned into dicts (a mappingproxy does not pickle)."""
    values, proxied = {}, []
    for f in fields(obj):
        v = getattr(obj, f.name)
        if isinstance(v, MappingProxyType):
            v = dict(v)
            proxied.append(f.name)
        values[f.name] = v
    return type(obj), values, tuple(proxied)


def _restore(portable: tuple[type, dict, tuple[str, ...]]) -> Any:
    cls, values, proxied = portable
    return cls(**{k: MappingProxyType(v) if k in proxied else v for k, v in values.items()})


@dataclass(frozen=True, slots=True)
class _Shipped:
    """A CheckResult in a form that pickles: the session's mappings as dicts; the bulletin by path and hash."""

    verdict: Any
    session: tuple
    bulletin_path: str
    bulletin_sha256: str
    laps: Any


def _ship(result: Any) -> _Shipped:
    return _Shipped(result.verdict, _portable(result.session), result.bulletin.path, result.bulletin.sha256,
                    result.laps)


def _unship(shipped: _Shipped, bulletins: Sequence[Any] | None = None) -> Any:
    from .bulletins import load_bulletin
    from .check import CheckResult

    bulletin = next((b for b in bulletins or () if b.sha256 == shipped.bulletin_sha256), None)
    if bulletin is None:
        bulletin = load_bulletin(shipped.bulletin_path)
    return CheckResult(shipped.verdict, _restore(shipped.session), bulletin, shipped.laps)


def _worker_name() -> str:
    import socket
    return f"{socket.gethostname()}:{os.getpid()}"


def run_job(job: CheckJob) -> JobResult:
    """Judge one job in this process and write its Parquet partition (the function every worker runs)."""
    from telemetry.errors import TelemetryError

    from .check import check_logs

    t0 = time.perf_counter()
    bulletins: Any = job.bulletins[0] if len(job.bulletins) == 1 else list(job.bulletins)
    try:
        result = check_logs(list(job.paths), job.profile, bulletins, lap_length_m=job.lap_length_m,
                            track_category=job.track_category)
        verdict = result.verdict.to_dict()
        files = _write_partition(job, result, verdict) if job.out else ()
    except (TelemetryError, ComplianceError, OSError, ValueError) as err:
        log.error("job %s (%s): %s", job.key, ", ".join(job.paths), err)
        return JobResult(job, error=f"{type(err).__name__}: {err}" if not isinstance(
            err, TelemetryError | ComplianceError) else str(err), seconds=time.perf_counter() - t0,
            worker=_worker_name())
    frames = sum(s.frames or 0 for s in result.session.sources)
    return JobResult(job, verdict, None, time.perf_counter() - t0, frames, float(result.session.duration_s or 0.0),
                     files, _worker_name(), _ship(result) if job.keep_result else None)


def _partition(root: Path, dataset: str, job: CheckJob) -> Path:
    return root / dataset / f"event={job.event}" / f"session={job.session}" / f"car={job.car}"


def _write_table(table: Any, folder: Path, name: str) -> str:
    import pyarrow.parquet as pq

    folder.mkdir(parents=True, exist_ok=True)
    final = folder / name
    tmp = folder / f".tmp-{os.getpid()}-{os.urandom(4).hex()}-{name}"
    try:
        pq.write_table(table, tmp, compression="zstd")
        os.replace(tmp, final)
    finally:
        if tmp.exists():
            tmp.unlink()
    return str(final)


def _write_partition(job: CheckJob, result: Any, verdict: Mapping) -> tuple[str, ...]:
    """``verdicts``, ``exceedances`` and ``channels`` of one job under ``job.out`` (partition columns are in
    the path, not in the files, as Hive partitioning expects)."""
    import pyarrow as pa

    from .evidence import channels_table

    root = Path(job.out)
    name = f"part-{job.key}.parquet"
    common = {"model": verdict["profile"]["model"], "bulletin": verdict["bulletin"]["id"],
              "session_verdict": verdict["verdict"], "start": verdict["inputs"][0]["start"] if verdict["inputs"]
              else None, "duration_s": float(result.session.duration_s or 0.0),
              "inputs": ";".join(i["path"] for i in verdict["inputs"])}
    rules = verdict["rules"]
    verdicts = pa.table({
        **{k: pa.array([v] * len(rules)) for k, v in common.items()},
        "rule": pa.array([r["rule"] for r in rules], pa.string()),
        "verdict": pa.array([r["verdict"] for r in rules], pa.string()),
        "exceedance_count": pa.array([r["exceedance_count"] for r in rules], pa.int32()),
        "max_exceedances": pa.array([r["max_exceedances"] for r in rules], pa.int32()),
    })
    ex = verdict["exceedances"]
    exceedances = pa.table({
        "model": pa.array([common["model"]] * len(ex), pa.string()),
        "rule": pa.array([e["rule"] for e in ex], pa.string()),
        **{k: pa.array([e[k] for e in ex], pa.float64())
           for k in ("start_s", "end_s", "duration_s", "peak", "limit", "excess")},
        "unit": pa.array([e["unit"] for e in ex], pa.string()),
        "lap": pa.array([e.get("lap") for e in ex], pa.int32()),
    })
    return (_write_table(verdicts, _partition(root, "verdicts", job), name),
            _write_table(exceedances, _partition(root, "exceedances", job), name),
            _write_table(channels_table(result.session.channels), _partition(root, "channels", job), name))


# -- the dispatching side ------------------------------------------------------------------------------------
def _run_pool(jobs: Sequence[CheckJob], workers: int) -> Iterator[tuple[int, JobResult]]:
    import multiprocessing

    # forkserver: workers start from a clean interpreter (no inherited threads or open store connections)
    ctx = multiprocessing.get_context("forkserver")
    ctx.set_forkserver_preload(["compliance.fleet", "compliance.check", "telemetry.session"])
    with ProcessPoolExecutor(max_workers=min(workers, len(jobs)), mp_context=ctx) as pool:
        futures = {pool.submit(run_job, job): i for i, job in enumerate(jobs)}
        for future in as_completed(futures):
            yield futures[future], future.result()


def _run_dask(jobs: Sequence[CheckJob], scheduler: Any) -> Iterator[tuple[int, JobResult]]:
    from distributed import Client
    from distributed import as_completed as dask_completed

    client = scheduler if isinstance(scheduler, Client) else Client(scheduler, set_as_default=False)
    try:
        futures = [client.submit(run_job, job, key=f"bopwatch-check-{job.key}-{i}", pure=False)
                   for i, job in enumerate(jobs)]
        index = {f.key: i for i, f in enumerate(futures)}
        for future in dask_completed(futures, loop=client.loop):
            yield index[future.key], future.result()
            future.release()
    finally:
        if client is not scheduler:
            client.close()


def run_jobs(jobs: Iterable[CheckJob], workers: int | None = None, scheduler: Any = None,
             progress: Progress | None = None) -> list[JobResult]:
    """Run ``jobs`` and return their results in job order.

    ``scheduler``: a Dask scheduler address or ``distributed.Client`` (then ``workers`` is ignored; the
    cluster's workers run the jobs). Else ``workers`` processes on this machine (default: every core);
    ``workers=1`` runs them here, one after the other. ``progress(done, total, what)`` after each job.
    """
    jobs = list(jobs)
    total = len(jobs)
    results: list[JobResult | None] = [None] * total
    if scheduler is not None:
        stream: Iterable[tuple[int, JobResult]] = _run_dask(jobs, scheduler)
    else:
        n = default_workers() if workers is None else int(workers)
        if n < 1:
            raise ComplianceError(f"workers={n}", fix="give at least 1 worker")
        stream = ((i, run_job(job)) for i, job in enumerate(jobs)) if n == 1 or total <= 1 else _run_pool(jobs, n)
    for done, (i, res) in enumerate(stream, start=1):
        results[i] = res
        if progress is not None:
            progress(done, total, f"car {res.job.car or Path(res.job.paths[0]).name}: "
                                  f"{res.verdict['verdict'] if res.verdict else 'error'}")
    return [r for r in results if r is not None]


# -- ingest: workers compute, this process writes the store ---------------------------------------------------
class _Planned(Exception):
    """Raised by the planning checker: the call is recorded, nothing is judged or written."""


@dataclass(slots=True)
class _Planner:
    calls: list[tuple[tuple[str, ...], Any, tuple[Any, ...], dict]] = field(default_factory=list)

    def __call__(self, paths, profile, bulletins, **kwargs):
        self.calls.append((tuple(str(p) for p in paths), profile, tuple(bulletins), kwargs))
        raise _Planned("planned")


class _Silence(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return "_Planned" not in record.getMessage()


def _call_key(paths: Iterable[Any], profile: Any, bulletins: Iterable[Any], kwargs: Mapping[str, Any]) -> tuple:
    return (tuple(str(Path(p).resolve()) for p in paths), profile.sha256,
            tuple(sorted(getattr(b, "sha256", str(b)) for b in bulletins)),
            kwargs.get("lap_length_m"), kwargs.get("track_category"))


@dataclass(slots=True)
class _Prefetched:
    """The checker ``ingest_logs`` calls: waits for the worker's result for exactly these inputs, else (inputs
    not planned, e.g. a log arrived meanwhile) judges locally, so results never depend on the plan."""

    futures: dict[tuple, Any]
    local: int = 0

    def __call__(self, paths, profile, bulletins, **kwargs):
        from .check import check_logs

        future = self.futures.pop(_call_key(paths, profile, bulletins, kwargs), None)
        if future is None:
            self.local += 1
            return check_logs(paths, profile, bulletins, **kwargs)
        res = future.result()
        if res.error is not None:
            raise ComplianceError(res.error)
        return _unship(res.result, bulletins)


class _Here:
    """A job run in this process when its result is asked for (the ``workers=1`` case)."""

    def __init__(self, job: CheckJob) -> None:
        self.job = job

    def result(self) -> JobResult:
        return run_job(self.job)


@contextmanager
def _submitter(workers: int | None, scheduler: Any, n_jobs: int) -> Iterator[Callable[[CheckJob, int], Any]]:
    """``submit(job, i) -> future`` (``.result()`` gives the JobResult) on the cluster, a pool, or here."""
    if scheduler is not None:
        from distributed import Client

        client = scheduler if isinstance(scheduler, Client) else Client(scheduler, set_as_default=False)
        try:
            yield lambda job, i: client.submit(run_job, job, key=f"bopwatch-check-{job.key}-{i}", pure=False)
        finally:
            if client is not scheduler:
                client.close()
        return
    n = default_workers() if workers is None else int(workers)
    if n <= 1 or n_jobs <= 1:
        yield lambda job, i: _Here(job)
        return
    import multiprocessing

    ctx = multiprocessing.get_context("forkserver")
    ctx.set_forkserver_preload(["compliance.fleet", "compliance.check", "telemetry.session"])
    pool = ProcessPoolExecutor(max_workers=min(n, n_jobs), mp_context=ctx)
    try:
        yield lambda job, i: pool.submit(run_job, job)
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def ingest_parallel(store: Any, paths: Sequence[str | Path], *, workers: int | None = None,
                    scheduler: Any = None, progress: Progress | None = None, **options: Any) -> list[Any]:
    """``compliance.ingest.ingest_logs`` with every car's check computed in parallel (same outcomes, same store).

    Three steps: a planning pass of ``ingest_logs`` records which (logs, profile, bulletins) each car's session
    will be judged with (it stores the originals and judges nothing: no run is written); every car is submitted
    to the workers; a second ``ingest_logs`` pass writes the store from this process, car by car as each result
    arrives (one writer, as DuckDB wants; JSON lines keep streaming). A car whose inputs changed in between is
    judged locally.
    ``options`` are ``ingest_logs``'s keyword arguments (``on_outcome`` is only called in the second pass)."""
    from .ingest import ingest_logs

    planner = _Planner()
    quiet = _Silence()
    plan_options = {k: v for k, v in options.items() if k != "on_outcome"}
    logging.getLogger("compliance.ingest").addFilter(quiet)
    try:
        ingest_logs(store, paths, check=planner, **plan_options)
    finally:
        logging.getLogger("compliance.ingest").removeFilter(quiet)
    jobs, keys = [], []
    for call_paths, profile, bulletins, kwargs in planner.calls:
        jobs.append(CheckJob(call_paths, str(profile.path), tuple(b.path for b in bulletins),
                             car=Path(call_paths[0]).stem[:12], lap_length_m=kwargs.get("lap_length_m"),
                             track_category=kwargs.get("track_category"), keep_result=True))
        keys.append(_call_key(call_paths, profile, bulletins, kwargs))
    log.info("ingest: %d car session(s) to judge on %s", len(jobs),
             scheduler if scheduler is not None else f"{workers or default_workers()} worker(s)")
    with _submitter(workers, scheduler, len(jobs)) as submit:
        # every job is submitted now; the second pass writes each car as soon as its result is in, in order
        prefetched = _Prefetched({key: submit(job, i) for i, (job, key) in enumerate(zip(jobs, keys, strict=True))})
        outcomes = ingest_logs(store, paths, check=prefetched, progress=progress, **options)
    if prefetched.local:
        log.info("ingest: %d car session(s) judged locally (inputs changed after planning)", prefetched.local)
    return outcomes
