"""Accounts files and AppTest logins for the dashboard page tests (one place for the bcrypt hashing and the login
form's keys)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import bcrypt
from streamlit.testing.v1 import AppTest

APP = str(Path(__file__).resolve().parent.parent / "dashboard" / "app.py")

#: user -> (role, team) of the accounts the page tests use
ROLES = {"chief": ("scrutineer", None), "tech": ("technical", None), "red": ("team", "Red Racing"),
         "blue": ("team", "Blue Motorsport"), "kestrel": ("team", "Kestrel Racing")}


def write_accounts(path: Path, passwords: Mapping[str, str], *, header: str = "") -> Path:
    """An accounts file with one account per ``passwords`` entry, its role and team from ``ROLES`` (``header``:
    top-level settings such as ``session_ttl_minutes = 60``)."""
    lines = [header] if header else []
    for user, password in passwords.items():
        role, team = ROLES[user]
        hashed = bcrypt.hashpw(password.encode(), bcrypt.gensalt(4)).decode()
        lines += [f"[accounts.{user}]", f'role = "{role}"', *([f'team = "{team}"'] if team else []),
                  f'password_hash = "{hashed}"']
    path.write_text("\n".join(lines) + "\n")
    return path


def login(user: str, password: str, *, timeout: float = 90) -> AppTest:
    """The app after submitting the login form (whatever the outcome: the caller asserts)."""
    at = AppTest.from_file(APP, default_timeout=timeout).run()
    at.text_input(key="login_user").input(user)
    at.text_input(key="login_password").input(password)
    at.button[0].click().run()
    return at


def browser_login(page, user: str, password: str, heading: str = "Session overview") -> None:
    """Log in through the form in a browser page; returns once the page shows ``heading`` and the browser holds
    the login cookie (the page fetches it right after login)."""
    import time

    from _dashboard_server import session_cookie

    page.get_by_label("User name").fill(user)
    page.get_by_label("Password", exact=True).fill(password)
    page.get_by_role("button", name="Log in").click()
    page.get_by_role("heading", name=heading).first.wait_for()
    deadline = time.monotonic() + 10
    while session_cookie(page.context) is None:
        assert time.monotonic() < deadline, "no login cookie 10 s after login"
        page.wait_for_timeout(100)

