"""A short run of the leak harness (``python -m tests.leaks`` runs the long one): repeated checks in one process
leave no file descriptor, thread, child process, temporary file or steadily growing set of Python objects."""

from __future__ import annotations

import tempfile

import pytest
from leaks import measure
from leaks.workloads import check_in_process, check_isolated


@pytest.fixture
def private_tmp(tmp_path, monkeypatch):
    folder = tmp_path / "tmp"
    folder.mkdir()
    monkeypatch.setenv("TMPDIR", str(folder))
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    return tmp_path


def _assert_nothing_held(result) -> None:
    b, a = result.before, result.after
    assert (a.fds, a.threads, a.children, a.temp_entries) <= (b.fds, b.threads, b.children, b.temp_entries), \
        result.row()
    assert a.objects - b.objects < 50 * result.iterations, result.row()


def test_repeated_in_process_checks_hold_nothing(private_tmp):
    work, pid, settle, close = check_in_process(private_tmp)
    _assert_nothing_held(measure("check", work, 4, warmup=2, pid=pid, settle=settle))
    close()


def test_repeated_isolated_checks_leave_no_child_or_temp_file(private_tmp):
    work, pid, settle, close = check_isolated(private_tmp)
    _assert_nothing_held(measure("check-isolated", work, 2, warmup=1, pid=pid, settle=settle))
    close()


def test_the_leak_criterion_flags_a_leak(private_tmp):
    held = []

    def leaky(i: int) -> None:
        held.append(open(private_tmp / f"f{i}", "w"))  # noqa: SIM115 - the leak under test
        held.extend([] for _ in range(200))           # gc-tracked objects

    result = measure("leaky", leaky, 5, warmup=1)
    assert any(s.startswith("fds") for s in result.leaks()) and any("objects" in s for s in result.leaks())
    for f in held[::201]:
        f.close()
