"""Who is looking: roles, local accounts with bcrypt-hashed passwords, login sessions that expire.

Three roles (docs/dashboard.md):

- ``scrutineer``: every car, may upload logs, reads the audit log;
- ``technical``: every car, read only, reads the audit log;
- ``team``: the cars of its own team only, read only.

Accounts live in a TOML file (never plain-text passwords: ``password_hash`` is a bcrypt hash, made with
``bopwatch dashboard --hash-password``)::

    session_ttl_minutes = 480        # a login lasts at most this long (default 8 h)
    idle_timeout_minutes = 30        # and ends after this long without activity (default 30 min)

    [accounts.chief]
    role = "scrutineer"
    name = "Chief scrutineer"
    password_hash = "$2b$12$..."

    [accounts.ardennes]
    role = "team"
    team = "Ardennes Motorsport"     # must match the team column of the event's entry list
    password_hash = "$2b$12$..."

    [oidc."steward@example.org"]     # optional: identities from st.login (OIDC), by e-mail
    role = "technical"

A login that outlives one browser tab is kept server-side by a :class:`SessionBook` (``open_sessions``): one row
per login in a SQLite table next to the store, named in the browser by a signed cookie value
(``1.<id>.<issued>.<HMAC-SHA256>``, key in a 0600 file beside the table). The signature and the lifetime are
checked before the table is read; the row carries the idle clock and the revocation, so logging out ends the login
in every tab at once (docs/dashboard.md, "Login sessions"). The same table keeps failed logins per account name and
per client address (:meth:`SessionBook.login`: a lockout that doubles, which a reload does not reset) and records
every attempt.

This module does not import Streamlit; the dashboard adapts it. Authorisation itself is enforced where data is
read (:mod:`compliance.access.queries` takes a :class:`Viewer` on every call).
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import logging
import os
import secrets
import sqlite3
import tomllib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from types import MappingProxyType

import bcrypt

from ..errors import ComplianceError

__all__ = [
    "ROLES", "AuthError", "Viewer", "Account", "Accounts", "LoginSession",
    "load_accounts", "parse_accounts", "hash_password", "authenticate", "viewer_for_identity",
    "start_session", "check_session", "require",
    "SESSION_COOKIE", "BIND_COOKIE", "GRANT_TTL_S", "SessionBook", "open_sessions",
    "FREE_FAILURES", "LOCK_FIRST_S", "LOCK_MAX_S",
]

log = logging.getLogger(__name__)

ROLES = ("scrutineer", "technical", "team")
DEFAULT_SESSION_TTL_S = 8 * 3600.0
DEFAULT_IDLE_TIMEOUT_S = 30 * 60.0
_MAX_PASSWORD_BYTES = 72            # bcrypt reads at most 72 bytes; longer passwords are refused, not cut
# A fixed hash to compare against when the user does not exist, so that an unknown name costs as much time as a
# wrong password (no user enumeration through timing).
_DUMMY_HASH = b"$2b$12$bpqyGHtfCpwgkXBvmO/yhOgijnZJIxFn2Msf5BQlWJ3K6OZDwOM5i"

# What each role may do besides reading its cars.
_PERMISSIONS: Mapping[str, frozenset[str]] = MappingProxyType({
    "scrutineer": frozenset({"read_all", "upload", "audit"}),
    "technical": frozenset({"read_all", "audit"}),
    "team": frozenset(),
})


class AuthError(ComplianceError):
    """Login refused, session expired, account file invalid, or an action the viewer's role does not allow."""


@dataclass(frozen=True, slots=True)
class Viewer:
    """The person a query runs for. ``team`` is set for the team role only."""

    username: str
    role: str
    team: str | None = None
    name: str = ""

    @property
    def sees_all_cars(self) -> bool:
        return "read_all" in _PERMISSIONS[self.role]

    @property
    def can_upload(self) -> bool:
        return "upload" in _PERMISSIONS[self.role]

    @property
    def can_audit(self) -> bool:
        return "audit" in _PERMISSIONS[self.role]

    @property
    def label(self) -> str:
        who = self.name or self.username
        return f"{who} ({self.role}{': ' + self.team if self.team else ''})"


