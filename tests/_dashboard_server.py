"""Start ``bopwatch dashboard`` as its own process and wait until it answers (browser tests, leak harness); and the
small pieces the browser tests share (Chromium, waiting for a page to settle, recording what reaches the browser)."""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]


@dataclass(frozen=True, slots=True)
class Server:
    proc: subprocess.Popen
    base: str
    port: int
    log_file: IO[bytes]

    def stop(self) -> None:
        """SIGTERM (``bopwatch dashboard`` exec'd Streamlit: this is the server itself), SIGKILL after 15 s."""
        self.proc.terminate()
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.log_file.close()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_dashboard(db: Path, accounts: Path, folder: Path, *, timeout_s: float = 90, **env: str) -> Server:
    """``bopwatch dashboard --db DB --accounts A`` on a free port, cwd and ``server.log`` in ``folder``; ``env`` is
    added to this process's environment. Raises ``AssertionError`` with the log's tail when it does not start."""
    port = free_port()
    log_file = open(folder / "server.log", "wb")  # noqa: SIM115 - closed by Server.stop
    bopwatch = Path(sys.executable).with_name("bopwatch")
    proc = subprocess.Popen([str(bopwatch), "dashboard", "--db", str(db), "--port", str(port), "--accounts",
                             str(accounts)], cwd=folder, stdout=log_file, stderr=subprocess.STDOUT,
                            env=dict(os.environ, **env))
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            with urllib.request.urlopen(f"{base}/_stcore/health", timeout=2) as r:
                if r.status == 200:
                    return Server(proc, base, port, log_file)
        except OSError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            log_file.close()
            raise AssertionError(f"the dashboard did not start: {(folder / 'server.log').read_text()[-2000:]}")
        time.sleep(0.3)


SESSION_COOKIE = "bopwatch_session"


def session_cookie(context) -> dict | None:
    """The dashboard's login cookie in a Playwright browser context (name, value, httpOnly, sameSite, expires...),
    or None when the browser holds none."""
    return next((c for c in context.cookies() if c["name"] == SESSION_COOKIE), None)


@contextlib.contextmanager
def chromium() -> Iterator[object]:
    """Debian's headless Chromium through Playwright (the test is skipped without either)."""
    import pytest
    if not CHROMIUM.exists():
        pytest.skip("/usr/bin/chromium is absent: install Debian's chromium (make browser) to run browser tests")
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


def settle(page, timeout_ms: float, expect: str | None = None) -> str:
    """The page text once Streamlit's run is over (``stApp``'s ``data-test-script-state`` is ``notRunning``) and the
    text is unchanged over two looks (and contains ``expect``, when given)."""
    app = page.locator("[data-testid='stApp']")
    last, deadline = None, time.monotonic() + timeout_ms / 1000
    while time.monotonic() < deadline:
        page.wait_for_timeout(400)
        if app.count() == 0 or app.get_attribute("data-test-script-state") != "notRunning":
            last = None
            continue
        text = page.inner_text("body")
        if text == last and (expect is None or expect in text):
            return text
        last = text
    raise AssertionError(f"the page did not settle{' on ' + repr(expect) if expect else ''}: {last}")


def record_traffic(page, captured: list[str]) -> None:
    """Append to ``captured`` every HTTP response body (but the app's bundled assets, the same for everyone) and
    every websocket frame the page receives."""
    from playwright.sync_api import Error as PlaywrightError

    def response(r) -> None:
        if "/static/" not in r.url:
            with contextlib.suppress(PlaywrightError):          # redirects and aborted requests have no body
                captured.append(r.body().decode("latin-1"))

    def frame(payload) -> None:
        captured.append(payload.decode("latin-1") if isinstance(payload, bytes) else payload)

    page.on("response", response)
    page.on("websocket", lambda ws: ws.on("framereceived", frame))


def mentions(token: str, text: str) -> bool:
    """``token`` as a whole value: not inside a longer number, decimal, word, hash or base64 run."""
    return re.search(rf"(?<![A-Za-z0-9+/._-]){re.escape(token)}(?![A-Za-z0-9+/_-]|\.\d)", text) is not None


def keep_screenshots(shots: Path) -> None:
    """Copy the PNGs in ``shots`` to ``$BOPWATCH_SCREENSHOTS`` when it is set (``docs/screenshots`` is made so)."""
    target = os.environ.get("BOPWATCH_SCREENSHOTS")
    if target:
        Path(target).mkdir(parents=True, exist_ok=True)
        for png in sorted(shots.glob("*.png")):
            shutil.copy(png, Path(target) / png.name)
