"""Property tests (Hypothesis) of the SPEC §5 judging semantics: gating, sliding windows, time over, ``min``
limits, replenished stint budgets (channels built from numpy arrays, as in tests/test_rules_exceedance.py)."""

from __future__ import annotations

import numpy as np
import pytest
from _compliance_helpers import channel
from hypothesis import given, settings
from hypothesis import strategies as st

from compliance.bop import load_bulletin
from compliance.bop.spec import Condition, RuleSpec
from compliance.judge.laps import Laps
from compliance.judge.refuel import refuel_exceedances, refuellings
from compliance.judge.rules import evaluate, find_exceedances, gate_mask
from compliance.judge.scope import judge_scopes, window_counts
from compliance.judge.stint import stint_budgets, stint_exceedances
from compliance.judge.verdict import Exceedance

settings.register_profile("compliance_v2", deadline=None, max_examples=60)
settings.load_profile("compliance_v2")


@st.composite
def sampled_times(draw, min_size=5, max_size=300):
    n = draw(st.integers(min_size, max_size))
    dt = draw(st.lists(st.floats(0.001, 0.2), min_size=n, max_size=n))
    return np.cumsum(dt)


def _boost(**kw) -> RuleSpec:
    base = dict(rule="boost", channel="boost_pressure", unit="bar", limits=(2.5,))
    base.update(kw)
    return RuleSpec(**base)


# -- (a) a gated-out sample splits a run ---------------------------------------------------------------------

@given(times=sampled_times(min_size=10), data=st.data(), tolerance=st.floats(0, 0.1),
       height=st.floats(1e-3, 1.0))
def test_a_gated_out_sample_splits_a_run_never_one_exceedance_spanning_it(times, data, tolerance, height):
    n = len(times)
    i = data.draw(st.integers(0, n - 3))
    j = data.draw(st.integers(i + 3, n))               # run above the limit: samples i .. j-1 (>= 3 samples)
    k = data.draw(st.integers(i + 1, j - 2))           # an inner sample whose gate channel fails
    value = np.full(n, 2.0)
    value[i:j] = 2.5 + tolerance + height
    throttle = np.full(n, 80.0)
    throttle[k] = 10.0
    spec = _boost(tolerance=tolerance, when=(Condition("throttle", ">=", 30.0),))
    chans = {"boost_pressure": channel("boost_pressure", times, value),
             "throttle": channel("throttle", times, throttle)}
    gate = gate_mask(spec, chans, times)
    assert gate is not None and not gate[k] and gate.sum() == n - 1
    found = evaluate(spec, chans).exceedances
    assert [(e.start_s, e.end_s) for e in found] == [(times[i], times[k - 1]), (times[k + 1], times[j - 1])]
    for e in found:
        assert not (e.start_s <= times[k] <= e.end_s)

    # with a min duration, each half is kept or dropped on its own; never one spanning the gated sample
    min_duration = data.draw(st.floats(0.0, 2.0))
    found = find_exceedances("boost", times, value, np.full(n, 2.5), tolerance=tolerance,
                             min_duration_s=min_duration, unit="bar", gate=gate)
    assert len(found) <= 2
    halves = [(i, k - 1), (k + 1, j - 1)]
    want = [(times[a], times[b]) for a, b in halves if times[b] - times[a] >= min_duration - 1e-9]
    assert [(e.start_s, e.end_s) for e in found] == want


@given(times=sampled_times(min_size=10), data=st.data())
def test_samples_before_the_gate_channel_starts_are_not_judged(times, data):
    n = len(times)
    first = data.draw(st.integers(1, n - 1))            # the gate channel's first sample
    value = np.full(n, 3.0)                              # over the limit everywhere
    spec = _boost(when=(Condition("throttle", ">", 30.0),))
    chans = {"boost_pressure": channel("boost_pressure", times, value),
             "throttle": channel("throttle", times[first:], np.full(n - first, 90.0))}
    found = evaluate(spec, chans).exceedances
    assert [(e.start_s, e.end_s) for e in found] == [(times[first], times[-1])]


