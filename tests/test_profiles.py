"""Car profiles (SPEC §2 + [[integrity]]): load, resolve signals, validate; every error names file and key."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from _decode_support import DATA

from telemetry.errors import DbcError, ProfileError, UnitError
from telemetry.profiles import load_profile

ROOT = Path(__file__).resolve().parent.parent
BASE = (DATA / "gt3_test.toml").read_text()


def _write(tmp_path: Path, text: str, name: str = "car.toml") -> Path:
    shutil.copy(DATA / "gt3_test.dbc", tmp_path / "gt3_test.dbc")
    path = tmp_path / name
    path.write_text(text)
    return path


def test_test_profile_resolves_signals_units_power_and_integrity():
    p = load_profile(DATA / "gt3_test.toml")
    assert p.model == "test_gt3" and len(p.sha256) == 64
    assert p.dbcs[0].bus is None and p.dbcs[0].file.name == "gt3_test.dbc"
    bp = p.channels["boost_pressure"]          # bare signal name, unique in the DBC
    assert (bp.message, bp.signal_name, bp.unit) == ("TST_Pressures", "MAP", "kPa")
    assert p.channels["engine_speed"].unit == "U/min"
    assert p.channels["ambient_pressure"].unit_override
    assert p.power.source == "driveshaft" and p.power.wheel_radius_m == 0.34
    (check,) = p.integrity
    assert (check.counter_modulo, check.checksum_byte, check.checksum_algorithm) == (16, 7, "crc8_sae_j1850")


@pytest.mark.parametrize("path", sorted((ROOT / "dbc").glob("*.toml")), ids=lambda p: p.stem)
def test_every_shipped_profile_loads(path: Path):
    p = load_profile(path)
    assert p.dbcs and p.channels
    for name, cm in p.channels.items():
        assert cm.message and cm.signal_name, name


def test_missing_profile():
    with pytest.raises(ProfileError, match="not found"):
        load_profile(DATA / "no_such.toml")


def test_invalid_toml_names_the_file(tmp_path):
    path = _write(tmp_path, "model = \n")
    with pytest.raises(ProfileError, match="car.toml.*not valid TOML"):
        load_profile(path)


def test_unknown_top_level_key(tmp_path):
    with pytest.raises(ProfileError, match="key chanels"):
        load_profile(_write(tmp_path, BASE + "\n[chanels]\n"))


def test_missing_dbc_file_names_profile_and_key(tmp_path):
    with pytest.raises(DbcError, match=r"car.toml: dbc\[0\].file: signal database not found"):
        load_profile(_write(tmp_path, BASE.replace('file = "gt3_test.dbc"', 'file = "nope.dbc"')))


def test_dbc_that_fails_to_parse_names_file_and_line(tmp_path):
    path = _write(tmp_path, BASE)
    broken = (tmp_path / "gt3_test.dbc").read_text().replace("BO_ 257 TST_Fuel: 8 Logger", "BO_ 257 TST_Fuel 8 Logger")
    (tmp_path / "gt3_test.dbc").write_text(broken)
    with pytest.raises(DbcError) as err:
        load_profile(path)
    line = broken.splitlines().index("BO_ 257 TST_Fuel 8 Logger") + 1
    assert "gt3_test.dbc" in str(err.value) and f"line {line}" in str(err.value)


def test_signal_in_no_dbc_names_profile_channel_and_signal(tmp_path):
    path = _write(tmp_path, BASE.replace('"TST_Engine.Gear"', '"TST_Engine.GearEngaged"'))
    with pytest.raises(ProfileError) as err:
        load_profile(path)
    assert "car.toml" in str(err.value) and "channels.gear" in str(err.value) and "GearEngaged" in str(err.value)
    path = _write(tmp_path, BASE.replace('"TST_Engine.Gear"', '"NoSuchSignal"'))
    with pytest.raises(ProfileError, match="channels.gear.*NoSuchSignal.*none of the DBCs"):
        load_profile(path)


def test_ambiguous_bare_signal_name(tmp_path):
    dbc = (DATA / "gt3_test.dbc").read_text().replace(' SG_ Boost2 :', ' SG_ MAP :')
    path = _write(tmp_path, BASE)
    (tmp_path / "gt3_test.dbc").write_text(dbc)
    with pytest.raises(ProfileError, match="several messages"):
        load_profile(path)


def test_unknown_canonical_channel(tmp_path):
    with pytest.raises(ProfileError, match="channels.boost.*not a canonical channel"):
        load_profile(_write(tmp_path, BASE.replace("boost_pressure =", "boost =")))


def test_unit_that_cannot_be_converted(tmp_path):
    path = _write(tmp_path, BASE.replace('boost_pressure = "MAP"', 'boost_pressure = "TST_Weird.Boost2"'))
    with pytest.raises(UnitError) as err:
        load_profile(path)
    text = str(err.value)
    for part in ("car.toml", "boost_pressure", "TST_Weird.Boost2", "furlongs", "bar"):
        assert part in text


def test_unit_override_replaces_the_dbc_unit(tmp_path):
    text = BASE.replace('boost_pressure = "MAP"', 'boost_pressure = { signal = "TST_Weird.Boost2", unit = "mbar" }')
    assert load_profile(_write(tmp_path, text)).channels["boost_pressure"].unit == "mbar"


def test_volume_flow_needs_density(tmp_path):
    with pytest.raises(UnitError, match="density"):
        load_profile(_write(tmp_path, BASE.replace('"TST_Fuel.FuelMass"', '"TST_Fuel.FuelFlow"')))
    text = BASE.replace('"TST_Fuel.FuelMass"', '{ signal = "TST_Fuel.FuelFlow", density_kg_per_l = 0.745 }')
    assert load_profile(_write(tmp_path, text)).channels["fuel_flow"].density_kg_per_l == 0.745


def test_power_table_missing_what_it_needs(tmp_path):
    text = BASE.replace('wheel_speed_rr = "TST_Wheels.WheelSpeedRR"\n', "")
    with pytest.raises(ProfileError, match="power.source.*wheel_speed_rr"):
        load_profile(_write(tmp_path, text))
    with pytest.raises(ProfileError, match="power.wheel_radius_m"):
        load_profile(_write(tmp_path, BASE.replace("wheel_radius_m = 0.34\n", "")))
    with pytest.raises(ProfileError, match="power.source"):
        load_profile(_write(tmp_path, BASE.replace('source = "driveshaft"', 'source = "hybrid"')))
    engine = BASE.replace('source = "driveshaft"', 'source = "engine"').replace("wheel_radius_m = 0.34\n", "")
    assert load_profile(_write(tmp_path, engine)).power.source == "engine"


@pytest.mark.parametrize(("old", "new", "key"), [
    ('message = "TST_Pressures"', 'message = "TST_Nope"', r"integrity\[0\].message"),
    ('checksum_algorithm = "crc8_sae_j1850"', 'checksum_algorithm = "crc16"', r"integrity\[0\].checksum_algorithm"),
    ('checksum = "TST_Pressures_CRC"', 'checksum = "MAP"', r"integrity\[0\].checksum"),
    ('counter = "TST_Pressures_Counter"', 'counter = "Nope"', r"integrity\[0\].counter"),
])
def test_bad_integrity_entries(tmp_path, old, new, key):
    with pytest.raises(ProfileError, match=key):
        load_profile(_write(tmp_path, BASE.replace(old, new)))


def test_profile_without_dbc_names_mdf_channels(tmp_path):
    text = 'model = "m"\nname = "M"\n[channels]\nengine_speed = "nmot"\nboost_pressure = { signal = "p_boost", unit = "mbar" }\n'
    p = load_profile(_write(tmp_path, text))
    assert p.channels["engine_speed"].signal == "nmot" and p.channels["engine_speed"].unit is None
    assert p.channels["boost_pressure"].unit == "mbar"


def test_empty_channels_table_is_allowed(tmp_path):
    text = 'model = "m"\nname = "M"\n[[dbc]]\nfile = "gt3_test.dbc"\nchannel = 1\n[channels]\n'
    p = load_profile(_write(tmp_path, text))
    assert not p.channels and p.dbcs[0].bus == 1


def test_percentage_without_unit_in_the_dbc_is_taken_as_percent(tmp_path):
    dbc = (DATA / "gt3_test.dbc").read_text().replace('(0.4,0) [0|100] "%"', '(0.4,0) [0|100] ""')
    path = _write(tmp_path, BASE)
    (tmp_path / "gt3_test.dbc").write_text(dbc)
    assert load_profile(path).channels["throttle"].unit == "%"


def test_profile_path_that_is_a_directory(tmp_path):
    with pytest.raises(ProfileError, match="cannot read the profile"):
        load_profile(tmp_path)


@pytest.mark.parametrize(("rel", "fix"), [
    ("kona-ev-dbc/pcan.dbc", "add the BS_: and BU_: sections"),
    ("opendbc/tesla_can.dbc", "remove the VAL_ line"),
    ("opendbc/fca_giorgio.dbc", "must be marked extended"),
])
def test_corpus_databases_cantools_refuses_get_a_specific_fix(corpus_dir, rel, fix):
    from telemetry.profiles import load_database

    with pytest.raises(DbcError) as err:
        load_database(corpus_dir / rel)
    assert fix in str(err.value) and rel.split("/")[-1] in str(err.value)


def test_a_dbc_name_longer_than_the_file_system_allows_is_a_dbc_error(tmp_path):
    """Fuzz seed 14 (profile): a 300-character [[dbc]] file name gave a bare OSError (File name too long)."""
    from telemetry.profiles import load_database

    with pytest.raises(DbcError, match="cannot be looked up"):
        load_database(tmp_path / ("x" * 300 + ".dbc"))
