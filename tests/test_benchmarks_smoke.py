"""The benchmark code paths on tiny simulated logs (no timing assertions: only that every row is produced, the
references ran, the all-at-once verdict matched and the fleet agreed with the serial ingest)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _benchmarks():
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    import benchmarks._common as common
    import benchmarks.bench_fleet as fleet
    return common, fleet


@pytest.mark.slow
@pytest.mark.timeout(1200)
def test_python_m_benchmarks_prints_every_row_with_its_reference(tmp_path):
    argv = [sys.executable, "-m", "benchmarks", "--minutes", "0.1", "--formats", "blf",
            "--cars", "2", "--fleet-minutes", "0.1", "--workers", "2", "--dir", str(tmp_path), "--json",
            "--only", "check", "memory", "fleet", "v2", "analysis", "--analysis-cars", "2", "--analysis-minutes",
            "0.1", "--v2-rounds", "1"]
    done = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, timeout=1100)
    assert done.returncode == 0, done.stderr[-3000:]
    rows = {r["case"]: r for r in map(json.loads, done.stdout.splitlines())}
    assert set(rows) == {"check blf 0.1 min", "memory blf 0.1 min", "fleet ingest 2 cars x 0.1 min",
                         "check blf 0.1 min, gated + window (SPEC §5)", "bop analyse 2 cars x 0.1 min"}
    assert rows["check blf 0.1 min, gated + window (SPEC §5)"]["reference_seconds"] is not None
    for case in ("check blf 0.1 min",):
        assert rows[case]["frames"] > 10_000 and rows[case]["reference_seconds"] is not None, rows[case]
        assert rows[case]["peak_rss_mb"] > 0 and rows[case]["cpu_ratio"] is not None
    assert "same verdict JSON yes" in rows["memory blf 0.1 min"]["note"]
    assert "serial verdicts identical: yes" in rows["fleet ingest 2 cars x 0.1 min"]["note"]
    assert not list(ROOT.glob("*.blf")), "simulated logs must stay in the temp folder"


def test_table_has_one_line_per_row_and_the_ratio_of_reference_to_ours():
    common, _ = _benchmarks()
    rows = [common.Row("check blf 60 min", 14_000_000, 20.0, 700.0, "python-can", 600.0, ">= 20x", "",
                       18.0, 590.0),
            common.Row("memory blf 60 min", 14_000_000, 20.0, 900.0, target="<= 1.5 GB")]
    assert rows[0].ratio == 30.0 and rows[0].frames_per_s == 700_000.0 and rows[1].ratio is None
    lines = common.format_table(rows).splitlines()
    assert len(lines) == 4 and "30.0x" in lines[2] and "32.8x" in lines[2] and "14,000,000" in lines[3]


def test_race_extrapolation_is_linear_in_car_hours_with_a_one_car_floor():
    _, fleet = _benchmarks()
    ex = fleet.extrapolate(600.0, 2.0, race_cars=70, race_hours=24.0, cluster_cores=1000)
    assert ex.core_s_per_car_hour == 300.0 and ex.race_car_hours == 1680.0
    assert ex.hours_16_cores == pytest.approx(1680 * 300 / 16 / 3600)
    assert ex.hours_cluster == pytest.approx(24 * 300 / 3600)  # one 24-hour car on one core


def test_bopwatch_bench_is_a_subcommand_with_the_benchmark_options():
    from compliance.cli import build_parser

    args = build_parser().parse_args(["bench", "--minutes", "0.5", "--only", "check", "--formats", "blf"])
    assert args.minutes == 0.5 and args.only == ["check"] and args.formats == ["blf"] and callable(args.func)