@dataclass(frozen=True, slots=True)
class Account:
    username: str
    role: str
    team: str | None
    name: str
    password_hash: bytes | None      # None for OIDC-only identities

    def viewer(self) -> Viewer:
        return Viewer(self.username, self.role, self.team, self.name)


@dataclass(frozen=True, slots=True)
class Accounts:
    """The accounts file, loaded and validated."""

    path: str
    accounts: Mapping[str, Account]
    oidc: Mapping[str, Account]         # by lower-case e-mail
    session_ttl_s: float = DEFAULT_SESSION_TTL_S
    idle_timeout_s: float = DEFAULT_IDLE_TIMEOUT_S


@dataclass(frozen=True, slots=True)
class LoginSession:
    """One login: who, when it began and when it was last used (seconds, any monotonic-enough clock). ``sid`` names
    its row in a :class:`SessionBook` when the login is kept server-side (None: it lives in one tab only)."""

    viewer: Viewer
    issued_at: float
    last_seen: float
    sid: str | None = None


def hash_password(password: str, *, rounds: int = 12) -> str:
    """A bcrypt hash of ``password`` for the accounts file."""
    raw = password.encode("utf-8")
    if not raw:
        raise AuthError("empty password", fix="choose a password of at least 8 characters")
    if len(raw) > _MAX_PASSWORD_BYTES:
        raise AuthError(f"password is {len(raw)} bytes long; bcrypt reads at most {_MAX_PASSWORD_BYTES}",
                        fix="choose a shorter password")
    return bcrypt.hashpw(raw, bcrypt.gensalt(rounds)).decode("ascii")


