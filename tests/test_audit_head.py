"""``audit head`` prints what a signed paper copy pins; every report carries it; ``verify --pin`` checks it; the
dashboard's accounts file is bound into the chain."""

from __future__ import annotations

import json

import duckdb
import pytest
from _store_support import write_run

from compliance.access import accounts_audit
from compliance.cli import main
from compliance.reports.render import render
from compliance.reports.steward import build_report
from compliance.reports.steward_pdf import to_pdf
from compliance.store import audit
from compliance.store import schema as st


@pytest.fixture(autouse=True)
def _audit_key(tmp_path, monkeypatch):
    keys = tmp_path / "keys"
    keys.mkdir(mode=0o700)
    monkeypatch.setenv("BOPWATCH_AUDIT_KEY_FILE", str(keys / "audit.key"))


@pytest.fixture
def store(tmp_path):
    store = st.open_store(tmp_path / "a.duckdb")
    for i in range(2):
        write_run(store, "ev", "race", str(7 + i), f"log{i}")
    return store


def test_head_prints_seq_hash_and_mac_status(store, capsys):
    assert main(["audit", "head", "--json", "--db", str(store.db)]) == 0
    h = json.loads(capsys.readouterr().out)
    with store.reading() as conn:
        seq, digest, mac = conn.execute("SELECT seq, hash, mac FROM audit_log ORDER BY seq DESC LIMIT 1").fetchone()
    assert (h["seq"], h["hash"], h["mac"], h["mac_status"]) == (seq, digest, mac, "checks")
    assert h["pin"] == f"{seq}:{digest}"
    assert main(["audit", "head", "--db", str(store.db)]) == 0
    text = capsys.readouterr().out
    assert digest in text and "checks with the key here" in text and f"--pin {seq}:{digest}" in text


def test_head_says_when_its_mac_does_not_check(store, capsys):
    conn = duckdb.connect(str(store.db))
    conn.execute("UPDATE audit_log SET mac = repeat('0', 64) WHERE seq = (SELECT max(seq) FROM audit_log)")
    conn.close()
    assert main(["audit", "head", "--db", str(store.db)]) == 1
    assert "DOES NOT CHECK" in capsys.readouterr().out


def test_pin_holds_while_the_store_grows_and_fails_after_a_rewrite(store):
    pin = audit.parse_pin(audit.head(store)[0].pin)
    write_run(store, "ev", "race", "9", "later")
    assert audit.verify(store, originals=False, pins=[pin]).ok
    conn = duckdb.connect(str(store.db))
    conn.execute("UPDATE audit_log SET hash = repeat('a', 64) WHERE seq = ?", [pin[0]])
    conn.close()
    assert any(p.startswith(f"pinned head {pin[0]}:") for p in audit.verify(store, originals=False, pins=[pin]).problems)


def test_pin_from_a_pdf_footer_is_a_16_hex_prefix(store):
    h, _ = audit.head(store)
    assert audit.verify(store, originals=False, pins=[audit.parse_pin(f"{h.seq}:{h.hash[:16]}")]).ok
    assert not audit.verify(store, originals=False, pins=[audit.parse_pin(f"{h.seq}:{'0' * 16}")]).ok


def test_bad_pin_is_a_usage_error(store):
    with pytest.raises(SystemExit) as exc:
        main(["audit", "verify", "--pin", "12:abc", "--db", str(store.db)])
    assert exc.value.code == 2


def test_every_report_format_prints_the_audit_head(store):
    h, _ = audit.head(store)
    report = build_report(store, "ev", "race", verify_originals=False)
    assert report.audit_head["hash"] == h.hash
    assert f"audit head {h.seq}:{h.hash}" in render(report, "html").decode()
    assert f"--pin {h.seq}:{h.hash}" in render(report, "html").decode()
    assert json.loads(render(report, "json"))["report"]["audit_head"]["pin"] == h.pin
    pdf = to_pdf(report, None, compress=False)
    assert h.hash.encode() in pdf and f"audit {h.seq}:{h.hash[:16]}".encode() in pdf      # first page, footer


def test_accounts_file_is_bound_and_a_later_edit_is_reported(store, tmp_path):
    accounts = tmp_path / "accounts.toml"
    accounts.write_text('[accounts.chief]\nrole = "scrutineer"\npassword_hash = "$2b$12$' + "x" * 53 + '"\n'
                        '[accounts.ardennes]\nrole = "team"\nteam = "Ardennes"\npassword_hash = "$2b$12$'
                        + "y" * 53 + '"\n')
    seq = accounts_audit.bind_accounts(store, accounts, actor="dash")
    assert seq is not None and accounts_audit.bind_accounts(store, accounts) is None         # unchanged: no new row
    with store.reading() as conn:
        detail = json.loads(conn.execute("SELECT detail FROM audit_log WHERE seq = ?", [seq]).fetchone()[0])
    assert detail["roles"] == {"chief": "scrutineer", "ardennes": "team:Ardennes"}
    assert audit.verify(store, originals=False).ok
    accounts.write_text(accounts.read_text().replace('team = "Ardennes"', 'team = "Rival"'))
    problems = audit.verify(store, originals=False).problems
    assert any(p.startswith(f"accounts file {accounts}: changed since audit row {seq}") for p in problems)
    assert accounts_audit.bind_accounts(store, accounts) is not None                         # the restart records it
    assert audit.verify(store, originals=False).ok


def _accounts_file(tmp_path):
    path = tmp_path / "accounts.toml"
    path.write_text('[accounts.chief]\nrole = "scrutineer"\npassword_hash = "$2b$12$' + "x" * 53 + '"\n')
    return path


def test_dashboard_start_binds_the_accounts_file(store, tmp_path, monkeypatch):
    started = []
    monkeypatch.setattr("compliance.cli.dashboard.os.execve", lambda *a: started.append(a))
    accounts = _accounts_file(tmp_path)
    argv = ["dashboard", "--db", str(store.db), "--accounts", str(accounts), "--session-dir", str(tmp_path / "s")]
    assert main(argv) == 0 and started
    with store.reading() as conn:
        rows = conn.execute("SELECT subject FROM audit_log WHERE action = 'accounts.bind'").fetchall()
    assert rows == [(str(accounts.resolve()),)]
    assert main(argv) == 0                                                      # unchanged file: no new row
    assert audit.verify(store, originals=False).ok


def test_dashboard_starts_when_the_store_cannot_be_written(tmp_path, monkeypatch):
    monkeypatch.setenv("BOPWATCH_AUDIT_KEY_FILE", str(tmp_path / "a_store" / "k"))   # refused: inside the store
    store = st.open_store(tmp_path / "a.duckdb")
    assert accounts_audit.bind_accounts_at_start(store.db, _accounts_file(tmp_path)) is None
    assert accounts_audit.bind_accounts_at_start(tmp_path / "none.duckdb", _accounts_file(tmp_path)) is None
