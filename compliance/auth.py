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

This module does not import Streamlit; the dashboard adapts it. Authorisation itself is enforced where data is
read (:mod:`compliance.queries` takes a :class:`Viewer` on every call).
"""

from __future__ import annotations

import logging
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType

import bcrypt

from .errors import ComplianceError

__all__ = [
    "ROLES", "AuthError", "Viewer", "Account", "Accounts", "LoginSession",
    "load_accounts", "parse_accounts", "hash_password", "authenticate", "viewer_for_identity",
    "start_session", "check_session", "require",
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
    """One login: who, when it began and when it was last used (seconds, any monotonic-enough clock)."""

    viewer: Viewer
    issued_at: float
    last_seen: float


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
    return LoginSession(v, session.issued_at, now)


def require(viewer: Viewer | None, permission: str) -> Viewer:
    """``viewer`` when its role grants ``permission`` (``upload``, ``audit``, ``read_all``); else AuthError."""
    if viewer is None:
        raise AuthError("not logged in", fix="log in first")
    if permission not in _PERMISSIONS[viewer.role]:
        raise AuthError(f"role {viewer.role} may not {permission}", fix="log in with an account that may")
    return viewer

