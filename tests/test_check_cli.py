"""``bopwatch check`` and ``bopwatch bop`` end to end on real candump files: output, JSON, exit codes, report,
split files, and bad input (each with its exit code)."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
from _compliance_logs import frames, signals, write_candump, write_log
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from compliance.cli import main

PEAKS = [(10.0, 0.5, 0.08), (40.0, 0.3, 0.05), (70.0, 0.2, 0.1)]


@pytest.fixture(scope="module")
def cdata(data_dir):
    return data_dir / "compliance"


@pytest.fixture(scope="module")
def logs(tmp_path_factory):
    root = tmp_path_factory.mktemp("logs")
    return {
        "clean": write_log(root / "clean.log"),
        "overboost": write_log(root / "overboost.log", boost_peaks=PEAKS),
        "two_peaks": write_log(root / "two_peaks.log", boost_peaks=PEAKS[:2]),
        "gap": write_log(root / "gap.log", gaps=[(50.0, 53.5)]),
        "fuel": write_log(root / "fuel.log", fuel_peaks=[(30.0, 1.0, 3.0)]),
        "overboost_and_gap": write_log(root / "both.log", boost_peaks=PEAKS, gaps=[(50.0, 53.5)]),
    }


def _check(capsys, cdata, *logs, extra=(), profile="profile_test_turbo.toml", bulletin="bulletin_cli.toml"):
    code = main(["check", *map(str, logs), "--profile", str(cdata / profile), "--bulletin",
                 str(cdata / bulletin), *extra])
    out, err = capsys.readouterr()
    return code, out, err


def test_compliant_log_exits_0_and_prints_a_table(capsys, cdata, logs):
    code, out, _ = _check(capsys, cdata, logs["clean"])
    assert code == 0
    assert "COMPLIANT" in out and "boost" in out and "fuel_flow" in out


def test_allowed_exceedances_are_still_compliant(capsys, cdata, logs):
    code, out, _ = _check(capsys, cdata, logs["two_peaks"], extra=["--json"])
    assert code == 0
    assert json.loads(out)["rules"][0]["exceedance_count"] == 2


def test_overboost_exits_1_with_each_exceedance_timed_to_the_sample(capsys, cdata, logs):
    code, out, _ = _check(capsys, cdata, logs["overboost"], extra=["--json"])
    assert code == 1
    d = json.loads(out)
    assert d["verdict"] == "infringement"
    boost = [e for e in d["exceedances"] if e["rule"] == "boost"]
    assert len(boost) == 3
    for e, (start, length, height) in zip(boost, PEAKS, strict=True):
        assert abs(e["start_s"] - start) <= 0.01 + 1e-9
        assert abs(e["end_s"] - (start + length - 0.01)) <= 0.01 + 1e-9
        assert e["excess"] == pytest.approx(height, abs=0.002)
    assert [e["lap"] for e in boost] == [1, 1, 2]
    assert d["inputs"][0]["format"] == "candump" and d["session_start"] == "2025-06-28T16:30:00Z"


def test_fuel_flow_excess_exits_1(capsys, cdata, logs):
    code, out, _ = _check(capsys, cdata, logs["fuel"], extra=["--json"])
    d = json.loads(out)
    assert code == 1
    (e,) = d["exceedances"]
    assert e["rule"] == "fuel_flow" and abs(e["start_s"] - 30.0) <= 0.01 + 1e-9


def test_logging_gap_on_a_needed_channel_exits_3(capsys, cdata, logs):
    code, out, _ = _check(capsys, cdata, logs["gap"], extra=["--json"])
    assert code == 3
    d = json.loads(out)
    assert d["verdict"] == "incomplete"
    gaps = [f for f in d["data_quality"] if f["check"] == "gap" and f["channel"] == "boost_pressure"]
    assert len(gaps) == 1 and gaps[0]["severity"] == "error"
    assert gaps[0]["start_s"] == pytest.approx(49.99) and gaps[0]["end_s"] == pytest.approx(53.5)


def test_infringement_outranks_incomplete(capsys, cdata, logs):
    code, out, _ = _check(capsys, cdata, logs["overboost_and_gap"], extra=["--json"])
    assert code == 1
    assert {r["rule"]: r["verdict"] for r in json.loads(out)["rules"]} == {
        "boost": "infringement", "fuel_flow": "incomplete"}


def test_json_is_byte_identical_between_runs(capsys, cdata, logs):
    first = _check(capsys, cdata, logs["overboost"], extra=["--json"])[1]
    second = _check(capsys, cdata, logs["overboost"], extra=["--json"])[1]
    assert first.encode() == second.encode()


def test_report_is_self_contained_html_with_the_evidence_plots(capsys, cdata, logs, tmp_path):
    report = tmp_path / "out" / "car.html"
    code, _, _ = _check(capsys, cdata, logs["overboost"], extra=["--report", str(report)])
    assert code == 1
    text = report.read_text()
    assert "<script" not in text and "webgl" not in text.lower()   # inline SVG: offline, no GPU needed
    assert text.count("<svg") >= 4 and "id='boost-0'" in text and "id='boost-3'" in text
    assert len(text.encode()) < 3_000_000
    assert "INFRINGEMENT" in text


def test_bulletin_without_the_cars_model_exits_2_with_one_line(capsys, cdata, logs):
    code, out, err = _check(capsys, cdata, logs["clean"], profile="profile_test_unknown_model.toml")
    assert code == 2 and out == ""
    assert err.count("\n") == 1
    assert "mclaren_720s_gt3_evo" in err and "bulletin_cli.toml" in err


def test_profile_missing_a_needed_channel_exits_2(capsys, cdata, logs):
    code, _, err = _check(capsys, cdata, logs["clean"], profile="profile_test_turbo_no_fuel.toml")
    assert code == 2
    assert "fuel_flow" in err and "profile_test_turbo_no_fuel.toml" in err and "[channels]" in err


def test_profile_given_as_a_model_id_is_looked_up_like_ingest(capsys, cdata, logs, monkeypatch):
    code, by_path, _ = _check(capsys, cdata, logs["overboost"], extra=("--json",))
    monkeypatch.setenv("BOPWATCH_PROFILES", str(cdata))
    by_model = main(["check", str(logs["overboost"]), "--profile", "test_turbo", "--bulletin",
                     str(cdata / "bulletin_cli.toml"), "--json"])
    assert (code, by_model) == (1, 1)
    assert json.loads(capsys.readouterr().out) == json.loads(by_path)
    assert main(["check", str(logs["clean"]), "--profile", "no_such_model", "--bulletin",
                 str(cdata / "bulletin_cli.toml")]) == 2
    out, err = capsys.readouterr()
    assert out == "" and err.count("\n") == 1
    assert "no profile with model = 'no_such_model'" in err and "BOPWATCH_PROFILES" in err


@pytest.mark.parametrize(("name", "content"), [
    ("empty.log", b""), ("car7.xyz", b"not a log line\n"), ("garbage.blf", bytes(range(256)) * 4),
    ("garbage.log", bytes(range(32, 127)) * 20), ("car7.txt", b"1320745424.002 R11 402 FA 01 C3 A0\n")])
def test_unreadable_log_exits_2(capsys, cdata, tmp_path, name, content):
    bad = tmp_path / name
    bad.write_bytes(content)
    code, out, err = _check(capsys, cdata, bad)
    assert code == 2 and out == ""
    assert name in err and err.count("\n") == 1


def test_log_without_the_needed_messages_cannot_certify_and_exits_3(capsys, cdata, tmp_path):
    log = write_log(tmp_path / "chassis_only.log", gaps=[(0.0, 1e9)])     # no ENGINE frame at all
    code, out, _ = _check(capsys, cdata, log, extra=["--json"])
    assert code == 3
    d = json.loads(out)
    assert {r["rule"]: r["verdict"] for r in d["rules"]} == {"boost": "incomplete", "fuel_flow": "incomplete"}
    assert {(f["check"], f["channel"]) for f in d["data_quality"]} >= {
        ("missing", "boost_pressure"), ("missing", "engine_speed"), ("missing", "fuel_flow")}


def test_missing_log_exits_2(capsys, cdata, tmp_path):
    code, _, err = _check(capsys, cdata, tmp_path / "nope.log")
    assert code == 2 and "nope.log" in err


def test_folder_of_bulletins_picks_the_one_in_force(capsys, cdata, logs, tmp_path):
    folder = tmp_path / "bulletins"
    folder.mkdir()
    shutil.copy(cdata / "bulletin_cli.toml", folder / "a.toml")
    later = (cdata / "bulletin_cli.toml").read_text().replace('"TEST-CLI-1"', '"TEST-CLI-2"').replace(
        "2025-06-25T00:00:00Z", "2025-07-01T00:00:00Z")
    (folder / "b.toml").write_text(later)
    code = main(["check", str(logs["clean"]), "--profile", str(cdata / "profile_test_turbo.toml"),
                 "--bulletin", str(folder), "--json"])
    assert code == 0
    assert json.loads(capsys.readouterr().out)["bulletin"]["id"] == "TEST-CLI-1"


_SIG = signals(60.0, boost_peaks=[(10.0, 0.5, 0.08), (30.0, 0.3, 0.06), (45.0, 0.2, 0.1)])
_FRAMES = frames(_SIG)


@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(split=st.floats(1.0, 59.0))
def test_splitting_a_log_in_two_files_gives_the_same_verdict(tmp_path, capsys, cdata, split):
    time, ids, data = _FRAMES
    whole = write_candump(tmp_path / "whole.log", time, ids, data)
    cut = int(np.searchsorted(time, split))
    a = write_candump(tmp_path / "part1.log", time[:cut], ids[:cut], data[:cut])
    b = write_candump(tmp_path / "part2.log", time[cut:], ids[cut:], data[cut:])
    one = json.loads(_check(capsys, cdata, whole, extra=["--json"])[1])
    two = json.loads(_check(capsys, cdata, b, a, extra=["--json"])[1])   # given out of order on purpose
    for key in ("verdict", "rules", "exceedances", "laps"):
        assert one[key] == two[key], key
    assert [f for f in two["data_quality"] if f["severity"] == "error"] == []


def test_bop_show_validate_diff(capsys, cdata):
    assert main(["bop", "show", str(cdata / "bulletin_spa_r1.toml"), "--model", "test_turbo"]) == 0
    out = capsys.readouterr().out
    assert "2.64" in out and "410 kW" in out
    assert main(["bop", "validate", str(cdata / "bulletin_spa_r1.toml"), str(cdata / "bulletin_spa_r2.toml")]) == 0
    capsys.readouterr()
    assert main(["bop", "validate", str(cdata / "bulletin_spa_r1.toml"),
                 str(cdata / "bulletin_lengths_differ.toml")]) == 2
    assert "rpm has 3 values but max_bar has 2" in capsys.readouterr().err
    assert main(["bop", "diff", str(cdata / "bulletin_spa_r1.toml"), str(cdata / "bulletin_spa_r2.toml"),
                 "--json"]) == 0
    changes = json.loads(capsys.readouterr().out)["changes"]
    assert any(c["rule"] == "boost" and c.get("delta") == pytest.approx(-0.04) for c in changes)


def test_bop_show_model_missing_exits_2(capsys, cdata):
    assert main(["bop", "show", str(cdata / "bulletin_spa_r1.toml"), "--model", "audi_r8"]) == 2
    assert "audi_r8" in capsys.readouterr().err


def test_debug_shows_the_traceback_instead_of_one_line(cdata, tmp_path):
    from telemetry.errors import TelemetryError
    bad = tmp_path / "empty.log"
    bad.write_bytes(b"")
    with pytest.raises(TelemetryError):
        main(["--debug", "check", str(bad), "--profile", str(cdata / "profile_test_turbo.toml"),
              "--bulletin", str(cdata / "bulletin_cli.toml")])


def test_json_is_byte_identical_across_processes_with_different_hash_seeds(cdata, logs):
    import os
    import subprocess
    import sys

    outs = []
    for seed in ("1", "2"):
        run = subprocess.run(
            [sys.executable, "-c", "import sys; from compliance.cli import main; sys.exit(main(sys.argv[1:]))",
             "check", str(logs["overboost_and_gap"]), "--profile", str(cdata / "profile_test_turbo.toml"),
             "--bulletin", str(cdata / "bulletin_cli.toml"), "--json"],
            capture_output=True, env={**os.environ, "PYTHONHASHSEED": seed}, check=False)
        assert run.returncode == 1, run.stderr
        outs.append(run.stdout)
    assert outs[0] == outs[1]
