"""Report downloads for one run: the stored verdict (SPEC §4 JSON, byte for byte as stored) and the steward
report of the run's car (HTML, PDF), plus the whole session's report for staff. All read for the viewer through
:mod:`compliance.access.queries`; reports are made only when a button is pressed."""

from __future__ import annotations

import streamlit as st

from compliance.access import Store
from compliance.access import queries as q
from compliance.access.auth import Viewer
from compliance.errors import ComplianceError

__all__ = ["downloads"]

_MIME = {"html": "text/html", "pdf": "application/pdf"}


def _maker(viewer: Viewer, store: Store, event: str, session: str, car: str | None, fmt: str):
    def make() -> bytes:
        try:
            return q.steward_report(viewer, store, event, session, car=car, fmt=fmt)
        except ComplianceError as err:      # shown in the file rather than lost: the button already fired
            return f"bopwatch: no report: {err}\n".encode()
    return make


def downloads(viewer: Viewer, store: Store, run_id: str, *, key: str) -> None:
    try:
        text = q.verdict_json(viewer, store, run_id)
        run = q.run_detail(viewer, store, run_id).run
    except ComplianceError as err:
        st.warning(str(err))
        return
    event, session, car = run["event"], run["session"], run["car"]
    st.download_button("Verdict (JSON, as stored)", text, file_name=f"verdict-{event}-{session}-car{car}.json",
                       mime="application/json", key=f"{key}_dl_json", on_click="ignore")
    st.caption(f"SHA-256 of the stored verdict: `{run['verdict_sha256']}` (recorded in the audit chain)")
    cols = st.columns(4)
    for i, fmt in enumerate(("html", "pdf")):
        cols[i].download_button(f"Steward report, car #{car} ({fmt.upper()})",
                                _maker(viewer, store, event, session, car, fmt),
                                file_name=f"steward-{event}-{session}-car{car}.{fmt}", mime=_MIME[fmt],
                                key=f"{key}_dl_car_{fmt}", on_click="ignore")
    if viewer.sees_all_cars:
        for i, fmt in enumerate(("html", "pdf")):
            cols[2 + i].download_button(f"Whole session ({fmt.upper()})",
                                        _maker(viewer, store, event, session, None, fmt),
                                        file_name=f"steward-{event}-{session}.{fmt}", mime=_MIME[fmt],
                                        key=f"{key}_dl_session_{fmt}", on_click="ignore")
    st.caption("The report notes the latest run of each car; older runs stay in the store and the audit log.")