_OPS = {">": float.__gt__, ">=": float.__ge__, "<": float.__lt__, "<=": float.__le__}


@given(times=sampled_times(min_size=5, max_size=80), data=st.data())
def test_gate_mask_is_every_condition_held_at_each_sample(times, data):
    """Brute force: each condition channel (its own time stamps) held at each judged time, sample by sample."""
    names = data.draw(st.lists(st.sampled_from(["throttle", "engine_speed", "long_accel"]), min_size=1,
                               max_size=3, unique=True))
    conditions, chans = [], {}
    for name in names:
        ct = np.cumsum(data.draw(st.lists(st.floats(0.001, 0.5), min_size=1, max_size=40)))
        cv = np.asarray(data.draw(st.lists(st.integers(-3, 3), min_size=len(ct), max_size=len(ct))), dtype=float)
        chans[name] = channel(name, ct, cv)
        conditions.append(Condition(name, data.draw(st.sampled_from(sorted(_OPS))), float(data.draw(
            st.integers(-3, 3)))))
    spec = _boost(when=tuple(conditions))
    mask = gate_mask(spec, chans, times)
    for i, t in enumerate(times.tolist()):
        want = True
        for c in conditions:
            ch = chans[c.channel]
            before = [v for tt, v in zip(ch.time.tolist(), ch.value.tolist(), strict=True) if tt <= t]
            want &= bool(before) and _OPS[c.op](before[-1], c.value)
        assert bool(mask[i]) == want, (i, t)


# -- (b) sliding-window worst count is the brute-force maximum ------------------------------------------------

QUARTER = 0.25     # times on a grid of exact binary fractions: window bounds compare without rounding


@st.composite
def exceedance_sets(draw, max_size=25):
    starts = sorted(draw(st.lists(st.integers(0, 2000), min_size=0, max_size=max_size, unique=True)))
    out = []
    for s in starts:
        d = draw(st.integers(0, 8)) * QUARTER
        out.append(Exceedance("boost", s * QUARTER, s * QUARTER + d, d, 3.0, 2.5, 0.5, "bar"))
    return out


def _brute_force_windows(found: list[Exceedance], window: float, grid: np.ndarray) -> tuple[int, float]:
    best = (0, 0.0)
    candidates = np.concatenate((grid, [e.start_s for e in found]))
    for t in candidates.tolist():
        inside = [e for e in found if t <= e.start_s < t + window]
        score = (len(inside), sum(e.duration_s for e in inside))
        best = max(best, score)
    return best


@given(found=exceedance_sets(), window_q=st.integers(1, 400), max_exc=st.integers(0, 5),
       max_over=st.one_of(st.none(), st.integers(0, 20).map(lambda q: q * QUARTER)))
def test_sliding_window_worst_scope_is_the_brute_force_maximum(found, window_q, max_exc, max_over):
    window = window_q * QUARTER
    spec = _boost(count_per="window", window_s=window, max_exceedances=max_exc, max_time_over_s=max_over,
                  scoped=True)
    verdict = judge_scopes(spec, found, 600.0, None)
    grid = np.arange(-window, 520.0, QUARTER / 2)        # every window start on a fine grid
    count, over = _brute_force_windows(found, window, grid)
    if not found:
        assert verdict.worst is None and not verdict.infringes
        return
    assert verdict.worst is not None
    assert verdict.worst.count == count
    assert np.isclose(verdict.worst.time_over_s, over)
    assert verdict.worst.end_s - verdict.worst.start_s == window
    # the worst window really holds what it claims
    inside = [e for e in found if verdict.worst.start_s <= e.start_s < verdict.worst.end_s]
    assert len(inside) == verdict.worst.count
    # any window infringes <=> the brute force finds one over a bound
    over_any = any(
        len(ins) > max_exc or (max_over is not None and sum(e.duration_s for e in ins) > max_over + 1e-9)
        for ins in ([e for e in found if t <= e.start_s < t + window] for t in (e.start_s for e in found)))
    assert verdict.infringes == over_any


