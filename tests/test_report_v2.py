"""The steward report (HTML and PDF) of the sample endurance session (SPEC §5): the matrix lists the new rule kinds
in verdict order, each car shows the car entry that judged it and the bulletin's information, the rule rows say the
counting scope, worst scope, time over and gate, stint energy with a replenishment rate lists its stint budgets, and
the decision block's findings name the worst scope. The PDF is read back with pdftotext."""

from __future__ import annotations

import html
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from compliance.ingest.pipeline import ingest_logs, load_event_info
from compliance.reports.render import render
from compliance.reports.steward import build_report, entry_facts, report_rules, rule_spec
from compliance.store import schema as st

SAMPLE = Path(__file__).resolve().parent.parent / "sample_logs"
EVENT = "gtwce-sprint-2026-brh"
CARS = ("car7.blf", "car32.log.gz", "car63.blf", "car88.asc.gz", "car411.log.gz")
ORDER = ["boost", "fuel_flow", "power", "stint_energy", "rev_limit", "throttle", "refuel_time"]


@pytest.fixture(scope="module")
def endurance(tmp_path_factory):
    if not (SAMPLE / "endurance" / CARS[0]).exists():
        pytest.skip("sample_logs/endurance is absent (bopwatch simulate event --out sample_logs)")
    store = st.open_store(tmp_path_factory.mktemp("v2report") / "e.duckdb")
    outcomes = ingest_logs(store, [SAMPLE / "endurance" / n for n in CARS],
                           event_info=load_event_info(SAMPLE / "event.toml"), reason="test")
    assert [o.status for o in outcomes] == ["checked"] * len(CARS), outcomes
    report = build_report(store, EVENT, "endurance")
    return store, report


@pytest.fixture(scope="module")
def page(endurance) -> str:
    store, report = endurance
    return html.unescape(render(report, "html", store).decode("utf-8"))


@pytest.fixture(scope="module")
def pdf_text(endurance, tmp_path_factory) -> str:
    if not shutil.which("pdftotext"):
        pytest.skip("pdftotext (poppler-utils) is not installed")
    store, report = endurance
    pdf = tmp_path_factory.mktemp("v2pdf") / "r.pdf"
    pdf.write_bytes(render(report, "pdf", store))
    return subprocess.run(["pdftotext", "-layout", str(pdf), "-"], check=True, capture_output=True, text=True,
                          timeout=120).stdout


def test_matrix_lists_the_new_kinds_in_verdict_order(endurance, page):
    _, report = endurance
    assert report_rules(report.cars) == ORDER
    matrix = page[page.index("<h2>Verdict matrix</h2>"):page.index("<section class='car'")]
    headers = re.findall(r"<th>([^<]*)</th>", matrix)
    assert [h for h in headers if h in ORDER] == ORDER
    assert "Rule cells: verdict, exceedances counted / allowed." in matrix


def test_car_entry_information_and_v2_rule_columns(page):
    car7 = page[page.index("id='car-7'"):page.index("id='car-32'")]
    assert 'Judged by the bulletin\'s car entry <b>[cars."7"]</b>' in car7
    assert "Bulletin information (not judged): ballast_kg 30" in car7 and "homologation GT3-035" in car7
    assert "<th>counted</th><th>time over</th><th>worst scope</th><th>judged only while</th>" in car7
    assert "170.96-230.96 s: 4 exceedances, 1.24 s over" in car7 and "1.24 s of 2 s allowed" in car7
    assert "3 allowed per 60 s window" in car7
    assert "engine_speed > 3000 and long_accel >= 0 and throttle >= 30" in car7


def test_stint_budgets_and_the_new_kinds_rows(page):
    car63 = page[page.index("id='car-63'"):page.index("id='car-88'")]
    assert "<h3>Stint budgets</h3>" in car63 and "<td class='num'>31.930</td>" in car63
    assert "<td class='num'>-4.079</td><td>yes</td>" in car63
    car88 = page[page.index("id='car-88'"):page.index("id='car-411'")]
    assert "<td>refuel_time</td><td><span class='infringement'>infringement</span>" in car88
    assert "refuelling 1 at 96.8 s: 31.00 s OUTSIDE THE BOUND" in car88
    car411 = page[page.index("id='car-411'"):]
    assert "<td>throttle</td><td><span class='infringement'>infringement</span>" in car411
    assert "data-rule='throttle'" in car411 and "data-rule='rev_limit'" in car411


def test_findings_name_the_worst_scope(page):
    car7 = page[page.index("id='car-7'"):page.index("id='car-32'")]
    decision = car7[car7.index("Steward decision"):car7.index("<h3>Evidence")]
    assert "worst scope 170.96-230.96 s: 4 exceedances, 1.24 s over" in decision
    assert "time over 1.24 s of 2 s allowed" in decision


def test_charts_use_the_car_entry(endurance):
    store, report = endurance
    car7 = next(c for c in report.cars if c.car == "7")
    spec, _ = rule_spec(car7.run, car7.run["model"], "boost", "7")
    model_spec, _ = rule_spec(car7.run, car7.run["model"], "boost")
    assert spec.limits[0] == pytest.approx(2.62) and model_spec.limits[0] == pytest.approx(2.64)
    facts = entry_facts(car7)
    assert facts.car_entry == "7" and facts.info["ballast_kg"] == 30 and facts.problem is None


def test_pdf_shows_the_same_facts(pdf_text):
    flat = " ".join(pdf_text.split())
    for rule in ORDER:
        assert rule in flat
    assert 'car entry [cars."7"]' in flat and "ballast_kg 30" in flat
    assert "Stint budgets" in flat and "31.930" in flat
    assert "worst scope" in flat and "judged only while" in flat
    assert "170.96-230.96 s: 4 exceedances, 1.24 s over" in flat
    assert "refuelling 1 at 96.8 s: 31.00 s OUTSIDE THE BOUND" in flat
