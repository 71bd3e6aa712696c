"""Randomization inference: the exact test inversion against a brute-force grid, the
placebo statistics against refitting the estimators on reassigned data, and the
assignments' structure."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pandas as pd
import pytest

import evaluate as ev
from evaluate.errors import SpecError
from evaluate.inference.randomization import Randomization, placebo_assignments


def _dist(m=40, seed=0):
    rng = np.random.default_rng(seed)
    stats = np.concatenate([[1.3], rng.normal(size=m - 1)])
    slopes = np.concatenate([[1.0], rng.normal(scale=0.3, size=m - 1)])
    return Randomization(1.3, stats, slopes, exhaustive=False)


def test_interval_matches_brute_force_grid():
    dist = _dist()
    grid = np.linspace(-10, 10, 200_001)
    accepted = grid[dist._count(grid) / dist.n_assignments > 0.05]
    low, high = dist.interval(0.05)
    assert low == pytest.approx(accepted.min(), abs=2e-4)
    assert high == pytest.approx(accepted.max(), abs=2e-4)
    assert dist.p_value(low - 1e-6) <= 0.05 < dist.p_value(low + 1e-6)


def test_too_few_assignments_give_an_unbounded_interval():
    dist = _dist(m=10)
    assert dist.interval(0.05) == (-math.inf, math.inf)
    assert "unbounded" in dist.note(0.05)
    assert all(math.isfinite(v) for v in dist.interval(0.3))


def test_scaled_scales_interval_and_keeps_p_value():
    dist = _dist()
    scaled = dist.scaled(-3.0)
    low, high = dist.interval(0.1)
    assert sorted(scaled.interval(0.1)) == pytest.approx(sorted([-3 * low, -3 * high]))
    assert scaled.p_value(0.0) == dist.p_value(0.0)


def test_assignments_exhaustive_for_one_treated_unit():
    treated = np.zeros(6, bool)
    treated[2] = True
    rows, exhaustive = placebo_assignments(treated)
    assert exhaustive and rows.shape == (6, 6)
    np.testing.assert_array_equal(rows[0], np.arange(6))
    # each row is a permutation giving the treated path to a different unit
    assert sorted(int(np.flatnonzero(treated[r])[0]) for r in rows) == list(range(6))
    assert all(sorted(r) == list(range(6)) for r in rows)
    with pytest.raises(SpecError, match="both treated and untreated"):
        placebo_assignments(np.ones(5, bool))


def _panel(seed, n=12, t=6, treated=(0, 1)):
    rng = np.random.default_rng(seed)
    u, tt = np.repeat(np.arange(n), t), np.tile(np.arange(t), n)
    tr = np.isin(np.arange(n), treated)
    d = (tr[u] & (tt >= 3)).astype(float)
    y = rng.normal(size=n)[u] + rng.normal(size=len(u)) + 0.5 * d
    return pd.DataFrame({"u": u, "t": tt, "d": d, "y": y, "x": rng.normal(size=len(u))})


def test_twfe_placebo_statistics_equal_refitted_estimates():
    from evaluate.estimators.did._placebo import twfe_placebo
    from evaluate.estimators.did.twfe import panel_index

    df = _panel(1)
    index = panel_index(df.u, df.t)
    x = df[["d", "x"]].to_numpy()
    perms, _ = placebo_assignments(np.isin(np.arange(12), (0, 1)), n_draws=99, seed=2)
    u, c = twfe_placebo(index, df.y.to_numpy(), x, perms[:5])
    paths = df.pivot(index="u", columns="t", values="d").to_numpy()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for a in range(5):
            placebo = paths[perms[a][df.u], df.t]
            fit = ev.twfe(df.assign(p=placebo), outcome="y", unit="u", time="t",
                          treatment="p", covariates=["x"], inference="CR1")  # fmt: skip
            on_d = ev.twfe(df.assign(p=placebo), outcome="d", unit="u", time="t",
                           treatment="p", covariates=["x"], inference="CR1")  # fmt: skip
            assert u[a] == pytest.approx(fit.estimate, rel=1e-10)
            assert c[a] == pytest.approx(on_d.estimate, rel=1e-10, abs=1e-12)
    assert c[0] == pytest.approx(1.0)


def test_one_treated_unit_headline_is_randomization():
    df = _panel(3, n=20, treated=(4,))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = ev.twfe(df, outcome="y", unit="u", time="t", treatment="d")
    assert res.covariance_method == "randomization"
    assert res.distribution.exhaustive and res.distribution.n_assignments == 20
    assert res.to_frame().loc[0, "ci_low"] == res.ci[0]
    draws = res.draws(4000, seed=1)
    # the draws spread like the placebo estimates, not like the CR2 standard error
    assert np.std(draws) == pytest.approx(res.std_error, rel=0.1)
