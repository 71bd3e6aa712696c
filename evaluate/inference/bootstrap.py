"""Wild cluster bootstrap for one regression coefficient (restricted, WCR).

With few clusters a cluster-robust t-test over-rejects; the wild cluster
restricted bootstrap (Cameron, Gelbach & Miller 2008; MacKinnon & Webb 2017)
imposes the null, flips the restricted residuals of whole clusters with random
weights and compares the original t-statistic with the bootstrap ones.

Everything is linear in the cluster weights ``v`` (Roodman et al. 2019, "fast and
wild"), so no regression is refitted: with ``a = M e_j``, ``Phi_g = X_g' u_g``
(``u`` restricted residuals), the bootstrap numerator is ``sum_g v_g a'Phi_g`` and
the bootstrap cluster scores are ``S v`` with ``S = diag(a'Phi_g) - R M Phi'``,
``R_g = a' X_g'X_g``.  The restricted residuals are linear in the hypothesised
value, so the confidence interval is found by inverting the test with the same
draws (a deterministic, piecewise-constant p-value function).

:class:`WildBootstrapT` carries that test as an effect's reference distribution:
its ``interval`` is the test-inversion interval and its ``p_value`` the bootstrap
p-value, so a result's table, summary and notes show one interval.  Its draws come
from the confidence distribution the inverted test defines (the lower and upper
bounds of the intervals at every level), so money draws match the interval too.

Example
-------
>>> import numpy as np
>>> rng = np.random.default_rng(1)
>>> g = np.repeat(np.arange(20), 10)
>>> x = np.column_stack([np.ones(200), rng.normal(size=200)])
>>> y = x @ [1.0, 0.5] + rng.normal(size=20)[g] + rng.normal(size=200)
>>> res = wild_cluster_bootstrap(x, y, g, coef=1, n_boot=999, seed=3)
>>> res.p_value < 0.05
True
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import cached_property
from typing import Literal

import numpy as np

from evaluate.errors import SpecError
from evaluate.limits import check_count, check_memory

BootWeights = Literal["auto", "rademacher", "webb"]

_WEBB = np.array([-math.sqrt(1.5), -1.0, -math.sqrt(0.5), math.sqrt(0.5), 1.0, math.sqrt(1.5)])


@dataclass(frozen=True, eq=False)
class WildBootstrapResult:
    """Outcome of :func:`wild_cluster_bootstrap`.

    ``statistic`` is the original CR1 t-statistic for ``H0: b_j = null``,
    ``p_value`` the symmetric bootstrap p-value, ``ci`` the test-inversion interval
    (NaN where it could not be bracketed), ``t_draws`` the bootstrap t-statistics
    under ``null``.
    """

    estimate: float
    std_error: float
    statistic: float
    p_value: float
    ci: tuple[float, float]
    t_draws: np.ndarray
    n_boot: int
    weights: str
    enumerated: bool
    n_clusters: int
    test: WildBootstrapT | None = None

    def distribution(self) -> WildBootstrapT:
        """The test as a reference distribution (interval = the test-inversion one)."""
        if self.test is None:  # pragma: no cover - set by wild_cluster_bootstrap
            raise SpecError("This bootstrap result carries no test to invert.")
        return self.test


@dataclass(frozen=True, eq=False)
class WildBootstrapT:
    """Reference distribution of a coefficient from the restricted wild bootstrap-t.

    ``p_value(b0)`` is the symmetric bootstrap p-value of ``H0: b = b0`` (the null
    imposed, the same draws for every ``b0``); ``interval(alpha)`` the set of ``b0``
    not rejected at ``alpha`` (test inversion, bisection to ``1e-7`` standard
    errors; NaN where a bound cannot be bracketed); ``std_error`` the CR1 standard
    error of the original fit.  ``draws`` sample the confidence distribution:
    for ``u`` uniform, the lower bound of the ``1 - 2u`` interval below the
    estimate, the upper bound of the ``2u - 1`` interval above it (interpolated over
    a grid of levels), so the draws' central ``1 - alpha`` range is the interval.
    ``factor`` rescales the parameter (``scaled``), e.g. to a cumulative effect.
    """

    estimate_raw: float
    se: float
    parts: tuple[np.ndarray, ...] = field(repr=False)  # n0, n1, ss00, ss01, ss11
    scale: float
    n_boot: int
    factor: float = 1.0

    @property
    def estimate(self) -> float:
        return self.estimate_raw * self.factor

    @property
    def std_error(self) -> float:
        return self.se * abs(self.factor)

    @property
    def label(self) -> str:
        return f"wild bootstrap-t, test inversion ({self.n_boot} draws)"

    def _pval_raw(self, b0: float) -> float:
        n0, n1, ss00, ss01, ss11 = self.parts
        num = n0 - b0 * n1
        den2 = self.scale * (ss00 - 2 * b0 * ss01 + b0 * b0 * ss11)
        t_star = num / np.sqrt(np.maximum(den2, 1e-300))
        t = abs(self.estimate_raw - b0) / self.se
        return float(np.mean(np.abs(t_star) >= t - 1e-12))

    def p_value(self, null: float = 0.0) -> float:
        if not self.se > 0 or self.factor == 0:
            return math.nan
        return self._pval_raw(null / self.factor)

    def _interval_raw(self, alpha: float) -> tuple[float, float]:
        if not self.se > 0:
            return (math.nan, math.nan)
        est, se = self.estimate_raw, self.se
        return (_invert(self._pval_raw, est, -se, alpha), _invert(self._pval_raw, est, se, alpha))

    def interval(self, alpha: float = 0.05) -> tuple[float, float]:
        if not 0.0 < alpha < 1.0:
            raise SpecError(f"alpha must lie strictly between 0 and 1, got {alpha!r}.")
        low, high = (b * self.factor for b in self._interval_raw(alpha))
        return (low, high) if self.factor >= 0 else (high, low)

    @cached_property
    def _quantiles(self) -> tuple[np.ndarray, np.ndarray]:
        """Confidence-distribution quantiles at probabilities ``p`` (raw scale)."""
        alphas = np.array([0.002, 0.005, 0.01, 0.02, 0.05, *np.arange(0.1, 1.0, 0.1)])
        bounds = [self._interval_raw(float(a)) for a in alphas]
        lows = np.array([b[0] for b in bounds])
        highs = np.array([b[1] for b in bounds])
        # Unbracketed bounds (NaN) fall back to the widest finite one on that side.
        lows = np.where(np.isfinite(lows), lows, np.nanmin(lows) if np.isfinite(lows).any()
                        else self.estimate_raw - 10 * self.se)  # fmt: skip
        highs = np.where(np.isfinite(highs), highs, np.nanmax(highs) if np.isfinite(highs).any()
                         else self.estimate_raw + 10 * self.se)  # fmt: skip
        p = np.concatenate([alphas / 2, [0.5], (1 - alphas / 2)[::-1]])
        q = np.concatenate([lows, [self.estimate_raw], highs[::-1]])
        return p, np.maximum.accumulate(q)

    def draws(self, n: int, rng: np.random.Generator) -> np.ndarray:
        p, q = self._quantiles
        return self.factor * np.interp(rng.random(n), p, q)

    def scaled(self, factor: float) -> WildBootstrapT:
        return WildBootstrapT(
            self.estimate_raw, self.se, self.parts, self.scale, self.n_boot, self.factor * factor
        )


def _draw_weights(
    g: int, n_boot: int, kind: str, rng: np.random.Generator
) -> tuple[np.ndarray, bool]:
    if kind == "rademacher" and 2**g <= n_boot:
        # All 2^G sign patterns: the bootstrap distribution exactly, no simulation noise.
        codes = np.arange(2**g)[None, :] >> np.arange(g)[:, None]
        return (2.0 * (codes & 1) - 1.0), True
    if kind == "rademacher":
        return rng.choice(np.array([-1.0, 1.0]), size=(g, n_boot)), False
    return rng.choice(_WEBB, size=(g, n_boot)), False


def wild_cluster_bootstrap(
    x: np.ndarray,
    y: np.ndarray,
    clusters: np.ndarray,
    *,
    coef: int = 0,
    null: float = 0.0,
    weights: BootWeights = "auto",
    n_boot: int = 999,
    seed: int | None = 0,
    alpha: float = 0.05,
    ci: bool = True,
    k_extra: int = 0,
) -> WildBootstrapResult:
    """Restricted wild cluster bootstrap-t test (and interval) for coefficient ``coef``.

    Parameters
    ----------
    x, y : regressors (n, p) and outcome (n,), after partialling out any absorbed
        fixed effects.
    clusters : (n,) integer cluster codes ``0..G-1``.
    coef, null : test ``H0: b_coef = null``.
    weights : "rademacher", "webb" (six-point; better with fewer than ~12 clusters)
        or "auto" (Webb below 12 clusters).  Rademacher with ``2^G <= n_boot``
        enumerates every sign pattern.
    n_boot, seed : number of draws and seed (reproducible).
    alpha : 1 - level of the test-inversion interval ``ci``.
    k_extra : absorbed parameters added to K in the CR1 factor (it cancels in the
        p-value; it only scales the reported standard error).
    """
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    clusters = np.asarray(clusters)
    n, p = x.shape
    if not 0 <= coef < p:
        raise SpecError(f"coef={coef} is not a column of x (it has {p} columns).")
    if n_boot < 99:
        raise SpecError(f"n_boot={n_boot} is too small for a bootstrap p-value; use 999 or more.")
    if weights not in ("auto", "rademacher", "webb"):
        raise SpecError(f"weights={weights!r}; use 'rademacher', 'webb' or 'auto'.")
    g = int(clusters.max()) + 1
    if g < 2:
        raise SpecError("The wild cluster bootstrap needs at least 2 clusters.")
    check_count("n_boot", n_boot)
    check_memory(3 * 8.0 * n_boot * max(g, p), "The wild cluster bootstrap's draws")
    kind = ("webb" if g < 12 else "rademacher") if weights == "auto" else weights

    m = np.linalg.pinv(x.T @ x)
    a = m[:, coef]
    beta = m @ (x.T @ y)
    resid = y - x @ beta

    def by_cluster(values: np.ndarray) -> np.ndarray:  # (n, q) -> (G, q)
        return np.stack(
            [
                np.bincount(clusters, weights=values[:, j], minlength=g)
                for j in range(values.shape[1])
            ],
            1,
        )

    scale = g / (g - 1) * (n - 1) / (n - p - k_extra)
    se = math.sqrt(scale * np.sum((by_cluster(x * resid[:, None]) @ a) ** 2))

    # Restricted residuals u(b0) = u0 - b0 * xt_j (FWL on the other columns).
    others = np.delete(x, coef, axis=1)
    if others.shape[1]:
        proj = np.linalg.pinv(others.T @ others) @ others.T
        u0 = y - others @ (proj @ y)
        xj = x[:, coef] - others @ (proj @ x[:, coef])
    else:
        u0, xj = y.copy(), x[:, coef].copy()
    phi0 = by_cluster(x * u0[:, None])  # (G, p)
    phi1 = by_cluster(x * xj[:, None])
    # R_g = a' X_g'X_g, from the per-cluster sums of (x_i'a) x_i.
    r = by_cluster(x * (x @ a)[:, None])  # (G, p)
    rm = r @ m  # (G, p)

    rng = np.random.default_rng(seed)
    v, enumerated = _draw_weights(g, n_boot, kind, rng)
    b = v.shape[1]
    # Numerators and scores at b0 are N0 - b0 N1 and s0 - b0 s1 (all linear).
    n0, n1 = (phi0 @ a) @ v, (phi1 @ a) @ v
    s0 = (phi0 @ a)[:, None] * v - rm @ (phi0.T @ v)
    s1 = (phi1 @ a)[:, None] * v - rm @ (phi1.T @ v)
    ss00, ss01, ss11 = (s0 * s0).sum(0), (s0 * s1).sum(0), (s1 * s1).sum(0)
    # beta_r + b0 drops out: the bootstrap numerator is sum_g v_g a'Phi_g(b0).

    def t_star(b0: float) -> np.ndarray:
        num = n0 - b0 * n1
        den2 = scale * (ss00 - 2 * b0 * ss01 + b0 * b0 * ss11)
        return num / np.sqrt(np.maximum(den2, 1e-300))

    est = float(beta[coef])

    def pval(b0: float) -> float:
        t = abs(est - b0) / se
        return float(np.mean(np.abs(t_star(b0)) >= t - 1e-12))

    t_draws = t_star(null)
    p_value = pval(null)
    test = WildBootstrapT(est, se, (n0, n1, ss00, ss01, ss11), scale, b)
    interval = (math.nan, math.nan)
    if ci and se > 0:
        interval = test.interval(alpha)
    return WildBootstrapResult(
        estimate=est,
        std_error=se,
        statistic=(est - null) / se if se > 0 else math.nan,
        p_value=p_value,
        ci=interval,
        t_draws=t_draws,
        n_boot=b,
        weights=kind,
        enumerated=enumerated,
        n_clusters=g,
        test=test,
    )


def _invert(pval, est: float, step: float, alpha: float, tol: float = 1e-7) -> float:
    """The hypothesised value on one side of ``est`` where the p-value falls to alpha."""
    inner, outer = est, est + step
    for _ in range(60):  # widen until rejected
        if pval(outer) < alpha:
            break
        inner, outer = outer, outer + 2 * (outer - est)
    else:
        return math.nan
    for _ in range(200):  # bisection on the step function
        mid = 0.5 * (inner + outer)
        if pval(mid) < alpha:
            outer = mid
        else:
            inner = mid
        if abs(outer - inner) <= tol * max(abs(step), 1e-12):
            break
    return 0.5 * (inner + outer)


__all__ = ["BootWeights", "WildBootstrapResult", "WildBootstrapT", "wild_cluster_bootstrap"]
