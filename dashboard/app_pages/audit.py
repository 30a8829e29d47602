"""Audit log (scrutineers and technical staff): who stored what and which verdicts were written, with the
hash chain checked."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from compliance import queries as q
from compliance.auth import AuthError, require
from dashboard import context

viewer = context.require_viewer()
try:
    require(viewer, "audit")
except AuthError as err:
    st.error(str(err))
    st.stop()
store = context.store()
st.title("Audit log")

deep = st.checkbox("Also re-hash every stored original (slower)", key="audit_deep")
status = q.audit_status(viewer, store, originals=deep)
if status["ok"]:
    st.success(f"Hash chain intact: {status['rows']} rows, head #{status['head_seq']}"
               + (f", {status['originals_checked']} originals re-hashed" if deep else ""))
else:
    st.error(f"{len(status['problems'])} problem(s) in the audit chain or the store")
    for problem in status["problems"]:
        st.write(f"- {problem}")

c1, c2 = st.columns([2, 1])
action = c1.selectbox("Action", [None, *q.audit_actions(viewer, store)], key="audit_action",
                      format_func=lambda a: "all actions" if a is None else a)
limit = c2.number_input("Rows", min_value=10, max_value=5000, value=200, step=50, key="audit_limit")
rows = q.audit_rows(viewer, store, action=action, limit=int(limit))
st.dataframe(pd.DataFrame([{"#": r["seq"], "when (UTC)": r["logged_at"], "who": r["actor"], "action": r["action"],
                            "subject": r["subject"], "detail": r["detail"], "hash": r["hash"][:16]}
                           for r in rows]), hide_index=True, key="audit_rows")
