"""End to end: ``bopwatch dashboard`` on a store built with the real ingest, driven in headless Chromium.

Logs in as each role, uploads a log as the scrutineer and sees its verdict, sees the verdict matrix and an
exceedance plot, and proves team isolation over HTTP: logged in as a team, none of another team's car numbers,
team names, drivers, run ids or log hashes appears in the page text or in any HTTP response or websocket frame.
XSRF protection is checked on the upload endpoint. Screenshots of the main pages go to a temporary folder, and to
``$BOPWATCH_SCREENSHOTS`` when set (``docs/screenshots`` was made that way).
"""

from __future__ import annotations

import re
import socket
import time
import urllib.error
import urllib.request

import bcrypt
import pytest
from _dashboard_server import CHROMIUM, chromium, keep_screenshots, start_dashboard
from _store_support import BULLETIN_R1, BULLETIN_R2, PROFILE, write_log

from compliance.ingest.pipeline import ingest_logs
from compliance.store import schema as st

pytestmark = pytest.mark.browser

EVENT = "e2e-ring-2025"
ENTRIES = {  # car: (team, drivers)
    "417": ("Red Racing", "Ada Redfern"),
    "528": ("Blue Motorsport", "Bo Blauwe"),
    "639": ("Blue Motorsport", "Cy Azure"),
}
PASSWORDS = {"chief": "chief-e2e-pass", "tech": "tech-e2e-pass", "red": "red-e2e-pass", "blue": "blue-e2e-pass"}
PAGE_TIMEOUT_MS = 30_000


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    if not CHROMIUM.exists():
        pytest.skip("/usr/bin/chromium is absent: install Debian's chromium (make browser) to run browser tests")
    pytest.importorskip("playwright.sync_api")
    folder = tmp_path_factory.mktemp("e2e")
    (folder / "entry_list.csv").write_text("car,team,model,class,drivers\n" + "".join(
        f"{car},{team},store_test_turbo,Pro,{drivers}\n" for car, (team, drivers) in ENTRIES.items()))
    logs = folder / "logs"
    logs.mkdir()
    paths = [write_log(logs / "car417_race.log", event=EVENT, car="417", exceedances=3),
             write_log(logs / "car528_race.log", event=EVENT, car="528", exceedances=0, seed=1),
             write_log(logs / "car639_race.log", event=EVENT, car="639", exceedances=1, seed=2),
             write_log(logs / "car417_q1.log", event=EVENT, session="q1", car="417", exceedances=0, seed=3)]
    db = folder / "bopwatch.duckdb"
    store = st.open_store(db)
    outcomes = ingest_logs(store, paths, profile=str(PROFILE), bulletin=[BULLETIN_R1],
                           entry_list=folder / "entry_list.csv", actor="e2e-setup")
    assert [o.status for o in outcomes] == ["checked"] * 4, outcomes
    outcomes = ingest_logs(store, paths[1:2], profile=str(PROFILE), bulletin=[BULLETIN_R2],
                           entry_list=folder / "entry_list.csv", reason="recheck", actor="e2e-setup")
    accounts = folder / "accounts.toml"
    accounts.write_text("".join(
        f'[accounts.{user}]\nrole = "{role}"\n' + (f'team = "{team}"\n' if team else "")
        + f'password_hash = "{bcrypt.hashpw(PASSWORDS[user].encode(), bcrypt.gensalt(4)).decode()}"\n'
        for user, role, team in (("chief", "scrutineer", None), ("tech", "technical", None),
                                 ("red", "team", "Red Racing"), ("blue", "team", "Blue Motorsport"))))
    upload = write_log(folder / "car639_q1.log", event=EVENT, session="q1", car="639", exceedances=4, seed=4,
                       sidecar=False)
    with st.open_store(db).reading() as conn:
        secret = {car: [r[0] for r in conn.execute(
            "SELECT run_id FROM runs WHERE car = ? UNION ALL SELECT sha256 FROM logs WHERE car = ?",
            [car, car]).fetchall()] for car in ENTRIES}
    server = start_dashboard(db, accounts, folder, timeout_s=60, BOPWATCH_MAX_UPLOAD_MB="5",
                             BOPWATCH_PROFILES=str(PROFILE.parent))
    base, port = server.base, server.port
    shots = folder / "screenshots"
    shots.mkdir()
    yield {"base": base, "upload": upload, "secret": secret, "shots": shots}
    server.stop()
    with socket.socket() as probe:
        assert probe.connect_ex(("127.0.0.1", port)) != 0, "the dashboard still listens after SIGTERM"
    keep_screenshots(shots)


