"""Parse a file in a child process with time and memory limits, so a bad file cannot hang or crash the caller.

python-can and asammdf have had infinite loops, runaway allocations and interpreter crashes on damaged files;
our own readers are fuzzed, but a daemon that ingests whatever lands in a folder must survive the next surprise.
``run_isolated("telemetry.formats:inspect_log", path)`` runs the parser in a fresh interpreter that sets
``RLIMIT_AS`` (memory) and ``RLIMIT_CPU`` (the time limit, in CPU seconds) on itself before it reads the file; the
parent enforces a wall-clock timeout (``WALL_FACTOR`` times the time limit, so a busy machine does not turn a slow
parse into a failure) and kills the child when it passes. The result comes back as the same object the parser returns (pickled
through a temporary file, never through stdout, which libraries may write to).

Errors, all ``TelemetryError`` subclasses naming the file:

* the parser's own ``TelemetryError`` (``CorruptLog``...) is raised again in the parent, same class and fields;
* ``ParseTimeout``: "parser exceeded N s of CPU time" (or of wall-clock time);
* ``ParseMemoryExceeded``: "parser exceeded N MB";
* ``ParseCrashed``: "parser crashed with signal SIGSEGV" (or an exit status);
* ``ParseFailed``: any other exception in the parser (a bug in bopwatch: the message says to report it).

Limits: argument > environment (``BOPWATCH_PARSE_TIMEOUT_S``, ``BOPWATCH_PARSE_MEMORY_MB``) > default
(time ``30 s + 2 s per MB`` of the file, of CPU; memory 4096 MB of address space).

``run_limited(func, path, ...)`` is the cheap form, for a caller that has already imported the readers (the
``check``, ``decode`` and ``inspect`` commands isolate every file this way): the child is a *fork* of this
process, so it starts in milliseconds with everything imported, and only the result crosses back (pickled through
a pipe). It forks only when that is safe, when this process runs one Python thread; otherwise (a watcher, a
server) it falls back to ``run_isolated``'s fresh interpreter, with the same limits and errors.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import math
import os
import pickle
import resource
import select
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from importlib import import_module
from pathlib import Path
from typing import Any

from .errors import TelemetryError
from .limits import env_number

__all__ = ["IsolationError", "ParseTimeout", "ParseMemoryExceeded", "ParseCrashed", "ParseFailed",
           "MDF_SUFFIXES", "FIX", "is_mdf", "set_limits", "run_isolated", "run_limited", "can_fork", "inspect_isolated",
           "read_frames_isolated", "limits_for"]

log = logging.getLogger(__name__)

DEFAULT_MEMORY_MB = 4096
BASE_TIMEOUT_S = 30.0
TIMEOUT_S_PER_MB = 2.0
#: the wall-clock limit is this many times the CPU-time limit: generous on a loaded machine, yet it still stops a
#: child that blocks without using CPU
WALL_FACTOR = 4.0
FIX = "the file is damaged or hostile; ask for the logger's original file"


class IsolationError(TelemetryError):
    """The isolated parser did not return: it ran too long, used too much memory, crashed or failed."""


class ParseTimeout(IsolationError):
    """The parser ran longer than its wall-clock or CPU-time limit and was killed."""


class ParseMemoryExceeded(IsolationError):
    """The parser tried to use more memory than its limit."""


class ParseCrashed(IsolationError):
    """The parser's process died (a signal, or an exit without a result)."""


class ParseFailed(IsolationError):
    """The parser raised an exception that is not a ``TelemetryError``: a bug in bopwatch."""


#: suffixes of files read by asammdf, which has crashed and hung on damaged files: isolated by default
MDF_SUFFIXES = frozenset({".mf4", ".mdf", ".dat", ".mf3"})


