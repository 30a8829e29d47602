"""Issue 14: decompression bombs and overlong lines through the real commands. Each is generated on the fly
(``tests/_bombs.py``, never committed) and must end in exit 2 with one error line naming the file, within 30 s,
with a peak resident set under 1 GB (the command's own process and its isolated child, from ``wait4``).

Before the bounded readers: the 2 GiB BLF container took 4.1 GB and 33 s in ``inspect`` (exit 0), and under a 3 GB
limit ``check`` died with a ``MemoryError`` traceback and exit 1; the gzip of newlines ran past 40 s at 3.4 GB."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from _bombs import blf_container_bomb, candump_lines, gzip_bomb, long_line_log

ROOT = Path(__file__).resolve().parent.parent
CHECK = ["--profile", str(ROOT / "dbc" / "bmw_m4_gt3.toml"), "--bulletin", str(ROOT / "sample_logs" / "bulletins"),
         "--json"]
#: the first 4 KiB of a sound MF4 (identification and header blocks) and an MDF 3.30 identification block: the
#: content is sniffed as MDF, so the bomb reaches the MDF reader whatever its name
MF4_HEAD = (ROOT / "sample_logs" / "race" / "car32.mf4").read_bytes()[:4096]
MDF3_HEAD = b"MDF     3.30    bopwatch".ljust(64, b"\0")
LIMIT_S = 30.0
LIMIT_MB = 1024

#: name -> (writer, what the one error line says)
BOMBS = {
    "blf_container_declaring_2_gib": (lambda d: blf_container_bomb(d / "declares.blf", mib=2048),
                                      "declares 2,147,483,"),
    "blf_container_inflating_past_its_size": (
        lambda d: blf_container_bomb(d / "liar.blf", mib=2048, declared=128 << 10), "inflates to more than"),
    "gzip_of_zeros": (lambda d: gzip_bomb(d / "zeros.log.gz", mib=4096), "binary data"),
    "gzip_of_zeros_after_sound_lines": (
        lambda d: gzip_bomb(d / "zeros_after.log.gz", mib=4096, prefix=candump_lines(3000)), "decompression bomb"),
    "gzip_of_newlines": (lambda d: gzip_bomb(d / "newlines.log.gz", byte=b"\n", mib=4096), "decompression bomb"),
    # an MDF file is inflated whole for asammdf (formats/mdf.py): through the same capped inflate as the others
    "gzip_of_zeros_after_an_mf4_header": (
        lambda d: gzip_bomb(d / "zeros.mf4.gz", mib=4096, prefix=MF4_HEAD), "decompression bomb"),
    "gzip_of_zeros_after_an_mdf3_header": (
        lambda d: gzip_bomb(d / "zeros.mdf.gz", mib=4096, prefix=MDF3_HEAD), "decompression bomb"),
    "a_40_mb_line": (lambda d: long_line_log(d / "line.log", line_mib=40), "longer than 65,536 bytes"),
    "a_40_mb_line_gzipped": (lambda d: long_line_log(d / "line.log.gz", line_mib=40, gz=True),
                             "longer than 65,536 bytes"),
}


def run_measured(argv: list[str], env: dict | None = None) -> tuple[int, float, float, list[str]]:
    """(exit code, seconds, peak RSS in MB of the process and the children it waited for, stderr lines)."""
    code = "import sys; from compliance.cli import main; sys.exit(main(sys.argv[1:]))"
    started = time.monotonic()
    proc = subprocess.Popen([sys.executable, "-c", code, *argv], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            env={**os.environ, **(env or {})}, cwd=ROOT)
    try:
        err = proc.stderr.read()
        _, status, usage = os.wait4(proc.pid, 0)
    finally:
        if proc.returncode is None:
            proc.kill()
        proc.stderr.close()
    took = time.monotonic() - started
    proc.returncode = os.waitstatus_to_exitcode(status)
    return proc.returncode, took, usage.ru_maxrss / 1024, err.decode("utf-8", "replace").strip().splitlines()


@pytest.fixture(scope="module")
def bombs(tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("bombs")
    return {name: write(folder) for name, (write, _) in BOMBS.items()}


@pytest.mark.parametrize("command", ["inspect", "check"])
@pytest.mark.parametrize("bomb", list(BOMBS))
def test_a_bomb_is_one_error_line_and_exit_2_within_30_s_under_1_gb(bombs, bomb, command):
    path = bombs[bomb]
    code, took, peak_mb, err = run_measured([command, str(path), *(CHECK if command == "check" else [])])
    assert code == 2, (code, err)
    assert len(err) == 1 and str(path) in err[0] and BOMBS[bomb][1] in err[0], err
    assert took < LIMIT_S and peak_mb < LIMIT_MB, (took, peak_mb)


def test_a_40_mb_line_among_sound_lines_is_a_finding_and_the_rest_is_read(tmp_path):
    path = long_line_log(tmp_path / "mixed.log", line_mib=40, good_lines=500)
    code, took, peak_mb, err = run_measured(["inspect", str(path), "--json"])
    assert code == 0 and not err, err
    assert took < LIMIT_S and peak_mb < LIMIT_MB, (took, peak_mb)


def test_without_isolation_a_bomb_is_still_bounded(bombs):
    path = bombs["gzip_of_newlines"]
    code, took, peak_mb, err = run_measured(["check", str(path), *CHECK, "--isolate", "never"])
    assert code == 2 and len(err) == 1 and "decompression bomb" in err[0], err
    assert took < LIMIT_S and peak_mb < LIMIT_MB, (took, peak_mb)
