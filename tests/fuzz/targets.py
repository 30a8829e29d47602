"""What the fuzzer runs on one input, by format: the public entry points a user's file reaches.

* logs: ``inspect_log`` (open, every chunk, findings), then ``load_session`` with the fuzz car's profile (decode,
  units, integrity, power) when the file was readable;
* bulletins: ``load_bulletin``, then ``in_force`` and ``diff_bulletins`` on it;
* profiles: ``load_profile``, then a session of the seed BLF with that profile;
* DBCs: ``load_database``, then ``decode_frames`` of the seed frames with it.

``run_input`` returns ``"decoded"`` or ``"refused:<ErrorClass>"``; any other exception propagates: that is the bug
the fuzzer looks for.
"""

from __future__ import annotations

from datetime import UTC, datetime
from functools import cache
from pathlib import Path

__all__ = ["run_input", "OWN_ERRORS", "format_of_fixture"]


@cache
def _own_errors() -> tuple[type[BaseException], ...]:
    from compliance.errors import ComplianceError
    from telemetry.errors import TelemetryError

    return TelemetryError, ComplianceError


OWN_ERRORS = ("telemetry.errors:TelemetryError", "compliance.errors:ComplianceError")


@cache
def _profile(folder: str):
    from telemetry import load_profile

    return load_profile(Path(folder) / "fuzz_car.toml")


@cache
def _seed_frames():
    from .seeds import fuzz_frames

    return fuzz_frames()


def _log(path: Path, support: Path) -> None:
    from telemetry import inspect_log, load_session

    info = inspect_log(path)
    if info.frames == 0:
        return
    load_session([path], _profile(str(support)))


def _bulletin(path: Path, support: Path) -> None:
    from compliance.bop import diff_bulletins, in_force, load_bulletin

    bulletin = load_bulletin(path)
    for model in bulletin.models:
        bulletin.model(model)
    diff_bulletins(bulletin, bulletin)
    try:
        in_force([bulletin], datetime(2025, 6, 28, 16, 30, tzinfo=UTC))
    except _own_errors():
        pass            # not in force at that time: an answer, not a failure


def _profile_input(path: Path, support: Path) -> None:
    from telemetry import load_profile, load_session

    profile = load_profile(path)
    seed = support / "sim.blf"
    if seed.exists():
        load_session([seed], profile)


def _dbc(path: Path, support: Path) -> None:
    from telemetry import decode_frames, load_database

    decode_frames(_seed_frames(), load_database(path))


_RUNNERS = {"bulletin": _bulletin, "profile": _profile_input, "dbc": _dbc}


def format_of_fixture(path: Path) -> str:
    """The fuzz format of a regression fixture, from its name: ``*.bulletin.toml``, ``*.profile.toml``,
    ``*.dbc``, else a log."""
    name = path.name.lower()
    if name.endswith(".bulletin.toml"):
        return "bulletin"
    if name.endswith(".profile.toml"):
        return "profile"
    if name.endswith(".dbc"):
        return "dbc"
    return "log"


def run_input(path: str | Path, fmt: str, support: str | Path | None = None) -> str:
    """Run one input; ``support`` is the folder holding ``fuzz_car.toml``/``.dbc`` and the seed logs."""
    path = Path(path)
    support = Path(support) if support is not None else path.parent
    try:
        _RUNNERS.get(fmt, _log)(path, support)
    except _own_errors() as err:
        return f"refused:{type(err).__name__}"
    return "decoded"
