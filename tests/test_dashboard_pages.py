"""One AppTest per dashboard page, on a real store, logged in through the login form."""

from __future__ import annotations

from pathlib import Path

import pytest
from _dashboard_login import login, write_accounts
from _dashboard_store import EVENT, build_store
from streamlit.testing.v1 import AppTest

APP = str(Path(__file__).resolve().parent.parent / "dashboard" / "app.py")
PASSWORDS = {"chief": "chief-pass", "tech": "tech-pass", "red": "red-pass", "blue": "blue-pass"}
TIMEOUT = 60


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    folder = tmp_path_factory.mktemp("dash")
    db, _ = build_store(folder, bulletin_v2=True)
    accounts = write_accounts(folder / "accounts.toml", PASSWORDS)
    return db, accounts


@pytest.fixture
def env(served, monkeypatch):
    db, accounts = served
    monkeypatch.setenv("BOPWATCH_DB", str(db))
    monkeypatch.setenv("BOPWATCH_ACCOUNTS", str(accounts))
    return served


def _login(user: str, password: str | None = None) -> AppTest:
    at = login(user, password or PASSWORDS[user], timeout=TIMEOUT)
    return at


def _text(at: AppTest) -> str:
    parts = [m.value for m in at.markdown] + [e.value for e in at.error] + [w.value for w in at.warning]
    parts += [s.value for s in at.success] + [i.value for i in at.info] + [c.value for c in at.caption]
    parts += [str(t.value) for t in at.title]
    for frame in at.dataframe:
        parts.append(frame.value.to_csv())
    for box in at.selectbox:
        parts += [str(o) for o in box.options]
    return "\n".join(map(str, parts))


def test_login_page_refuses_a_wrong_password(env):
    at = _login("chief", "wrong")
    assert not at.exception
    assert "unknown user name or wrong password" in at.error[0].value
    assert at.title[0].value == "bopwatch"


def test_overview_shows_the_matrix_and_the_evidence_of_an_infringement(env):
    at = _login("tech")
    assert not at.exception, at.exception
    assert at.title[0].value == "Session overview"
    matrix = at.dataframe[0].value
    assert list(matrix["car"]) == ["#417", "#528", "#639", "#750"]
    assert matrix.loc[0, "boost"] == "✗ 3/1" and matrix.loc[2, "fuel_flow"] == "? 0/0"
    assert matrix.loc[1, "fuel_flow"] == "-" and matrix.loc[0, "verdict"] == "INFRINGEMENT"
    assert at.metric[0].value == "1"                        # infringements
    assert at.selectbox(key="ov_ev_run").value == "rerun417" + "0" * 24
    assert "3 exceedance(s), 1 allowed" in at.error[0].value
    assert len(at.get("plotly_chart")) >= 2                 # trace with shaded exceedances, boost against rpm


def test_overview_for_a_team_lists_only_its_cars(env):
    at = _login("blue")
    assert not at.exception
    assert list(at.dataframe[0].value["car"]) == ["#528", "#639"]
    text = _text(at)
    assert "#639" in text and "Blue Motorsport" in text
    for other in ("417", "750", "Red Racing", "Green GT", "Ada Redfern"):
        assert other not in text


def test_car_page_shows_provenance_and_traces(env):
    at = _login("tech")
    at.switch_page("app_pages/car.py").run()
    assert not at.exception, at.exception
    assert at.title[0].value == "Car and run detail"
    text = _text(at)
    assert "TEST-2025-R2" in text and "bulletin_sha256" in text and "car417.log" in text
    assert len(at.get("plotly_chart")) >= 4
    labels = [b.proto.label for b in at.get("download_button")]
    assert labels[0] == "Verdict (JSON, as stored)" and "Whole session (PDF)" in labels


def test_car_page_window_gives_every_sample(env):
    at = _login("tech")
    at.switch_page("app_pages/car.py").run()
    drawn = [c.value for c in at.caption if "samples in view" in c.value]
    assert drawn[0].startswith("6000 samples in view, ")         # the whole session, min/max decimated
    assert "min/max per bucket" in drawn[0]
    at.selectbox(key="car_zoom").set_value(1).run()              # the first exceedance
    assert not at.exception
    drawn = [c.value for c in at.caption if "samples in view" in c.value]
    assert drawn[0] == "650 samples in view, 650 drawn"          # 7.0 to 13.49 s at 100 Hz, boost_pressure


def test_upload_page_is_offered_to_scrutineers_only(env):
    at = _login("chief")
    at.switch_page("app_pages/upload.py").run()
    assert not at.exception, at.exception
    assert at.title[0].value == "Upload logs"
    assert at.selectbox(key="up_car").options[0].startswith("#417")
    with pytest.raises(ValueError, match="Could not find a navigation page"):
        _login("tech").switch_page("app_pages/upload.py")


