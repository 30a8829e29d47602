"""Bulletin loading, validation messages, the bulletin in force, and diffs."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from compliance.bop import diff_bulletins, in_force, load_bulletin, load_bulletins, select_bulletin
from compliance.errors import BulletinError


@pytest.fixture()
def cdata(data_dir):
    return data_dir / "compliance"


def test_loads_every_rule_of_the_example_bulletin(cdata):
    b = load_bulletin(cdata / "bulletin_spa_r1.toml")
    assert b.id == "TEST-2025-SPA-R1"
    assert b.effective_from == datetime(2025, 6, 25, tzinfo=UTC)
    assert b.track_category == "A"
    turbo = b.model("test_turbo")
    assert set(turbo.rules) == {"boost", "fuel_flow", "power", "stint_energy"}
    boost = turbo.rules["boost"]
    assert boost.key == "engine_speed" and boost.key_points == (4000, 5000, 6000, 7000)
    assert boost.limits == (2.64, 2.60, 2.50, 2.40)
    assert (boost.tolerance, boost.min_duration_s, boost.max_exceedances) == (0.02, 0.1, 2)
    assert boost.ambient_correction and boost.unit == "bar"
    assert turbo.rules["power"].key is None and turbo.rules["power"].limits == (410.0,)
    assert turbo.rules["stint_energy"].needs == ("power", "refuel")
    na_power = b.model("test_na").rules["power"]
    assert na_power.key == "vehicle_speed" and na_power.interpolation == "step"
    assert len(b.sha256) == 64


def test_model_missing_from_bulletin_is_an_error_naming_the_known_models(cdata):
    b = load_bulletin(cdata / "bulletin_spa_r1.toml")
    with pytest.raises(BulletinError, match=r"'ferrari_296_gt3' is not in bulletin .*test_na, test_turbo"):
        b.model("ferrari_296_gt3")


@pytest.mark.parametrize(("case", "pattern"), [
    ("lengths_differ", r"models\.test_turbo\.boost: rpm has 3 values but max_bar has 2 .*give one max_bar"),
    ("rpm_not_increasing", r"boost\.rpm\[2\]: 5000 does not increase after 6000 .*strictly increasing"),
    ("unknown_interpolation", r"boost\.interpolation: unknown interpolation 'cubic' .*\"linear\" or \"step\""),
    ("bad_toml", r"not valid TOML"),
    ("unknown_rule", r"models\.test_turbo\.restrictor: unknown rule"),
    ("no_timezone", r"effective_from: .* has no time zone"),
])
def test_invalid_bulletin_error_names_file_key_and_fix(cdata, case, pattern):
    path = cdata / f"bulletin_{case}.toml"
    with pytest.raises(BulletinError, match=pattern) as err:
        load_bulletin(path)
    assert str(path) in str(err.value)
    assert "\n" not in str(err.value)


@pytest.mark.parametrize(("id_line", "pattern"), [
    ("id = 2025", r'id: 2025 is not a string \(write it in quotes, e\.g\. id = "2025"\)'),
    ('id = ["R1"]', r"id: \['R1'\] is not a string \(write it in quotes"),
    ("", r"id: missing \(give the bulletin an id"),
    ('id = ""', r"id: empty \(give the bulletin an id"),
])
def test_bulletin_id_that_is_not_a_string_is_not_called_missing(cdata, tmp_path, id_line, pattern):
    text = (cdata / "bulletin_spa_r1.toml").read_text(encoding="utf-8")
    path = tmp_path / "bulletin.toml"
    path.write_text(text.replace('id = "TEST-2025-SPA-R1"', id_line, 1), encoding="utf-8")
    with pytest.raises(BulletinError, match=pattern) as err:
        load_bulletin(path)
    assert str(err.value).startswith(f"{path}: id: ")


def test_missing_file_is_a_bulletin_error(tmp_path):
    with pytest.raises(BulletinError, match="no such file"):
        load_bulletin(tmp_path / "nope.toml")


def test_in_force_picks_latest_bulletin_started_before_the_session(cdata):
    both = load_bulletins([cdata / "bulletin_spa_r2.toml", cdata / "bulletin_spa_r1.toml"])
    assert [b.id for b in both] == ["TEST-2025-SPA-R1", "TEST-2025-SPA-R2"]
    assert in_force(both, datetime(2025, 6, 27, 10, tzinfo=UTC)).id == "TEST-2025-SPA-R1"
    assert in_force(both, datetime(2025, 6, 28, 12, tzinfo=UTC)).id == "TEST-2025-SPA-R2"
    assert in_force(both, datetime(2025, 6, 29, tzinfo=UTC)).id == "TEST-2025-SPA-R2"


def test_no_bulletin_in_force_before_the_first(cdata):
    both = load_bulletins([cdata / "bulletin_spa_r1.toml", cdata / "bulletin_spa_r2.toml"])
    with pytest.raises(BulletinError, match="none of 2 bulletins is in force"):
        in_force(both, datetime(2025, 1, 1, tzinfo=UTC))


def test_several_bulletins_need_a_session_start(cdata):
    both = load_bulletins([cdata / "bulletin_spa_r1.toml", cdata / "bulletin_spa_r2.toml"])
    with pytest.raises(BulletinError, match="no absolute start time"):
        in_force(both, None)


def test_an_explicit_single_bulletin_wins_whatever_its_dates(cdata):
    only = load_bulletins(cdata / "bulletin_spa_r2.toml")
    assert in_force(only, datetime(2020, 1, 1, tzinfo=UTC)).id == "TEST-2025-SPA-R2"
    assert in_force(only, None).id == "TEST-2025-SPA-R2"


def test_track_category_filters_candidates(cdata):
    both = load_bulletins([cdata / "bulletin_spa_r1.toml", cdata / "bulletin_spa_r2.toml"])
    with pytest.raises(BulletinError, match="no bulletin for track category 'H'"):
        in_force(both, datetime(2025, 6, 29, tzinfo=UTC), track_category="H")


def test_folder_of_bulletins_is_loaded(tmp_path, cdata):
    for name in ("bulletin_spa_r1.toml", "bulletin_spa_r2.toml"):
        (tmp_path / name).write_bytes((cdata / name).read_bytes())
    assert select_bulletin(tmp_path, datetime(2025, 6, 26, tzinfo=UTC)).id == "TEST-2025-SPA-R1"


def test_diff_reports_boost_delta_weight_and_removed_rules(cdata):
    r1 = load_bulletin(cdata / "bulletin_spa_r1.toml")
    r2 = load_bulletin(cdata / "bulletin_spa_r2.toml")
    changes = {(c["model"], c["rule"]): c for c in diff_bulletins(r1, r2)}
    assert changes[("test_turbo", "boost")]["delta"] == pytest.approx(-0.04)
    assert changes[("test_turbo", "min_weight_kg")]["new"] == 1330
    assert changes[("test_turbo", "power")]["change"] == "removed"
    assert changes[("test_turbo", "stint_energy")]["change"] == "removed"
    assert ("test_turbo", "fuel_flow") not in changes
    assert changes[("test_na", "power")]["delta"] == pytest.approx(-5.0)
