"""Inference engine of :mod:`evaluate.estimators.trials.trial`: OLS with HC2 and CR2
(Bell-McCaffrey) variances, difference-in-means estimators, the per-arm estimate
(:func:`_estimate`), and randomization inference (permutations within blocks / of
clusters, test inversion, Westfall-Young).

Kept apart from the front door so ``trial.py`` stays readable; candidates to move to
``evaluate/inference/`` (``randomization.py``) once the shared covariance module lands.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from evaluate.errors import DesignError
from evaluate.inference.covariance import RegressionDesign, covariance
from evaluate.progress import progress


# --------------------------------------------------------------------------- linear algebra
def ols_fit(X: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """OLS coefficients, residuals and ``(X'X)^{-1}``; ``X`` must have full column rank."""
    xtx_inv = np.linalg.inv(X.T @ X)
    beta = xtx_inv @ (X.T @ y)
    return beta, y - X @ beta, xtx_inv


def _joint_design(codes: np.ndarray, n_arms: int, Z: np.ndarray) -> np.ndarray:
    """``[1, D_1..D_{K-1}, Z, D_k * Z]`` with ``codes`` 0 = control (Lin's interacted model)."""
    D = (codes[:, None] == np.arange(1, n_arms)[None, :]).astype(float)
    cols = [np.ones((len(codes), 1)), D]
    if Z.shape[1]:
        cols.append(Z)
        cols += [D[:, [k]] * Z for k in range(n_arms - 1)]
    return np.hstack(cols)


# --------------------------------------------------------------------------- estimators
def _welch_dim(y1: np.ndarray, y0: np.ndarray) -> tuple[float, float, float]:
    v1, v0 = y1.var(ddof=1) / len(y1), y0.var(ddof=1) / len(y0)
    se = math.sqrt(v1 + v0)
    denom = v1**2 / (len(y1) - 1) + v0**2 / (len(y0) - 1)
    df = (v1 + v0) ** 2 / denom if denom > 0 else float(len(y1) + len(y0) - 2)
    return float(y1.mean() - y0.mean()), se, float(df)


def _blocked_dim(y: np.ndarray, d: np.ndarray, b: np.ndarray, label: str):
    """Block-weighted difference in means (estimatr); pairs get the Imai (2008) variance."""
    frame = pd.DataFrame({"y": y, "d": d, "b": b})
    rows = []
    for block, g in frame.groupby("b", sort=True):
        y1, y0 = g.loc[g.d == 1, "y"].to_numpy(), g.loc[g.d == 0, "y"].to_numpy()
        rows.append((block, len(g), len(y1), len(y0), y1, y0))
    sizes = np.array([r[1] for r in rows], dtype=float)
    taus = np.array([r[4].mean() - r[5].mean() for r in rows])
    n_total, n_blocks = sizes.sum(), len(rows)
    est = float(np.sum(sizes / n_total * taus))
    pairs = [r[2] == 1 and r[3] == 1 for r in rows]
    if all(pairs):
        if n_blocks < 2:
            raise DesignError("A matched-pair design needs at least two pairs.")
        var = (
            n_blocks
            / ((n_blocks - 1) * n_total**2)
            * np.sum((sizes * taus - n_total * est / n_blocks) ** 2)
        )
        return est, float(math.sqrt(var)), float(n_blocks - 1)
    small = [r[0] for r in rows if r[2] < 2 or r[3] < 2]
    if small:
        raise DesignError(
            f"Block(s) {small[:5]} have fewer than two units of {label} or of the control "
            "arm (and the design is not all matched pairs), so the within-block variance "
            "is undefined. Merge small blocks or use adjust='lin' with block dummies."
        )
    var = sum(
        (s / n_total) ** 2 * (r[4].var(ddof=1) / r[2] + r[5].var(ddof=1) / r[3])
        for s, r in zip(sizes, rows, strict=True)
    )
    return est, float(math.sqrt(var)), float(n_total - 2 * n_blocks)


def _estimate(y, codes, Z, unit_ids, work, spec) -> list[tuple[float, float, float]]:
    """``(estimate, SE, df)`` of every arm against control, by the design's estimator.

    Difference in means (Welch, or block-weighted) without covariates or clusters;
    otherwise the joint regression on arm dummies and centred, interacted extras
    ``Z`` with HC2 (no clusters) or CR2 (clusters) variance.
    """
    n_arms = len(spec["arms"]) + 1
    if spec["cluster"] is None and spec["adjust"] == "none":
        out = []
        for k, label in enumerate(spec["arms"], start=1):
            mask = (codes == 0) | (codes == k)
            if spec["blocks"]:
                block = work[spec["blocks"]].to_numpy()[mask]
                out.append(
                    _blocked_dim(y[mask], (codes[mask] == k).astype(int), block, repr(label))
                )
            else:
                out.append(_welch_dim(y[codes == k], y[codes == 0]))
        return out
    X = _joint_design(codes, n_arms, Z - Z.mean(axis=0))
    if np.linalg.matrix_rank(X) < X.shape[1]:
        raise DesignError(
            "The regression design is collinear (a covariate is a linear combination of "
            "others, or of arm x block cells). Drop redundant covariates."
        )
    beta, resid, xtx_inv = ols_fit(X, y)
    if spec["cluster"] is None:
        V = covariance(RegressionDesign(x=X, resid=resid), "HC2").cov
        df = float(len(y) - X.shape[1])
        if df < 1:
            raise DesignError(
                f"{X.shape[1]} coefficients for {len(y)} units: use fewer covariates."
            )
        return [(float(beta[k]), float(math.sqrt(V[k, k])), df) for k in range(1, n_arms)]
    cr2 = covariance(
        RegressionDesign(x=X, resid=resid, clusters=pd.factorize(unit_ids)[0]),
        "CR2",
        n_interest=n_arms,
    )
    return [
        (float(beta[k]), float(math.sqrt(cr2.cov[k, k])), float(cr2.df[k]))
        for k in range(1, n_arms)
    ]


# --------------------------------------------------------------------------- permutations
def permute_within(labels: np.ndarray, strata: np.ndarray | None, rng: np.random.Generator):
    """``labels`` shuffled within each stratum (all together when ``strata`` is None)."""
    if strata is None:
        return labels[rng.permutation(len(labels))]
    base = np.argsort(strata, kind="stable")
    order = np.lexsort((rng.random(len(labels)), strata))
    out = np.empty_like(labels)
    out[base] = labels[order]
    return out


@dataclass(frozen=True)
class _PairDesign:
    """One arm-vs-control comparison restricted to those two arms' units."""

    y: np.ndarray
    d: np.ndarray  # 1 = arm, 0 = control, per unit
    unit: np.ndarray  # assignment unit (cluster code, or the row) of each row
    unit_d: np.ndarray  # assignment of each assignment unit
    unit_block: np.ndarray | None
    block: np.ndarray | None
    Z: np.ndarray  # raw covariates (+ block dummies) for Lin; centred per fit
    lin: bool

    def weights(self, d: np.ndarray) -> np.ndarray:
        """Weights ``w`` with estimate ``w @ y``: every estimator here is linear in y."""
        if self.lin:
            Zc = self.Z - self.Z.mean(axis=0)
            X = _joint_design(d.astype(int), 2, Zc)
            return np.linalg.solve(X.T @ X, X.T)[1]
        if self.block is None:
            n1 = d.sum()
            return d / n1 - (1 - d) / (len(d) - n1)
        frame = pd.DataFrame({"b": self.block, "d": d})
        size = frame.groupby("b")["d"].transform("size").to_numpy()
        n1 = frame.groupby("b")["d"].transform("sum").to_numpy()
        return size / len(d) * (d / n1 - (1 - d) / (size - n1))


def _pair_design(y, codes, k, Z, unit_ids, block_ids, work, spec) -> _PairDesign:
    """Arm ``k`` against control, as randomization inference permutes it."""
    mask = (codes == 0) | (codes == k)
    d = (codes[mask] == k).astype(float)
    unit = pd.factorize(unit_ids[mask])[0]
    unit_d = pd.Series(d).groupby(unit).first().to_numpy()
    block = None if block_ids is None else block_ids[mask]
    unit_block = None if block is None else pd.Series(block).groupby(unit).first().to_numpy()
    lin = spec["adjust"] == "lin"
    if not lin and spec["cluster"] and spec["blocks"]:
        lin = True  # the cluster estimate adjusts for interacted block dummies
    return _PairDesign(
        y=y[mask],
        d=d,
        unit=unit,
        unit_d=unit_d,
        unit_block=unit_block,
        block=block,
        Z=Z[mask],
        lin=lin,
    )


def randomization_test(
    design: _PairDesign, *, permutations: int, alpha: float, scale: float, seed: int | None
) -> tuple[float, tuple[float, float]]:
    """Randomization p-value of no effect and the CI inverting tests of constant effects.

    With a linear estimator ``T(d, y) = w(d) @ y`` and outcomes ``y - τ0 d`` under
    the null of a constant effect ``τ0``, every permuted statistic is
    ``a_p - τ0 b_p`` with ``a_p = w_p @ y`` and ``b_p = w_p @ d``, so one set of
    permutations serves all nulls.  p-values count the observed assignment
    (``(1 + #)/(1 + P)``).
    """
    rng = np.random.default_rng(seed)
    w_obs = design.weights(design.d)
    t_obs = float(w_obs @ design.y)
    a = np.empty(permutations)
    b = np.empty(permutations)
    for p in progress(range(permutations), total=permutations, desc="randomization inference"):
        d_p = permute_within(design.unit_d, design.unit_block, rng)[design.unit].astype(float)
        w = design.weights(d_p)
        a[p], b[p] = w @ design.y, w @ design.d

    def p_of(tau0: float) -> float:
        hits = np.abs(a - tau0 * b) >= abs(t_obs - tau0) - 1e-12 * max(1.0, abs(t_obs))
        return float((1 + hits.sum()) / (1 + permutations))

    def bound(direction: int) -> float:
        inside, step = t_obs, max(scale, 1e-8 * max(1.0, abs(t_obs)))
        outside = t_obs + direction * step
        for _ in range(60):
            if p_of(outside) <= alpha:
                break
            inside, outside = outside, outside + direction * step
            step *= 1.5
        else:
            return direction * math.inf
        for _ in range(50):
            mid = (inside + outside) / 2
            inside, outside = (mid, outside) if p_of(mid) > alpha else (inside, mid)
        return (inside + outside) / 2

    return p_of(0.0), (bound(-1), bound(1))


def _westfall_young(t_obs: np.ndarray, t_perm: np.ndarray) -> np.ndarray:
    """Westfall-Young (1993) step-down maxT p-values from permuted |t| (rows = permutations)."""
    order = np.argsort(-np.abs(t_obs))
    abs_perm = np.abs(t_perm[:, order])
    # successive maxima over the hypotheses not yet rejected (from the least significant up)
    running_max = np.maximum.accumulate(abs_perm[:, ::-1], axis=1)[:, ::-1]
    raw = (1 + (running_max >= np.abs(t_obs[order])[None, :] - 1e-12).sum(axis=0)) / (
        1 + t_perm.shape[0]
    )
    adjusted = np.maximum.accumulate(raw)
    out = np.empty_like(adjusted)
    out[order] = adjusted
    return out


def _tstats(codes: np.ndarray, Y: np.ndarray, n_arms: int, Z: np.ndarray) -> np.ndarray:
    """|t| of every arm (rows) for every outcome column of ``Y`` (columns): the statistic
    of the Westfall-Young adjustment.  Welch t without ``Z``; HC2 t of Lin's model with."""
    if Z.shape[1] == 0:
        out = np.empty((n_arms - 1, Y.shape[1]))
        y0 = Y[codes == 0]
        m0, v0 = y0.mean(axis=0), y0.var(axis=0, ddof=1) / len(y0)
        for k in range(1, n_arms):
            yk = Y[codes == k]
            out[k - 1] = (yk.mean(axis=0) - m0) / np.sqrt(yk.var(axis=0, ddof=1) / len(yk) + v0)
        return out
    X = _joint_design(codes, n_arms, Z - Z.mean(axis=0))
    xtx_inv = np.linalg.inv(X.T @ X)
    W = xtx_inv[1:n_arms] @ X.T
    h = np.einsum("ij,jk,ik->i", X, xtx_inv, X)
    resid = Y - X @ (xtx_inv @ (X.T @ Y))
    return (W @ Y) / np.sqrt((W**2) @ (resid**2 / (1 - h)[:, None]))


def _permuted_tstats(codes, Y, n_arms, Z, unit, block, permutations, seed) -> np.ndarray:
    unit_codes = pd.Series(codes).groupby(unit).first()
    unit_block = None if block is None else pd.Series(block).groupby(unit).first().to_numpy()
    rng = np.random.default_rng(seed)
    draws = []
    for _ in progress(range(permutations), total=permutations, desc="Westfall-Young"):
        permuted = permute_within(unit_codes.to_numpy(), unit_block, rng)
        draws.append(_tstats(permuted[np.searchsorted(unit_codes.index, unit)], Y, n_arms, Z))
    return np.stack(draws)


def holm(p: np.ndarray) -> np.ndarray:
    """Holm (1979) step-down family-wise adjusted p-values.

    Written out rather than taken from statsmodels ``multipletests``, whose current
    version runs a full garbage collection on every call (slow in loops).
    """
    p = np.asarray(p, dtype=float)
    m = len(p)
    order = np.argsort(p)
    adjusted = np.minimum(1.0, np.maximum.accumulate((m - np.arange(m)) * p[order]))
    out = np.empty(m)
    out[order] = adjusted
    return out


def benjamini_hochberg(p: np.ndarray) -> np.ndarray:
    """Benjamini-Hochberg (1995) false-discovery-rate adjusted p-values."""
    p = np.asarray(p, dtype=float)
    m = len(p)
    order = np.argsort(p)[::-1]
    adjusted = np.minimum(1.0, np.minimum.accumulate(p[order] * m / np.arange(m, 0, -1)))
    out = np.empty(m)
    out[order] = adjusted
    return out
