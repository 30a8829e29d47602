"""Issue 14: a signal database is bounded before cantools reads it (``telemetry/profiles.py`` ``_check_bounds``,
limits in ``telemetry/limits.py``). Fuzz seed 14's ``dbc`` family had 15 inputs over 10 s of CPU inside cantools:
a message length of 99,999,999 bytes, from which cantools builds the message's codec bit by bit (one of 407 bytes
took more than 15 s); 2**32 bytes was a ``MemoryError``; a signal starting at or spanning 2**30 bits took 16 s and
3.6 GB. Each limit's refusal names the file, the line, the limit and the variable that raises it."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import pytest
from _decode_support import DATA

from telemetry.errors import DbcError, TelemetryError
from telemetry.profiles import load_database, load_profile

ROOT = Path(__file__).resolve().parent.parent
SEED = (ROOT / "tests" / "fuzz" / "data" / "fuzz_car.dbc").read_text()


def _dbc(tmp_path: Path, text: str, name: str = "car.dbc") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def _refused(path: Path, *match: str) -> DbcError:
    started = time.process_time()
    with pytest.raises(DbcError) as caught:
        load_database(path)
    assert time.process_time() - started < 1.0
    text = str(caught.value)
    assert str(path) in text and all(m in text for m in match), text
    return caught.value


def test_a_message_of_99999999_bytes_is_refused_at_its_line_before_cantools_reads_it(tmp_path):
    path = _dbc(tmp_path, SEED.replace("LOG_Engine: 8 LOGGER", "LOG_Engine: 99999999 LOGGER"))
    err = _refused(path, "message LOG_Engine declares 99,999,999 bytes, more than the 4,096-byte limit",
                   "BOPWATCH_DBC_MAX_MESSAGE_BYTES")
    assert err.place == "line 9"


def test_a_length_of_100000_digits_is_refused_without_converting_it(tmp_path):
    """Past Python's 4,300-digit int-conversion limit: compared by its digits."""
    path = _dbc(tmp_path, SEED.replace("LOG_Engine: 8 LOGGER", "LOG_Engine: " + "9" * 100_000 + " LOGGER"))
    _refused(path, "declares 999999999999... (100,000 digits) bytes")


@pytest.mark.parametrize(("old", "new", "what"), [
    ("EngineSpeed : 0|16@1+", "EngineSpeed : 1073741824|16@1+", "signal EngineSpeed starts at bit 1,073,741,824"),
    ("EngineSpeed : 0|16@1+", "EngineSpeed : 0|1073741824@1+", "signal EngineSpeed is 1,073,741,824 bits long"),
    ("Ambient m0 : 8|16@1+", "Ambient m0 : 8|40000@1+", "signal Ambient is 40,000 bits long"),
])
def test_a_signal_past_the_longest_allowed_message_is_refused(tmp_path, old, new, what):
    _refused(_dbc(tmp_path, SEED.replace(old, new)), what, "past the 32,768 bits", "BOPWATCH_DBC_MAX_MESSAGE_BYTES")


def test_long_messages_real_databases_declare_still_load(tmp_path, monkeypatch):
    """J1939 transport payloads (1,785 bytes) and ISO-TP ones (4,095) are within the default."""
    text = SEED.replace("LOG_FD: 64 LOGGER", "LOG_FD: 4095 LOGGER").replace(
        "WheelRR : 496|16@1+", "WheelRR : 32000|16@1+")
    db = load_database(_dbc(tmp_path, text))
    assert db.get_message_by_name("LOG_FD").length == 4095
    monkeypatch.setenv("BOPWATCH_DBC_MAX_MESSAGE_BYTES", "8")
    _refused(_dbc(tmp_path, SEED, "fd.dbc"), "message LOG_FD declares 64 bytes, more than the 8-byte limit")


def test_a_line_repeated_into_80000_messages_is_refused_by_the_message_count(tmp_path, monkeypatch):
    """The fuzzer's huge-count mutation: one BO_ line repeated 80,000 times (2 MB) cost cantools 5-6 s."""
    line = "BO_ 512 ECU_Status: 8 ECU\n"
    path = _dbc(tmp_path, SEED.replace(line, line * 80_000))
    _refused(path, "defines more than 16,384 messages", "BOPWATCH_DBC_MAX_MESSAGES")
    monkeypatch.setenv("BOPWATCH_DBC_MAX_MESSAGES", "3")
    _refused(_dbc(tmp_path, SEED, "four.dbc"), "defines more than 3 messages")
    monkeypatch.setenv("BOPWATCH_DBC_MAX_MESSAGES", "4")
    assert len(load_database(tmp_path / "four.dbc").messages) == 4


def test_a_database_over_the_size_limit_is_refused_before_it_is_read(tmp_path, monkeypatch):
    path = _dbc(tmp_path, SEED)
    monkeypatch.setenv("BOPWATCH_DBC_MAX_MB", "0.001")
    _refused(path, f"signal database is {path.stat().st_size:,} bytes, more than the 0.001 MB limit",
             "BOPWATCH_DBC_MAX_MB")
    for suffix in (".kcd", ".arxml", ".sym"):       # every database type, not only DBC
        other = _dbc(tmp_path, "x" * 2000, "car" + suffix)
        _refused(other, "more than the 0.001 MB limit")
    monkeypatch.setenv("BOPWATCH_DBC_MAX_MB", "nope")
    with pytest.raises(TelemetryError, match="BOPWATCH_DBC_MAX_MB='nope' is not a positive number"):
        load_database(path)


def test_through_a_profile_the_refusal_names_the_profile_and_its_key(tmp_path):
    shutil.copy(DATA / "gt3_test.toml", tmp_path / "car.toml")
    text = (DATA / "gt3_test.dbc").read_text()
    first = next(line for line in text.splitlines() if line.startswith("BO_ "))
    name, length = first.split()[2], first.split()[3]
    (tmp_path / "gt3_test.dbc").write_text(text.replace(first, first.replace(f"{name} {length}", f"{name} 99999999")))
    with pytest.raises(DbcError) as caught:
        load_profile(tmp_path / "car.toml")
    text = str(caught.value)
    assert "car.toml" in text and "gt3_test.dbc" in text and "99,999,999 bytes" in text, text


def test_the_scan_is_linear_on_60000_blank_lines_and_a_1_mb_line(tmp_path):
    """The bounds' patterns never span lines (``[ \\t]``, not ``\\s``) and never backtrack over a part twice, so
    blank lines and a 1 MB name without its colon cost one pass."""
    hostile = "".join((" SG_ ", "x" * (1 << 20), "\n SG_ a ", "b " * (1 << 19), "\nBO_ 1 ", "y" * (1 << 20), "\n"))
    text = SEED.replace("NS_ :\n", "NS_ :\n" + "\t\n" * 60_000).replace("BU_: LOGGER ECU\n", "BU_: LOGGER ECU\n" + hostile)
    path = _dbc(tmp_path, text)
    from telemetry.profiles import _check_bounds

    started = time.process_time()
    _check_bounds(path, ".dbc", "")
    assert time.process_time() - started < 0.5


def test_every_shipped_profile_and_the_seed_dbc_are_within_the_limits():
    for dbc in sorted((ROOT / "dbc").glob("*.dbc")) + [ROOT / "tests" / "fuzz" / "data" / "fuzz_car.dbc"]:
        assert load_database(dbc).messages
