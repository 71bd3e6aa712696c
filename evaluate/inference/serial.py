"""Inference with serially correlated errors: Newey-West HAC and AR(1) feasible GLS.

Shared by the time-series designs.  ``hac_meat`` is the Bartlett-kernel long-run
covariance with the Newey & West (1994) plug-in lag; ``prais_winsten`` fits AR(1)
errors by feasible GLS with ``rho`` chosen by REML (as R ``nlme::gls``), keeping the
first observation.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

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


def _corr_slope(n: int, rho: float) -> np.ndarray:
    """``dC/drho`` for the AR(1) covariance ``C_ij = rho^|i-j| / (1 - rho^2)``."""
    d = np.abs(np.subtract.outer(np.arange(n), np.arange(n))).astype(float)
    g = 1.0 / (1.0 - rho**2)
    p1 = np.where(d >= 1, d * rho ** np.maximum(d - 1, 0), 0.0)
    return p1 * g + rho**d * 2.0 * rho * g**2


@dataclass(frozen=True, eq=False)
class AR1Fit:
    """Feasible GLS with AR(1) errors and Satterthwaite degrees of freedom.

    ``vcov = s^2 (X*' X*)^-1`` with the REML variance ``s^2 = u'u / (n - k)`` over
    the whitened residuals ``u``.  Treating ``rho`` as known makes t(n - k)
    intervals too narrow in short, autocorrelated series; :meth:`df` gives each
    contrast its Satterthwaite degrees of freedom instead,

        nu(c) = 2 (c' Phi c)^2 / (g' W g),   g_i = c' Phi P_i Phi c,

    with ``Phi = (X' Sigma^-1 X)^-1``, ``P_i = X' dSigma^-1/dtheta_i X`` and ``W`` the
    inverse expected REML information of ``theta = (sigma^2, rho)`` (Giesbrecht &
    Burns 1985; the df that R ``lmerTest`` uses for mixed models).
    """

    beta: np.ndarray
    vcov: np.ndarray
    rho: float
    sigma2: float
    _p: tuple[np.ndarray, np.ndarray]  # P_sigma2, P_rho
    _w: np.ndarray  # 2 x 2 inverse information

    def df(self, contrasts: np.ndarray) -> np.ndarray:
        """Satterthwaite df of each row of ``contrasts`` (inf where ``rho`` and
        ``sigma^2`` do not move its variance)."""
        c = np.atleast_2d(contrasts)
        cphi = c @ self.vcov
        var = np.einsum("ij,ij->i", cphi, c)
        g = np.column_stack([np.einsum("ij,jk,ik->i", cphi, p, cphi) for p in self._p])
        denom = np.einsum("ij,jk,ik->i", g, self._w, g)
        with np.errstate(divide="ignore", invalid="ignore"):
            nu = np.where(denom > 0, 2.0 * var**2 / np.where(denom > 0, denom, 1.0), np.inf)
        return nu


def prais_winsten(X: np.ndarray, y: np.ndarray) -> AR1Fit:
    """Feasible GLS with AR(1) errors: ``rho`` by REML, then Prais-Winsten GLS
    (first observation kept), with Satterthwaite degrees of freedom (:class:`AR1Fit`)."""
    from scipy.optimize import minimize_scalar

    n, k = X.shape
    res = minimize_scalar(
        _ar1_reml, bounds=(-0.99, 0.99), args=(X, y), method="bounded", options={"xatol": 1e-9}
    )
    rho = float(res.x)
    beta, u, r = _gls_ar1(X, y, rho)
    s2 = float(u @ u) / (n - k)
    r_inv = np.linalg.inv(r)
    vcov = s2 * (r_inv @ r_inv.T)
    # Whitened form: Sigma^-1 = W'W / s2 (W the Prais-Winsten transform), so with
    # X* = W X, Q = orth(X*) and G_i = W dSigma_i W': the REML projection is
    # W' (I - QQ') W / s2, G_sigma2 = I and G_rho = s2 W (dC/drho) W'.
    xs = whiten(X, rho)
    q = np.linalg.qr(xs)[0]
    g_rho = s2 * whiten(whiten(_corr_slope(n, rho), rho).T, rho).T
    g_q = g_rho @ q
    qgq = q.T @ g_q

    # 2 x REML information: tr(M G_i M G_j) with M = I - QQ' (rank-k projection).
    cross = np.trace(g_rho) - np.trace(qgq)
    rho_rho = np.sum(g_rho * g_rho.T) - 2.0 * np.sum(g_q * g_q) + np.sum(qgq * qgq.T)
    info = 0.5 / s2**2 * np.array([[n - k, cross], [cross, rho_rho]])
    p_s2 = -(xs.T @ xs) / s2**2
    p_rho = -(xs.T @ g_rho @ xs) / s2**2
    return AR1Fit(beta, vcov, rho, s2, (p_s2, p_rho), np.linalg.inv(info))


def _satterthwaite(vcov: np.ndarray, p: tuple, w: np.ndarray, contrasts: np.ndarray) -> np.ndarray:
    """``nu(c) = 2 (c' Phi c)^2 / (g' W g)``, ``g_i = c' Phi P_i Phi c`` (inf where the
    covariance parameters do not move the contrast's variance)."""
    c = np.atleast_2d(contrasts)
    cphi = c @ vcov
    var = np.einsum("ij,ij->i", cphi, c)
    g = np.column_stack([np.einsum("ij,jk,ik->i", cphi, pi, cphi) for pi in p])
    denom = np.einsum("ij,jk,ik->i", g, w, g)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(denom > 0, 2.0 * var**2 / np.where(denom > 0, denom, 1.0), np.inf)


def arma11_acf(n: int, ar: float, ma: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Autocorrelations ``r_0..r_(n-1)`` of a stationary ARMA(1,1) with AR ``ar`` and
    MA ``ma`` and their derivatives in ``ar`` and ``ma``.

    ``r_1 = (1 + ar ma)(ar + ma) / (1 + 2 ar ma + ma^2)`` and ``r_h = ar^(h-1) r_1``
    (Box, Jenkins & Reinsel, eq. 3.4.8).  An AR(1) plus independent noise, e.g. the
    Pearson residuals of counts whose log mean follows a latent AR(1), is an ARMA(1,1)
    with ``ma`` of the opposite sign to ``ar``.
    """
    num, den = (1 + ar * ma) * (ar + ma), 1 + 2 * ar * ma + ma**2
    f = num / den
    f_ar = ((ma * (ar + ma) + 1 + ar * ma) * den - num * 2 * ma) / den**2
    f_ma = ((ar * (ar + ma) + 1 + ar * ma) * den - num * 2 * (ar + ma)) / den**2
    h = np.arange(n, dtype=float)
    pw = np.where(h >= 1, ar ** np.maximum(h - 1, 0), 0.0)
    dpw = np.where(h >= 2, (h - 1) * ar ** np.maximum(h - 2, 0), 0.0)
    r = pw * f
    r[0] = 1.0
    return r, dpw * f + pw * f_ar, pw * f_ma


def _toeplitz(r: np.ndarray) -> np.ndarray:
    n = len(r)
    return r[np.abs(np.subtract.outer(np.arange(n), np.arange(n)))]


def _gls_chol(X: np.ndarray, y: np.ndarray, corr: np.ndarray):
    """GLS with correlation ``corr``: Cholesky factor, whitened X and y, beta,
    whitened residuals, R of QR(X*) and ``log|corr|``."""
    from scipy.linalg import solve_triangular

    chol = np.linalg.cholesky(corr)
    xs = solve_triangular(chol, X, lower=True)
    ys = solve_triangular(chol, y, lower=True)
    q, r = np.linalg.qr(xs)
    beta = np.linalg.solve(r, q.T @ ys)
    return chol, xs, beta, ys - xs @ beta, r, 2.0 * float(np.sum(np.log(np.diag(chol))))


def _arma11_reml(theta: np.ndarray, X: np.ndarray, y: np.ndarray) -> float:
    """Minus the REML log likelihood of ARMA(1,1) errors, profiled over ``sigma^2``."""
    n, k = X.shape
    try:
        _, _, _, u, r, logdet = _gls_chol(X, y, _toeplitz(arma11_acf(n, *theta)[0]))
    except np.linalg.LinAlgError:  # pragma: no cover - only at the bounds
        return math.inf
    logdet_xrx = 2.0 * float(np.sum(np.log(np.abs(np.diag(r)))))
    return 0.5 * (logdet + logdet_xrx + (n - k) * math.log(float(u @ u)))


@dataclass(frozen=True, eq=False)
class ARMA11Fit:
    """Feasible GLS with ARMA(1,1) errors and Satterthwaite degrees of freedom.

    As :class:`AR1Fit` with the covariance parameters ``(sigma^2, ar, ma)``, all by
    REML; ``rho`` is the lag-1 autocorrelation of the fitted error process.
    """

    beta: np.ndarray
    vcov: np.ndarray
    ar: float
    ma: float
    rho: float
    sigma2: float
    _chol: np.ndarray
    _p: tuple[np.ndarray, ...]
    _w: np.ndarray

    def df(self, contrasts: np.ndarray) -> np.ndarray:
        """Satterthwaite df of each row of ``contrasts``."""
        return _satterthwaite(self.vcov, self._p, self._w, contrasts)

    def innovations(self, resid: np.ndarray) -> np.ndarray:
        """Residuals whitened by the fitted correlation (Cholesky), the standardized
        one-step prediction errors of the ARMA(1,1)."""
        from scipy.linalg import solve_triangular

        return solve_triangular(self._chol, resid, lower=True)


def arma11_gls(
    X: np.ndarray, y: np.ndarray, start: tuple[float, float] | None = None, fixed: bool = False
) -> ARMA11Fit:
    """Feasible GLS with ARMA(1,1) errors: ``(ar, ma)`` by REML (bounded to
    ``(-0.99, 0.99)``; started from the AR(1) REML fit unless ``start`` is given, or
    held at ``start`` if ``fixed``), then GLS with Satterthwaite degrees of freedom
    (:class:`ARMA11Fit`)."""
    from scipy.optimize import minimize

    n, k = X.shape
    if start is None:
        start = (prais_winsten(X, y).rho, 0.0)
    if fixed:
        ar, ma = start
    else:
        res = minimize(
            _arma11_reml, np.asarray(start, dtype=float), args=(X, y), method="L-BFGS-B",
            bounds=[(-0.99, 0.99)] * 2, options={"ftol": 1e-12, "gtol": 1e-8},
        )  # fmt: skip
        ar, ma = (float(v) for v in res.x)
    r, dr_ar, dr_ma = arma11_acf(n, ar, ma)
    chol, xs, beta, u, rr, _ = _gls_chol(X, y, _toeplitz(r))
    s2 = float(u @ u) / (n - k)
    r_inv = np.linalg.inv(rr)
    vcov = s2 * (r_inv @ r_inv.T)
    # REML information of (sigma^2, ar, ma): 0.5 tr(P S_i P S_j), P the REML projection
    # Sigma^-1 - Sigma^-1 X Phi X' Sigma^-1 and S_i = dSigma / dtheta_i.
    from scipy.linalg import solve_triangular

    l_inv = solve_triangular(chol, np.eye(n), lower=True)
    sig_inv = l_inv.T @ l_inv / s2
    sx = l_inv.T @ xs / s2  # Sigma^-1 X
    proj = sig_inv - sx @ vcov @ sx.T
    slopes = [_toeplitz(r), s2 * _toeplitz(dr_ar), s2 * _toeplitz(dr_ma)]
    ps = [proj @ s for s in slopes]
    info = 0.5 * np.array([[np.sum(a * b.T) for b in ps] for a in ps])
    p = tuple(-(sx.T @ s @ sx) for s in slopes)
    return ARMA11Fit(beta, vcov, ar, ma, float(r[1]), s2, chol, p, np.linalg.pinv(info))
