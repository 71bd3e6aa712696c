"""Numerical core of synthetic DiD: the Frank-Wolfe weights of R ``synthdid`` 0.0.9.

Kept apart from :mod:`evaluate.estimators.synthetic.sdid` (front door and result) because the
placebo standard error refits the weights hundreds of times: everything here is
pure NumPy.  ``synthdid``'s ``sc.weight.fw`` is reproduced step for step (exact
line search, stopping when the objective falls by no more than
``min_decrease**2``, at most 10,000 steps, sparsification after 100), computed on
the Gram matrix and batched over problems.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np


@dataclass(frozen=True)
class _Options:
    """Regularisation and stopping rule of one fit, kept for the placebo refits."""

    zeta_omega: float
    zeta_lambda: float
    omega_intercept: bool
    update_omega: bool
    update_lambda: bool
    min_decrease: float
    max_iter: int = 10_000
    max_iter_pre_sparsify: int = 100


def frank_wolfe(
    y: np.ndarray,
    zeta: float,
    intercept: bool,
    start: np.ndarray,
    min_decrease: float,
    max_iter: int,
) -> np.ndarray:
    """``sc.weight.fw`` for a batch of problems: min over the simplex of
    ``zeta^2 |x|^2 + |A x - b|^2 / rows``, one problem per leading index.

    ``y`` is R x rows x (k + 1) with ``A = y[r, :, :k]`` and ``b = y[r, :, k]``; with
    ``intercept`` the columns are centred first.  Each problem runs until its
    objective falls by no more than ``min_decrease**2`` in a step, or ``max_iter``
    steps.  The steps are synthdid's ``fw.step`` (exact line search), computed on the
    Gram matrix and batched over problems: placebo refits, which run the 10,000-step
    cap, then cost one vectorised loop instead of hundreds of Python loops.
    """
    if intercept:
        y = y - y.mean(axis=1, keepdims=True)
    n_prob, rows, k = y.shape[0], y.shape[1], y.shape[2] - 1
    a, b = y[:, :, :k], y[:, :, k]
    gram = np.einsum("rnk,rnl->rkl", a, a)
    cross = np.einsum("rnk,rn->rk", a, b)
    bb = np.einsum("rn,rn->r", b, b)
    diag = np.einsum("rkk->rk", gram)
    zeta2 = zeta * zeta
    eta = rows * zeta2
    # Row i of h is the half-gradient at the vertex e_i; the half-gradient at a
    # convex combination is the same combination, so it updates in O(k).
    h = gram + eta * np.eye(k) - cross[:, None, :]
    x = np.array(start, dtype=float, copy=True)
    if n_prob == 1:
        return _frank_wolfe_one(
            h[0], gram[0], cross[0], float(bb[0]), x[0], zeta2, eta, rows, min_decrease, max_iter
        )[None]
    rr = np.arange(n_prob)
    prev = np.full(n_prob, np.inf)
    cur = np.full(n_prob, np.inf)
    active = np.ones(n_prob, dtype=bool)
    md2 = min_decrease**2
    t = 0
    while t < max_iter and active.any():
        if t % 256 == 0:  # resynchronise the running scalars (rounding drift)
            gx = np.einsum("rkl,rl->rk", gram, x)
            hg = gx + eta * x - cross
            xx, xgx, xc = (x * x).sum(1), (x * gx).sum(1), (x * cross).sum(1)
        i = np.argmin(hg, axis=1)
        xi, hgi, ci = x[rr, i], hg[rr, i], cross[rr, i]
        gxi = hgi - eta * xi + ci
        dxdx = xx - 2.0 * xi + 1.0
        num = -(hgi - (xgx - xc + eta * xx))
        den = diag[rr, i] - 2.0 * gxi + xgx + eta * dxdx
        vertex = (xi == 1.0) | (den <= 0)
        step = np.where(vertex | ~active, 0.0, np.clip(num / np.where(vertex, 1.0, den), 0, 1))
        keep = 1.0 - step
        x *= keep[:, None]
        x[rr, i] += step
        hg = keep[:, None] * hg + step[:, None] * h[rr, i]
        xgx = keep**2 * xgx + 2 * step * keep * gxi + step**2 * diag[rr, i]
        xx = keep**2 * xx + 2 * step * keep * xi + step**2
        xc = keep * xc + step * ci
        val = zeta2 * xx + (xgx - 2.0 * xc + bb) / rows
        prev, cur = cur, np.where(active, val, cur)
        t += 1
        if t >= 2:
            active &= prev - cur > md2
    return x


def _frank_wolfe_one(h, gram, cross, bb, x, zeta2, eta, rows, min_decrease, max_iter):
    """The same iterations for a single problem, with the running scalars as Python
    floats: numpy calls on length-1 arrays would cost more than the arithmetic."""
    diag = np.diag(gram).copy()
    prev = cur = math.inf
    md2 = min_decrease**2
    t = 0
    while t < max_iter and (t < 2 or prev - cur > md2):
        if t % 256 == 0:  # resynchronise the running scalars (rounding drift)
            gx = gram @ x
            hg = gx + eta * x - cross
            xx, xgx, xc = float(x @ x), float(x @ gx), float(x @ cross)
        i = int(np.argmin(hg))
        xi, hgi, ci = float(x[i]), float(hg[i]), float(cross[i])
        gxi = hgi - eta * xi + ci
        dxdx = xx - 2.0 * xi + 1.0
        den = float(diag[i]) - 2.0 * gxi + xgx + eta * dxdx
        step = 0.0
        if xi != 1.0 and den > 0:
            step = min(1.0, max(0.0, -(hgi - (xgx - xc + eta * xx)) / den))
        if step > 0:
            keep = 1.0 - step
            x *= keep
            x[i] += step
            hg *= keep
            hg += step * h[i]
            xgx = keep * keep * xgx + 2 * step * keep * gxi + step * step * float(diag[i])
            xx = keep * keep * xx + 2 * step * keep * xi + step * step
            xc = keep * xc + step * ci
        prev, cur = cur, zeta2 * xx + (xgx - 2.0 * xc + bb) / rows
        t += 1
    return x


def _sparsify(v: np.ndarray) -> np.ndarray:
    v = np.where(v <= v.max(axis=1, keepdims=True) / 4, 0.0, v)
    return v / v.sum(axis=1, keepdims=True)


def _weights(y: np.ndarray, n0: int, t0: int, opts: _Options, omega0, lambda0):
    """Unit and time weights of ``synthdid_estimate`` for a batch of N x T matrices
    ``y`` (R x N x T, controls first, pre-periods first); ``omega0`` (R x n0) and
    ``lambda0`` (R x t0) are fixed weights or starting points, or None (uniform)."""
    n_prob = y.shape[0]
    # collapsed.form: treated rows and post columns averaged.
    top = np.concatenate([y[:, :n0, :t0], y[:, :n0, t0:].mean(axis=2, keepdims=True)], axis=2)
    bottom = np.concatenate(
        [y[:, n0:, :t0].mean(axis=1), y[:, n0:, t0:].mean(axis=(1, 2))[:, None]], axis=1
    )
    yc = np.concatenate([top, bottom[:, None, :]], axis=1)
    lam = None if lambda0 is None else np.broadcast_to(lambda0, (n_prob, t0))
    omega = None if omega0 is None else np.broadcast_to(omega0, (n_prob, n0))
    problems = (
        ("lambda", opts.update_lambda, yc[:, :n0, :], opts.zeta_lambda, True),
        ("omega", opts.update_omega, yc[:, :, :t0].transpose(0, 2, 1), opts.zeta_omega,
         opts.omega_intercept),
    )  # fmt: skip
    for which, update, mat, zeta, intercept in problems:
        if not update:
            continue
        init = lam if which == "lambda" else omega
        k = mat.shape[2] - 1
        if init is None:
            init = np.full((n_prob, k), 1.0 / k)
        w = frank_wolfe(mat, zeta, intercept, init, opts.min_decrease, opts.max_iter_pre_sparsify)
        w = frank_wolfe(mat, zeta, intercept, _sparsify(w), opts.min_decrease, opts.max_iter)
        if which == "lambda":
            lam = w
        else:
            omega = w
    return omega, lam


def _tau(y: np.ndarray, n0: int, t0: int, omega: np.ndarray, lam: np.ndarray) -> np.ndarray:
    d = y[:, n0:].mean(axis=1) - np.einsum("rn,rnt->rt", omega, y[:, :n0])
    return d[:, t0:].mean(axis=1) - np.einsum("rt,rt->r", lam, d[:, :t0])


def _noise_level(y: np.ndarray, n0: int, t0: int) -> float:
    return float(np.std(np.diff(y[:n0, :t0], axis=1), ddof=1))


def _setup(y: np.ndarray, n0: int, t0: int, estimator: str) -> tuple[_Options, Any, Any]:
    """Options and fixed weights of ``synthdid_estimate`` / ``sc_estimate`` / ``did_estimate``."""
    n1, t1 = y.shape[0] - n0, y.shape[1] - t0
    noise = _noise_level(y, n0, t0)
    if estimator == "sdid":
        eta_omega = (n1 * t1) ** 0.25
        return _Options(eta_omega * noise, 1e-6 * noise, True, True, True, 1e-5 * noise), None, None
    if estimator == "sc":
        opts = _Options(1e-6 * noise, 1e-6 * noise, False, True, False, 1e-5 * noise)
        return opts, None, np.zeros(t0)
    opts = _Options(noise, noise, True, False, False, 1e-5 * noise)
    return opts, np.full(n0, 1.0 / n0), np.full(t0, 1.0 / t0)


def fit_estimator(y: np.ndarray, n0: int, t0: int, estimator: str):
    """Point estimate, omega, lambda and options for the N x T matrix ``y``."""
    opts, omega0, lambda0 = _setup(y, n0, t0, estimator)
    omega, lam = _weights(y[None], n0, t0, opts, omega0, lambda0)
    return float(_tau(y[None], n0, t0, omega, lam)[0]), omega[0], lam[0], opts


def placebo_estimates(y, n0, t0, omega, lam, opts, orders: np.ndarray) -> np.ndarray:
    """``placebo_se``'s replications: each row of ``orders`` is a permutation of the
    controls; its last N1 play treated, the rest are controls with the main fit's
    weights (renormalised) as starting point.  All replications are fitted at once."""
    m0 = n0 - (y.shape[0] - n0)
    yb = y[orders]
    om0 = omega[orders[:, :m0]]
    totals = om0.sum(axis=1, keepdims=True)
    om0 = np.where(totals != 0, om0 / np.where(totals != 0, totals, 1.0), 1.0 / m0)
    om, la = _weights(yb, m0, t0, opts, om0, lam)
    return _tau(yb, m0, t0, om, la)
