"""Issue 17's acceptance for reference runs, end to end on simulated logs (no mocks): a car simulated with +5 %
power at the same boost is flagged against its model's reference run (a run of the same model without the
offset, another seed); the same car without the offset is not, over several seeds and two models.

The BoP test's built-in bulletin (boost tables and fuel-flow caps, no power cap: a power cap would clip the offset)
is the BoP in force. The seeds are checked through the library (``run_envelopes`` of the decoded session,
``compare``); the whole path is gone through once: ``bopwatch ingest`` of the reference test into a store,
``reference set``, ``reference show --json`` into a file, ``check --reference FILE --json`` on the offset car."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from compliance.analysis import compare, run_envelopes
from compliance.cli import main
from telemetry.profiles import load_profile
from telemetry.session import load_session
from telemetry.simulate.bop_test import bop_test_event

ROOT = Path(__file__).resolve().parent.parent
MODELS = ("bmw_m4_gt3", "ferrari_296_gt3")
CAR = {"bmw_m4_gt3": 11, "ferrari_296_gt3": 21}           # bop_test_event's car numbers
REFERENCE_SEED = 100
SEEDS = (1, 2, 3)
DURATION_S = 150.0
POWER = ("power_vs_rpm", "power_vs_speed")


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> dict:
    """BoP tests of both models: the reference (no offset, seed 100) and, per seed, one with +5 % power at equal
    boost and one without."""
    tmp = tmp_path_factory.mktemp("reference-acceptance")
    out = {"reference": tmp / "reference"}
    bop_test_event(out["reference"], REFERENCE_SEED, models=MODELS, power_to_weight_offsets={}, duration_s=DURATION_S)
    for seed in SEEDS:
        for offset in (0.0, 5.0):
            folder = tmp / f"s{seed}-{offset:g}"
            bop_test_event(folder, seed, models=MODELS, power_to_weight_offsets=dict.fromkeys(MODELS, offset),
                           duration_s=DURATION_S)
            out[seed, offset] = folder
    return out


def _log(folder: Path, model: str) -> Path:
    return folder / "bop_test" / f"car{CAR[model]}.blf"


def _envelopes(folder: Path, model: str):
    session = load_session(_log(folder, model), load_profile(ROOT / "dbc" / f"{model}.toml"))
    return run_envelopes(session.channels, model, duration_s=session.duration_s)


@pytest.mark.parametrize("model", MODELS)
def test_plus_5_percent_power_is_flagged_and_the_plain_car_is_not_over_seeds(runs, model):
    ref = _envelopes(runs["reference"], model)
    figures = []
    for seed in SEEDS:
        flagged = compare(_envelopes(runs[seed, 5.0], model), ref)
        found = {f.quantity: f for f in flagged.findings}
        for q in POWER:
            assert q in found, (seed, q, [b.side for b in flagged.bins.get(q, ())])
            assert found[q].kind == "reference" and found[q].side == "above"
            assert found[q].ratio == pytest.approx(1.05, abs=0.01)
        # the logged boost is the same: the extra power is at the same boost
        assert "boost_vs_rpm" not in found and "fuel_flow_vs_rpm" not in found
        plain = compare(_envelopes(runs[seed, 0.0], model), ref)
        assert plain.findings == (), [f.detail for f in plain.findings]
        figures.append(f"seed {seed}: " + ", ".join(f"{q} {found[q].ratio:.4f} ({found[q].bins}/{found[q].compared} "
                                                   f"bins)" for q in POWER)
                       + "; also " + ", ".join(f"{f.quantity} {f.ratio:.4f}" for f in flagged.findings
                                               if f.quantity not in POWER)
                       + "; plain car: no finding")
    print(f"\n{model} +5 % against its reference (seed {REFERENCE_SEED}):\n  " + "\n  ".join(figures))


def _check(capsys, log: Path, model: str, bulletins: Path, *extra: str) -> tuple[int, dict]:
    capsys.readouterr()
    code = main(["check", str(log), "--profile", str(ROOT / "dbc" / f"{model}.toml"), "--bulletin", str(bulletins),
                 "--json", *extra])
    return code, json.loads(capsys.readouterr().out)


def test_the_whole_path_ingest_reference_set_show_and_check_reference(runs, tmp_path, capsys):
    model = "bmw_m4_gt3"
    db = tmp_path / "s.duckdb"
    reference = runs["reference"]
    assert main(["ingest", str(reference / "bop_test"), "--event-info", str(reference / "event.toml"),
                 "--db", str(db)]) == 0
    capsys.readouterr()
    assert main(["reference", "set", "--event", f"bop-test-{REFERENCE_SEED}", "--session", "bop_test",
                 "--car", str(CAR[model]), "--note", "simulated BoP test", "--db", str(db)]) == 0
    capsys.readouterr()
    assert main(["reference", "list", "--json", "--model", model, "--db", str(db)]) == 0
    (rid,) = [r["reference_id"] for r in json.loads(capsys.readouterr().out)]
    assert main(["reference", "show", rid, "--json", "--db", str(db)]) == 0
    export = tmp_path / "reference.json"
    export.write_text(capsys.readouterr().out)

    folder = runs[SEEDS[0], 5.0]
    log, bulletins = _log(folder, model), folder / "bulletins"
    code, with_ref = _check(capsys, log, model, bulletins, "--reference", str(export))
    plain_code, without = _check(capsys, log, model, bulletins)
    block = with_ref["reference"]
    assert block["reference"]["reference_id"] == rid
    found = {f["quantity"]: f for f in block["findings"]}
    assert set(POWER) <= set(found), block["findings"]
    for q in POWER:
        assert found[q]["kind"] == "reference" and found[q]["side"] == "above"
        assert found[q]["ratio"] == pytest.approx(1.05, abs=0.01)
    # advisory only: the verdict and its rules are those of the check without --reference
    assert code == plain_code == 0 and with_ref["verdict"] == without["verdict"] == "compliant"
    assert with_ref["rules"] == without["rules"] and with_ref["exceedances"] == without["exceedances"]
    assert "reference" not in without or not without["reference"]
    # and the plain car of the same seed, against the same export: no finding
    _, plain = _check(capsys, _log(runs[SEEDS[0], 0.0], model), model, runs[SEEDS[0], 0.0] / "bulletins",
                      "--reference", str(export))
    assert plain["reference"]["findings"] == [] and plain["verdict"] == "compliant"