def is_mdf(path: str | Path) -> bool:
    """Whether ``path`` names an MDF file (``.gz`` looked through), which ``--isolate auto`` reads in a child."""
    suffixes = [s.lower() for s in Path(path).suffixes]
    if suffixes and suffixes[-1] == ".gz":
        suffixes = suffixes[:-1]
    return bool(suffixes) and suffixes[-1] in MDF_SUFFIXES


def _size_mb(paths: str | Path | Sequence[str | Path] | None) -> float:
    if paths is None:
        return 0.0
    total = 0
    for p in [paths] if isinstance(paths, str | Path) else paths:
        with contextlib.suppress(OSError):
            total += Path(p).stat().st_size
    return total / 1e6


def limits_for(path: str | Path | Sequence[str | Path] | None, timeout_s: float | None = None,
               memory_mb: int | None = None, *, default_memory_mb: int = DEFAULT_MEMORY_MB) -> tuple[float, int]:
    """(timeout in seconds, memory in MB) for parsing ``path`` (or several files, their sizes summed): argument >
    environment > default."""
    if timeout_s is None:
        timeout_s = env_number("BOPWATCH_PARSE_TIMEOUT_S", None)
    if timeout_s is None:
        timeout_s = BASE_TIMEOUT_S + TIMEOUT_S_PER_MB * _size_mb(path)
    if memory_mb is None:
        env = env_number("BOPWATCH_PARSE_MEMORY_MB", None)
        memory_mb = int(env) if env is not None else default_memory_mb
    return float(timeout_s), int(memory_mb)


def _signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"signal {number}"


def _tail(path: Path, limit: int = 400) -> str:
    try:
        text = path.read_bytes()[-limit:].decode("utf-8", "replace").strip()
    except OSError:
        return ""
    return text.splitlines()[-1] if text else ""


def run_isolated(target: str, path: str | Path, *args: Any, timeout_s: float | None = None,
                 memory_mb: int | None = None, errors: tuple[str, ...] = (), **kwargs: Any) -> Any:
    """``module:function(path, *args, **kwargs)`` in a child process with limits; its return value, or the error
    it raised (see the module notes). ``TelemetryError``s and ``OSError``s are raised again as they were, and so
    are the exception classes named in ``errors`` (``"module:Class"``, e.g. another package's error root).
    Arguments and the result must pickle."""
    timeout_s, memory_mb = limits_for(path, timeout_s, memory_mb)
    path = Path(path)
    request = {"target": target, "path": str(path), "args": args, "kwargs": kwargs, "sys_path": sys.path,
               "timeout_s": timeout_s, "memory_mb": memory_mb, "errors": errors}
    with tempfile.TemporaryDirectory(prefix="bopwatch-isolate-") as tmp:
        req_file, out_file, err_file = Path(tmp, "request"), Path(tmp, "result"), Path(tmp, "stderr")
        req_file.write_bytes(pickle.dumps(request))
        env = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
        code = "import sys; from telemetry.isolate import _child; _child(sys.argv[1], sys.argv[2])"
        started = time.monotonic()
        with open(err_file, "wb") as err_fh:
            proc = subprocess.Popen([sys.executable, "-c", code, str(req_file), str(out_file)],
                                    stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=err_fh, env=env)
            wall_s = WALL_FACTOR * timeout_s
            try:
                status = proc.wait(timeout=wall_s)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
                log.info("%s: parser killed after %.1f s", path, time.monotonic() - started)
                raise ParseTimeout(f"parser exceeded {wall_s:g} s of wall-clock time ({timeout_s:g} s of CPU "
                                   "time allowed) and was stopped", path=path,
                                   fix=f"{FIX}, or raise BOPWATCH_PARSE_TIMEOUT_S if it is just very large") \
                    from None
        if status in (-signal.SIGXCPU, -signal.SIGPROF):
            raise ParseTimeout(f"parser exceeded {timeout_s:g} s of CPU time and was stopped", path=path,
                               fix=f"{FIX}, or raise BOPWATCH_PARSE_TIMEOUT_S if it is just very large")
        if not out_file.exists():
            if status < 0:
                raise ParseCrashed(f"parser crashed with signal {_signal_name(-status)}", path=path, fix=FIX)
            detail = _tail(err_file)
            raise ParseCrashed(f"parser exited with status {status} without a result"
                               + (f" ({detail})" if detail else ""), path=path, fix=FIX)
        data = out_file.read_bytes()
    return _result(data, path, memory_mb)


