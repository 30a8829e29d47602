"""Many check jobs at once: a process pool on this machine (every core by default) or a Dask distributed cluster.

A :class:`CheckJob` is one car's session: its log files, the car profile and the bulletin(s). A worker reads,
decodes and judges it (``compliance.judge.check.check_logs``) and, when the job names an output folder, writes the
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
the workers (each in an isolated child, which is also the new logs' trial parse; the worker writes the car's
channel Parquet into the store folder) and lets ``compliance.ingest.pipeline`` write the rows from this process (see its
docstring).
"""

from __future__ import annotations

import hashlib
import logging
import os
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import ComplianceError

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
    keep_result: bool = False      # ship back what ingest needs to write the store (compliance.ingest.pipeline.Judged)
    isolate: bool = False          # judge in a child with time and memory limits (telemetry.isolate)
    channels_dir: str | None = None    # write the channels here as <channels_name>.parquet (the store's file)
    channels_name: str | None = None
    max_gap_s: float | None = None     # the join rules of compliance.judge.outings
    window: Any = None                 # compliance.judge.outings.SessionWindow
    car_entry: str | None = None       # the car whose [cars."N"] bulletin entry applies (SPEC §5)
    ambient_bar: float | None = None   # the session's official ambient pressure (SPEC §5)

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
    result: Any = None                   # what ingest needs (_Shipped), when the job asked for it
    crashed: bool = False                # the isolated check crashed, hung or ran out of memory
    refused: Exception | None = None     # the join rules refused the files (JoinError, JoinRefused): re-raised

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
#: address-space limit of an isolated job (as ``bopwatch check --isolate``: a 24-hour log needs more than a parse)
JOB_MEMORY_MB = 8192


@dataclass(frozen=True, slots=True)
class _Shipped:
    """What ``compliance.ingest.pipeline`` keeps of a check, in a form that pickles: the bulletin by path and hash, the
    channels already written to the store's Parquet file (``parquet``) and summarised."""

    verdict: Any
    bulletin_path: str
    bulletin_sha256: str
    sources: tuple
    start: Any
    duration_s: float | None
    parquet: str
    summaries: tuple


def _unship(shipped: _Shipped, bulletins: Sequence[Any] | None = None) -> Any:
    from ..bop.bulletins import load_bulletin
    from .judging import Judged

    bulletin = next((b for b in bulletins or () if b.sha256 == shipped.bulletin_sha256), None)
    if bulletin is None:
        bulletin = load_bulletin(shipped.bulletin_path)
    return Judged(shipped.verdict, bulletin, shipped.sources, shipped.start, shipped.duration_s,
                  Path(shipped.parquet), shipped.summaries)


def _worker_name() -> str:
    import socket
    return f"{socket.gethostname()}:{os.getpid()}"


@dataclass(frozen=True, slots=True)
class _Done:
    verdict: dict
    frames: int
    duration_s: float
    files: tuple[str, ...]
    shipped: _Shipped | None


def _judge_job(first: str, job: CheckJob, profile: Any = None) -> _Done:
    """The job's work (in the worker, or in its isolated child): judge, write its Parquet, summarise.
    ``profile``: the loaded profile of ``job.profile`` when the caller has it."""
    from ..judge.check import check_logs
    from ..store.originals import write_channels_parquet
    from .judging import summaries

    bulletins: Any = job.bulletins[0] if len(job.bulletins) == 1 else list(job.bulletins)
    result = check_logs(list(job.paths), profile or job.profile, bulletins, lap_length_m=job.lap_length_m,
                        track_category=job.track_category, max_gap_s=job.max_gap_s, window=job.window,
                        car=job.car_entry, ambient_bar=job.ambient_bar)
    verdict = result.verdict.to_dict()
    files = _write_partition(job, result, verdict) if job.out else ()
    shipped = None
    if job.keep_result:
        if not job.channels_dir or not job.channels_name:
            raise ComplianceError("keep_result needs channels_dir and channels_name",
                                  fix="name the folder and file for the job's channel Parquet")
        parquet, _ = write_channels_parquet(result.session.channels, Path(job.channels_dir), job.channels_name)
        session = result.session
        shipped = _Shipped(result.verdict, result.bulletin.path, result.bulletin.sha256, tuple(session.sources),
                           session.start, session.duration_s, str(parquet), summaries(session.channels))
    frames = sum(s.frames or 0 for s in result.session.sources)
    return _Done(verdict, frames, float(result.session.duration_s or 0.0), files, shipped)


