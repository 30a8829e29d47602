"""``bopwatch decode``: the long table of SPEC §4 (columns, types, order), Parquet and CSV, --all-signals
bit-exact against cantools on a corpus log, and one-line errors with exit 2 for bad input."""

from __future__ import annotations

import io
import warnings
from datetime import UTC, datetime
from pathlib import Path

import cantools
import numpy as np
import pyarrow.csv as pcsv
import pyarrow.parquet as pq
import pytest
from _decode_support import DATA, synthetic_rows, write_candump

from compliance.cli import main

PROFILE = str(DATA / "gt3_test.toml")


@pytest.fixture(scope="module")
def log(tmp_path_factory) -> Path:
    db = cantools.database.load_file(str(DATA / "gt3_test.dbc"))
    return write_candump(tmp_path_factory.mktemp("cli") / "car.log", synthetic_rows(db, 1.0))


def test_parquet_has_the_spec_columns_in_time_order(log, tmp_path, capsys):
    out = tmp_path / "car.parquet"
    assert main(["decode", str(log), "--profile", PROFILE, "--out", str(out)]) == 0
    table = pq.read_table(out)
    assert table.column_names == ["time_s", "bus", "channel", "value"]
    assert str(table.schema.field("time_s").type) == "double" and str(table.schema.field("value").type) == "double"
    assert str(table.schema.field("bus").type) == "int32"
    t = table.column("time_s").to_numpy()
    assert t[0] == 0.0 and np.all(np.diff(t) >= 0)
    channels = set(table.column("channel").cast("string").to_pylist())
    assert {"boost_pressure", "engine_speed", "power", "fuel_flow"} <= channels
    assert not any("." in c for c in channels)
    assert "rows" in capsys.readouterr().err


def test_csv_on_stdout_round_trips_exactly(log, tmp_path, capsys):
    out = tmp_path / "car.parquet"
    main(["decode", str(log), "--profile", PROFILE, "--all-signals", "--out", str(out)])
    capsys.readouterr()
    assert main(["decode", str(log), "--profile", PROFILE, "--all-signals"]) == 0
    csv = pcsv.read_csv(io.BytesIO(capsys.readouterr().out.encode()))
    parquet = pq.read_table(out)
    assert csv.num_rows == parquet.num_rows
    assert np.array_equal(csv.column("value").to_numpy(), parquet.column("value").to_numpy(), equal_nan=True)
    assert "TST_Weird.Boost2" in set(csv.column("channel").to_pylist())


def test_all_signals_bit_exact_against_cantools_on_a_corpus_log(corpus_dir, tmp_path, capsys):
    import can

    log = corpus_dir / "CANBUSlogs/Yaris_09/accellog.log"
    dbc = corpus_dir / "opendbc/toyota_iQ_2009_can.dbc"
    profile = tmp_path / "yaris.toml"
    profile.write_text(f'model = "yaris"\nname = "Yaris"\n[[dbc]]\nfile = "{dbc}"\n[channels]\n')
    out = tmp_path / "yaris.parquet"
    assert main(["decode", str(log), "--profile", str(profile), "--all-signals", "--out", str(out)]) == 0
    capsys.readouterr()
    table = pq.read_table(out).to_pydict()
    ours: dict[str, list[tuple[float, float]]] = {}
    for t, c, v in zip(table["time_s"], table["channel"], table["value"], strict=True):
        ours.setdefault(c, []).append((t, v))
    db = cantools.database.load_file(str(dbc))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        msgs = list(can.LogReader(str(log)))
    t0 = min(m.timestamp for m in msgs)
    ref: dict[str, list[tuple[float, float]]] = {}
    for m in msgs:
        try:
            decoded = db.decode_message(m.arbitration_id, bytes(m.data), decode_choices=False)
        except Exception:
            continue
        name = db.get_message_by_frame_id(m.arbitration_id).name
        for sig, v in decoded.items():
            ref.setdefault(f"{name}.{sig}", []).append((m.timestamp - t0, float(v)))
    assert set(ours) == set(ref)
    for channel, rows in ref.items():
        got = ours[channel]
        assert len(got) == len(rows), channel
        assert [v for _, v in got] == [v for _, v in rows], channel
        assert np.allclose([t for t, _ in got], [t for t, _ in rows], atol=1e-6), channel


def _error(capsys, argv) -> str:
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    return err[0]


