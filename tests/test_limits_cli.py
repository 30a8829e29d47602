"""Issue 14: ``check``, ``decode`` and ``inspect`` read every format under time and memory limits (a forked child
by default), and running out of either, isolated or not, is exit 2 with one line naming the log: never a
traceback, never a verdict's exit code."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

import compliance.cli.check as check_cli
import compliance.cli.decode as decode_cli
import compliance.cli.inspect as inspect_cli
import telemetry.isolate
from compliance.cli import main
from telemetry.isolate import ParseTimeout, can_fork, run_limited

ROOT = Path(__file__).resolve().parent.parent
BLF = ROOT / "sample_logs" / "race" / "car7.blf"
PROFILE = str(ROOT / "dbc" / "bmw_m4_gt3.toml")
CHECK = ["--profile", PROFILE, "--bulletin", str(ROOT / "sample_logs" / "bulletins"), "--json"]


def _out_of_memory(*args, **kwargs):
    raise MemoryError


def _spin(*args, **kwargs):
    while True:
        pass


@pytest.fixture
def forking(monkeypatch):
    """The child is a fork (so it has the monkeypatched function) even when an earlier test in this worker left
    a thread running (which would make ``run_limited`` start a fresh interpreter instead)."""
    monkeypatch.setattr(telemetry.isolate, "can_fork", lambda: True)


def _one_line(capsys) -> str:
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    return err[0]


@pytest.mark.parametrize("isolate", ["auto", "never"])
def test_a_memory_error_in_check_is_exit_2_with_one_line(capsys, monkeypatch, forking, isolate):
    monkeypatch.setattr(check_cli, "check_logs", _out_of_memory)     # the forked child inherits it
    assert main(["check", str(BLF), *CHECK, "--isolate", isolate]) == 2
    line = _one_line(capsys)
    assert str(BLF) in line and ("exceeded" in line or "ran out of memory" in line), line


@pytest.mark.parametrize("isolate", ["auto", "never"])
def test_a_memory_error_in_decode_and_inspect_is_exit_2_with_one_line(capsys, monkeypatch, forking, isolate,
                                                                     tmp_path):
    monkeypatch.setattr(decode_cli, "decode_to", _out_of_memory)
    assert main(["decode", str(BLF), "--profile", PROFILE, "--out", str(tmp_path / "t.csv"), "--isolate",
                 isolate]) == 2
    assert str(BLF) in _one_line(capsys)
    monkeypatch.setattr(inspect_cli, "inspect_log", _out_of_memory)
    assert main(["inspect", str(BLF), "--isolate", isolate]) == 2
    assert str(BLF) in _one_line(capsys)


def test_a_blf_is_checked_under_the_memory_limit_by_default():
    """As a user runs it (a fresh ``bopwatch`` process): a limit below what the forked child already maps leaves it
    no room to grow, and a check must grow. (In-process, a pytest worker's freed heap can serve the child's arrays
    without growing, so whether the limit bites would depend on earlier tests; ``inspect`` of this small file fits
    in the heap it inherits, so its limits are shown by the bombs in tests/test_bombs.py.)"""
    command = ["check", str(BLF), *CHECK]
    import os
    import subprocess
    import sys

    done = subprocess.run([str(Path(sys.executable).with_name("bopwatch")), *command], capture_output=True, text=True,
                          env=dict(os.environ, BOPWATCH_PARSE_MEMORY_MB="100"), timeout=120)
    assert done.returncode == 2, (done.returncode, done.stderr)
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "car7.blf" in lines[0] and "exceeded 100 MB" in lines[0], lines


def test_a_check_past_its_time_limit_is_stopped_with_one_line(capsys, monkeypatch, forking):
    monkeypatch.setattr(check_cli, "check_logs", _spin)
    monkeypatch.setenv("BOPWATCH_PARSE_TIMEOUT_S", "1")
    assert main(["check", str(BLF), *CHECK]) == 2
    line = _one_line(capsys)
    assert str(BLF) in line and "check exceeded" in line and "s of CPU time" in line, line


def test_the_verdict_is_the_same_isolated_or_not(capsys):
    outputs = []
    for isolate in ("auto", "never"):
        code = main(["check", str(BLF), *CHECK, "--isolate", isolate])
        outputs.append((code, capsys.readouterr().out))
    assert outputs[0] == outputs[1] and outputs[0][0] == 1


def test_with_another_thread_running_the_child_is_a_fresh_interpreter():
    stop = threading.Event()
    other = threading.Thread(target=stop.wait, daemon=True)
    other.start()
    try:
        assert not can_fork()
        size = run_limited(_size, str(BLF))
        with pytest.raises(ParseTimeout):
            run_limited(_spin_path, str(BLF), timeout_s=1.0)
    finally:
        stop.set()
        other.join()
    assert size == BLF.stat().st_size


def _size(path: str) -> int:
    return Path(path).stat().st_size


def _spin_path(path: str) -> None:
    _spin()
