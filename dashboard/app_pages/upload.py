"""Upload (scrutineers): choose event, session and car from the entry list, drop the car's logs, see what will be
stored where, answer "add to this run or a new run?" when the car already has a log in that session, then one
verdict or one problem per file. The form is empty again after each submission: the uploader's key changes (a
counter in ``st.session_state``), the only way to clear ``st.file_uploader`` outside a form, and a form cannot ask
the question, which needs the dropped files' time ranges before submitting."""

from __future__ import annotations

import time
from pathlib import PurePath

import streamlit as st

from compliance.access import LogSpan, when_text
from compliance.access import queries as q
from compliance.access.auth import AuthError, require
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
st.caption(f"One car's logs of one session: a logger's rolled files together, or a new outing on its own. Up to "
           f"{max_mb} MB per file; the event's data operator loads larger logs on the server.")

_ROUND = "up_round"      # bumped after each submission: a new uploader key, so the form starts empty
_LAST = "up_last"        # what the last submission stored (shown until the next one)
_SPANS = "up_spans"      # sha256 -> LogSpan or the reason the file cannot be read (an isolated read is not free)
_CHECKED = "up_checked"  # uploader file id -> uploads.Dropped
_JOIN_TEXT = {"add": "Add to this run (the logger rolled files)", "new": "Start a new run (a new outing)"}

options = q.filter_options(viewer, store)
if not options.events:
    st.info("The store has no event yet: the event's data operator loads its entry list on the server first, so "
            "that its cars and sessions can be picked here.")
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
                        format_func=lambda p: next(f"{b.id} ({PurePath(p).name})" for b in readable if b.path == p))
round_no = st.session_state.setdefault(_ROUND, 0)
files = st.file_uploader("Log files", type=sorted({s.lstrip(".").split(".")[-1] for s in uploads.ALLOWED_SUFFIXES}),
                         accept_multiple_files=True, max_upload_size=max_mb,
                         key="up_files" if round_no == 0 else f"up_files_{round_no}")
max_bytes = max_mb * 1024 * 1024


def _size(n: int) -> str:
    return f"{n / 1e6:.1f} MB" if n >= 100_000 else f"{n / 1e3:.1f} kB"


def _range(span: LogSpan | str | None) -> str:
    if span is None:
        return ""
    if isinstance(span, str):
        return "cannot be read"
    return "no absolute start recorded" if span.start is None else f"{when_text(span.start)} to {when_text(span.end)}"


def _spans(dropped: list[uploads.Dropped]) -> list[LogSpan | str]:
    """The dropped files' time ranges, each read once per browser session (by content)."""
    known = st.session_state.setdefault(_SPANS, {})
    todo = [(f, d) for f, d in zip(files, dropped, strict=True) if d.sha256 not in known]
    if todo:
        with st.spinner("Reading the files' time ranges"):
            read = uploads.spans_of(viewer, [(f.name, f.getvalue()) for f, _ in todo])
        known.update({d.sha256: span for (_, d), span in zip(todo, read, strict=True)})
    return [known[d.sha256] for d in dropped]


def _checked(uploaded) -> list[uploads.Dropped]:
    """Each dropped file's size, type and hash, computed once per file (reruns come with every click)."""
    known = st.session_state.setdefault(_CHECKED, {})
    for f in uploaded:
        if f.file_id not in known:
            known[f.file_id] = uploads.check_upload(f.name, f.getvalue(), max_bytes=max_bytes)
    return [known[f.file_id] for f in uploaded]


def _question(stored: list[q.Outing], spans: list[LogSpan | str]) -> str | None:
    """Ask whether the files join the car's latest run or start a new one; None until answered (or impossible)."""
    latest = stored[-1]
    st.markdown(f"**Car #{car} already has {len(stored)} run{'s' if len(stored) > 1 else ''} in this session:**")
    st.dataframe([{"run": o.number, "from": when_text(o.start), "to": when_text(o.end),
                   "files": ", ".join(s.name for s in o.logs), "verdict": (o.verdict or "not judged").upper()}
                  for o in stored], hide_index=True, width="stretch")
    clashes = uploads.overlapping(latest, spans)
    among = [c for c in clashes if "also dropped now" in c]
    if among:
        st.error("These files overlap each other, so they cannot be one run: " + "; ".join(among)
                 + ". Upload each outing's files on their own.")
        return None
    choices = ["add", "new"]
    if clashes:
        st.warning(f"Cannot be added to run {latest.number}: " + "; ".join(clashes) + ". Two recordings of the "
                   "same time are never merged. Store it as a new run only if it is a separate outing of the car; "
                   "if it is the same outing recorded twice, it is not needed.")
        choices = ["new"]
    ask = (f"Are the dropped files part of run {latest.number}, or a new outing of car #{car}?" if len(choices) > 1
           else f"Store the dropped files as a new outing of car #{car}?")
    return st.radio(ask, choices, index=None, format_func=_JOIN_TEXT.get, key=f"up_join_{round_no}")


