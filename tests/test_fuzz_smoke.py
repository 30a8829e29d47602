"""A short fuzzing run in the default suite (the full one is ``python -m tests.fuzz --inputs 10000``): ~200 mutated
inputs spread over every format whose reader exists, none of which may crash or hang in bopwatch's own code.

asammdf can still crash the interpreter or loop on a damaged MF4/MDF file (docs/reliability.md lists them); such an
input must be contained by the parse isolation that ingest uses (``telemetry.isolate``): one clean error naming the
file, never a dead process."""

from __future__ import annotations

import pytest
from fuzz.runner import fuzz
from fuzz.seeds import FORMATS

from telemetry.isolate import IsolationError, inspect_isolated

THIRD_PARTY = {"mf4", "mdf"}     # parsed by asammdf


def test_two_hundred_mutated_inputs_decode_or_are_refused_with_the_package_error(tmp_path):
    report = fuzz(200, seed=20251125, formats=FORMATS, workdir=tmp_path / "work", save_dir=tmp_path / "crashers",
                  timeout_s=20.0, workers=2)
    fuzzed = {fmt for fmt, s in report.stats.items() if s.inputs}
    assert {"blf", "candump", "gz", "bulletin", "profile", "dbc"} <= fuzzed, (fuzzed, report.skipped)
    assert report.total == 200
    problems = [f"{c.status} input {c.index} ({c.format}, {'+'.join(c.mutations)}): {c.detail}"
                for c in report.crashers if c.format not in THIRD_PARTY]
    assert not problems, "\n".join(problems) + f"\n(crashers in {tmp_path / 'crashers'})"
    # the mutations really damage the inputs (refusals), and not always beyond reading (decodes)
    counts = {f: (s.decoded, s.refused) for f, s in report.stats.items()}
    assert all(s.decoded + s.refused + (s.crashes + s.hangs if f in THIRD_PARTY else 0) == s.inputs
               for f, s in report.stats.items()), counts
    assert sum(s.refused for s in report.stats.values()) >= 50, counts
    assert sum(s.decoded for s in report.stats.values()) >= 20, counts
    for crasher in (c for c in report.crashers if c.format in THIRD_PARTY):
        assert crasher.saved, crasher
        with pytest.raises(IsolationError, match="crashed|exceeded"):
            inspect_isolated(crasher.saved, timeout_s=10.0)
