"""Every shipped DBC loads in cantools, and every car profile names signals that exist (checked independently
of telemetry.profiles: tomllib + cantools only)."""

from __future__ import annotations

import tomllib
from pathlib import Path

import cantools
import pytest

DBC_DIR = Path(__file__).resolve().parent.parent / "dbc"
PROFILES = sorted(DBC_DIR.glob("*.toml"))
DBCS = sorted(DBC_DIR.glob("*.dbc"))
ALGORITHMS = {"xor8", "sum8", "crc8_sae_j1850"}


def _load(profile: Path) -> tuple[dict, list[tuple[int | None, cantools.database.Database]]]:
    data = tomllib.loads(profile.read_text())
    return data, [(d.get("channel"), cantools.database.load_file(profile.parent / d["file"])) for d in data["dbc"]]


def test_there_are_dbcs_and_profiles() -> None:
    assert len(DBCS) >= 2 and len(PROFILES) >= 1


@pytest.mark.parametrize("path", DBCS, ids=lambda p: p.name)
def test_dbc_loads_and_declares_cycle_times(path: Path) -> None:
    db = cantools.database.load_file(path)
    assert db.messages
    for message in db.messages:
        assert message.cycle_time, f"{path.name}: {message.name} has no GenMsgCycleTime"
        assert 1 <= message.cycle_time <= 1000


@pytest.mark.parametrize("path", PROFILES, ids=lambda p: p.name)
def test_profile_signals_exist_exactly_once(path: Path) -> None:
    data, dbs = _load(path)
    assert data["model"] == path.stem
    for channel, rhs in data["channels"].items():
        name = rhs if isinstance(rhs, str) else rhs["signal"]
        hits = [(m.name, s.name) for _, db in dbs for m in db.messages for s in m.signals
                if name in (f"{m.name}.{s.name}", s.name)]
        assert len(hits) == 1, f"{path.name}: channel {channel} -> {name} matches {hits}"


@pytest.mark.parametrize("path", PROFILES, ids=lambda p: p.name)
def test_profile_integrity_entries_name_a_counter_and_a_byte_aligned_checksum(path: Path) -> None:
    data, dbs = _load(path)
    assert data.get("integrity"), f"{path.name} declares no [[integrity]] checks"
    for entry in data["integrity"]:
        messages = [db.get_message_by_name(entry["message"]) for _, db in dbs
                    if entry["message"] in {m.name for m in db.messages}]
        assert len(messages) == 1, entry
        message = messages[0]
        message.get_signal_by_name(entry["counter"])
        checksum = message.get_signal_by_name(entry["checksum"])
        assert checksum.length == 8 and checksum.start % 8 in (0, 7)
        assert entry["checksum_algorithm"] in ALGORITHMS


def test_two_bus_load_is_realistic_for_a_turbo_gt3() -> None:
    """~4-8 k frames/s on two 1 Mbit/s buses (SPEC/DOMAIN rasters)."""
    _, dbs = _load(DBC_DIR / "bmw_m4_gt3.toml")
    rate = sum(1000.0 / m.cycle_time for _, db in dbs for m in db.messages)
    assert 3500 <= rate <= 8000