join: str | None = None
dropped: list[uploads.Dropped] = []
if files:
    dropped = _checked(files)
    stored = q.outings(viewer, store, event, session, car) if car and session else []
    spans = _spans(dropped) if stored and not any(d.refusal for d in dropped) else [None] * len(dropped)
    for d, span in zip(dropped, spans, strict=True):
        if d.refusal:
            st.error(d.refusal)
        elif isinstance(span, str):
            st.error(f"{d.label} cannot be read: {span}")
    entry = entries.get(car, {})
    st.info(f"To be stored for **car #{car}** ({entry.get('team') or 'team unknown'}, "
            f"{entry.get('model') or 'model unknown'}), **session {sessions.get(session, session)}** of "
            f"{names.get(event, event)}: {len(dropped)} file{'s' if len(dropped) > 1 else ''}, "
            f"{_size(sum(d.size for d in dropped))}.")
    if stored:
        st.dataframe([{"file": d.label, "size": _size(d.size), "recorded": _range(s)}
                      for d, s in zip(dropped, spans, strict=True)], hide_index=True, width="stretch")
        join = _question(stored, spans)
    elif not any(d.refusal for d in dropped):
        join = "auto"

ready = bool(files and session and car) and join is not None and not any(d.refusal for d in dropped)


def _forget(uploaded) -> None:
    """Drop the submitted files from Streamlit's in-memory upload store (they are in the evidence store now);
    best effort: without a Streamlit runtime (tests) there is nothing to drop."""
    try:
        from streamlit.runtime import get_instance
        from streamlit.runtime.scriptrunner import get_script_run_ctx

        ctx = get_script_run_ctx()
        manager = get_instance().uploaded_file_mgr
        for f in uploaded:
            manager.remove_file(ctx.session_id, f.file_id)
    except (RuntimeError, AttributeError):
        pass


if st.button("Check and store", type="primary", disabled=not ready, key="up_go") and ready:
    n = len(files)
    bar = st.progress(0.02, text=f"Checking {n} file{'s' if n > 1 else ''} for car #{car}, session {session}")
    state = {"shown": 0.0, "steps": 0}

    def progress(done: int, total: int | None, what: str) -> None:
        now = time.monotonic()
        if now - state["shown"] < 0.3:       # each update is a message to the browser: a few per second at most
            return
        state["shown"], state["steps"] = now, state["steps"] + 1
        share = min(0.95, done / total) if total else 1.0 - 0.85 ** state["steps"]
        bar.progress(max(0.05, share), text=f"Judging car #{car}: {uploads.plain(what)}"[:120])

    try:
        results = uploads.ingest_uploads(
            viewer, store, [(f.name, f.getvalue()) for f in files], event=event, session=session, car=car,
            model=entries[car]["model"], bulletins=chosen, max_bytes=max_bytes, join=join or "auto",
            progress=progress)
    except ComplianceError as err:
        bar.empty()
        st.error(uploads.plain(str(err)))
        st.stop()
    bar.progress(1.0, text="done")
    st.session_state[_LAST] = {"event": event, "session": session, "car": car, "results": results}
    st.session_state[_ROUND] = round_no + 1
    st.session_state.pop(_SPANS, None)
    st.session_state.pop(_CHECKED, None)
    _forget(files)
    st.rerun()


def _hint(problem: str) -> str:
    if "overlaps" in problem:
        return (" If it is a separate outing of the car, drop it again and choose 'Start a new run'; a second "
                "recording of the same outing is not needed.")
    if "outside the window" in problem:
        return " Check the session: file it under the session it was recorded in."
    if "allowed between the files" in problem:
        return " If it is a new outing of the car, drop it again and choose 'Start a new run'."
    return ""


last = st.session_state.get(_LAST)
if last:
    st.subheader(f"Last submission: car #{last['car']}, session {last['session']}")
    results: list[uploads.UploadResult] = last["results"]
    where = f"car #{last['car']} {last['session']}"
    for r in results:
        outing = f" (run {r.outing})" if r.outing and r.outing > 1 else ""
        if r.status in ("refused", "error"):
            problem = r.problem or "the check failed"
            if r.cause:
                st.error(f"{r.label}: not stored either: it was to be judged with {r.cause}, and {r.cause} was "
                         f"refused ({problem}). Drop them again once {r.cause} is fixed, or this file alone.")
            else:
                st.error(f"{r.label}: not stored: {problem}" + ("" if problem.endswith(".") else ".")
                         + _hint(problem))
        elif r.status == "stored":
            st.info(f"{r.label}: {where}{outing}: stored without a verdict (no bulletin chosen)")
        else:
            show = {"infringement": st.error, "incomplete": st.warning}.get(r.verdict or "", st.success)
            note = " (these files were already judged)" if r.status == "duplicate" else ""
            show(f"{r.label}: {where}{outing}: **{(r.verdict or '').upper()}** under {r.bulletin}{note}")
    run_id = next((r.run_id for r in results if r.run_id), None)
    if run_id:
        st.session_state["car_run"] = run_id
        st.page_link("app_pages/car.py", label="Open the evidence of this run")
