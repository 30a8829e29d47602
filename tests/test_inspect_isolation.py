"""``bopwatch inspect`` reads MDF files (asammdf) in an isolated child: a parser crash is one error line, exit 2."""

from __future__ import annotations

from pathlib import Path

from compliance.cli import main


def test_a_parser_over_its_memory_limit_is_one_error_line_and_exit_2(capsys, monkeypatch):
    # no asammdf SIGSEGV input is left (all are refused before asammdf reads them, see fuzz_regressions/open);
    # the memory limit is the child failure that can still be caused on purpose
    monkeypatch.setenv("BOPWATCH_PARSE_MEMORY_MB", "100")
    sample = Path(__file__).parent.parent / "sample_logs" / "race" / "car32.mf4"
    assert main(["inspect", str(sample)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "car32.mf4" in err[0] and "exceeded 100 MB" in err[0]


def test_a_parse_over_its_time_limit_is_stopped_with_one_error_line(capsys, monkeypatch):
    # the asammdf hangs the fuzzer found are refused before asammdf reads them now (fuzz_regressions/open is
    # empty): the limit is shown on a sound file with a limit no parse can meet (a forked child starts warm)
    monkeypatch.setenv("BOPWATCH_PARSE_TIMEOUT_S", "0.001")
    sample = Path(__file__).parent.parent / "sample_logs" / "race" / "car32.mf4"
    assert main(["inspect", str(sample)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "car32.mf4" in err[0] and "0.001 s of CPU time" in err[0]


def test_a_sound_mf4_reads_the_same_isolated_or_not(capsys):
    sample = Path(__file__).parent.parent / "sample_logs" / "race" / "car32.mf4"
    outputs = []
    for mode in ("always", "never"):
        assert main(["inspect", str(sample), "--json", "--isolate", mode]) == 0
        outputs.append(capsys.readouterr().out)
    assert outputs[0] == outputs[1] and '"frames":' in outputs[0]
