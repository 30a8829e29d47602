"""Settings, with the precedence written once: explicit argument > environment variable > default.

Every command and library function that needs a setting calls :func:`setting` (or one of the typed helpers) with
the value it was given (``None`` when the user gave none); nothing else reads ``os.environ`` for these names.

| setting        | environment variable      | default                         |
|----------------|---------------------------|---------------------------------|
| db             | ``BOPWATCH_DB``           | ``./bopwatch.duckdb``           |
| lock_timeout_s | ``BOPWATCH_LOCK_TIMEOUT`` | ``120`` seconds                 |
| settle_s       | ``BOPWATCH_SETTLE_S``     | ``2.0`` seconds (watch)         |
| poll_s         | ``BOPWATCH_POLL_S``       | ``0.5`` seconds (watch)         |
| actor          | ``BOPWATCH_USER``         | ``<login>@<host>`` (audit log)  |
| profiles       | ``BOPWATCH_PROFILES``     | the packaged ``dbc/`` folder    |
"""

from __future__ import annotations

import getpass
import os
import socket
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .errors import ComplianceError

__all__ = ["Setting", "SETTINGS", "setting", "db_path", "lock_timeout_s", "settle_s", "poll_s", "actor",
           "profiles_dir"]


def _default_actor() -> str:
    try:
        user = getpass.getuser()
    except (KeyError, OSError):  # no passwd entry (containers)
        user = f"uid{os.getuid()}"
    return f"{user}@{socket.gethostname()}"


def _default_profiles() -> str:
    import dbc
    return str(Path(dbc.__file__).resolve().parent)


@dataclass(frozen=True, slots=True)
class Setting:
    name: str
    env: str
    default: Callable[[], Any]
    parse: Callable[[str], Any]
    help: str


SETTINGS: dict[str, Setting] = {s.name: s for s in [
    Setting("db", "BOPWATCH_DB", lambda: "bopwatch.duckdb", str, "DuckDB store file"),
    Setting("lock_timeout_s", "BOPWATCH_LOCK_TIMEOUT", lambda: 120.0, float,
            "seconds to wait for the store's write lock before failing"),
    Setting("settle_s", "BOPWATCH_SETTLE_S", lambda: 2.0, float,
            "seconds a watched file's size and mtime must stay unchanged before it is read"),
    Setting("poll_s", "BOPWATCH_POLL_S", lambda: 0.5, float, "watch: seconds between scans"),
    Setting("actor", "BOPWATCH_USER", _default_actor, str, "who the audit log names"),
    Setting("profiles", "BOPWATCH_PROFILES", _default_profiles, str, "folder of car profiles (TOML)"),
]}


def setting(name: str, given: Any = None) -> Any:
    """The value of setting ``name``: ``given`` when not None, else its environment variable, else its default."""
    spec = SETTINGS[name]
    if given is not None:
        return given
    raw = os.environ.get(spec.env)
    if raw is not None and raw != "":
        try:
            return spec.parse(raw)
        except ValueError as err:
            raise ComplianceError(f"{spec.env}={raw!r} is not valid: {err}", place=f"environment {spec.env}",
                                  fix=f"set {spec.env} to a {spec.parse.__name__} or unset it") from None
    return spec.default()


def db_path(given: str | os.PathLike | None = None) -> Path:
    return Path(setting("db", None if given is None else str(given))).expanduser().resolve()


def lock_timeout_s(given: float | None = None) -> float:
    return float(setting("lock_timeout_s", given))


def settle_s(given: float | None = None) -> float:
    return float(setting("settle_s", given))


def poll_s(given: float | None = None) -> float:
    return float(setting("poll_s", given))


def actor(given: str | None = None) -> str:
    return str(setting("actor", given))


def profiles_dir(given: str | os.PathLike | None = None) -> Path:
    return Path(setting("profiles", None if given is None else str(given))).expanduser()
