"""The BoP working group's field view on synthetic cars with known power, weight and boost: power-to-weight, boost
usage (a sandbagging car shown as such), the measured power-against-boost sensitivity, and proposals that bring
each model to the target (applying them equalises power-to-weight)."""
from __future__ import annotations

from types import MappingProxyType

import numpy as np
import pytest

from compliance.analysis.field import CarData, analyse
from compliance.bop.spec import ModelBop, RuleSpec
from telemetry.channels import Channel

BOOST = RuleSpec("boost", "boost_pressure", "bar", (2.4, 2.4), "engine_speed", "rpm", (3000.0, 8000.0),
                 tolerance=0.02)


def _car(car: str, model: str, *, peak_kw: float, weight: float, margin_bar: float = 0.03, seed: int = 1,
         boost_rule: bool = True) -> CarData:
    rng = np.random.default_rng(seed)
    n = 30_000
    t = np.arange(n) * 0.01
    rpm = 5000 + 2000 * np.sin(t / 5.0)
    throttle = np.where(np.sin(t / 2.0) > -0.6, 100.0, 10.0)
    boost = 2.4 - margin_bar + rng.normal(0, 0.02, n)
    shape = 1 - ((rpm - 6500) / 4000) ** 2
    power = peak_kw * shape * boost / 2.37 + rng.normal(0, 1.0, n)    # power ~ absolute boost at a given rpm
    speed = 100 + (rpm - 3000) / 40
    ch = {"engine_speed": ("rpm", rpm), "throttle": ("%", throttle), "boost_pressure": ("bar", boost),
          "power": ("kW", power), "vehicle_speed": ("km/h", speed)}
    entry = ModelBop(model, model, weight, MappingProxyType({"boost": BOOST} if boost_rule else {}))
    return CarData(car, model, "race", {k: Channel(k, u, t, v) for k, (u, v) in ch.items()}, float(t[-1]), entry,
                   1.01)


@pytest.fixture(scope="module")
def field():
    cars = [_car("1", "fast", peak_kw=420, weight=1300, margin_bar=0.03, seed=1),
            _car("2", "fast", peak_kw=420, weight=1300, margin_bar=0.01, seed=2),
            _car("3", "slow", peak_kw=380, weight=1320, seed=3),
            _car("4", "sandbag", peak_kw=400, weight=1310, margin_bar=0.13, seed=4)]
    return analyse(cars, target="median", sessions=["race"])


def test_power_to_weight_is_peak_power_over_bulletin_weight(field):
    by = {m.model: m for m in field.models}
    assert by["fast"].weight_kg == 1300 and by["fast"].cars == ("1", "2")
    assert by["fast"].power_to_weight_w_kg == pytest.approx(by["fast"].peak_power_kw * 1000 / 1300)
    assert by["fast"].peak_power_kw > by["slow"].peak_power_kw


def test_a_sandbagging_model_is_shown_by_boost_usage(field):
    by = {m.model: m for m in field.models}
    assert by["fast"].boost_usage > 0.8 and by["slow"].boost_usage > 0.8
    assert by["sandbag"].boost_usage < 0.05


def test_sensitivity_is_measured_from_boost_levels_and_else_assumed_proportional(field):
    by = {m.model: m for m in field.models}
    m = by["fast"]                      # two runs 0.02 bar apart: measured, and power ~ boost in this data
    assert m.sensitivity_source.startswith("measured")
    assert m.sensitivity_kw_bar == pytest.approx(420 / 2.37, rel=0.1)
    one = by["slow"]                    # one run: the proportional law, with a 25 % uncertainty
    assert one.sensitivity_source.startswith("assumed")
    assert one.sensitivity_se_kw_bar == pytest.approx(0.25 * one.sensitivity_kw_bar)


def test_applying_the_proposed_weight_or_boost_equalises_power_to_weight(field):
    target = field.target_w_kg
    by = {m.model: m for m in field.models}
    for p in field.proposals:
        m = by[p.model]
        assert (m.peak_power_kw * 1000 / (m.weight_kg + p.weight_delta_kg)) == pytest.approx(target, rel=1e-9)
        new_power = m.peak_power_kw + p.boost_delta_bar * m.sensitivity_kw_bar
        assert new_power * 1000 / m.weight_kg == pytest.approx(target, rel=1e-9)
        assert p.weight_delta_sd_kg > 0 and p.boost_delta_sd_bar > 0
        assert p.inputs["either"].startswith("apply the weight delta or the boost delta")


def test_a_model_without_a_boost_rule_gets_a_weight_delta_only():
    cars = [_car("1", "turbo", peak_kw=420, weight=1300), _car("2", "na", peak_kw=380, weight=1320, boost_rule=False)]
    result = analyse(cars)
    by = {p.model: p for p in result.proposals}
    assert by["na"].boost_delta_bar is None and by["na"].weight_delta_kg != 0
    assert by["turbo"].boost_delta_bar is not None


def test_the_csv_has_a_row_per_model(field):
    lines = field.to_csv().splitlines()
    assert lines[0].startswith("model,cars,weight_kg") and len(lines) == 1 + len(field.models)
