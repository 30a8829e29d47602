"""Upload (scrutineers): choose event, session and car from the entry list, drop the car's logs, see the
verdict. Files above the configured size are refused with a pointer to ``bopwatch ingest`` / ``watch``."""

from __future__ import annotations

import streamlit as st

from compliance import queries as q
from compliance.auth import AuthError, require
from compliance.errors import ComplianceError
from dashboard import context, uploads

viewer = context.require_viewer()
try:
    require(viewer, "upload")
except AuthError as err:
    st.error(str(err))
    st.stop()
store = context.store()
max_mb = context.max_upload_mb()
st.title("Upload logs")
st.caption(f"One car's logs for one session (files a logger rolled are joined in time order). Up to {max_mb} MB "
           "per file; larger logs: `bopwatch ingest LOG --event E --session S --car N --profile P` on the "
           "server, or a folder served by `bopwatch watch DIR`.")

options = q.filter_options(viewer, store)
if not options.events:
    st.info("The store has no event yet: ingest an event with `bopwatch ingest ... --entry-list` or "
            "`bopwatch demo` first, so that its entry list can be picked here.")
    st.stop()
names = dict(options.events)
c1, c2, c3 = st.columns([2, 2, 3])
event = c1.selectbox("Event", list(names), format_func=names.get, key="up_event")
sessions = {s["session"]: s["name"] for s in q.sessions_of(viewer, store, event)}
session = c2.selectbox("Session", list(sessions), format_func=sessions.get, key="up_session")
entries = {e["car"]: e for e in q.entry_list(viewer, store, event)}
car = c3.selectbox("Car", list(entries), key="up_car", format_func=lambda c: (
    f"#{c} {entries[c]['team'] or ''} ({entries[c]['model'] or 'model unknown'}, {entries[c]['class'] or '-'})"))
readable = [b for b in q.bulletins(viewer, store) if b.bulletin is not None]
chosen = st.multiselect("Bulletins (the one in force at the session start is applied)",
                        [b.path for b in readable], default=[b.path for b in readable], key="up_bulletins",
                        format_func=lambda p: next(f"{b.id} ({p})" for b in readable if b.path == p))
files = st.file_uploader("Log files", type=sorted({s.lstrip(".").split(".")[-1] for s in uploads.ALLOWED_SUFFIXES}),
                         accept_multiple_files=True, max_upload_size=max_mb, key="up_files")

if st.button("Check and store", type="primary", disabled=not (files and session and car), key="up_go"):
    bar = st.progress(0.0, text="checking the files")

    def progress(done: int, total: int | None, what: str) -> None:
        bar.progress(min(1.0, done / total) if total else 0.5, text=what[:120])

    try:
        results = uploads.ingest_uploads(
            viewer, store, [(f.name, f.getvalue()) for f in files], event=event, session=session, car=car,
            model=entries[car]["model"], bulletins=chosen, max_bytes=max_mb * 1024 * 1024, progress=progress)
    except ComplianceError as err:
        bar.empty()
        st.error(str(err))
        st.stop()
    bar.progress(1.0, text="done")
    for label, outcome in results:
        if outcome.status == "error":
            st.error(f"{label}: {outcome.error}")
        elif outcome.status == "stored":
            st.info(f"{label}: stored without a verdict (no bulletin chosen)")
        else:
            show = {"infringement": st.error, "incomplete": st.warning}.get(outcome.verdict or "", st.success)
            note = " (these inputs were already judged)" if outcome.status == "duplicate" else ""
            show(f"{label}: car #{car} {session}: **{(outcome.verdict or '').upper()}** under "
                 f"{outcome.bulletin}{note}")
    run_id = next((o.run_id for _, o in results if o.run_id), None)
    if run_id:
        st.session_state["car_run"] = run_id
        st.page_link("app_pages/car.py", label="Open the evidence of this run")
