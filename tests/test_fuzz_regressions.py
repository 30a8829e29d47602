"""Every crasher the fuzzer found (``tests/fuzz_regressions/``) now decodes or is refused with the package's own
error, within a time limit, in an isolated process (so a regression that hangs or kills the interpreter fails
this test instead of the suite)."""

from __future__ import annotations

from pathlib import Path

import pytest

from telemetry.isolate import ParseFailed, run_isolated

HERE = Path(__file__).resolve().parent
FIXTURES = HERE / "fuzz_regressions"
SUPPORT = HERE / "fuzz" / "data"
TIME_LIMIT_S = 30.0


def _fixtures() -> list[Path]:
    return sorted(p for p in FIXTURES.iterdir() if p.is_file() and p.name != "README.md")


def _format(path: Path) -> str:
    from fuzz.targets import format_of_fixture

    return format_of_fixture(path)


def test_every_crasher_is_kept_under_a_descriptive_name():
    names = [p.name for p in _fixtures()]
    assert names, "no regression fixtures"
    assert all(not n.split(".")[0].split("_")[-1].isdigit() for n in names), names


@pytest.mark.parametrize("fixture", _fixtures(), ids=lambda p: p.name)
def test_crasher_decodes_or_is_refused_with_the_package_error(fixture):
    try:
        status = run_isolated("fuzz.targets:run_input", fixture, _format(fixture), str(SUPPORT),
                              timeout_s=TIME_LIMIT_S, memory_mb=3072)
    except ParseFailed as err:          # a bare ValueError, struct.error, ... escaped the reader
        pytest.fail(f"{fixture.name}: {err.problem}")
    # ParseTimeout / ParseCrashed / ParseMemoryExceeded propagate and fail the test with their message
    assert status == "decoded" or status.startswith("refused:"), status


#: DBCs that cost cantools more than 10 s of CPU or all its memory (fuzz seed 14): refused by the bounds before
#: cantools reads them (``profiles._check_bounds``), so well inside a limit a regression would overrun
COSTLY_DBCS = sorted(p for p in FIXTURES.glob("dbc_*.dbc") if p.stem.endswith(("_over_10_s", "_memory_error")))


@pytest.mark.parametrize("fixture", COSTLY_DBCS, ids=lambda p: p.name)
def test_a_dbc_cantools_would_spend_seconds_or_gigabytes_on_is_refused_at_once(fixture):
    from telemetry.errors import DbcError

    with pytest.raises(DbcError, match="BOPWATCH_DBC_MAX_MESSAGE_BYTES"):
        run_isolated("telemetry.profiles:load_database", fixture, timeout_s=5.0, memory_mb=1024)


OPEN = sorted(p for p in (FIXTURES / "open").glob("*") if p.is_file() and p.suffix != ".md")


@pytest.mark.slow
@pytest.mark.parametrize("fixture", OPEN, ids=lambda p: p.name)
def test_open_crashers_are_contained_by_isolation(fixture):
    """Not fixed yet (see open/README.md), but ingest's isolation turns each into an error naming the file."""
    from telemetry.errors import TelemetryError

    try:
        run_isolated("fuzz.targets:run_input", fixture, _format(fixture), str(SUPPORT), timeout_s=5.0,
                     memory_mb=3072)
    except TelemetryError as err:
        assert str(fixture) in str(err)
