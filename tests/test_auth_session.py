"""Server-side login sessions (compliance.access.auth.SessionBook): signed cookie values, lifetime and idle expiry on the
cookie, logout everywhere, one-time grants bound to a browser, private key and table files; and the server's
redirect check and command line (dashboard.server, compliance.cli.dashboard)."""

from __future__ import annotations

import stat

import bcrypt
import pytest

from compliance.access.auth import (
    AuthError,
    LoginSession,
    Viewer,
    open_sessions,
    parse_accounts,
    start_session,
)
from compliance.cli.dashboard import serve_command, server_options, session_dir
from dashboard.server import safe_next

T0 = 1_800_000_000.0
TECH = Viewer("tech", "technical")


def _accounts(team: str = "Red Team"):
    return parse_accounts(f"""
session_ttl_minutes = 60
idle_timeout_minutes = 10
[accounts.tech]
role = "technical"
password_hash = "{bcrypt.hashpw(b'tech-pw', bcrypt.gensalt(4)).decode()}"
[accounts.red]
role = "team"
team = "{team}"
password_hash = "{bcrypt.hashpw(b'red-pw', bcrypt.gensalt(4)).decode()}"
""")


@pytest.fixture
def book(tmp_path):
    return open_sessions(tmp_path / "store.duckdb.sessions")


def _begin(book, viewer=TECH, at=T0):
    return book.begin(_accounts(), start_session(viewer, at))


def test_a_cookie_resumes_its_login_and_moves_the_idle_clock(book):
    accounts = _accounts()
    login = _begin(book)
    cookie = book.cookie(login)
    assert cookie.startswith("1.") and cookie.count(".") == 3
    again = book.resume(accounts, cookie, T0 + 300)
    assert again.viewer == TECH and again.sid == login.sid and again.last_seen == T0 + 300
    # activity in any tab keeps the login alive: 9 min after the last use is fine, though 14 min after login
    assert book.resume(accounts, cookie, T0 + 840).last_seen == T0 + 840


@pytest.mark.parametrize("where", [1, 2, 3])
def test_a_tampered_cookie_is_refused(book, where):
    cookie = book.cookie(_begin(book))
    parts = cookie.split(".")
    parts[where] = parts[where][:-1] + ("1" if parts[where][-1] != "1" else "2")
    with pytest.raises(AuthError, match="saved login not valid"):
        book.resume(_accounts(), ".".join(parts), T0 + 1)


def test_a_cookie_signed_with_another_stores_key_is_refused(book, tmp_path):
    other = open_sessions(tmp_path / "other.sessions")
    cookie = other.cookie(other.begin(_accounts(), start_session(TECH, T0)))
    with pytest.raises(AuthError, match="saved login not valid"):
        book.resume(_accounts(), cookie, T0 + 1)


@pytest.mark.parametrize("cookie", ["", "garbage", "1.a.b.c", "2.x.1.y", "1.x.12.y.z"])
def test_a_malformed_cookie_is_refused(book, cookie):
    with pytest.raises(AuthError, match="saved login not valid"):
        book.resume(_accounts(), cookie, T0)


def test_the_lifetime_applies_to_the_cookie_even_when_in_use(book):
    accounts = _accounts()
    cookie = book.cookie(_begin(book))
    for minute in range(5, 60, 5):
        book.resume(accounts, cookie, T0 + minute * 60)
    with pytest.raises(AuthError, match="session expired"):
        book.resume(accounts, cookie, T0 + 3601)


def test_the_idle_timeout_applies_to_the_cookie_and_stays(book):
    accounts = _accounts()
    cookie = book.cookie(_begin(book))
    with pytest.raises(AuthError, match="after inactivity"):
        book.resume(accounts, cookie, T0 + 601)
    with pytest.raises(AuthError, match="after inactivity"):      # a refused try is not activity
        book.resume(accounts, cookie, T0 + 602)


def test_logout_ends_the_login_for_every_tab_and_cookie(book):
    accounts = _accounts()
    login = _begin(book)
    cookie = book.cookie(login)
    other_tab = book.resume(accounts, cookie, T0 + 10)
    assert book.alive(accounts, other_tab, T0 + 20)
    book.end(login, T0 + 30)
    assert not book.alive(accounts, other_tab, T0 + 40)
    with pytest.raises(AuthError, match="logged out"):
        book.touch(accounts, other_tab, T0 + 40)
    with pytest.raises(AuthError, match="logged out"):
        book.resume(accounts, cookie, T0 + 40)


def test_alive_does_not_count_as_activity(book):
    accounts = _accounts()
    login = _begin(book)
    assert book.alive(accounts, login, T0 + 590)
    assert not book.alive(accounts, login, T0 + 601)             # idle since T0, whatever alive() was asked


def test_a_changed_team_or_removed_account_ends_the_login(book):
    login = _begin(book, Viewer("red", "team", "Red Team"))
    cookie = book.cookie(login)
    with pytest.raises(AuthError, match="account changed or removed"):
        book.resume(_accounts(team="Blue Team"), cookie, T0 + 1)


