"""ARMA(1,1) feasible GLS (:func:`evaluate.inference.serial.arma11_gls`) against an
independent dense computation: statsmodels' ``arma_acf`` for the correlation, a
Nelder-Mead REML on the dense likelihood, statsmodels GLS at the REML parameters, and
the Satterthwaite df from numerically differentiated dense covariances."""

from __future__ import annotations

import math

import numpy as np
import pytest
import statsmodels.api as sm
from scipy.linalg import toeplitz
from scipy.optimize import minimize
from statsmodels.tsa.arima_process import arma_acf

from evaluate.inference.serial import arma11_acf, arma11_gls


def _corr(n, ar, ma):
    return toeplitz(arma_acf([1, -ar], [1, ma], lags=n))


def _reml_dense(theta, X, y):
    n, k = X.shape
    ar, ma = theta
    if max(abs(ar), abs(ma)) >= 0.99:
        return math.inf
    r_inv = np.linalg.inv(_corr(n, ar, ma))
    xrx = X.T @ r_inv @ X
    beta = np.linalg.solve(xrx, X.T @ r_inv @ y)
    u = y - X @ beta
    return 0.5 * (np.linalg.slogdet(_corr(n, ar, ma))[1] + np.linalg.slogdet(xrx)[1]
                  + (n - k) * math.log(float(u @ r_inv @ u)))  # fmt: skip


def _data(seed=1, n=80, ar=0.7, ma=-0.4):
    rng = np.random.default_rng(seed)
    e = sm.tsa.arma_generate_sample([1, -ar], [1, ma], n, distrvs=rng.standard_normal)
    t = np.arange(n)
    X = np.column_stack([np.ones(n), t, t >= 50, (t - 50) * (t >= 50)]).astype(float)
    return X, 10 + 0.1 * t - 2.0 * (t >= 50) + e


@pytest.mark.parametrize(("ar", "ma"), [(0.5, 0.0), (0.8, -0.5), (-0.3, 0.6), (0.9, 0.2)])
def test_acf_and_slopes_match_statsmodels(ar, ma):
    r, d_ar, d_ma = arma11_acf(30, ar, ma)
    np.testing.assert_allclose(r, arma_acf([1, -ar], [1, ma], lags=30), atol=1e-13)
    h = 1e-6  # central differences, error ~1e-11
    num_ar = arma_acf([1, -ar - h], [1, ma], lags=30) - arma_acf([1, -ar + h], [1, ma], lags=30)
    num_ma = arma_acf([1, -ar], [1, ma + h], lags=30) - arma_acf([1, -ar], [1, ma - h], lags=30)
    np.testing.assert_allclose(d_ar, num_ar / (2 * h), atol=1e-7)
    np.testing.assert_allclose(d_ma, num_ma / (2 * h), atol=1e-7)


def test_arma11_gls_matches_dense_reml_and_statsmodels_gls():
    X, y = _data()
    n, k = X.shape
    fit = arma11_gls(X, y)
    ref = minimize(_reml_dense, [0.3, 0.0], args=(X, y), method="Nelder-Mead",
                   options={"xatol": 1e-9, "fatol": 1e-12, "maxiter": 5000})  # fmt: skip
    # Tolerance 1e-4 on (ar, ma): both optimisers stop on a flat surface.
    assert fit.ar == pytest.approx(ref.x[0], abs=1e-4)
    assert fit.ma == pytest.approx(ref.x[1], abs=1e-4)
    gls = sm.GLS(y, X, sigma=_corr(n, fit.ar, fit.ma)).fit()
    np.testing.assert_allclose(fit.beta, gls.params, rtol=1e-8)
    np.testing.assert_allclose(np.sqrt(np.diag(fit.vcov)), gls.bse, rtol=1e-8)
    assert fit.sigma2 == pytest.approx(gls.scale, rel=1e-8)
    # Satterthwaite df, dense: REML information 1/2 tr(P S_i P S_j) with S_i the
    # numerical derivatives of Sigma = s2 R(ar, ma); P_i = -X' S^-1 S_i S^-1 X.
    s2, h = fit.sigma2, 1e-6
    sig = s2 * _corr(n, fit.ar, fit.ma)
    slopes = [
        sig / s2,
        s2 * (_corr(n, fit.ar + h, fit.ma) - _corr(n, fit.ar - h, fit.ma)) / (2 * h),
        s2 * (_corr(n, fit.ar, fit.ma + h) - _corr(n, fit.ar, fit.ma - h)) / (2 * h),
    ]
    si = np.linalg.inv(sig)
    phi = np.linalg.inv(X.T @ si @ X)
    proj = si - si @ X @ phi @ X.T @ si
    info = 0.5 * np.array([[np.trace(proj @ a @ proj @ b) for b in slopes] for a in slopes])
    w = np.linalg.inv(info)
    for c in np.eye(k):
        g = np.array([c @ phi @ (-X.T @ si @ s @ si @ X) @ phi @ c for s in slopes])
        assert fit.df(c)[0] == pytest.approx(2 * (c @ phi @ c) ** 2 / (g @ w @ g), rel=1e-5)
    # innovations: the residuals whitened by the fitted correlation
    u = fit.innovations(y - X @ fit.beta)
    assert float(u @ u) / (n - k) == pytest.approx(fit.sigma2, rel=1e-10)