@given(found=exceedance_sets(), window_q=st.integers(1, 400))
def test_window_counts_match_counting_every_exceedance_start(found, window_q):
    window = window_q * QUARTER
    starts = np.array([e.start_s for e in found], dtype=float)
    durations = np.array([e.duration_s for e in found], dtype=float)
    counts, times = window_counts(starts, durations, window)
    for idx, s in enumerate(starts.tolist()):
        sel = (starts >= s) & (starts < s + window)
        assert counts[idx] == int(np.count_nonzero(sel))
        assert np.isclose(times[idx], float(durations[sel].sum()))


@given(found=exceedance_sets(), data=st.data(), max_exc=st.integers(0, 3),
       max_over=st.one_of(st.none(), st.integers(0, 8).map(lambda q: q * QUARTER)))
def test_lap_scopes_are_the_brute_force_count_per_lap(found, data, max_exc, max_over):
    bounds = sorted(data.draw(st.lists(st.integers(1, 2000), max_size=10, unique=True)))
    starts = np.array([0.0, *[b * QUARTER for b in bounds]])
    laps = Laps(number=np.arange(len(starts), dtype=np.int64), start_s=starts, end_s=600.0, source="test")
    spec = _boost(count_per="lap", max_exceedances=max_exc, max_time_over_s=max_over, scoped=True)
    verdict = judge_scopes(spec, found, 600.0, laps)
    assert verdict.problem is None
    ends = [*starts[1:].tolist(), 600.0]
    per = []
    for i, (a, b) in enumerate(zip(starts.tolist(), ends, strict=True)):
        inside = [e for e in found if a <= e.start_s < b or (i == len(ends) - 1 and e.start_s >= a)]
        if inside:
            per.append((len(inside), sum(e.duration_s for e in inside), a, b, i))
    assert sum(p[0] for p in per) == len(found)
    if not per:
        assert verdict.worst is None and not verdict.infringes
        return
    count, over, a, b, lap = min(per, key=lambda p: (-p[0], -p[1], p[2]))
    w = verdict.worst
    assert (w.count, w.start_s, w.end_s, w.lap) == (count, a, b, lap)
    assert np.isclose(w.time_over_s, over)
    assert verdict.infringes == any(c > max_exc or (max_over is not None and o > max_over + 1e-9)
                                    for c, o, *_ in per)


def test_count_per_lap_without_laps_is_a_problem_not_a_verdict():
    spec = _boost(count_per="lap", scoped=True)
    found = [Exceedance("boost", 1.0, 1.5, 0.5, 3.0, 2.5, 0.5, "bar")]
    verdict = judge_scopes(spec, found, 10.0, None)
    assert verdict.problem and not verdict.infringes and verdict.worst is None


# -- (c) a session scope's time over is the sum of durations --------------------------------------------------

@given(times=sampled_times(min_size=20), data=st.data(), min_duration=st.floats(0, 0.5),
       max_exc=st.integers(0, 5), max_over=st.one_of(st.none(), st.floats(0, 5)))
def test_session_scope_time_over_is_the_sum_of_durations(times, data, min_duration, max_exc, max_over):
    n = len(times)
    value = np.asarray(data.draw(st.lists(st.floats(2.0, 3.0), min_size=n, max_size=n)))
    found = find_exceedances("boost", times, value, np.full(n, 2.5), tolerance=0.0,
                             min_duration_s=min_duration, unit="bar")
    spec = _boost(max_exceedances=max_exc, max_time_over_s=max_over, scoped=True)
    verdict = judge_scopes(spec, found, float(times[-1]), None)
    total = sum(e.duration_s for e in found)
    if not found:
        assert verdict.worst is None and not verdict.infringes
        return
    assert verdict.worst.count == len(found)
    assert np.isclose(verdict.worst.time_over_s, total)
    assert (verdict.worst.start_s, verdict.worst.end_s, verdict.worst.lap) == (0.0, float(times[-1]), None)
    assert verdict.infringes == (len(found) > max_exc or (max_over is not None and total > max_over + 1e-9))


# -- (d) a min limit is a max limit on the negated channel ----------------------------------------------------

