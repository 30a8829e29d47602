"""``bopwatch dashboard``: serve the Streamlit dashboard on a store.

Replaces itself (``exec``) with ``python -m dashboard.server``: Streamlit's own server (``st.App`` on
``dashboard/app.py``) plus the routes that set and drop the login cookie (docs/dashboard.md, "Login sessions"), with
XSRF and CORS protection on, an upload size limit, no file watcher and no usage statistics. The store path, the
accounts file, the login table's folder and the upload limit reach the app through environment variables
(``BOPWATCH_DB``, ``BOPWATCH_ACCOUNTS``, ``BOPWATCH_SESSION_DIR``, ``BOPWATCH_MAX_UPLOAD_MB``). Precedence for
each: argument > environment variable > default (the store path through :mod:`compliance.config`).
"""

from __future__ import annotations

import argparse
import getpass
import os
import sys
from pathlib import Path

from .. import config
from ..access.accounts_audit import bind_accounts_at_start
from ..access.auth import hash_password, load_accounts, open_sessions
from ..errors import ComplianceError

__all__ = ["add_subparser", "server_options", "serve_command", "session_dir",
           "DEFAULT_PORT", "DEFAULT_MAX_UPLOAD_MB", "DEMO_ACCOUNTS"]

DEFAULT_PORT = 8501
DEFAULT_MAX_UPLOAD_MB = 50
APP = Path(__file__).resolve().parents[2] / "dashboard" / "app.py"
DEMO_ACCOUNTS = APP.parent / "demo_accounts.toml"


def add_subparser(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "dashboard", help="serve the web dashboard on a store",
        description="Serve the Streamlit dashboard (session matrix, evidence, uploads, BoP, fleet, audit) on a "
                    "store. Log in with an account from the accounts file (docs/dashboard.md).")
    p.add_argument("--db", help="store path (env BOPWATCH_DB; default ./bopwatch.duckdb)")
    p.add_argument("--port", type=int, help=f"port (env BOPWATCH_PORT; default {DEFAULT_PORT})")
    p.add_argument("--address", help="address to listen on (env BOPWATCH_ADDRESS; default 127.0.0.1)")
    p.add_argument("--accounts", help="accounts TOML with bcrypt-hashed passwords (env BOPWATCH_ACCOUNTS); "
                                      f"the demo accounts are in {DEMO_ACCOUNTS.name}")
    p.add_argument("--max-upload-mb", type=int,
                   help=f"largest upload accepted (env BOPWATCH_MAX_UPLOAD_MB; default {DEFAULT_MAX_UPLOAD_MB}); "
                        "bigger logs go through 'bopwatch ingest' or 'bopwatch watch'")
    p.add_argument("--session-dir",
                   help="folder of the login table and its signing key, created 0700 (env BOPWATCH_SESSION_DIR; "
                        "default <store>.sessions next to the store)")
    p.add_argument("--hash-password", action="store_true",
                   help="read a password (from stdin, or a prompt) and print its bcrypt hash for the accounts file")
    p.set_defaults(func=run)


def _setting(arg: object, env: str, default: object) -> object:
    if arg is not None:
        return arg
    value = os.environ.get(env)
    return value if value not in (None, "") else default


def server_options(*, port: int, address: str, max_upload_mb: int) -> list[str]:
    """The Streamlit options, security-relevant ones spelled out, as ``--name value`` pairs."""
    return [
        "--server.port", str(port),
        "--server.address", address,
        "--server.headless", "true",
        "--server.enableXsrfProtection", "true",
        "--server.enableCORS", "true",
        "--server.maxUploadSize", str(max_upload_mb),
        "--server.fileWatcherType", "none",
        "--server.runOnSave", "false",
        "--browser.gatherUsageStats", "false",
        "--client.showErrorDetails", "none",
        "--client.toolbarMode", "minimal",
        "--global.developmentMode", "false",
    ]


def serve_command(*, port: int, address: str, max_upload_mb: int) -> list[str]:
    """What ``bopwatch dashboard`` runs: ``python -m dashboard.server`` with :func:`server_options`."""
    return [sys.executable, "-m", "dashboard.server",
            *server_options(port=port, address=address, max_upload_mb=max_upload_mb)]


def session_dir(arg: str | None, db: Path) -> Path:
    """The login table's folder: argument > ``BOPWATCH_SESSION_DIR`` > ``<store>.sessions`` beside the store."""
    return Path(str(_setting(arg, "BOPWATCH_SESSION_DIR", f"{db}.sessions"))).resolve()


def run(args: argparse.Namespace) -> int:
    if args.hash_password:
        password = sys.stdin.readline().rstrip("\n") if not sys.stdin.isatty() else getpass.getpass("Password: ")
        if len(password) < 8:
            raise ComplianceError("password shorter than 8 characters", fix="choose a longer password")
        print(hash_password(password))
        return 0
    db = config.db_path(args.db)
    accounts = _setting(args.accounts, "BOPWATCH_ACCOUNTS", None)
    if accounts is None:
        raise ComplianceError(
            "no accounts file", place="bopwatch dashboard",
            fix=f"pass --accounts PATH or set BOPWATCH_ACCOUNTS; for the demo: --accounts {DEMO_ACCOUNTS}")
    accounts = Path(str(accounts)).resolve()
    load_accounts(accounts)                       # refuse to start on an invalid file, with its message
    bind_accounts_at_start(db, accounts)          # its SHA-256 into the audit chain: 'audit verify' sees edits
    port = int(str(_setting(args.port, "BOPWATCH_PORT", DEFAULT_PORT)))
    address = str(_setting(args.address, "BOPWATCH_ADDRESS", "127.0.0.1"))
    max_mb = int(str(_setting(args.max_upload_mb, "BOPWATCH_MAX_UPLOAD_MB", DEFAULT_MAX_UPLOAD_MB)))
    if max_mb <= 0:
        raise ComplianceError(f"--max-upload-mb {max_mb} is not positive", fix="give a size in MB, e.g. 50")
    sessions = session_dir(args.session_dir, db)
    open_sessions(sessions)                       # make the key and table now, refuse an unusable folder here
    env = dict(os.environ, BOPWATCH_DB=str(db), BOPWATCH_ACCOUNTS=str(accounts), BOPWATCH_SESSION_DIR=str(sessions),
               BOPWATCH_MAX_UPLOAD_MB=str(max_mb))
    print(f"bopwatch dashboard: store {db}, accounts {accounts}, logins {sessions}, http://{address}:{port}",
          file=sys.stderr, flush=True)
    # Replace this process with Streamlit: signals (Ctrl-C, SIGTERM from a supervisor) reach the server itself
    # and no orphaned server can outlive the command.
    cmd = serve_command(port=port, address=address, max_upload_mb=max_mb)
    os.execve(cmd[0], cmd, env)
    return 0  # pragma: no cover - execve does not return
