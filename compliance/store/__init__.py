"""The evidence store: one DuckDB file (schema and named migrations), the originals kept write-once under their
hashes, the channel Parquet, and the keyed audit chain binding every row a verdict, a report or an access decision
reads. Uses the judge's types; never the reports, the dashboard or the command line.
"""
from .schema import Store, open_store, utcnow, worst_verdict

__all__ = ["Store", "open_store", "utcnow", "worst_verdict"]