def _result(data: bytes, path: str | Path, memory_mb: int, what: str = "parser") -> Any:
    """The child's return value from its pickled (kind, payload), or the error it stands for."""
    kind, payload = pickle.loads(data)
    if kind == "ok":
        return payload
    if kind == "error":
        raise payload
    if kind == "memory":
        raise ParseMemoryExceeded(f"{what} exceeded {memory_mb} MB", path=path,
                                  fix=f"{FIX}, or raise BOPWATCH_PARSE_MEMORY_MB if it is just very large")
    raise ParseFailed(f"{what} failed with {payload}", path=path,
                      fix="this is a bug in bopwatch: report it with the file")


def can_fork() -> bool:
    """Whether this process may fork a limited child: POSIX, and no other Python thread is running (a thread
    holding a lock at the fork would leave it held in the child forever)."""
    return hasattr(os, "fork") and threading.active_count() == 1


def run_limited(func: Callable[..., Any], path: str | Path, *args: Any, timeout_s: float | None = None,
                memory_mb: int | None = None, errors: tuple[str, ...] = (), what: str = "parser",
                **kwargs: Any) -> Any:
    """``func(path, *args, **kwargs)`` with ``run_isolated``'s limits and errors, in a forked child when
    ``can_fork()`` (no interpreter start, nothing imported again), else in a fresh interpreter (``func`` must
    then be importable by its module and name). ``what`` names the work in messages ("parser", "check")."""
    timeout_s, memory_mb = limits_for(path, timeout_s, memory_mb)
    if not can_fork():
        return run_isolated(f"{func.__module__}:{func.__qualname__}", path, *args, timeout_s=timeout_s,
                            memory_mb=memory_mb, errors=errors, **kwargs)
    passthrough = (TelemetryError, OSError, *(_resolve(name) for name in errors))
    for stream in (sys.stdout, sys.stderr):      # nothing buffered may be written twice
        with contextlib.suppress(Exception):
            stream.flush()
    read_end, write_end = os.pipe()
    parent = os.getpid()
    pid = os.fork()
    if pid == 0:        # the child: limits, the work, the pickled outcome into the pipe; never returns
        code = 0
        try:
            os.close(read_end)
            _die_with(parent)
            set_limits(timeout_s, memory_mb, precise=True)
            data = _reported(func, str(path), args, kwargs, passthrough)
            view = memoryview(data)
            while view:
                view = view[os.write(write_end, view):]
            for stream in (sys.stdout, sys.stderr):
                with contextlib.suppress(Exception):
                    stream.flush()
        except BaseException:  # noqa: BLE001 - the parent reports an exit without a result
            code = 70
        finally:
            os._exit(code)
    os.close(write_end)
    try:
        data, status, cpu_s = _collect(read_end, pid, timeout_s, path, what)
    finally:
        os.close(read_end)
    code = os.waitstatus_to_exitcode(status)
    if not data and (code in (-signal.SIGXCPU, -signal.SIGPROF)
                     or (code == -signal.SIGKILL and cpu_s >= math.ceil(timeout_s))):
        raise ParseTimeout(f"{what} exceeded {timeout_s:g} s of CPU time and was stopped", path=path,
                           fix=f"{FIX}, or raise BOPWATCH_PARSE_TIMEOUT_S if it is just very large")
    if not data or code != 0:
        if code < 0:
            raise ParseCrashed(f"{what} crashed with signal {_signal_name(-code)}", path=path, fix=FIX)
        raise ParseCrashed(f"{what} exited with status {code} without a result", path=path, fix=FIX)
    return _result(data, path, memory_mb, what)


