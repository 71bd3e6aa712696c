"""Pre-period trend forecast: the counterfactual is the pre-intervention trend, projected.

Fit ``y_t = a + b t (+ c t^2) (+ season_t) + e_t`` by least squares on the periods
before ``start``; project it over the periods from ``start`` on.  With
``X_post`` the design rows of the post-period, ``V = s^2 (X'X)^{-1}`` and ``m``
post periods, the effect in period t is ``y_t - x_t b_hat`` and the average effect

    tau_hat = mean_t (y_t - x_t b_hat),   Var(tau_hat) = s^2 / m + w' X_post V X_post' w

with ``w = 1/m``: the post-period noise plus the uncertainty of the projected
trend.  Under iid normal errors ``(tau_hat - tau) / se`` is exactly t with
``n_pre - k`` df, so the interval covers the average effect ``tau`` at its
nominal rate.  Per-period intervals are the matching prediction intervals.
Autocorrelated errors make these intervals too narrow; the Ljung-Box diagnostic
says when that is a risk (Newey-West inference belongs to the interrupted
time-series design).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pandas as pd
from scipy import stats

from evaluate.data.series import prepare_series, time_positions
from evaluate.effect import Diagnostic, EffectResult, NotApplicable, Provenance, hash_frame
from evaluate.errors import DesignError, SpecError
from evaluate.inference.distributions import StudentT

if TYPE_CHECKING:
    from matplotlib.axes import Axes

Trend = Literal["linear", "quadratic", "none"]
Seasonality = Literal["month", "quarter"] | None


@dataclass(frozen=True)
class ForecastSpec:
    outcome: str
    time: str
    start: Any
    end: Any
    trend: Trend
    seasonality: Seasonality
    alpha: float


@dataclass(frozen=True, kw_only=True, eq=False)
class TrendForecastResult(EffectResult):
    """Average post-period effect against the projected pre-period trend.

    ``series`` holds every period: ``time, observed, counterfactual, cf_low, cf_high``
    (the prediction band, post-period only), ``effect`` and ``post``.
    """

    series: pd.DataFrame
    start: Any
    n_pre: int
    n_post: int
    coefficients: pd.DataFrame

    @property
    def cumulative(self) -> StudentT:
        """The summed effect over the post-period (e.g. person-months)."""
        return self.distribution.scaled(self.n_post)

    @property
    def counterfactual_mean(self) -> float:
        post = self.series[self.series["post"]]
        return float(post["counterfactual"].mean())

    def _extra_terms(self) -> list[dict[str, Any]]:
        cum = self.cumulative
        c_low, c_high = cum.interval(self.alpha)
        cf = self.counterfactual_mean
        low, high = self.ci
        cum_unit = {"persons": "person-periods", "full-time persons": "person-periods"}.get(
            self.unit, self.unit
        )
        return [
            {
                "term": f"{self.name}: cumulative over {self.n_post} periods",
                "estimate": cum.estimate,
                "std_error": cum.std_error,
                "ci_low": c_low,
                "ci_high": c_high,
                "p_value": self.p_value,
                "unit": cum_unit,
            },
            {
                # Bounds divided by the projected mean: they ignore the (smaller)
                # uncertainty of the denominator and are labelled approximate.
                "term": f"{self.name}: relative to counterfactual (approx. CI)",
                "estimate": self.estimate / cf,
                "std_error": self.std_error / abs(cf),
                "ci_low": low / cf,
                "ci_high": high / cf,
                "p_value": self.p_value,
                "unit": "share",
            },
        ]

    def _summary_tables(self) -> list[tuple[str, pd.DataFrame]]:
        tables = super()._summary_tables()
        tables.append(("Pre-period model", self.coefficients))
        return tables

    def plot(self, ax: Axes | None = None) -> Axes:
        """Observed series against the projected trend with its prediction band."""
        from evaluate.plotting import plot_counterfactual

        return plot_counterfactual(
            self.series,
            start=self.start,
            title=self.name,
            ylabel=self.unit,
            band_label=f"{1 - self.alpha:.0%} prediction interval",
            ax=ax,
        )


def _design(t: np.ndarray, time: pd.Series, trend: Trend, seasonality: Seasonality, t0: float):
    columns = {"intercept": np.ones_like(t)}
    if trend in ("linear", "quadratic"):
        columns["trend"] = t - t0
    if trend == "quadratic":
        columns["trend^2"] = (t - t0) ** 2
    if seasonality is not None:
        if not isinstance(time.dtype, pd.PeriodDtype):
            raise SpecError("seasonality needs a period or date time column, not integers.")
        season = time.dt.month if seasonality == "month" else time.dt.quarter
        levels = range(2, 13) if seasonality == "month" else range(2, 5)
        for level in levels:
            columns[f"{seasonality}={level}"] = (season.to_numpy() == level).astype(float)
    return pd.DataFrame(columns, index=time.index)


def trend_forecast(
    data: pd.DataFrame,
    *,
    outcome: str,
    time: str,
    start: Any,
    end: Any = None,
    trend: Trend = "linear",
    seasonality: Seasonality = None,
    unit: str = "persons",
    population: str = "not stated",
    name: str | None = None,
    source: str = "",
    simulated: bool = False,
    drop_missing: bool = False,
    alpha: float = 0.05,
) -> TrendForecastResult:
    """Effect against the pre-period trend projected past ``start``.

    Parameters
    ----------
    data : one row per period.
    outcome, time : column names.  ``time`` holds periods, dates (read as months)
        or integers.
    start : first period of the intervention; ``end`` (optional) the last one used.
    trend : "linear" (default), "quadratic" or "none" (the pre-period mean).
    seasonality : None, "month" or "quarter" dummies.
    unit, population, name, source, simulated : descriptions carried to the report.
    drop_missing : drop (and count) rows with a missing outcome instead of failing.
    alpha : 1 - confidence level.

    Examples
    --------
    >>> import pandas as pd, numpy as np
    >>> months = pd.period_range("2016-01", periods=48, freq="M")
    >>> y = 100 + 0.5 * np.arange(48) - 10 * (months >= pd.Period("2019-01", "M"))
    >>> frame = pd.DataFrame({"month": months, "recipients": y + np.sin(np.arange(48))})
    >>> fit = trend_forecast(frame, outcome="recipients", time="month", start="2019-01")
    >>> round(fit.estimate)
    -10
    """
    if trend not in ("linear", "quadratic", "none"):
        raise SpecError(f"trend must be 'linear', 'quadratic' or 'none', got {trend!r}.")
    if seasonality not in (None, "month", "quarter"):
        raise SpecError(f"seasonality must be None, 'month' or 'quarter', got {seasonality!r}.")
    if not 0 < alpha < 1:
        raise SpecError(f"alpha must lie strictly between 0 and 1, got {alpha!r}.")
    series = prepare_series(
        data, time=time, columns=[outcome], start=start, end=end, drop_missing=drop_missing
    )
    frame, times, start_p, end_p = series.frame, series.times, series.start, series.end
    n_dropped = series.n_dropped
    y_all = frame[outcome].to_numpy(dtype=float)
    post = (times >= start_p).to_numpy()
    t = time_positions(times)
    t0 = time_positions(pd.Series([start_p]))[0]
    X = _design(t, times, trend, seasonality, t0)
    X_pre, X_post = X.to_numpy()[~post], X.to_numpy()[post]
    n_pre, k = X_pre.shape
    if n_pre < k + 2:
        raise DesignError(
            f"{n_pre} pre-period rows cannot fit a {trend} trend"
            f"{' with ' + seasonality + ' seasonality' if seasonality else ''} ({k} parameters) "
            f"and estimate its noise; give at least {k + 2} periods before {start_p}."
        )
    if np.linalg.matrix_rank(X_pre) < k:
        raise DesignError(
            "The pre-period does not identify the model (e.g. a season never seen before "
            "the start); use fewer seasonal terms or a longer pre-period."
        )
    y_pre, y_post = y_all[~post], y_all[post]
    beta, *_ = np.linalg.lstsq(X_pre, y_pre, rcond=None)
    resid = y_pre - X_pre @ beta
    df = n_pre - k
    s2 = float(resid @ resid) / df
    xtx_inv = np.linalg.inv(X_pre.T @ X_pre)
    cov = s2 * xtx_inv
    fitted = X.to_numpy() @ beta
    effect = y_all - fitted
    m = int(post.sum())
    pred_var = np.einsum("ij,jk,ik->i", X_post, cov, X_post) + s2
    q = stats.t.ppf(1 - alpha / 2, df)
    cf_low = np.full(len(t), np.nan)
    cf_high = np.full(len(t), np.nan)
    cf_low[post] = fitted[post] - q * np.sqrt(pred_var)
    cf_high[post] = fitted[post] + q * np.sqrt(pred_var)
    w = np.full(m, 1.0 / m)
    avg = float(np.mean(y_post - fitted[post]))
    se = math.sqrt(s2 / m + float(w @ X_post @ cov @ X_post.T @ w))
    series = pd.DataFrame(
        {
            "time": times.to_numpy(),
            "observed": y_all,
            "counterfactual": fitted,
            "cf_low": cf_low,
            "cf_high": cf_high,
            "effect": effect,
            "post": post,
        }
    )
    if isinstance(times.dtype, pd.PeriodDtype):
        series["time"] = pd.PeriodIndex(times)
    periods = pd.DataFrame(
        {
            "period": series.loc[post, "time"].astype(str).to_numpy(),
            "estimate": effect[post],
            "std_error": np.sqrt(pred_var),
            "ci_low": y_post - cf_high[post],
            "ci_high": y_post - cf_low[post],
        }
    )
    se_beta = np.sqrt(np.diag(cov))
    coefficients = pd.DataFrame(
        {"estimate": beta, "std_error": se_beta}, index=pd.Index(X.columns, name="term")
    )
    spec = ForecastSpec(
        outcome,
        time,
        str(start_p),
        None if end_p is None else str(end_p),
        trend,
        seasonality,
        alpha,
    )
    return TrendForecastResult(
        name=name or outcome,
        estimand=f"average effect per period on {outcome} from {start_p} on, against the "
        "projected pre-period trend",
        distribution=StudentT(avg, se, df),
        method=f"Pre-period {trend} trend forecast"
        + (f" with {seasonality} seasonality" if seasonality else ""),
        inference=f"OLS prediction error with iid errors, t({df})",
        unit=unit,
        population=population,
        alpha=alpha,
        periods=periods,
        diagnostics=_diagnostics(resid, y_pre, df),
        provenance=Provenance(
            spec=spec.__dict__,
            data_hash=hash_frame(frame),
            n_rows=len(frame),
            n_dropped=n_dropped,
            source=source,
            simulated=simulated,
        ),
        notes=("The series is SIMULATED, not observed data.",) if simulated else (),
        series=series,
        start=start_p,
        n_pre=n_pre,
        n_post=m,
        coefficients=coefficients,
    )


def _diagnostics(resid: np.ndarray, y_pre: np.ndarray, df: int) -> dict[str, Any]:
    sst = float(np.sum((y_pre - y_pre.mean()) ** 2))
    r2 = 1 - float(resid @ resid) / sst if sst > 0 else math.nan
    rmse = math.sqrt(float(resid @ resid) / len(resid))
    diagnostics: dict[str, Diagnostic | NotApplicable] = {
        "pre-period fit": Diagnostic("pre-period R²", r2, note=f"RMSE {rmse:.4g}"),
    }
    lags = min(12, len(resid) // 4)
    if lags < 1 or df < 3:
        diagnostics["residual autocorrelation"] = NotApplicable(
            f"too few pre-period residuals ({len(resid)}) for a Ljung-Box test"
        )
    else:
        from statsmodels.stats.diagnostic import acorr_ljungbox

        test = acorr_ljungbox(resid, lags=[lags])
        p = float(test["lb_pvalue"].iloc[0])
        diagnostics["residual autocorrelation"] = Diagnostic(
            f"Ljung-Box Q({lags})",
            float(test["lb_stat"].iloc[0]),
            p_value=p,
            passed=p >= 0.05,
            note="no evidence of autocorrelation"
            if p >= 0.05
            else "autocorrelated residuals: intervals may be too narrow",
        )
    return diagnostics
