"""BoP bulletins: the bulletins the runs were checked under, their limit curves, what changed between two."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from compliance.access import queries as q
from compliance.access import v2_facts
from compliance.errors import ComplianceError
from dashboard import context, figures

_DIFF_COLUMNS = ("model", "rule", "field", "change", "old", "new", "delta")


def _shown(value: object) -> str:
    """One cell of the diff table: numbers as written in a bulletin, lists comma-separated, absent as '-'."""
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list | tuple):
        return ", ".join(_shown(v) for v in value)
    return f"{value:g}" if isinstance(value, float) else str(value)


def _diff_rows(changes: list[dict]) -> list[dict]:
    """``compliance.bop.bulletins.diff_bulletins`` as table rows: one per changed field, with its old and new value
    (``delta`` is the shift of every limit point when they all moved by the same amount)."""
    rows = []
    for c in changes:
        row = dict.fromkeys(_DIFF_COLUMNS, "-") | {"model": c["model"], "change": c["change"], "delta": None}
        if c["rule"] is None:
            rows.append(row | {"rule": "(whole model)", "change": f"model {c['change']}"})
        elif "fields" in c:
            rows += [row | {"rule": c["rule"], "field": name, "old": _shown(v["old"]), "new": _shown(v["new"]),
                            "delta": c.get("delta") if name == "limits" else None}
                     for name, v in c["fields"].items()]
        elif "limit" in c:
            rows.append(row | {"rule": c["rule"], "field": "limit",
                               ("new" if c["change"] == "added" else "old"): c["limit"]})
        else:                                   # a field of the model itself (min_weight_kg)
            rows.append(row | {"rule": "(whole model)", "field": c["rule"], "old": _shown(c.get("old")),
                               "new": _shown(c.get("new"))})
    return rows


viewer = context.require_viewer()
store = context.store()
st.title("BoP bulletins")

infos = q.bulletins(viewer, store)
if not infos:
    st.info("No run has been checked under a bulletin yet.")
    st.stop()
st.dataframe(pd.DataFrame([{
    "bulletin": b.id, "series": b.bulletin.series if b.bulletin else "", "in force from":
        b.bulletin.effective_from if b.bulletin else None, "runs checked": b.runs, "sha256": b.sha256[:16],
    "file": b.path, "problem": b.problem or ""} for b in infos]), hide_index=True, key="bop_list")

readable = [b for b in infos if b.bulletin is not None]
if not readable:
    st.warning("None of the bulletin files is readable unchanged where it was checked.")
    st.stop()
models = sorted({m for b in readable for m in b.bulletin.models})
model = st.selectbox("Model", models, key="bop_model")
rows = []
for b in readable:
    entry = b.bulletin.models.get(model)
    for rule in sorted(entry.rules, key=v2_facts.rule_order) if entry else ():
        spec = entry.rules[rule]
        extra = {}
        if spec.v2:                     # SPEC §5 keys: counting scope, time over, gate
            extra = {"counted per": spec.count_per + (f" ({spec.window_s:g} s)" if spec.window_s else ""),
                     "max time over [s]": spec.max_time_over_s,
                     "judged only while": " and ".join(c.text() for c in spec.when) or "-"}
        rows.append({"bulletin": b.id, "rule": rule, "limit": spec.describe_limit(), "tolerance": spec.tolerance,
                     "min duration [s]": spec.min_duration_s, "allowed exceedances": spec.max_exceedances,
                     "ambient correction": spec.ambient_correction, **extra})
st.dataframe(pd.DataFrame(rows), hide_index=True, key="bop_rules")

# SPEC §5: informational fields (never judged) and per-car entries (a car's own limits over its model's)
info_rows = [{"bulletin": b.id, "field": k, "value": str(v)}
             for b in readable for k, v in v2_facts.model_info(b.bulletin, model).items()]
if info_rows:
    st.subheader("Information (not judged)")
    st.dataframe(pd.DataFrame(info_rows), hide_index=True, key="bop_info")
car_rows = [{"bulletin": b.id, "car": f"#{e.car}", "overrides": ", ".join(e.overrides) or "none (the model's rules)",
             "car limits": "; ".join(f"{r}: {text}" for r, text in e.limits.items()) or "-",
             "information": ", ".join(f"{k} {v}" for k, v in e.info.items())}
            for b in readable for e in v2_facts.car_entries(b.bulletin, model)]
if car_rows:
    st.subheader("Car entries")
    st.caption('A `[cars."N"]` entry judges that car: its model\'s rules with the keys it overrides.')
    st.dataframe(pd.DataFrame(car_rows), hide_index=True, key="bop_cars")

keyed = sorted({r for b in readable for r, spec in getattr(b.bulletin.models.get(model), "rules", {}).items()
                if spec.key_points and spec.declared is None}, key=v2_facts.rule_order)
for rule in keyed:
    curves = []
    for b in readable:
        entry = b.bulletin.models.get(model)
        spec = entry.rules.get(rule) if entry else None
        if spec is not None and spec.key_points and spec.declared is None:
            curves.append((b.id, spec.key_points, spec.limits, spec.interpolation))
    if curves:
        key_name = next(b.bulletin.models[model].rules[rule].key_name for b in readable
                        if model in b.bulletin.models and rule in b.bulletin.models[model].rules)
        unit = next(b.bulletin.models[model].rules[rule].unit for b in readable
                    if model in b.bulletin.models and rule in b.bulletin.models[model].rules)
        st.plotly_chart(figures.curves_figure(curves, title=f"{rule} limit for {model}", x_name=key_name or "",
                                              y_name=f"{rule} [{unit}]"), key=f"bop_curve_{rule}", width="stretch")

if len(readable) >= 2:
    st.subheader("What changed")
    labels = {i: f"{b.id} ({b.sha256[:8]})" for i, b in enumerate(readable)}
    c1, c2 = st.columns(2)
    old = c1.selectbox("From", list(labels), format_func=labels.get, index=len(readable) - 2, key="bop_old")
    new = c2.selectbox("To", list(labels), format_func=labels.get, index=len(readable) - 1, key="bop_new")
    try:
        changes = q.bulletin_changes(readable[old], readable[new])
    except ComplianceError as err:
        context.show_error(err)
        changes = []
    if changes:
        st.dataframe(pd.DataFrame(_diff_rows(changes), columns=list(_DIFF_COLUMNS)), hide_index=True,
                     key="bop_diff")
    else:
        st.success("No difference in limits.")
