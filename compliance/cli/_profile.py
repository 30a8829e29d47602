"""``--profile P`` of ``check`` and ``decode``: a car profile TOML, or a model id looked up the way ``ingest``
looks it up (:func:`compliance.ingest.pipeline.find_profile`: ``BOPWATCH_PROFILES``, default the ``dbc/`` folder)."""

from __future__ import annotations

from pathlib import Path

__all__ = ["PROFILE_HELP", "resolve_profile"]

PROFILE_HELP = "car profile TOML (SPEC §2), or a model id looked up in BOPWATCH_PROFILES (default dbc/)"


def resolve_profile(given: str) -> str:
    """The profile file ``given`` names. An existing file is taken as it is, without importing the store
    modules :mod:`compliance.ingest.pipeline` needs (they would add to every ``check``); anything else goes to
    ``find_profile``, which also words the error for a missing file or an unknown model."""
    if Path(given).is_file():
        return given
    from ..ingest.pipeline import find_profile

    return str(find_profile(given))
