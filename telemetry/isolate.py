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
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
import pickle
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from importlib import import_module
from pathlib import Path
from typing import Any

from .errors import TelemetryError

__all__ = ["IsolationError", "ParseTimeout", "ParseMemoryExceeded", "ParseCrashed", "ParseFailed",
           "MDF_SUFFIXES", "FIX", "is_mdf", "set_limits", "run_isolated", "inspect_isolated", "read_frames_isolated", "limits_for"]

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


def _env_float(name: str) -> float | None:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return None
    try:
        value = float(raw)
    except ValueError:
        raise TelemetryError(f"{name}={raw!r} is not a number", place=name,
                             fix=f"set {name} to a positive number or unset it") from None
    if not value > 0:
        raise TelemetryError(f"{name}={raw!r} must be positive", place=name,
                             fix=f"set {name} to a positive number or unset it")
    return value


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
        timeout_s = _env_float("BOPWATCH_PARSE_TIMEOUT_S")
    if timeout_s is None:
        timeout_s = BASE_TIMEOUT_S + TIMEOUT_S_PER_MB * _size_mb(path)
    if memory_mb is None:
        env = _env_float("BOPWATCH_PARSE_MEMORY_MB")
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
                log.warning("%s: parser killed after %.1f s", path, time.monotonic() - started)
                raise ParseTimeout(f"parser exceeded {wall_s:g} s of wall-clock time ({timeout_s:g} s of CPU "
                                   "time allowed) and was stopped", path=path,
                                   fix=f"{FIX}, or raise BOPWATCH_PARSE_TIMEOUT_S if it is just very large") \
                    from None
        if status == -signal.SIGXCPU:
            raise ParseTimeout(f"parser exceeded {timeout_s:g} s of CPU time and was stopped", path=path,
                               fix=f"{FIX}, or raise BOPWATCH_PARSE_TIMEOUT_S if it is just very large")
        if not out_file.exists():
            if status < 0:
                raise ParseCrashed(f"parser crashed with signal {_signal_name(-status)}", path=path, fix=FIX)
            detail = _tail(err_file)
            raise ParseCrashed(f"parser exited with status {status} without a result"
                               + (f" ({detail})" if detail else ""), path=path, fix=FIX)
        kind, payload = pickle.loads(out_file.read_bytes())
    if kind == "ok":
        return payload
    if kind == "error":
        raise payload
    if kind == "memory":
        raise ParseMemoryExceeded(f"parser exceeded {memory_mb} MB", path=path,
                                  fix=f"{FIX}, or raise BOPWATCH_PARSE_MEMORY_MB if it is just very large")
    raise ParseFailed(f"parser failed with {payload}", path=path,
                      fix="this is a bug in bopwatch: report it with the file")


def inspect_isolated(path: str | Path, *, timeout_s: float | None = None, memory_mb: int | None = None):
    """``telemetry.formats.inspect_log(path)`` in an isolated child: a ``SourceInfo``."""
    return run_isolated("telemetry.formats:inspect_log", path, timeout_s=timeout_s, memory_mb=memory_mb)


def read_frames_isolated(path: str | Path, *, timeout_s: float | None = None, memory_mb: int | None = None):
    """``telemetry.formats.read_frames(path)`` in an isolated child: ``Frames`` with findings."""
    return run_isolated("telemetry.formats:read_frames", path, timeout_s=timeout_s, memory_mb=memory_mb)


# -- the child ------------------------------------------------------------------------------------------------
def set_limits(timeout_s: float, memory_mb: int) -> None:
    """Limit this (child) process to ``timeout_s`` of CPU time and ``memory_mb`` of address space."""
    import resource

    cpu = max(1, math.ceil(timeout_s))
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 5))
    limit = memory_mb * 1024 * 1024
    _, hard = resource.getrlimit(resource.RLIMIT_AS)
    if hard != resource.RLIM_INFINITY:
        limit = min(limit, hard)
    resource.setrlimit(resource.RLIMIT_AS, (limit, hard))


def _resolve(target: str) -> Callable[..., Any]:
    module, _, name = target.partition(":")
    return getattr(import_module(module), name)


def _child(request_file: str, result_file: str) -> None:
    """Entry point of the child: limits first, then the parser; one pickled (kind, payload) tuple out."""
    request = pickle.loads(Path(request_file).read_bytes())
    sys.path[:] = request["sys_path"]
    set_limits(request["timeout_s"], request["memory_mb"])
    passthrough = (TelemetryError, OSError, *(_resolve(name) for name in request["errors"]))
    try:
        func = _resolve(request["target"])
        result: tuple[str, Any] = ("ok", func(request["path"], *request["args"], **request["kwargs"]))
    except MemoryError:
        result = ("memory", None)
    except passthrough as err:
        result = ("error", err)
    except Exception as err:  # noqa: BLE001 - reported to the parent as ParseFailed
        result = ("failed", f"{type(err).__name__}: {err}")
    try:
        data = pickle.dumps(result)
        if result[0] == "error":
            pickle.loads(data)          # an error class that cannot be rebuilt is reported by name instead
    except MemoryError:
        data = pickle.dumps(("memory", None))
    except Exception as err:  # noqa: BLE001 - an unpicklable result is a bug worth naming
        data = pickle.dumps(("failed", f"{type(result[1]).__name__}: {result[1]}" if result[0] == "error"
                             else f"result does not pickle: {type(err).__name__}: {err}"))
    tmp = Path(f"{result_file}.part")
    tmp.write_bytes(data)
    os.replace(tmp, result_file)
