"""End to end: the dashboard login as a cookie-backed server-side session, and deep links, in headless Chromium.

One ``bopwatch dashboard`` on the small store of ``_dashboard_store`` (car 417 of Red Racing has two runs, R1 and
its R2 recheck; 528 and 639 are Blue Motorsport's). Proves: a reload and a new tab keep the login; "Log out" in one
tab ends the login in the other one (without touching it) and for the cookie itself; a tampered, expired or idle
cookie gives the login form; a link to a car's older run keeps its page and query through the login and lands on
that run; the same kind of link to another team's car shows a team nothing of that car (page text, HTTP bodies,
websocket frames). Screenshot ``09-car-deep-link.png`` goes where ``test_dashboard_e2e`` puts its own.
"""

from __future__ import annotations

import time
import urllib.error
import urllib.request

import pytest
from _dashboard_login import browser_login, write_accounts
from _dashboard_server import (
    chromium,
    keep_screenshots,
    mentions,
    record_traffic,
    session_cookie,
    settle,
    start_dashboard,
)
from _dashboard_store import EVENT, SESSION, build_store

from compliance.access.auth import LoginSession, Viewer, load_accounts, open_sessions
from compliance.store import schema as st

pytestmark = pytest.mark.browser

PASSWORDS = {"tech": "tech-e2e-pass", "red": "red-e2e-pass"}
TIMEOUT_MS = 30_000
OLD_RUN = "run417" + "0" * 26                 # car 417's R1 run; its R2 recheck is newer, the page's default
BLUE_RUN = "run528" + "0" * 26


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    folder = tmp_path_factory.mktemp("session-e2e")
    db, _ = build_store(folder / "store", bulletin_v2=True)
    accounts = write_accounts(folder / "accounts.toml", PASSWORDS,
                              header="session_ttl_minutes = 60\nidle_timeout_minutes = 10")
    with st.open_store(db).reading() as conn:
        blue = [r[0] for r in conn.execute("SELECT run_id FROM runs WHERE car IN ('528', '639') UNION ALL "
                                           "SELECT sha256 FROM logs WHERE car IN ('528', '639')").fetchall()]
    server = start_dashboard(db, accounts, folder, timeout_s=60)
    shots = folder / "screenshots"
    shots.mkdir()
    yield {"base": server.base, "db": db, "accounts": accounts, "blue": blue, "shots": shots}
    server.stop()
    keep_screenshots(shots)


@pytest.fixture(scope="module")
def browser(server):
    with chromium() as launched:
        yield launched


