"""Reference runs in the store (issue 17): set from a stored run, list, show, export for ``check --reference``,
replaced (never deleted) by a newer one, bound into the audit chain, and the comparison's block in ``check --json``
advisory only (the verdict is the rules')."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import duckdb
import pytest

from compliance.cli import main
from compliance.store.audit import verify
from compliance.store.references import list_references, reference_for
from compliance.store.schema import open_store

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "sample_logs"
EVENT = "gtwce-sprint-2026-brh"


@pytest.fixture(scope="module")
def store_db(tmp_path_factory):
    folder = tmp_path_factory.mktemp("refs")
    for name in ("event.toml", "entry_list.csv"):
        shutil.copy(SAMPLES / name, folder / name)
    shutil.copytree(SAMPLES / "bulletins", folder / "bulletins")
    (folder / "race").mkdir()
    for name in ("car7.blf", "car32.mf4"):
        for suffix in ("", ".meta.json"):
            shutil.copy(SAMPLES / "race" / (name + suffix), folder / "race" / (name + suffix))
    db = folder / "s.duckdb"
    assert main(["ingest", str(folder / "race"), "--event-info", str(folder / "event.toml"), "--db", str(db)]) in (0, 1)
    return db


def _json(capsys):
    return json.loads(capsys.readouterr().out)


def test_set_list_show_and_export(store_db, capsys, tmp_path):
    assert main(["reference", "set", "--event", EVENT, "--session", "race", "--car", "32", "--db", str(store_db),
                 "--note", "BoP test"]) == 0
    assert "reference bmw_m4_gt3@GTWCE-2026-BRH-02#" in capsys.readouterr().out
    assert main(["reference", "list", "--json", "--db", str(store_db)]) == 0
    listed = _json(capsys)
    assert [r["model"] for r in listed] == ["bmw_m4_gt3"] and listed[0]["note"] == "BoP test"
    rid = listed[0]["reference_id"]
    assert main(["reference", "show", rid, "--json", "--db", str(store_db)]) == 0
    export = tmp_path / "ref.json"
    export.write_text(capsys.readouterr().out)
    data = json.loads(export.read_text())
    assert set(data["envelopes"]["envelopes"]) >= {"boost_vs_rpm", "power_vs_rpm", "power_vs_speed"}
    # the same car against its own reference: nothing to flag; the verdict is the rules' verdict
    code = main(["check", str(SAMPLES / "race" / "car32.mf4"), "--profile", str(ROOT / "dbc" / "bmw_m4_gt3.toml"),
                 "--bulletin", str(SAMPLES / "bulletins"), "--reference", str(export), "--json"])
    d = _json(capsys)
    assert code == 0 and d["verdict"] == "compliant"
    assert d["reference"]["reference"]["reference_id"] == rid and d["reference"]["findings"] == []
    # car 7 infringes boost; the reference block changes nothing of that
    code = main(["check", str(SAMPLES / "race" / "car7.blf"), "--profile", str(ROOT / "dbc" / "bmw_m4_gt3.toml"),
                 "--bulletin", str(SAMPLES / "bulletins"), "--reference", str(export), "--json"])
    d = _json(capsys)
    assert code == 1 and d["verdict"] == "infringement" and "reference" in d


def test_a_new_reference_replaces_the_old_one_which_is_kept(store_db, capsys):
    for _ in range(2):
        assert main(["reference", "set", "--event", EVENT, "--session", "race", "--car", "32",
                     "--db", str(store_db)]) == 0
    capsys.readouterr()
    store = open_store(store_db, create=False)
    everything = list_references(store, include_inactive=True)
    active = [r for r in everything if r.active]
    assert len(active) == 1 and len(everything) >= 2
    with store.reading() as conn:
        assert reference_for(conn, "bmw_m4_gt3", "GTWCE-2026-BRH-02", None).reference_id == active[0].reference_id
        assert reference_for(conn, "ferrari_296_gt3", "GTWCE-2026-BRH-02", None) is None


def test_an_edited_reference_is_named_by_audit_verify(store_db, capsys):
    assert main(["reference", "set", "--event", EVENT, "--session", "race", "--car", "32", "--db", str(store_db)]) == 0
    capsys.readouterr()
    store = open_store(store_db, create=False)
    assert verify(store).ok
    with duckdb.connect(str(store_db)) as conn:
        conn.execute("UPDATE model_references SET settings = '{\"min_band_pct\": 50}' WHERE active")
    report = verify(store)
    assert not report.ok
    assert any("model_references" in p for p in report.problems), report.problems


def test_a_run_that_is_not_stored_is_a_clear_error(store_db, capsys):
    assert main(["reference", "set", "--event", EVENT, "--session", "race", "--car", "999",
                 "--db", str(store_db)]) == 2
    err = capsys.readouterr().err
    assert "car 999 has no stored run in gtwce-sprint-2026-brh/race" in err and "bopwatch ingest" in err


def test_ingest_compares_with_the_stored_reference_and_a_new_reference_judges_anew(store_db, capsys):
    assert main(["reference", "set", "--event", EVENT, "--session", "race", "--car", "32",
                 "--db", str(store_db)]) == 0
    capsys.readouterr()
    folder = store_db.parent
    # car 7's race log again: the reference is new, so the run key differs and the car is judged anew
    assert main(["ingest", str(folder / "race" / "car7.blf"), "--event-info", str(folder / "event.toml"),
                 "--db", str(store_db)]) == 1
    line = json.loads(capsys.readouterr().out.splitlines()[-1])
    assert line["status"] == "checked" and line["verdict"] == "infringement"
    store = open_store(store_db, create=False)
    with store.reading() as conn:
        stored = json.loads(conn.execute("SELECT verdict_json FROM runs WHERE run_id = ?",
                                         [line["run_id"]]).fetchone()[0])
    assert stored["verdict"] == "infringement" and stored["reference"]["reference"]["source"] == "store"
    assert stored["reference"]["reference"]["model"] == "bmw_m4_gt3"
    # the runs judged before any reference existed carry no block (and kept their run keys)
    with store.reading() as conn:
        first = conn.execute("SELECT verdict_json FROM runs WHERE car = '7' ORDER BY created_at LIMIT 1").fetchone()
    assert "reference" not in json.loads(first[0])


def test_the_steward_report_shows_the_car_against_its_reference(store_db, capsys, tmp_path):
    # after the ingest test above car 7's latest race run carries a reference block (module-scoped store)
    assert main(["reference", "set", "--event", EVENT, "--session", "race", "--car", "32",
                 "--db", str(store_db)]) == 0
    folder = store_db.parent
    assert main(["ingest", str(folder / "race" / "car7.blf"), "--event-info", str(folder / "event.toml"),
                 "--db", str(store_db)]) in (1,)
    html, pdf = tmp_path / "r.html", tmp_path / "r.pdf"
    for out in (html, pdf):
        assert main(["report", "--event", EVENT, "--session", "race", "--car", "7", "--format", out.suffix[1:],
                     "--out", str(out), "--db", str(store_db)]) == 0
    capsys.readouterr()
    text = html.read_text()
    assert "Against the reference (advisory, not a verdict)" in text and "power_vs_rpm: against the reference" in text
    assert "<svg" in text.split("Against the reference")[1]
    import subprocess
    if shutil.which("pdftotext"):
        got = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True).stdout
        assert "Against the reference (advisory, not a verdict)" in got


def test_a_log_imported_straight_as_the_reference(tmp_path, capsys):
    db = tmp_path / "new.duckdb"
    log = tmp_path / "car92.blf"
    shutil.copy(SAMPLES / "qualifying" / "car92.blf", log)      # no sidecar: the options say whose it is
    assert main(["reference", "set", "--log", str(log), "--event", "sro-bop-test-2026", "--session", "test",
                 "--car", "92", "--profile", str(ROOT / "dbc" / "porsche_911_gt3_r.toml"), "--bulletin",
                 str(SAMPLES / "bulletins" / "gtwce-2026-brh-v1.toml"), "--db", str(db)]) == 0
    assert "reference porsche_911_gt3_r@GTWCE-2026-BRH-01#1" in capsys.readouterr().out
    store = open_store(db, create=False)
    assert [r.model for r in list_references(store)] == ["porsche_911_gt3_r"]
    assert verify(store).ok


def test_a_log_without_a_bulletin_cannot_become_a_reference(tmp_path, capsys):
    log = tmp_path / "car92.blf"
    shutil.copy(SAMPLES / "qualifying" / "car92.blf", log)
    assert main(["reference", "set", "--log", str(log), "--event", "sro-bop-test-2026", "--session", "test",
                 "--car", "92", "--profile", str(ROOT / "dbc" / "porsche_911_gt3_r.toml"),
                 "--db", str(tmp_path / "n.duckdb")]) == 2
    assert "a reference is a judged run" in capsys.readouterr().err
