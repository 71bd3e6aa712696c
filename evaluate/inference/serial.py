"""Inference with serially correlated errors: Newey-West HAC and AR(1) feasible GLS.

Shared by the time-series designs.  ``hac_meat`` is the Bartlett-kernel long-run
covariance with the Newey & West (1994) plug-in lag; ``prais_winsten`` fits AR(1)
errors by feasible GLS with ``rho`` chosen by REML (as R ``nlme::gls``), keeping the
first observation.
"""

from __future__ import annotations

import math

import numpy as np


def newey_west_lags(n: int) -> int:
    """Newey & West (1994) plug-in lag for the Bartlett kernel: ``floor(4 (n/100)^(2/9))``."""
    return int(math.floor(4 * (n / 100) ** (2 / 9)))


def hac_meat(scores: np.ndarray, lags: int) -> np.ndarray:
    """Newey-West long-run covariance of the rows of ``scores`` (Bartlett weights
    ``1 - l / (lags + 1)``), without a small-sample correction."""
    meat = scores.T @ scores
    for lag in range(1, lags + 1):
        gamma = scores[lag:].T @ scores[:-lag]
        meat += (1 - lag / (lags + 1)) * (gamma + gamma.T)
    return meat


def whiten(a: np.ndarray, rho: float) -> np.ndarray:
    """Prais-Winsten transform for AR(1) errors, keeping the first observation."""
    return np.concatenate([math.sqrt(1 - rho**2) * a[:1], a[1:] - rho * a[:-1]])


def _gls_ar1(X: np.ndarray, y: np.ndarray, rho: float):
    """GLS at a given ``rho``: coefficients, whitened residuals and the R of QR(X*)."""
    q, r = np.linalg.qr(whiten(X, rho))
    ys = whiten(y, rho)
    beta = np.linalg.solve(r, q.T @ ys)
    return beta, ys - whiten(X, rho) @ beta, r


def _ar1_reml(rho: float, X: np.ndarray, y: np.ndarray) -> float:
    """Minus the REML log likelihood of AR(1) errors, profiled over ``sigma^2``.

    With ``Sigma = sigma^2 R``, ``|R| = 1 / (1 - rho^2)`` and ``W' W = R^-1`` (W the
    Prais-Winsten transform): ``log|R| + log|X' R^-1 X| + (n - k) log(u'u)`` over 2.
    """
    n, k = X.shape
    _, u, r = _gls_ar1(X, y, rho)
    logdet_xrx = 2.0 * float(np.sum(np.log(np.abs(np.diag(r)))))
    return 0.5 * (-math.log(1 - rho**2) + logdet_xrx + (n - k) * math.log(float(u @ u)))


def prais_winsten(X: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray, float, int]:
    """Feasible GLS with AR(1) errors: ``rho`` by REML, then Prais-Winsten GLS.

    Returns ``(beta, vcov, rho, df)`` with ``vcov = s^2 (X*' X*)^-1``,
    ``s^2 = u'u / (n - k - 1)`` over the whitened residuals ``u`` and
    ``df = n - k - 1`` (one degree of freedom spent on ``rho``).
    """
    from scipy.optimize import minimize_scalar

    n, k = X.shape
    res = minimize_scalar(
        _ar1_reml, bounds=(-0.99, 0.99), args=(X, y), method="bounded", options={"xatol": 1e-9}
    )
    rho = float(res.x)
    beta, u, r = _gls_ar1(X, y, rho)
    df = n - k - 1
    r_inv = np.linalg.inv(r)
    return beta, float(u @ u) / df * (r_inv @ r_inv.T), rho, df
