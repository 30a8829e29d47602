"""Originals are stored once, read-only, by SHA-256; a changed original is caught by verify and by re-ingest."""

from __future__ import annotations

import os
import stat

import pytest

from compliance.errors import StoreError
from compliance.store import originals as evidence


def test_same_file_twice_is_recognised_not_duplicated(tmp_path):
    src = tmp_path / "car7.asc.gz"
    src.write_bytes(b"some logger bytes")
    originals = tmp_path / "originals"
    first, sha, new = evidence.store_original(src, originals)
    again, sha2, new2 = evidence.store_original(src, originals, evidence.sha256_file(src))
    assert (new, new2) == (True, False) and first == again and sha == sha2
    assert first == originals / sha[:2] / f"{sha}.asc.gz"
    assert len([p for p in originals.rglob("*") if p.is_file()]) == 1
    assert stat.S_IMODE(first.stat().st_mode) == 0o444


def test_changed_original_is_caught(tmp_path):
    src = tmp_path / "car7.blf"
    src.write_bytes(b"original")
    stored, sha, _ = evidence.store_original(src, tmp_path / "o")
    assert evidence.verify_original(stored, sha) is None
    os.chmod(stored, 0o644)
    stored.write_bytes(b"tampered")
    assert "stored original changed" in evidence.verify_original(stored, sha)
    with pytest.raises(StoreError, match="stored original changed"):
        evidence.store_original(src, tmp_path / "o", sha)


def test_missing_original_is_caught(tmp_path):
    assert "is missing" in evidence.verify_original(tmp_path / "nope.blf", "a" * 64)


def test_file_changing_while_stored_is_refused(tmp_path):
    src = tmp_path / "car7.blf"
    src.write_bytes(b"first half")
    sha = evidence.sha256_file(src)
    src.write_bytes(b"first half and the rest")
    with pytest.raises(StoreError, match="changed while it was being stored"):
        evidence.store_original(src, tmp_path / "o", sha)
    assert not [p for p in (tmp_path / "o").rglob("*") if p.is_file()]


def test_suffix_keeps_compressed_formats_detectable():
    assert evidence.log_suffix("CAR7.ASC.GZ") == ".asc.gz"
    assert evidence.log_suffix("run.2.blf") == ".blf"
    assert evidence.log_suffix("noext") == ""
