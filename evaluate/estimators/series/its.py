"""Interrupted time series: segmented regression with a level and a slope change.

One series, observed before and after an intervention at ``start``.  With
``s_t = t - start`` (in periods) and ``P_t = 1{t >= start}``

    g(E y_t) = b0 + b1 s_t + b2 P_t + b3 s_t P_t (+ seasonal terms) (+ log exposure_t)

where ``g`` is the identity (``family="gaussian"``, least squares) or the log
(``"poisson"`` / ``"quasipoisson"``, a Poisson GLM with ``exposure`` as offset).
``b2`` is the level change at the start, ``b3`` the change in slope per period.
The counterfactual drops the ``b2, b3`` terms; the effect in period ``t`` is the
fitted series minus the counterfactual, and the headline is its average over a
window (default the whole post-period), with the cumulative and relative effects
beside it.  Count models also give rate ratios: ``exp(b2)`` (level), ``exp(b3)``
(slope, per period) and the window's expected count over its counterfactual.

Standard errors.  For least squares the default (``cov="ar1"``) models the errors
as a stationary AR(1), ``e_t = rho e_(t-1) + u_t``, and fits by feasible GLS: the
Prais-Winsten transform (the first observation kept, scaled by ``sqrt(1 - rho^2)``)
with ``rho`` chosen by restricted maximum likelihood (REML, as R ``nlme::gls``),
which removes most of the downward bias of the residual autocorrelation in short
series; ``sigma^2`` is the REML variance (whitened residual sum of squares over
``n - k``).  Each estimate's t reference has Satterthwaite degrees of freedom
(:class:`evaluate.inference.serial.AR1Fit`), which carry the uncertainty in ``rho``:
a short, strongly autocorrelated series gets few degrees of freedom and wide
intervals for anything that extrapolates the pre-trend.  In known-truth
simulations with AR(1) errors (tests/estimators/test_its.py, 2,000 draws each) the
95 % interval of the average effect covers 95.5 % / 95.1 % (n = 60, phi 0.2 / 0.5),
95.6 % / 95.0 % (n = 120) and 95.0 % / 94.8 % (n = 240).  (With t(n - k - 1), i.e.
``rho`` taken as known, n = 60 at phi 0.5 covered 92.8 %.)  The periods are taken as
consecutive rows (a dropped month is not a gap in the AR model).

Counts (``"poisson"``, ``"quasipoisson"``) default to ``cov="ar1"`` too: the
quasi-Poisson variance ``phi mu_t`` with an ARMA(1,1) working correlation of the
Pearson residuals (a latent AR(1) plus Poisson noise), fitted by iterated GLS
(``_its_model._fit_quasi_arma11``, Zeger 1988), with ``(ar, ma)`` by REML and
Satterthwaite df; so ``"poisson"`` and
``"quasipoisson"`` give the same default interval, because a Poisson variance is
rarely right for administrative counts.  In simulations of overdispersed counts
(Poisson with a latent AR(1), phi 0.5, dispersion about 1.7; see
``benchmarks/results/coverage.md``) Newey-West with a normal reference covered
the average effect 81.9 % of the time at n = 60; an AR(1) working correlation
covered 92.7 % (n = 60) and 92.8 % (n = 120), missing the persistence the latent
process leaves in the residuals; the ARMA(1,1) default covers 95.2 % and 94.5 %
over 1,000 draws, with wider intervals when the series is short.

``cov="hac"`` is Newey-West (Bartlett
kernel) with lag ``floor(4 (n / 100)^(2/9))`` (Newey & West 1994) unless
``hac_lags`` is given; no small-sample correction (as statsmodels' default).
Newey-West intervals with that lag are too narrow in autocorrelated series of this
length: with AR(1) errors over 240 months the 95 % interval covers 92.8 % (phi 0.2)
and 88.4 % (phi 0.5), which is why least squares defaults to the AR(1) model.
``cov="classical"`` assumes iid errors (77 % coverage at phi 0.5).  Least squares
uses a t reference (``n - k`` degrees of freedom for "hac"/"classical"), GLMs a
normal one (t with Satterthwaite df under "ar1").  A Ljung-Box test on the
residuals (for "ar1": on the whitened innovations) says whether autocorrelation
is left that the covariance does not model.  Under "classical", quasi-Poisson
multiplies the Poisson covariance by the Pearson dispersion ``X^2 / (n - k)``;
with HAC the sandwich already absorbs overdispersion.

A comparison series (``comparison``, controlled ITS) turns the model into one for
the difference ``y_t - c_t``: level and slope changes are then relative to the
comparison series, which removes shocks both series share.

Which changes.  ``change="level"`` keeps only ``b2`` (a step: the classic model of
Bernal, Cummins & Gasparrini 2017), ``"slope"`` only ``b3`` (a gradual change),
``"both"`` (the default) both.  The step sits at ``start``, the first post-period
(``step_at`` in the result and in its summary); the slope change counts 0 there.
The tutorial's model, a quasi-Poisson step model for counts with the population
as offset and two Fourier pairs, is ``its(..., family="quasipoisson",
exposure="pop", change="level", seasonality="fourier", fourier_terms=2,
cov="classical")`` (tests/estimators/series/test_its_models.py reproduces its
published rate ratio from the Sicily data).

Treatments that end.  With ``end`` (the intervention's last period) the periods
after it get their own changes (``b4`` a level change after the end, ``b5`` a slope
change counted from it, as ``change`` says), so the effect after the end is
estimated, not assumed.  The headline window is then ``start``-``end`` and the
result's ``persistence`` is the average effect after the end as a share of the
average during it, with a delta-method interval
(:mod:`evaluate.estimators.series._persistence`); ``effect_shares`` turns it into a
fitted decay by year for a business case.

Example
-------
>>> import numpy as np, pandas as pd
>>> from evaluate.estimators.series.its import its
>>> months = pd.period_range("2015-01", periods=60, freq="M")
>>> y = 50 + 0.2 * np.arange(60) - 6.0 * (np.arange(60) >= 36)
>>> frame = pd.DataFrame({"month": months, "y": y + np.sin(np.arange(60))})
>>> fit = its(frame, outcome="y", time="month", start="2018-01")
>>> round(fit.level_change.estimate)
-6
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd
from scipy import stats

from evaluate.data.series import prepare_series, time_positions
from evaluate.data.validate import check_frame
from evaluate.effect import Provenance, hash_frame
from evaluate.errors import DataError, DesignError, SpecError
from evaluate.estimators._renamed import renamed_options
from evaluate.estimators.series._its_model import (
    INTERVENTION_TERMS,
    _design,
    _diagnostics,
    _fit_poisson,
    _fit_quasi_arma11,
    _window,
)
from evaluate.estimators.series._its_result import ITSResult
from evaluate.estimators.series._persistence import Persistence, intervention_end, ratio
from evaluate.inference.distributions import DF_FLOOR, Normal, StudentT
from evaluate.inference.serial import hac_meat, newey_west_lags, prais_winsten, whiten
from evaluate.text import Num, Text
from evaluate.text import Period as TextPeriod

Family = Literal["gaussian", "poisson", "quasipoisson"]
Seasonality = Literal["month", "quarter", "fourier"] | None
Cov = Literal["ar1", "hac", "classical"]
Change = Literal["level", "slope", "both"]


@dataclass(frozen=True)
class _Spec:
    outcome: str
    time: str
    start: str
    end: str | None
    window: tuple[str, str] | None
    change: str
    family: str
    seasonality: str | None
    fourier_terms: int
    exposure: str | None
    comparison: str | None
    cov: str
    hac_lags: int | None
    alpha: float


@renamed_options("unit")
def its(
    data: pd.DataFrame,
    *,
    outcome: str,
    time: str,
    start: Any,
    end: Any = None,
    change: Change = "both",
    window: tuple[Any, Any] | None = None,
    family: Family = "gaussian",
    seasonality: Seasonality = None,
    fourier_terms: int = 2,
    exposure: str | None = None,
    comparison: str | None = None,
    cov: Cov | None = None,
    hac_lags: int | None = None,
    outcome_unit: str = "outcome units",
    population: str = "not stated",
    name: str | None = None,
    source: str = "",
    simulated: bool = False,
    drop_missing: bool = False,
    alpha: float = 0.05,
) -> ITSResult:
    """Interrupted time series (segmented regression) effect of an intervention at ``start``.

    Parameters
    ----------
    data : one row per period.
    outcome, time : column names; ``time`` holds periods, dates (read as months) or integers.
    start : first period of the intervention: the level change (step) sits here.
    end : last period of the intervention, when it ended (optional): the periods after
        it get their own level/slope changes, and the result reports the persistence
        of the effect after the end (see the module docstring).
    change : "level" (a step only), "slope" (a slope change only) or "both" (default).
    window : inclusive ``(first, last)`` post-period window of the headline, cumulative
        and relative effects (default: ``start`` to ``end``, or to the last period).
    family : "gaussian" (least squares), "poisson" or "quasipoisson" (counts, log link).
    seasonality : None, "month" or "quarter" dummies, or "fourier" (monthly series,
        ``fourier_terms`` sine/cosine pairs).
    exposure : column with the population at risk (count families): ``log(exposure)``
        is an offset, so the model is for the rate.
    comparison : column with a comparison series (controlled ITS, gaussian only): the
        model is fitted to ``outcome - comparison``.
    cov : "ar1" (the default: AR(1) errors, feasible GLS with ``rho`` by REML and
        Satterthwaite df; for counts a quasi-Poisson variance with an ARMA(1,1) working
        correlation), "hac" (Newey-West, normal reference for counts; the default when
        ``hac_lags`` is given) or "classical" (iid errors; Poisson: model-based,
        quasi-Poisson: times the Pearson dispersion).
    hac_lags : Newey-West lag; default ``floor(4 (n/100)^(2/9))``.
    outcome_unit, population, name, source, simulated : descriptions carried to the report.
    drop_missing : drop (and count) rows with missing values instead of failing.
    alpha : 1 - confidence level.

    Returns
    -------
    ITSResult
        Headline: the average effect per period over the window, in outcome units
        (for counts: expected events minus counterfactual events).
    """
    check_frame(data)
    if family not in ("gaussian", "poisson", "quasipoisson"):
        raise SpecError(f"family must be 'gaussian', 'poisson' or 'quasipoisson', got {family!r}.")
    if change not in ("level", "slope", "both"):
        raise SpecError(f"change must be 'level', 'slope' or 'both', got {change!r}.")
    if seasonality not in (None, "month", "quarter", "fourier"):
        raise SpecError(
            f"seasonality must be None, 'month', 'quarter' or 'fourier', got {seasonality!r}."
        )
    if cov is None:
        cov = "ar1" if hac_lags is None else "hac"
    if cov not in ("ar1", "hac", "classical"):
        raise SpecError(f"cov must be 'ar1', 'hac', 'classical' or None, got {cov!r}.")
    if cov != "hac" and hac_lags is not None:
        raise SpecError(f"hac_lags is for cov='hac'; drop it or set cov='hac' (got {cov!r}).")
    if not isinstance(fourier_terms, int) or not 1 <= fourier_terms <= 6:
        raise SpecError(f"fourier_terms must be an integer from 1 to 6, got {fourier_terms!r}.")
    if hac_lags is not None and (not isinstance(hac_lags, int) or hac_lags < 0):
        raise SpecError(f"hac_lags must be a non-negative integer or None, got {hac_lags!r}.")
    if not 0 < alpha < 1:
        raise SpecError(f"alpha must lie strictly between 0 and 1, got {alpha!r}.")
    if comparison is not None and family != "gaussian":
        raise SpecError(
            "A comparison series is modelled as a difference, which needs family='gaussian'; "
            "for counts, model the rate (outcome / exposure) with family='gaussian'."
        )
    if exposure is not None and family == "gaussian":
        raise SpecError("exposure is an offset for count families; use family='poisson'.")
    columns = [c for c in (outcome, exposure, comparison) if c is not None]
    series = prepare_series(
        data, time=time, columns=columns, start=start, drop_missing=drop_missing
    )
    frame, times, start_p = series.frame, series.times, series.start
    end_p, after = intervention_end(times, start_p, end, time, min_after=2)
    n_dropped = series.n_dropped
    y = frame[outcome].to_numpy(dtype=float)
    offset = np.zeros(len(y))
    if family != "gaussian":
        if (y < 0).any():
            first = int(np.flatnonzero(y < 0)[0])  # rows are in time order
            raise DataError(
                f"Column {outcome!r} is a count (family={family!r}) but holds "
                f"{int((y < 0).sum())} negative value(s), the first {y[first]:g} in period "
                f"{times.iloc[first]} (row {frame.index[first]}). Counts must be >= 0: fix "
                "the entries, or model a quantity that can be negative with family='gaussian'."
            )
        if not (y > 0).any():
            raise DataError(
                f"Column {outcome!r} is zero in every period: a log-link model has no finite "
                "estimate. Use family='gaussian' or a longer series."
            )
        if exposure is not None:
            pop = frame[exposure].to_numpy(dtype=float)
            if not (pop > 0).all():
                raise DataError(f"Column {exposure!r} must be positive (it enters as a log).")
            offset = np.log(pop)
    comp = None if comparison is None else frame[comparison].to_numpy(dtype=float)
    spec = _Spec(
        outcome, time, str(start_p), None if end_p is None else str(end_p),
        None if window is None else (str(window[0]), str(window[1])), change,
        family, seasonality, fourier_terms, exposure, comparison, cov, hac_lags, alpha,
    )  # fmt: skip
    if window is None and after is not None:
        window = (start_p, end_p)
    win = _window(times, start_p, window, time)
    return _fit(
        spec, times, start_p, end_p, after, y, comp, offset, win, frame, n_dropped,
        outcome_unit, population, name or outcome, source, simulated,
    )  # fmt: skip


def _fit(spec, times, start_p, end_p, after, y_obs, comp, offset, win, frame, n_dropped, unit,
         population, name, source, simulated) -> ITSResult:  # fmt: skip
    t = time_positions(times)
    t0 = time_positions(pd.Series([start_p]))[0]
    post = (times >= start_p).to_numpy()
    since_end = None if end_p is None else t - time_positions(pd.Series([end_p]))[0]
    X_df = _design(t - t0, post, times.reset_index(drop=True), spec.seasonality,
                   spec.fourier_terms, spec.change, after, since_end)  # fmt: skip
    X = X_df.to_numpy()
    n, k = X.shape
    n_pre = int((~post).sum())
    if n_pre < 3 or int(post.sum()) < 2 or n < k + 2:
        raise DesignError(
            f"{n_pre} pre- and {int(post.sum())} post-period rows cannot fit the segmented "
            f"model's {k} parameters; give at least 3 periods before and 2 after the start "
            f"and {k + 2} in all."
        )
    if np.linalg.matrix_rank(X) < k:
        raise DesignError(
            "The design is not identified (e.g. a season never observed); use fewer "
            "seasonal terms or a longer series."
        )
    y = y_obs if comp is None else y_obs - comp
    if spec.family == "gaussian" and np.ptp(y[~post]) == 0:
        raise DataError(
            "The series is constant before the start; the model's noise cannot be estimated."
        )
    lags = newey_west_lags(n) if spec.hac_lags is None else spec.hac_lags
    rho = None
    df = n - k
    if spec.cov == "ar1" and spec.family != "gaussian":
        ar1, fitted = _fit_quasi_arma11(X, y, offset)
        beta, vcov, rho = ar1.beta, ar1.vcov, ar1.rho
        pearson = ar1.innovations((y - fitted) / np.sqrt(fitted))
        dispersion = ar1.sigma2
    elif spec.cov == "ar1":
        ar1 = prais_winsten(X, y)
        beta, vcov, rho = ar1.beta, ar1.vcov, ar1.rho
        fitted = X @ beta
        pearson = whiten(y - fitted, rho)  # innovations: what the AR(1) leaves
        dispersion = ar1.sigma2
    elif spec.family == "gaussian":
        xtx_inv = np.linalg.inv(X.T @ X)
        beta = xtx_inv @ X.T @ y
        fitted = X @ beta
        resid = y - fitted
        if spec.cov != "classical":
            vcov = xtx_inv @ hac_meat(X * resid[:, None], lags) @ xtx_inv
        else:
            vcov = xtx_inv * float(resid @ resid) / df
        pearson = resid
        dispersion = float(resid @ resid) / df
    else:
        beta, fitted = _fit_poisson(X, y, offset)
        bread = np.linalg.inv(X.T @ (X * fitted[:, None]))
        pearson = (y - fitted) / np.sqrt(fitted)
        dispersion = float(pearson @ pearson) / df
        if spec.cov != "classical":
            vcov = bread @ hac_meat(X * (y - fitted)[:, None], lags) @ bread
        else:
            vcov = bread * (dispersion if spec.family == "quasipoisson" else 1.0)
    X0 = X.copy()
    X0[:, [j for j, c in enumerate(X_df.columns) if c in INTERVENTION_TERMS]] = 0.0
    if spec.family == "gaussian":
        cf = X0 @ beta
        effect, grad = fitted - cf, X - X0
        base = cf + (0.0 if comp is None else comp)
    else:
        cf = np.exp(X0 @ beta + offset)
        effect = fitted - cf
        grad = X * fitted[:, None] - X0 * cf[:, None]
        base = cf
    se_t = np.sqrt(np.einsum("ij,jk,ik->i", grad, vcov, grad))
    g_cf = X0 if spec.family == "gaussian" else X0 * cf[:, None]
    se_cf = np.sqrt(np.einsum("ij,jk,ik->i", g_cf, vcov, g_cf))
    # Degrees of freedom of the t reference of each contrast: Satterthwaite for AR(1)
    # GLS (floored at DF_FLOOR), n - k for other least squares; None (normal) for the
    # count models with HAC or classical covariances.
    if spec.cov == "ar1":
        df_of = lambda c: np.maximum(ar1.df(c), DF_FLOOR)  # noqa: E731
    elif spec.family != "gaussian":
        df_of = None
    else:
        df_of = lambda c: np.full(np.atleast_2d(c).shape[0], float(df))  # noqa: E731

    def ref(est: float, se: float, c: np.ndarray):
        return Normal(est, se) if df_of is None else StudentT(est, se, float(df_of(c)[0]))

    def quantile(c: np.ndarray) -> np.ndarray:
        tail = 1 - spec.alpha / 2
        if df_of is None:
            return np.full(np.atleast_2d(c).shape[0], stats.norm.ppf(tail))
        return stats.t.ppf(tail, df_of(c))

    m = int(win.sum())
    g_avg = grad[win].mean(axis=0)
    avg = float(effect[win].mean())
    distribution = ref(avg, math.sqrt(float(g_avg @ vcov @ g_avg)), g_avg)
    ref_df = None if df_of is None else float(df_of(g_avg)[0])
    floored = spec.cov == "ar1" and bool(np.any(ar1.df(np.vstack([np.eye(k), g_avg])) < DF_FLOOR))
    # Relative effect: summed effect over summed counterfactual (delta method on the
    # log ratio for counts, on the ratio for least squares).
    if spec.family == "gaussian":
        num, den = float(effect[win].sum()), float(base[win].sum())
        g_rel = grad[win].sum(axis=0) / den - num * X0[win].sum(axis=0) / den**2
        rel = ref(num / den, math.sqrt(float(g_rel @ vcov @ g_rel)), g_rel)
    else:
        s1, s0 = float(fitted[win].sum()), float(cf[win].sum())
        g_log = (X[win] * fitted[win, None]).sum(0) / s1 - (X0[win] * cf[win, None]).sum(0) / s0
        rel = ref(math.log(s1 / s0), math.sqrt(float(g_log @ vcov @ g_log)), g_log)
    ses = np.sqrt(np.diag(vcov))
    coefficients = pd.DataFrame(
        {"estimate": beta, "std_error": ses, "z_or_t": beta / ses},
        index=pd.Index(X_df.columns, name="term"),
    )
    if df_of is not None:
        coefficients["df"] = df_of(np.eye(k))
    q_cf = np.full(n, np.nan)
    q_cf[post] = quantile(g_cf[post])
    q = np.full(n, np.nan)
    q[post] = quantile(grad[post])
    series = pd.DataFrame(
        {
            "time": times.to_numpy(),
            "observed": y_obs,
            "fitted": fitted + (0.0 if comp is None else comp),
            "counterfactual": base,
            "cf_low": np.where(post, base - q_cf * se_cf, np.nan),
            "cf_high": np.where(post, base + q_cf * se_cf, np.nan),
            "effect": effect,
            "post": post,
            "window": win,
        }
    )
    if isinstance(times.dtype, pd.PeriodDtype):
        series["time"] = pd.PeriodIndex(times)
    periods = pd.DataFrame(
        {
            "period": series.loc[post, "time"].astype(str).to_numpy(),
            "estimate": effect[post],
            "std_error": se_t[post],
            "ci_low": effect[post] - q[post] * se_t[post],
            "ci_high": effect[post] + q[post] * se_t[post],
            "observed": y_obs[post],
            "counterfactual": base[post],
        }
    )
    inference = _inference_label(spec, dispersion, rho, n, lags, ref_df)
    method = _method_label(spec, comp is not None)
    win_times = series.loc[win, "time"]
    persistence = None
    if after is not None:
        series["after"] = after
        during = post & ~after
        dists = ratio(float(effect[after].mean()), float(effect[during].mean()),
                      grad[after].mean(axis=0), grad[during].mean(axis=0), vcov, ref)  # fmt: skip
        persistence = Persistence(end_p, *dists, int(during.sum()), int(after.sum()), spec.alpha)
    notes = _notes(spec, start_p, win_times, m, floored, comp is not None, persistence, simulated)
    return ITSResult(
        name=name,
        estimand=f"average effect per period on {spec.outcome} over "
        f"{win_times.iloc[0]}-{win_times.iloc[-1]}, against the pre-period segment extended",
        distribution=distribution,
        method=method,
        inference=inference,
        unit=unit,
        population=population,
        alpha=spec.alpha,
        periods=periods,
        diagnostics=_diagnostics(pearson, y, fitted, lags, dispersion, spec.family, rho),
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
        coefficients=coefficients,
        vcov=pd.DataFrame(vcov, index=X_df.columns, columns=X_df.columns),
        family=spec.family,
        hac_lags=lags if spec.cov == "hac" else None,
        ar1_rho=rho,
        n_window=m,
        relative_distribution=rel,
        ref_df=ref_df,
        change=spec.change,
        end=end_p,
        persistence=persistence,
        working_arma=(ar1.ar, ar1.ma) if spec.cov == "ar1" and spec.family != "gaussian" else None,
    )


def _inference_label(spec, dispersion, rho, n, lags, ref_df) -> str:
    lag_rule = (
        "user-set" if spec.hac_lags is not None else "floor(4 (n/100)^(2/9)), Newey-West 1994"
    )
    if spec.cov == "ar1" and spec.family != "gaussian":
        inference = (
            f"quasi-Poisson (dispersion {dispersion:.3g}) with ARMA(1,1) working correlation "
            f"(lag-1 autocorrelation {rho:.3f}, by REML), iterated GLS, n = {n}"
        )
    elif spec.cov == "ar1":
        inference = (
            f"AR(1) errors (rho = {rho:.3f} by REML), feasible GLS (Prais-Winsten, first "
            f"observation kept), n = {n}"
        )
    elif spec.cov == "hac":
        inference = f"Newey-West HAC, Bartlett kernel, {lags} lag(s) ({lag_rule}), n = {n}"
    else:
        quasi = spec.family == "quasipoisson"
        inference = "classical (iid errors" + (", Pearson dispersion)" if quasi else ")")
    if ref_df is None:
        return inference + "; normal"
    if spec.cov == "ar1":
        return inference + f"; t with Satterthwaite df ({ref_df:.1f} for the average effect)"
    return inference + f"; t({ref_df:.0f})"


_FAMILY = {"gaussian": "least squares", "poisson": "Poisson GLM",
           "quasipoisson": "quasi-Poisson GLM"}  # fmt: skip
_CHANGE = {"level": "level change", "slope": "slope change", "both": "level and slope change"}


def _change_text(change: str) -> Text:
    return Text(f"its.change_{change}", _CHANGE[change])


def _method_label(spec, controlled: bool) -> Text:
    parts = {
        "family": Text(f"its.family_{spec.family}", _FAMILY[spec.family]),
        "change": _change_text(spec.change),
        "season": ""
        if spec.seasonality is None
        else Text(f"its.season_{spec.seasonality}", f", {spec.seasonality} seasonality"),
    }
    if controlled:
        return Text(
            "its.method_controlled",
            "Controlled interrupted time series ({family}, {change}{season}) vs {comparison}",
            comparison=spec.comparison,
            **parts,
        )
    return Text("its.method", "Interrupted time series ({family}, {change}{season})", **parts)


def _notes(spec, start_p, win_times, m, floored, controlled, persistence, simulated):
    notes: list[str] = [
        Text(
            "its.note_model",
            "Effects are model-based: the fitted series minus the counterfactual without the "
            "{change}, averaged over {first}-{last} ({m} periods). The step sits at {start}, "
            "the first post-intervention period.",
            change=_change_text(spec.change),
            first=TextPeriod(win_times.iloc[0]),
            last=TextPeriod(win_times.iloc[-1]),
            m=m,
            start=TextPeriod(start_p),
        )
    ]
    if spec.family != "gaussian":
        notes.append(
            Text(
                "its.note_counts",
                "Counts: the headline is expected minus counterfactual events per period; "
                "rate ratios (level, slope per period, window) are in the table.",
            )
        )
    if floored:
        notes.append(
            Text(
                "its.df_floored",
                "Some Satterthwaite degrees of freedom fell below {floor}: the AR(1) "
                "coefficient is poorly determined; they are set to {floor}, so those "
                "intervals are wide rather than unbounded.",
                floor=Num(DF_FLOOR, decimals=0),
            )
        )
    if controlled:
        notes.append(
            Text(
                "its.note_controlled",
                "Controlled ITS: the model is for {outcome} minus {comparison}; shocks "
                "common to both series cancel.",
                outcome=spec.outcome,
                comparison=spec.comparison,
            )
        )
    if persistence is not None:
        notes += persistence.notes()
    if simulated:
        notes.append(Text("note.simulated_series", "The series is SIMULATED, not observed data."))
    return notes


__all__ = ["ITSResult", "hac_meat", "its", "newey_west_lags", "prais_winsten"]
