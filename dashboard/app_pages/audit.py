"""Audit log (scrutineers and technical staff): who stored what and which verdicts were written, with the
hash chain checked."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from compliance.access import queries as q
from compliance.access.auth import AuthError, require
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
mac = status.get("mac") or {}
signed = {"keyed": "signed with the audit key and checked",
          "unkeyed": "NOT signed (written without an audit key: anyone able to write the store could rewrite it)",
          "not checked (no key here)": "signed, but the audit key is not on this server: signatures not checked",
          "empty": "empty"}.get(mac.get("status"), mac.get("status") or "unknown")
if status["ok"]:
    st.success(f"Audit chain intact: {status['rows']} rows, head #{status['head_seq']}; "
               f"{status.get('rows_checked', 0)} stored rows and {status.get('parquet_checked', 0)} channel files "
               "recomputed against it" + (f", {status['originals_checked']} originals re-hashed" if deep else ""))
else:
    st.error(f"{len(status['problems'])} problem(s) in the audit chain or the store")
    for problem in status["problems"]:
        st.write(f"- {problem}")
(st.info if mac.get("status") == "keyed" else st.warning)(f"Signatures: {signed}.")
if status.get("head"):
    st.caption(f"Audit head (printed on every report; `bopwatch audit verify --pin` checks a paper copy against "
               f"the store): `{status['head']}`")
for note in status.get("notes") or ():
    st.caption(note)

c1, c2 = st.columns([2, 1])
action = c1.selectbox("Action", [None, *q.audit_actions(viewer, store)], key="audit_action",
                      format_func=lambda a: "all actions" if a is None else a)
limit = c2.number_input("Rows", min_value=10, max_value=5000, value=200, step=50, key="audit_limit")
rows = q.audit_rows(viewer, store, action=action, limit=int(limit))
st.dataframe(pd.DataFrame([{"#": r["seq"], "when (UTC)": r["logged_at"], "who": r["actor"], "action": r["action"],
                            "subject": r["subject"], "detail": r["detail"], "hash": r["hash"][:16]}
                           for r in rows]), hide_index=True, key="audit_rows")