def _die_with(parent: int) -> None:
    """Have the kernel kill this (forked) child when its parent dies, so a killed command leaves no reader
    running on (Linux ``PR_SET_PDEATHSIG``; elsewhere the child ends at its own limits)."""
    with contextlib.suppress(Exception):
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL, 0, 0, 0)     # PR_SET_PDEATHSIG = 1
    if os.getppid() != parent:          # the parent died before the request was in place
        os._exit(70)


def _collect(fd: int, pid: int, timeout_s: float, path: str | Path, what: str) -> tuple[bytes, int, float]:
    """Everything the child writes to ``fd``, its wait status and the CPU seconds it used; the child is killed
    (``ParseTimeout``) when it passes its wall-clock limit, and on any interruption of the parent (Ctrl-C)."""
    wall_s = WALL_FACTOR * timeout_s
    deadline = time.monotonic() + wall_s
    parts: list[bytes] = []
    try:
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise ParseTimeout(f"{what} exceeded {wall_s:g} s of wall-clock time ({timeout_s:g} s of CPU time "
                                   "allowed) and was stopped", path=path,
                                   fix=f"{FIX}, or raise BOPWATCH_PARSE_TIMEOUT_S if it is just very large")
            ready, _, _ = select.select([fd], [], [], min(left, 1.0))
            if ready:
                part = os.read(fd, 1 << 20)
                if not part:            # the child closed its end: it has exited or is exiting
                    break
                parts.append(part)
        while True:
            done, status, usage = os.wait4(pid, os.WNOHANG)
            if done:
                return b"".join(parts), status, usage.ru_utime + usage.ru_stime
            if time.monotonic() > deadline:
                raise ParseTimeout(f"{what} exceeded {wall_s:g} s of wall-clock time and was stopped", path=path,
                                   fix=FIX)
            time.sleep(0.005)
    except BaseException:
        with contextlib.suppress(ProcessLookupError, ChildProcessError):
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
        log.info("%s: %s stopped", path, what)
        raise


def inspect_isolated(path: str | Path, *, timeout_s: float | None = None, memory_mb: int | None = None):
    """``telemetry.formats.inspect_log(path)`` in an isolated child: a ``SourceInfo``."""
    return run_isolated("telemetry.formats:inspect_log", path, timeout_s=timeout_s, memory_mb=memory_mb)


def read_frames_isolated(path: str | Path, *, timeout_s: float | None = None, memory_mb: int | None = None):
    """``telemetry.formats.read_frames(path)`` in an isolated child: ``Frames`` with findings."""
    return run_isolated("telemetry.formats:read_frames", path, timeout_s=timeout_s, memory_mb=memory_mb)


# -- the child ------------------------------------------------------------------------------------------------
def set_limits(timeout_s: float, memory_mb: int, *, precise: bool = False) -> None:
    """Limit this (child) process to ``timeout_s`` of CPU time and ``memory_mb`` of address space. ``RLIMIT_CPU``
    counts whole seconds from the process's start (``SIGXCPU``); with ``precise`` the profiling timer also holds
    the limit from now, to a fraction of a second (``SIGPROF``, whose default action ends the process)."""
    cpu = max(1, math.ceil(timeout_s))
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 5))
    if precise:
        signal.setitimer(signal.ITIMER_PROF, timeout_s)
    limit = memory_mb * 1024 * 1024
    _, hard = resource.getrlimit(resource.RLIMIT_AS)
    if hard != resource.RLIM_INFINITY:
        limit = min(limit, hard)
    resource.setrlimit(resource.RLIMIT_AS, (limit, hard))


def _resolve(target: str) -> Callable[..., Any]:
    module, _, name = target.partition(":")
    return getattr(import_module(module), name)


