"""A steward report rendered in one of :data:`compliance.reports.steward.FORMATS` (JSON, CSV, HTML, PDF) and written
atomically. Sits above the report model (``compliance.reports.steward``) and its HTML and PDF renderers."""

from __future__ import annotations

import os
from pathlib import Path

from ..errors import StoreError
from ..store.schema import Store
from .steward import FORMATS, SessionReport, to_csv, to_json
from .steward_html import to_html
from .steward_pdf import to_pdf

__all__ = ["render", "write_report"]


def render(report: SessionReport, fmt: str, store: Store | None = None) -> bytes:
    if fmt == "json":
        return to_json(report).encode()
    if fmt == "csv":
        return to_csv(report).encode()
    if fmt == "html":
        return to_html(report, store).encode()
    if fmt == "pdf":
        return to_pdf(report, store)
    raise StoreError(f"unknown report format {fmt!r}", fix=f"use one of {', '.join(FORMATS)}")


def write_report(report: SessionReport, fmt: str, out: str | Path, store: Store | None = None) -> Path:
    """Write the report atomically (temporary file + rename) and return its path."""
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    data = render(report, fmt, store)
    tmp = out.with_name(f".{out.name}.{os.getpid()}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, out)
    return out
