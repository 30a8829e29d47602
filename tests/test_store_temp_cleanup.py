"""Temporary files a killed writer leaves (``.tmp-<pid>-<hex>.parquet`` in the channels folder, ``.tmp-...`` in
the originals folder) are removed the next time the store is opened for writing; a live writer's are kept."""

from __future__ import annotations

import os
import subprocess
import sys

from compliance.store import schema as st


def _dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_leftovers_of_a_killed_writer_are_removed_on_the_next_open(tmp_path):
    store = st.open_store(tmp_path / "s.duckdb")
    dead = _dead_pid()
    channels = store.layout.channels / "ev" / "race"
    channels.mkdir(parents=True)
    store.layout.originals.mkdir(parents=True, exist_ok=True)
    left = [channels / f".tmp-{dead}-0a1b2c3d.parquet", store.layout.originals / f".tmp-{dead}-deadbeef.blf"]
    for p in left:
        p.write_bytes(b"half written")
        p.chmod(0o444)
    live = channels / f".tmp-{os.getpid()}-00112233.parquet"     # this process: a writer still running
    live.write_bytes(b"in progress")
    kept = [channels / "run1.parquet", channels / ".tmp-notes.txt"]
    for p in kept:
        p.write_bytes(b"data")

    st.open_store(tmp_path / "s.duckdb")

    assert not any(p.exists() for p in left)
    assert live.exists() and all(p.exists() for p in kept)


def test_a_read_only_open_leaves_the_folders_alone(tmp_path):
    store = st.open_store(tmp_path / "s.duckdb")
    store.layout.channels.mkdir(parents=True, exist_ok=True)
    left = store.layout.channels / f".tmp-{_dead_pid()}-0a1b2c3d.parquet"
    left.write_bytes(b"x")
    st.open_store(tmp_path / "s.duckdb", create=False)
    assert left.exists()
    assert st.clean_leftover_temp_files(store.layout) == [left] and not left.exists()
