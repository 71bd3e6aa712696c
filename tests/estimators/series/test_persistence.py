"""Treatments that end (issue 14 item 10): persistence of the effect after ``end``.

Known truth: an effect of -6 a month during the intervention that stays at -3 (50 %)
after its end, with AR(1) errors.  The delta-method interval of the persistence
should cover 0.5 about 95 % of the time: light runs here (tolerance from the Monte
Carlo error), heavy ones behind ``-m slow``.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from evaluate.errors import DesignError, SpecError
from evaluate.estimators.series._persistence import Persistence
from evaluate.estimators.series.forecast import trend_forecast
from evaluate.estimators.series.forecast_models import N_PATHS, _error_cov, model_forecast
from evaluate.estimators.series.its import its
from evaluate.inference.distributions import Normal

N_PRE, N_DURING, N_AFTER = 48, 24, 24
MONTHS = pd.period_range("2014-01", periods=N_PRE + N_DURING + N_AFTER, freq="M")
START, END = MONTHS[N_PRE], MONTHS[N_PRE + N_DURING - 1]


def _ar1(rng, n, phi, sd=1.0):
    e = np.empty(n)
    e[0] = rng.normal(scale=sd / math.sqrt(1 - phi**2))
    for i in range(1, n):
        e[i] = phi * e[i - 1] + rng.normal(scale=sd)
    return e


def _series(rng, phi=0.3, share=0.5):
    t = np.arange(len(MONTHS))
    effect = np.where(t >= N_PRE, -6.0, 0.0)
    effect[t >= N_PRE + N_DURING] = -6.0 * share
    y = 100 + 0.2 * t + effect + _ar1(rng, len(t), phi)
    return pd.DataFrame({"month": MONTHS, "y": y})


def _its(frame):
    return its(frame, outcome="y", time="month", start=START, end=END, change="level")


def _forecast(frame):
    return trend_forecast(frame, outcome="y", time="month", start=START, end=END)


def _coverage(fit_fn, reps, seed):
    rng = np.random.default_rng(seed)
    hits, shares = [], []
    for _ in range(reps):
        p = fit_fn(_series(rng)).persistence
        low, high = p.share.interval(0.05)
        hits.append(low <= 0.5 <= high)
        shares.append(p.share.estimate)
    return float(np.mean(hits)), float(np.mean(shares))


@pytest.mark.parametrize("fit_fn", [_its, _forecast], ids=["its", "trend_forecast"])
def test_persistence_recovered_and_covered_light(fit_fn):
    # 300 replications: Monte Carlo SE of a 95 % coverage is 1.3 points; 3 SE either side.
    cover, mean_share = _coverage(fit_fn, 300, seed=11)
    assert 0.91 <= cover <= 0.99
    assert mean_share == pytest.approx(0.5, abs=0.03)


@pytest.mark.slow
@pytest.mark.parametrize("fit_fn", [_its, _forecast], ids=["its", "trend_forecast"])
def test_persistence_coverage_heavy(fit_fn):
    cover, mean_share = _coverage(fit_fn, 2000, seed=12)  # MC SE 0.5 points
    assert 0.93 <= cover <= 0.97
    assert mean_share == pytest.approx(0.5, abs=0.015)  # E[A/D] is not A/D: a small bias


def test_result_reports_persistence_and_headline_window():
    frame = _series(np.random.default_rng(3))
    fit = _its(frame)
    p = fit.persistence
    assert str(fit.end) == str(END) and (p.n_during, p.n_after) == (N_DURING, N_AFTER)
    # the headline is the average over start-end; the after-average is its own row
    assert fit.estimate == pytest.approx(p.during.estimate)
    assert fit.n_window == N_DURING
    after = fit.series[fit.series["after"]]
    assert p.after.estimate == pytest.approx(after["effect"].mean())
    assert p.share.estimate == pytest.approx(p.after.estimate / p.during.estimate)
    rows = fit.to_frame().set_index("term")
    row = rows.loc[f"y: persistence after {END} (share of effect during)"]
    assert row["unit"] == "share" and row["ci_low"] < row["estimate"] < row["ci_high"]
    assert any("The intervention ended in" in n for n in fit.notes)
    # the model has its own level change after the end
    assert "level change after end" in fit.coefficients.index
    fc = _forecast(frame)
    assert fc.n_post == N_DURING and fc.persistence.n_after == N_AFTER
    assert fc.estimate == pytest.approx(fc.series.loc[fc.series["window"], "effect"].mean())


def test_delta_method_matches_simulated_ratio():
    # The persistence SE by the delta method against the spread of A/D over draws
    # from the fitted joint normal of the coefficients (with a level model A/D is
    # (b2 + b4) / b2): the interquartile range / 1.349, which the ratio's heavier
    # tails do not inflate, within 2 %.
    fit = _its(_series(np.random.default_rng(5)))
    v = fit.vcov.to_numpy()
    beta = fit.coefficients["estimate"].to_numpy()
    cols = list(fit.coefficients.index)
    lvl, lvl2 = cols.index("level change"), cols.index("level change after end")
    draws = np.random.default_rng(0).multivariate_normal(beta, v, size=200_000)
    ratio = (draws[:, lvl] + draws[:, lvl2]) / draws[:, lvl]
    q1, q3 = np.quantile(ratio, [0.25, 0.75])
    assert fit.persistence.share.std_error == pytest.approx((q3 - q1) / 1.349, rel=0.02)


def test_effect_shares_fit_a_decay_that_averages_to_the_persistence():
    p = Persistence("2020-06", Normal(-10, 1), Normal(-5, 1), Normal(0.5, 0.1), 12, 12)
    r = p.decay_per_period()
    assert np.mean(r ** np.arange(1, 13)) == pytest.approx(0.5, rel=1e-9)
    shares = p.effect_shares(2019, 5, years_during=2, first_year=0.5)
    assert shares[2019] == 0.5 and shares[2020] == 1.0
    assert shares[2021] == pytest.approx(0.5, rel=1e-9)  # first year after: the persistence
    assert shares[2022] == pytest.approx(0.5 * r**12, rel=1e-9)
    assert p.annual_decay() == pytest.approx(1 - r**12)
    # scenario bounds: the interval's limits give smaller and larger shares after the end
    low, high = p.effect_shares(2019, 4, bound="low"), p.effect_shares(2019, 4, bound="high")
    assert low[2020] < shares[2021] < high[2020]
    full = Persistence("2020-06", Normal(-10, 1), Normal(-11, 1), Normal(1.1, 0.1), 12, 12)
    assert full.effect_shares(2020, 3) == {2020: 1.0, 2021: 1.0, 2022: 1.0}
    with pytest.raises(SpecError, match="years"):
        p.effect_shares(2020, 0)
    # on a fit with 24 periods after the end: the two years after average to the persistence
    fit = _its(_series(np.random.default_rng(2)))
    share = fit.persistence.share.estimate
    assert 0 < share < 1
    years = fit.effect_shares(2018, 4, years_during=2)
    assert (years[2020] + years[2021]) / 2 == pytest.approx(share, rel=1e-9)


def test_model_forecast_persistence_sarimax_and_ets():
    frame = _series(np.random.default_rng(7), phi=0.0)
    sar = model_forecast(frame, outcome="y", time="month", start=START, end=END,
                         model="sarimax", order=(0, 1, 1), trend="c", backtest=0)  # fmt: skip
    assert sar.n_post == N_DURING
    assert sar.persistence.share.estimate == pytest.approx(0.5, abs=0.35)
    ets = model_forecast(frame, outcome="y", time="month", start=START, end=END, seed=1,
                         backtest=0)  # fmt: skip
    low, high = ets.persistence.share.interval(0.05)
    assert low < ets.persistence.share.estimate < high


def test_persistence_note_names_the_method_of_its_interval():
    # SARIMAX and trend forecasts: delta method; ETS: percentiles over simulated paths,
    # and the note's interval is the one the result's persistence row shows.
    frame = _series(np.random.default_rng(7), phi=0.0)
    sar = model_forecast(frame, outcome="y", time="month", start=START, end=END,
                         model="sarimax", order=(0, 1, 1), trend="c", backtest=0)  # fmt: skip
    trend = trend_forecast(frame, outcome="y", time="month", start=START, end=END)
    ets = model_forecast(frame, outcome="y", time="month", start=START, end=END, seed=1,
                         backtest=0)  # fmt: skip
    for fit in (sar, trend):
        (note,) = [n for n in fit.notes if "The intervention ended" in n]
        assert note.key == "note.persistence" and "delta method" in note
    (note,) = [n for n in ets.notes if "The intervention ended" in n]
    assert note.key == "note.persistence_paths"
    assert "delta" not in note and f"{N_PATHS:,} simulated future paths" in note
    low, high = ets.persistence.share.interval(0.05)
    assert f"{low:.0%} to {high:.0%}" in note
    with pytest.raises(SpecError, match="interval must be"):
        Persistence("2020-06", Normal(-10, 1), Normal(-5, 1), Normal(0.5, 0.1), 12, 12,
                    interval="bootstrap")  # fmt: skip


def test_error_cov_matches_statsmodels_forecast_variances():
    # Independent check of the joint forecast-error covariance: its diagonal for unit
    # weights equals statsmodels' own per-horizon forecast variance (1e-8 relative).
    from statsmodels.tsa.statespace.sarimax import SARIMAX

    y = np.cumsum(np.random.default_rng(1).normal(size=80)) + 50
    res = SARIMAX(y, order=(1, 1, 1), trend="c").fit(disp=False)
    h = 10
    cov = _error_cov(res, np.eye(h))
    se = res.get_forecast(h).se_mean
    np.testing.assert_allclose(np.sqrt(np.diag(cov)), se, rtol=1e-8)


def test_end_is_checked():
    frame = _series(np.random.default_rng(0))
    with pytest.raises(SpecError, match="before start"):
        its(frame, outcome="y", time="month", start=START, end=MONTHS[10])
    with pytest.raises(DesignError, match="periods after the intervention"):
        trend_forecast(frame, outcome="y", time="month", start=START, end=MONTHS[-1])
    with pytest.raises(SpecError, match="needs the intervention's end"):
        its(frame, outcome="y", time="month", start=START).effect_shares(2020, 3)
