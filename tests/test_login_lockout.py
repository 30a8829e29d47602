"""Login lockout (compliance.access.auth.SessionBook.login): per account name and per client address, kept in the login
table (so a reload, a new tab, a new browser or a restarted server does not reset it), doubling up to a cap,
cleared by a correct login, and every attempt recorded."""

from __future__ import annotations

import bcrypt
import pytest

from compliance.access.auth import (
    FREE_FAILURES,
    LOCK_FIRST_S,
    LOCK_MAX_S,
    AuthError,
    open_sessions,
    parse_accounts,
)

T0 = 1_800_000_000.0


@pytest.fixture(scope="module")
def accounts():
    return parse_accounts(f"""
[accounts.tech]
role = "technical"
password_hash = "{bcrypt.hashpw(b'tech-pw', bcrypt.gensalt(4)).decode()}"
[accounts.red]
role = "team"
team = "Red Team"
password_hash = "{bcrypt.hashpw(b'red-pw', bcrypt.gensalt(4)).decode()}"
""")


@pytest.fixture
def folder(tmp_path):
    return tmp_path / "store.duckdb.sessions"


def _fail(book, accounts, n, *, user="tech", client="10.0.0.1", at=T0):
    for i in range(n):
        with pytest.raises(AuthError, match="wrong password"):
            book.login(accounts, user, "guess", client, at + i)


def test_a_correct_login_passes_and_is_recorded(folder, accounts):
    book = open_sessions(folder)
    assert book.login(accounts, "tech", "tech-pw", "10.0.0.1", T0).username == "tech"
    assert book.attempts() == [(T0, "tech", "10.0.0.1", "ok")]


def test_after_the_free_failures_the_account_is_locked_even_with_the_right_password(folder, accounts):
    book = open_sessions(folder)
    _fail(book, accounts, FREE_FAILURES)
    now = T0 + FREE_FAILURES
    with pytest.raises(AuthError, match=r"too many failed logins: try again in \d+ s"):
        book.login(accounts, "tech", "tech-pw", "10.0.0.2", now)          # another client: the account is locked
    assert book.login(accounts, "tech", "tech-pw", "10.0.0.2", now + LOCK_FIRST_S).username == "tech"


def test_the_lockout_survives_a_new_book_on_the_same_folder(folder, accounts):
    """A reload, another browser or a restarted dashboard opens the same table."""
    _fail(open_sessions(folder), accounts, FREE_FAILURES)
    with pytest.raises(AuthError, match="too many failed logins"):
        open_sessions(folder).login(accounts, "tech", "tech-pw", "10.0.0.9", T0 + FREE_FAILURES)


def test_one_client_guessing_many_accounts_is_locked(folder, accounts):
    book = open_sessions(folder)
    for i in range(FREE_FAILURES):
        with pytest.raises(AuthError, match="wrong password"):
            book.login(accounts, f"user{i}", "guess", "10.0.0.66", T0 + i)
    with pytest.raises(AuthError, match="too many failed logins"):
        book.login(accounts, "red", "red-pw", "10.0.0.66", T0 + FREE_FAILURES)
    assert book.login(accounts, "red", "red-pw", "10.0.0.7", T0 + FREE_FAILURES).team == "Red Team"


def test_an_unknown_name_is_locked_like_a_known_one(folder, accounts):
    book = open_sessions(folder)
    _fail(book, accounts, FREE_FAILURES, user="nobody", client="a")
    with pytest.raises(AuthError, match="too many failed logins"):
        book.login(accounts, "nobody", "x", "b", T0 + FREE_FAILURES)


def test_each_further_failure_doubles_the_lock_up_to_the_cap(folder, accounts):
    book = open_sessions(folder)
    _fail(book, accounts, FREE_FAILURES)
    at, waits = T0 + FREE_FAILURES, []
    for _ in range(12):
        at += LOCK_MAX_S + 1                     # past any lock, within the failure memory
        with pytest.raises(AuthError, match="wrong password"):
            book.login(accounts, "tech", "guess", "10.0.0.1", at)
        with pytest.raises(AuthError, match="try again in") as err:
            book.login(accounts, "tech", "tech-pw", "10.0.0.1", at)
        waits.append(int(str(err.value).split("try again in ")[1].split(" s")[0]))
    assert waits[:3] == [2 * LOCK_FIRST_S, 4 * LOCK_FIRST_S, 8 * LOCK_FIRST_S]
    assert max(waits) == LOCK_MAX_S


def test_a_correct_login_clears_the_count(folder, accounts):
    book = open_sessions(folder)
    _fail(book, accounts, FREE_FAILURES - 1)
    book.login(accounts, "tech", "tech-pw", "10.0.0.1", T0 + 10)
    _fail(book, accounts, FREE_FAILURES - 1, at=T0 + 20)
    assert book.login(accounts, "tech", "tech-pw", "10.0.0.1", T0 + 30).username == "tech"


def test_failures_are_forgotten_after_an_hour(folder, accounts):
    book = open_sessions(folder)
    _fail(book, accounts, FREE_FAILURES - 1)
    _fail(book, accounts, 1, at=T0 + 3600 + 10)
    assert book.login(accounts, "tech", "tech-pw", "10.0.0.1", T0 + 3600 + 20).username == "tech"


def test_every_attempt_is_recorded_with_its_outcome(folder, accounts):
    book = open_sessions(folder)
    _fail(book, accounts, FREE_FAILURES)
    with pytest.raises(AuthError):
        book.login(accounts, " tech ", "tech-pw", "10.0.0.1", T0 + 10)
    outcomes = [(name, client, outcome) for _, name, client, outcome in book.attempts()]
    assert outcomes == [("tech", "10.0.0.1", "refused")] * FREE_FAILURES + [("tech", "10.0.0.1", "locked")]
    assert [a[0] for a in book.attempts(since=T0 + 10)] == [T0 + 10]


def test_the_dashboard_login_form_locks_across_browser_sessions(tmp_path, monkeypatch):
    """Each AppTest is a new browser session (a reload): the count is in the login table, not in the tab."""
    from pathlib import Path

    from streamlit.testing.v1 import AppTest

    app = str(Path(__file__).resolve().parent.parent / "dashboard" / "app.py")
    accounts_file = tmp_path / "accounts.toml"
    accounts_file.write_text(f"""
[accounts.tech]
role = "technical"
password_hash = "{bcrypt.hashpw(b'tech-pw', bcrypt.gensalt(4)).decode()}"
""")
    monkeypatch.setenv("BOPWATCH_DB", str(tmp_path / "s.duckdb"))
    monkeypatch.setenv("BOPWATCH_ACCOUNTS", str(accounts_file))
    monkeypatch.setenv("BOPWATCH_SESSION_DIR", str(tmp_path / "sessions"))

    def attempt(password: str) -> str:
        at = AppTest.from_file(app, default_timeout=60).run()
        at.text_input(key="login_user").input("tech")
        at.text_input(key="login_password").input(password)
        at.button[0].click().run()
        assert not at.exception, at.exception
        return at.error[0].value if at.error else ""

    for _ in range(FREE_FAILURES):
        assert "wrong password" in attempt("guess")
    assert "too many failed logins" in attempt("tech-pw")
    outcomes = [a[3] for a in open_sessions(tmp_path / "sessions").attempts()]
    assert outcomes == ["refused"] * FREE_FAILURES + ["locked"]
