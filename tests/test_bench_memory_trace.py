"""bench_memory --trace: the tracemalloc marks of an in-process check (imports, load_session, check_session)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.slow
def test_trace_reports_each_stage_with_the_session_held_after_loading(tmp_path):
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    from benchmarks._common import simulate, write_bulletin
    from benchmarks.bench_memory import format_marks, trace

    bulletin = write_bulletin(tmp_path)
    log = simulate(tmp_path, "blf", 0.05, bulletin=bulletin)
    marks = trace(log, bulletin)
    assert [m["stage"].split(" ")[0] for m in marks] == ["imports,", "load_session", "check_session"]
    load = marks[1]
    assert load["peak_mb"] >= load["held_mb"] - marks[0]["held_mb"] > 0.1   # the session is held after loading
    assert all(m["rss_high_mb"] > 50 for m in marks)
    text = format_marks(log, marks)
    assert log.name in text and len(text.splitlines()) == 4
