"""Car profiles (TOML) and their DBC files: data, located with ``dbc.path(name)``."""

from pathlib import Path

ROOT = Path(__file__).parent


def path(name: str) -> Path:
    """The path of a file shipped in ``dbc/``."""
    return ROOT / name