_FORK_OK = False     # set in pool workers: single-threaded processes that may fork a child per job


def _mark_fork_ok() -> None:
    global _FORK_OK
    _FORK_OK = True


def _child_result(job: CheckJob, profile: Any) -> tuple[str, Any]:
    from telemetry.errors import TelemetryError

    try:
        return "ok", _judge_job(job.paths[0], job, profile)
    except MemoryError:
        return "memory", None
    except (TelemetryError, ComplianceError, OSError) as err:
        return "error", err
    except Exception as err:  # noqa: BLE001 - reported to the parent as ParseFailed, as telemetry.isolate does
        return "failed", f"{type(err).__name__}: {err}"


def _judge_forked(job: CheckJob, timeout_s: float, memory_mb: int) -> _Done:
    """``_judge_job`` in a forked child of this pool worker, with ``telemetry.isolate``'s limits and errors: the
    worker has imported the checker and keeps profiles cached, so a job pays no interpreter start-up."""
    import pickle
    import signal
    import tempfile

    from telemetry import isolate

    from .pipeline import _cached_profile

    profile = _cached_profile(Path(job.profile))   # loaded once per worker while its files are unchanged
    with tempfile.TemporaryDirectory(prefix="bopwatch-job-") as tmp:
        out = Path(tmp, "result")
        pid = os.fork()
        if pid == 0:        # the child: limits, the job, one pickled (kind, payload) out; never returns
            code = 0
            try:
                isolate.set_limits(timeout_s, memory_mb)
                data = pickle.dumps(_child_result(job, profile))
                Path(tmp, "partial").write_bytes(data)
                os.replace(Path(tmp, "partial"), out)
            except BaseException:  # noqa: BLE001 - the parent reports an exit without a result
                code = 70
            finally:
                os._exit(code)
        wall_s = isolate.WALL_FACTOR * timeout_s
        deadline = time.monotonic() + wall_s
        while True:
            done_pid, status = os.waitpid(pid, os.WNOHANG)
            if done_pid:
                break
            if time.monotonic() > deadline:
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
                raise isolate.ParseTimeout(f"check exceeded {wall_s:g} s of wall-clock time and was stopped",
                                           path=job.paths[0], fix=isolate.FIX)
            time.sleep(min(0.02, max(0.0, deadline - time.monotonic())))   # never past the deadline
        code = os.waitstatus_to_exitcode(status)
        if code == -signal.SIGXCPU:
            raise isolate.ParseTimeout(f"check exceeded {timeout_s:g} s of CPU time and was stopped",
                                       path=job.paths[0], fix=f"{isolate.FIX}, or raise BOPWATCH_PARSE_TIMEOUT_S")
        if not out.exists():
            what = f"signal {signal.Signals(-code).name}" if code < 0 else f"exit status {code} without a result"
            raise isolate.ParseCrashed(f"check crashed with {what}", path=job.paths[0], fix=isolate.FIX)
        kind, payload = pickle.loads(out.read_bytes())
    if kind == "ok":
        return payload
    if kind == "error":
        raise payload
    if kind == "memory":
        raise isolate.ParseMemoryExceeded(f"check exceeded {memory_mb} MB", path=job.paths[0],
                                          fix=f"{isolate.FIX}, or raise BOPWATCH_PARSE_MEMORY_MB")
    raise isolate.ParseFailed(f"check failed with {payload}", path=job.paths[0],
                              fix="this is a bug in bopwatch: report it with the file")


