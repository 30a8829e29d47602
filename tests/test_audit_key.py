"""The audit chain's MAC: recomputing the chain without the key is detected; unkeyed and older stores still
verify, with an 'unkeyed' status; the key lives outside the store, 0600."""

from __future__ import annotations

import json
import os
import stat

import duckdb
import pytest
from _store_support import write_run

from compliance.cli import main
from compliance.errors import StoreError
from compliance.store import audit, audit_rows
from compliance.store import schema as st
from compliance.store.audit_key import AuditKey, load_key


@pytest.fixture
def key_file(tmp_path, monkeypatch):
    keys = tmp_path / "keys"
    keys.mkdir(mode=0o700)
    monkeypatch.setenv("BOPWATCH_AUDIT_KEY_FILE", str(keys / "audit.key"))
    monkeypatch.delenv("BOPWATCH_AUDIT_KEY", raising=False)
    return keys / "audit.key"


def _store(tmp_path, cars=3):
    store = st.open_store(tmp_path / "a.duckdb")
    for i in range(cars):
        write_run(store, "ev", "race", str(7 + i), f"log{i}")
    return store


def _forge(store: st.Store, car: str, *, mac: str = "keep", key: AuditKey | None = None, rebind: bool = True):
    """What someone with write access but no key does: edit the verdict, re-digest the run's rows, recompute every
    hash after it and the head file. ``mac``: keep the old MACs, ``strip`` them from the edited row on, ``all``
    (strip every MAC), or ``key`` (MAC with the forger's own ``key``)."""
    conn = duckdb.connect(str(store.db))
    run_id = conn.execute("SELECT run_id FROM runs WHERE car = ?", [car]).fetchone()[0]
    conn.execute("UPDATE runs SET verdict = 'compliant' WHERE run_id = ?", [run_id])
    seq, detail = conn.execute("SELECT seq, detail FROM audit_log WHERE action = 'run.write' AND subject = ?",
                               [run_id]).fetchone()
    d = json.loads(detail)
    if rebind:
        d["rows"] = audit_rows.bind_run(conn, run_id)
    conn.execute("UPDATE audit_log SET detail = ? WHERE seq = ?", [st.canonical_json(d), seq])
    prev = audit.GENESIS
    for row in conn.execute("SELECT seq, logged_at, actor, action, subject, detail, mac FROM audit_log "
                            "ORDER BY seq").fetchall():
        digest = audit.row_hash(prev, row[0], row[1].isoformat(timespec="microseconds"), *row[2:6])
        new_mac, new_id = row[6], conn.execute("SELECT key_id FROM audit_log WHERE seq = ?", [row[0]]).fetchone()[0]
        if mac == "all" or (mac == "strip" and row[0] >= seq):
            new_mac = new_id = None
        elif mac == "key" and row[0] >= seq:
            new_mac, new_id = key.mac(digest), key.key_id
        conn.execute("UPDATE audit_log SET prev_hash = ?, hash = ?, mac = ?, key_id = ? WHERE seq = ?",
                     [prev, digest, new_mac, new_id, row[0]])
        prev = digest
    last = conn.execute("SELECT seq, hash, mac, key_id FROM audit_log ORDER BY seq DESC LIMIT 1").fetchone()
    conn.close()
    store.layout.audit_head.write_text(json.dumps({"seq": last[0], "hash": last[1], "mac": last[2],
                                                   "key_id": last[3]}))
    return run_id


def test_keyed_store_anchors_every_row(tmp_path, key_file):
    store = _store(tmp_path)
    report = audit.verify(store, originals=False)
    assert report.ok and report.mac["status"] == "keyed" and report.mac["anchored_seq"] == report.rows
    assert report.mac["key_id"] == load_key(create=False).key_id
    head = json.loads(store.layout.audit_head.read_text())
    assert head["mac"] and head["key_id"] == report.mac["key_id"]


def test_plain_sha256_forgery_is_caught_by_the_mac(tmp_path, key_file):
    store = _store(tmp_path)
    before = audit.verify(store, originals=False)
    _forge(store, "8")
    report = audit.verify(store, originals=False)
    assert report.rows == before.rows
    assert not report.ok and report.mac["status"] == "broken"
    assert any("MAC does not match the key" in p and "forged" in p for p in report.problems), report.problems
    # without the MAC, the forgery would be perfect: no digest, chain or head problem
    assert not any("changed" in p or "hash" in p for p in report.problems)
    assert main(["audit", "verify", "--no-originals", "--db", str(store.db)]) == 1


def test_stripping_the_macs_after_the_edit_is_caught(tmp_path, key_file):
    store = _store(tmp_path)
    _forge(store, "8", mac="strip")
    problems = audit.verify(store, originals=False).problems
    assert any("no MAC, though row 1 before them has one" in p for p in problems), problems


def test_macs_made_with_another_key_are_not_accepted(tmp_path, key_file):
    store = _store(tmp_path)
    _forge(store, "8", mac="key", key=AuditKey(b"f" * 64, "forger"))
    problems = audit.verify(store, originals=False).problems
    assert any("MAC'd with key id" in p and "not the key here" in p for p in problems), problems


