"""Sanctions: the event's sanctions ledger (SPEC §5) for stewards and technical staff: per car and rule, the n-th
infringing session of the event and the step of the event file's ladder it reaches. Teams see their own cars."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from compliance.access import ledger as lg
from dashboard import context

viewer = context.require_viewer()
store = context.store()
st.title("Sanctions")
if not viewer.sees_all_cars:
    st.caption("Your team's cars only.")

events = dict(lg.ledger_events(viewer, store))
if not events:
    st.info("No checked runs yet.")
    st.stop()
link = st.query_params
event = st.selectbox("Event", list(events), format_func=lambda e: events[e], key="sanctions_event",
                     index=list(events).index(link["event"]) if link.get("event") in events else 0)
link["event"] = event
ledger = lg.sanctions_ledger(viewer, store, event)
if ledger.ladders is None:
    st.warning("The event file gave no [sanctions] ladder: infringements are counted, the sanction is the "
               "stewards' to decide.")
else:
    st.caption("Ladders: " + "; ".join(f"**{rule}**: {' > '.join(steps)}" for rule, steps in ledger.ladders.items())
               + ". The n-th infringing session of a car gets step n; the last step repeats.")
st.caption(f"Sessions in start order: {', '.join(ledger.sessions) or 'none'}. Counted over the latest verdict of "
           "each session; several outings of a session count once.")
if not ledger.entries:
    st.success("No infringing session for the cars you may see.")
    st.stop()
st.dataframe(pd.DataFrame([{"car": e.car, "rule": e.rule, "session": e.session, "n": e.n,
                            "sanction": e.sanction or "no ladder: the stewards decide"} for e in ledger.entries]),
             hide_index=True, key="sanctions_table")
