"""Small dashboard fixes of issue 13, each on the page it concerns (AppTest, the store of the page tests)."""

from __future__ import annotations

import json

import pytest
from test_dashboard_pages import _login, env, served  # noqa: F401 - the page tests' store and login


def _figure(at, key: str) -> dict:
    chart = next(c for c in at.get("plotly_chart") if c.key == key)
    return json.loads(chart.proto.spec)


@pytest.mark.usefixtures("env")
def test_bop_diff_is_a_table_of_fields_with_old_and_new_values():
    at = _login("tech")
    at.switch_page("app_pages/bop.py").run()
    assert not at.exception, at.exception
    diff = at.dataframe[-1].value
    assert list(diff.columns) == ["model", "rule", "field", "change", "old", "new", "delta"]
    row = diff.iloc[0]
    assert (row["model"], row["rule"], row["field"], row["change"]) == ("bmw_m4_gt3", "boost", "limits", "changed")
    assert (row["old"], row["new"]) == ("2.4, 2.35, 2.3, 2.25", "2.45, 2.4, 2.35, 2.3")
    assert not diff.astype(str).apply(lambda col: col.str.contains(r"[{}\[\]]")).any().any()


@pytest.mark.usefixtures("env")
def test_fleet_legend_sits_beside_the_plot_not_over_the_traces():
    at = _login("tech")
    at.switch_page("app_pages/fleet.py").run()
    assert not at.exception, at.exception
    legend = _figure(at, "fleet_chart")["layout"]["legend"]
    assert legend["x"] >= 1 and legend["xanchor"] == "left"         # starts right of the plot area
    assert legend.get("orientation", "v") == "v"
