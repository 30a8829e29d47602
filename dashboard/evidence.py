"""Streamlit components that draw one run's evidence; shared by the overview and the car page.

Data comes only through :mod:`compliance.access.queries` (scoped to the viewer); figures from :mod:`compliance.reports.plots`
and :mod:`dashboard.figures`.
"""

from __future__ import annotations

import os

import pandas as pd
import streamlit as st

from compliance.access import Store
from compliance.access import queries as q
from compliance.access.auth import Viewer
from compliance.errors import ComplianceError
from compliance.reports import plots, rule_facts
from dashboard import figures

__all__ = ["RULE_CHANNEL", "rule_panel", "trace_chart", "exceedance_table", "provenance_table", "v2_facts"]

#: the channel each named limit kind judges (``limit.<name>`` rules name theirs in the bulletin: ``RuleEvidence.spec``)
RULE_CHANNEL = {"boost": "boost_pressure", "fuel_flow": "fuel_flow", "power": "power", "rev_limit": "engine_speed",
                "throttle": "throttle"}
#: kinds drawn by their own chart of :mod:`compliance.reports.plots` instead of a trace with a limit line
_OWN_CHART = ("stint_energy", "refuel_time")
MAX_POINTS = 3000
_PROVENANCE = ("run_id", "run_key", "event", "session", "car", "model", "profile_path", "profile_sha256",
               "bulletin_id", "bulletin_path", "bulletin_sha256", "tool_name", "tool_version", "verdict_sha256",
               "reason", "command", "created_at", "created_by", "channels_path")
_STORE_PATHS = {"channels_path"}            # stored relative to the store's folder
_GIVEN_PATHS = {"profile_path", "bulletin_path"}   # stored as given to the command that judged the run


def provenance_table(store: Store, run: dict) -> pd.DataFrame:
    """A run's provenance as (field, value) rows, paths normalised (no ``.``, ``..`` or doubled separators):
    store paths in full under the store's folder, other paths as given (a relative one stays relative: the
    folder it was relative to is not recorded)."""
    def shown(key: str) -> str:
        value = run[key]
        if value is None or key not in _STORE_PATHS | _GIVEN_PATHS:
            return str(value)
        return os.path.normpath(store.absolute(value) if key in _STORE_PATHS else value)

    return pd.DataFrame([{"field": k, "value": shown(k)} for k in _PROVENANCE if k in run])


def exceedance_table(detail: q.RunDetail, rule: str | None = None) -> pd.DataFrame:
    return pd.DataFrame([{
        "#": e["idx"] + 1, "rule": e["rule"], "start [s]": round(e["start_s"], 3), "end [s]": round(e["end_s"], 3),
        "duration [s]": round(e["duration_s"], 3), "peak": e["peak"], "limit": e["limit_value"],
        "excess": e["excess"], "unit": e["unit"], "lap": (e["detail"] or {}).get("lap"),
    } for e in detail.exceedances if rule is None or e["rule"] == rule])


def trace_chart(viewer: Viewer, store: Store, detail: q.RunDetail, channel: str, *,
                window: tuple[float, float] | None, key: str, rule: str | None = None) -> None:
    """A channel over the session (or ``window``), with the limit of the rule on it (``rule``, else the named kind
    that judges the channel) and its exceedances shaded: min/max-decimated on the server for the whole session,
    every sample when the window is short enough."""
    run_id = detail.run["run_id"]
    try:
        trace = q.channel_trace(viewer, store, run_id, channel, window=window, max_points=MAX_POINTS)
    except ComplianceError as err:
        st.caption(f"{channel}: {err}")
        return
    if rule is None:
        rule = next((r for r, c in RULE_CHANNEL.items() if c == channel and any(x["rule"] == r for x in detail.rules)),
                    None)
    limit = None
    if rule and any(r["rule"] == rule for r in detail.rules):
        try:
            limit = q.limit_trace(viewer, store, run_id, rule, window=window, max_points=MAX_POINTS)
        except ComplianceError as err:
            st.caption(f"{rule} limit not drawn: {err}")
    spans = [(e["start_s"], e["end_s"]) for e in detail.exceedances if e["rule"] == rule]
    if window is not None:
        spans = [s for s in spans if s[1] >= window[0] and s[0] <= window[1]]
    fig = figures.trace_figure(trace.time, trace.value, name=channel, unit=trace.unit,
                               limit_time=None if limit is None else limit.time,
                               limit_value=None if limit is None else limit.value,
                               exceedances=spans, decimated=trace.decimated)
    st.plotly_chart(fig, key=f"{key}_trace_{channel}", width="stretch")
    st.caption(f"{trace.samples} samples in view, {len(trace.time)} drawn"
               + (" (min/max per bucket: pick a window for every sample)" if trace.decimated else ""))


