"""A log still being written while it is hashed or copied is refused once the size it had when opened is read:
never an endless read of a file that keeps growing, never a hash of a file that shrank under us."""
import os

import pytest

from compliance.errors import StoreError
from compliance.store.originals import _CHUNK, read_blocks, sha256_file, store_original


def test_a_file_that_grows_while_read_is_refused(tmp_path):
    path = tmp_path / "car7.blf"
    path.write_bytes(b"x" * 100)
    with open(path, "rb") as fh:
        blocks = read_blocks(fh, path)
        assert next(blocks) == b"x" * 100          # the size at open: 100 bytes
        with open(path, "ab") as writer:           # the logger writes on
            writer.write(b"y" * 10)
        with pytest.raises(StoreError, match=r"car7\.blf: grew while being read \(past its 100 bytes.*wait until"):
            next(blocks)


def test_a_file_that_shrinks_while_read_is_refused(tmp_path):
    path = tmp_path / "car7.blf"
    path.write_bytes(b"x" * (_CHUNK + 10))
    with open(path, "rb") as fh:
        blocks = read_blocks(fh, path)
        next(blocks)
        os.truncate(path, 5)
        with pytest.raises(StoreError, match="shrank while being read"):
            list(blocks)


def test_a_closed_file_hashes_and_copies_as_before(tmp_path):
    path = tmp_path / "car7.blf"
    path.write_bytes(os.urandom(3 * _CHUNK + 7))
    sha = sha256_file(path)
    stored, got, new = store_original(path, tmp_path / "originals", sha)
    assert got == sha and new and stored.read_bytes() == path.read_bytes()