@pytest.fixture(scope="module")
def browser(server):
    with chromium() as launched:
        yield launched


class Session:
    """One browser context logged in as one user, recording every response body and websocket frame."""

    def __init__(self, browser, server, user: str) -> None:
        self.server = server
        self.context = browser.new_context(viewport={"width": 1280, "height": 900})
        self.page = self.context.new_page()
        self.page.set_default_timeout(PAGE_TIMEOUT_MS)
        self.captured: list[str] = []
        self.page.on("response", self._response)
        self.page.on("websocket", self._websocket)
        self.page.goto(server["base"])
        self.page.get_by_label("User name").fill(user)
        self.page.get_by_label("Password", exact=True).fill(PASSWORDS[user])
        self.page.get_by_role("button", name="Log in").click()
        self.page.get_by_role("heading", name="Session overview").first.wait_for()

    def _response(self, response) -> None:
        if "/static/" in response.url:          # the app's bundled JS/CSS/fonts: identical for everyone
            return
        from playwright.sync_api import Error as PlaywrightError
        try:
            self.captured.append(response.body().decode("latin-1"))
        except PlaywrightError:                    # redirects and aborted requests have no body
            self.captured.append(response.url)

    def _websocket(self, ws) -> None:
        def frame(payload) -> None:
            self.captured.append(payload.decode("latin-1") if isinstance(payload, bytes) else payload)
        ws.on("framereceived", frame)

    def wait_text(self, text: str) -> None:
        self.page.get_by_text(text, exact=False).first.wait_for(state="visible")

    def goto(self, title: str, heading: str, expect: str | None = None) -> str:
        self.page.get_by_role("link", name=title).click()
        self.page.get_by_role("heading", name=heading).first.wait_for()
        return self.settle(expect)

    def settle(self, expect: str | None = None) -> str:
        """Wait until Streamlit's script run is over (``stApp``'s ``data-test-script-state`` is ``notRunning``)
        and the page text is unchanged over two looks (and contains ``expect``, when given). Returns that text."""
        app = self.page.locator("[data-testid='stApp']")
        last, deadline = None, time.monotonic() + PAGE_TIMEOUT_MS / 1000
        while time.monotonic() < deadline:
            self.page.wait_for_timeout(400)
            if app.get_attribute("data-test-script-state") != "notRunning":
                last = None
                continue
            text = self.text()
            if text == last and (expect is None or expect in text):
                return text
            last = text
        raise AssertionError(f"the page did not settle{' on ' + repr(expect) if expect else ''}: {last}")

    def shot(self, name: str) -> None:
        skeletons = self.page.locator("[data-testid='stSkeleton']")   # data grids still loading
        deadline = time.monotonic() + PAGE_TIMEOUT_MS / 1000
        while skeletons.count() and time.monotonic() < deadline:
            self.page.wait_for_timeout(300)
        self.page.wait_for_timeout(1000)          # charts paint after their data arrives
        self.page.screenshot(path=str(self.server["shots"] / f"{name}.png"))

    def text(self) -> str:
        return self.page.inner_text("body")

    def close(self) -> None:
        self.context.close()


def _mentions(token: str, text: str) -> bool:
    """``token`` as a whole value: not inside a longer number, decimal, word, hash or base64 run."""
    return re.search(rf"(?<![A-Za-z0-9+/._-]){re.escape(token)}(?![A-Za-z0-9+/_-]|\.\d)", text) is not None


