"""``bopwatch simulate``: help documents every option and injection; runs write a log and its truth."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from compliance.cli import main
from telemetry.simulate import KINDS


def _help(capsys, *argv: str) -> str:
    with pytest.raises(SystemExit) as exit_:
        main([*argv, "--help"])
    assert exit_.value.code == 0
    return capsys.readouterr().out


def test_log_help_documents_every_option_and_injection(capsys) -> None:
    text = _help(capsys, "simulate", "log")
    for option in ("--model", "--out", "--format", "--duration", "--seed", "--track", "--bulletin", "--profile",
                   "--inject", "--pit-stop", "--rolling-start", "--start", "--messages", "--gzip",
                   "--compression-level", "--truth"):
        assert option in text
    for kind, (defaults, _) in KINDS.items():
        assert f"  {kind} " in text
        for key in defaults:
            assert f"{key}=" in text


def test_event_help_gives_the_regeneration_command(capsys) -> None:
    assert "--out" in _help(capsys, "simulate", "event")


def test_simulate_log_writes_the_log_and_its_truth(tmp_path: Path, capsys) -> None:
    out = tmp_path / "car7.log.gz"
    code = main(["simulate", "log", "--model", "mercedes_amg_gt4", "--out", str(out), "--duration", "30",
                 "--messages", "logged", "--inject", "gap:at=10,duration=2"])
    assert code == 0
    printed = json.loads(capsys.readouterr().out)
    truth = json.loads((tmp_path / "car7.log.gz.truth.json").read_text())
    assert printed["frames"] == truth["file"]["frames"] > 0
    assert truth["file"]["format"] == "candump" and truth["file"]["gzip"] is True
    assert truth["expected"]["verdict"] == "incomplete"


def test_bad_injection_is_a_one_line_error(tmp_path: Path, capsys) -> None:
    code = main(["simulate", "log", "--model", "bmw_m4_gt3", "--out", str(tmp_path / "x.blf"),
                 "--inject", "boost:colour=red"])
    err = capsys.readouterr().err.strip()
    assert code == 2 and "\n" not in err and "colour" in err and "count" in err