def _context(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(TIMEOUT_MS)
    return context


def _settle(page, expect: str | None = None) -> str:
    return settle(page, TIMEOUT_MS, expect)


def _login(page, user: str, heading: str = "Session overview") -> None:
    browser_login(page, user, PASSWORDS[user], heading)


def _login_form(page) -> None:
    page.get_by_label("User name").wait_for()
    assert page.get_by_role("button", name="Log in").count() == 1


def test_reload_and_a_new_tab_keep_the_login(browser, server):
    context = _context(browser)
    page = context.new_page()
    page.goto(server["base"])
    _login(page, "tech")
    cookie = session_cookie(context)
    assert cookie["httpOnly"] and cookie["sameSite"] == "Lax" and cookie["path"] == "/"
    assert 0 < cookie["expires"] - time.time() <= 3600 + 5       # the login's lifetime, not longer
    bind = next(c for c in context.cookies() if c["name"] == "bopwatch_bind")
    assert bind["httpOnly"] and bind["sameSite"] == "Strict"
    page.reload()
    page.get_by_role("heading", name="Session overview").first.wait_for()
    assert page.get_by_label("User name").count() == 0
    other = context.new_page()
    other.goto(f"{server['base']}/fleet")
    other.get_by_role("heading", name="Fleet").first.wait_for()
    assert other.get_by_label("User name").count() == 0
    context.close()


def test_logout_ends_the_login_in_the_other_tab_and_for_the_cookie(browser, server):
    context = _context(browser)
    first = context.new_page()
    first.goto(server["base"])
    _login(first, "tech")
    value = session_cookie(context)["value"]
    second = context.new_page()
    second.goto(f"{server['base']}/bop")
    second.get_by_role("heading", name="BoP bulletins").first.wait_for()
    _settle(first)
    first.get_by_role("button", name="Log out").click()
    _login_form(first)
    assert session_cookie(context) is None                     # dropped by /bopwatch/logout
    # the other tab is not touched: its timer finds the login ended and shows the form (app.LOGIN_CHECK_S = 10)
    second.get_by_label("User name").wait_for(timeout=25_000)
    assert "Logged in as" not in second.inner_text("body")
    # the old cookie value, replayed in a fresh browser, is refused server-side
    replay = _context(browser)
    replay.add_cookies([{"name": "bopwatch_session", "value": value, "url": server["base"]}])
    page = replay.new_page()
    page.goto(server["base"])
    _login_form(page)
    replay.close()
    context.close()


@pytest.mark.parametrize("case", ["tampered", "expired", "idle"])
def test_a_tampered_expired_or_idle_cookie_gives_the_login_form(browser, server, case):
    accounts = load_accounts(server["accounts"])
    book = open_sessions(f"{server['db']}.sessions")
    now = time.time()
    issued, seen = {"tampered": (now, now), "expired": (now - 3601, now - 60), "idle": (now - 700, now - 601)}[case]
    login = book.begin(accounts, LoginSession(Viewer("tech", "technical"), issued, seen))
    value = book.cookie(login)
    if case == "tampered":
        value = value[:-2] + ("AA" if not value.endswith("AA") else "BB")
    context = _context(browser)
    context.add_cookies([{"name": "bopwatch_session", "value": value, "url": server["base"]}])
    page = context.new_page()
    page.goto(f"{server['base']}/car")
    _login_form(page)
    text = _settle(page)
    assert "Car #" not in text and "Logged in as" not in text
    assert {"tampered": "saved login not valid", "expired": "session expired",
            "idle": "session expired after inactivity"}[case] in text
    context.close()


def test_a_deep_link_lands_on_that_car_and_run_after_login(browser, server):
    context = _context(browser)
    page = context.new_page()
    link = f"{server['base']}/car?event={EVENT}&session={SESSION}&car=417&run={OLD_RUN}"
    page.goto(link)
    _login_form(page)
    assert "Page not found" not in _settle(page)
    _login(page, "tech", heading="Car and run detail")
    text = _settle(page, "Car #417")
    assert "under TEST-2025-R1" in text                          # the linked (older) run, not the newest
    assert page.url.split("?")[0].endswith("/car") and f"run={OLD_RUN}" in page.url
    page.get_by_text("samples in view").first.wait_for()
    page.wait_for_timeout(1500)                                   # charts paint after their data arrives
    page.screenshot(path=str(server["shots"] / "09-car-deep-link.png"))
    context.close()


def test_a_team_link_to_another_teams_car_shows_nothing_of_it(browser, server):
    context = _context(browser)
    page = context.new_page()
    captured: list[str] = []
    record_traffic(page, captured)
    page.goto(f"{server['base']}/car?event={EVENT}&session={SESSION}&car=528&run={BLUE_RUN}")
    _login(page, "red", heading="Car and run detail")
    text = _settle(page, "Nothing to show for this link")
    everything = "\n".join([text, *captured])
    assert mentions("417", everything)                           # its own car: the check can see a car number
    leaks = [t for t in ["528", "639", "Blue Motorsport", "Bo Blauwe", "Cy Azure", *server["blue"]]
             if mentions(t, everything)]
    assert leaks == [], f"another team's data reached the team's browser: {leaks}"
    assert len(captured) > 10                                     # responses and websocket frames were recorded
    assert "528" not in page.url.split("?", 1)[-1]               # the link's values are not kept either
    context.close()


def test_the_cookie_routes_refuse_a_forged_grant_and_redirect_only_to_their_own_pages(server):
    # (XSRF on the upload route under this server: test_dashboard_e2e.py)
    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args, **kwargs):
            return None

    opener = urllib.request.build_opener(NoRedirect)
    with opener.open(f"{server['base']}/bopwatch/session?grant=forged", timeout=10) as answer:
        assert answer.status == 204 and "bopwatch_session" not in (answer.headers.get("Set-Cookie") or "")
    for url in (f"{server['base']}/bopwatch/logout?next=https://evil.example/",
                f"{server['base']}/bopwatch/logout?next=//evil.example/car"):
        with pytest.raises(urllib.error.HTTPError) as answer:
            opener.open(url, timeout=10)
        answer.value.close()
        assert answer.value.code == 303 and answer.value.headers["Location"] == "/"
