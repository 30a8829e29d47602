"""Small dashboard fixes of issue 13, each on the page it concerns (AppTest, the store of the page tests)."""

from __future__ import annotations

import json
import os

import pytest
from _dashboard_store import build_store
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


@pytest.fixture(scope="module")
def dotted_db(tmp_path_factory):
    """A store whose folder was named through ``side/..``, so its bulletin paths are stored with the ``..``."""
    root = tmp_path_factory.mktemp("provenance")
    (root / "side").mkdir()
    db, _ = build_store(root / "side" / ".." / "store")
    return root, db


def test_provenance_shows_normalised_paths_and_store_paths_in_full(served, dotted_db, monkeypatch):  # noqa: F811
    root, db = dotted_db
    monkeypatch.setenv("BOPWATCH_DB", str(db))
    monkeypatch.setenv("BOPWATCH_ACCOUNTS", str(served[1]))
    at = _login("tech")
    at.switch_page("app_pages/car.py").run()
    assert not at.exception, at.exception
    frame = next(d.value for d in at.dataframe if list(d.value.columns) == ["field", "value"])
    prov = dict(zip(frame["field"], frame["value"], strict=True))
    assert prov["bulletin_path"] == str(root / "store" / "test_bulletin.toml")
    assert prov["profile_path"] == "dbc/bmw_m4_gt3.toml"                    # relative as given, nothing to add
    channels = prov["channels_path"]                                        # in full, under the store's folder
    assert channels.startswith(os.path.realpath(root / "store") + os.sep) and f"{os.sep}channels{os.sep}" in channels
    assert channels.endswith(".parquet") and os.path.isfile(channels)
    assert all(".." not in v.split(os.sep) for v in prov.values())
