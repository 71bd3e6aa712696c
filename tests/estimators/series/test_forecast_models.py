"""Model forecasts (ETS, SARIMAX): against statsmodels, back-test, known truth, bad input."""

from __future__ import annotations

import warnings

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
from statsmodels.tsa.exponential_smoothing.ets import ETSModel  # noqa: E402
from statsmodels.tsa.statespace.sarimax import SARIMAX  # noqa: E402

from evaluate.effect import TIDY_COLUMNS  # noqa: E402
from evaluate.errors import DataError, DesignError, SpecError  # noqa: E402
from evaluate.estimators.series.forecast_models import model_forecast  # noqa: E402


def _monthly(seed=0, n=72, start=60, effect=-6.0, season=3.0):
    rng = np.random.default_rng(seed)
    months = pd.period_range("2015-01", periods=n, freq="M")
    t = np.arange(n)
    y = 100 + 0.4 * t + season * np.sin(2 * np.pi * months.month / 12) + rng.normal(0, 1, n)
    y = y + effect * (t >= start)
    return pd.DataFrame({"month": months, "y": y}), months[start]


def _rw(seed, n=84, start=72, effect=-3.0):
    rng = np.random.default_rng(seed)
    y = 50 + np.cumsum(0.3 + rng.normal(0, 1, n)) + effect * (np.arange(n) >= start)
    return pd.DataFrame({"t": np.arange(n), "y": y})