def _upload(at: AppTest, name: str, data: bytes) -> AppTest:
    """Drop one file for car 750 (entered, no log yet: no "add or new run?" question) and submit it when the page
    lets one (a refused file disables "Check and store"; its refusal is shown at once)."""
    at.switch_page("app_pages/upload.py").run()
    at.selectbox(key="up_car").set_value("750").run()
    at.file_uploader(key="up_files").set_value([(name, data, "application/octet-stream")])
    at.run()
    if not at.button(key="up_go").disabled:
        at.button(key="up_go").click().run()
    return at


def test_upload_of_a_type_bopwatch_does_not_read_is_refused(env):
    at = _upload(_login("chief"), "notes.gz", b"\x1f\x8b" + b"0" * 100)
    assert not at.exception, at.exception
    assert any("not a log type bopwatch reads" in e.value for e in at.error)
    exe = _login("chief")
    exe.switch_page("app_pages/upload.py").run()
    exe.file_uploader(key="up_files").set_value([("setup.exe", b"MZ", "application/octet-stream")])
    exe.run()                                                 # refused by Streamlit's own type check
    assert "Invalid file extension" in exe.exception[0].message


def test_upload_above_the_size_limit_points_to_ingest(env, monkeypatch):
    monkeypatch.setenv("BOPWATCH_MAX_UPLOAD_MB", "1")
    at = _upload(_login("chief"), "big.log", b"0" * (1024 * 1024 + 1))
    assert not at.exception, at.exception
    assert any("above the dashboard's limit" in e.value and "bopwatch ingest" in e.value for e in at.error)


def test_uploaded_name_is_never_used_as_a_path(env, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    target = tmp_path.parent / "escaped.log"
    at = _upload(_login("chief"), "../escaped.log", b"not a log at all\n")
    assert not at.exception, at.exception
    assert not target.exists() and not list(tmp_path.iterdir())
    assert at.error, "an unreadable log must be reported"     # the bytes are no log: ingest reports it


def test_bop_page_lists_bulletins_and_their_differences(env):
    at = _login("tech")
    at.switch_page("app_pages/bop.py").run()
    assert not at.exception, at.exception
    assert set(at.dataframe[0].value["bulletin"]) == {"TEST-2025-R1", "TEST-2025-R2"}
    diff = at.dataframe[-1].value
    assert list(diff["rule"]) == ["boost"] and diff.loc[0, "delta"] == pytest.approx(0.05)


def test_fleet_page_draws_the_envelope_per_car(env):
    at = _login("tech")
    at.switch_page("app_pages/fleet.py").run()
    assert not at.exception, at.exception
    cars = list(at.dataframe[0].value["car and session"])
    assert cars == ["car 417 race (testring-2025)", "car 639 race (testring-2025)"]


def test_audit_page_checks_the_chain_for_staff_and_is_absent_for_teams(env):
    at = _login("chief")
    at.switch_page("app_pages/audit.py").run()
    assert not at.exception, at.exception
    assert at.success[0].value.startswith("Audit chain intact")
    assert "stored rows and" in at.success[0].value
    assert at.info[0].value == "Signatures: signed with the audit key and checked."   # the test run's key
    assert "Audit head" in at.caption[0].value and ":" in at.caption[0].value
    assert EVENT in at.dataframe[0].value.to_csv()
    with pytest.raises(ValueError, match="Could not find a navigation page"):
        _login("red").switch_page("app_pages/audit.py")


def test_an_expired_session_returns_to_the_login_page(env):
    at = _login("tech")
    assert at.title[0].value == "Session overview"
    login = at.session_state["_bopwatch_login"]
    at.session_state["_bopwatch_login"] = type(login)(login.viewer, login.issued_at - 9 * 3600, login.last_seen)
    at.run()
    assert at.title[0].value == "bopwatch"
    assert "expired" in at.warning[0].value


def test_without_an_accounts_file_nobody_gets_in(env, monkeypatch, tmp_path):
    monkeypatch.setenv("BOPWATCH_ACCOUNTS", str(tmp_path / "missing.toml"))
    at = _login("tech")
    assert not at.exception, at.exception
    assert at.title[0].value == "bopwatch"
    assert "accounts file not found" in at.warning[0].value


def test_overview_keeps_its_event_and_session_in_the_address_for_a_deep_link(env):
    from _dashboard_store import SESSION

    at = _login("tech")
    assert at.query_params["event"] == EVENT and at.query_params["session"] == SESSION
    at.selectbox(key="ov_session").select_index(0).run()          # all sessions: the address says so
    assert at.query_params["session"] == "all" and at.query_params["event"] == EVENT
    linked = AppTest.from_file(APP, default_timeout=TIMEOUT)
    linked.query_params["event"] = EVENT
    linked.query_params["session"] = "all"
    linked.run()
    linked.text_input(key="login_user").input("tech")
    linked.text_input(key="login_password").input(PASSWORDS["tech"])
    linked.button[0].click().run()
    assert not linked.exception and linked.selectbox(key="ov_session").value is None
