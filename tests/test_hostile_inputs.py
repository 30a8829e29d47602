"""Issue 14: something with a log's name that is not a regular file (a FIFO, whose open blocks forever; a symlink
named ``x.blf`` to ``/dev/zero``, which never ends; a socket; a directory) is refused in one line, within a
second, by every command that takes logs (``ingest``, ``watch``, ``check``, ``inspect``, ``decode``) and before a
byte of it is hashed or read."""

from __future__ import annotations

import json
import os
import re
import socket
import time
from pathlib import Path

import pytest

import compliance.cli.check
import compliance.cli.decode
import compliance.cli.inspect  # noqa: F401 - imported before the clock starts, as the command has them
from compliance.cli import main
from compliance.errors import StoreError
from compliance.ingest.pipeline import ingest_logs
from compliance.ingest.watch import Watcher
from compliance.store.originals import sha256_file, store_original
from compliance.store.schema import open_store
from telemetry.errors import UnsupportedFormat
from telemetry.formats._base import open_bytes

ROOT = Path(__file__).resolve().parent.parent
PROFILE = str(ROOT / "dbc" / "bmw_m4_gt3.toml")
BULLETINS = str(ROOT / "sample_logs" / "bulletins")
KINDS = ("fifo", "device", "directory")
SAID = {"fifo": "is a pipe (FIFO), not a regular file", "device": "is a character device, not a regular file",
        "directory": "is a directory"}
#: what the reading commands say (``open_log`` refuses before the byte source does, in its own words)
REFUSED = {"fifo": "not a regular file", "device": "not a regular file", "directory": "is a directory"}

pytestmark = pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs POSIX FIFOs")


def _make(kind: str, folder: Path) -> Path:
    path = folder / f"{kind}.blf"
    if kind == "fifo":
        os.mkfifo(path)
    elif kind == "device":
        path.symlink_to("/dev/zero")
    else:
        path.mkdir()
    return path


@pytest.fixture(params=KINDS)
def hostile(request, tmp_path) -> tuple[str, Path]:
    return request.param, _make(request.param, tmp_path)


@pytest.mark.parametrize("argv", [["inspect"], ["inspect", "--isolate", "never"],
                                  ["check", "--profile", PROFILE, "--bulletin", BULLETINS, "--json"],
                                  ["decode", "--profile", PROFILE]], ids=["inspect", "inspect-never", "check",
                                                                          "decode"])
def test_the_reading_commands_refuse_it_in_one_line_within_a_second(hostile, argv, capsys):
    kind, path = hostile
    started = time.monotonic()
    code = main([*argv[:1], str(path), *argv[1:]])
    took = time.monotonic() - started
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and took < 1.0, (code, took)
    assert len(err) == 1 and str(path) in err[0] and REFUSED[kind] in err[0], err


def test_ingest_refuses_it_before_hashing_within_a_second(hostile, tmp_path):
    kind, path = hostile
    (tmp_path / "store").mkdir()
    store = open_store(tmp_path / "store" / "db.duckdb")
    started = time.monotonic()
    [outcome] = ingest_logs(store, [path], event="e", session="s", car="1", profile=PROFILE, bulletin=BULLETINS)
    assert time.monotonic() - started < 1.0
    assert outcome.status == "error" and SAID[kind] in outcome.error, outcome
    assert not list((tmp_path / "store").rglob("*.blf")), "nothing may be copied into the originals"


def test_the_ingest_command_refuses_each_with_exit_2(tmp_path, capsys):
    paths = [_make(kind, tmp_path) for kind in ("fifo", "device")]
    (tmp_path / "store").mkdir()
    code = main(["ingest", *map(str, paths), "--event", "e", "--session", "s", "--car", "1", "--profile", PROFILE,
                 "--bulletin", BULLETINS, "--db", str(tmp_path / "store" / "db.duckdb")])
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")]
    assert code == 2
    assert [(o["path"], o["status"]) for o in lines] == [(str(p), "error") for p in paths]
    assert SAID["fifo"] in lines[0]["error"] and SAID["device"] in lines[1]["error"]


def test_the_watcher_refuses_each_at_once_without_waiting_for_it_to_settle(tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    paths = {kind: _make(kind, folder) for kind in KINDS}
    sock = socket.socket(socket.AF_UNIX)
    sock.bind(str(folder / "socket.blf"))
    try:
        store = open_store(tmp_path / "db.duckdb")
        seen = []
        watcher = Watcher(store, folder, seen.append, settle_s=30.0, poll=True, require_sidecar=True)
        started = time.monotonic()
        watcher.run(once=True)
        assert time.monotonic() - started < 1.0
    finally:
        sock.close()
    by_path = {o.path: o for o in seen}
    for kind, path in paths.items():
        assert by_path[str(path)].status == "error" and SAID[kind] in by_path[str(path)].error
    assert "is a socket" in by_path[str(folder / "socket.blf")].error
    assert len(seen) == 4


def test_hashing_and_storing_refuse_before_opening(hostile, tmp_path):
    kind, path = hostile
    with pytest.raises(StoreError, match=re.escape(SAID[kind])):
        sha256_file(path)
    with pytest.raises(StoreError, match=re.escape(SAID[kind])):
        store_original(path, tmp_path / "originals")


def test_the_readers_byte_source_refuses_it(hostile):
    kind, path = hostile
    with pytest.raises(UnsupportedFormat, match=re.escape(SAID[kind])):
        open_bytes(path)


def test_a_regular_file_behind_a_symlink_is_read(tmp_path):
    real = tmp_path / "real.bin"
    real.write_bytes(b"abc")
    link = tmp_path / "link.blf"
    link.symlink_to(real)
    with open_bytes(link) as f:
        assert f.read() == b"abc"
    assert sha256_file(link) == sha256_file(real)