_OUT_OF_MEMORY = pickle.dumps(("memory", None))


def _outcome(func: Callable[..., Any] | str, path: str, args: tuple, kwargs: dict,
             passthrough: tuple[type[BaseException], ...]) -> bytes:
    """``func(path, *args, **kwargs)`` as one pickled (kind, payload) tuple: ``ok`` and the result, ``error`` and
    an exception of the ``passthrough`` classes, ``memory``, or ``failed`` and the text of any other exception."""
    try:
        if isinstance(func, str):
            func = _resolve(func)
        result: tuple[str, Any] = ("ok", func(path, *args, **kwargs))
    except MemoryError:
        return _OUT_OF_MEMORY
    except passthrough as err:
        if isinstance(err, OSError) and err.errno == errno.ENOMEM:    # an mmap or a read over the limit
            return _OUT_OF_MEMORY
        result = ("error", err)
    except Exception as err:  # noqa: BLE001 - reported to the parent as ParseFailed
        if _at_memory_limit():      # C code whose allocation failed may raise anything (SystemError...)
            return _OUT_OF_MEMORY
        result = ("failed", f"{type(err).__name__}: {err}")
    try:
        data = pickle.dumps(result)
        if result[0] == "error":
            pickle.loads(data)          # an error class that cannot be rebuilt is reported by name instead
        return data
    except MemoryError:
        return _OUT_OF_MEMORY
    except Exception as err:  # noqa: BLE001 - an unpicklable result is a bug worth naming
        return pickle.dumps(("failed", f"{type(result[1]).__name__}: {result[1]}" if result[0] == "error"
                             else f"result does not pickle: {type(err).__name__}: {err}"))


def _at_memory_limit(slack: int = 128 << 20) -> bool:
    """Whether this process's address space is within ``slack`` bytes of its ``RLIMIT_AS`` (Linux); True when
    even that cannot be found out (near the limit, little can)."""
    try:
        limit, _ = resource.getrlimit(resource.RLIMIT_AS)
        if limit == resource.RLIM_INFINITY:
            return False
        fd = os.open("/proc/self/statm", os.O_RDONLY)
        try:
            pages = int(os.read(fd, 64).split()[0])
        finally:
            os.close(fd)
        return pages * os.sysconf("SC_PAGE_SIZE") >= limit - slack
    except OSError:
        return False
    except BaseException:  # noqa: BLE001 - at the limit, anything may fail
        return True


def _reported(func: Callable[..., Any] | str, path: str, args: tuple, kwargs: dict,
              passthrough: tuple[type[BaseException], ...]) -> bytes:
    """``_outcome``, also when reporting the outcome fails in turn (an exception's text that cannot be made, an
    allocation in a handler): then the memory error at the address-space limit, else a failure by name."""
    try:
        return _outcome(func, path, args, kwargs, passthrough)
    except KeyboardInterrupt:
        raise
    except BaseException as err:  # noqa: BLE001 - reported to the parent
        if _at_memory_limit():
            return _OUT_OF_MEMORY
        try:
            return pickle.dumps(("failed", f"{type(err).__name__} while reporting the outcome"))
        except BaseException:  # noqa: BLE001
            return _OUT_OF_MEMORY


def _child(request_file: str, result_file: str) -> None:
    """Entry point of the child: limits first, then the parser; one pickled (kind, payload) tuple out."""
    request = pickle.loads(Path(request_file).read_bytes())
    sys.path[:] = request["sys_path"]
    set_limits(request["timeout_s"], request["memory_mb"], precise=True)
    passthrough = (TelemetryError, OSError, *(_resolve(name) for name in request["errors"]))
    data = _reported(request["target"], request["path"], request["args"], request["kwargs"], passthrough)
    tmp = Path(f"{result_file}.part")
    tmp.write_bytes(data)
    os.replace(tmp, result_file)