def test_stripping_every_mac_leaves_an_unkeyed_chain_that_require_key_and_a_pin_refuse(tmp_path, key_file):
    store = _store(tmp_path)
    pin = audit.head(store)[0].pin
    _forge(store, "8", mac="all")
    report = audit.verify(store, originals=False)
    assert report.ok and report.mac["status"] == "unkeyed"            # indistinguishable from a store never keyed
    assert not audit.verify(store, originals=False, require_key=True).ok
    assert main(["audit", "verify", "--no-originals", "--require-key", "--db", str(store.db)]) == 1
    assert main(["audit", "verify", "--no-originals", "--pin", pin, "--db", str(store.db)]) == 1


def test_without_the_key_macs_are_reported_unchecked(tmp_path, key_file, monkeypatch):
    store = _store(tmp_path)
    monkeypatch.setenv("BOPWATCH_AUDIT_KEY_FILE", str(tmp_path / "keys" / "absent.key"))
    report = audit.verify(store, originals=False)
    assert report.ok and report.mac["status"] == "not checked (no key here)"
    assert not (tmp_path / "keys" / "absent.key").exists()             # verifying never creates a key
    assert not audit.verify(store, originals=False, require_key=True).ok


def test_a_store_written_without_a_key_verifies_unkeyed(tmp_path, key_file, monkeypatch, capsys):
    monkeypatch.setenv("BOPWATCH_AUDIT_KEY_FILE", "none")
    store = _store(tmp_path)
    monkeypatch.setenv("BOPWATCH_AUDIT_KEY_FILE", str(key_file))
    load_key(create=True)
    report = audit.verify(store, originals=False)
    assert report.ok and report.mac["status"] == "unkeyed" and report.mac["keyed_rows"] == 0
    assert main(["audit", "verify", "--no-originals", "--db", str(store.db)]) == 0
    assert "unkeyed" in capsys.readouterr().out
    write_run(store, "ev", "race", "20", "later")                      # a keyed write anchors all rows before it
    report = audit.verify(store, originals=False)
    assert report.ok and report.mac["status"] == "keyed" and report.mac["anchored_seq"] == report.rows


def _make_legacy(store: st.Store) -> None:
    """Turn the store into one written before 0004: no row digests, no Parquet binding, no MACs."""
    conn = duckdb.connect(str(store.db))
    prev = audit.GENESIS
    for row in conn.execute("SELECT seq, logged_at, actor, action, subject, detail FROM audit_log "
                            "ORDER BY seq").fetchall():
        d = json.loads(row[5])
        d.pop("rows", None)
        d.pop("channels", None)
        text = st.canonical_json(d)
        digest = audit.row_hash(prev, row[0], row[1].isoformat(timespec="microseconds"), *row[2:5], text)
        conn.execute("UPDATE audit_log SET detail = ?, prev_hash = ?, hash = ?, mac = NULL, key_id = NULL "
                     "WHERE seq = ?", [text, prev, digest, row[0]])
        prev = digest
    last = conn.execute("SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1").fetchone()
    conn.close()
    store.layout.audit_head.write_text(json.dumps({"seq": last[0], "hash": last[1]}))


def test_an_older_store_verifies_as_before_and_says_what_is_unbound(tmp_path, key_file, capsys):
    store = _store(tmp_path)
    _make_legacy(store)
    report = audit.verify(store, originals=False)
    assert report.ok and report.mac["status"] == "unkeyed"
    assert report.unbound == {"log.store": 3, "run.write": 3}
    assert any("written before row digests" in n for n in report.notes)
    assert main(["audit", "verify", "--no-originals", "--db", str(store.db)]) == 0
    assert "NOTE:" in capsys.readouterr().out
    conn = duckdb.connect(str(store.db))           # the checks that existed before still hold for such rows
    conn.execute("UPDATE runs SET verdict_json = replace(verdict_json, 'infringement', 'compliant') WHERE car = '8'")
    conn.close()
    assert any("verdict_json differs" in p for p in audit.verify(store, originals=False).problems)


def test_key_file_is_created_0600_and_reused(tmp_path, key_file):
    assert load_key(create=False) is None
    key = load_key(create=True)
    assert key_file.exists() and stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert load_key(create=False).key_id == key.key_id and key.source == str(key_file)


def test_key_readable_by_others_is_refused(tmp_path, key_file):
    load_key(create=True)
    os.chmod(key_file, 0o644)
    with pytest.raises(StoreError, match="readable by others"):
        load_key(create=False)
    with pytest.raises(StoreError, match="chmod 600"):
        _store(tmp_path, cars=1)


def test_key_inside_the_store_folder_is_refused(tmp_path, monkeypatch):
    monkeypatch.setenv("BOPWATCH_AUDIT_KEY_FILE", str(tmp_path / "a_store" / "audit.key"))
    with pytest.raises(StoreError, match="inside the store's folder"):
        _store(tmp_path, cars=1)


def test_key_from_the_environment(tmp_path, monkeypatch):
    monkeypatch.delenv("BOPWATCH_AUDIT_KEY_FILE", raising=False)
    monkeypatch.setenv("BOPWATCH_AUDIT_KEY", "k" * 40)
    store = _store(tmp_path, cars=1)
    report = audit.verify(store, originals=False)
    assert report.mac["status"] == "keyed" and report.mac["key_source"] == "BOPWATCH_AUDIT_KEY"
    monkeypatch.setenv("BOPWATCH_AUDIT_KEY", "short")
    with pytest.raises(StoreError, match="at least 32"):
        load_key(create=False)
