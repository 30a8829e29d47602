"""The units of work ``python -m tests.leaks`` repeats: each a factory returning ``(work, pid, settle, close)``."""

from __future__ import annotations

import contextlib
import io
import shutil
import threading
import time
from collections.abc import Callable
from pathlib import Path

from _dashboard_server import start_dashboard

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = ROOT / "sample_logs"
BULLETINS = SAMPLES / "bulletins"
CHROMIUM = Path("/usr/bin/chromium")

Work = tuple[Callable[[int], None], int | None, Callable[[], None] | None, Callable[[], None]]


def _nothing() -> None:
    return None


def check_in_process(tmp: Path) -> Work:
    """``compliance.judge.check.check_logs`` on a sample BLF, in this process (what ``watch`` and the fleet workers do)."""
    from compliance.judge.check import check_logs

    log, profile = SAMPLES / "race" / "car7.blf", ROOT / "dbc" / "bmw_m4_gt3.toml"

    def work(i: int) -> None:
        result = check_logs([log], profile, BULLETINS)
        assert result.verdict.verdict == "infringement", result.verdict.verdict

    return work, None, None, _nothing


def check_isolated(tmp: Path) -> Work:
    """``bopwatch check --isolate always`` on a sample MF4 through the CLI entry point: a child per check."""
    from compliance.cli import main

    argv = ["check", str(SAMPLES / "race" / "car32.mf4"), "--profile", str(ROOT / "dbc" / "bmw_m4_gt3.toml"),
            "--bulletin", str(BULLETINS), "--json", "--isolate", "always"]

    def work(i: int) -> None:
        with contextlib.redirect_stdout(io.StringIO()) as out:
            code = main(argv)
        assert code == 0 and '"compliant"' in out.getvalue(), code

    return work, None, None, _nothing


def _sample_logs() -> list[Path]:
    return sorted(p for p in SAMPLES.glob("*/car*") if not p.name.endswith(".json"))


def watch(tmp: Path) -> Work:
    """A ``Watcher`` (watchdog observer) ingesting the sample event's logs into one store, one log per iteration,
    each copied into the watched folder with its sidecar last, as a logger card is."""
    from compliance.ingest.pipeline import load_event_info
    from compliance.ingest.watch import Watcher
    from compliance.store.schema import open_store

    logs = _sample_logs()
    folder = tmp / "inbox"
    folder.mkdir()
    store = open_store(tmp / "watch.duckdb")
    last: list = [None]         # only the latest outcome: keeping them all would be the harness's own growth

    def keep(outcome) -> None:
        last[0] = outcome.status

    watcher = Watcher(store=store, root=folder, on_outcome=keep,
                      options={"event_info": load_event_info(SAMPLES / "event.toml")}, settle_s=0.3)
    thread = threading.Thread(target=watcher.run, name="leak-watcher", daemon=True)
    thread.start()

    def work(i: int) -> None:
        src = logs[i % len(logs)]
        dst = folder / f"{src.parent.name}-{src.name}"
        if dst.exists():
            raise RuntimeError(f"the watch workload has {len(logs)} distinct logs; use fewer iterations")
        shutil.copyfile(src, dst)
        shutil.copyfile(f"{src}.meta.json", f"{dst}.meta.json")
        deadline = time.monotonic() + 180
        while watcher.processed < i + 1:
            if time.monotonic() > deadline or not thread.is_alive():
                raise RuntimeError(f"the watcher did not ingest {dst.name}")
            time.sleep(0.05)
        assert last[0] in ("checked", "stored"), last[0]

    def close() -> None:
        watcher.stop()
        thread.join(30)

    return work, None, None, close


def dashboard(tmp: Path) -> Work:
    """The ``bopwatch dashboard`` server (a separate process, measured by its pid): each iteration a new browser
    session in Chromium logs in as technical staff, opens the overview and the car page, and closes."""
    import bcrypt
    from playwright.sync_api import sync_playwright

    from compliance.ingest.pipeline import ingest_logs, load_event_info
    from compliance.store.schema import open_store

    if not CHROMIUM.exists():
        raise RuntimeError("/usr/bin/chromium is absent: apt-get install -y chromium (make browser)")
    db = tmp / "dash.duckdb"
    race = sorted(p for p in (SAMPLES / "race").glob("car*") if not p.name.endswith(".json"))
    ingest_logs(open_store(db), race, event_info=load_event_info(SAMPLES / "event.toml"), actor="leaks")
    accounts = tmp / "accounts.toml"
    accounts.write_text('[accounts.tech]\nrole = "technical"\npassword_hash = "'
                        + bcrypt.hashpw(b"tech-leak-pass", bcrypt.gensalt(4)).decode() + '"\n', encoding="utf-8")
    server = start_dashboard(db, accounts, tmp,
                             # Streamlit keeps a closed tab's session 120 s for a reconnect; a short TTL lets the
                             # measurement see what remains once sessions are really gone
                             STREAMLIT_SERVER_DISCONNECTED_SESSION_TTL="3")
    base = server.base
    pw = sync_playwright().start()
    browser = pw.chromium.launch(executable_path=str(CHROMIUM),
                                 args=["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run"])

    def work(i: int) -> None:
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        page = context.new_page()
        page.set_default_timeout(60_000)
        page.goto(base)
        page.get_by_label("User name").fill("tech")
        page.get_by_label("Password", exact=True).fill("tech-leak-pass")
        page.get_by_role("button", name="Log in").click()
        page.get_by_role("heading", name="Session overview").first.wait_for()
        page.get_by_role("link", name="Car").first.click()
        page.get_by_role("heading", name="Car and run detail").first.wait_for()
        page.wait_for_timeout(1500)
        context.close()

    def settle() -> None:
        time.sleep(15)       # closed websockets noticed, sessions dropped after their 3 s TTL, caches cleaned

    def close() -> None:
        browser.close()
        pw.stop()
        server.stop()

    return work, server.proc.pid, settle, close


WORKLOADS: dict[str, Callable[[Path], Work]] = {
    "check": check_in_process, "check-isolated": check_isolated, "watch": watch, "dashboard": dashboard}