def test_technical_staff_see_the_matrix_and_an_exceedance_plot(browser, server):
    s = Session(browser, server, "tech")
    s.settle("3 exceedance(s), 1 allowed")
    s.page.get_by_text("Infringements", exact=True).wait_for()
    s.shot("01-overview-technical")
    charts = s.page.locator("[data-testid='stPlotlyChart']")
    charts.first.wait_for()
    shaded = charts.first.locator(".shapelayer path")
    shaded.first.wait_for(state="attached")
    assert shaded.count() == 3                           # the three exceedances of car 417, shaded
    assert charts.count() >= 2                           # the trace, boost against rpm (and a close-up)
    charts.first.scroll_into_view_if_needed()
    s.page.wait_for_timeout(500)
    s.shot("02-overview-evidence")
    text = s.goto("Car and run detail", "Car and run detail", "samples in view")
    assert "Car #417" in text and "Provenance" in text
    s.shot("03-car-detail")
    s.goto("BoP bulletins", "BoP bulletins", "What changed")
    s.shot("04-bop")
    s.goto("Fleet", "Fleet")
    s.shot("05-fleet")
    s.goto("Audit log", "Audit log", "Audit chain intact")
    s.shot("06-audit")
    assert s.page.get_by_role("link", name="Upload").count() == 0
    s.close()


def test_scrutineer_uploads_a_log_and_sees_its_verdict(browser, server):
    """(The upload screenshots, 07 and 07b, come from tests/test_dashboard_upload_e2e.py.)"""
    s = Session(browser, server, "chief")
    s.goto("Upload", "Upload logs")
    s.page.get_by_role("combobox", name="Session", exact=True).click()
    s.page.get_by_role("option", name="q1", exact=True).click()
    s.settle()
    s.page.get_by_role("combobox", name="Car", exact=True).click()
    s.page.get_by_role("option", name=re.compile(r"^#639 ")).click()
    s.settle()
    s.page.locator("input[type='file']").set_input_files(str(server["upload"]))
    s.page.get_by_text("car639_q1.log").first.wait_for()
    s.page.get_by_role("button", name="Check and store").click()
    s.page.get_by_text("car #639 q1:", exact=False).first.wait_for(timeout=60_000)
    # R2 (in force at the session start) allows 0.2 bar more than R1: the excursions stay under it
    s.settle("car639_q1.log: car #639 q1: COMPLIANT under STORE-TEST-R2")
    s.close()


def test_xsrf_protection_refuses_an_upload_without_the_token(server):
    request = urllib.request.Request(f"{server['base']}/_stcore/upload_file/some-session/some-file", method="PUT",
                                     data=b"--x\r\n", headers={"Content-Type": "multipart/form-data; boundary=x"})
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=10)
    refused.value.close()
    assert refused.value.code == 403


def test_a_team_never_sees_another_teams_cars(browser, server):
    s = Session(browser, server, "red")
    pages = [("Session overview", "Session overview"), ("Car and run detail", "Car and run detail"),
             ("BoP bulletins", "BoP bulletins"), ("Fleet", "Fleet")]
    texts = [s.settle("exceedance(s), 1 allowed")]
    s.shot("08-overview-team")
    for link, heading in pages[1:]:
        texts.append(s.goto(link, heading))
    for link in ("Upload", "Audit log"):
        assert s.page.get_by_role("link", name=link).count() == 0
    everything = "\n".join(texts + s.captured)
    assert _mentions("417", everything), "the team's own car must be visible (else this check proves nothing)"
    assert "Red Racing" in everything
    forbidden = ["528", "639", "Blue Motorsport", "Bo Blauwe", "Cy Azure"]
    forbidden += [token for car in ("528", "639") for token in server["secret"][car]]
    leaks = [token for token in forbidden if _mentions(token, everything)]
    assert leaks == [], f"another team's data reached the team's browser: {leaks}"
    assert len(s.captured) > 10                          # responses and websocket frames were recorded
    s.close()
