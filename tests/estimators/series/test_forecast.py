"""Pre-period trend forecast: against statsmodels, known truth, coverage, bad input."""

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm

from evaluate import DataError, DesignError, DroppedRowsWarning, SpecError
from evaluate.estimators.series.forecast import trend_forecast
from evaluate.simulate import monthly_counts


def _series(seed=0, n=48, start=30, effect=-10.0, noise=2.0):
    rng = np.random.default_rng(seed)
    months = pd.period_range("2016-01", periods=n, freq="M")
    t = np.arange(n)
    y = 100 + 0.5 * t + 3 * np.sin(2 * np.pi * months.month / 12) + effect * (t >= start)
    return pd.DataFrame({"month": months, "y": y + rng.normal(0, noise, n)}), months[start]


@pytest.mark.parametrize("seasonality", [None, "month"])
def test_matches_statsmodels_prediction(seasonality):
    # Independent computation with statsmodels OLS.get_prediction: per-period
    # prediction intervals (obs_ci) and the mean prediction's SE; tolerance 1e-8.
    frame, start = _series(seed=1)
    fit = trend_forecast(
        frame, outcome="y", time="month", start=start, seasonality=seasonality, errors="iid"
    )
    pre = frame["month"] < start
    t = np.arange(len(frame)) - 30.0
    X = pd.DataFrame({"const": 1.0, "t": t})
    if seasonality:
        X = X.join(
            pd.get_dummies(frame["month"].dt.month, prefix="m", drop_first=True, dtype=float)
        )
    ols = sm.OLS(frame.loc[pre, "y"].to_numpy(), X[pre].to_numpy()).fit()
    pred = ols.get_prediction(X[~pre].to_numpy()).summary_frame(alpha=0.05)
    y_post = frame.loc[~pre, "y"].to_numpy()
    periods = fit.by_period
    np.testing.assert_allclose(periods["estimate"], y_post - pred["mean"], rtol=1e-8)
    np.testing.assert_allclose(periods["ci_low"], y_post - pred["obs_ci_upper"], rtol=1e-8)
    np.testing.assert_allclose(periods["ci_high"], y_post - pred["obs_ci_lower"], rtol=1e-8)
    mean_pred = ols.get_prediction(X[~pre].to_numpy().mean(axis=0, keepdims=True))
    se = np.sqrt(mean_pred.se_mean[0] ** 2 + ols.scale / (~pre).sum())
    assert fit.std_error == pytest.approx(se, rel=1e-8)
    assert fit.distribution.df == ols.df_resid
    assert fit.estimate == pytest.approx(np.mean(y_post - pred["mean"]), rel=1e-10)


@pytest.mark.parametrize("seasonality", [None, "month"])
def test_ar1_matches_statsmodels_gls_at_the_reml_rho(seasonality):
    # Independent computation: statsmodels GLS with the AR(1) correlation matrix at the
    # fitted rho, on the pre-period only (trend) and as the forecast x_t b + rho^h e_n;
    # the average effect's variance is the GLS prediction-error variance.  Tol 1e-8.
    frame, start = _series(seed=2, n=60, start=45)
    fit = trend_forecast(frame, outcome="y", time="month", start=start, seasonality=seasonality)
    rho = fit.ar1_rho
    pre = (frame["month"] < start).to_numpy()
    n, n_pre = len(frame), int(pre.sum())
    X = pd.DataFrame({"const": 1.0, "t": np.arange(n) - float(n_pre)})
    if seasonality:
        X = X.join(
            pd.get_dummies(frame["month"].dt.month, prefix="m", drop_first=True, dtype=float)
        )
    lags = np.abs(np.subtract.outer(np.arange(n), np.arange(n)))
    corr = rho**lags
    y = frame["y"].to_numpy()
    gls = sm.GLS(y[pre], X[pre].to_numpy(), sigma=corr[np.ix_(pre, pre)]).fit()
    np.testing.assert_allclose(fit.coefficients["estimate"], gls.params, rtol=1e-8)
    e_last = y[n_pre - 1] - X.to_numpy()[n_pre - 1] @ gls.params
    forecast = X.to_numpy()[~pre] @ gls.params + rho ** np.arange(1, n - n_pre + 1) * e_last
    np.testing.assert_allclose(fit.by_period["estimate"], y[~pre] - forecast, rtol=1e-8)
    # Var(mean of post errors - their forecast) + trend uncertainty, scale = REML sigma^2.
    cov = gls.scale * corr / (1 - rho**2) * (1 - rho**2)  # corr is Sigma / sigma_e^2
    h = np.arange(1, n - n_pre + 1)
    a = np.full(n - n_pre, 1.0 / (n - n_pre))
    c_post = cov[np.ix_(~pre, ~pre)] - np.outer(rho**h, rho**h) * cov[n_pre - 1, n_pre - 1]
    g = (X.to_numpy()[~pre] - np.outer(rho**h, X.to_numpy()[n_pre - 1])).T @ a
    var = a @ c_post @ a + g @ gls.cov_params() @ g
    assert fit.std_error == pytest.approx(np.sqrt(var), rel=1e-8)