def load_accounts(path: str | Path) -> Accounts:
    """Read and validate an accounts file (format in the module docstring)."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise AuthError("accounts file not found", path=path,
                        fix="pass --accounts PATH or set BOPWATCH_ACCOUNTS (see docs/dashboard.md)") from None
    return parse_accounts(text, path=str(path))


def parse_accounts(text: str, *, path: str = "<accounts>") -> Accounts:
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        raise AuthError(f"not valid TOML: {err}", path=path, fix="fix the TOML syntax") from None
    unknown = set(doc) - {"accounts", "oidc", "session_ttl_minutes", "idle_timeout_minutes"}
    if unknown:
        raise AuthError(f"unknown key(s) {sorted(unknown)}", path=path,
                        fix="use accounts, oidc, session_ttl_minutes, idle_timeout_minutes")
    accounts = {name: _account(name, spec, path, "accounts", need_hash=True)
                for name, spec in _table(doc, "accounts", path).items()}
    oidc = {email.lower(): _account(email.lower(), spec, path, "oidc", need_hash=False)
            for email, spec in _table(doc, "oidc", path).items()}
    ttl = _minutes(doc, "session_ttl_minutes", DEFAULT_SESSION_TTL_S, path)
    idle = _minutes(doc, "idle_timeout_minutes", DEFAULT_IDLE_TIMEOUT_S, path)
    if not accounts and not oidc:
        raise AuthError("no accounts defined", path=path, fix="add an [accounts.NAME] table")
    return Accounts(path, MappingProxyType(accounts), MappingProxyType(oidc), ttl, idle)


def _table(doc: dict, key: str, path: str) -> dict:
    value = doc.get(key, {})
    if not isinstance(value, dict):
        raise AuthError(f"'{key}' must be a table", path=path, fix=f"write [{key}.NAME] sections")
    return value


def _minutes(doc: dict, key: str, default_s: float, path: str) -> float:
    if key not in doc:
        return default_s
    value = doc[key]
    if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
        raise AuthError(f"{key} = {value!r} is not a positive number", path=path, place=key,
                        fix="give the number of minutes")
    return float(value) * 60.0


def _account(name: str, spec: object, path: str, section: str, *, need_hash: bool) -> Account:
    place = f"[{section}.{name}]"
    if not isinstance(spec, dict):
        raise AuthError("must be a table", path=path, place=place, fix="give role (and team, password_hash)")
    unknown = set(spec) - {"role", "team", "name", "password_hash"}
    if unknown:
        raise AuthError(f"unknown key(s) {sorted(unknown)}", path=path, place=place,
                        fix="use role, team, name, password_hash (never a plain password)")
    role = spec.get("role")
    if role not in ROLES:
        raise AuthError(f"role {role!r} is not one of {', '.join(ROLES)}", path=path, place=place,
                        fix="set role to scrutineer, technical or team")
    team = spec.get("team")
    if role == "team" and not (isinstance(team, str) and team.strip()):
        raise AuthError("a team account needs team = \"<team name from the entry list>\"", path=path,
                        place=place, fix="add the team name")
    if role != "team" and team is not None:
        raise AuthError(f"role {role} sees every car; 'team' only applies to role = \"team\"", path=path,
                        place=place, fix="remove team or set role = \"team\"")
    hashed = spec.get("password_hash")
    if hashed is None and need_hash:
        raise AuthError("no password_hash", path=path, place=place,
                        fix="make one with 'bopwatch dashboard --hash-password'")
    if hashed is not None:
        if not (isinstance(hashed, str) and hashed.startswith(("$2a$", "$2b$", "$2y$")) and len(hashed) == 60):
            raise AuthError("password_hash is not a bcrypt hash", path=path, place=place,
                            fix="make one with 'bopwatch dashboard --hash-password' (plain passwords are refused)")
        hashed = hashed.encode("ascii")
    return Account(name, role, team.strip() if isinstance(team, str) else None,
                   str(spec.get("name", "")), hashed)


def authenticate(accounts: Accounts, username: str, password: str) -> Viewer:
    """The viewer for a correct user name and password; :class:`AuthError` otherwise (same message for an unknown
    user and a wrong password, and the same bcrypt cost)."""
    account = accounts.accounts.get(username.strip())
    raw = password.encode("utf-8")
    hashed = account.password_hash if account is not None and account.password_hash else _DUMMY_HASH
    ok = len(raw) <= _MAX_PASSWORD_BYTES and bcrypt.checkpw(raw, hashed)
    if not ok or account is None or account.password_hash is None:
        log.info("login refused for %r", username)
        raise AuthError("unknown user name or wrong password", fix="check both and try again")
    return account.viewer()


def viewer_for_identity(accounts: Accounts, email: str | None) -> Viewer:
    """The viewer for an OIDC identity (``st.user.email``); only e-mails listed under ``[oidc]`` get in."""
    account = accounts.oidc.get((email or "").strip().lower())
    if account is None:
        raise AuthError(f"the identity {email!r} has no role here", path=accounts.path,
                        fix="ask an administrator to add it under [oidc]")
    return account.viewer()


def start_session(viewer: Viewer, now: float) -> LoginSession:
    return LoginSession(viewer, now, now)


def check_session(accounts: Accounts, session: LoginSession, now: float) -> LoginSession:
    """The session with ``last_seen`` moved to ``now``; :class:`AuthError` when it has expired (too old, or idle
    for too long). The account must still exist with the same role and team (a removed account logs out)."""
    if now - session.issued_at > accounts.session_ttl_s:
        raise AuthError("session expired", fix="log in again")
    if now - session.last_seen > accounts.idle_timeout_s:
        raise AuthError("session expired after inactivity", fix="log in again")
    v = session.viewer
    current = accounts.accounts.get(v.username) or accounts.oidc.get(v.username)
    if current is None or current.role != v.role or current.team != v.team:
        raise AuthError("account changed or removed", fix="log in again")
    return LoginSession(v, session.issued_at, now, session.sid)


def require(viewer: Viewer | None, permission: str) -> Viewer:
    """``viewer`` when its role grants ``permission`` (``upload``, ``audit``, ``read_all``); else AuthError."""
    if viewer is None:
        raise AuthError("not logged in", fix="log in first")
    if permission not in _PERMISSIONS[viewer.role]:
        raise AuthError(f"role {viewer.role} may not {permission}", fix="log in with an account that may")
    return viewer



# --- login sessions kept server-side ------------------------------------------------------------------------------

SESSION_COOKIE = "bopwatch_session"     # HttpOnly, SameSite=Lax: the signed name of a login (SessionBook.cookie)
BIND_COOKIE = "bopwatch_bind"           # HttpOnly, SameSite=Strict: a random value per browser, binds a grant to it
GRANT_TTL_S = 60.0                      # a one-time grant (login form -> cookie) must be redeemed this soon
_TOUCH_EVERY_S = 5.0                    # the idle clock is written at most this often (a write is an fsync)
_COOKIE_VERSION = "1"
_KEY_FILE = "session.key"
_TABLE_FILE = "logins.sqlite"
_SCHEMA = """
CREATE TABLE IF NOT EXISTS logins (
    sid TEXT PRIMARY KEY, username TEXT NOT NULL, role TEXT NOT NULL, team TEXT, name TEXT NOT NULL,
    issued_at REAL NOT NULL, last_seen REAL NOT NULL, ended_at REAL, ended_why TEXT);
