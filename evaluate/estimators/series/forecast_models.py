"""Forecast counterfactuals from time-series models fitted on the pre-period.

Beyond the linear trend of :mod:`evaluate.estimators.series.forecast`: exponential
smoothing (statsmodels ``ETSModel``: additive error; trend and seasonality as
chosen) or SARIMAX is fitted on the periods before ``start`` and forecast over the
post-period.  The effect in period ``t`` is ``y_t - forecast_t``; the headline is
its average over the post-period.

Uncertainty is the forecast error of the fitted model (parameters treated as
known, as statsmodels' prediction intervals): per period, the model's prediction
interval; for the average, the errors' correlation across horizons matters (a
random walk's errors all move together), so

* SARIMAX: the average error is a linear function of the end-of-sample state and
  the future disturbances of the fitted state-space model, so it is exactly normal
  with a variance computed from the model's matrices (the end-of-sample state
  uncertainty included, as in statsmodels' per-period intervals);
* ETS: 4,000 simulated future paths from the fitted model (seeded) give the
  distribution of the average error (``Empirical``).

With ``end`` (the intervention's last period) the headline averages
``start``-``end`` and ``persistence`` reports the average effect after ``end`` as a
share of it: for SARIMAX with the delta method on the exact joint covariance of
the two averages' forecast errors, for ETS from the same simulated paths (the
ratio of the two averages, path by path).

A back-test (placebo in time) refits the model on the pre-period without its last
``backtest`` periods, forecasts those, and reports the error and how many held-out
observations fall inside the prediction intervals: a model that cannot forecast
the pre-period cannot be trusted to forecast the counterfactual.

Example
-------
>>> import numpy as np, pandas as pd
>>> from evaluate.estimators.series.forecast_models import model_forecast
>>> months = pd.period_range("2015-01", periods=60, freq="M")
>>> y = 100 + 0.5 * np.arange(60) - 8.0 * (np.arange(60) >= 48)
>>> frame = pd.DataFrame({"month": months, "y": y + np.random.default_rng(0).normal(0, 1, 60)})
>>> fit = model_forecast(frame, outcome="y", time="month", start="2019-01", model="sarimax",
...                      order=(0, 1, 1), trend="c", seed=1)  # doctest: +SKIP
>>> round(fit.estimate)  # doctest: +SKIP
-8
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pandas as pd
from scipy import stats

from evaluate.data.series import prepare_series, time_positions
from evaluate.data.validate import check_columns, check_frame, check_numeric
from evaluate.effect import Diagnostic, EffectResult, NotApplicable, Provenance, hash_frame
from evaluate.errors import DataError, DesignError, SpecError
from evaluate.estimators._renamed import renamed_options
from evaluate.estimators.series._persistence import (
    EndsMixin,
    Persistence,
    intervention_end,
    ratio,
)
from evaluate.inference.distributions import Empirical, Normal
from evaluate.text import Num, Pct, Text, Unit
from evaluate.text import Period as TextPeriod

if TYPE_CHECKING:
    from matplotlib.axes import Axes

Model = Literal["ets", "sarimax"]
N_PATHS = 4000


@dataclass(frozen=True)
class _Spec:
    model: str
    trend: str | None
    damped_trend: bool
    seasonal: str | None
    seasonal_periods: int | None
    order: tuple[int, int, int]
    seasonal_order: tuple[int, int, int, int]
    alpha: float
    seed: int | None


@dataclass(frozen=True)
class _Forecast:
    mean: np.ndarray
    low: np.ndarray
    high: np.ndarray
    se: np.ndarray
    average_draws: np.ndarray | None  # ETS: simulated average forecast errors
    average_se: float  # SARIMAX: exact SE of the average forecast error
    label: str
    path_errors: np.ndarray | None = None  # ETS: (h, paths) simulated forecast errors
    error_cov: Any = None  # SARIMAX: weights (q, h) -> covariance (q, q) of W e


def _error_cov(res: Any, weights: np.ndarray) -> np.ndarray:
    """Covariance of ``W e`` for the next ``h`` forecast errors ``e`` of a fitted
    state-space model (``W`` is ``(q, h)``): the end-of-sample state uncertainty
    ``P`` carried forward, the future state disturbances and the observation noise.
    With ``e_i = Z T^i a + sum_{1<=j<=i} Z T^(i-j) R eta_j + eps_i`` (``i = 0..h-1``),

        Cov = A P A' + sum_j B_j RQR' B_j' + H W W',
        A = sum_i W_i Z T^i,  B_j = sum_{i>=j} W_i Z T^(i-j).
    """
    ssm = res.model.ssm

    def fixed(name: str) -> np.ndarray:
        m = np.asarray(ssm[name], dtype=float)
        return m[..., 0] if m.ndim == 3 else m

    z, t, r = fixed("design"), fixed("transition"), fixed("selection")
    rqr = r @ fixed("state_cov") @ r.T
    p = res.filter_results.predicted_state_cov[..., -1]
    w = np.atleast_2d(weights)
    h = w.shape[1]
    powers = [z[0]]
    for _ in range(h - 1):
        powers.append(powers[-1] @ t)
    zp = np.array(powers)  # (h, k): Z T^i
    a = w @ zp
    total = a @ p @ a.T + float(fixed("obs_cov")[0, 0]) * (w @ w.T)
    for j in range(1, h):
        b = w[:, j:] @ zp[: h - j]
        total = total + b @ rqr @ b.T
    return total


def _average_error_variance(res: Any, h: int) -> float:
    """Variance of the average of the next ``h`` forecast errors (:func:`_error_cov`)."""
    return float(_error_cov(res, np.full((1, h), 1.0 / h))[0, 0])


def _fit_forecast(y: np.ndarray, h: int, spec: _Spec, rng: np.random.Generator) -> _Forecast:
    """Fit ``spec.model`` on ``y`` and forecast ``h`` periods ahead."""
    series = pd.Series(y, index=pd.RangeIndex(len(y)))
    z = stats.norm.ppf(1 - spec.alpha / 2)
    with warnings.catch_warnings():
        # statsmodels warns about convergence and start values at length; the back-test
        # and the residual diagnostics are the checks a reader sees.
        warnings.simplefilter("ignore")
        if spec.model == "ets":
            from statsmodels.tsa.exponential_smoothing.ets import ETSModel

            res = ETSModel(
                series, error="add", trend=spec.trend, damped_trend=spec.damped_trend,
                seasonal=spec.seasonal, seasonal_periods=spec.seasonal_periods,
            ).fit(disp=False)  # fmt: skip
            frame = res.get_prediction(start=len(y), end=len(y) + h - 1).summary_frame(
                alpha=spec.alpha
            )
            mean = frame["mean"].to_numpy()
            low, high = frame["pi_lower"].to_numpy(), frame["pi_upper"].to_numpy()
            paths = np.asarray(
                res.simulate(nsimulations=h, anchor="end", repetitions=N_PATHS, rng=rng)
            ).reshape(h, N_PATHS)
            errors = paths - mean[:, None]
            return _Forecast(mean, low, high, (high - low) / (2 * z), errors.mean(axis=0),
                             math.nan, "ets", path_errors=errors)  # fmt: skip
        from statsmodels.tsa.statespace.sarimax import SARIMAX

        res = SARIMAX(
            series, order=spec.order, seasonal_order=spec.seasonal_order,
            trend=spec.trend or "n",
        ).fit(disp=False)  # fmt: skip
        frame = res.get_forecast(h).summary_frame(alpha=spec.alpha)
        return _Forecast(
            frame["mean"].to_numpy(),
            frame["mean_ci_lower"].to_numpy(),
            frame["mean_ci_upper"].to_numpy(),
            frame["mean_se"].to_numpy(),
            None,
            math.sqrt(_average_error_variance(res, h)),
            "sarimax",
            error_cov=lambda w: _error_cov(res, w),
        )


@renamed_options("unit")
def model_forecast(
    data: pd.DataFrame,
    *,
    outcome: str,
    time: str,
    start: Any,
    end: Any = None,
    model: Model = "ets",
    trend: str | None = "add",
    damped_trend: bool = False,
    seasonal: str | None = None,
    seasonal_periods: int | None = None,
    order: tuple[int, int, int] = (1, 1, 0),
    seasonal_order: tuple[int, int, int, int] = (0, 0, 0, 0),
    backtest: int = 12,
    outcome_unit: str = "persons",
    population: str = "not stated",
    name: str | None = None,
    source: str = "",
    simulated: bool = False,
    drop_missing: bool = False,
    alpha: float = 0.05,
    seed: int | None = None,
) -> ModelForecastResult:
    """Effect against a model forecast fitted on the pre-period.

    Parameters
    ----------
    data : one row per period, consecutive periods.
    outcome, time : column names; ``time`` holds periods, dates (months) or integers.
    start : first period of the intervention.
    end : last period of the intervention, when it ended (optional): the headline
        averages ``start``-``end`` and the result reports the persistence after it.
    model : "ets" (exponential smoothing, statsmodels ``ETSModel`` with additive
        errors) or "sarimax".
    trend : ETS: "add" (default) or None; SARIMAX: "n", "c", "t" or "ct" (default "n"
        when given "add" is not valid: pass explicitly).
    damped_trend, seasonal, seasonal_periods : ETS options (``seasonal`` "add"/"mul";
        ``seasonal_periods`` defaults to 12 for monthly, 4 for quarterly periods).
    order, seasonal_order : SARIMAX orders ``(p, d, q)`` and ``(P, D, Q, s)``.
    backtest : held-out last pre-periods of the back-test (0: none).
    outcome_unit, population, name, source, simulated : descriptions carried to the report.
    drop_missing : drop (and count) rows with a missing outcome (a gap is an error).
    alpha : 1 - confidence level.
    seed : seed of the ETS simulated paths.
    """
    check_frame(data)
    check_columns(data, [outcome, time])
    check_numeric(data, outcome)
    if model not in ("ets", "sarimax"):
        raise SpecError(f"model must be 'ets' or 'sarimax', got {model!r}.")
    if model == "sarimax" and trend == "add":
        trend = "n"
    if model == "ets" and trend not in ("add", None):
        raise SpecError(f"ETS trend must be 'add' or None, got {trend!r}.")
    if model == "sarimax" and trend not in ("n", "c", "t", "ct"):
        raise SpecError(f"SARIMAX trend must be 'n', 'c', 't' or 'ct', got {trend!r}.")
    if seasonal not in (None, "add", "mul"):
        raise SpecError(f"seasonal must be None, 'add' or 'mul', got {seasonal!r}.")
    order_t, sorder_t = tuple(int(v) for v in order), tuple(int(v) for v in seasonal_order)
    if len(order_t) != 3 or len(sorder_t) != 4 or min(order_t + sorder_t) < 0:
        raise SpecError(
            f"order must be (p, d, q) and seasonal_order (P, D, Q, s) of non-negative "
            f"integers, got {order!r} and {seasonal_order!r}."
        )
    if isinstance(backtest, bool) or not isinstance(backtest, int) or backtest < 0:
        raise SpecError(f"backtest must be a non-negative integer, got {backtest!r}.")
    if not 0 < alpha < 1:
        raise SpecError(f"alpha must lie strictly between 0 and 1, got {alpha!r}.")
    series = prepare_series(data, time=time, columns=[outcome], start=start,
                            drop_missing=drop_missing)  # fmt: skip
    frame, times, start_p = series.frame, series.times, series.start
    end_p, after = intervention_end(times, start_p, end, time)
    n_dropped = series.n_dropped
    pos = time_positions(times)
    if np.any(np.diff(pos) != 1):
        gap = times.iloc[int(np.flatnonzero(np.diff(pos) != 1)[0])]
        raise DataError(
            f"Column {time!r} skips periods after {gap}; a time-series model needs "
            "consecutive periods. Fill the gap (or use drop_missing=False to see it)."
        )
    y = frame[outcome].to_numpy(dtype=float)
    post = (times >= start_p).to_numpy()
    n_pre = int((~post).sum())
    if seasonal is not None and seasonal_periods is None:
        freq = getattr(times.dtype, "freq", None)
        code = getattr(freq, "rule_code", "")
        seasonal_periods = 12 if code.startswith("M") else 4 if code.startswith("Q") else None
        if seasonal_periods is None:
            raise SpecError("seasonal needs seasonal_periods for integer or non-monthly time.")
    need = 2 * (seasonal_periods or 0) + 6 if model == "ets" else sum(order_t) + 8
    if model == "sarimax":
        need += sorder_t[3] * (sorder_t[0] + sorder_t[1] + sorder_t[2])
    if n_pre < need:
        raise DesignError(
            f"{n_pre} pre-period rows are too few for this {model} model; give at least {need}."
        )
    if n_pre - backtest < need and backtest > 0:
        raise DesignError(
            f"backtest={backtest} leaves {n_pre - backtest} periods to fit the back-test model; "
            f"it needs {need}. Use a shorter backtest (or 0)."
        )
    if np.ptp(y[~post]) == 0:
        raise DataError(f"Column {outcome!r} is constant before the start; nothing to model.")
    if seasonal == "mul" and (y[~post] <= 0).any():
        raise DataError("Multiplicative seasonality needs a positive series.")
    spec = _Spec(model, trend, bool(damped_trend), seasonal, seasonal_periods, order_t,
                 sorder_t, float(alpha), seed)  # fmt: skip
    return _fit(spec, frame, times, start_p, end_p, after, y, post, backtest, n_dropped,
                outcome_unit, population, name or outcome, source, simulated)  # fmt: skip


def _fit(spec, frame, times, start_p, end_p, after, y, post, backtest, n_dropped, unit,
         population, name, source, simulated) -> ModelForecastResult:  # fmt: skip
    rng = np.random.default_rng(spec.seed)
    h = int(post.sum())
    fc = _fit_forecast(y[~post], h, spec, rng)
    effect = y[post] - fc.mean
    during = np.ones(h, dtype=bool) if after is None else ~after[post]
    m = int(during.sum())
    avg = float(effect[during].mean())
    w = np.vstack([np.where(during, 1.0 / m, 0.0),
                   np.where(~during, 1.0 / max(h - m, 1), 0.0)])  # fmt: skip
    persistence = None
    if fc.path_errors is not None:
        draws_d = fc.path_errors[during].mean(axis=0)
        distribution: Any = Empirical(avg, avg - draws_d)
        inference = Text(
            "model_forecast.inference_paths",
            "{n} simulated future paths of the fitted model (parameters fixed)",
            n=N_PATHS,
        )
        if after is not None:
            a = float(effect[~during].mean())
            draws_a = fc.path_errors[~during].mean(axis=0)
            share = Empirical(a / avg, (a - draws_a) / (avg - draws_d))
            persistence = Persistence(end_p, distribution, Empirical(a, a - draws_a), share,
                                      m, h - m, spec.alpha, interval="paths")  # fmt: skip
    else:
        cov = fc.error_cov(w)
        distribution = Normal(avg, math.sqrt(cov[0, 0]))
        inference = Text(
            "model_forecast.inference_exact",
            "exact forecast-error variance of the average (state space; parameters fixed)",
        )
        if after is not None:
            e = np.eye(2)
            dists = ratio(float(effect[~during].mean()), avg, e[1], e[0], cov,
                          lambda est, se, c: Normal(est, se))  # fmt: skip
            persistence = Persistence(end_p, *dists, m, h - m, spec.alpha)
    n = len(y)
    nan = np.full(n, np.nan)
    cf, cf_low, cf_high = nan.copy(), nan.copy(), nan.copy()
    cf[post], cf_low[post], cf_high[post] = fc.mean, fc.low, fc.high
    series = pd.DataFrame(
        {
            "time": times.to_numpy(),
            "observed": y,
            "counterfactual": cf,
            "cf_low": cf_low,
            "cf_high": cf_high,
            "effect": y - cf,
            "post": post,
        }  # fmt: skip
    )
    if after is not None:
        series["after"] = after
    if isinstance(times.dtype, pd.PeriodDtype):
        series["time"] = pd.PeriodIndex(times)
    periods = pd.DataFrame(
        {
            "period": series.loc[post, "time"].astype(str).to_numpy(),
            "estimate": effect,
            "std_error": fc.se,
            "ci_low": y[post] - fc.high,
            "ci_high": y[post] - fc.low,
        }
    )
    bt_table, bt_diag = _backtest(y[~post], backtest, spec, rng, series.loc[~post, "time"])
    label = (
        f"ETS(A,{'Ad' if spec.damped_trend else ('A' if spec.trend else 'N')},"
        f"{'N' if spec.seasonal is None else spec.seasonal[0].upper()})"
        if spec.model == "ets"
        else f"SARIMAX{spec.order}x{spec.seasonal_order}, trend {spec.trend!r}"
    )
    notes: list[Any] = [
        Text(
            "model_forecast.note_parameters",
            "The counterfactual is the model's forecast from the pre-period; its intervals "
            "ignore the uncertainty of the estimated parameters (as statsmodels' do), so they "
            "are somewhat narrow. The back-test shows how well the model forecast the "
            "pre-period.",
        )
    ]
    if persistence is not None:
        notes += persistence.notes()
    if simulated:
        notes.append(Text("note.simulated_series", "The series is SIMULATED, not observed data."))
    estimand = (
        Text(
            "model_forecast.estimand",
            "average effect per period on {outcome} from {start} on, against the {model} forecast",
            outcome=name,
            start=TextPeriod(start_p),
            model=label,
        )
        if end_p is None
        else Text(
            "model_forecast.estimand_end",
            "average effect per period on {outcome} from {start} to {end}, against the "
            "{model} forecast",
            outcome=name,
            start=TextPeriod(start_p),
            end=TextPeriod(end_p),
            model=label,
        )
    )
    return ModelForecastResult(
        name=name,
        estimand=estimand,
        distribution=distribution,
        method=Text(
            "model_forecast.method", "Model forecast: {model} fitted on the pre-period", model=label
        ),
        inference=inference,
        unit=unit,
        population=population,
        alpha=spec.alpha,
        periods=periods,
        diagnostics={Text("model_forecast.backtest", "back-test (placebo in time)"): bt_diag},
        provenance=Provenance(
            spec=spec.__dict__,
            data_hash=hash_frame(frame),
            n_rows=len(frame),
            n_dropped=n_dropped,
            source=source,
            simulated=simulated,
        ),  # fmt: skip
        notes=tuple(notes),
        series=series,
        start=start_p,
        n_post=m,
        backtest=bt_table,
        model_label=label,
        end=end_p,
        persistence=persistence,
    )


def _backtest(y_pre, h, spec, rng, times) -> tuple[pd.DataFrame, Any]:
    cols = ["period", "observed", "forecast", "pi_low", "pi_high", "error", "inside"]
    if h == 0:
        return pd.DataFrame(columns=cols), NotApplicable(
            Text("model_forecast.backtest_off", "not requested (backtest=0)")
        )
    fc = _fit_forecast(y_pre[:-h], h, spec, rng)
    held = y_pre[-h:]
    err = held - fc.mean
    inside = (held >= fc.low) & (held <= fc.high)
    table = pd.DataFrame(
        {
            "period": times.iloc[-h:].astype(str).to_numpy(),
            "observed": held,
            "forecast": fc.mean,
            "pi_low": fc.low,
            "pi_high": fc.high,
            "error": err,
            "inside": inside,
        }  # fmt: skip
    )
    rmse = math.sqrt(float(np.mean(err**2)))
    avg = float(err.mean())
    if fc.average_draws is not None:
        p = Empirical(avg, avg - fc.average_draws).p_value(0.0)
    else:
        p = Normal(avg, fc.average_se).p_value(0.0)
    share = float(inside.mean())
    return table, Diagnostic(
        Text("model_forecast.backtest_rmse", "back-test RMSE over the last {h} pre-periods", h=h),
        rmse,
        p_value=p,
        passed=bool(p >= 0.05 and share >= 1 - spec.alpha - 2 * math.sqrt(spec.alpha / h)),
        note=Text(
            "model_forecast.backtest_note",
            "{inside} of {h} held-out observations inside the {level} prediction intervals; "
            "average placebo effect {avg} (MAE {mae}); should be near 0",
            inside=int(inside.sum()),
            h=h,
            level=Pct(1 - spec.alpha),
            avg=Num(avg, sig=4),
            mae=Num(float(np.mean(np.abs(err))), sig=4),
        ),
    )


@dataclass(frozen=True, kw_only=True, eq=False)
class ModelForecastResult(EndsMixin, EffectResult):
    """Result of :func:`model_forecast`: ``series`` (every period), ``backtest`` (the
    held-out pre-periods with forecasts, intervals and errors) and ``model_label``."""

    series: pd.DataFrame
    start: Any
    n_post: int
    backtest: pd.DataFrame
    model_label: str
    end: Any = None
    persistence: Persistence | None = None

    @property
    def cumulative(self):
        """The effect summed over the post-period."""
        return self.distribution.scaled(self.n_post)

    def _extra_terms(self) -> list[dict[str, Any]]:
        cum = self.cumulative
        low, high = cum.interval(self.alpha)
        rows = [
            {"term": Text("term.cumulative", "{name}: cumulative over {n} periods",
                          name=self.name, n=self.n_post),
             "estimate": cum.estimate, "std_error": cum.std_error, "ci_low": low,
             "ci_high": high, "p_value": cum.p_value(0.0), "unit": self.unit}
        ]  # fmt: skip
        if self.persistence is not None:
            rows += self.persistence.rows(self.name, self.unit)
        return rows

    def _summary_tables(self) -> list[tuple[str, pd.DataFrame]]:
        tables = super()._summary_tables()
        if len(self.backtest):
            tables.append(("Back-test: held-out pre-periods", self.backtest.set_index("period")))
        return tables

    def plot(self, ax: Axes | None = None) -> Axes:
        """Observed series against the forecast counterfactual and its prediction band."""
        from evaluate.plotting import plot_counterfactual

        return plot_counterfactual(
            self.series,
            start=self.start,
            title=f"{self.name}: {self.model_label}",
            ylabel=Unit(self.unit),
            band_label=Text("plot.band", "{level} prediction interval", level=Pct(1 - self.alpha)),
            ax=ax,
        )


__all__ = ["ModelForecastResult", "model_forecast"]
