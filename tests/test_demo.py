"""``bopwatch demo --no-dashboard``: an event folder becomes a fresh store with a report per session; running it
again rebuilds the same store; a store holding other events is never replaced."""

from __future__ import annotations

import pytest
from _store_support import BULLETIN_R1, PROFILE, write_log

from compliance.cli import main
from compliance.store import audit
from compliance.store import schema as st

EVENT_TOML = """id = "demo-test"
name = "Demo test event"
track = "Testring"
[profiles]
store_test_turbo = "{profile}"
[[sessions]]
id = "race"
type = "race"
start = "2025-06-28T16:30:00Z"
bulletin = "{bulletin}"
"""


@pytest.fixture()
def event_dir(tmp_path):
    folder = tmp_path / "event"
    (folder / "race").mkdir(parents=True)
    (folder / "event.toml").write_text(EVENT_TOML.format(profile=PROFILE, bulletin=BULLETIN_R1))
    (folder / "entry_list.csv").write_text("car,team,model,class,drivers\n7,Seven,store_test_turbo,Pro,A;B\n"
                                           "8,Eight,store_test_turbo,Am,C\n")
    write_log(folder / "race" / "car7.log", event="demo-test", car="7", exceedances=3, seconds=6)
    write_log(folder / "race" / "car8.log", event="demo-test", car="8", seconds=6, seed=1)
    return folder


def _runs(db):
    with st.open_store(db).reading() as conn:
        return sorted(conn.execute("SELECT car, verdict FROM runs").fetchall())


def test_demo_builds_a_fresh_store_with_reports(event_dir, tmp_path):
    db = tmp_path / "demo.duckdb"
    assert main(["demo", "--samples", str(event_dir), "--db", str(db), "--no-dashboard"]) == 0
    assert _runs(db) == [("7", "infringement"), ("8", "compliant")]
    assert (tmp_path / "demo_store" / "reports" / "demo-test_race.html").stat().st_size > 10_000
    assert main(["demo", "--samples", str(event_dir), "--db", str(db), "--no-dashboard"]) == 0
    assert _runs(db) == [("7", "infringement"), ("8", "compliant")]      # rebuilt, not appended to
    store = st.open_store(db)
    assert audit.verify(store).ok
    with store.reading() as conn:
        assert conn.execute("SELECT team FROM entries WHERE car = '7'").fetchone() == ("Seven",)


def test_demo_never_replaces_a_store_with_other_events(event_dir, tmp_path, capsys):
    db = tmp_path / "real.duckdb"
    log = write_log(tmp_path / "x.log", event="real-event", car="1", seconds=4)
    assert main(["ingest", str(log), "--profile", str(PROFILE), "--bulletin", str(BULLETIN_R1),
                 "--db", str(db)]) == 0
    assert main(["demo", "--samples", str(event_dir), "--db", str(db), "--no-dashboard"]) == 2
    assert "holds other events (real-event)" in capsys.readouterr().err
    assert _runs(db) == [("1", "compliant")]
