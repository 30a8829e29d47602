"""Bad input to the readers: each a one-line error naming the file and the fix (missing file, empty file, unknown
extension, random bytes, CANedge containers), and gzip is transparent."""

from __future__ import annotations

import gzip
from datetime import UTC, datetime

import numpy as np
import pytest

from telemetry.errors import CorruptLog, UnsupportedFormat
from telemetry.formats import open_log, read_frames


def test_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError):
        read_frames(tmp_path / "absent.blf")


@pytest.mark.parametrize("suffix", ["blf", "asc", "log", "trc", "csv", "mf4"])
def test_empty_file_is_refused(tmp_path, suffix):
    path = tmp_path / f"empty.{suffix}"
    path.write_bytes(b"")
    with pytest.raises(CorruptLog, match="empty") as err:
        read_frames(path)
    assert str(path) in str(err.value) and "\n" not in str(err.value)


def test_unknown_extension_lists_the_supported_ones(tmp_path):
    path = tmp_path / "x.pcap"
    path.write_bytes(b"abc")
    with pytest.raises(UnsupportedFormat) as err:
        read_frames(path)
    assert ".blf" in str(err.value) and ".trc" in str(err.value) and "x.pcap" in str(err.value)


def test_canedge_container_names_the_conversion(tmp_path):
    path = tmp_path / "00000001.MFC"
    path.write_bytes(b"\x00" * 64)
    with pytest.raises(UnsupportedFormat, match="convert it to MF4"):
        read_frames(path)


@pytest.mark.parametrize("suffix", ["blf", "asc", "log", "trc", "csv", "mf4", "mdf", "blf.gz"])
def test_random_bytes_are_refused_in_one_line(tmp_path, suffix):
    path = tmp_path / f"noise.{suffix}"
    payload = np.random.default_rng(3).bytes(20_000)
    path.write_bytes(gzip.compress(payload) if suffix.endswith(".gz") else payload)
    with pytest.raises(CorruptLog) as err:
        read_frames(path)
    line = str(err.value)
    assert "\n" not in line and str(path) in line and "(" in line


def test_gzipped_candump_equals_plain(tmp_path):
    text = b"(1700000000.000100) can0 123#0102\n(1700000000.000200) can1 456#03\n"
    (tmp_path / "a.log").write_bytes(text)
    (tmp_path / "a.log.gz").write_bytes(gzip.compress(text))
    a, b = read_frames(tmp_path / "a.log"), read_frames(tmp_path / "a.log.gz")
    np.testing.assert_array_equal(a.data, b.data)
    assert b.bus.tolist() == [0, 1]


def test_cut_gzip_is_a_corrupt_log(tmp_path):
    text = b"".join(b"(1700000000.%06d) can0 123#0102\n" % i for i in range(20000))
    path = tmp_path / "cut.log.gz"
    path.write_bytes(gzip.compress(text)[:-200])
    with pytest.raises(CorruptLog, match="gzip"):
        read_frames(path)


@pytest.mark.parametrize(("suffix", "spoken"), [("asc", "an ASC"), ("trc", "a TRC"), ("log", "a candump")])
def test_format_messages_use_the_article_the_format_is_spoken_with(tmp_path, suffix, spoken):
    path = tmp_path / f"notes.{suffix}"
    path.write_text("shopping list\nmilk\n")
    with pytest.raises(CorruptLog, match=f"no line looks like {spoken} log line"):
        read_frames(path)
    with open_log(path) as log, pytest.raises(UnsupportedFormat, match=f"{spoken} file holds raw CAN frames"):
        log.channels()


def test_decoded_channel_mdf_read_for_frames_is_an_mdf_file(tmp_path):
    from telemetry.simulate.writers import DecodedGroup, write_mdf_decoded

    t = np.arange(0.0, 1.0, 0.1)
    write_mdf_decoded(tmp_path / "d.mf4", [DecodedGroup("E", t, (("nmot", 5000.0 + 0 * t, "1/min"),))],
                      datetime(2025, 6, 28, tzinfo=UTC))
    with pytest.raises(UnsupportedFormat, match="an MDF file holds decoded channels, not CAN frames"):
        read_frames(tmp_path / "d.mf4")
