"""Report downloads for one run: the stored verdict (SPEC §4 JSON, byte for byte as stored) and, where
``compliance.report`` provides one, the steward report of the run's car. Everything is read for the viewer."""

from __future__ import annotations

import importlib
import logging

import streamlit as st

from compliance import queries as q
from compliance.auth import Viewer
from compliance.errors import ComplianceError
from compliance.store import Store

__all__ = ["downloads"]

log = logging.getLogger(__name__)


def _steward_report(viewer: Viewer, store: Store, run_id: str) -> tuple[bytes, str, str] | None:
    """(bytes, file name, mime) of the steward report for this run's car, or None when the report module is
    not installed. Only a report limited to cars the viewer may see is offered."""
    try:
        report = importlib.import_module("compliance.report")
    except ImportError:
        return None
    render = getattr(report, "render_run_report", None)
    if render is None:
        return None
    q.run_detail(viewer, store, run_id)          # authorisation: the viewer may see this run
    html = render(store, run_id)
    return (html.encode() if isinstance(html, str) else html), f"steward-report-{run_id[:12]}.html", "text/html"


def downloads(viewer: Viewer, store: Store, run_id: str, *, key: str) -> None:
    try:
        text = q.verdict_json(viewer, store, run_id)
    except ComplianceError as err:
        st.warning(str(err))
        return
    detail = q.run_detail(viewer, store, run_id)
    run = detail.run
    name = f"verdict-{run['event']}-{run['session']}-car{run['car']}-{run_id[:8]}.json"
    st.download_button("Download the verdict (JSON, as stored)", text, file_name=name,
                       mime="application/json", key=f"{key}_dl_json")
    st.caption(f"SHA-256 of the stored verdict: `{run['verdict_sha256']}` (recorded in the audit chain)")
    try:
        made = _steward_report(viewer, store, run_id)
    except ComplianceError as err:
        st.warning(f"Steward report not available: {err}")
        return
    if made is None:
        st.caption("The steward report for a whole session: `bopwatch report --event E --session S --format pdf`.")
        return
    data, file_name, mime = made
    st.download_button("Download the steward report", data, file_name=file_name, mime=mime,
                       key=f"{key}_dl_report")
