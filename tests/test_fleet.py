"""compliance.ingest.fleet: many cars judged on a process pool or a Dask cluster give exactly the serial results."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pyarrow.parquet as pq
import pytest

from compliance.ingest.fleet import CheckJob, default_workers, ingest_parallel, run_jobs
from compliance.ingest.pipeline import ingest_logs
from compliance.store.schema import open_store

ROOT = Path(__file__).resolve().parent.parent
PROFILE = ROOT / "dbc" / "bmw_m4_gt3.toml"

_BULLETIN = """id = "FLEET-TEST-R1"
series = "test"
event = "test"
effective_from = "2026-01-01T00:00:00Z"
reference_ambient_pressure_bar = 1.010

[models.bmw_m4_gt3]
name = "BMW M4 GT3"

[models.bmw_m4_gt3.boost]
rpm = [4000, 5000, 6000, 7000]
max_bar = [2.64, 2.60, 2.50, 2.40]
tolerance = 0.02
min_duration_s = 0.1
ambient_correction = true

[models.bmw_m4_gt3.fuel_flow]
rpm = [4000, 7000]
max_kg_h = [90.0, 110.0]
tolerance = 0.5
min_duration_s = 0.5
"""


@pytest.fixture(scope="module")
def field(tmp_path_factory) -> tuple[list[Path], Path]:
    """Three simulated cars (20 s of BLF each, distinct seeds) with sidecars naming event, session and car."""
    from telemetry.simulate.run import SimConfig, simulate_log

    folder = tmp_path_factory.mktemp("field")
    bulletin = folder / "bulletin.toml"
    bulletin.write_text(_BULLETIN, encoding="utf-8")
    logs = []
    for car in (7, 11, 23):
        out = folder / f"car{car}.blf"
        simulate_log(SimConfig(model="bmw_m4_gt3", out=out, fmt="blf", duration_s=20.0, seed=car, bulletin=bulletin))
        Path(f"{out}.meta.json").write_text(json.dumps({"event": "spa", "session": "race", "car": str(car)}))
        logs.append(out)
    return logs, bulletin


def _jobs(logs: list[Path], bulletin: Path, out: Path) -> list[CheckJob]:
    return [CheckJob((str(p),), str(PROFILE), (str(bulletin),), event="spa", session="race", car=p.stem[3:],
                     out=str(out)) for p in logs]


def _tables(out: Path) -> dict[str, object]:
    return {p.relative_to(out).as_posix(): pq.read_table(p) for p in sorted(out.rglob("*.parquet"))}


def _same_tables(a: dict, b: dict) -> None:
    assert a.keys() == b.keys()
    for name in a:
        assert a[name].equals(b[name]), name


def test_pool_gives_the_serial_verdicts_and_parquet(field, tmp_path):
    logs, bulletin = field
    serial = run_jobs(_jobs(logs, bulletin, tmp_path / "serial"), workers=1)
    pooled = run_jobs(_jobs(logs, bulletin, tmp_path / "pool"), workers=2)
    assert [r.error for r in serial] == [None] * 3
    assert [r.verdict for r in pooled] == [r.verdict for r in serial]
    assert len({r.worker for r in pooled}) >= 1 and all(r.worker != serial[0].worker for r in pooled)
    _same_tables(_tables(tmp_path / "serial"), _tables(tmp_path / "pool"))


def test_dask_cluster_gives_the_serial_verdicts_and_parquet(field, tmp_path):
    from distributed import LocalCluster

    logs, bulletin = field
    serial = run_jobs(_jobs(logs, bulletin, tmp_path / "serial"), workers=1)
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None) as cluster:
        on_dask = run_jobs(_jobs(logs, bulletin, tmp_path / "dask"), scheduler=cluster.scheduler_address)
    assert [r.verdict for r in on_dask] == [r.verdict for r in serial]
    _same_tables(_tables(tmp_path / "serial"), _tables(tmp_path / "dask"))


def test_results_are_hive_partitioned_so_a_season_is_one_duckdb_query(field, tmp_path):
    logs, bulletin = field
    results = run_jobs(_jobs(logs, bulletin, tmp_path), workers=1)
    rows = duckdb.sql(f"SELECT car, count(*) AS rules, min(session_verdict) AS verdict FROM read_parquet("
                      f"'{tmp_path}/verdicts/**/*.parquet', hive_partitioning = true, "
                      "hive_types_autocast = false) "
                      "WHERE event = 'spa' GROUP BY car ORDER BY car").fetchall()
    assert rows == [(str(r.job.car), len(r.verdict["rules"]), r.verdict["verdict"])
                    for r in sorted(results, key=lambda r: str(r.job.car))]
    samples = duckdb.sql(f"SELECT count(*) FROM read_parquet('{tmp_path}/channels/**/*.parquet', "
                         "hive_partitioning = true) WHERE channel = 'engine_speed' AND car = 7").fetchall()[0][0]
    assert samples > 100


def test_a_failing_job_reports_its_error_and_the_others_complete(field, tmp_path):
    logs, bulletin = field
    jobs = _jobs(logs[:1], bulletin, tmp_path) + [CheckJob((str(tmp_path / "absent.blf"),), str(PROFILE),
                                                            (str(bulletin),), car="99")]
    done: list[tuple[int, int | None]] = []
    results = run_jobs(jobs, workers=2, progress=lambda n, total, what: done.append((n, total)))
    assert results[0].ok and results[0].verdict["verdict"] in ("compliant", "infringement", "incomplete")
    assert not results[1].ok and "absent.blf" in results[1].error
    assert done == [(1, 2), (2, 2)]


def _store_state(db: Path) -> list[tuple]:
    store = open_store(db, create=False)
    with store.reading() as conn:
        rows = conn.execute("SELECT car, verdict, verdict_json, bulletin_id FROM runs ORDER BY car").fetchall()
    runs = []
    for car, verdict, text, bulletin in rows:
        obj = json.loads(text)
        for i in obj["inputs"]:  # the stored original's path names the store; its file name is the content hash
            i["path"] = Path(i["path"]).name
        runs.append((car, verdict, obj, bulletin))
    parquet = {p.relative_to(store.layout.channels).as_posix(): pq.read_table(p)
               for p in sorted(store.layout.channels.rglob("*.parquet"))}
    return runs, parquet


def test_parallel_ingest_writes_the_store_a_serial_ingest_writes(field, tmp_path):
    logs, bulletin = field
    serial = ingest_logs(open_store(tmp_path / "serial.duckdb"), logs, profile=str(PROFILE), bulletin=str(bulletin))
    fleet = ingest_parallel(open_store(tmp_path / "fleet.duckdb"), logs, workers=2, profile=str(PROFILE),
                            bulletin=str(bulletin))
    assert [(o.status, o.car, o.verdict, o.bulletin, o.sha256) for o in fleet] == \
        [(o.status, o.car, o.verdict, o.bulletin, o.sha256) for o in serial]
    runs_a, parquet_a = _store_state(tmp_path / "serial.duckdb")
    runs_b, parquet_b = _store_state(tmp_path / "fleet.duckdb")
    assert runs_a == runs_b and len(runs_a) == 3
    _same_tables(parquet_a, parquet_b)
    again = ingest_parallel(open_store(tmp_path / "fleet.duckdb"), logs, workers=2, profile=str(PROFILE),
                            bulletin=str(bulletin))
    assert {o.status for o in again} == {"duplicate"}


def test_ingest_on_a_dask_cluster_writes_the_same_runs(field, tmp_path):
    from distributed import LocalCluster

    logs, bulletin = field
    ingest_logs(open_store(tmp_path / "serial.duckdb"), logs, profile=str(PROFILE), bulletin=str(bulletin))
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None) as cluster:
        outcomes = ingest_parallel(open_store(tmp_path / "dask.duckdb"), logs, scheduler=cluster.scheduler_address,
                                   profile=str(PROFILE), bulletin=str(bulletin))
    assert {o.status for o in outcomes} == {"checked"}
    assert _store_state(tmp_path / "serial.duckdb")[0] == _store_state(tmp_path / "dask.duckdb")[0]


def test_workers_default_to_every_core_and_the_environment_overrides(monkeypatch):
    import os

    from compliance.errors import ComplianceError

    monkeypatch.delenv("BOPWATCH_WORKERS", raising=False)
    assert default_workers() == len(os.sched_getaffinity(0))
    monkeypatch.setenv("BOPWATCH_WORKERS", "3")
    assert default_workers() == 3
    monkeypatch.setenv("BOPWATCH_WORKERS", "many")
    with pytest.raises(ComplianceError, match="BOPWATCH_WORKERS"):
        default_workers()


def test_ingest_cli_takes_workers_and_prints_one_line_per_log(field, tmp_path, capsys):
    from compliance.cli import main

    logs, bulletin = field
    code = main(["ingest", *map(str, logs), "--profile", str(PROFILE), "--bulletin", str(bulletin),
                 "--db", str(tmp_path / "cli.duckdb"), "--workers", "2"])
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [line["car"] for line in lines] == ["7", "11", "23"]
    assert {line["status"] for line in lines} == {"checked"}
    assert code == {"compliant": 0, "infringement": 1, "incomplete": 3}[
        max((line["verdict"] for line in lines), key=["compliant", "incomplete", "infringement"].index)]
