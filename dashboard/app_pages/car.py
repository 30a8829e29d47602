"""Car and run detail: traces with limits and shaded exceedances, value against rpm with the bulletin curve,
power curve, laps, data-quality findings, provenance, and the steward report."""

from __future__ import annotations

import json

import pandas as pd
import streamlit as st

from compliance.access import queries as q
from compliance.access import v2_facts
from compliance.errors import ComplianceError
from compliance.reports import rule_facts
from dashboard import context, evidence, figures, reports

viewer = context.require_viewer()
store = context.store()
st.title("Car and run detail")

runs = q.car_runs(viewer, store)
if not runs:
    st.info("No checked runs for the cars you may see.")
    st.stop()
by_id = {r["run_id"]: r for r in runs}
wanted = st.session_state.pop("car_run", None)
if wanted in by_id:
    st.session_state["car_event"], st.session_state["car_session"] = by_id[wanted]["event"], by_id[wanted]["session"]
    st.session_state["car_car"], st.session_state["car_run_id"] = by_id[wanted]["car"], wanted
# A link /car?event=..&session=..&car=..&run=.. selects that run once (given only some of them: the first match, a
# car's newest run first); the selection is written back, so the address always links to what is shown. A run the
# viewer may not see is answered like one that does not exist, and the link's values are not repeated.
_FIELDS = (("event", "event"), ("session", "session"), ("car", "car"), ("run", "run_id"))
link = {k: st.query_params[k] for k in ("event", "session", "car", "run") if st.query_params.get(k)}
if link and link != st.session_state.get("_car_link"):
    hit = next((r for r in runs if all(str(r[f]) == link[k] for k, f in _FIELDS if k in link)), None)
    if hit is None:
        st.warning("Nothing to show for this link: no such run, or not one you may see.")
        st.query_params.clear()
    else:
        st.session_state["car_event"], st.session_state["car_session"] = hit["event"], hit["session"]
        st.session_state["car_car"], st.session_state["car_run_id"] = hit["car"], hit["run_id"]

options = q.filter_options(viewer, store)
names = dict(options.events)
c1, c2, c3, c4 = st.columns([2, 1.5, 1, 3])
event = c1.selectbox("Event", [e for e in names if any(r["event"] == e for r in runs)], format_func=names.get,
                     key="car_event")
in_order = [s for s, _ in options.sessions.get(event, ())]       # by start time: the latest is the default
if st.session_state.get("car_session") not in in_order:
    st.session_state["car_session"] = in_order[-1]
session = c2.selectbox("Session", in_order, key="car_session")
cars = sorted({r["car"] for r in runs if r["event"] == event and r["session"] == session},
              key=lambda c: (not c.isdigit(), int(c) if c.isdigit() else 0, c))
car = c3.selectbox("Car", cars, format_func=lambda c: f"#{c}", key="car_car")
choices = [r for r in runs if (r["event"], r["session"], r["car"]) == (event, session, car)]
if st.session_state.get("car_run_id") not in {r["run_id"] for r in choices}:
    st.session_state["car_run_id"] = choices[0]["run_id"]
run_id = c4.selectbox("Run", [r["run_id"] for r in choices], key="car_run_id", format_func=lambda i: (
    f"{by_id[i]['created_at']:%Y-%m-%d %H:%M} UTC, {by_id[i]['bulletin_id']}, {by_id[i]['verdict']}"
    + (" (latest)" if by_id[i]["latest"] else "")))
shown = {"event": event, "session": session, "car": car, "run": run_id}
if st.query_params.to_dict() != shown:
    st.query_params.from_dict(shown)
st.session_state["_car_link"] = shown

try:
    detail = q.run_detail(viewer, store, run_id)
except ComplianceError as err:
    context.show_error(err)
    st.stop()
run, entry = detail.run, detail.entry or {}
verdict = run["verdict"]
{"infringement": st.error, "incomplete": st.warning}.get(verdict, st.success)(
    f"Car #{run['car']} - {entry.get('team') or 'team unknown'} - {run['model']} ({entry.get('class') or '-'})"
    f" - **{verdict.upper()}** under {run['bulletin_id']}")
if entry.get("drivers"):
    st.caption("Drivers: " + ", ".join(entry["drivers"]))
try:
    facts = v2_facts.run_facts(viewer, store, run_id)
except ComplianceError:
    facts = None
if facts is not None and facts.car_entry is not None:
    st.caption(f'Judged by the bulletin\'s car entry `[cars."{facts.car_entry}"]` (the model\'s rules with the '
               "car's overrides).")
if facts is not None and facts.info:
    st.caption("Bulletin information (not judged): " + rule_facts.info_text(facts.info))
elif facts is not None and facts.problem:
    st.caption(f"Bulletin information not shown: {facts.problem}")
ordered = v2_facts.ordered_rules(detail.rules)
v2 = rule_facts.any_v2(ordered)
st.dataframe(pd.DataFrame([{"rule": r["rule"], "verdict": r["verdict"], "exceedances": r["exceedance_count"],
                            "allowed": r["max_exceedances"],
                            **({"counted": rule_facts.scope_text(r) or "-",
                                "worst scope": rule_facts.worst_scope_text(r) or "-",
                                "time over": rule_facts.time_over_text(r) or "-",
                                "judged only while": rule_facts.gate_text(r) or "-"} if v2 else {})}
                           for r in ordered]), hide_index=True, key="car_rules")
stints = rule_facts.stint_rows(ordered)
if stints:
    st.caption("Stint budgets (stint energy replenished while refuelling)")
    st.dataframe(pd.DataFrame(stints, columns=list(rule_facts.STINT_HEADERS)), hide_index=True, key="car_stints")