# --- against statsmodels ---------------------------------------------------------------
def test_ets_forecast_matches_statsmodels():
    # Independent fit with statsmodels ETSModel on the pre-period; tolerance 1e-8.
    frame, start = _monthly(seed=1)
    fit = model_forecast(
        frame, outcome="y", time="month", start=start, model="ets", trend="add",
        seasonal="add", backtest=0, seed=1,
    )  # fmt: skip
    pre = frame["y"].iloc[:60].reset_index(drop=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = ETSModel(pre, error="add", trend="add", seasonal="add", seasonal_periods=12).fit(
            disp=False
        )
    pred = res.get_prediction(start=60, end=71).summary_frame(alpha=0.05)
    post = frame["y"].iloc[60:].to_numpy()
    np.testing.assert_allclose(fit.periods["estimate"], post - pred["mean"], rtol=1e-8)
    np.testing.assert_allclose(fit.periods["ci_low"], post - pred["pi_upper"], rtol=1e-8)
    assert fit.estimate == pytest.approx(np.mean(post - pred["mean"]), rel=1e-10)


@pytest.mark.parametrize(
    ("order", "seasonal_order", "trend"),
    [((1, 0, 0), (0, 0, 0, 0), "c"), ((0, 1, 1), (0, 1, 1, 12), "n")],
)
def test_sarimax_forecast_and_average_se(order, seasonal_order, trend):
    # Per-period forecasts and intervals: statsmodels SARIMAX.get_forecast (1e-8).  The
    # SE of the average forecast error (state-space formula) against 3,000 simulated
    # paths of the same fitted model: Monte Carlo error of an SD ~1.3 %, so a 5 %
    # tolerance.
    frame, start = _monthly(seed=2)
    fit = model_forecast(
        frame, outcome="y", time="month", start=start, model="sarimax", order=order,
        seasonal_order=seasonal_order, trend=trend, backtest=0,
    )  # fmt: skip
    pre = frame["y"].iloc[:60].reset_index(drop=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = SARIMAX(pre, order=order, seasonal_order=seasonal_order, trend=trend).fit(disp=False)
    fc = res.get_forecast(12).summary_frame(alpha=0.05)
    post = frame["y"].iloc[60:].to_numpy()
    np.testing.assert_allclose(fit.periods["estimate"], post - fc["mean"], rtol=1e-8)
    np.testing.assert_allclose(fit.periods["std_error"], fc["mean_se"], rtol=1e-8)
    paths = np.asarray(
        res.simulate(12, anchor="end", repetitions=3_000, rng=np.random.default_rng(0))
    ).reshape(12, -1)
    assert fit.std_error == pytest.approx(paths.mean(axis=0).std(), rel=0.05)


# --- back-test ----------------------------------------------------------------------------
def test_backtest_table_and_flag():
    frame, start = _monthly(seed=3)
    good = model_forecast(
        frame, outcome="y", time="month", start=start, seasonal="add", backtest=12, seed=3
    )
    assert len(good.backtest) == 12 and good.backtest["period"].iloc[-1] == "2019-12"
    assert "back-test" in " ".join(good.diagnostics)
    # A shift inside the held-out pre-periods: the placebo in time must flag it.
    shifted = frame.copy()
    shifted.loc[50:59, "y"] += 8.0
    bad = model_forecast(
        shifted, outcome="y", time="month", start=start, seasonal="add", backtest=12, seed=3
    )
    diag = bad.diagnostics["back-test (placebo in time)"]
    assert diag.passed is False and diag.p_value < 0.05
    assert bad.backtest["error"].iloc[-5:].mean() > 4


# --- known truth ----------------------------------------------------------------------------
def test_known_truth_random_walk():
    # Random walk with drift and an effect of -3 from t = 72: ETS(A,A,N) recovers it.
    # The intervals ignore parameter uncertainty: 93 % coverage in 100 draws; here 40
    # draws (binomial sd 3.5 % at 0.93), so the band is 0.8-1.
    hits, estimates = [], []
    for seed in range(40):
        fit = model_forecast(_rw(seed), outcome="y", time="t", start=72, backtest=0, seed=seed)
        low, high = fit.ci
        hits.append(low <= -3.0 <= high)
        estimates.append(fit.estimate)
    assert np.mean(estimates) == pytest.approx(-3.0, abs=0.6)
    assert np.mean(hits) >= 0.8


@pytest.mark.slow
def test_known_truth_coverage_heavy():
    hits = []
    for seed in range(400):
        fit = model_forecast(_rw(5000 + seed), outcome="y", time="t", start=72, backtest=0,
                             seed=seed)  # fmt: skip
        low, high = fit.ci
        hits.append(low <= -3.0 <= high)
    assert 0.88 <= np.mean(hits) <= 0.98


# --- bad input ---------------------------------------------------------------------------------
def test_bad_input():
    frame, start = _monthly()
    with pytest.raises(SpecError, match="model"):
        model_forecast(frame, outcome="y", time="month", start=start, model="prophet")
    with pytest.raises(SpecError, match="trend"):
        model_forecast(frame, outcome="y", time="month", start=start, trend="mul")
    with pytest.raises(SpecError, match="order"):
        model_forecast(frame, outcome="y", time="month", start=start, model="sarimax",
                       order=(1, 1))  # fmt: skip
    with pytest.raises(SpecError, match="backtest"):
        model_forecast(frame, outcome="y", time="month", start=start, backtest=-1)
    with pytest.raises(DesignError, match="backtest"):
        model_forecast(frame, outcome="y", time="month", start=start, seasonal="add",
                       backtest=40)  # fmt: skip
    with pytest.raises(DesignError, match="too few"):
        model_forecast(frame, outcome="y", time="month", start="2015-05")
    with pytest.raises(DataError, match="skips periods"):
        model_forecast(frame.drop(index=10), outcome="y", time="month", start=start)
    with pytest.raises(DataError, match="constant"):
        model_forecast(frame.assign(y=5.0), outcome="y", time="month", start=start)
    with pytest.raises(DataError, match="Missing"):
        model_forecast(frame.assign(y=frame["y"].where(frame.index != 3)), outcome="y",
                       time="month", start=start)  # fmt: skip
    before = frame.copy()
    model_forecast(frame, outcome="y", time="month", start=start, backtest=0, seed=1)
    pd.testing.assert_frame_equal(frame, before)


# --- contract -----------------------------------------------------------------------------------
@pytest.mark.parametrize("model", ["ets", "sarimax"])
def test_result_contract(model):
    frame, start = _monthly(seed=4)
    fit = model_forecast(frame, outcome="y", time="month", start=start, model=model,
                         order=(1, 1, 0), seed=4)  # fmt: skip
    for fmt in ("text", "markdown", "html"):
        assert "Back-test" in fit.summary(fmt)
    assert "<table" in fit._repr_html_()
    out = fit.to_frame()
    assert list(out.columns) == TIDY_COLUMNS and len(out) == 2
    assert out.loc[1, "estimate"] == pytest.approx(12 * fit.estimate)
    assert {"period", "estimate", "std_error", "ci_low", "ci_high"} <= set(fit.periods.columns)
    ax = fit.plot()
    assert ax.has_data()
    _, ax2 = plt.subplots()
    assert fit.plot(ax=ax2) is ax2
    plt.close("all")
