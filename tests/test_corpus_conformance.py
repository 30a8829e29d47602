"""Every log in ../shared/corpus is read (``bopwatch inspect`` exit 0) or refused with one line (exit 2), within a
time limit; where python-can (or asammdf, for MF4) reads a file, we read at least as many frames."""

from __future__ import annotations

import contextlib
import io
import json
import warnings
from pathlib import Path

import pytest
from conftest import CORPUS

from compliance.cli import main

pytestmark = pytest.mark.corpus

LOG_SUFFIXES = (".blf", ".asc", ".log", ".trc", ".csv", ".mf4", ".mdf", ".mfc", ".gz")
FILES = sorted(p.relative_to(CORPUS).as_posix() for p in CORPUS.rglob("*")
               if p.is_file() and p.suffix.lower() in LOG_SUFFIXES) if CORPUS else []
#: formats python-can reads; MDF is compared with asammdf
PYTHON_CAN = (".blf", ".asc", ".log", ".trc", ".csv", ".gz")


def _python_can_count(path: Path) -> int | None:
    import can
    try:
        with contextlib.redirect_stderr(io.StringIO()), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            reader = can.LogReader(path)
            try:
                return sum(1 for _ in reader)
            finally:
                reader.stop()
    except Exception:  # noqa: BLE001 - python-can failing on a file is not our failure
        return None


def _asammdf_count(path: Path) -> int | None:
    from asammdf import MDF
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            mdf = MDF(path)
            try:
                occ = mdf.channels_db.get("CAN_DataFrame.ID", ())
                return sum(len(mdf.get("CAN_DataFrame.ID", group=g, index=i).samples) for g, i in occ)
            finally:
                mdf.close()
    except Exception:  # noqa: BLE001
        return None


@pytest.mark.timeout(60)
@pytest.mark.parametrize("rel", FILES)
def test_corpus_file_is_read_or_refused_in_one_line(rel, corpus_dir, capsys):
    path = corpus_dir / rel
    code = main(["inspect", str(path), "--json"])
    out, err = capsys.readouterr()
    assert code in (0, 2), f"exit {code}"
    if code == 2:
        lines = err.strip().splitlines()
        assert len(lines) == 1 and str(path) in lines[0], err
        return
    info = json.loads(out)
    assert info["sha256"] and info["format"]
    suffix = path.suffix.lower()
    if info["frames"] is None:
        return
    reference = _python_can_count(path) if suffix in PYTHON_CAN else _asammdf_count(path)
    if reference is not None:
        assert info["frames"] >= reference, f"we read {info['frames']} frames, the reference {reference}"
    if suffix in (".mf4", ".mdf") and reference:
        assert info["frames"] == reference


def test_the_corpus_is_there_and_complete(corpus_dir):
    assert len(FILES) >= 290, "the corpus lost log files"