against = json.loads(q.verdict_json(viewer, store, run_id)).get("reference") if viewer.sees_all_cars else None
tabs = st.tabs(["Traces", "Limits", "Power", "Laps", "Data quality", "Provenance", "Report",
                *(["Reference"] if against else [])])
with tabs[0]:
    duration = float(run["duration_s"] or 0.0)
    present = [c["channel"] for c in detail.channels] or list(evidence.RULE_CHANNEL.values())
    default = [c for c in ("boost_pressure", "engine_speed", "fuel_flow", "power") if c in present]
    shown = st.multiselect("Channels", present, default=default, key="car_channels")
    spans = q.exceedance_windows(detail)
    zoom_options = ["whole session", *[f"exceedance #{i + 1} ({a:.1f}-{b:.1f} s)" for i, (a, b) in
                                       enumerate(spans)], "custom window"]
    zoom = st.selectbox("Window", range(len(zoom_options)), format_func=zoom_options.__getitem__, key="car_zoom")
    window = None
    if 0 < zoom <= len(spans):
        window = spans[zoom - 1]
    elif zoom == len(zoom_options) - 1 and duration > 0:
        lo, hi = st.slider("Window [s]", 0.0, duration, (0.0, min(duration, 60.0)), key="car_window")
        window = (lo, hi)
    for channel in shown:
        evidence.trace_chart(viewer, store, detail, channel, window=window, key="car")
with tabs[1]:
    limited = [r["rule"] for r in ordered]
    if limited:
        rule = st.radio("Rule", limited, horizontal=True, key="car_rule")
        evidence.rule_panel(viewer, store, run_id, rule, key="car")
with tabs[2]:
    try:
        curve = q.power_curve(viewer, store, run_id)
        info = next((b for b in q.bulletins(viewer, store) if b.id == run["bulletin_id"]
                     and b.sha256 == run["bulletin_sha256"]), None)
        judged = v2_facts.entry_of(info.bulletin, run["model"], detail.car_entry) if info and info.bulletin else None
        spec = judged.rules.get("power") if judged is not None else None
        flat = spec.limits[0] if spec is not None and not spec.key_points and spec.declared is None else None
        st.plotly_chart(figures.power_curve_figure(curve["rpm"], curve["max_kw"], curve["p95_kw"], flat),
                        key="car_power", width="stretch")
    except ComplianceError as err:
        st.info(str(err))
with tabs[3]:
    if detail.laps:
        st.dataframe(pd.DataFrame([{"lap": lap["lap"], "start [s]": lap["start_s"], "end [s]": lap["end_s"],
                                    "time [s]": round(lap["end_s"] - lap["start_s"], 3),
                                    **{f"{k} exceedances": v for k, v in (lap.get("exceedances") or {}).items()}}
                                   for lap in detail.laps]), hide_index=True, key="car_laps")
    else:
        st.info("No laps: the logs carry no lap counter or distance to segment them by.")
with tabs[4]:
    if detail.quality:
        st.dataframe(pd.DataFrame([{"check": f["check_name"], "channel": f["channel"], "severity": f["severity"],
                                    "start [s]": f["start_s"], "end [s]": f["end_s"], "finding": f["message"]}
                                   for f in detail.quality]), hide_index=True, key="car_quality")
    else:
        st.success("No data-quality findings.")
    findings = [{"file": log["original_name"], **f} for log in detail.logs for f in log["findings"]]
    if findings:
        st.caption("Reader findings per file")
        st.dataframe(pd.DataFrame(findings), hide_index=True, key="car_findings")
with tabs[5]:
    st.dataframe(evidence.provenance_table(store, run), hide_index=True, key="car_prov")
    st.caption("Original logs (content-addressed, write-once)")
    st.dataframe(pd.DataFrame([{"#": log["position"], "file": log["original_name"], "sha256": log["sha256"],
                                "format": log["format"], "bytes": log["size"], "frames": log["frames"],
                                "start": log["start_at"], "duration [s]": log["duration_s"],
                                "ingested by": log["ingested_by"]} for log in detail.logs]),
                 hide_index=True, key="car_logs")
with tabs[6]:
    reports.downloads(viewer, store, run_id, key="car")
if against:                          # issue 17: advisory, for officials only (a reference may be a rival's car)
    with tabs[7]:
        ref = against["reference"]
        st.caption(f"Against reference {ref.get('reference_id') or ref.get('source')} (model {ref.get('model')}): "
                   "evidence to investigate, never a verdict.")
        for f in against["findings"]:
            st.warning(f["detail"])
        if not against["findings"]:
            st.success("Inside the reference's band in every compared bin.")
        names = {"boost_vs_rpm": ("engine speed [rpm]", "boost [bar]"), "power_vs_rpm": ("engine speed [rpm]",
                 "power [kW]"), "power_vs_speed": ("speed [km/h]", "power [kW]"),
                 "fuel_flow_vs_rpm": ("engine speed [rpm]", "fuel flow [kg/h]"),
                 "accel_vs_speed": ("speed [km/h]", "longitudinal acceleration [g]")}
        shown = [k for k in names if against["quantities"].get(k)]
        if shown:
            pick = st.radio("Quantity", shown, horizontal=True, key="car_ref_q")
            x_label, y_label = names[pick]
            st.plotly_chart(figures.reference_figure(against["quantities"][pick], quantity=pick,
                                                     key_label=x_label, value_label=y_label),
                            key="car_ref_fig", width="stretch")

