"""``audit verify`` catches an edited row, a deleted row (middle or end) and a changed verdict; exit 0 / 1."""

from __future__ import annotations

import duckdb
from _store_support import write_run

from compliance.cli import main
from compliance.store import audit
from compliance.store import schema as st


def _store(tmp_path):
    store = st.open_store(tmp_path / "a.duckdb")
    for i in range(3):
        write_run(store, "ev", "race", str(7 + i), f"log{i}")
    return store


def _sql(store, sql):
    conn = duckdb.connect(str(store.db))
    conn.execute(sql)
    conn.close()


def test_intact_store_verifies(tmp_path):
    store = _store(tmp_path)
    report = audit.verify(store, originals=False)
    # event + session + 3 entries created, 3 logs stored, 3 runs written
    assert report.ok and report.rows == 11 and report.head_seq == 11
    assert main(["audit", "verify", "--no-originals", "--db", str(store.db)]) == 0


def test_edited_audit_row_is_caught(tmp_path, capsys):
    store = _store(tmp_path)
    _sql(store, "UPDATE audit_log SET actor = 'someone-else' WHERE seq = 3")
    report = audit.verify(store, originals=False)
    assert any("audit row 3" in p and "edited" in p for p in report.problems)
    assert main(["audit", "verify", "--no-originals", "--db", str(store.db)]) == 1
    assert "BROKEN" in capsys.readouterr().out


def test_deleted_middle_row_is_caught(tmp_path):
    store = _store(tmp_path)
    _sql(store, "DELETE FROM audit_log WHERE seq = (SELECT min(seq) FROM audit_log WHERE action = 'run.write')")
    problems = audit.verify(store, originals=False).problems
    assert any("are missing (deleted)" in p for p in problems)
    assert any("runs without an audit row" in p for p in problems)


def test_deleted_last_row_is_caught(tmp_path):
    store = _store(tmp_path)
    _sql(store, "DELETE FROM audit_log WHERE seq = (SELECT max(seq) FROM audit_log)")
    problems = audit.verify(store, originals=False).problems
    assert any("rows deleted at the end" in p for p in problems)


def test_edited_verdict_is_caught(tmp_path):
    store = _store(tmp_path)
    _sql(store, "UPDATE runs SET verdict_json = replace(verdict_json, '\"infringement\"', '\"compliant\"') "
                "WHERE car = '8'")
    assert any("verdict_json differs" in p for p in audit.verify(store, originals=False).problems)


def test_deleted_exceedance_is_caught(tmp_path):
    store = _store(tmp_path)
    _sql(store, "DELETE FROM exceedances WHERE idx = 1 AND run_id = (SELECT min(run_id) FROM runs)")
    assert any("1 exceedances rows, the audit row recorded 2" in p
               for p in audit.verify(store, originals=False).problems)


def test_deleted_run_is_caught(tmp_path):
    store = _store(tmp_path)
    _sql(store, "DELETE FROM runs WHERE car = '9'")
    problems = audit.verify(store, originals=False).problems
    assert any("in the audit log but not in runs" in p for p in problems)


def test_metadata_changes_are_audited_once(tmp_path):
    store = st.open_store(tmp_path / "a.duckdb")
    with store.writing() as conn:
        st.upsert_entry(conn, "ev", "7", team="A", actor="clerk")
        st.upsert_entry(conn, "ev", "7", team="B", actor="clerk")        # known values are kept: no change
        st.upsert_entry(conn, "ev", "7", model="bmw_m4_gt3", actor="clerk")
    with store.reading() as conn:
        rows = conn.execute("SELECT actor, action, subject FROM audit_log ORDER BY seq").fetchall()
    assert rows == [("clerk", "metadata.entries", "ev/7"), ("clerk", "metadata.entries", "ev/7")]
