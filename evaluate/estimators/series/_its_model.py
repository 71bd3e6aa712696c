"""Model pieces of :func:`evaluate.estimators.series.its.its`: design, Poisson fit, diagnostics.

Kept apart from the front door so ``its.py`` reads as the method.  ``_design``
builds the segmented-regression matrix (intercept, trend, level change, slope
change, and month/quarter dummies or Fourier terms); ``_fit_poisson`` is the
Poisson GLM by Newton's method; ``_window`` marks the post-period window of the
headline; ``_diagnostics`` reports residual autocorrelation (Ljung-Box), fit and
overdispersion.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from evaluate.data.series import coerce_time
from evaluate.effect import Diagnostic, NotApplicable
from evaluate.errors import DesignError, SpecError
from evaluate.inference.serial import ARMA11Fit, arma11_gls

INTERVENTION_TERMS = (
    "level change",
    "slope change",
    "level change after end",
    "slope change after end",
)
"""Columns of the design that the counterfactual sets to zero."""


def _design(
    s: np.ndarray,
    post: np.ndarray,
    times: pd.Series,
    seasonality,
    k_fourier,
    change: str = "both",
    after: np.ndarray | None = None,
    since_end: np.ndarray | None = None,
):
    """Segmented design: ``s`` periods from the step (0 at the first post period),
    ``post`` its indicator; ``after`` marks the periods after the intervention's end
    and ``since_end`` counts them (1 at the first); ``change`` picks the terms."""
    cols = {"intercept": np.ones_like(s), "trend": s}
    level, slope = change in ("level", "both"), change in ("slope", "both")
    if level:
        cols["level change"] = post * 1.0
    if slope:
        cols["slope change"] = s * post
    if after is not None:
        if level:
            cols["level change after end"] = after * 1.0
        if slope:
            cols["slope change after end"] = since_end * after
    if seasonality is not None:
        if not isinstance(times.dtype, pd.PeriodDtype):
            raise SpecError("seasonality needs a period or date time column, not integers.")
        if seasonality == "fourier":
            if times.dtype.freq.rule_code not in ("M", "ME"):
                raise SpecError("Fourier seasonality is for monthly series.")
            month = times.dt.month.to_numpy()
            for j in range(1, k_fourier + 1):
                cols[f"sin{j}"] = np.sin(2 * np.pi * j * month / 12)
                cols[f"cos{j}"] = np.cos(2 * np.pi * j * month / 12)
        else:
            season = times.dt.month if seasonality == "month" else times.dt.quarter
            for level in range(2, 13) if seasonality == "month" else range(2, 5):
                cols[f"{seasonality}={level}"] = (season.to_numpy() == level) * 1.0
    return pd.DataFrame(cols)


def _fit_poisson(X: np.ndarray, y: np.ndarray, offset: np.ndarray):
    """Poisson GLM by Newton / IRLS from a least-squares start on log(y + 0.5)."""
    beta = np.linalg.lstsq(X, np.log(y + 0.5) - offset, rcond=None)[0]
    for _ in range(100):
        mu = np.exp(X @ beta + offset)
        step = np.linalg.solve(X.T @ (X * mu[:, None]), X.T @ (y - mu))
        beta = beta + step
        if np.max(np.abs(step)) < 1e-12 * (1 + np.max(np.abs(beta))):
            break
    else:  # pragma: no cover - Newton on a concave likelihood converges
        raise DesignError("The Poisson fit did not converge; check the counts and exposure.")
    return beta, np.exp(X @ beta + offset)


def _fit_quasi_arma11(
    X: np.ndarray, y: np.ndarray, offset: np.ndarray
) -> tuple[ARMA11Fit, np.ndarray]:
    """Quasi-Poisson mean with an ARMA(1,1) working correlation, by iterated GLS.

    ``Var(y_t) = phi mu_t`` and the Pearson residuals ``(y_t - mu_t) / sqrt(mu_t)``
    are stationary (Zeger 1988).  When the log mean carries a latent AR(1), as
    administrative counts with persistent shocks do, the Pearson residuals are that
    AR(1) plus the independent Poisson noise: an ARMA(1,1), whose lag-1
    autocorrelation is damped by the noise while the later ones decay at the latent
    rate.  An AR(1) working correlation ties both to one ``rho`` and so understates
    the persistence (92.7 % coverage at n = 60 in ``benchmarks/results/coverage.md``).

    Each step linearises the log link, ``z = X b + (y - mu) / mu`` with
    ``Var(z_t) = phi / mu_t``, scales the rows by ``sqrt(mu_t)`` so that the working
    errors have variance ``phi`` and ARMA(1,1) correlation, and fits them by
    :func:`~evaluate.inference.serial.arma11_gls` (``ar`` and ``ma`` by REML, ``phi``
    the REML variance, Satterthwaite df), until ``b`` settles.  Returns the last GLS
    fit and the fitted means.
    """
    beta, mu = _fit_poisson(X, y, offset)
    start, settled = None, False
    for _ in range(100):
        root = np.sqrt(mu)
        # Once b has nearly settled, (ar, ma) no longer move: hold them, which saves
        # re-running REML at every remaining step.
        fit = arma11_gls(X * root[:, None], (X @ beta + (y - mu) / mu) * root, start, settled)
        start = (fit.ar, fit.ma)
        step = fit.beta - beta
        beta = fit.beta
        mu = np.exp(X @ beta + offset)
        settled = np.max(np.abs(step)) < 1e-6 * (1 + np.max(np.abs(beta)))
        if np.max(np.abs(step)) < 1e-9 * (1 + np.max(np.abs(beta))):
            return fit, mu
    raise DesignError(  # pragma: no cover - the fixed point is a contraction in practice
        "The quasi-Poisson ARMA(1,1) fit did not converge; try cov='hac' and compare."
    )


def _window(times: pd.Series, start_p: Any, window: Any, time: str) -> np.ndarray:
    post = (times >= start_p).to_numpy()
    if window is None:
        return post
    if not isinstance(window, tuple | list) or len(window) != 2:
        raise SpecError(f"window must be an inclusive (first, last) pair, got {window!r}.")
    _, first, last = coerce_time(pd.DataFrame({time: times}), time, window[0], window[1])
    mask = post & (times >= first).to_numpy() & (times <= last).to_numpy()
    if not mask.any():
        raise SpecError(f"window {window!r} holds no post-period; it must lie from {start_p} on.")
    return mask


def _diagnostics(resid, y, fitted, lags, dispersion, family, rho) -> dict[str, Any]:
    from statsmodels.stats.diagnostic import acorr_ljungbox

    out: dict[str, Diagnostic | NotApplicable] = {}
    n = len(resid)
    lb_lags = min(12, n // 4)
    if lb_lags < 1:
        out["residual autocorrelation"] = NotApplicable(f"too few residuals ({n})")
    else:
        test = acorr_ljungbox(resid, lags=[lb_lags])
        p = float(test["lb_pvalue"].iloc[0])
        rho1 = float(np.corrcoef(resid[:-1], resid[1:])[0, 1]) if n > 2 else math.nan
        out["residual autocorrelation"] = Diagnostic(
            f"Ljung-Box Q({lb_lags})",
            float(test["lb_stat"].iloc[0]),
            p_value=p,
            passed=p >= 0.05,
            note=f"lag-1 autocorrelation {rho1:.3f}"
            + (" of the AR(1) innovations; " if rho is not None else "; ")
            + (
                "no evidence of autocorrelation"
                if p >= 0.05
                else "autocorrelation beyond AR(1): compare with cov='hac'"
                if rho is not None
                else f"autocorrelated: rely on AR(1) GLS or HAC standard errors ({lags} lags)"
            ),
        )
    if family == "gaussian":
        sst = float(np.sum((y - y.mean()) ** 2))
        r2 = 1 - float(np.sum((y - fitted) ** 2)) / sst if sst > 0 else math.nan
        sd = f"{'innovation' if rho is not None else 'residual'} SD {math.sqrt(dispersion):.4g}"
        out["model fit"] = Diagnostic("R²", r2, note=sd)
        if rho is not None:
            out["AR(1) coefficient"] = Diagnostic(
                "rho (REML)", rho, note="error autocorrelation modelled by feasible GLS"
            )
    else:
        out["overdispersion"] = Diagnostic(
            "Pearson X² / df",
            dispersion,
            passed=dispersion < 1.5,
            note="near 1 for Poisson counts; well above 1: use quasipoisson or HAC",
        )
    return out
