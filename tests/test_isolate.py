"""``telemetry.isolate``: a parser in a child process returns its result, or a ``TelemetryError`` naming the file
when it hangs, spins, allocates without bound, crashes or fails; the caller survives every one of them."""

from __future__ import annotations

import struct
import time
import zlib

import pytest
from _store_support import write_log

from telemetry.errors import CorruptLog, TelemetryError
from telemetry.formats import inspect_log, read_frames
from telemetry.isolate import (
    ParseCrashed,
    ParseFailed,
    ParseMemoryExceeded,
    ParseTimeout,
    inspect_isolated,
    limits_for,
    read_frames_isolated,
    run_isolated,
)


@pytest.fixture(scope="module")
def log_file(tmp_path_factory):
    return write_log(tmp_path_factory.mktemp("isolate") / "car7.log", seconds=2)


def test_isolated_inspect_returns_the_same_source_info_as_in_process(log_file):
    assert inspect_isolated(log_file) == inspect_log(log_file)


def test_isolated_read_frames_returns_the_same_frames(log_file):
    isolated, direct = read_frames_isolated(log_file), read_frames(log_file)
    assert len(isolated) == len(direct) == 200
    assert (isolated.data == direct.data).all() and (isolated.timestamp == direct.timestamp).all()
    assert isolated.start == direct.start and isolated.findings == direct.findings


def test_a_spinning_parser_is_stopped_at_the_time_limit(log_file):
    started = time.monotonic()
    with pytest.raises(ParseTimeout, match=r"parser exceeded \d+(\.\d+)? s of (CPU|wall-clock) time") as err:
        run_isolated("_isolate_targets:spin", log_file, timeout_s=1.5)
    assert time.monotonic() - started < 4 * 1.5 + 5
    assert err.value.path == str(log_file) and str(log_file) in str(err.value)


def test_a_parser_waiting_without_cpu_is_stopped_by_the_wall_clock(log_file):
    started = time.monotonic()
    with pytest.raises(ParseTimeout, match=r"parser exceeded 4 s of wall-clock time \(1 s of CPU time allowed\)"):
        run_isolated("_isolate_targets:sleep", log_file, 60, timeout_s=1.0)
    assert time.monotonic() - started < 15


def test_a_parser_allocating_past_the_limit_is_refused_naming_the_limit(log_file):
    with pytest.raises(ParseMemoryExceeded, match=r"parser exceeded 1024 MB"):
        run_isolated("_isolate_targets:allocate", log_file, 2048, memory_mb=1024)


def test_the_same_allocation_within_the_limit_succeeds(log_file):
    assert run_isolated("_isolate_targets:allocate", log_file, 64, memory_mb=1024) == 64 * 1024 * 1024


def test_a_parser_killed_by_a_signal_is_reported_with_the_signal_name(log_file):
    with pytest.raises(ParseCrashed, match=r"parser crashed with signal SIGSEGV"):
        run_isolated("_isolate_targets:segfault", log_file)


def test_a_parser_exiting_without_a_result_is_a_crash(log_file):
    with pytest.raises(ParseCrashed, match=r"exited with status 3"):
        run_isolated("_isolate_targets:exit_silently", log_file)


def test_the_parsers_own_error_comes_back_with_its_class_and_fields(log_file):
    with pytest.raises(CorruptLog) as err:
        run_isolated("_isolate_targets:refuse", log_file)
    assert err.value.offset == 144 and err.value.path == str(log_file) and err.value.fix == "ask for the original"
    assert str(err.value) == f"{log_file}: offset 144: no object signature (ask for the original)"


def test_any_other_exception_is_a_parse_failure_naming_it_as_a_bug(log_file):
    with pytest.raises(ParseFailed, match=r"KeyError: 'channel'.*bug in bopwatch") as err:
        run_isolated("_isolate_targets:bare_error", log_file)
    assert isinstance(err.value, TelemetryError)


def test_a_missing_file_is_a_file_not_found_error_as_in_process(tmp_path):
    with pytest.raises(FileNotFoundError):
        inspect_isolated(tmp_path / "gone.log")


def test_python_can_looping_forever_on_a_zero_size_blf_object_is_stopped(tmp_path):
    """python-can 4.6's BLFReader never returns on an object of size 0 inside a log container: the reason ingest
    parses in a child with a time limit."""
    inner = struct.pack("<4sHHLL", b"LOBJ", 16, 1, 0, 1) + b"\0" * 32       # a CAN_MESSAGE claiming size 0
    packed = zlib.compress(inner)
    size = 32 + len(packed)
    container = (struct.pack("<4sHHLL", b"LOBJ", 16, 1, size, 10) + struct.pack("<H6xL4x", 2, len(inner)) + packed
                 + b"\0" * (size % 4))
    total = 144 + len(container)
    header = struct.pack("<4sLBBBBBBBBQQLL8H8H", b"LOGG", 144, 5, 0, 0, 0, 2, 6, 8, 1, total, total, 1, 0,
                         *([0] * 16))
    path = tmp_path / "zero_size.blf"
    path.write_bytes(header + b"\0" * (144 - len(header)) + container)
    with pytest.raises(ParseTimeout):
        run_isolated("_isolate_targets:python_can_frames", path, timeout_s=3)
    with pytest.raises(CorruptLog, match="impossible size 0"):      # our reader refuses it at once
        inspect_isolated(path, timeout_s=30)


def test_limits_take_the_argument_then_the_environment_then_the_size_based_default(tmp_path, monkeypatch):
    big = tmp_path / "big.blf"
    big.write_bytes(b"\0" * 5_000_000)
    monkeypatch.delenv("BOPWATCH_PARSE_TIMEOUT_S", raising=False)
    monkeypatch.delenv("BOPWATCH_PARSE_MEMORY_MB", raising=False)
    assert limits_for(big) == (40.0, 4096)
    monkeypatch.setenv("BOPWATCH_PARSE_TIMEOUT_S", "7")
    monkeypatch.setenv("BOPWATCH_PARSE_MEMORY_MB", "512")
    assert limits_for(big) == (7.0, 512)
    assert limits_for(big, 3, 256) == (3.0, 256)
    monkeypatch.setenv("BOPWATCH_PARSE_TIMEOUT_S", "soon")
    with pytest.raises(TelemetryError, match="BOPWATCH_PARSE_TIMEOUT_S"):
        limits_for(big)
