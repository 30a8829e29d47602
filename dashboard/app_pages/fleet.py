"""Fleet: per model, the envelope of boost, power or fuel flow against rpm across cars and sessions (what a BoP
working group compares). Teams see the envelope of their own cars only."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from compliance.access import queries as q
from dashboard import context, figures

viewer = context.require_viewer()
store = context.store()
st.title("Fleet")
if not viewer.sees_all_cars:
    st.caption("Your team's cars only.")

models = q.fleet_models(viewer, store)
if not models:
    st.info("No checked runs yet.")
    st.stop()
c1, c2 = st.columns(2)
model = c1.selectbox("Model", models, key="fleet_model")
quantity = c2.radio("Quantity", ["boost_pressure", "power", "fuel_flow"], horizontal=True, key="fleet_quantity")
series = q.fleet_envelope(viewer, store, model, quantity)
if not series:
    st.info(f"No run of {model} logged {quantity}.")
    st.stop()
rule = {"boost_pressure": "boost", "power": "power", "fuel_flow": "fuel_flow"}[quantity]
curve = None
for info in reversed(q.bulletins(viewer, store)):       # the newest readable bulletin with a curve for the model
    spec = info.bulletin.models[model].rules.get(rule) if info.bulletin and model in info.bulletin.models else None
    if spec is not None:
        curve = (spec.key_points, spec.limits) if spec.key_points else None
        break
unit = {"boost_pressure": "bar", "power": "kW", "fuel_flow": "kg/h"}[quantity]
st.plotly_chart(figures.envelope_figure(series, quantity=quantity, unit=unit, curve=curve), key="fleet_chart",
                width="stretch")
st.dataframe(pd.DataFrame([{"car and session": label, f"max {quantity} [{unit}]": float(top.max()),
                            "at rpm": float(rpm[top.argmax()])} for label, rpm, top in series]),
             hide_index=True, key="fleet_table")
