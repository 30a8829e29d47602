"""``bopwatch report --format csv``: a text cell that a spreadsheet would evaluate (``=``, ``+``, ``-``, ``@``, tab,
carriage return first) is written with a leading apostrophe; numbers and other text are unchanged."""

from __future__ import annotations

import csv
import io

import pytest
from _store_support import BULLETIN_R1, PROFILE, write_log

from compliance.ingest.pipeline import ingest_logs
from compliance.reports.steward import _csv_cell, build_report, to_csv
from compliance.store import schema as st


@pytest.mark.parametrize(("value", "cell"), [
    ("=HYPERLINK(\"http://x\",\"car\")", "'=HYPERLINK(\"http://x\",\"car\")"),
    ("+cmd|' /C calc'!A0", "'+cmd|' /C calc'!A0"),
    ("-2+3", "'-2+3"),
    ("@SUM(A1:A9)", "'@SUM(A1:A9)"),
    ("\t=1", "'\t=1"),
    ("\r=1", "'\r=1"),
    ("Team A", "Team A"),
    ("7", "7"),
    ("", ""),
    (3, 3),
    (-1, -1),
    (None, None),
])
def test_csv_cell(value, cell):
    assert _csv_cell(value) == cell


def test_a_team_name_that_is_a_formula_is_escaped_in_the_export(tmp_path):
    store = st.open_store(tmp_path / "r.duckdb")
    (tmp_path / "entries.csv").write_text('car,team,model,class,drivers\n7,"=HYPERLINK(""http://evil"",""x"")",'
                                          "store_test_turbo,Pro,X\n8,@SUM(1),store_test_turbo,Pro,Y\n")
    ingest_logs(store, [write_log(tmp_path / "car7.log", seconds=5)], profile=str(PROFILE), bulletin=BULLETIN_R1,
                entry_list=tmp_path / "entries.csv")
    rows = list(csv.DictReader(io.StringIO(to_csv(build_report(store, "ev", "race")))))
    teams = {r["car"]: r["team"] for r in rows}
    assert teams == {"7": "'=HYPERLINK(\"http://evil\",\"x\")", "8": "'@SUM(1)"}
    assert all(not v.startswith(("=", "+", "-", "@")) for r in rows for v in r.values())
