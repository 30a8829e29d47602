"""What the log-reading commands (``check``, ``decode``, ``inspect``) share about limits: running out of memory
in this process, or an operating-system error reading a log, is one error line naming the logs (exit 2), never a
traceback and never a verdict's exit code."""

from __future__ import annotations

import errno
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress

from ..errors import ComplianceError

__all__ = ["bounded", "session_label", "require_regular_files"]


def session_label(logs: Sequence[str]) -> str:
    """The logs as an error message names them: the file, or the files of the session joined by commas."""
    return ", ".join(map(str, logs))


def require_regular_files(logs: Sequence[str]) -> None:
    """Refuse, before anything is loaded, a log that is not a regular file (a FIFO would block its open,
    ``/dev/zero`` never end): one ``ComplianceError`` line naming it. A missing file is left to the readers."""
    from ..store.originals import open_regular_file

    for log in logs:
        with suppress(FileNotFoundError):
            open_regular_file(log).close()


@contextmanager
def bounded(logs: Sequence[str]) -> Iterator[None]:
    """Turn a ``MemoryError`` or an ``OSError`` (other than a missing file, which the CLI reports itself) raised
    inside into a ``ComplianceError`` naming ``logs``."""
    try:
        yield
    except MemoryError:
        raise _out_of_memory(logs) from None
    except FileNotFoundError:
        raise
    except OSError as err:
        if err.errno == errno.ENOMEM:
            raise _out_of_memory(logs) from None
        raise ComplianceError(err.strerror or str(err), path=err.filename or session_label(logs),
                              fix="check the path and its permissions") from None


def _out_of_memory(logs: Sequence[str]) -> ComplianceError:
    return ComplianceError("ran out of memory reading the log", path=session_label(logs),
                           fix="the file is damaged or hostile, or too large for this machine; run with --isolate "
                               "auto (the default) to read it under BOPWATCH_PARSE_MEMORY_MB")