def test_unknown_output_suffix(log, capsys):
    assert ".parquet or .csv" in _error(capsys, ["decode", str(log), "--profile", PROFILE, "--out", "x.xlsx"])


def test_missing_log(capsys, tmp_path):
    assert "no_such.log" in _error(capsys, ["decode", str(tmp_path / "no_such.log"), "--profile", PROFILE])


def test_missing_profile(log, capsys):
    assert "profile not found" in _error(capsys, ["decode", str(log), "--profile", "nope.toml"])


def test_dbc_that_fails_to_parse(log, tmp_path, capsys):
    (tmp_path / "bad.dbc").write_text('VERSION ""\nBS_:\nBU_: X\nBO_ 1 M 8 X\n')
    (tmp_path / "p.toml").write_text('model = "m"\nname = "M"\n[[dbc]]\nfile = "bad.dbc"\n[channels]\n')
    line = _error(capsys, ["decode", str(log), "--profile", str(tmp_path / "p.toml")])
    assert "bad.dbc" in line and "line 4" in line


def test_profile_signal_that_does_not_exist(log, tmp_path, capsys):
    text = (DATA / "gt3_test.toml").read_text().replace('"TST_Engine.Throttle"', '"TST_Engine.Pedal"')
    (tmp_path / "gt3_test.dbc").write_bytes((DATA / "gt3_test.dbc").read_bytes())
    (tmp_path / "p.toml").write_text(text)
    line = _error(capsys, ["decode", str(log), "--profile", str(tmp_path / "p.toml")])
    assert "channels.throttle" in line and "Pedal" in line


def test_unit_that_cannot_be_converted(log, tmp_path, capsys):
    text = (DATA / "gt3_test.toml").read_text().replace('boost_pressure = "MAP"',
                                                        'boost_pressure = "TST_Weird.Boost2"')
    (tmp_path / "gt3_test.dbc").write_bytes((DATA / "gt3_test.dbc").read_bytes())
    (tmp_path / "p.toml").write_text(text)
    line = _error(capsys, ["decode", str(log), "--profile", str(tmp_path / "p.toml")])
    assert "furlongs" in line and "boost_pressure" in line


def test_decoded_channel_mdf_rows_have_no_bus(tmp_path, capsys):
    from telemetry.simulate.writers import DecodedGroup, write_mdf_decoded

    t = np.arange(0.0, 1.0, 0.1)
    write_mdf_decoded(tmp_path / "d.mf4", [DecodedGroup("E", t, (("nmot", 5000.0 + 0 * t, "1/min"),))],
                      datetime(2025, 6, 28, tzinfo=UTC))
    (tmp_path / "p.toml").write_text('model = "m"\nname = "M"\n[channels]\nengine_speed = "nmot"\n')
    out = tmp_path / "d.csv"
    assert main(["decode", str(tmp_path / "d.mf4"), "--profile", str(tmp_path / "p.toml"), "--out", str(out)]) == 0
    table = pcsv.read_csv(out).to_pydict()
    assert set(table["bus"]) == {-1} and set(table["channel"]) == {"engine_speed"}
    assert table["value"] == [5000.0] * 10


def test_log_that_is_a_folder_or_of_unknown_format(tmp_path, capsys):
    (tmp_path / "folder.blf").mkdir()
    assert "directory" in _error(capsys, ["decode", str(tmp_path / "folder.blf"), "--profile", PROFILE])
    (tmp_path / "x.xyz").write_bytes(b"\x00" * 10)
    assert "unknown log format" in _error(capsys, ["decode", str(tmp_path / "x.xyz"), "--profile", PROFILE])


def test_profile_given_as_a_model_id_is_looked_up_like_ingest(log, tmp_path, capsys, monkeypatch):
    by_path, by_model = tmp_path / "path.csv", tmp_path / "model.csv"
    assert main(["decode", str(log), "--profile", PROFILE, "--out", str(by_path)]) == 0
    monkeypatch.setenv("BOPWATCH_PROFILES", str(DATA))
    assert main(["decode", str(log), "--profile", "test_gt3", "--out", str(by_model)]) == 0
    assert by_model.read_bytes() == by_path.read_bytes()
    capsys.readouterr()
    line = _error(capsys, ["decode", str(log), "--profile", "no_such_model"])
    assert "no profile with model = 'no_such_model'" in line and "BOPWATCH_PROFILES" in line
