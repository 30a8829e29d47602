"""Parsers that misbehave on purpose, run by ``tests/test_isolate.py`` through ``telemetry.isolate`` (the child
imports this module by name, from the test folder on ``sys.path``)."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import numpy as np

from telemetry.errors import CorruptLog


def spin(path: str) -> int:
    """Burns CPU forever, as python-can's BLF reader does on an object of size 0."""
    n = 0
    while True:
        n += 1


def sleep(path: str, seconds: float) -> str:
    time.sleep(seconds)
    return path


def allocate(path: str, megabytes: int) -> int:
    block = np.ones(megabytes * 1024 * 1024, np.uint8)
    return int(block.sum())


def segfault(path: str) -> None:
    os.kill(os.getpid(), signal.SIGSEGV)


def exit_silently(path: str) -> None:
    os._exit(3)


def refuse(path: str) -> None:
    raise CorruptLog("no object signature", path=path, offset=144, fix="ask for the original")


def bare_error(path: str) -> None:
    raise KeyError("channel")


def size(path: str) -> int:
    return Path(path).stat().st_size


def python_can_frames(path: str) -> int:
    """Frames python-can's own reader yields for the file (it may never return on a damaged BLF)."""
    import can

    with can.LogReader(path) as reader:
        return sum(1 for _ in reader)
