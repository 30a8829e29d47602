"""Ingest: whose a log is (event file, entry list, sidecar), the join rules against what is stored, judging each
car's session and writing it to the store; the watched folder and the parallel fleet run the same path.
"""
from .outcomes import IngestOutcome, exit_code
from .pipeline import ingest_logs, recheck

__all__ = ["ingest_logs", "recheck", "IngestOutcome", "exit_code"]