@given(times=sampled_times(min_size=5), data=st.data(), tolerance=st.floats(0, 0.2),
       min_duration=st.floats(0, 0.5))
def test_min_limit_equals_max_limit_on_the_negated_channel(times, data, tolerance, min_duration):
    n = len(times)
    value = np.asarray(data.draw(st.lists(st.floats(-5.0, 5.0), min_size=n, max_size=n)))
    limit = np.asarray(data.draw(st.lists(st.floats(-2.0, 2.0), min_size=n, max_size=n)))
    gate = np.asarray(data.draw(st.lists(st.booleans(), min_size=n, max_size=n)))
    kw = dict(tolerance=tolerance, min_duration_s=min_duration, unit="x", gate=gate)
    low = find_exceedances("limit.x", times, value, limit, direction="min", **kw)
    high = find_exceedances("limit.x", times, -value, -limit, direction="max", **kw)
    assert len(low) == len(high)
    for a, b in zip(low, high, strict=True):
        assert (a.start_s, a.end_s, a.duration_s) == (b.start_s, b.end_s, b.duration_s)
        assert a.peak == -b.peak and a.limit == -b.limit
        assert a.excess == b.excess and a.excess > tolerance - 1e-12
        assert a.peak < a.limit - tolerance


@pytest.fixture(scope="module")
def min_limit_spec(tmp_path_factory) -> RuleSpec:
    """A generic ``limit.*`` rule with a flat ``min`` loaded from a bulletin (the loader sets the direction)."""
    path = tmp_path_factory.mktemp("bulletin") / "min.toml"
    path.write_text('id = "T"\neffective_from = "2026-01-01T00:00:00Z"\n[models.m]\nname = "M"\n'
                    '[models.m.limit.slow]\nchannel = "vehicle_speed"\nmin = 50.0\nunit = "km/h"\n'
                    'tolerance = 1.0\n', encoding="utf-8")
    spec = load_bulletin(path).model("m").rules["limit.slow"]
    assert (spec.direction, spec.limits, spec.channel) == ("min", (50.0,), "vehicle_speed")
    return spec


@given(times=sampled_times(min_size=5), data=st.data())
def test_a_bulletin_min_limit_is_judged_like_max_on_the_negated_channel(min_limit_spec, times, data):
    n = len(times)
    value = np.asarray(data.draw(st.lists(st.floats(40.0, 60.0), min_size=n, max_size=n)))
    found = evaluate(min_limit_spec, {"vehicle_speed": channel("vehicle_speed", times, value)}).exceedances
    mirror = find_exceedances("limit.slow", times, -value, np.full(n, -50.0), tolerance=1.0, min_duration_s=0.0,
                              unit="km/h")
    assert [(e.start_s, e.end_s, -e.peak, e.excess) for e in found] == [
        (e.start_s, e.end_s, e.peak, e.excess) for e in mirror]
    assert all(e.peak < 49.0 and e.limit == 50.0 for e in found)


@given(times=sampled_times(min_size=10), data=st.data(), low=st.floats(0.0, 2.0), width=st.floats(0.0, 3.0),
       tolerance=st.floats(0.0, 0.3))
def test_refuel_time_exceedances_are_the_finished_refuellings_out_of_bounds(times, data, low, width, tolerance):
    n = len(times)
    refuel = np.asarray(data.draw(st.lists(st.sampled_from([0.0, 1.0]), min_size=n, max_size=n)))
    spec = RuleSpec(rule="refuel_time", channel="refuel", unit="s", limits=(low,), tolerance=tolerance,
                    upper=low + width)
    chans = {"refuel": channel("refuel", times, refuel)}
    found, judged = refuel_exceedances(spec, chans, lambda t: np.ones(len(t), dtype=bool))
    # brute force: runs of 1 ended by a later 0 sample
    want, finished = [], 0
    i = 0
    while i < n:
        if refuel[i] == 1.0:
            j = i
            while j < n and refuel[j] == 1.0:
                j += 1
            if j < n:
                finished += 1
                d = times[j] - times[i]
                if d < low - tolerance or d > low + width + tolerance:
                    want.append((times[i], times[j], d))
            i = j
        else:
            i += 1
    assert judged == finished
    assert [(e.start_s, e.end_s, e.peak) for e in found] == [(a, b, pytest.approx(d)) for a, b, d in want]