def run_job(job: CheckJob) -> JobResult:
    """Judge one job in this process, or in an isolated child when ``job.isolate`` (the function every worker
    runs): a forked child in a pool worker, a fresh interpreter elsewhere (Dask workers and this process have
    threads, which fork does not copy safely)."""
    from telemetry.errors import JoinError, TelemetryError
    from telemetry.isolate import IsolationError, limits_for, run_isolated

    from ..judge.outings import JoinRefused

    t0 = time.perf_counter()
    try:
        if job.isolate:
            timeout_s, memory_mb = limits_for(list(job.paths), default_memory_mb=JOB_MEMORY_MB)
            if _FORK_OK and hasattr(os, "fork"):
                done = _judge_forked(job, timeout_s, memory_mb)
            else:
                done = run_isolated("compliance.ingest.fleet:_judge_job", job.paths[0], job, timeout_s=timeout_s,
                                    memory_mb=memory_mb, errors=("compliance.errors:ComplianceError",))
        else:
            done = _judge_job(job.paths[0], job)
    except IsolationError as err:
        log.error("job %s (%s): %s", job.key, ", ".join(job.paths), err)
        return JobResult(job, error=str(err), seconds=time.perf_counter() - t0, worker=_worker_name(),
                         crashed=True)
    except (TelemetryError, ComplianceError, OSError, ValueError) as err:
        log.error("job %s (%s): %s", job.key, ", ".join(job.paths), err)
        return JobResult(job, error=f"{type(err).__name__}: {err}" if not isinstance(
            err, TelemetryError | ComplianceError) else str(err), seconds=time.perf_counter() - t0,
            worker=_worker_name(), refused=err if isinstance(err, JoinError | JoinRefused) else None)
    return JobResult(job, done.verdict, None, time.perf_counter() - t0, done.frames, done.duration_s, done.files,
                     _worker_name(), done.shipped)


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

    from ..store.originals import channels_table

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
    ctx.set_forkserver_preload(["compliance.ingest.fleet", "compliance.judge.check", "telemetry.session"])
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
    """Raised by the planning judge: the call is recorded and submitted, nothing is written."""


def _call_key(paths: Iterable[Any], profile: Any, bulletins: Iterable[Any], kwargs: Mapping[str, Any]) -> tuple:
    return (tuple(str(Path(p).resolve()) for p in paths), profile.sha256,
            tuple(sorted(getattr(b, "sha256", str(b)) for b in bulletins)),
            kwargs.get("lap_length_m"), kwargs.get("track_category"), kwargs.get("channels_name"),
            kwargs.get("max_gap_s"), kwargs.get("window"), kwargs.get("car"), kwargs.get("ambient_bar"))


def _job(paths: Sequence[Any], profile: Any, bulletins: Sequence[Any], kwargs: Mapping[str, Any]) -> CheckJob:
    return CheckJob(tuple(str(p) for p in paths), str(profile.path), tuple(b.path for b in bulletins),
                    car=Path(str(paths[0])).stem[:12], lap_length_m=kwargs.get("lap_length_m"),
                    track_category=kwargs.get("track_category"), keep_result=True, isolate=True,
                    channels_dir=str(kwargs["channels_dir"]), channels_name=kwargs["channels_name"],
                    max_gap_s=kwargs.get("max_gap_s"), window=kwargs.get("window"), car_entry=kwargs.get("car"),
                    ambient_bar=kwargs.get("ambient_bar"))


@dataclass(slots=True)
class _Planner:
    """The judge of the planning pass: submits the car's job at once (workers start while later cars are still
    being stored) and records its future under the exact inputs."""

    submit: Callable[[CheckJob, int], Any]
    futures: dict[tuple, Any] = field(default_factory=dict)

    def __call__(self, paths, profile, bulletins, **kwargs):
        key = _call_key(paths, profile, bulletins, kwargs)
        if key not in self.futures:
            self.futures[key] = self.submit(_job(paths, profile, bulletins, kwargs), len(self.futures))
        raise _Planned("planned")


