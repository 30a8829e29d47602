"""Long sessions are judged in blocks of samples (bounded temporaries): the block size changes no verdict.

Every car of the sample event (boost, fuel-flow and power infringements, gaps, frozen sensors, counter skips,
checksum failures, truncated files) is checked with the default blocks and with blocks of a few hundred samples
(so each channel spans many blocks and runs of samples above the limit cross block borders); the verdict JSON
must be byte-identical.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from compliance.judge import quality, rules
from compliance.judge.check import check_logs
from telemetry import session

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "sample_logs"
TRUTHS = sorted((SAMPLES / "ground_truth").glob("*/car*.json"))

pytestmark = pytest.mark.skipif(not TRUTHS, reason="sample_logs/ground_truth is absent (bopwatch simulate event)")


@pytest.mark.parametrize("truth_path", TRUTHS, ids=lambda p: f"{p.parent.name}-{p.stem}")
def test_block_size_does_not_change_the_verdict(monkeypatch, truth_path):
    truth = json.loads(truth_path.read_text())
    log = SAMPLES / truth_path.parent.name / truth["file"]["path"]
    profile = ROOT / "dbc" / f"{truth['car']['model']}.toml"
    whole = check_logs([log], profile, SAMPLES / "bulletins").verdict.to_json()
    for module in (rules, quality, session):
        monkeypatch.setattr(module, "_BLOCK", 257)
    blocked = check_logs([log], profile, SAMPLES / "bulletins").verdict.to_json()
    assert blocked == whole
    assert json.loads(whole)["verdict"] == truth["expected"]["verdict"]
