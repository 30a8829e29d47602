"""The steward report of the sample race, as a steward gets it: the PDF opened as PNG pages (pdftoppm) has per
car a decision block to sign and a value-vs-key figure with the bulletin curve on round ticks; the HTML is one
light file (no script, no WebGL) under 3 MB that still holds every exceedance sample exactly."""

from __future__ import annotations

import re
import shutil
import subprocess
import time

import numpy as np
import pytest

from compliance.ingest.pipeline import expand_paths, ingest_logs, load_event_info
from compliance.reports.plots import charts_for_rule
from compliance.reports.render import render
from compliance.reports.steward import build_report, exceedance_objects, load_channels, rule_spec
from compliance.store import schema as st

EVENT, SESSION = "gtwce-sprint-2026-brh", "race"
DPI = 60
_WORD = re.compile(r'<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)">([^<]*)</word>')


@pytest.fixture(scope="module")
def race(sample_logs, tmp_path_factory):
    if not (sample_logs / "event.toml").is_file():
        pytest.skip("sample_logs/ is absent (bopwatch simulate event --out sample_logs)")
    tmp = tmp_path_factory.mktemp("steward")
    store = st.open_store(tmp / "race.duckdb")
    outcomes = ingest_logs(store, expand_paths([sample_logs / SESSION]),
                           event_info=load_event_info(sample_logs / "event.toml"), reason="test")
    assert all(o.status == "checked" for o in outcomes), [(o.path, o.error) for o in outcomes]
    return store, build_report(store, EVENT, SESSION)


@pytest.fixture(scope="module")
def pdf_pages(race, tmp_path_factory):
    """Per page of the sample race PDF: its words with their boxes (points) and its pixels (RGB array)."""
    if not (shutil.which("pdftoppm") and shutil.which("pdftotext")):
        pytest.skip("pdftoppm/pdftotext (poppler-utils) are not installed: run 'make browser' as root, or "
                    "'apt-get install poppler-utils'")
    from PIL import Image

    store, report = race
    tmp = tmp_path_factory.mktemp("pages")
    pdf = tmp / "race.pdf"
    pdf.write_bytes(render(report, "pdf", store))
    subprocess.run(["pdftoppm", "-r", str(DPI), "-png", str(pdf), str(tmp / "p")], check=True, timeout=120)
    bbox = subprocess.run(["pdftotext", "-bbox", str(pdf), "-"], check=True, capture_output=True, text=True,
                          timeout=120).stdout
    texts = bbox.split("<page ")[1:]
    images = sorted(tmp.glob("p-*.png"))
    assert len(images) == len(texts) > len(report.cars)
    return [([(float(a), float(b), float(c), float(d), w) for a, b, c, d, w in _WORD.findall(text)],
             np.asarray(Image.open(path).convert("RGB")).astype(np.int16)) for text, path in zip(texts, images,
                                                                                                   strict=True)]


def _px(points: float) -> int:
    return int(round(points * DPI / 72))


def _find(words, *sequence: str) -> tuple | None:
    """The box of the first word of ``sequence`` where the words follow each other on the page."""
    texts = [w[4] for w in words]
    for i in range(len(texts) - len(sequence) + 1):
        if tuple(texts[i:i + len(sequence)]) == sequence:
            return words[i]
    return None


def _reddish(pixels: np.ndarray) -> np.ndarray:
    r, g, b = pixels[..., 0], pixels[..., 1], pixels[..., 2]
    return (r - g > 80) & (r - b > 80)


def _bluish(pixels: np.ndarray) -> np.ndarray:
    r, g, b = pixels[..., 0], pixels[..., 1], pixels[..., 2]
    return (b - r > 40) & (b >= g)


def test_every_car_opens_with_a_decision_block_to_sign(race, pdf_pages):
    _, report = race
    for car in report.cars:
        page = next((p for p in pdf_pages if _find(p[0], "Car", car.car, "-") and _find(p[0], "Steward",
                                                                                       "decision")), None)
        assert page is not None, f"car {car.car}: no page with its decision block"
        words, pixels = page
        text = " ".join(w[4] for w in words)
        signer = "Noted by (name)" if car.run["verdict"] == "compliant" else "Steward (name)"
        assert signer in text and "Time" in text and "Signature" in text, car.car
        if car.run["verdict"] != "compliant":
            assert "steward decision" in text and "sanction" in text, car.car
            for rule in car.verdict["rules"]:
                if rule["verdict"] == "infringement":
                    assert re.search(rf"infringement: {rule['exceedance_count']} exceedances?, "
                                     rf"{rule['max_exceedances']} allowed; worst excess", text), (car.car, rule)
        label = _find(words, "Signature")
        x0, y0 = _px(label[0]), _px(label[1])
        band = pixels[max(0, y0 - _px(8)):y0, x0:x0 + _px(150)]          # the line written on, above its label
        dark_columns = (band.sum(axis=2) < 200).any(axis=0).mean()
        assert dark_columns > 0.9, f"car {car.car}: no signature line drawn above 'Signature'"


