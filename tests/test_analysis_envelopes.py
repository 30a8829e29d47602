"""Envelopes of a run and the comparison with a reference: percentiles per bin at full throttle, a car with more
power at the same rpm flagged, the same car not, one odd bin not a finding."""
from __future__ import annotations

import numpy as np
import pytest

from compliance.analysis import ReferenceSettings, compare, envelope, run_envelopes
from telemetry.channels import Channel


def _run(seed: int, power_factor: float = 1.0, n: int = 20_000) -> dict[str, Channel]:
    rng = np.random.default_rng(seed)
    t = np.arange(n) * 0.01
    rpm = 4000 + 3000 * (0.5 + 0.5 * np.sin(t / 7.0))
    throttle = np.where(np.sin(t / 3.0) > -0.5, 100.0, 20.0)
    boost = 1.0 + rpm / 5000 + rng.normal(0, 0.01, n)
    power = power_factor * (rpm / 7000 * 380 + rng.normal(0, 3.0, n))
    speed = 80 + rpm / 60 + rng.normal(0, 1, n)
    ch = {"engine_speed": ("rpm", rpm), "throttle": ("%", throttle), "boost_pressure": ("bar", boost),
          "power": ("kW", power), "vehicle_speed": ("km/h", speed)}
    return {k: Channel(k, u, t, v) for k, (u, v) in ch.items()}


def test_percentiles_per_bin_are_those_of_the_full_throttle_samples():
    ch = _run(1)
    env = envelope(ch, "power_vs_rpm")
    assert env is not None and env.gated and env.width == 250.0
    rpm, power = ch["engine_speed"].value, ch["power"].value
    full = ch["throttle"].value >= 95
    for i, lo in enumerate(env.lower):
        sel = full & (rpm >= lo) & (rpm < lo + 250)
        assert env.counts[i] == sel.sum()
        assert env.p50[i] == pytest.approx(np.percentile(power[sel], 50), rel=1e-9)
        assert env.p05[i] == pytest.approx(np.percentile(power[sel], 5), rel=1e-9)


@pytest.mark.parametrize("seed", [2, 3, 4])
def test_five_percent_more_power_is_flagged_and_the_same_car_is_not(seed):
    reference = run_envelopes(_run(100), "m")
    same = compare(run_envelopes(_run(seed), "m"), reference)
    more = compare(run_envelopes(_run(seed, power_factor=1.05), "m"), reference)
    assert [f.quantity for f in same.findings] == []
    flagged = {f.quantity: f for f in more.findings}
    assert set(flagged) == {"power_vs_rpm", "power_vs_speed"}
    assert flagged["power_vs_rpm"].side == "above" and flagged["power_vs_rpm"].ratio == pytest.approx(1.05, abs=0.01)
    assert "not a verdict" in flagged["power_vs_rpm"].detail


def test_one_odd_bin_is_not_a_finding():
    reference = run_envelopes(_run(100), "m")
    ch = _run(5)
    rpm = ch["engine_speed"].value
    odd = (rpm >= 5000) & (rpm < 5250)
    power = ch["power"].value.copy()
    power[odd] *= 1.2
    ch["power"] = Channel("power", "kW", ch["power"].time, power)
    c = compare(run_envelopes(ch, "m"), reference, settings=ReferenceSettings(min_bins=3))
    assert [b.side for b in c.bins["power_vs_rpm"]].count("above") == 1
    assert not [f for f in c.findings if f.quantity == "power_vs_rpm"]


def test_envelopes_round_trip_through_json():
    from compliance.analysis import RunEnvelopes
    env = run_envelopes(_run(7), "m")
    back = RunEnvelopes.from_dict(env.to_dict())
    assert back.to_dict() == env.to_dict()
