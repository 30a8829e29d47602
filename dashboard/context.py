"""Streamlit glue shared by the pages: the store path, the accounts, the logged-in viewer, login and logout.

Everything a page shows is read through :mod:`compliance.access.queries` with the :class:`~compliance.access.auth.Viewer` this
module returns; nothing is cached across sessions. A login lives in ``st.session_state`` (one browser tab's
websocket session) and is checked for expiry on every rerun. Served by ``bopwatch dashboard`` (``dashboard.server``,
which sets ``BOPWATCH_SESSION_DIR``), it is also a row of the server-side login table named by an HttpOnly cookie:
a new tab or a reload resumes it from the cookie, and "Log out" ends the row, so every tab of it ends
(docs/dashboard.md, "Login sessions"). Without that server (``AppTest``, plain ``streamlit run``) a login stays in
its tab.
"""

from __future__ import annotations

import functools
import json
import logging
import os
import time
from pathlib import Path
from urllib.parse import urlencode, urlsplit

import streamlit as st

from compliance.access import Store, config
from compliance.access.auth import (
    BIND_COOKIE,
    GRANT_TTL_S,
    SESSION_COOKIE,
    Accounts,
    AuthError,
    LoginSession,
    SessionBook,
    Viewer,
    authenticate,
    check_session,
    load_accounts,
    open_sessions,
    start_session,
    viewer_for_identity,
)
from compliance.access.queries import open_for
from compliance.errors import ComplianceError

__all__ = ["db_path", "accounts", "max_upload_mb", "current_viewer", "require_viewer", "login_page", "logout",
           "login_alive", "send_cookie", "store", "show_error", "SESSION_ROUTE", "LOGOUT_ROUTE"]

log = logging.getLogger(__name__)

_LOGIN = "_bopwatch_login"
_NOTICE = "_bopwatch_notice"
_FAILS = "_bopwatch_failed_logins"
_GRANT = "_bopwatch_grant"                # (code, made at): exchanged for the cookie by send_cookie
DEFAULT_MAX_UPLOAD_MB = 50
SESSION_ROUTE = "/bopwatch/session"      # dashboard.server: grant -> cookie (fetched by the page)
LOGOUT_ROUTE = "/bopwatch/logout"        # dashboard.server: drops an ended login's cookie


def db_path() -> Path:
    return config.db_path()


def accounts() -> Accounts:
    path = os.environ.get("BOPWATCH_ACCOUNTS")
    if not path:
        raise AuthError("no accounts file configured", fix="start the dashboard with 'bopwatch dashboard "
                                                            "--accounts PATH' (see docs/dashboard.md)")
    return load_accounts(path)


def max_upload_mb() -> int:
    raw = os.environ.get("BOPWATCH_MAX_UPLOAD_MB", "")
    return int(raw) if raw.isdigit() and int(raw) > 0 else DEFAULT_MAX_UPLOAD_MB


def _oidc_configured() -> bool:
    try:
        return "auth" in st.secrets
    except (FileNotFoundError, st.errors.StreamlitSecretNotFoundError):
        return False


@functools.cache
def _book_in(folder: str) -> SessionBook:
    return open_sessions(folder)


def _book() -> SessionBook | None:
    """The server-side login table, when ``bopwatch dashboard`` serves the app (else None: logins stay in a tab)."""
    folder = os.environ.get("BOPWATCH_SESSION_DIR")
    return _book_in(folder) if folder else None


def _drop(err: AuthError) -> None:
    st.session_state.pop(_LOGIN, None)
    st.session_state[_NOTICE] = str(err)


def current_viewer() -> Viewer | None:
    """The logged-in viewer, or None (never logged in, expired, logged out in another tab, or account removed: the
    login is dropped). Every call counts as activity for the idle timeout."""
    try:
        known = accounts()
        book = _book()
    except AuthError as err:          # no or invalid accounts file, unusable login table: nobody can be logged in
        _drop(err)
        return None
    now = time.time()
    session = st.session_state.get(_LOGIN)
    cookie = st.context.cookies.get(SESSION_COOKIE)
    if session is None and book is not None and cookie:
        try:
            session = book.resume(known, cookie, now)          # a reload, a new tab: the cookie names the login
        except AuthError as err:
            if err.problem != "logged out":                    # after a logout the cookie is dead, say nothing
                st.session_state[_NOTICE] = str(err)
            return None
    elif session is None and _oidc_configured() and st.user.is_logged_in:
        try:
            session = start_session(viewer_for_identity(known, st.user.get("email")), now)
        except AuthError as err:
            st.session_state[_NOTICE] = str(err)
            return None
    if session is None:
        return None
    try:
        session = book.touch(known, session, now) if book is not None and session.sid else \
            check_session(known, session, now)
    except AuthError as err:
        _drop(err)
        return None
    st.session_state[_LOGIN] = session
    return session.viewer


def login_alive() -> bool:
    """Whether this tab's login still holds (not ended in another tab, not expired), without counting as
    activity: a timer in the page calls it to clear the screen of a login that ended elsewhere."""
    session = st.session_state.get(_LOGIN)
    if session is None:
        return False
    try:
        known, book = accounts(), _book()
    except AuthError:
        return False
    now = time.time()
    if book is not None and session.sid:
        return book.alive(known, session, now)
    try:
        check_session(known, session, now)
    except AuthError:
        return False
    return True