def test_hand_computation_on_exact_line():
    # y = 10 + 2t before, +5 after start: residual-free fit gives the effect exactly.
    frame = pd.DataFrame(
        {"t": np.arange(10), "y": 10 + 2.0 * np.arange(10) + 5 * (np.arange(10) >= 6)}
    )
    frame.loc[0, "y"] += 0.1  # a little noise so the variance is positive
    fit = trend_forecast(frame, outcome="y", time="t", start=6)
    assert fit.estimate == pytest.approx(5.0, abs=0.2)
    assert fit.n_pre == 6 and fit.n_post == 4
    assert fit.cumulative.estimate == pytest.approx(4 * fit.estimate)


def test_recovers_known_effect_on_simulated_counts():
    frame = monthly_counts(seed=7, effect=-25.0, ramp_months=1)
    fit = trend_forecast(
        frame, outcome="recipients", time="month", start="2018-05", seasonality="month"
    )
    assert fit.ci[0] < -25.0 < fit.ci[1]
    assert fit.estimate == pytest.approx(-25.0, abs=3 * fit.std_error)


def _coverage(reps: int, seed: int) -> float:
    rng = np.random.default_rng(seed)
    n, start, tau = 36, 24, -4.0
    t = np.arange(n)
    hits = 0
    for _ in range(reps):
        y = 50 + 0.3 * t + tau * (t >= start) + rng.normal(0, 1.5, n)
        fit = trend_forecast(pd.DataFrame({"t": t, "y": y}), outcome="y", time="t", start=start)
        hits += fit.ci[0] <= tau <= fit.ci[1]
    return hits / reps


def test_coverage_of_95_interval():
    # 500 simulated series with a known effect: the 95 % interval must cover it in
    # 93-97 % of them (binomial sd at 500 reps is ~1 pp).
    assert 0.93 <= _coverage(500, seed=2026) <= 0.97


@pytest.mark.slow
def test_coverage_of_95_interval_heavy():
    assert 0.94 <= _coverage(5000, seed=11) <= 0.96


def test_does_not_mutate_and_drops_missing_with_count():
    frame, start = _series(seed=3)
    frame.loc[5, "y"] = np.nan
    before = frame.copy()
    with pytest.raises(DataError, match="Missing values"):
        trend_forecast(frame, outcome="y", time="month", start=start)
    with pytest.warns(DroppedRowsWarning, match="Dropped 1"):
        fit = trend_forecast(frame, outcome="y", time="month", start=start, drop_missing=True)
    assert fit.provenance.n_dropped == 1 and fit.provenance.n_rows == len(frame) - 1
    pd.testing.assert_frame_equal(frame, before)


def test_bad_input_errors():
    frame, start = _series(seed=4)
    with pytest.raises(DataError, match="'outcome_x'"):
        trend_forecast(frame, outcome="outcome_x", time="month", start=start)
    text = frame.assign(y=frame["y"].astype(str))
    with pytest.raises(DataError, match="numeric"):
        trend_forecast(text, outcome="y", time="month", start=start)
    with pytest.raises(DesignError, match="start"):
        trend_forecast(frame, outcome="y", time="month", start="2030-01")
    with pytest.raises(DesignError, match="start"):
        trend_forecast(frame, outcome="y", time="month", start="2016-01")
    with pytest.raises(DesignError, match="pre-period"):
        trend_forecast(frame, outcome="y", time="month", start="2016-03")
    with pytest.raises(DataError, match="share the same"):
        trend_forecast(pd.concat([frame, frame.iloc[:1]]), outcome="y", time="month", start=start)
    with pytest.raises(SpecError, match="trend"):
        trend_forecast(frame, outcome="y", time="month", start=start, trend="cubic")
    with pytest.raises(DataError, match="DataFrame"):
        trend_forecast([1, 2], outcome="y", time="month", start=start)


def test_string_and_datetime_time_columns_agree():
    frame, start = _series(seed=5)
    as_str = frame.assign(month=frame["month"].astype(str))
    as_dt = frame.assign(month=frame["month"].dt.to_timestamp())
    a = trend_forecast(frame, outcome="y", time="month", start=start)
    b = trend_forecast(as_str, outcome="y", time="month", start=str(start))
    c = trend_forecast(as_dt, outcome="y", time="month", start=str(start))
    assert a.estimate == pytest.approx(b.estimate) == pytest.approx(c.estimate)


def test_autocorrelation_diagnostic_flags_ar_errors():
    rng = np.random.default_rng(0)
    e = np.zeros(60)
    for i in range(1, 60):
        e[i] = 0.9 * e[i - 1] + rng.normal()
    frame = pd.DataFrame({"t": np.arange(60), "y": 10 + e})
    iid = trend_forecast(frame, outcome="y", time="t", start=48, errors="iid")
    assert iid.diagnostics["residual autocorrelation"].passed is False
    assert "use errors='ar1'" in iid.diagnostics["residual autocorrelation"].note
    # The default models the AR(1): its innovations are white, rho is near 0.9, and the
    # interval is wider than the iid one.
    fit = trend_forecast(frame, outcome="y", time="t", start=48)
    assert fit.diagnostics["residual autocorrelation"].passed is True
    assert 0.6 < fit.ar1_rho < 0.99
    assert fit.ci[1] - fit.ci[0] > iid.ci[1] - iid.ci[0]