def test_a_grant_gives_the_cookie_once_within_its_time_to_the_browser_it_was_made_for(book):
    accounts = _accounts()
    login = _begin(book)
    code = book.grant(login, "browser-a", T0)
    cookie, session = book.redeem(accounts, code, "browser-a", T0 + 5)
    assert cookie == book.cookie(login) and session.viewer == TECH
    with pytest.raises(AuthError, match="login link not valid"):   # used up
        book.redeem(accounts, code, "browser-a", T0 + 6)
    for bind, at in (("browser-b", T0 + 5), (None, T0 + 5), ("browser-a", T0 + 61)):
        code = book.grant(login, "browser-a", T0)
        with pytest.raises(AuthError, match="login link not valid"):
            book.redeem(accounts, code, bind, at)
        with pytest.raises(AuthError, match="login link not valid"):   # a refused grant is used up as well
            book.redeem(accounts, code, "browser-a", T0 + 5)


def test_a_grant_of_an_ended_login_gives_nothing(book):
    login = _begin(book)
    code = book.grant(login, "browser-a", T0)
    book.end(login, T0 + 1)
    with pytest.raises(AuthError, match="not valid|logged out"):
        book.redeem(_accounts(), code, "browser-a", T0 + 2)


def test_a_login_kept_in_one_tab_has_no_cookie(book):
    with pytest.raises(AuthError):
        book.cookie(LoginSession(TECH, T0, T0))


def test_key_and_table_are_private_and_the_key_survives_a_restart(tmp_path):
    folder = tmp_path / "s.sessions"
    first = open_sessions(folder)
    cookie = first.cookie(first.begin(_accounts(), start_session(TECH, T0)))
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    for name in ("session.key", "logins.sqlite"):
        assert stat.S_IMODE((folder / name).stat().st_mode) == 0o600
    assert open_sessions(folder).resume(_accounts(), cookie, T0 + 1).viewer == TECH


def test_a_key_others_may_read_is_refused(tmp_path):
    folder = tmp_path / "s.sessions"
    open_sessions(folder)
    (folder / "session.key").chmod(0o644)
    with pytest.raises(AuthError, match="readable by others"):
        open_sessions(folder)


def test_a_folder_that_cannot_be_made_names_the_fix(tmp_path):
    with pytest.raises(AuthError, match="--session-dir"):
        open_sessions(tmp_path / "missing" / "s.sessions")


@pytest.mark.parametrize(("asked", "goes"), [
    ("/car?event=e&session=race&car=7&run=r1", "/car?event=e&session=race&car=7&run=r1"),
    ("/", "/"), (None, "/"), ("", "/"),
    ("https://evil.example/car", "/"), ("//evil.example/car", "/"), ("/\\evil.example", "/"),
    ("/car/../../etc", "/"), ("javascript:alert(1)", "/"), ("/car#x", "/"),
])
def test_after_login_the_browser_only_goes_to_a_page_of_the_app(asked, goes):
    assert safe_next(asked) == goes


def test_the_server_runs_with_the_security_options_and_the_login_table_beside_the_store(tmp_path, monkeypatch):
    cmd = serve_command(port=8777, address="127.0.0.1", max_upload_mb=12)
    assert cmd[1:3] == ["-m", "dashboard.server"] and cmd[3:] == server_options(
        port=8777, address="127.0.0.1", max_upload_mb=12)
    options = dict(zip(cmd[3::2], cmd[4::2], strict=True))
    assert options["--server.enableXsrfProtection"] == "true" and options["--server.enableCORS"] == "true"
    monkeypatch.delenv("BOPWATCH_SESSION_DIR", raising=False)
    assert session_dir(None, tmp_path / "s.duckdb") == (tmp_path / "s.duckdb.sessions").resolve()
    monkeypatch.setenv("BOPWATCH_SESSION_DIR", str(tmp_path / "env"))
    assert session_dir(None, tmp_path / "s.duckdb") == (tmp_path / "env").resolve()
    assert session_dir(str(tmp_path / "arg"), tmp_path / "s.duckdb") == (tmp_path / "arg").resolve()


def test_the_dashboard_refuses_to_start_on_an_unusable_session_folder(tmp_path, capsys):
    from compliance.cli import main
    accounts = tmp_path / "accounts.toml"
    accounts.write_text(f'[accounts.tech]\nrole = "technical"\npassword_hash = '
                        f'"{bcrypt.hashpw(b"tech-pw", bcrypt.gensalt(4)).decode()}"\n')
    assert main(["dashboard", "--db", str(tmp_path / "s.duckdb"), "--accounts", str(accounts),
                 "--session-dir", str(tmp_path / "no" / "such" / "dir")]) == 2
    assert "--session-dir" in capsys.readouterr().err


def test_the_server_reads_streamlit_variables_like_streamlit_run_and_its_own_options_win():
    from dashboard.server import server_config
    config = server_config(["--server.port", "8777", "--server.enableXsrfProtection", "true"], {
        "STREAMLIT_SERVER_DISCONNECTED_SESSION_TTL": "3", "STREAMLIT_SERVER_ENABLE_XSRF_PROTECTION": "false",
        "STREAMLIT_SERVER_COOKIE_SECRET": "left to Streamlit"})
    assert config == {"server.disconnectedSessionTTL": 3, "server.enableXsrfProtection": True, "server.port": 8777}
    with pytest.raises(SystemExit, match="unknown Streamlit option"):
        server_config(["--server.nonsense", "1"], {})
