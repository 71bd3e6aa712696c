"""Wild cluster bootstrap: one interval (issue 14 item 5).

With ``inference="wild"`` the effect table, the summary, the notes and the money
draws all read the restricted wild bootstrap's test-inversion interval; with one
treated (or one control) cluster the wild bootstrap is refused (issue 18: a
cluster-robust or wild interval is no headline with one treated cluster)."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

import evaluate as ev
from evaluate.datasets import mpdta
from evaluate.errors import DesignError, NegativeWeightsWarning
from evaluate.inference.bootstrap import wild_cluster_bootstrap


def _mpdta(n_treated: int) -> pd.DataFrame:
    df = mpdta()
    treated = df.loc[df["first.treat"] > 0, "countyreal"].unique()[:n_treated]
    df = df[(df["first.treat"] == 0) | df["countyreal"].isin(treated)].copy()
    df["D"] = ((df["first.treat"] > 0) & (df["year"] >= df["first.treat"])).astype(int)
    return df


def _twfe(df, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NegativeWeightsWarning)
        return ev.twfe(df, outcome="lemp", unit="countyreal", time="year", treatment="D", **kw)


def _panel(seed=0, n_units=16, n_treated=4):
    rng = np.random.default_rng(seed)
    unit = np.repeat(np.arange(n_units), 2)
    wave = np.tile([0, 1], n_units)
    g = (unit < n_treated).astype(int)
    y = 1 + 0.5 * g + 0.3 * wave + 1.0 * g * wave + rng.normal(size=n_units)[unit]
    return pd.DataFrame({"u": unit, "t": wave, "g": g, "y": y + rng.normal(size=2 * n_units)})


def _agree(res):
    """Table, summary, notes and draws show the one test-inversion interval."""
    low, high = res.ci
    row = res.to_frame().iloc[0]
    assert (row["ci_low"], row["ci_high"]) == (low, high)
    assert row["p_value"] == res.p_value
    coef = res.coefficients[np.isclose(res.coefficients["estimate"], res.estimate)].iloc[0]
    assert (coef["ci_low"], coef["ci_high"], coef["p_value"]) == (low, high, res.p_value)
    note = str(res.notes[0])
    assert f"[{low:.4g}, {high:.4g}]" in note and f"p = {res.p_value:.4g}" in note
    text = res.summary()
    assert "test inversion" in text
    # Draws sample the confidence distribution: their central 95 % is the interval,
    # up to the interpolation between levels and Monte Carlo error (10 % of the width).
    q = np.quantile(res.draws(40_000, seed=3), [0.025, 0.975])
    np.testing.assert_allclose(q, [low, high], atol=0.1 * (high - low))


def test_twfe_table_summary_notes_and_draws_show_one_interval():
    df = _mpdta(3)
    res = _twfe(df, inference="wild", n_boot=999, seed=1)
    _agree(res)
    # the headline is the bootstrap's own test inversion, recomputed here directly
    # (the treatment is the within-transformed regressor of the TWFE fit)
    assert res.distribution.label.startswith("wild bootstrap-t, test inversion")
    low, high = res.ci
    assert low < res.estimate < high
    # at the bounds the bootstrap p-value crosses alpha
    d = res.distribution
    eps = 1e-4 * (high - low)
    assert d.p_value(low + eps) >= 0.05 > d.p_value(low - eps)
    assert d.p_value(high - eps) >= 0.05 > d.p_value(high + eps)


def test_did_table_summary_notes_and_draws_show_one_interval():
    df = _panel()
    res = ev.did(df, outcome="y", unit="u", time="t", treated="g", inference="wild",
                 n_boot=999, seed=2)  # fmt: skip
    _agree(res)
    # the same interval as the bootstrap function on the 2x2 regression
    x = np.column_stack([np.ones(len(df)), df.g, df.t, df.g * df.t]).astype(float)
    boot = wild_cluster_bootstrap(x, df.y.to_numpy(), df.u.to_numpy(), coef=3, n_boot=999,
                                  seed=2)  # fmt: skip
    np.testing.assert_allclose(res.ci, boot.ci, rtol=1e-12)
    assert res.p_value == pytest.approx(boot.p_value, abs=1e-12)


def test_scaled_distribution_scales_the_inverted_interval():
    d = _panel(seed=4)
    res = ev.did(d, outcome="y", unit="u", time="t", treated="g", inference="wild", seed=2)
    low, high = res.ci
    s = res.distribution.scaled(-3.0)
    np.testing.assert_allclose(s.interval(0.05), (-3 * high, -3 * low), rtol=1e-12)
    assert s.p_value(-3 * 0.2) == res.distribution.p_value(0.2)
    assert s.estimate == pytest.approx(-3 * res.estimate)


def test_one_treated_cluster_refuses_wild_and_auto_uses_placebos():
    df = _mpdta(1)
    with pytest.raises(DesignError, match="2 treated and 2 control clusters"):
        _twfe(df, inference="wild")
    with pytest.raises(DesignError, match="randomization"):
        ev.did(_panel(n_treated=1), outcome="y", unit="u", time="t", treated="g",
               inference="wild")  # fmt: skip
    auto = _twfe(df)
    assert auto.covariance_method == "randomization"
    row = auto.to_frame().iloc[0]
    assert (row["ci_low"], row["ci_high"]) == auto.ci
