"""``bopwatch dashboard``: the security options it passes to Streamlit, and what it refuses before starting."""

from __future__ import annotations

import io
from pathlib import Path

import bcrypt
import pytest

from compliance.cli import main
from compliance.cli.dashboard import serve_command


def _option(cmd: list[str], name: str) -> str:
    return cmd[cmd.index(name) + 1]


def test_the_server_runs_with_xsrf_cors_upload_limit_and_no_watcher():
    cmd = serve_command(port=8777, address="127.0.0.1", max_upload_mb=12)
    assert cmd[1:3] == ["-m", "dashboard.server"]      # bopwatch dashboard's own server (login cookie, routes)
    assert _option(cmd, "--server.enableXsrfProtection") == "true"
    assert _option(cmd, "--server.enableCORS") == "true"
    assert _option(cmd, "--server.maxUploadSize") == "12"
    assert _option(cmd, "--server.fileWatcherType") == "none"
    assert _option(cmd, "--client.showErrorDetails") == "none"
    assert _option(cmd, "--server.address") == "127.0.0.1" and _option(cmd, "--server.port") == "8777"


def test_hash_password_prints_a_bcrypt_hash(monkeypatch, capsys):
    monkeypatch.setattr("sys.stdin", io.StringIO("correct horse battery\n"))
    assert main(["dashboard", "--hash-password"]) == 0
    hashed = capsys.readouterr().out.strip()
    assert bcrypt.checkpw(b"correct horse battery", hashed.encode())


def test_short_password_is_refused(monkeypatch, capsys):
    monkeypatch.setattr("sys.stdin", io.StringIO("short\n"))
    assert main(["dashboard", "--hash-password"]) == 2
    assert "shorter than 8" in capsys.readouterr().err


def test_dashboard_refuses_to_start_without_accounts(monkeypatch, tmp_path, capsys):
    monkeypatch.delenv("BOPWATCH_ACCOUNTS", raising=False)
    assert main(["dashboard", "--db", str(tmp_path / "s.duckdb")]) == 2
    assert "--accounts" in capsys.readouterr().err


def test_dashboard_refuses_plain_text_passwords(tmp_path, capsys):
    accounts = tmp_path / "accounts.toml"
    accounts.write_text('[accounts.a]\nrole = "technical"\npassword = "hunter22"\n')
    assert main(["dashboard", "--db", str(tmp_path / "s.duckdb"), "--accounts", str(accounts)]) == 2
    assert "never a plain password" in capsys.readouterr().err


def test_readme_command_list_names_the_dashboard_port_option():
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
    line = next(x for x in readme.splitlines() if x.startswith("bopwatch dashboard "))
    assert "[--port N]" in line and "8501" in line
    with pytest.raises(SystemExit) as done:          # the option the README names is the real one
        main(["dashboard", "--port", "not-a-number"])
    assert done.value.code == 2
