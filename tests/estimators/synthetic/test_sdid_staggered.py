"""Synthetic DiD with staggered adoption (evaluate.estimators.synthetic.sdid_staggered).

References: with a single cohort the staggered path must equal the block estimator
(estimate and placebo standard error with the same seed, to rounding: R synthdid's
algorithm is the one tested in test_sdid.py); a known effect on three staggered
units of a low-noise factor panel comes back within 0.5 (noise sd 0.3).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import evaluate as ev
from evaluate.errors import SpecError
from evaluate.estimators.synthetic.sdid import _prepare
from evaluate.estimators.synthetic.sdid_staggered import StaggeredSDIDResult, staggered_sdid

KEYS = {"outcome": "y", "unit": "kommune", "time": "t"}


def _panel(effect=-6.0, starts=(20, 24, 28), n_controls=30, periods=36, seed=11, noise=0.3):
    rng = np.random.default_rng(seed)
    t = np.arange(periods)
    factors = np.column_stack([np.ones(periods), np.sin(t / 5), t / periods])
    n = n_controls + len(starts)
    loadings = rng.normal(0, 4, (n, 3)) + np.array([50, 0, 0])
    y = loadings @ factors.T + rng.normal(0, noise, (n, periods))
    rows = []
    for i in range(n):
        name = f"c{i:02d}" if i < n_controls else f"T{i - n_controls}"
        for k in range(periods):
            treated = i >= n_controls and k >= starts[i - n_controls]
            rows.append((name, k, y[i, k] + (effect if treated else 0.0)))
    return pd.DataFrame(rows, columns=["kommune", "t", "y"])


def test_single_cohort_equals_the_block_estimator():
    data = _panel()
    block = ev.synthetic_did(data, **KEYS, treated_unit=["T0", "T1"], start=24, seed=3)
    y, units, times, _, _, _ = _prepare(data, "y", "kommune", "t", ["T0", "T1"], 24)
    n0 = len(units) - 2
    fitted = staggered_sdid(
        y, units, times, n0, ["T0", "T1"], [24, 24], estimator="sdid", placebo_reps=200,
        rng=np.random.default_rng(3),
    )  # fmt: skip
    assert fitted["taus"]["sdid"] == pytest.approx(block.estimate, abs=1e-10)
    assert float(np.std(fitted["placebos"])) == pytest.approx(block.std_error, abs=1e-10)
    for e in ("sc", "did"):
        assert fitted["taus"][e] == pytest.approx(block.comparison.loc[e, "estimate"], abs=1e-10)


def test_known_effect_on_three_staggered_units():
    data = _panel()
    res = ev.synthetic_did(
        data, **KEYS, treated_unit=["T0", "T1", "T2"], start=[20, 24, 28], seed=1,
        placebo_reps=50, outcome_unit="full-time persons",
    )  # fmt: skip
    assert isinstance(res, StaggeredSDIDResult)
    assert res.estimate == pytest.approx(-6.0, abs=0.5)
    assert res.unit == "full-time persons"
    cohorts = res.cohorts
    assert list(cohorts.index) == ["20", "24", "28"]
    # weights proportional to treated unit-periods: 16, 12 and 8 post-periods
    assert cohorts["weight"].to_numpy() == pytest.approx(np.array([16, 12, 8]) / 36)
    assert res.estimate == pytest.approx(float(cohorts["weight"] @ cohorts["estimate"]))
    # every cohort's controls are the never-treated only
    assert not any(str(u).startswith("T") for u in res.unit_weights.index)
    low, high = res.ci
    assert low < -6.0 < high
    assert [str(t.title) for t in res.design_tables()] == [
        "Adoption cohorts",
        "Largest unit weights by cohort",
    ]


def test_staggered_options_that_take_one_value():
    data = _panel()
    with pytest.raises(SpecError, match="placebo='each' needs a single"):
        ev.synthetic_did(
            data, **KEYS, treated_unit=["T0", "T1"], start=[20, 24], placebo="each"
        )
    with pytest.raises(SpecError, match="treated_unit takes a list"):
        ev.synthetic_did(data, **KEYS, treated_unit="T0", start=[20, 24])