def v2_facts(result: dict, *, key: str) -> None:
    """The SPEC §5 facts of one rule verdict (a ``rule_results`` row): counting scope, the worst scope and its time
    over, the ``when`` gate, and each stint's budget; nothing for a §3 rule."""
    if not rule_facts.is_v2(result):
        return
    line = [f"counted: {rule_facts.scope_text(result)}", f"worst scope: {rule_facts.worst_scope_text(result)}",
            f"time over (worst scope): {rule_facts.time_over_text(result)}"]
    if rule_facts.gate_text(result):
        line.append(f"judged only while {rule_facts.gate_text(result)}")
    st.markdown(" · ".join(line))
    stints = rule_facts.stint_rows([result])
    if stints:
        st.dataframe(pd.DataFrame(stints, columns=list(rule_facts.STINT_HEADERS)).drop(columns="rule"),
                     hide_index=True, key=f"{key}_stints", width="stretch")


def rule_panel(viewer: Viewer, store: Store, run_id: str, rule: str, *, key: str) -> None:
    """One rule of one run: its verdict, exceedances, the value against its key with the bulletin curve, the
    trace with the limit and shaded exceedances, and a close-up of a chosen exceedance."""
    try:
        detail = q.run_detail(viewer, store, run_id)
    except ComplianceError as err:
        st.warning(str(err))
        return
    result = next((r for r in detail.rules if r["rule"] == rule), None)
    if result is None:
        st.info(f"The bulletin sets no {rule} rule for this car.")
        return
    verdict = result["verdict"]
    text = (f"**{rule}**: {verdict.upper()}, {result['exceedance_count']} exceedance(s), "
            f"{result['max_exceedances']} allowed (bulletin {detail.run['bulletin_id']})")
    {"infringement": st.error, "incomplete": st.warning}.get(verdict, st.success)(text)
    v2_facts(result, key=f"{key}_{rule}")
    reasons = result["detail"].get("reasons") or []
    for reason in reasons:
        st.caption(f"Incomplete because: {reason}")
    table = exceedance_table(detail, rule)
    if len(table):
        st.dataframe(table, hide_index=True, key=f"{key}_exc_{rule}", width="stretch")
    try:
        ev = q.rule_evidence(viewer, store, run_id, rule)
    except ComplianceError as err:
        ev = None
        st.caption(f"No curve: {err}")
    channel = RULE_CHANNEL.get(rule) or (ev.spec.channel if ev is not None else None)
    if channel and rule not in _OWN_CHART:
        trace_chart(viewer, store, detail, channel, window=None, key=f"{key}_{rule}", rule=rule)
    if ev is None or any(c not in ev.channels or len(ev.channels[c]) == 0 for c in ev.spec.needs):
        return
    if rule in _OWN_CHART:              # stint budgets, refuellings: their own chart, no limit line on a trace
        for i, chart in enumerate(plots.charts_for_rule(ev.spec, ev.channels, ev.exceedances)):
            st.plotly_chart(plots.to_plotly(chart), key=f"{key}_own_{rule}_{i}", width="stretch")
        return
    if ev.spec.key or ev.spec.declared is not None:
        st.plotly_chart(plots.value_vs_key(ev.spec, ev.channels, ev.exceedances,
                                           reference_ambient_bar=ev.reference_ambient_bar),
                        key=f"{key}_vs_{rule}", width="stretch")
    if ev.exceedances:
        choice = st.selectbox("Close-up of exceedance", range(len(ev.exceedances)), key=f"{key}_pick_{rule}",
                              format_func=lambda i: f"#{i + 1}: {ev.exceedances[i].start_s:.2f} s, "
                                                    f"peak {ev.exceedances[i].peak:.4g} {ev.exceedances[i].unit}")
        st.plotly_chart(plots.exceedance_trace(ev.spec, ev.channels, ev.exceedances[choice],
                                               reference_ambient_bar=ev.reference_ambient_bar),
                        key=f"{key}_close_{rule}", width="stretch")
