"""Compiled inner problem of the synthetic control: simplex least squares and the
outer loss with its gradient, for one diagonal ``V``.

The nested V search (:mod:`evaluate.estimators.synthetic._synth_core`) evaluates the inner
problem tens of thousands of times on matrices of a few dozen entries, where
NumPy's per-call overhead is most of the cost; numba compiles these loops
(``cache=True``: once per machine).

Inner problem, for fixed ``V`` (``gram = X0' V X0``, ``cross = X0' V x1``)::

    min_w  w' gram w - 2 cross' w    subject to  w >= 0, sum(w) = 1,

solved by a primal active-set method (Lawson-Hanson on the simplex): on the free
set, stationarity of the Lagrangian is the small KKT system

    [gram_FF  1] [w_F]   [cross_F]
    [1'       0] [mu ] = [1      ];

if its solution leaves the simplex, step to the boundary and shrink the free set;
otherwise free the donor whose gradient is lowest below the common level, until
none is.  The result satisfies the KKT conditions to rounding error.
"""

from __future__ import annotations

import numpy as np
from numba import njit

_EPS = 2.220446049250313e-16


@njit(cache=True)
def _solve_kkt(kkt, rhs):
    """``kkt^-1 rhs``; least squares if ``kkt`` is singular (free donors that are
    affinely dependent: any minimiser will do)."""
    ok = True
    try:
        sol = np.linalg.solve(kkt, rhs)
    except Exception:  # singular to machine precision
        ok = False
        sol = rhs.copy()
    if not ok or not np.isfinite(sol.sum()):
        sol = np.linalg.lstsq(kkt, rhs, rcond=_EPS * kkt.shape[0])[0]
    return sol


@njit(cache=True)
def _free_optimum(gram, cross, s):
    """Stationary point of the objective on the free set ``s`` (affine constraint only)."""
    m = s.shape[0]
    kkt = np.empty((m + 1, m + 1))
    rhs = np.empty(m + 1)
    for a in range(m):
        for b in range(m):
            kkt[a, b] = gram[s[a], s[b]]
        kkt[a, m] = 1.0
        kkt[m, a] = 1.0
        rhs[a] = cross[s[a]]
    kkt[m, m] = 0.0
    rhs[m] = 1.0
    return _solve_kkt(kkt, rhs)[:m]


@njit(cache=True)
def simplex_ls(gram, cross, w):
    """Minimise ``w' gram w - 2 cross' w`` on the simplex, starting from ``w`` (a
    point of the simplex, overwritten; all zeros: start at the best vertex)."""
    n = cross.shape[0]
    scale = max(np.abs(gram).max(), np.abs(cross).max(), 1e-300)
    tol_g = 1e-11 * scale
    tol_w = 1e-13
    if w.sum() <= 0.0:
        best, j = np.inf, 0
        for i in range(n):
            val = gram[i, i] - 2.0 * cross[i]
            if val < best:
                best, j = val, i
        w[j] = 1.0
    free = w > 0.0
    last_added = -1
    for _outer in range(4 * n + 20):
        # Optimum on the free set; if it leaves the simplex, step to the boundary and
        # drop the donors that reach zero (the objective never increases).
        for _inner in range(n + 1):
            s = np.nonzero(free)[0]
            z = _free_optimum(gram, cross, s)
            if z.min() > tol_w:
                w[:] = 0.0
                for a in range(s.shape[0]):
                    w[s[a]] = z[a]
                break
            ws = w[s]
            step = np.inf
            for a in range(s.shape[0]):
                if z[a] <= tol_w:
                    r = ws[a] / max(ws[a] - z[a], 1e-300)
                    if r < step:
                        step = r
            gone = False
            for a in range(s.shape[0]):
                val = ws[a] + step * (z[a] - ws[a])
                if val <= tol_w:
                    val = 0.0
                    free[s[a]] = False
                    gone = True
                w[s[a]] = val
            if not gone:  # rounding: drop the most negative one
                a = np.argmin(z)
                w[s[a]] = 0.0
                free[s[a]] = False
            if not free.any():  # restart from the largest weight of the step's start
                j = s[np.argmax(ws)]
                free[j] = True
                w[:] = 0.0
                w[j] = 1.0
        # Free the donor whose gradient is lowest below the level on the free set.
        grad = gram @ w - cross
        level, count = 0.0, 0
        lowest, j = np.inf, -1
        for i in range(n):
            if free[i]:
                level += grad[i]
                count += 1
            elif grad[i] < lowest:
                lowest, j = grad[i], i
        level /= count
        if j < 0 or not lowest < level - tol_g or j == last_added:
            break
        free[j] = True
        last_added = j
    total = 0.0
    for i in range(n):
        if w[i] < 0.0:
            w[i] = 0.0
        total += w[i]
    return w / total


@njit(cache=True)
def _weights(v, x0t, x0, x1, start):
    """Donor weights at ``V = diag(v)``, warm-started from ``start`` (zeros: cold)."""
    xv = x0t * v  # J x k
    return simplex_ls(xv @ x0, xv @ x1, start.copy())


@njit(cache=True)
def outer_loss(v, x0t, x0, x1, z0, z1, start):
    """Mean squared fit-window outcome gap at ``V = diag(v)``, and the weights."""
    w = _weights(v, x0t, x0, x1, start)
    gap = z1 - z0 @ w
    return (gap @ gap) / gap.shape[0], w


@njit(cache=True)
def outer_loss_grad(v, x0t, x0, x1, z0, z1, start):
    """Outer loss, its gradient in ``v`` and the weights.

    The gradient differentiates the KKT system on the optimum's support
    implicitly (the loss is smooth while the support holds):
    ``d w_S / d v_k`` solves ``KKT [dw; dmu] = [X_S,k * r_k; 0]`` with ``r`` the
    predictor residual ``x1 - X0 w``.
    """
    k = v.shape[0]
    w = _weights(v, x0t, x0, x1, start)
    gap = z1 - z0 @ w
    t = gap.shape[0]
    loss = (gap @ gap) / t
    s = np.nonzero(w > 0.0)[0]
    m = s.shape[0]
    xs = np.empty((k, m))
    for p in range(k):
        for a in range(m):
            xs[p, a] = x0[p, s[a]]
    resid = x1 - xs @ w[s]
    kkt = np.zeros((m + 1, m + 1))
    rhs = np.zeros((m + 1, k))
    for a in range(m):
        for b in range(m):
            acc = 0.0
            for p in range(k):
                acc += xs[p, a] * v[p] * xs[p, b]
            kkt[a, b] = acc
        kkt[a, m] = 1.0
        kkt[m, a] = 1.0
        for p in range(k):
            rhs[a, p] = xs[p, a] * resid[p]
    dw = np.ascontiguousarray(_solve_kkt(kkt, rhs)[:m])  # m x k
    zs = np.empty((t, m))
    for i in range(t):
        for a in range(m):
            zs[i, a] = z0[i, s[a]]
    grad = (-2.0 / t) * ((gap @ zs) @ dw)
    return loss, grad, w
