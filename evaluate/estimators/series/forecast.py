"""Pre-period trend forecast: the counterfactual is the pre-intervention trend, projected.

The model is ``y_t = a + b t (+ c t^2) (+ season_t) + delta_t P_t + e_t`` over the
whole series, with one free effect ``delta_t`` for every period from ``start`` on
(``P_t`` its indicator): the post-period then says nothing about the trend, which
is fitted on the periods before ``start`` and projected, and each ``delta_t`` is
the observed value minus the forecast.  The headline is the average effect
``tau = mean_t delta_t`` (the cumulative one is ``m tau`` over ``m`` post periods).

Errors.  Monthly administrative series are autocorrelated: a month above the trend
is followed by another.  By default (``errors="ar1"``) the errors are a stationary
AR(1), ``e_t = rho e_(t-1) + u_t``, fitted by feasible GLS with ``rho`` by REML and
Satterthwaite degrees of freedom for every contrast, the machinery of the
interrupted time series (:class:`evaluate.inference.serial.AR1Fit`).  The forecast
then carries the last pre-period deviation forward, fading as ``rho^h``, and the
variance of the average effect counts the correlation of the post-period errors
with one another and with the fitted trend.  Known-truth simulations (48 pre and
12 post months, AR(1) errors, ``benchmarks/results/coverage.md``): the iid interval
covered 74-78 % of the true average effect at phi 0.5 and 61 % at phi 0.7; the
AR(1) interval covers close to 95 % at phi 0, 0.3, 0.5 and 0.7.

``errors="iid"`` is the classical forecast: least squares on the pre-period,
``Var(tau_hat) = s^2 / m + w' X_post V X_post' w`` (``w = 1/m``), exact t with
``n_pre - k`` df under iid normal errors (equal to statsmodels ``get_prediction``).

A Ljung-Box test on the pre-period residuals (for AR(1): on its innovations) is
reported as a diagnostic; it never switches the method, since it misses
autocorrelation in short series as often as not.

Treatments that end.  With ``end`` (the intervention's last period) the headline
averages the periods ``start``-``end`` and the result's ``persistence`` is the
average effect after ``end`` as a share of it, with a delta-method interval over
the same per-period effects (:mod:`evaluate.estimators.series._persistence`);
``effect_shares`` turns it into a fitted decay by year for a business case.
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
from evaluate.estimators._renamed import renamed_options
from evaluate.estimators.series._persistence import (
    EndsMixin,
    Persistence,
    intervention_end,
    ratio,
)
from evaluate.inference.distributions import DF_FLOOR, StudentT
from evaluate.inference.serial import prais_winsten, whiten
from evaluate.text import Num, Pct, Text, Unit
from evaluate.text import Period as TextPeriod

_AUTOCORRELATION = Text("diag.autocorrelation_name", "residual autocorrelation")

if TYPE_CHECKING:
    from matplotlib.axes import Axes

Trend = Literal["linear", "quadratic", "none"]
Seasonality = Literal["month", "quarter"] | None
Errors = Literal["ar1", "iid"]


@dataclass(frozen=True)
class ForecastSpec:
    outcome: str
    time: str
    start: Any
    end: Any
    trend: Trend
    seasonality: Seasonality
    errors: Errors
    alpha: float


@dataclass(frozen=True, kw_only=True, eq=False)
class TrendForecastResult(EndsMixin, EffectResult):
    """Average post-period effect against the projected pre-period trend.

    ``series`` holds every period: ``time, observed, counterfactual, cf_low, cf_high``
    (the prediction band, post-period only), ``effect``, ``post`` and ``window`` (the
    periods of the headline: ``start`` to ``end``, or every post period).  With an
    ``end``, ``n_post`` counts the window's periods and ``persistence`` says how much
    of the effect remained after the end.
    """

    series: pd.DataFrame
    start: Any
    n_pre: int
    n_post: int
    coefficients: pd.DataFrame
    ar1_rho: float | None = None
    end: Any = None
    persistence: Persistence | None = None


    @property
    def cumulative(self) -> StudentT:
        """The summed effect over the post-period (e.g. person-months)."""
        return self.distribution.scaled(self.n_post)

    @property
    def counterfactual_mean(self) -> float:
        window = self.series[self.series["window"]]
        return float(window["counterfactual"].mean())

    def _extra_terms(self) -> list[dict[str, Any]]:
        cum = self.cumulative
        c_low, c_high = cum.interval(self.alpha)
        cf = self.counterfactual_mean
        low, high = self.ci
        cum_unit = {"persons": "person-periods", "full-time persons": "person-periods"}.get(
            self.unit, self.unit
        )
        rows = [
            {
                "term": Text(
                    "term.cumulative",
                    "{name}: cumulative over {n} periods",
                    name=self.name,
                    n=self.n_post,
                ),
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
                "term": Text(
                    "term.relative_approx",
                    "{name}: relative to counterfactual (approx. CI)",
                    name=self.name,
                ),
                "estimate": self.estimate / cf,
                "std_error": self.std_error / abs(cf),
                "ci_low": low / cf,
                "ci_high": high / cf,
                "p_value": self.p_value,
                "unit": "share",
            },
        ]
        if self.persistence is not None:
            rows += self.persistence.rows(self.name, self.unit)
        return rows

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
            ylabel=Unit(self.unit),
            band_label=Text("plot.band", "{level} prediction interval", level=Pct(1 - self.alpha)),
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


@renamed_options("unit")
def trend_forecast(
    data: pd.DataFrame,
    *,
    outcome: str,
    time: str,
    start: Any,
    end: Any = None,
    trend: Trend = "linear",
    seasonality: Seasonality = None,
    errors: Errors = "ar1",
    outcome_unit: str = "persons",
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
    start : first period of the intervention.
    end : last period of the intervention, when it ended (optional): the headline
        averages ``start``-``end`` and the result reports the persistence of the
        effect after it.
    trend : "linear" (default), "quadratic" or "none" (the pre-period mean).
    seasonality : None, "month" or "quarter" dummies.
    errors : "ar1" (default: AR(1) errors, feasible GLS with ``rho`` by REML and
        Satterthwaite df) or "iid" (the classical least-squares forecast).
    outcome_unit, population, name, source, simulated : descriptions carried to the report.
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
    if errors not in ("ar1", "iid"):
        raise SpecError(f"errors must be 'ar1' or 'iid', got {errors!r}.")
    if not 0 < alpha < 1:
        raise SpecError(f"alpha must lie strictly between 0 and 1, got {alpha!r}.")
    series = prepare_series(data, time=time, columns=[outcome], start=start,
                            drop_missing=drop_missing)  # fmt: skip
    frame, times, start_p = series.frame, series.times, series.start
    end_p, after = intervention_end(times, start_p, end, time)
    n_dropped = series.n_dropped
    y_all = frame[outcome].to_numpy(dtype=float)
    post = (times >= start_p).to_numpy()
    t = time_positions(times)
    t0 = time_positions(pd.Series([start_p]))[0]
    X = _design(t, times, trend, seasonality, t0)
    X_pre = X.to_numpy()[~post]
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
    if errors == "ar1" and n_pre < k + 4:
        raise DesignError(
            f"{n_pre} pre-period rows are too few to estimate AR(1) errors besides {k} "
            f"trend and season parameters; give at least {k + 4} periods before {start_p} "
            "or use errors='iid'."
        )
    fit = _fit(X.to_numpy(), y_all, post, errors)
    window = post if after is None else post & ~after
    during = window[post]  # which post periods the headline averages
    m = int(during.sum())
    beta, delta = fit.coef[:k], fit.coef[k:]
    fitted = X.to_numpy() @ beta
    fitted[post] = y_all[post] - delta  # the forecast, with the AR(1) carry-over
    effect = y_all - fitted
    w = np.concatenate([np.zeros(k), np.where(during, 1.0 / m, 0.0)])
    contrasts = np.vstack([w, np.eye(k + len(during))[k:]])
    ses = np.sqrt(np.einsum("ij,jk,ik->i", contrasts, fit.vcov, contrasts))
    raw_df = fit.df(contrasts)
    dfs = np.maximum(raw_df, DF_FLOOR)
    avg, se, df = float(delta[during].mean()), float(ses[0]), float(dfs[0])
    q = stats.t.ppf(1 - alpha / 2, dfs[1:])
    cf_low = np.full(len(t), np.nan)
    cf_high = np.full(len(t), np.nan)
    cf_low[post] = fitted[post] - q * ses[1:]
    cf_high[post] = fitted[post] + q * ses[1:]
    y_post = y_all[post]
    series = pd.DataFrame(
        {
            "time": times.to_numpy(),
            "observed": y_all,
            "counterfactual": fitted,
            "cf_low": cf_low,
            "cf_high": cf_high,
            "effect": effect,
            "post": post,
            "window": window,
        }
    )
    if isinstance(times.dtype, pd.PeriodDtype):
        series["time"] = pd.PeriodIndex(times)
    persistence = None
    if after is not None:
        series["after"] = after
        w_after = np.concatenate([np.zeros(k), np.where(~during, 1.0 / (~during).sum(), 0.0)])

        def make(est: float, se_: float, c: np.ndarray) -> StudentT:
            return StudentT(est, se_, float(np.maximum(fit.df(c), DF_FLOOR)[0]))

        dists = ratio(float(delta[~during].mean()), avg, w_after, w, fit.vcov, make)
        persistence = Persistence(end_p, *dists, m, int((~during).sum()), alpha)
    periods = pd.DataFrame(
        {
            "period": series.loc[post, "time"].astype(str).to_numpy(),
            "estimate": effect[post],
            "std_error": ses[1:],
            "ci_low": y_post - cf_high[post],
            "ci_high": y_post - cf_low[post],
        }
    )
    coefficients = pd.DataFrame(
        {"estimate": beta, "std_error": np.sqrt(np.diag(fit.vcov)[:k])},
        index=pd.Index(X.columns, name="term"),
    )
    spec = ForecastSpec(
        outcome,
        time,
        str(start_p),
        None if end_p is None else str(end_p),
        trend,
        seasonality,
        errors,
        alpha,
    )
    return TrendForecastResult(
        name=name or outcome,
        estimand=Text(
            "forecast.estimand",
            "average effect per period on {outcome} from {start} on, against the "
            "projected pre-period trend",
            outcome=outcome,
            start=TextPeriod(start_p),
        )
        if end_p is None
        else Text(
            "forecast.estimand_end",
            "average effect per period on {outcome} from {start} to {end} (the "
            "intervention), against the projected pre-period trend",
            outcome=outcome,
            start=TextPeriod(start_p),
            end=TextPeriod(end_p),
        ),
        distribution=StudentT(avg, se, df),
        method=Text(
            f"forecast.method_{trend}" + (f"_{seasonality}" if seasonality else ""),
            f"Pre-period {trend} trend forecast"
            + (f" with {seasonality} seasonality" if seasonality else ""),
        ),
        inference=_inference_label(fit.rho, df, n_pre),
        unit=outcome_unit,
        population=population,
        alpha=alpha,
        periods=periods,
        diagnostics=_diagnostics(fit.innovations, y_all[~post], fit.rho, int(n_pre - k)),
        provenance=Provenance(
            spec=spec.__dict__,
            data_hash=hash_frame(frame),
            n_rows=len(frame),
            n_dropped=n_dropped,
            source=source,
            simulated=simulated,
        ),
        notes=_notes(bool(np.any(raw_df < DF_FLOOR)), simulated, persistence),
        series=series,
        start=start_p,
        n_pre=n_pre,
        n_post=m,
        coefficients=coefficients,
        ar1_rho=fit.rho,
        end=end_p,
        persistence=persistence,
    )


@dataclass(frozen=True, eq=False)
class _SaturatedFit:
    """Trend and per-period effects (``coef``), their covariance and df, the
    pre-period innovations, ``rho`` (None for iid errors)."""

    coef: np.ndarray
    vcov: np.ndarray
    df: Any  # contrasts (q, p) -> df (q,)
    innovations: np.ndarray
    rho: float | None


def _fit(X: np.ndarray, y: np.ndarray, post: np.ndarray, errors: str) -> _SaturatedFit:
    """Regress ``y`` on the trend design and one indicator per post period."""
    n = len(y)
    z = np.column_stack([X, np.eye(n)[:, post]])
    if errors == "ar1":
        ar1 = prais_winsten(z, y)
        resid = whiten(y - z @ ar1.beta, ar1.rho)
        return _SaturatedFit(ar1.beta, ar1.vcov, ar1.df, resid[~post], ar1.rho)
    zinv = np.linalg.inv(z.T @ z)
    coef = zinv @ (z.T @ y)
    resid = (y - z @ coef)[~post]
    df = int((~post).sum()) - X.shape[1]
    vcov = zinv * float(resid @ resid) / df
    return _SaturatedFit(
        coef, vcov, lambda c: np.full(len(np.atleast_2d(c)), float(df)), resid, None
    )


def _inference_label(rho: float | None, df: float, n_pre: int) -> Text:
    if rho is None:
        return Text(
            "forecast.inference", "OLS prediction error with iid errors, t({df})", df=round(df)
        )
    return Text(
        "forecast.inference_ar1",
        "AR(1) errors (rho = {rho} by REML, {n} pre-period months), feasible GLS forecast; "
        "t with Satterthwaite df ({df} for the average effect)",
        rho=Num(rho, decimals=3),
        n=n_pre,
        df=Num(df, decimals=1),
    )


def _notes(floored: bool, simulated: bool, persistence: Persistence | None) -> tuple[str, ...]:
    notes: list[str] = []
    if floored:
        notes.append(
            Text(
                "forecast.df_floored",
                "Some Satterthwaite degrees of freedom fell below {floor} (the AR(1) "
                "coefficient is poorly determined by the pre-period); they are set to {floor}, "
                "which makes those intervals wide rather than unbounded.",
                floor=Num(DF_FLOOR, decimals=0),
            )
        )
    if persistence is not None:
        notes += persistence.notes()
    if simulated:
        notes.append(Text("note.simulated_series", "The series is SIMULATED, not observed data."))
    return tuple(notes)


def _diagnostics(resid: np.ndarray, y_pre: np.ndarray, rho: float | None, df: int):
    sst = float(np.sum((y_pre - y_pre.mean()) ** 2))
    r2 = 1 - float(resid @ resid) / sst if sst > 0 else math.nan
    rmse = math.sqrt(float(resid @ resid) / len(resid))
    diagnostics: dict[str, Diagnostic | NotApplicable] = {
        Text("diag.pre_fit", "pre-period fit"): Diagnostic(
            Text("diag.pre_r2_innovations", "pre-period R² (of the innovations)")
            if rho is not None
            else Text("diag.pre_r2", "pre-period R²"),
            r2,
            note=Text("diag.rmse", "RMSE {rmse}", rmse=Num(rmse, sig=4)),
        ),
    }
    if rho is not None:
        diagnostics[Text("forecast.ar1_name", "AR(1) coefficient")] = Diagnostic(
            Text("forecast.ar1_rho", "rho (REML)"),
            rho,
            note=Text("forecast.ar1_note", "error autocorrelation modelled by feasible GLS"),
        )
    lags = min(12, len(resid) // 4)
    if lags < 1 or df < 3:
        diagnostics[_AUTOCORRELATION] = NotApplicable(
            Text(
                "forecast.too_few_residuals",
                "too few pre-period residuals ({n}) for a Ljung-Box test",
                n=len(resid),
            )
        )
    else:
        from statsmodels.stats.diagnostic import acorr_ljungbox

        test = acorr_ljungbox(resid, lags=[lags])
        p = float(test["lb_pvalue"].iloc[0])
        if p >= 0.05:
            note = Text(
                "forecast.no_autocorrelation",
                "no evidence of autocorrelation (reported only; it does not choose the method)",
            )
        elif rho is not None:
            note = Text(
                "forecast.autocorrelation_beyond_ar1",
                "autocorrelation beyond AR(1) in the innovations: intervals may be too narrow "
                "(reported only; it does not choose the method)",
            )
        else:
            note = Text(
                "forecast.autocorrelation_iid",
                "autocorrelated residuals: the iid intervals are too narrow; use errors='ar1' "
                "(reported only; it does not choose the method)",
            )
        diagnostics[_AUTOCORRELATION] = Diagnostic(
            Text("diag.ljung_box", "Ljung-Box Q({lags})", lags=lags),
            float(test["lb_stat"].iloc[0]),
            p_value=p,
            passed=p >= 0.05,
            note=note,
        )
    return diagnostics
