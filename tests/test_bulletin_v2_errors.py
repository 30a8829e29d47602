"""Bad SPEC §5 bulletin keys: each is a BulletinError naming the file, the key and a fix, and through the CLI
(``bopwatch check LOG --profile P --bulletin BAD --json``) exit code 2 and one line on stderr."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from compliance.bop import load_bulletin
from compliance.cli import main
from compliance.errors import BulletinError

ROOT = Path(__file__).resolve().parents[1]
LOG = ROOT / "sample_logs" / "race" / "car7.blf"
PROFILE = ROOT / "dbc" / "bmw_m4_gt3.toml"

HEADER = '''id = "TEST-V2-ERRORS"
effective_from = "2026-06-28T00:00:00Z"
reference_ambient_pressure_bar = 1.010
'''

BOOST = '''
[models.bmw_m4_gt3]
name = "BMW M4 GT3"
declared_power = { rpm = [3000, 5000, 7000], kw = [190.0, 320.0, 362.0] }

[models.bmw_m4_gt3.boost]
rpm = [3000, 5000, 7000]
max_bar = [2.64, 2.57, 2.37]
tolerance = 0.02
min_duration_s = 0.1
'''

GOOD = HEADER + BOOST

# case -> (bulletin text, the key place in the message, a pattern of the problem, a pattern of the fix)
CASES = {
    "when_unknown_operator": (
        GOOD + 'when = { throttle = "=> 30" }\n',
        "models.bmw_m4_gt3.boost.when.throttle", r"'=> 30' is not '<op> <number>'",
        r"\(.*op one of >=, <=, >, <\)"),
    "when_non_canonical_channel": (
        GOOD + 'when = { pedal_position = ">= 30" }\n',
        "models.bmw_m4_gt3.boost.when.pedal_position", r"'pedal_position' is not a canonical channel",
        r"\(use one of .*long_accel.*throttle.*\)"),
    "window_without_window_s": (
        GOOD + 'count_per = "window"\n',
        "models.bmw_m4_gt3.boost.window_s", r'missing for count_per = "window"', r"\(.*window_s.*\)"),
    "window_s_with_session": (
        GOOD + 'count_per = "session"\nwindow_s = 60.0\n',
        "models.bmw_m4_gt3.boost.window_s", r'only read with count_per = "window"',
        r"\(remove window_s or set count_per = \"window\"\)"),
    "level_pct_without_declared_power": (
        HEADER + '''
[models.bmw_m4_gt3]
name = "BMW M4 GT3"

[models.bmw_m4_gt3.power]
level_pct = 97.0
''', "models.bmw_m4_gt3.power.level_pct", r"level_pct needs the model's declared_power",
        r"\(.*declared_power.*\)"),
    "max_ratio_with_ambient_correction": (
        HEADER + '''
[models.bmw_m4_gt3]
name = "BMW M4 GT3"

[models.bmw_m4_gt3.boost]
rpm = [3000, 5000, 7000]
max_ratio = [2.6, 2.5, 2.4]
ambient_correction = true
''', "models.bmw_m4_gt3.boost.ambient_correction", r"does not apply to a max_ratio limit",
        r"\(remove ambient_correction\)"),
    "car_model_not_in_bulletin": (
        GOOD + '\n[cars."7"]\nmodel = "audi_r8_lms_gt3"\n',
        'cars."7".model', r"model 'audi_r8_lms_gt3' is not in this bulletin",
        r"\(add \[models\.audi_r8_lms_gt3\] or use one of bmw_m4_gt3\)"),
    "generic_limit_without_channel": (
        GOOD + '\n[models.bmw_m4_gt3.limit.speed_cap]\nmax = 280.0\nunit = "km/h"\n',
        "models.bmw_m4_gt3.limit.speed_cap.channel", r"missing", r"\(.*channel.*\)"),
    "refuel_max_below_min": (
        GOOD + '\n[models.bmw_m4_gt3.refuel_time]\nmin_s = 37.0\nmax_s = 30.0\n',
        "models.bmw_m4_gt3.refuel_time.max_s", r"30 is below min_s 37", r"\(give max_s >= min_s\)"),
}


def _write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / f"{name}.toml"
    path.write_text(text, encoding="utf-8")
    return path


class Done:
    def __init__(self, returncode: int, stdout: str, stderr: str) -> None:
        self.returncode, self.stdout, self.stderr = returncode, stdout, stderr


@pytest.fixture()
def cli(capsys):
    """``bopwatch ARGS`` in this process: exit code (argparse usage errors exit through SystemExit), stdout,
    stderr."""
    def run(*args: str | Path) -> Done:
        capsys.readouterr()
        try:
            code = main([str(a) for a in args])
        except SystemExit as exit_:
            code = exit_.code
        out, err = capsys.readouterr()
        return Done(code, out, err)
    return run


def test_the_base_bulletin_is_valid(tmp_path: Path) -> None:
    bulletin = load_bulletin(_write(tmp_path, "good", GOOD))
    assert set(bulletin.model("bmw_m4_gt3").rules) == {"boost"}


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_v2_key_is_a_bulletin_error_with_file_place_and_fix(tmp_path: Path, case: str) -> None:
    text, place, problem, fix = CASES[case]
    path = _write(tmp_path, case, text)
    with pytest.raises(BulletinError) as err:
        load_bulletin(path)
    message = str(err.value)
    assert "\n" not in message
    assert err.value.path == str(path) and message.startswith(str(path))
    assert place in message, message
    assert err.value.place is not None and err.value.place.startswith(place), (err.value.place, place)
    assert re.search(problem, message), message
    assert err.value.fix, message
    assert re.search(fix, message), message


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_v2_key_through_check_exits_2_with_one_stderr_line(cli, tmp_path: Path, case: str) -> None:
    text, place, problem, _ = CASES[case]
    path = _write(tmp_path, case, text)
    done = cli("check", LOG, "--profile", PROFILE, "--bulletin", path, "--json")
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert str(path) in lines[0] and place in lines[0]
    assert re.search(problem, lines[0]), lines[0]
    assert done.stdout == ""


def test_check_car_whose_bulletin_model_differs_from_the_profile_exits_2(cli, tmp_path: Path) -> None:
    text = GOOD + '''
[models.ferrari_296_gt3]
name = "Ferrari 296 GT3"

[models.ferrari_296_gt3.boost]
rpm = [3000, 6000, 7500]
max_bar = [2.45, 2.38, 2.25]

[cars."7"]
model = "bmw_m4_gt3"

[cars."51"]
model = "ferrari_296_gt3"
'''
    path = _write(tmp_path, "cars", text)
    ok = cli("check", LOG, "--profile", PROFILE, "--bulletin", path, "--json", "--car", "7")
    assert ok.returncode in (0, 1), ok.stderr
    assert json.loads(ok.stdout)["bulletin"]["car_entry"] == "7"
    done = cli("check", LOG, "--profile", PROFILE, "--bulletin", path, "--json", "--car", "51")
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert str(path) in lines[0] and 'cars."51".model' in lines[0], lines[0]
    assert "ferrari_296_gt3" in lines[0] and "bmw_m4_gt3" in lines[0] and lines[0].endswith(")"), lines[0]
    assert done.stdout == ""


def test_ambient_bar_in_hpa_is_a_usage_error(cli, tmp_path: Path) -> None:
    path = _write(tmp_path, "good", GOOD)
    done = cli("check", LOG, "--profile", PROFILE, "--bulletin", path, "--json", "--ambient-bar", "985")
    assert done.returncode == 2, done.stderr
    assert done.stdout == ""
    assert "--ambient-bar" in done.stderr and "985 bar is not an ambient pressure" in done.stderr
    assert "hPa" in done.stderr      # the fix says what went wrong
    ok = cli("check", LOG, "--profile", PROFILE, "--bulletin", path, "--json", "--ambient-bar", "0.985")
    assert ok.returncode in (0, 1), ok.stderr
