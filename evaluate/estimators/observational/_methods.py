"""Estimating pieces behind :func:`evaluate.estimators.observational.observational`.

The nuisance models (a logit propensity score by Newton-Raphson, OLS outcome
models), the M-estimation sandwich, and one fit per method:

* regression imputation, IPW with Hájek weights and doubly robust AIPW, each
  written as a stack of estimating equations (propensity model, outcome model,
  effect) whose sandwich variance ``J⁻¹ B J⁻ᵀ / n`` includes the estimation of
  the nuisance models (Lunceford & Davidian 2004);
* trimming of units with propensity scores outside ``[trim, 1 - trim]`` and a
  refit of the score on the rest;
* nearest-neighbour matching with replacement and the Abadie-Imbens (2006)
  variance, the conditional variances estimated by matching controls to controls;
* the seeded bootstrap that resamples within treatment groups and refits everything.

:class:`_Fit` carries the estimate, its analytic SE and the weights each unit got,
which the front door turns into balance and overlap diagnostics.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.special import expit

from evaluate.errors import DesignError
from evaluate.estimators.trials._trial_inference import _welch_dim


# --------------------------------------------------------------------------- nuisance models
def logit_fit(X: np.ndarray, d: np.ndarray, max_iter: int = 100) -> np.ndarray:
    """Logit coefficients by Newton-Raphson; ``X`` includes the constant.

    Raises :class:`DesignError` on perfect separation (a score of 0 or 1), where the
    propensity score is not estimable and weights would be infinite.
    """
    gamma = np.zeros(X.shape[1])
    for _ in range(max_iter):
        e = expit(X @ gamma)
        hess = (X * (e * (1 - e))[:, None]).T @ X
        try:
            step = np.linalg.solve(hess, X.T @ (d - e))
        except np.linalg.LinAlgError:
            break
        gamma = gamma + step
        if np.max(np.abs(step)) < 1e-9 * max(1.0, np.max(np.abs(gamma))):
            return gamma
    raise DesignError(
        "The propensity score model does not converge: some covariate (or combination) "
        "separates treated from controls perfectly, so some scores are 0 or 1 and there is "
        "no comparable control for them. Drop that covariate, restrict the sample to the "
        "common support, or set trim (e.g. trim=0.01)."
    )


def _expit(eta: np.ndarray) -> np.ndarray:
    return expit(eta)


def sandwich(psi: Callable[[np.ndarray], np.ndarray], theta: np.ndarray) -> np.ndarray:
    """M-estimation variance ``J⁻¹ B J⁻ᵀ / n`` of ``theta`` solving ``mean psi(theta) = 0``.

    ``psi`` returns the ``(n, q)`` stacked estimating functions; ``J`` is the
    Jacobian of their mean by central differences, ``B`` their mean outer product.
    """
    scores = psi(theta)
    n, q = scores.shape
    J = np.empty((q, q))
    for j in range(q):
        h = 1e-6 * max(1.0, abs(theta[j]))
        up, down = theta.copy(), theta.copy()
        up[j] += h
        down[j] -= h
        J[:, j] = (psi(up).mean(axis=0) - psi(down).mean(axis=0)) / (2 * h)
    B = scores.T @ scores / n
    J_inv = np.linalg.inv(J)
    return J_inv @ B @ J_inv.T / n


def _ols(X: np.ndarray, y: np.ndarray, what: str) -> np.ndarray:
    if np.linalg.matrix_rank(X) < X.shape[1]:
        raise DesignError(
            f"The outcome model is collinear among the {what} (a covariate is constant "
            "there or a combination of others). Drop it from covariates."
        )
    return np.linalg.lstsq(X, y, rcond=None)[0]


# --------------------------------------------------------------------------- the fit
@dataclass(frozen=True)
class _Fit:
    estimate: float
    se: float
    w_treated: np.ndarray  # weight of each treated unit in the comparison (sums to 1)
    w_control: np.ndarray  # weight of each control (sums to 1)
    keep: np.ndarray  # units used after trimming
    score: np.ndarray | None  # propensity score of every unit (before trimming)
    n_unmatched: int = 0
    n_controls_unused: int = 0  # matching: controls never chosen as a match
    pair_differences: np.ndarray | None = None  # matching, 1 neighbour: treated - control
    controls_reused: bool = False  # matching: some control serves several treated


def _fit(
    y: np.ndarray, d: np.ndarray, X: np.ndarray, spec: dict[str, Any], diagnose: bool = True
) -> _Fit:
    """One estimate with its analytic SE.  ``X``: standardized covariates (no constant).

    ``diagnose`` fits the propensity score for the overlap diagnostics even where the
    method does not use it (regression); a failure there is left to the diagnostics.
    """
    method, att = spec["method"], spec["estimand"] == "att"
    n = len(y)
    keep = np.ones(n, dtype=bool)
    score = None
    Xc = np.column_stack([np.ones(n), X])
    uses_score = method in ("ipw", "aipw") or (
        method == "matching" and spec["match_on"] == "propensity"
    )
    if X.shape[1] and (uses_score or diagnose):
        try:
            score = _expit(Xc @ logit_fit(Xc, d))
        except DesignError:
            if uses_score:
                raise
        if spec["trim"] > 0 and score is not None and method in ("ipw", "aipw", "matching"):
            keep = (score >= spec["trim"]) & (score <= 1 - spec["trim"])
            if d[keep].sum() < 2 or (1 - d[keep]).sum() < 2:
                raise DesignError(
                    f"trim={spec['trim']} leaves fewer than 2 treated or 2 controls; lower it."
                )
    y, d, Xc = y[keep], d[keep], Xc[keep]
    t, c = d == 1, d == 0
    if method == "difference":
        est, se, _ = _welch_dim(y[t], y[c])
        return _Fit(est, se, t[t] / t.sum(), c[c] / c.sum(), keep, score)
    if method == "matching":
        return _matching(y, d, Xc[:, 1:], spec, keep, score)
    p = Xc.shape[1]
    b0 = _ols(Xc[c], y[c], "controls")
    if method == "regression" and att:
        theta = np.append(b0, np.mean(y[t] - Xc[t] @ b0))

        def psi(th):
            r0 = y - Xc @ th[:p]
            return np.column_stack([(c * r0)[:, None] * Xc, t * (r0 - th[p])])

        w_t, w_c = t / t.sum(), np.zeros(n)
    elif method == "regression":
        b1 = _ols(Xc[t], y[t], "treated")
        theta = np.concatenate([b0, b1, [np.mean(Xc @ (b1 - b0))]])

        def psi(th):
            r0, r1 = y - Xc @ th[:p], y - Xc @ th[p : 2 * p]
            return np.column_stack(
                [
                    (c * r0)[:, None] * Xc,
                    (t * r1)[:, None] * Xc,
                    Xc @ (th[p : 2 * p] - th[:p]) - th[-1],
                ]
            )

        w_t, w_c = np.zeros(n), np.zeros(n)
    else:
        gamma = logit_fit(Xc, d)
        e = _expit(Xc @ gamma)
        _check_extreme(e, d, att)
        w1 = t / 1.0 if att else t / e
        w0 = c * e / (1 - e) if att else c / (1 - e)
        w_t, w_c = w1 / w1.sum(), w0 / w0.sum()
        resid = y if method == "ipw" else y - Xc @ b0
        a, b = np.sum(w_t * resid), np.sum(w_c * resid)
        if method == "ipw":
            theta = np.concatenate([gamma, [a, b]])
        elif att:
            theta = np.concatenate([gamma, b0, [a, b]])
        else:
            b1 = _ols(Xc[t], y[t], "treated")
            mu = Xc @ (b1 - b0) + t * (y - Xc @ b1) / e - c * (y - Xc @ b0) / (1 - e)
            theta = np.concatenate([gamma, b0, b1, [mu.mean()]])

        def psi(th):
            ee = _expit(Xc @ th[:p])
            cols = [(d - ee)[:, None] * Xc]
            if method == "ipw" or att:
                r = y if method == "ipw" else y - Xc @ th[p : 2 * p]
                if method == "aipw":
                    cols.append((c * (y - Xc @ th[p : 2 * p]))[:, None] * Xc)
                v1 = t if att else t / ee
                v0 = c * ee / (1 - ee) if att else c / (1 - ee)
                cols += [v1 * (r - th[-2]), v0 * (r - th[-1])]
            else:
                g0, g1 = th[p : 2 * p], th[2 * p : 3 * p]
                r0, r1 = y - Xc @ g0, y - Xc @ g1
                cols += [(c * r0)[:, None] * Xc, (t * r1)[:, None] * Xc]
                cols.append(Xc @ (g1 - g0) + t * r1 / ee - c * r0 / (1 - ee) - th[-1])
            return np.column_stack(cols)

    V = sandwich(psi, theta)
    two = method in ("ipw", "aipw") and (method == "ipw" or att)
    est = theta[-2] - theta[-1] if two else theta[-1]
    var = V[-2, -2] + V[-1, -1] - 2 * V[-2, -1] if two else V[-1, -1]
    return _Fit(float(est), float(math.sqrt(max(var, 0.0))), w_t[t], w_c[c], keep, score)


def _check_extreme(e: np.ndarray, d: np.ndarray, att: bool) -> None:
    bad = (d == 0) & (e > 1 - 1e-8) if att else (e < 1e-8) | (e > 1 - 1e-8)
    if bad.any():
        raise DesignError(
            f"{int(bad.sum())} propensity scores are numerically 0 or 1 where they enter "
            "the weights, giving infinite weights. Set trim (e.g. trim=0.01) or restrict "
            "the sample to the common support."
        )


def _matching(y, d, X, spec, keep, score) -> _Fit:
    """ATT by k-nearest-neighbour matching with replacement; Abadie-Imbens (2006) SE."""
    from scipy.spatial import cKDTree

    t, c = d == 1, d == 0
    if spec["match_on"] == "propensity":
        e = score[keep]
        points = np.log(e / (1 - e))[:, None]
        scale = float(np.std(points, ddof=1))
    else:
        cov = np.atleast_2d(np.cov(X, rowvar=False))
        points = X @ np.linalg.cholesky(np.linalg.inv(cov))  # Mahalanobis -> Euclidean
        scale = 1.0
    k = min(spec["neighbours"], int(c.sum()))
    tree = cKDTree(points[c])
    dist, idx = tree.query(points[t], k=k)
    dist, idx = dist.reshape(-1, k), idx.reshape(-1, k)
    ok = np.ones_like(dist, dtype=bool)
    if spec["caliper"] is not None:
        ok = dist <= spec["caliper"] * scale
    m_i = ok.sum(axis=1)
    matched = m_i > 0
    if not matched.any():
        raise DesignError(
            f"No treated unit has a control within caliper={spec['caliper']}; widen the caliper."
        )
    y_t, y_c = y[t], y[c]
    y0_hat = np.array(
        [y_c[idx[i, ok[i]]].mean() if matched[i] else np.nan for i in range(len(y_t))]
    )
    n1 = int(matched.sum())
    est = float(np.mean(y_t[matched] - y0_hat[matched]))
    # control weights w_j = Σ_i 1/M_i and Σ_i 1/M_i² over the treated using control j
    w = np.zeros(int(c.sum()))
    w_sq = np.zeros(int(c.sum()))
    for i in np.flatnonzero(matched):
        np.add.at(w, idx[i, ok[i]], 1 / m_i[i])
        np.add.at(w_sq, idx[i, ok[i]], 1 / m_i[i] ** 2)
    # σ²(X_j) for controls: half the squared difference to the nearest other control
    if c.sum() > 1:
        _, nn = tree.query(points[c], k=2)
        sigma2 = 0.5 * (y_c - y_c[nn[:, 1]]) ** 2
    else:
        sigma2 = np.zeros(1)
    var = (
        np.sum((y_t[matched] - y0_hat[matched] - est) ** 2) + np.sum((w**2 - w_sq) * sigma2)
    ) / n1**2
    w_t = matched / n1
    n_unused = int((w == 0).sum())
    pairs = y_t[matched] - y0_hat[matched] if k == 1 else None
    return _Fit(
        est,
        float(math.sqrt(var)),
        w_t,
        w / n1,
        keep,
        score,
        int((~matched).sum()),
        n_unused,
        pairs,
        bool((w > 1).any()),
    )


# --------------------------------------------------------------------------- bootstrap
def _bootstrap(y, d, X, spec) -> np.ndarray:
    rng = np.random.default_rng(spec["seed"])
    t, c = np.flatnonzero(d == 1), np.flatnonzero(d == 0)
    out = []
    for _ in range(spec["bootstrap"]):
        rows = np.concatenate([rng.choice(t, len(t)), rng.choice(c, len(c))])
        try:
            out.append(_fit(y[rows], d[rows], X[rows], spec, diagnose=False).estimate)
        except DesignError:
            continue  # a replicate with a degenerate design is skipped and counted below
    if len(out) < 0.9 * spec["bootstrap"]:
        raise DesignError(
            f"Only {len(out)} of {spec['bootstrap']} bootstrap replicates could be fitted."
        )
    return np.asarray(out)
