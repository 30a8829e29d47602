"""Session overview: cars x rules with verdicts and exceedance counts against the allowance; a cell opens its
evidence below the matrix."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from compliance.access import queries as q
from dashboard import context, evidence

viewer = context.require_viewer()
store = context.store()
st.title("Session overview")

options = q.filter_options(viewer, store)
if not options.events:
    st.info("Nothing to show yet: no checked logs for the cars you may see. Scrutineers upload logs on the "
            "Upload page, or ingest them with `bopwatch ingest` / `bopwatch watch`.")
    st.stop()

names = dict(options.events)
link = st.query_params    # deep link /overview?event=E&session=S|all, kept in the address as it changes
c1, c2, c3, c4, c5 = st.columns([2, 2, 1.2, 2, 2])
event = c1.selectbox("Event", list(names), format_func=lambda e: names[e], key="ov_event",
                     index=list(names).index(link["event"]) if link.get("event") in names else 0)
sessions = dict(options.sessions.get(event, ()))
choices = [None, *sessions]
linked = {"all": 0, **{s: i + 1 for i, s in enumerate(sessions)}}.get(link.get("session", ""), len(sessions))
session = c2.selectbox("Session", choices, format_func=lambda s: "all sessions" if s is None else sessions[s],
                       index=linked, key="ov_session")       # default: the latest session
link["event"] = event
link["session"] = session or "all"
classes = c3.multiselect("Class", options.classes, key="ov_class")
models = c4.multiselect("Model", options.models, key="ov_model")
teams = c5.multiselect("Team", options.teams, key="ov_team", disabled=not viewer.sees_all_cars)

rows = q.session_matrix(viewer, store, event=event, session=session, classes=classes, models=models, teams=teams)
if not rows:
    st.info("No car matches these filters.")
    st.stop()
rules = q.matrix_rules(rows)

counts = {v: sum(1 for r in rows if r.verdict == v) for v in ("infringement", "incomplete", "compliant", None)}
m1, m2, m3, m4 = st.columns(4)
m1.metric("Infringements", counts["infringement"])
m2.metric("Incomplete (cannot certify)", counts["incomplete"])
m3.metric("Compliant", counts["compliant"])
m4.metric("Entered, no log", counts[None])

_MARK = {"infringement": "✗", "compliant": "✓", "incomplete": "?"}


def _cell(cell: q.RuleCell) -> str:
    """Compact rule cell: mark, exceedances counted / allowed (e.g. ``✗ 9/5``)."""
    mark = _MARK.get(cell.verdict, cell.verdict)
    return f"{mark} {cell.count}/{cell.allowance}" if cell.count is not None else mark


table = pd.DataFrame([{
    "car": f"#{r.label}", **({} if session else {"session": r.session}), "team": r.team or "", "model": r.model or "", "class": r.klass or "",
    "verdict": (r.verdict or "no log").upper(),
    **{rule: _cell(r.rules[rule]) if rule in r.rules else "-" for rule in rules},
} for r in rows])


def _colour(value: object) -> str:
    text = str(value)
    if text.startswith(("INFRINGEMENT", "✗")):
        return "background-color: #f8d0cc; color: #7b1d13; font-weight: 600"
    if text.startswith(("INCOMPLETE", "?")):
        return "background-color: #fdebc8; color: #6b4a00"
    if text.startswith(("COMPLIANT", "✓")):
        return "background-color: #d8f0dc; color: #1d5c2b"
    return ""


st.caption("Rule cells: ✗ infringement, ? incomplete (cannot certify), ✓ compliant, then exceedances counted / "
           "allowed; - the bulletin sets no such rule for the model. Select a cell to see its evidence.")
many = len(rules) > 4       # SPEC §5 kinds (rev_limit, throttle, refuel_time, limit.*): narrower columns to fit
widths = ({"car": 60, "session": 80, "team": 110, "model": 120, "class": 45, "verdict": 100} if many else
          {"car": 90, "session": 80, "team": 140, "model": 150, "class": 50, "verdict": 110})
columns = {name: st.column_config.TextColumn(name, width=px) for name, px in widths.items()}
columns.update({rule: st.column_config.TextColumn(rule, width=max(58, 7 * len(rule)) if many else 75)
                for rule in rules})
picked = st.dataframe(table.style.map(_colour, subset=["verdict", *rules]), hide_index=True, column_config=columns,
                      on_select="rerun", selection_mode="single-cell", key="ov_matrix", width="stretch")

# A selected cell chooses the car and rule of the evidence panel (which can also be chosen directly).
cells = getattr(picked.selection, "cells", None) or []
with_runs = [r for r in rows if r.run_id]
if cells:
    row_i, column = cells[0]
    row = rows[int(row_i)]
    if row.run_id and st.session_state.get("_ov_last_cell") != (row.run_id, column):
        st.session_state["_ov_last_cell"] = (row.run_id, column)
        st.session_state["ov_ev_run"] = row.run_id
        if column in rules:
            st.session_state["ov_ev_rule"] = column

if not with_runs:
    st.stop()
st.subheader("Evidence")
labels = {r.run_id: f"#{r.label} {r.team or ''} ({r.session}) - {r.verdict}" for r in with_runs}
if st.session_state.get("ov_ev_run") not in labels:
    st.session_state["ov_ev_run"] = next((r.run_id for r in with_runs if r.verdict == "infringement"),
                                         with_runs[0].run_id)
e1, e2 = st.columns([3, 2])
run_id = e1.selectbox("Car", list(labels), format_func=labels.get, key="ov_ev_run")
run_row = next(r for r in with_runs if r.run_id == run_id)
run_rules = [r for r in rules if r in run_row.rules]
if st.session_state.get("ov_ev_rule") not in run_rules:
    st.session_state["ov_ev_rule"] = next((r for r in run_rules if run_row.rules[r].verdict == "infringement"),
                                          run_rules[0] if run_rules else None)
rule = e2.selectbox("Rule", run_rules, key="ov_ev_rule")
if rule is not None:
    evidence.rule_panel(viewer, store, run_id, rule, key="ov")
if st.button("Open car and run detail", key="ov_open"):
    st.session_state["car_run"] = run_id
    st.switch_page("app_pages/car.py")
