"""MDF: decoded-channel files (written here with asammdf) give Channels with the file's units; CAN bus-logging
MF4 (corpus) gives the same frames as asammdf's own arrays; damaged files are one-line CorruptLog errors."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from telemetry.errors import CorruptLog
from telemetry.formats import inspect_log, open_log, read_frames


def _write_measurement(path, version):
    from asammdf import MDF, Signal
    t = np.arange(0, 10, 0.01)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        mdf = MDF(version=version)
        mdf.append([Signal(2.0 + 0.1 * np.sin(t), t, name="MAP", unit="bar"),
                    Signal(6000 + 100 * t, t, name="nEng", unit="rpm")])
        mdf.append([Signal(np.arange(100, dtype=np.int16), t[::10], name="Gear", unit="")])
        mdf.save(path, overwrite=True)
        mdf.close()


@pytest.mark.parametrize("version, suffix", [("4.10", "mf4"), ("3.30", "mdf")])
def test_decoded_channels_keep_names_units_and_values(tmp_path, version, suffix):
    path = tmp_path / f"meas.{suffix}"
    _write_measurement(path, version)
    with open_log(path) as lf:
        assert lf.kind == "channels" and lf.format == "mdf"
        chans = {c.name: c for c in lf.channels()}
    assert set(chans) == {"MAP", "nEng", "Gear"}
    assert chans["MAP"].unit == "bar" and chans["nEng"].unit == "rpm"
    np.testing.assert_allclose(chans["nEng"].value, 6000 + 100 * np.arange(0, 10, 0.01))
    assert len(chans["Gear"]) == 100
    info = inspect_log(path)
    assert info.frames is None and info.format == "mdf" and info.duration_s == pytest.approx(9.99)


def test_frames_of_a_channel_file_are_refused(tmp_path):
    path = tmp_path / "meas.mf4"
    _write_measurement(path, "4.10")
    with open_log(path) as lf, pytest.raises(Exception, match="decoded channels"):
        next(lf.chunks())


def test_bus_logging_matches_asammdf_arrays(corpus_dir):
    from asammdf import MDF
    path = corpus_dir / "api-examples/other/matlab-basics/00000014_fin.MF4"
    ours = read_frames(path)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        mdf = MDF(path)
        ident = mdf.get("CAN_DataFrame.ID").samples
        data = mdf.get("CAN_DataFrame.DataBytes").samples
        t = mdf.get("CAN_DataFrame.ID").timestamps
        mdf.close()
    assert len(ours) == len(ident) == 28721
    np.testing.assert_array_equal(ours.arbitration_id, ident & 0x1FFFFFFF)
    np.testing.assert_array_equal(ours.data[:, :8], data)
    np.testing.assert_allclose(ours.timestamp, t)
    assert ours.start.isoformat() == "2021-10-08T05:54:56+00:00"


def test_unfinalised_and_finalised_copies_hold_the_same_frames(corpus_dir):
    a = read_frames(corpus_dir / "api-examples/other/matlab-basics/00000014.MF4")
    b = read_frames(corpus_dir / "api-examples/other/matlab-basics/00000014_fin.MF4")
    np.testing.assert_array_equal(a.data, b.data)
    np.testing.assert_array_equal(a.bus, b.bus)
    assert "unfinalised" in [f.kind for f in a.findings]


def test_bit_field_bus_channel_and_constant_conversions(corpus_dir):
    fr = read_frames(corpus_dir / "api-examples/other/concatenate-mf4-by-period/LOG/2F6913DB/00001089/"
                                  "00000001-63BEF5CD.MF4")
    assert set(fr.bus.tolist()) == {0, 1} and len(fr) == 4024
    assert np.all(np.diff(fr.timestamp) >= 0)    # 36 groups joined in time order


def test_truncated_finalised_mf4_is_a_one_line_error(corpus_dir, tmp_path):
    raw = (corpus_dir / "api-examples/other/matlab-basics/00000014_fin.MF4").read_bytes()
    cut = tmp_path / "cut.mf4"
    cut.write_bytes(raw[:len(raw) // 2])
    with pytest.raises(CorruptLog) as err:
        read_frames(cut)
    assert "\n" not in str(err.value) and "cut.mf4" in str(err.value)


def test_random_bytes_named_mf4_are_refused(tmp_path):
    path = tmp_path / "noise.mf4"
    path.write_bytes(np.random.default_rng(1).bytes(5000))
    with pytest.raises(CorruptLog, match="not an MDF file"):
        read_frames(path)
