"""Access: accounts, roles and sessions, and every read (and the one write, an upload) the dashboard makes, each
authorised for a :class:`Viewer`. The dashboard's only door into ``compliance`` besides the report renderers.
"""
from .. import config
from ..bop.bulletins import RULE_NAMES
from ..ingest.pipeline import ingest_logs
from ..judge.outings import LogSpan, Outing, log_span, when_text
from ..store.schema import Store
from . import analysis, auth, ledger, queries, v2_facts
from .auth import BIND_COOKIE, AuthError, Viewer

__all__ = ["auth", "queries", "config", "Viewer", "AuthError", "BIND_COOKIE", "Store", "RULE_NAMES", "ingest_logs",
           "LogSpan", "Outing", "log_span", "when_text", "ledger", "v2_facts",
           "analysis"]