# -- (e), (f) replenished stint budgets ------------------------------------------------------------------------

@st.composite
def stint_sessions(draw):
    """A power channel at a fixed rate and a refuel channel (its own rate) with a few refuellings."""
    dt = draw(st.sampled_from([0.05, 0.1, 0.25]))
    n = draw(st.integers(20, 400))
    t = np.arange(1, n + 1) * dt
    power = np.asarray(draw(st.lists(st.floats(0.0, 600.0), min_size=n, max_size=n)))
    rdt = draw(st.sampled_from([dt, 0.1, 0.5, 1.0]))
    rt = np.arange(0, n * dt + rdt, rdt)
    refuel = np.zeros(len(rt))
    for _ in range(draw(st.integers(0, 4))):
        a = draw(st.integers(0, len(rt) - 1))
        b = draw(st.integers(a, min(len(rt) - 1, a + 20)))
        refuel[a:b + 1] = 1.0
    return channel("power", t, power), channel("refuel", rt, refuel)


def _stint_spec(max_mj: float, replenish: float | None, tolerance: float = 0.0) -> RuleSpec:
    return RuleSpec(rule="stint_energy", channel="power", unit="MJ", limits=(max_mj,), tolerance=tolerance,
                    replenish_mj_s=replenish)


@given(session=stint_sessions(), max_mj=st.floats(0.001, 0.2), rate=st.floats(0.0, 0.1))
def test_a_replenished_stint_budget_never_exceeds_max_mj(session, max_mj, rate):
    power, refuel = session
    budgets = stint_budgets(_stint_spec(max_mj, rate), power, refuel)
    if budgets:                         # (a session refuelling throughout has no stint)
        assert budgets[0][2].budget_mj == max_mj
    for k, (_, _, stint) in enumerate(budgets):
        assert 0.0 <= stint.budget_mj <= max_mj
        if k:      # never more than what was left plus what the refuelling between can give
            left = max(0.0, budgets[k - 1][2].budget_mj - budgets[k - 1][2].used_mj)
            assert stint.budget_mj >= min(max_mj, left) - 1e-12


@given(session=stint_sessions(), max_mj=st.floats(0.001, 0.2), rate=st.floats(0.0, 0.1))
def test_replenished_budgets_follow_the_spec_recurrence(session, max_mj, rate):
    """budget_1 = max_mj; budget_k+1 = min(max_mj, max(0, budget_k - used_k) + rate x refuelling time between)."""
    power, refuel = session
    budgets = [s for _, _, s in stint_budgets(_stint_spec(max_mj, rate), power, refuel)]
    fills = [(a, b) for a, b in refuellings(refuel) if b is not None]
    want = max_mj
    for k, stint in enumerate(budgets):
        if k:
            prev = budgets[k - 1]
            between = sum(b - a for a, b in fills if prev.end_s < a <= stint.start_s)
            want = min(max_mj, max(0.0, want - prev.used_mj) + rate * between)
        assert np.isclose(stint.budget_mj, want, rtol=1e-12, atol=1e-12), k


@given(session=stint_sessions(), max_mj=st.floats(0.001, 0.2), tolerance=st.floats(0.0, 0.01))
def test_full_rate_replenishment_is_the_reset_of_spec_3(session, max_mj, tolerance):
    power, refuel = session
    reset, reset_stints = stint_exceedances(_stint_spec(max_mj, None, tolerance), power, refuel)
    full, full_stints = stint_exceedances(_stint_spec(max_mj, 1e12, tolerance), power, refuel)
    assert full == reset
    assert [s.budget_mj for s in full_stints] == [max_mj] * len(full_stints)
    assert [(s.start_s, s.end_s, s.used_mj) for s in full_stints] == [
        (s.start_s, s.end_s, s.used_mj) for s in reset_stints]
