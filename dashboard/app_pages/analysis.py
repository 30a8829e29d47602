"""BoP analysis (technical staff only, :mod:`compliance.access.analysis`): per model across the chosen sessions of
an event, power-to-weight, power against speed, top speed, 100-200 km/h, boost usage and best laps; the weight or
boost delta that would bring each model to the target; and the model reference runs in the store.

The analysis reads every car's Parquet, so it is cached per (store, event, sessions, target) and keyed by the
store's version (audit head, run and reference counts): a reload of an unchanged store is fast, a new run or
reference recomputes it. The page authorises the viewer on every run, before the cache is looked at.
"""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from compliance.access import Store, analysis
from compliance.access.auth import AuthError
from compliance.errors import ComplianceError
from dashboard import context

viewer = context.require_viewer()
try:
    viewer = analysis.require_analysis(viewer)
except AuthError as err:
    st.error(str(err))
    st.stop()
store = context.store()


@st.cache_data(show_spinner="Analysing the field...", max_entries=32, ttl=6 * 3600)
def _analysis(db: str, version: str, event: str, sessions: tuple[str, ...], target: str, _viewer, _store: Store
              ) -> dict:
    """The analysis as plain data (``FieldAnalysis.to_dict``); ``db`` and ``version`` key the cache."""
    return analysis.field_analysis(_viewer, _store, event, sessions or None, target).to_dict()


def _pm(value, sd, fmt: str) -> str:
    if value is None:
        return "-"
    return f"{value:{fmt}}" + ("" if sd is None else f" ± {abs(sd):{fmt.lstrip('+')}}")


def _num(value, digits: int = 1):
    return None if value is None else round(float(value), digits)


_COLOURS = ("#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf", "#7f7f7f",
            "#bcbd22")
_DASHES = ("solid", "dash", "dot")


