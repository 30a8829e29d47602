"""Several logs ingested in parallel with no bulletin in force are stored (exit 4), each once: a log the planning
pass already stored is the same recording, never an overlap with itself (a regression: every car was refused as
'car7.blf overlaps car7.blf')."""
import json
import shutil
from pathlib import Path

from compliance.cli import main

SAMPLES = Path(__file__).resolve().parent.parent / "sample_logs" / "race"


def test_parallel_store_only_ingest_stores_each_log_once(tmp_path, capsys):
    logs = []
    for name in ("car7.blf", "car32.mf4"):
        for suffix in ("", ".meta.json"):
            shutil.copy(SAMPLES / (name + suffix), tmp_path / (name + suffix))
        logs.append(str(tmp_path / name))
    code = main(["ingest", *logs, "--workers", "2", "--db", str(tmp_path / "s.duckdb")])
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")]
    assert code == 4, lines
    assert sorted((line["status"], line["car"]) for line in lines) == [("stored", "32"), ("stored", "7")]