def require_viewer() -> Viewer:
    """The viewer for a page; stops the page when nobody is logged in (pages are only listed after login, this
    guards a page run directly)."""
    viewer = current_viewer()
    if viewer is None:
        st.error("Log in first.")
        st.stop()
    return viewer


def _here() -> str:
    """This page's path and query (``/car?event=..``): where a login or logout brings the browser back to."""
    path = urlsplit(st.context.url or "").path or "/"
    query = urlencode(st.query_params.to_dict())
    return path + (f"?{query}" if query else "")


def _go(url: str) -> None:
    """Send the browser to ``url`` (one of our routes) and stop this run; ``url`` holds only our own codes and a
    page path, and is written into the script as a JSON string."""
    target = json.dumps(url).replace("<", "\\u003c")
    st.html(f"<script>window.location.replace({target});</script>", unsafe_allow_javascript=True)
    st.caption("One moment...")
    st.stop()


def _keep(session: LoginSession) -> None:
    """Make a fresh login outlive this tab: a row in the login table and a one-time grant bound to this browser,
    which :func:`send_cookie` has the browser exchange for the login cookie (``dashboard.server``). Without the
    server or its bind cookie the login stays in this tab."""
    st.session_state[_LOGIN] = session
    bind = st.context.cookies.get(BIND_COOKIE)
    try:
        book = _book()
        if book is None:
            return
        session = book.begin(accounts(), session)
    except AuthError as err:                 # the table is unusable: the login stays in this tab, and says so
        log.warning("login kept in one tab only: %s", err)
        return
    st.session_state[_LOGIN] = session
    if bind:
        now = time.time()
        st.session_state[_GRANT] = (book.grant(session, bind, now), now)


def send_cookie() -> None:
    """Right after login, while its grant is fresh: a one-line script in the page fetches ``SESSION_ROUTE`` with
    the grant, and the answer sets the HttpOnly login cookie in this browser; the page itself goes on (no reload).
    The URL holds only our code and is written into the script as a JSON string."""
    grant = st.session_state.get(_GRANT)
    if grant is None:
        return
    code, made = grant
    if time.time() - made > GRANT_TTL_S:
        st.session_state.pop(_GRANT, None)
        return
    url = json.dumps(f"{SESSION_ROUTE}?{urlencode({'grant': code})}").replace("<", "\\u003c")
    st.html(f"<script>fetch({url}, {{credentials: 'same-origin', cache: 'no-store'}});</script>",
            unsafe_allow_javascript=True, width="content")


def _authenticate(username: str, password: str) -> Viewer:
    """The password check, through the login table's lockout (per account and per client address, kept across
    reloads, tabs, browsers and restarts, every attempt recorded) when ``bopwatch dashboard`` serves the app."""
    try:
        book = _book()
    except AuthError:
        book = None
    if book is None:
        return authenticate(accounts(), username, password)
    return book.login(accounts(), username, password, st.context.ip_address or "local", time.time())


def login_page() -> None:
    st.title("bopwatch")
    st.caption("Balance-of-Performance evidence for scrutineers, technical staff and teams.")
    notice = st.session_state.pop(_NOTICE, None)
    if notice:
        st.warning(notice)
    fails = int(st.session_state.get(_FAILS, 0))
    with st.form("login", clear_on_submit=False):
        username = st.text_input("User name", key="login_user")
        password = st.text_input("Password", type="password", key="login_password")
        submitted = st.form_submit_button("Log in")
    if submitted:
        if fails >= 3:                       # slow down guessing within one session (bcrypt slows every try)
            time.sleep(min(2.0 * (fails - 2), 10.0))
        try:
            viewer = _authenticate(username, password)
        except AuthError as err:             # wrong password, or no usable accounts file
            st.session_state[_FAILS] = fails + 1
            st.error(str(err))
        else:
            st.session_state.pop(_FAILS, None)
            log.info("login: %s", viewer.label)
            _keep(start_session(viewer, time.time()))
            st.rerun()
    if _oidc_configured():
        st.divider()
        st.button("Log in with single sign-on", on_click=st.login)


def logout() -> None:
    """End the login everywhere: its row in the login table (every tab and cookie naming it is refused from now
    on), this tab's state, the OIDC identity; then drop the cookie (``LOGOUT_ROUTE``) and show the login form."""
    book = _book()
    if book is not None:
        book.end(st.session_state.get(_LOGIN), time.time())
    here = _here()
    st.session_state.clear()
    if _oidc_configured() and st.user.is_logged_in:
        st.logout()
    elif book is not None and st.context.cookies.get(BIND_COOKIE):     # served by dashboard.server
        _go(f"{LOGOUT_ROUTE}?{urlencode({'next': here})}")
    st.rerun()


def store() -> Store:
    """The store the dashboard serves; stops the page with the store's own message when there is none."""
    try:
        return open_for(db_path())
    except ComplianceError as err:
        st.error(str(err))
        st.stop()
        raise  # st.stop raises; this keeps type checkers content


def show_error(err: Exception) -> None:
    """One line for an expected problem (nothing to show, not allowed, file changed): never a traceback."""
    st.warning(str(err))
