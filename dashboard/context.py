"""Streamlit glue shared by the pages: the store path, the accounts, the logged-in viewer, login and logout.

Everything a page shows is read through :mod:`compliance.queries` with the :class:`~compliance.auth.Viewer` this
module returns; nothing is cached across sessions. A login lives in ``st.session_state`` (one browser tab's
websocket session) and is checked for expiry on every rerun.
"""

from __future__ import annotations

import logging
import os
import time
from pathlib import Path

import streamlit as st

from compliance import config
from compliance.auth import (
    Accounts,
    AuthError,
    Viewer,
    authenticate,
    check_session,
    load_accounts,
    start_session,
    viewer_for_identity,
)
from compliance.errors import ComplianceError
from compliance.queries import open_for
from compliance.store import Store

__all__ = ["db_path", "accounts", "max_upload_mb", "current_viewer", "require_viewer", "login_page", "logout",
           "store", "show_error"]

log = logging.getLogger(__name__)

_LOGIN = "_bopwatch_login"
_NOTICE = "_bopwatch_notice"
_FAILS = "_bopwatch_failed_logins"
DEFAULT_MAX_UPLOAD_MB = 50


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


def current_viewer() -> Viewer | None:
    """The logged-in viewer, or None (never logged in, expired, or account removed: the login is dropped)."""
    try:
        known = accounts()
    except AuthError as err:          # no or invalid accounts file: nobody can be logged in
        st.session_state.pop(_LOGIN, None)
        st.session_state[_NOTICE] = str(err)
        return None
    session = st.session_state.get(_LOGIN)
    if session is None and _oidc_configured() and st.user.is_logged_in:
        try:
            session = start_session(viewer_for_identity(known, st.user.get("email")), time.time())
        except AuthError as err:
            st.session_state[_NOTICE] = str(err)
            return None
    if session is None:
        return None
    try:
        session = check_session(known, session, time.time())
    except AuthError as err:
        st.session_state.pop(_LOGIN, None)
        st.session_state[_NOTICE] = str(err)
        return None
    st.session_state[_LOGIN] = session
    return session.viewer


def require_viewer() -> Viewer:
    """The viewer for a page; stops the page when nobody is logged in (pages are only listed after login, this
    guards a page run directly)."""
    viewer = current_viewer()
    if viewer is None:
        st.error("Log in first.")
        st.stop()
    return viewer


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
            viewer = authenticate(accounts(), username, password)
        except AuthError as err:             # wrong password, or no usable accounts file
            st.session_state[_FAILS] = fails + 1
            st.error(str(err))
        else:
            st.session_state.pop(_FAILS, None)
            st.session_state[_LOGIN] = start_session(viewer, time.time())
            log.info("login: %s", viewer.label)
            st.rerun()
    if _oidc_configured():
        st.divider()
        st.button("Log in with single sign-on", on_click=st.login)


def logout() -> None:
    st.session_state.clear()
    if _oidc_configured() and st.user.is_logged_in:
        st.logout()
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