CREATE TABLE IF NOT EXISTS grants (
    code TEXT PRIMARY KEY, sid TEXT NOT NULL, bind TEXT NOT NULL, created_at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS login_failures (
    key TEXT PRIMARY KEY, failures INTEGER NOT NULL, last_at REAL NOT NULL, locked_until REAL NOT NULL);
CREATE TABLE IF NOT EXISTS login_attempts (
    at REAL NOT NULL, username TEXT NOT NULL, client TEXT NOT NULL, outcome TEXT NOT NULL);
"""

#: failed logins (per account name as typed, and per client address) before a lockout; each further failure
#: doubles it, from LOCK_FIRST_S up to LOCK_MAX_S. The count is forgotten FAILURE_MEMORY_S after the last
#: failure, and a correct login clears the account's and the client's count.
FREE_FAILURES = 5
LOCK_FIRST_S = 30.0
LOCK_MAX_S = 900.0
FAILURE_MEMORY_S = 3600.0


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _private_file(path: Path, make: bytes | None = None) -> None:
    """Create ``path`` readable by its owner only (0600) with ``make`` as content, unless it exists; refuse an
    existing file that others may read."""
    if make is not None:
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass
        else:
            with os.fdopen(fd, "wb") as out:
                out.write(make)
    mode = path.stat().st_mode & 0o777
    if mode & 0o077:
        raise AuthError(f"readable by others (mode {mode:o})", path=path,
                        fix=f"chmod 600 {path} (it signs or lists the dashboard's logins)")


@dataclass(frozen=True, slots=True)
class SessionBook:
    """The server-side table of dashboard logins and the key that signs their cookies (``open_sessions``).

    Every method takes ``now`` (seconds since the epoch) and is safe to call from several threads and processes:
    each opens its own SQLite connection.
    """

    folder: Path
    _key: bytes

    @contextlib.contextmanager
    def _db(self, *, write: bool = True) -> Iterator[sqlite3.Connection]:
        conn = sqlite3.connect(self.folder / _TABLE_FILE, timeout=10, isolation_level=None)
        try:
            conn.execute("BEGIN IMMEDIATE" if write else "BEGIN")
            yield conn
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        finally:
            conn.close()

    def _mac(self, body: str) -> str:
        return _b64(hmac.new(self._key, body.encode("ascii"), hashlib.sha256).digest())

    def begin(self, accounts: Accounts, session: LoginSession) -> LoginSession:
        """Record ``session`` (just started) as a row; returns it with its ``sid``. Rows past their lifetime are
        dropped on the way."""
        sid = secrets.token_urlsafe(32)
        v = session.viewer
        with self._db() as db:
            db.execute("DELETE FROM logins WHERE issued_at < ?", [session.issued_at - accounts.session_ttl_s - 86400])
            db.execute("DELETE FROM grants WHERE created_at < ?", [session.issued_at - GRANT_TTL_S])
            db.execute("INSERT INTO logins VALUES (?, ?, ?, ?, ?, ?, ?, NULL, NULL)",
                       [sid, v.username, v.role, v.team, v.name, session.issued_at, session.last_seen])
        return replace(session, sid=sid)

    def cookie(self, session: LoginSession) -> str:
        """The cookie value naming ``session``: ``1.<sid>.<issued, whole seconds>.<HMAC>``."""
        if session.sid is None:
            raise AuthError("this login is not kept server-side", fix="record it with SessionBook.begin first")
        body = f"{_COOKIE_VERSION}.{session.sid}.{int(session.issued_at)}"
        return f"{body}.{self._mac(body)}"

    def grant(self, session: LoginSession, bind: str, now: float) -> str:
        """A one-time code that the browser holding the cookie ``BIND_COOKIE=bind`` may exchange, within
        ``GRANT_TTL_S``, for the login cookie of ``session`` (:meth:`redeem`)."""
        if session.sid is None or not bind:
            raise AuthError("nothing to grant", fix="begin the login and send the bind cookie first")
        code = secrets.token_urlsafe(32)
        with self._db() as db:
            db.execute("INSERT INTO grants VALUES (?, ?, ?, ?)", [code, session.sid, bind, now])
        return code

    def redeem(self, accounts: Accounts, code: str, bind: str | None, now: float) -> tuple[str, LoginSession]:
        """The cookie value and the session for a grant; the grant is used up whatever the outcome. Refused: an
        unknown, used or stale code, another browser's (``bind`` differs), a login already ended or expired."""
        with self._db() as db:
            row = db.execute("DELETE FROM grants WHERE code = ? RETURNING sid, bind, created_at", [code]).fetchone()
        if row is None or not bind or not hmac.compare_digest(row[1], bind) or now - row[2] > GRANT_TTL_S:
            raise AuthError("login link not valid (used, expired, or from another browser)", fix="log in again")
        session = self._check(accounts, row[0], None, now, touch=True)
        return self.cookie(session), session

    def resume(self, accounts: Accounts, cookie: str, now: float, *, touch: bool = True) -> LoginSession:
        """The login a cookie value names, its idle clock moved to ``now`` (unless ``touch`` is false).
        :class:`AuthError` for a malformed or tampered value, a login past its lifetime or idle too long, logged
        out, or whose account changed."""
        parts = cookie.split(".")
        if len(parts) != 4 or parts[0] != _COOKIE_VERSION or not parts[2].isdigit():
            raise AuthError("saved login not valid", fix="log in again")
        body = ".".join(parts[:3])
        if not hmac.compare_digest(self._mac(body), parts[3]):
            log.warning("session cookie with a wrong signature")
            raise AuthError("saved login not valid", fix="log in again")
        if now - int(parts[2]) > accounts.session_ttl_s:       # the lifetime is in the signed value itself
            raise AuthError("session expired", fix="log in again")
        return self._check(accounts, parts[1], int(parts[2]), now, touch=touch)

    def touch(self, accounts: Accounts, session: LoginSession, now: float) -> LoginSession:
        """:func:`check_session` against the row of ``session`` (idle clock shared by every tab of the login)."""
        return self._check(accounts, session.sid or "", int(session.issued_at), now, touch=True)

    def alive(self, accounts: Accounts, session: LoginSession, now: float) -> bool:
        """Whether the login still holds, without counting as activity."""
        try:
            self._check(accounts, session.sid or "", int(session.issued_at), now, touch=False)
        except AuthError:
            return False
        return True

    def _check(self, accounts: Accounts, sid: str, issued: int | None, now: float, *, touch: bool) -> LoginSession:
        """The row ``sid`` (started at ``issued`` when given) through :func:`check_session`; with ``touch`` its idle
        clock moves to ``now`` (written at most every ``_TOUCH_EVERY_S``). A refused login is not touched, so an
        expired one stays expired."""
        with self._db(write=False) as db:
            row = db.execute("SELECT username, role, team, name, issued_at, last_seen, ended_at FROM logins "
                             "WHERE sid = ?", [sid]).fetchone()
        if row is None or (issued is not None and int(row[4]) != issued):
            raise AuthError("saved login not valid", fix="log in again")
        if row[6] is not None:
            raise AuthError("logged out", fix="log in again")
        session = check_session(accounts, LoginSession(Viewer(row[0], row[1], row[2], row[3]), row[4], row[5], sid),
                                now)
        if touch and now - row[5] >= _TOUCH_EVERY_S:
            with self._db() as db:
                db.execute("UPDATE logins SET last_seen = max(last_seen, ?) WHERE sid = ? AND ended_at IS NULL",
                           [now, sid])
        return session

    def login(self, accounts: Accounts, username: str, password: str, client: str, now: float) -> Viewer:
        """:func:`authenticate` with a lockout kept in the login table, so reloading the page, a new tab or a new
        browser does not reset it: after ``FREE_FAILURES`` failures of one account name, or from one client
        address, further tries are refused without checking the password for ``LOCK_FIRST_S`` seconds, doubling
        with each failure up to ``LOCK_MAX_S``. An unknown name is counted like a known one (the lockout does not
        tell which exist). Every attempt is recorded in ``login_attempts`` (time, name, client, outcome)."""
        name = username.strip()
        keys = (f"account:{name}", f"client:{client or 'unknown'}")
        with self._db() as db:
            db.execute("DELETE FROM login_failures WHERE last_at < ? AND locked_until < ?",
                       [now - FAILURE_MEMORY_S, now])
            locked = max((r[0] for r in db.execute(
                f"SELECT locked_until FROM login_failures WHERE key IN ({', '.join('?' * len(keys))})",
                keys).fetchall()), default=0.0)
            if locked > now:
                db.execute("INSERT INTO login_attempts VALUES (?, ?, ?, 'locked')", [now, name, keys[1][7:]])
        if locked > now:
            wait = int(locked - now + 0.999)
            log.warning("login locked for %r from %s (%d s left)", name, client, wait)
            raise AuthError(f"too many failed logins: try again in {wait} s",
                            fix="wait, then check the user name and password; a scrutineer can reset a "
                            "password in the accounts file")
        try:
            viewer = authenticate(accounts, name, password)
        except AuthError:
            with self._db() as db:
                for key in keys:
                    row = db.execute("SELECT failures FROM login_failures WHERE key = ?", [key]).fetchone()
                    failures = (row[0] if row else 0) + 1
                    over = failures - FREE_FAILURES      # 0 at the last free failure: LOCK_FIRST_S
                    until = now + min(LOCK_FIRST_S * 2.0 ** min(over, 32), LOCK_MAX_S) if over >= 0 else 0.0
                    db.execute("INSERT OR REPLACE INTO login_failures VALUES (?, ?, ?, ?)",
                               [key, failures, now, until])
                db.execute("INSERT INTO login_attempts VALUES (?, ?, ?, 'refused')", [now, name, keys[1][7:]])
            raise
        with self._db() as db:
            db.execute(f"DELETE FROM login_failures WHERE key IN ({', '.join('?' * len(keys))})", keys)
            db.execute("INSERT INTO login_attempts VALUES (?, ?, ?, 'ok')", [now, name, keys[1][7:]])
        return viewer

    def attempts(self, since: float = 0.0) -> list[tuple[float, str, str, str]]:
        """The recorded login attempts since ``since``: (time, user name as typed, client, ok|refused|locked)."""
        with self._db(write=False) as db:
            return [tuple(r) for r in db.execute("SELECT at, username, client, outcome FROM login_attempts "
                                                 "WHERE at >= ? ORDER BY at, rowid", [since]).fetchall()]

    def end(self, session: LoginSession | None, now: float, why: str = "logged out") -> None:
        """Log out: the row is marked ended, so every tab and cookie naming it is refused from now on."""
        if session is None or session.sid is None:
            return
        with self._db() as db:
            db.execute("UPDATE logins SET ended_at = ?, ended_why = ? WHERE sid = ? AND ended_at IS NULL",
                       [now, why, session.sid])
            db.execute("DELETE FROM grants WHERE sid = ?", [session.sid])


def open_sessions(folder: str | Path) -> SessionBook:
    """The login table in ``folder`` (created 0700), with its signing key (32 random bytes, created once, 0600).
    Refuses a key or table file that others may read."""
    folder = Path(folder)
    try:
        folder.mkdir(mode=0o700, exist_ok=True)
        key_path = folder / _KEY_FILE
        _private_file(key_path, secrets.token_hex(32).encode("ascii"))
        key = bytes.fromhex(key_path.read_text(encoding="ascii").strip())
        table = folder / _TABLE_FILE
        _private_file(table, b"")
        with contextlib.closing(sqlite3.connect(table, timeout=10)) as conn:
            conn.executescript(_SCHEMA)
    except (OSError, ValueError, sqlite3.Error) as err:
        raise AuthError(f"cannot open the login table: {err}", path=folder,
                        fix="give the dashboard a writable --session-dir (default: next to the store)") from None
    if len(key) < 32:
        raise AuthError("session key shorter than 32 bytes", path=key_path, fix="delete it; a new one is made")
    return SessionBook(folder, key)
