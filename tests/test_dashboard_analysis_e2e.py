"""End to end: the "BoP analysis" page in headless Chromium (issue 17: team accounts never see analysis or other
models' reference data).

One ``bopwatch dashboard`` on the store of ``test_dashboard_analysis.build_analysis_store`` (weights in the
bulletins, a reference run per model). A team account follows a deep link to ``/analysis``, through the login and
again once logged in: it lands on its overview, and nothing of the analysis (titles, tables, the target figure)
nor any reference id reaches its browser (page text, HTTP bodies, websocket frames). Technical staff follow the
same link and get the page: tables, proposal, chart, references. Screenshots ``10-analysis-team-link.png`` and
``11-analysis-technical.png`` (copied by ``keep_screenshots`` when BOPWATCH_SCREENSHOTS is set).
"""

from __future__ import annotations

import time

import pytest
from _dashboard_login import browser_login, write_accounts
from _dashboard_server import (
    chromium,
    keep_screenshots,
    mentions,
    record_traffic,
    settle,
    start_dashboard,
)
from test_dashboard_analysis import build_analysis_store

from compliance.access import analysis
from compliance.access.auth import Viewer
from compliance.store import schema as st

pytestmark = pytest.mark.browser

PASSWORDS = {"tech": "tech-e2e-pass", "red": "red-e2e-pass"}
TIMEOUT_MS = 45_000
#: what only the analysis page shows (its title, table headings and captions)
ANALYSIS_WORDS = ("BoP analysis", "Power against speed", "power-to-weight", "Reference runs", "sensitivity",
                  "weight delta", "boost delta", "W/kg", "Inputs of each proposal", "sandbagging")


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    folder = tmp_path_factory.mktemp("analysis-e2e")
    db, refs = build_analysis_store(folder / "store")
    result = analysis.field_analysis(Viewer("tech", "technical"), st.open_store(db), "testring-2025")
    accounts = write_accounts(folder / "accounts.toml", PASSWORDS)
    server = start_dashboard(db, accounts, folder, timeout_s=60)
    shots = folder / "screenshots"
    shots.mkdir()
    yield {"base": server.base, "refs": refs, "target": f"{result.target_w_kg:.1f}", "shots": shots}
    server.stop()
    keep_screenshots(shots)


@pytest.fixture(scope="module")
def browser(server):
    with chromium() as launched:
        yield launched


def _context(browser):
    context = browser.new_context(viewport={"width": 1400, "height": 2000})
    context.set_default_timeout(TIMEOUT_MS)
    return context


def _login(page, user: str, heading: str) -> None:
    browser_login(page, user, PASSWORDS[user], heading)


def test_a_team_following_the_analysis_link_sees_nothing_of_it(browser, server):
    context = _context(browser)
    page = context.new_page()
    captured: list[str] = []
    record_traffic(page, captured)
    page.goto(f"{server['base']}/analysis")
    page.get_by_label("User name").wait_for()                     # the login form stands in for the page
    _login(page, "red", heading="Session overview")             # not in the team's navigation: its overview
    text = settle(page, TIMEOUT_MS, "Red Racing")
    page.goto(f"{server['base']}/analysis")                      # again, logged in (the cookie resumes it)
    page.get_by_role("heading", name="Session overview").first.wait_for()
    text += "\n" + settle(page, TIMEOUT_MS, "Red Racing")
    page.screenshot(path=str(server["shots"] / "10-analysis-team-link.png"), full_page=True)
    everything = "\n".join([text, *captured])
    assert mentions("417", everything) and len(captured) > 10     # the team's own car and real traffic were seen
    leaks = [w for w in ANALYSIS_WORDS if w.lower() in everything.lower()]
    leaks += [r for r in server["refs"].values() if r in everything or mentions(r, everything)]
    leaks += [server["target"]] if mentions(server["target"], everything) else []
    assert leaks == [], f"the BoP analysis reached a team's browser: {leaks}"
    assert "/analysis" not in page.url
    context.close()


def test_technical_staff_following_the_link_get_the_page(browser, server):
    context = _context(browser)
    page = context.new_page()
    page.goto(f"{server['base']}/analysis")
    _login(page, "tech", heading="BoP analysis")
    text = settle(page, TIMEOUT_MS, "Reference runs")
    assert f"{server['target']} W/kg" in text
    assert "Per model" in text and "Proposal" in text
    page.locator("[data-testid='stDataFrame']").nth(4).wait_for(state="attached")   # 5 tables, 2 in expanders
    deadline = time.monotonic() + TIMEOUT_MS / 1000
    while not all(ref in page.content() for ref in server["refs"].values()):   # the grid's accessible cells
        assert time.monotonic() < deadline, "the reference table does not list the references"
        page.wait_for_timeout(300)
    assert page.locator("[data-testid='stPlotlyChart']").count() == 1
    page.locator("[data-testid='stPlotlyChart'] .scatterlayer .trace").nth(1).wait_for(state="attached")
    assert page.locator("[data-testid='stPlotlyChart'] .scatterlayer .trace").count() == 2   # a line a model, SVG
    assert page.locator("[data-testid='stPlotlyChart'] canvas.gl-canvas").count() == 0       # no WebGL
    page.wait_for_timeout(1500)                                   # charts paint after their data arrives
    page.screenshot(path=str(server["shots"] / "11-analysis-technical.png"), full_page=True)
    context.close()
