"""``bopwatch inspect LOG [--json]`` (SPEC §4): the JSON fields, exit 0 when read (findings or not), exit 2 with
one line on stderr naming the file and the fix when unreadable."""

from __future__ import annotations

import hashlib
import json

import can

from compliance.cli import main


def _log(tmp_path):
    path = tmp_path / "car7.log"
    path.write_text("(1700000000.000000) can0 123#0102\n(1700000001.500000) can1 18FEF100#01\n"
                    "garbage\n(1700000001.000000) can0 123#03\n")
    return path


def test_inspect_json_has_the_spec_fields(tmp_path, capsys):
    path = _log(tmp_path)
    assert main(["inspect", str(path), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert {"path", "sha256", "format", "frames", "buses", "ids", "start", "duration_s", "findings"} <= set(out)
    assert out["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
    assert out["format"] == "candump" and out["frames"] == 3 and out["buses"] == [0, 1] and out["ids"] == 2
    assert out["start"] == "2023-11-14T22:13:20Z" and out["duration_s"] == 1.5
    kinds = {f["kind"]: f for f in out["findings"]}
    assert kinds["skipped_line"]["line"] == 3 and "time_backwards" in kinds


def test_inspect_text_output(tmp_path, capsys):
    assert main(["inspect", str(_log(tmp_path))]) == 0
    out = capsys.readouterr().out
    assert "candump" in out and "skipped_line" in out and "frames    3" in out


def test_inspect_blf_written_by_python_can(tmp_path, capsys):
    path = tmp_path / "x.blf"
    with can.BLFWriter(path) as w:
        for i in range(10):
            w.on_message_received(can.Message(timestamp=1.7e9 + i, arbitration_id=i, data=b"\x01", channel=0))
    assert main(["inspect", str(path), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["format"] == "blf" and out["frames"] == 10 and out["ids"] == 10


def test_unreadable_file_exits_2_with_one_line(tmp_path, capsys):
    path = tmp_path / "noise.blf"
    path.write_bytes(b"\x13" * 500)
    assert main(["inspect", str(path), "--json"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and str(path) in err and "BLF" in err


def test_missing_and_unknown_files_exit_2(tmp_path, capsys):
    assert main(["inspect", str(tmp_path / "absent.asc")]) == 2
    assert main(["inspect", str(tmp_path / "file.xyz")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 2 and "absent.asc" in err[0] and "file.xyz" in err[1]