def test_every_car_has_a_value_vs_key_figure_with_the_bulletin_curve_on_round_ticks(race, pdf_pages):
    _, report = race
    for car in report.cars:
        keyed = [r["rule"] for r in car.verdict["rules"] if r["rule"] in ("boost", "fuel_flow")]
        assert keyed, car.car
        rule = keyed[0]
        channel = {"boost": "boost_pressure", "fuel_flow": "fuel_flow"}[rule]
        hit = next(((p, box) for p in pdf_pages if (box := _find(p[0], "car", car.car, f"{rule}:", channel,
                                                                  "against", "rpm"))), None)
        assert hit is not None, f"car {car.car}: no {rule} against rpm figure"
        (words, pixels), box = hit
        x0, y0 = box[0], box[1]
        area = pixels[_px(y0 + 25):_px(y0 + 190), _px(x0 + 40):_px(x0 + 360)]      # inside the plot frame
        red, blue = _reddish(area), _bluish(area)
        assert red.any(axis=0).mean() > 0.6, f"car {car.car}: the bulletin curve does not span the plot"
        assert blue.sum() > 200, f"car {car.car}: no samples drawn"
        ticks = [float(w[4]) for w in words if x0 + 30 < w[0] < x0 + 370 and y0 + 150 < w[1] < y0 + 215
                 and re.fullmatch(r"\d+", w[4])]
        steps = set(np.diff(sorted(ticks)).round(6))
        assert len(ticks) >= 4 and len(steps) == 1, (car.car, ticks)
        step = steps.pop()
        assert step / 10 ** np.floor(np.log10(step)) in (1, 2, 2.5, 5), (car.car, ticks)


def test_html_is_light_svg_without_script_or_webgl(race):
    store, report = race
    html = render(report, "html", store)
    assert len(html) < 3_000_000, f"{len(html) / 1e6:.2f} MB"
    text = html.decode()
    assert "<script" not in text and "scattergl" not in text.lower() and "webgl" not in text.lower()
    assert text.count("data-chart='value_vs_key'") >= len(report.cars)
    assert text.count("class='decisionblock'") == len(report.cars)


def test_downsampled_charts_keep_every_exceedance_sample_and_peak_exactly(race):
    store, report = race
    car = next(c for c in report.cars if c.car == "7")
    channels = load_channels(store, car.run)
    exceedances = exceedance_objects(car.verdict)
    spec, bulletin = rule_spec(car.run, car.run["model"], "boost")
    charts = {c.kind: c for c in charts_for_rule(spec, channels, exceedances, max_traces=0,
                                                 reference_ambient_bar=bulletin.reference_ambient_pressure_bar)}
    value = channels["boost_pressure"]
    over_time = charts["over_time"]
    line = next(s for s in over_time.series if s.label == "boost_pressure")
    assert len(line.x) < len(value.time) / 4                             # it is downsampled
    for e in exceedances:
        inside = (value.time >= e.start_s) & (value.time <= e.end_s)
        drawn = (line.x >= e.start_s) & (line.x <= e.end_s)
        assert np.array_equal(line.x[drawn], value.time[inside])          # every sample, exact
        assert np.array_equal(line.y[drawn], value.value[inside])
        assert line.y[drawn].max() == pytest.approx(e.peak, abs=1e-4)
    marks = next(s for s in charts["value_vs_key"].series if s.style == "marks")
    assert len(marks.x) == sum(int(((value.time >= e.start_s) & (value.time <= e.end_s)).sum())
                               for e in exceedances)


@pytest.mark.browser
def test_html_draws_the_samples_in_chromium_without_a_gpu(race, tmp_path):
    """The old report drew boost against rpm with WebGL: without a GPU only the limit line appeared."""
    from _dashboard_server import chromium
    from PIL import Image

    store, report = race
    html = tmp_path / "race.html"
    html.write_bytes(render(report, "html", store))
    with chromium() as browser:
        page = browser.new_page(viewport={"width": 1300, "height": 900})
        started = time.monotonic()
        page.goto(html.as_uri(), wait_until="load")
        loaded = time.monotonic() - started
        chart = page.locator("svg[data-chart='value_vs_key']").first
        chart.scroll_into_view_if_needed()
        chart.screenshot(path=str(tmp_path / "chart.png"))
        page.close()
    assert loaded < 10, f"the report took {loaded:.1f} s to load"
    pixels = np.asarray(Image.open(tmp_path / "chart.png").convert("RGB")).astype(np.int16)
    assert _bluish(pixels).sum() > 500, "no samples drawn"
    assert _reddish(pixels).any(axis=0).mean() > 0.5, "no bulletin curve across the chart"
