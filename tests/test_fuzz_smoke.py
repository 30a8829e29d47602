"""A short fuzzing run in the default suite (the full one is ``python -m tests.fuzz --inputs 10000``): ~200 mutated
inputs spread over every format whose reader exists, none of which may crash or hang."""

from __future__ import annotations

from fuzz.runner import fuzz
from fuzz.seeds import FORMATS


def test_two_hundred_mutated_inputs_decode_or_are_refused_with_the_package_error(tmp_path):
    report = fuzz(200, seed=20251125, formats=FORMATS, workdir=tmp_path / "work", save_dir=tmp_path / "crashers",
                  timeout_s=20.0, workers=2)
    fuzzed = {fmt for fmt, s in report.stats.items() if s.inputs}
    assert {"blf", "candump", "gz", "bulletin", "profile", "dbc"} <= fuzzed, (fuzzed, report.skipped)
    assert report.total == 200
    problems = [f"{c.status} input {c.index} ({c.format}, {'+'.join(c.mutations)}): {c.detail}"
                for c in report.crashers]
    assert not problems, "\n".join(problems) + f"\n(crashers in {tmp_path / 'crashers'})"
    # the mutations really damage the inputs (refusals), and not always beyond reading (decodes)
    counts = {f: (s.decoded, s.refused) for f, s in report.stats.items()}
    assert all(s.decoded + s.refused == s.inputs for s in report.stats.values()), counts
    assert sum(s.refused for s in report.stats.values()) >= 50, counts
    assert sum(s.decoded for s in report.stats.values()) >= 20, counts