def _power_speed_figure(models: list[dict]) -> go.Figure:
    """Power against speed at full throttle, one line per model (the median over its cars of each speed bin's
    median). SVG (go.Scatter), never WebGL."""
    fig = go.Figure()
    for i, m in enumerate(models):
        pvs = m.get("power_vs_speed") or {}
        if pvs.get("speed_kmh"):
            colour = _COLOURS[i % len(_COLOURS)]        # one colour a model (the theme's blues look alike)
            fig.add_trace(go.Scatter(x=pvs["speed_kmh"], y=pvs["power_kw"], mode="lines+markers", name=m["model"],
                                     line=dict(color=colour, dash=_DASHES[i // len(_COLOURS) % len(_DASHES)]),
                                     marker=dict(size=4, color=colour), connectgaps=False))
    fig.update_layout(title="Power against speed at full throttle (median per speed bin)",
                      xaxis_title="speed [km/h]", yaxis_title="power [kW]", height=420,
                      margin=dict(l=50, r=20, t=40, b=40),
                      legend=dict(orientation="v", x=1.02, xanchor="left", y=1, yanchor="top"))
    return fig


st.title("BoP analysis")
st.caption("The BoP working group's view of the field: advice for the next bulletin, never a verdict. "
           "Technical staff only.")

options = analysis.analysis_options(viewer, store)
if not options:
    st.info("No judged runs in the store yet.")
    st.stop()
c1, c2, c3 = st.columns([1, 2, 1])
event = c1.selectbox("Event", list(options), key="an_event",
                     format_func=lambda e: f"{options[e]['name']} ({e})" if options[e]["name"] != e else e)
choice = options[event]
sessions = c2.multiselect("Sessions", choice["sessions"], default=choice["sessions"], key=f"an_sessions_{event}")
target = c3.selectbox("Target", ["median", *choice["models"]], key=f"an_target_{event}",
                      format_func=lambda t: "field median" if t == "median" else t)
if not sessions:
    st.info("Pick at least one session.")
    st.stop()

version = analysis.store_version(viewer, store)
try:
    result = _analysis(str(context.db_path()), version, event, tuple(sessions), target, viewer, store)
except ComplianceError as err:
    context.show_error(err)
    st.stop()

models = result["models"]
goal = result["target_w_kg"]
n_cars = sum(len(m["cars"]) for m in models)
st.markdown(f"**{len(models)} model(s), {n_cars} car run(s)** in {', '.join(result['sessions'])}; target "
            f"{'the field median' if target == 'median' else target}: "
            + (f"**{goal:.1f} W/kg**" if goal is not None else "unknown (no power-to-weight)"))

st.subheader("Per model")
st.dataframe(pd.DataFrame([{
    "model": m["model"], "cars": " ".join(m["cars"]), "weight [kg]": _num(m["weight_kg"], 0),
    "peak power [kW]": _num(m["peak_power_kw"]), "power-to-weight [W/kg]": _num(m["power_to_weight_w_kg"]),
    "top speed [km/h]": _num(m["top_speed_kmh"]), "100-200 km/h [s]": _num(m["accel_100_200_s"], 2),
    "boost usage [%]": None if m["boost_usage"] is None else round(100.0 * m["boost_usage"], 0),
    "best lap [s]": _num(min(m["best_laps_s"]), 3) if m["best_laps_s"] else None,
    "sensitivity [kW/bar]": _pm(m["sensitivity_kw_bar"], m["sensitivity_se_kw_bar"], ".0f"),
    "sensitivity source": m["sensitivity_source"], "weight source": m["weight_source"],
} for m in models]), hide_index=True, key="an_models")
st.caption("Weight: the bulletin's min_weight_kg + info.ballast_kg. Peak power: the highest full-throttle median "
           "of power against rpm. Boost usage: share of full-throttle samples within 0.05 bar of the limit (a model "
           "well under 100 % is not using its boost: sandbagging shows here). Sensitivity: power against boost, "
           "measured between runs when the data allows, else assumed proportional (its source says which).")
if any(m["weight_kg"] is None for m in models):
    st.warning("Some models have no weight in their bulletin (min_weight_kg): no power-to-weight and no proposal "
               "for them.")

st.subheader("Proposal")
proposals = result["proposals"]
if not proposals:
    st.info("No proposal: it needs the peak power and the bulletin weight of the models, and a target.")
else:
    st.dataframe(pd.DataFrame([{
        "model": p["model"], "power-to-weight [W/kg]": _num(p["power_to_weight_w_kg"]),
        "target [W/kg]": _num(p["target_w_kg"]),
        "weight delta [kg]": _pm(p["weight_delta_kg"], p["weight_delta_sd_kg"], "+.0f"),
        "boost delta [bar]": _pm(p["boost_delta_bar"], p["boost_delta_sd_bar"], "+.3f"),
    } for p in proposals]), hide_index=True, key="an_proposals")
    st.caption("Either the weight delta or the boost delta brings a model to the target, not both. ± is one "
               "standard uncertainty (the spread of the model's cars, the sensitivity's error). No boost delta: "
               "the model has no boost rule.")
    with st.expander("Inputs of each proposal"):
        st.dataframe(pd.DataFrame([{
            "model": p["model"], "cars": " ".join(p["inputs"].get("cars") or ()),
            "peak power [kW]": _num(p["inputs"].get("peak_power_kw")),
            "peak power sd [kW]": _num(p["inputs"].get("peak_power_sd_kw"), 2),
            "weight [kg]": _num(p["inputs"].get("weight_kg"), 0), "weight source": p["inputs"].get("weight_source"),
            "sensitivity [kW/bar]": _num(p["inputs"].get("sensitivity_kw_bar")),
            "sensitivity source": p["inputs"].get("sensitivity_source"),
        } for p in proposals]), hide_index=True, key="an_inputs")

st.subheader("Power against speed")
if any((m.get("power_vs_speed") or {}).get("speed_kmh") for m in models):
    st.plotly_chart(_power_speed_figure(models), key="an_power_speed", width="stretch")
else:
    st.info("No model logged power and speed at full throttle.")

with st.expander("Per car"):
    st.dataframe(pd.DataFrame([{
        "car": c["car"], "model": c["model"], "session": c["session"], "peak power [kW]": _num(c["peak_power_kw"]),
        "at rpm": _num(c["peak_power_rpm"], 0), "top speed [km/h]": _num(c["top_speed_kmh"]),
        "100-200 km/h [s]": _num(c["accel_100_200_s"], 2),
        "boost usage [%]": None if c["boost_usage"] is None else round(100.0 * c["boost_usage"], 0),
        "best lap [s]": _num(c["best_lap_s"], 3), "full throttle [s]": _num(c["full_throttle_s"]),
    } for c in result["cars"]]), hide_index=True, key="an_cars")

st.subheader("Reference runs")
refs = analysis.references(viewer, store)
if not refs:
    st.info("No reference run in the store ('bopwatch reference set' marks one).")
else:
    st.dataframe(pd.DataFrame([{
        "reference": r.reference_id, "model": r.model,
        "scope": r.bulletin_id if r.bulletin_id else f"category {r.track_category}", "run": r.run_id,
        "active": r.active, "marked (UTC)": str(r.created_at)[:19], "note": r.note or "",
    } for r in refs]), hide_index=True, key="an_references")
