"""``bopwatch check --report`` on the endurance session's logs (SPEC §5): the rules table says each rule's counting
scope, worst scope, time over and gate; stint energy with a replenishment rate lists each stint's budget; the car
entry that judged the car and the bulletin's information are shown; every rule of the entry has its evidence (a
refuelling chart for refuel_time, budgets per stint). A §3 check keeps its old table. The plots of rule kinds the
report has no special case for (``limit.*``, a ``min`` limit) draw without failing."""

from __future__ import annotations

import html
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from compliance.bop.spec import RuleSpec
from compliance.reports import plots
from compliance.reports.svg import chart_svg
from telemetry.channels import Channel

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "sample_logs"
BULLETIN = SAMPLE / "bulletins" / "gtwce-2026-brh-v3-endurance.toml"
MODELS = {"7": "bmw_m4_gt3", "63": "lamborghini_huracan_gt3_evo2", "88": "porsche_911_gt3_r"}
FILES = {"7": "car7.blf", "63": "car63.blf", "88": "car88.asc.gz"}


def _check(tmp_path: Path, car: str, *extra: str) -> str:
    log = SAMPLE / "endurance" / FILES[car]
    if not log.exists():
        pytest.skip("sample_logs/endurance is absent (bopwatch simulate event --out sample_logs)")
    out = tmp_path / f"car{car}.html"
    run = subprocess.run([sys.executable, "-c", "import sys; from compliance.cli import main; sys.exit(main(sys.argv[1:]))",
                          "check", str(log), "--profile", str(ROOT / "dbc" / f"{MODELS[car]}.toml"), "--bulletin",
                          str(BULLETIN), "--report", str(out), *extra], capture_output=True, text=True, timeout=300,
                         cwd=ROOT)
    assert run.returncode == 1, run.stderr              # each of these cars infringes one §5 rule
    return html.unescape(out.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def car7(tmp_path_factory) -> str:
    return _check(tmp_path_factory.mktemp("c7"), "7", "--car", "7")


def test_window_scope_worst_scope_time_over_and_gate(car7):
    assert "<th>counted</th><th>time over</th><th>worst scope</th><th>judged only while</th>" in car7
    assert "3 allowed per 60 s window" in car7
    assert "170.96-230.96 s: 4 exceedances, 1.24 s over" in car7
    assert "1.24 s of 2 s allowed" in car7
    assert "engine_speed > 3000 and long_accel >= 0 and throttle >= 30" in car7


def test_car_entry_and_information(car7):
    assert 'Judged by the bulletin\'s car entry <b>[cars."7"]</b>' in car7
    assert "Bulletin information (not judged)" in car7
    for field, value in (("ballast_kg", "30"), ("homologation", "GT3-035"), ("reason", "success ballast after the "
                                                                                        "race win"),
                         ("min_weight_kg", "1320")):
        assert f"<td>{field}</td><td>{value}</td>" in car7


def test_every_rule_of_the_entry_has_evidence_in_verdict_order(car7):
    found = [rule for rule in ("boost", "power", "stint_energy", "refuel_time") if f"id='{rule}-0'" in car7]
    assert found == ["boost", "power", "stint_energy", "refuel_time"]
    positions = [car7.index(f"id='{rule}-0'") for rule in found]
    assert positions == sorted(positions)
    assert "data-chart='refuel_time'" in car7
    assert "stint_energy: energy per stint against its replenished budget" in car7
    assert "power: power against engine speed, share of the declared curve" in car7


def test_stint_budgets_of_a_replenished_stint(tmp_path):
    page = _check(tmp_path, "63", "--car", "63")
    assert "<h2>Stint budgets</h2>" in page
    table = page[page.index("<h2>Stint budgets</h2>"):page.index("<h2>Exceedances")]
    assert "<td class='num'>40.000</td>" in table and "<td class='num'>31.930</td>" in table
    assert "<td class='num'>36.009</td>" in table and "<td class='num'>-4.079</td><td>yes</td>" in table
    assert "stint 2: 36.01 of 31.93 MJ" in page          # the chart's note


def test_refuel_time_chart_names_the_short_refuelling(tmp_path):
    page = _check(tmp_path, "88", "--car", "88")
    assert "refuel_time: refuellings over the session (refuelling >= 37 s, tolerance 0.5 s)" in page
    assert "refuelling 1 at 96.8 s: 31.00 s OUTSIDE THE BOUND" in page


def test_a_spec3_check_keeps_its_table(tmp_path):
    log = SAMPLE / "race" / "car7.blf"
    if not log.exists():
        pytest.skip("sample_logs/race is absent")
    out = tmp_path / "r.html"
    subprocess.run([sys.executable, "-c", "import sys; from compliance.cli import main; sys.exit(main(sys.argv[1:]))",
                    "check", str(log), "--profile", str(ROOT / "dbc" / "bmw_m4_gt3.toml"), "--bulletin",
                    str(SAMPLE / "bulletins" / "gtwce-2026-brh-v2.toml"), "--report", str(out)],
                   capture_output=True, text=True, timeout=300, cwd=ROOT)
    page = out.read_text(encoding="utf-8")
    assert "<th>limit</th><th>data-quality errors on its channels</th>" in page
    assert "worst scope" not in page and "Stint budgets" not in page and "car entry" not in page


def _channels(n: int = 400) -> dict[str, Channel]:
    t = np.arange(n) * 0.05
    speed = np.full(n, 150.0)
    speed[100:110] = 40.0                   # below a minimum for 0.45 s
    rpm = np.full(n, 6000.0)
    refuel = np.zeros(n)
    refuel[200:300] = 1.0                   # one refuelling of 5 s
    throttle = np.where(np.arange(n) < 50, 10.0, 80.0)
    return {"vehicle_speed": Channel("vehicle_speed", "km/h", t, speed),
            "engine_speed": Channel("engine_speed", "rpm", t, rpm),
            "refuel": Channel("refuel", "", t, refuel), "throttle": Channel("throttle", "%", t, throttle)}


def test_plots_of_a_min_limit_and_a_generic_limit_with_a_gate():
    from compliance.bop.spec import Condition
    from compliance.judge.verdict import Exceedance
    spec = RuleSpec(rule="limit.min_speed", channel="vehicle_speed", unit="km/h", limits=(60.0,), kind="limit",
                    direction="min", tolerance=5.0, when=(Condition("throttle", ">=", 30.0),))
    exc = [Exceedance("limit.min_speed", 5.0, 5.45, 0.45, 40.0, 60.0, 20.0, "km/h")]
    charts = plots.charts_for_rule(spec, _channels(), exc)
    assert [c.kind for c in charts] == ["value_vs_key", "over_time", "exceedance"]
    labels = {s.label for c in charts for s in c.series}
    assert "limit - tolerance" in labels and "limit + tolerance" not in labels
    assert "judged only while throttle >= 30" in charts[1].note
    assert all("<svg" in chart_svg(c) for c in charts)
    assert all(plots.to_plotly(c) is not None for c in charts)


def test_plots_of_refuel_time_and_a_flat_rev_limit():
    channels = _channels()
    refuel = RuleSpec(rule="refuel_time", channel="refuel", unit="s", limits=(6.0,), kind="refuel_time",
                      direction="min")
    charts = plots.charts_for_rule(refuel, channels, [])
    assert [c.kind for c in charts] == ["refuel_time"]
    assert charts[0].note == "refuelling 1 at 10.0 s: 5.00 s"
    rev = RuleSpec(rule="rev_limit", channel="engine_speed", unit="rpm", limits=(7000.0,), kind="rev_limit")
    charts = plots.charts_for_rule(rev, channels, [])
    assert [c.kind for c in charts] == ["over_time"]     # no engine speed against engine speed
