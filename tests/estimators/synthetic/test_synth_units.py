"""Synthetic control with several treated units (evaluate.estimators.synthetic.synth_units).

References: a single treated unit given as a list must reproduce the single-unit
fit (estimate, weights, permutation p-value and interval: the pooled test reduces
to ADH's); treated units that are exact convex combinations of donors must return
their known effects exactly (a noiseless known truth, tolerance 1e-6).
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

import evaluate as ev
from evaluate.errors import DataError, SpecError
from evaluate.estimators.synthetic._synth_placebo import PlaceboDistribution
from evaluate.estimators.synthetic._synth_pooled import (
    PooledPlaceboDistribution,
    placebo_assignments,
)
from evaluate.estimators.synthetic.synth_units import SynthUnitsResult

KEYS = {"outcome": "y", "unit": "kommune", "time": "t"}
LIGHT = {"leave_one_out": False, "placebo_time": None, "seed": 0}


def _panel(effects=(-5.0, -8.0, -11.0), starts=(24, 28, 32), n_donors=24, periods=40, seed=7):
    """Donors from a three-factor model; treated unit i is an exact convex mix of three
    donors plus ``effects[i]`` from ``starts[i]`` on (so synthetic control is exact)."""
    rng = np.random.default_rng(seed)
    t = np.arange(periods)
    factors = np.column_stack([np.sin(t / 4), np.cos(t / 7), t / periods])
    donors = 100 + rng.normal(0, 5, n_donors) + factors @ rng.normal(0, 6, (3, n_donors))
    donors = donors + rng.normal(0, 1.0, donors.shape)
    rows = [(f"d{j:02d}", k, donors[k, j]) for j in range(n_donors) for k in range(periods)]
    truth = {}
    for i, (effect, start) in enumerate(zip(effects, starts, strict=True)):
        pick = rng.choice(n_donors, 3, replace=False)
        w = np.zeros(n_donors)
        w[pick] = rng.dirichlet(np.ones(3))
        y = donors @ w + np.where(t >= start, effect, 0.0)
        rows += [(f"T{i}", k, y[k]) for k in range(periods)]
        truth[f"T{i}"] = (effect, start, w)
    return pd.DataFrame(rows, columns=["kommune", "t", "y"]), truth


def test_one_unit_as_a_list_equals_the_single_unit_fit():
    data, _ = _panel(effects=(-6.0,), starts=(26,))
    data = data.assign(y=data["y"] + np.random.default_rng(1).normal(0, 0.5, len(data)))
    single = ev.synthetic_control(data, **KEYS, treated_unit="T0", start=26, **LIGHT)
    several = ev.synthetic_control(data, **KEYS, treated_unit=["T0"], start=26, **LIGHT)
    assert isinstance(several, SynthUnitsResult)
    assert several.estimate == pytest.approx(single.estimate, abs=1e-12)
    assert several.weights["T0"].to_numpy() == pytest.approx(single.weights.to_numpy(), abs=1e-12)
    assert several.p_value == pytest.approx(single.p_value, abs=1e-12)
    assert several.ci == pytest.approx(single.ci, abs=1e-9)
    assert several.std_error == pytest.approx(single.std_error, abs=1e-12)


def test_known_effects_of_three_staggered_units_are_recovered():
    data, truth = _panel()
    res = ev.synthetic_control(
        data, **KEYS, treated_unit=["T0", "T1", "T2"], start={"T0": 24, "T1": 28, "T2": 32},
        **LIGHT,
    )  # fmt: skip
    for unit, (effect, start, w) in truth.items():
        row = res.unit_effects.loc[unit]
        assert row["estimate"] == pytest.approx(effect, abs=1e-6)
        assert row["start"] == str(start)
        assert res.weights[unit].reindex([f"d{j:02d}" for j in range(24)]).to_numpy() == (
            pytest.approx(w, abs=1e-6)
        )
    assert res.estimate == pytest.approx(-8.0, abs=1e-6)
    # every treated unit is out of every donor pool, and out of the placebos
    assert not any(str(u).startswith("T") for u in res.weights.index)
    for fit in res.unit_fits:
        assert not any(str(u).startswith("T") for u in fit.placebo_table["unit"])
    # With noise on the treated units and one common effect (the interval holds the
    # constant effects the test does not reject) the pooled placebo test must cover the
    # truth and reject no effect (the effect is many times the noise).
    same, _ = _panel(effects=(-8.0, -8.0, -8.0))
    noisy = same.assign(
        y=same["y"]
        + np.where(same["kommune"].str.startswith("T"), 1.0, 0.0)
        * np.random.default_rng(2).normal(0, 0.5, len(data))
    )
    res_noisy = ev.synthetic_control(
        noisy, **KEYS, treated_unit=["T0", "T1", "T2"], start=[24, 28, 32], **LIGHT
    )
    assert res_noisy.estimate == pytest.approx(-8.0, abs=1.0)
    low, high = res_noisy.ci
    assert low <= -8.0 <= high
    assert res_noisy.distribution.p_value(-8.0) > 0.05
    assert res_noisy.p_value <= 0.05
    # staggered: periods are counted from each unit's own start
    assert res.periods["period"].iloc[0] == 0
    assert res.periods["n_units"].iloc[0] == 3
    titles = [str(t.title) for t in res.design_tables()]
    assert titles == ["Effect by treated unit", "Donor weights by treated unit"]
    assert list(res.design_tables()[1].frame.columns) == ["T0", "T1", "T2"]


def test_pooled_interval_is_the_set_the_test_does_not_reject():
    rng = np.random.default_rng(3)
    dist = PooledPlaceboDistribution(
        estimate=-2.0,
        post_gaps=(rng.normal(-1, 1, 12), rng.normal(-3, 1, 8)),
        pre_rmspe=np.array([1.0, 1.3]),
        placebo_stats=rng.gamma(2.0, 1.0, 199),
        placebo_effects=rng.normal(0, 1, 199),
    )
    low, high = dist.interval(0.1)
    assert low < high
    for d in (low + 1e-6, (low + high) / 2, high - 1e-6):
        assert dist.p_value(d) > 0.1
    for d in (low - 1e-3, high + 1e-3):
        assert dist.p_value(d) <= 0.1
    # scale-free ratios: the scaled distribution's interval is the scaled interval
    assert dist.scaled(-2.0).interval(0.1) == pytest.approx((-2 * high, -2 * low), rel=1e-6)


def test_one_unit_pooled_equals_adh_distribution():
    rng = np.random.default_rng(4)
    gaps, ratios, effects = rng.normal(-2, 1, 10), rng.gamma(2, 1, 30), rng.normal(0, 1, 30)
    pooled = PooledPlaceboDistribution(-2.0, (gaps,), np.array([0.8]), ratios, effects)
    adh = PlaceboDistribution(-2.0, gaps, 0.8, ratios, effects)
    for null in (0.0, -1.0, -2.5):
        assert pooled.p_value(null) == pytest.approx(adh.p_value(null))
    assert pooled.interval(0.1) == pytest.approx(adh.interval(0.1))


def test_placebo_assignments_use_distinct_donors():
    rng = np.random.default_rng(0)
    few = placebo_assignments([np.arange(4), np.arange(4)], rng)
    assert len(few) == 12 and all(a != b for a, b in few)
    many = placebo_assignments([np.arange(50)] * 3, rng, limit=100)
    assert many.shape == (100, 3)
    assert all(len(set(row)) == 3 for row in many)


def test_errors_name_the_option_that_takes_several():
    data, _ = _panel()
    with pytest.raises(SpecError, match="treated_unit takes a list"):
        ev.synthetic_control(data, **KEYS, treated_unit="T0", start=[24, 28], **LIGHT)
    with pytest.raises(SpecError, match="placebo_time takes one"):
        ev.synthetic_control(data, **KEYS, treated_unit=["T0"], start=24, placebo_time=[20, 21])
    with pytest.raises(SpecError, match="2 start"):
        ev.synthetic_control(data, **KEYS, treated_unit=["T0", "T1", "T2"], start=[24, 28])
    with pytest.raises(DataError, match="not found"):
        ev.synthetic_control(data, **KEYS, treated_unit=["T0", "nowhere"], start=24, **LIGHT)
    with pytest.raises(SpecError, match="donor pool contains treated"):
        ev.synthetic_control(
            data, **KEYS, treated_unit=["T0", "T1"], start=24, donors=["T1", "d01", "d02"]
        )


def test_unit_of_measure_reaches_the_result_and_the_caller_frame_is_untouched():
    data, _ = _panel()
    before = data.copy()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = ev.synthetic_control(
            data, **KEYS, treated_unit=["T0", "T1"], start=[24, 28], outcome_unit="persons",
            **LIGHT,
        )  # fmt: skip
    pd.testing.assert_frame_equal(data, before)
    assert res.unit == "persons"
    assert set(res.to_frame().columns) >= {"term", "estimate", "ci_low", "ci_high", "unit"}
    assert "Effect by treated unit" in res.summary()