class _Silence(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return "_Planned" not in record.getMessage()


@dataclass(slots=True)
class _Prefetched:
    """The judge ``ingest_logs`` calls in the writing pass: waits for the worker's result for exactly these
    inputs, else (inputs not planned, e.g. a log arrived meanwhile) judges here, isolated as the workers do, so
    results never depend on the plan."""

    futures: dict[tuple, Any]
    local: int = 0

    def __call__(self, paths, profile, bulletins, **kwargs):
        from .pipeline import CheckCrashed

        future = self.futures.pop(_call_key(paths, profile, bulletins, kwargs), None)
        if future is None:
            self.local += 1
            future = _Here(_job(paths, profile, bulletins, kwargs))
        res = future.result()
        if res.crashed:
            raise CheckCrashed(res.error)
        if res.refused is not None:
            raise res.refused
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
def _submitter(workers: int | None, scheduler: Any) -> Iterator[Callable[[CheckJob, int], Any]]:
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
    if n <= 1:
        yield lambda job, i: _Here(job)
        return
    import multiprocessing

    ctx = multiprocessing.get_context("forkserver")
    ctx.set_forkserver_preload(["compliance.ingest.fleet", "compliance.judge.check", "telemetry.session", "telemetry.isolate"])
    # workers start on the first submissions; each forks a limited child per job (see _judge_forked)
    pool = ProcessPoolExecutor(max_workers=n, mp_context=ctx, initializer=_mark_fork_ok)
    try:
        yield lambda job, i: pool.submit(run_job, job)
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def ingest_parallel(store: Any, paths: Sequence[str | Path], *, workers: int | None = None,
                    scheduler: Any = None, progress: Progress | None = None, **options: Any) -> list[Any]:
    """``compliance.ingest.pipeline.ingest_logs`` with every car's check computed in parallel (same outcomes, same store).

    Two passes of ``ingest_logs`` share one :class:`compliance.ingest.pipeline.Prepared` (each log is hashed and copied
    once). The planning pass stores the originals and submits each car's check to the workers as soon as its
    inputs are known; it writes no row. Each worker judges its car in an isolated child (time and memory limits:
    this is also the trial parse of the car's new logs; a crash makes the writing pass trial-parse them one by
    one, as the serial path does) and writes the car's channel Parquet into the store folder. The writing pass
    then writes the rows from this process, car by car as each result arrives (one writer, as DuckDB wants; JSON
    lines keep streaming). A car whose inputs changed in between is judged here.
    ``options`` are ``ingest_logs``'s keyword arguments (``on_outcome`` is only called in the writing pass)."""
    from .pipeline import Prepared, ingest_logs

    prepared = Prepared(defer_trial=True)
    quiet = _Silence()
    plan_options = {k: v for k, v in options.items() if k != "on_outcome"}
    where = scheduler if scheduler is not None else f"{workers or default_workers()} worker(s)"
    with _submitter(workers, scheduler) as submit:
        planner = _Planner(submit)
        logging.getLogger("compliance.ingest.pipeline").addFilter(quiet)
        try:
            ingest_logs(store, paths, judge=planner, prepared=prepared, **plan_options)
        finally:
            logging.getLogger("compliance.ingest.pipeline").removeFilter(quiet)
        log.info("ingest: %d car session(s) to judge on %s", len(planner.futures), where)
        prefetched = _Prefetched(planner.futures)
        outcomes = ingest_logs(store, paths, judge=prefetched, prepared=prepared, progress=progress, **options)
    if prefetched.local:
        log.info("ingest: %d car session(s) judged here (inputs changed after planning)", prefetched.local)
    return outcomes
