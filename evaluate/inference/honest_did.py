"""Sensitivity of event-study effects to violations of parallel trends (Rambachan & Roth 2023).

Event-study coefficients ``beta = (beta_pre, beta_post)`` (reference period -1
left out, normalised to 0) estimate ``beta = L tau_post + delta``: the effects plus
a bias ``delta`` that parallel trends sets to 0.  ``delta_pre`` is identified by
``beta_pre``; restrictions on how ``delta_post`` may relate to it give a robust
confidence set for a target ``theta = l' tau_post`` (one post period's effect, or
the average of the post effects).  Index periods as RR do: pre ``t = -K..-1``,
the reference ``t = 0`` (``delta_0 = 0``), post ``t = 1..T`` (event times ``0..T-1``).

**Smoothness**, ``Delta^SD(M)``: ``|(delta_{t+1} - delta_t) - (delta_t - delta_{t-1})| <= M``
for all ``t``.  ``M = 0`` allows exactly a linear trend (not parallel trends).  The
confidence interval is RR's *fixed-length confidence interval* (FLCI, Armstrong &
Kolesár; RR Section 4.1): over affine estimators ``theta^ = v_pre' beta_pre^ + l' beta_post^``
whose bias is bounded on ``Delta^SD(M)`` (``v_pre' t_pre + l' t_post = 0``), minimise
the half-length ``chi(v) = sd(v) * cv_alpha(b(v) / sd(v))``, where ``sd(v)^2 = w' Sigma w``,
``w = (v_pre, l)``, the worst-case bias is ``b(v) = M * ||P' w||_1`` (``P`` maps the
second differences to ``delta``; the bound is attained because the set is a box in
second differences) and ``cv_alpha(r)`` is the ``1 - alpha`` quantile of ``|N(r, 1)|``.
The FLCI is ``theta^(v*) +- chi(v*)``.

**Relative magnitudes**, ``Delta^RM(Mbar)``: every post-period first difference
``|delta_{t+1} - delta_t|, t >= 0`` is at most ``Mbar`` times the largest pre-period
one, ``m = max_{t < 0} |delta_{t+1} - delta_t|``.  Given ``m``, ``|l' delta_post| <=
Mbar * c_l * m`` with ``c_l = sum_{s=1..T} |sum_{t >= s} l_t|`` (sharp), so the
identified set is ``l' beta_post +- Mbar c_l m``.  The interval here is the
**conservative Bonferroni projection** (not RR's conditional/hybrid test): with
``c = z_{1 - alpha / (2 (K + 1))}`` the ``K + 1`` statements
``|l' beta_post^ - l' beta_post| <= c sd_theta`` and ``|d_s^ - d_s| <= c sd_s`` (the ``K``
pre first differences) hold jointly with probability ``>= 1 - alpha``, and then
``theta`` lies in

    l' beta_post^ +- (c sd_theta + Mbar c_l m_U),   m_U = max_s (|d_s^| + c sd_s).

For ``Mbar = 0`` the restriction sets ``delta_post = 0`` and only ``theta`` needs
covering, so the interval is the usual ``l' beta_post^ +- z_{1 - alpha/2} sd_theta``;
for any ``Mbar > 0`` the Bonferroni critical value applies (a jump at 0+).  The
breakdown value is exact: the smallest ``Mbar`` whose interval contains 0.

Examples
--------
>>> import numpy as np
>>> res = honest_did(beta=np.array([0.01, 0.0, -0.2]), sigma=np.diag([1e-3, 1e-3, 1e-3]),
...                  num_pre=2, num_post=1, restriction="relative_magnitudes",
...                  grid=[0.0, 1.0])
>>> round(float(res.table["ci_low"].iloc[0]), 4)
-0.262
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pandas as pd
from scipy import optimize, stats

from evaluate._display import ResultDisplay
from evaluate.errors import SpecError

if TYPE_CHECKING:
    from matplotlib.axes import Axes

Restriction = Literal["relative_magnitudes", "smoothness"]


# --------------------------------------------------------------------------- result
@dataclass(frozen=True, kw_only=True, eq=False)
class HonestDiDResult(ResultDisplay):
    """Robust confidence sets over a grid of ``Mbar`` (or ``M``) values.

    ``table`` has ``m, ci_low, ci_high, includes_zero`` (``m`` = ``Mbar`` or ``M``);
    ``original_ci`` the usual interval under parallel trends; ``breakdown`` the
    smallest ``m`` at which the set includes 0 (``0.0`` if the usual one already
    does, ``nan`` if none on the grid does, for smoothness).
    """

    restriction: Restriction
    target: str
    estimate: float
    std_error: float
    original_ci: tuple[float, float]
    table: pd.DataFrame
    breakdown: float
    method: str
    alpha: float = 0.05
    notes: tuple[str, ...] = ()
    details: dict[str, Any] = field(default_factory=dict, repr=False)

    @property
    def parameter(self) -> str:
        return "Mbar" if self.restriction == "relative_magnitudes" else "M"

    def to_frame(self) -> pd.DataFrame:
        """One row per grid value: ``m, ci_low, ci_high, includes_zero``."""
        return self.table.copy()

    def _summary_title(self) -> str:
        return f"Sensitivity to parallel trends (Rambachan-Roth): {self.target}"

    def _summary_header(self) -> list[tuple[str, object]]:
        low, high = self.original_ci
        restriction = (
            "relative magnitudes (Mbar)"
            if self.restriction == "relative_magnitudes"
            else "smoothness (M)"
        )
        return [
            ("Restriction", restriction),
            ("Method", self.method),
            ("Estimate (parallel trends)", f"{self.estimate:.4g} (SE {self.std_error:.4g})"),
            (f"Usual {1 - self.alpha:.0%} CI", f"[{low:.4g}, {high:.4g}]"),
            (f"Breakdown {self.parameter}", f"{self.breakdown:.4g}"),
        ]

    def _summary_tables(self) -> list[tuple[str, pd.DataFrame]]:
        shown = self.table.rename(columns={"m": self.parameter}).set_index(self.parameter)
        return [("Robust confidence sets", shown)]

    def _summary_notes(self) -> list[str]:
        return list(self.notes)

    def plot(self, ax: Axes | None = None) -> Axes:
        """Robust interval against ``Mbar`` / ``M``, the usual interval at the left."""
        import seaborn as sns

        from evaluate.plotting import _axes

        ax = _axes(ax)
        palette = sns.color_palette("deep")
        m = self.table["m"].to_numpy(dtype=float)
        low = self.table["ci_low"].to_numpy(dtype=float)
        high = self.table["ci_high"].to_numpy(dtype=float)
        step = float(np.min(np.diff(m))) if len(m) > 1 else 1.0
        x0 = m.min() - step
        ax.errorbar(
            [x0],
            [self.estimate],
            yerr=[[self.estimate - self.original_ci[0]], [self.original_ci[1] - self.estimate]],
            fmt="o",
            color=palette[1],
            capsize=4,
            label="usual CI (parallel trends)",
        )
        mid = (low + high) / 2
        ax.errorbar(
            m,
            mid,
            yerr=[mid - low, high - mid],
            fmt="none",
            color=palette[0],
            capsize=4,
            label="robust CI",
        )
        ax.axhline(0.0, color="0.4", linewidth=0.8, linestyle="--")
        if math.isfinite(self.breakdown) and self.breakdown > 0:
            ax.axvline(
                self.breakdown,
                color="0.5",
                linewidth=0.8,
                linestyle=":",
                label=f"breakdown {self.parameter} = {self.breakdown:.3g}",
            )
        ax.set_xlabel(self.parameter)
        ax.set_ylabel(f"{self.target} ({1 - self.alpha:.0%} set)")
        ax.set_title("Sensitivity to violations of parallel trends")
        ax.legend(frameon=False, fontsize="small")
        return ax


# --------------------------------------------------------------------------- front door
def honest_did(
    result: Any = None,
    *,
    beta: np.ndarray | Sequence[float] | None = None,
    sigma: np.ndarray | None = None,
    num_pre: int | None = None,
    num_post: int | None = None,
    restriction: Restriction = "relative_magnitudes",
    target: Literal["average"] | int = "average",
    grid: Sequence[float] | None = None,
    alpha: float = 0.05,
) -> HonestDiDResult:
    """Rambachan-Roth robust confidence sets and breakdown value for an event study.

    Parameters
    ----------
    result : an :class:`~evaluate.estimators.did.event_study.EventStudyResult` (reference
        period -1; its ``vcov`` supplies ``sigma``), the ``dynamic`` aggregation of a
        :func:`~evaluate.estimators.did.staggered.callaway_santanna` fit with
        ``base_period="universal"`` (covariance from the influence functions), or
        ``None`` and the arrays below.
    beta, sigma : event-study coefficients ordered by event time, pre-periods first
        (reference omitted), and their covariance matrix.
    num_pre, num_post : how many of ``beta`` are pre- and post-period coefficients.
    restriction : ``"relative_magnitudes"`` (Bonferroni projection) or
        ``"smoothness"`` (FLCI); see the module docstring for the formulas.
    target : ``"average"`` of the post effects, or one post event time (0 = first).
    grid : values of ``Mbar`` / ``M`` (default: 0..2 by 0.25 for ``Mbar``; for ``M``
        0..2 times the largest coefficient SE, 9 points).  For smoothness the
        breakdown value is the first grid value whose interval contains 0.
    alpha : 1 - confidence level.

    Examples
    --------
    >>> from evaluate.datasets import mpdta
    >>> from evaluate.estimators.did.event_study import event_study
    >>> es = event_study(mpdta(), outcome="lemp", unit="countyreal", time="year",
    ...                  cohort="first.treat", leads=3, lags=3)
    >>> sens = honest_did(es, restriction="relative_magnitudes", target=0)
    >>> bool(sens.table["ci_high"].is_monotonic_increasing)
    True
    """
    beta_v, sigma_m, k, t, labels = _inputs(result, beta, sigma, num_pre, num_post)
    if not 0 < alpha < 1:
        raise SpecError(f"alpha must lie strictly between 0 and 1, got {alpha!r}.")
    if restriction not in ("relative_magnitudes", "smoothness"):
        raise SpecError(f"restriction={restriction!r}; use 'relative_magnitudes' or 'smoothness'.")
    l_vec, target_label = _target(target, t, labels)
    b_pre, b_post = beta_v[:k], beta_v[k:]
    theta = float(l_vec @ b_post)
    sd_theta = float(np.sqrt(l_vec @ sigma_m[k:, k:] @ l_vec))
    z = float(stats.norm.ppf(1 - alpha / 2))
    original = (theta - z * sd_theta, theta + z * sd_theta)
    notes: list[str] = []
    if grid is not None:
        grid_v = np.asarray(sorted({float(g) for g in grid}))
        if len(grid_v) == 0 or np.any(grid_v < 0) or not np.all(np.isfinite(grid_v)):
            raise SpecError(f"grid must hold finite values >= 0, got {list(grid)!r}.")
    else:
        grid_v = None
    if restriction == "relative_magnitudes":
        table, breakdown, details = _relative_magnitudes(
            b_pre, sigma_m, k, l_vec, theta, sd_theta, alpha, grid_v
        )
        method = "conservative Bonferroni projection of the identified set"
    else:
        table, breakdown, details = _smoothness(beta_v, sigma_m, k, t, l_vec, alpha, grid_v)
        method = "fixed-length confidence interval (FLCI)"
        notes.append(
            "M = 0 allows a linear trend through the pre-periods, not only parallel trends."
        )
    if result is not None and getattr(result, "periods", None) is not None:
        if bool(result.periods.get("binned", pd.Series(False)).any()):
            notes.append(
                "The event study bins its end points; the restrictions treat the binned "
                "coefficients as single periods."
            )
    return HonestDiDResult(
        restriction=restriction,
        target=target_label,
        estimate=theta,
        std_error=sd_theta,
        original_ci=original,
        table=table,
        breakdown=breakdown,
        method=method,
        alpha=alpha,
        notes=tuple(notes),
        details=details,
    )


def _inputs(result, beta, sigma, num_pre, num_post):
    if result is not None:
        if any(v is not None for v in (beta, sigma, num_pre, num_post)):
            raise SpecError("Pass either an event-study result or beta/sigma/num_pre/num_post.")
        vcov = getattr(result, "vcov", None)
        periods = getattr(result, "periods", None)
        if vcov is None or periods is None or len(vcov) == 0:
            raise SpecError(
                "honest_did needs event-time coefficients with their covariance (an "
                "EventStudyResult, which stores vcov); otherwise pass beta, sigma, "
                "num_pre and num_post."
            )
        if getattr(result, "kind", "dynamic") != "dynamic":
            raise SpecError(
                "honest_did needs event-time effects: use the 'dynamic' aggregation "
                "(result.aggregate('dynamic'))."
            )
        if getattr(result, "reference", -1) != -1:
            raise SpecError(
                "honest_did assumes the reference period is -1 (the last pre-period).  For "
                "Callaway-Sant'Anna fit with base_period='universal': with the varying base "
                "the pre-period effects are one-period changes, not deviations from -1."
            )
        # The reference period itself (fixed at 0, variance 0) is not a coefficient.
        event_times = [int(e) for e in vcov.index if int(e) != -1]
        vcov = vcov.loc[event_times, event_times]
        est = periods.set_index("period")["estimate"]
        beta = est.loc[event_times].to_numpy(dtype=float)
        sigma = vcov.to_numpy(dtype=float)
        num_pre = sum(e < 0 for e in event_times)
        num_post = sum(e >= 0 for e in event_times)
        labels = [e for e in event_times if e >= 0]
    else:
        if beta is None or sigma is None or num_pre is None or num_post is None:
            raise SpecError("Pass an event-study result, or all of beta, sigma, num_pre, num_post.")
        labels = list(range(int(num_post)))
    beta = np.asarray(beta, dtype=float).ravel()
    sigma = np.asarray(sigma, dtype=float)
    k, t = int(num_pre), int(num_post)
    if k < 1 or t < 1:
        raise SpecError(f"Need at least one pre and one post coefficient (got {k} and {t}).")
    if beta.shape != (k + t,) or sigma.shape != (k + t, k + t):
        raise SpecError(
            f"beta must have num_pre + num_post = {k + t} entries and sigma be "
            f"{k + t} x {k + t}; got {beta.shape} and {sigma.shape}."
        )
    if not np.allclose(sigma, sigma.T, atol=1e-12 * max(np.abs(sigma).max(), 1e-300)):
        raise SpecError("sigma must be symmetric (a covariance matrix).")
    if np.linalg.eigvalsh(sigma).min() < -1e-10 * np.abs(sigma).max():
        raise SpecError("sigma is not positive semi-definite.")
    return beta, sigma, k, t, labels


def _target(target, t: int, labels: list[int]) -> tuple[np.ndarray, str]:
    if isinstance(target, str):
        if target != "average":
            raise SpecError(f"target must be 'average' or a post event time, got {target!r}.")
        return np.full(t, 1.0 / t), f"average of event times {labels[0]}..{labels[-1]}"
    if isinstance(target, bool) or int(target) != target or int(target) not in labels:
        raise SpecError(f"target={target!r} is not one of the post event times {labels}.")
    l_vec = np.zeros(t)
    l_vec[labels.index(int(target))] = 1.0
    return l_vec, f"effect at event time {int(target)}"


# --------------------------------------------------------------------------- RM
def _relative_magnitudes(b_pre, sigma, k, l_vec, theta, sd_theta, alpha, grid):
    diff = np.zeros((k, k))  # d_s = delta_{s+1} - delta_s, the last one 0 - delta_{-1}
    for s in range(k):
        diff[s, s] = -1.0
        if s + 1 < k:
            diff[s, s + 1] = 1.0
    d_hat = diff @ b_pre
    sd_d = np.sqrt(np.diag(diff @ sigma[:k, :k] @ diff.T))
    c = float(stats.norm.ppf(1 - alpha / (2 * (k + 1))))
    m_upper = float(np.max(np.abs(d_hat) + c * sd_d))
    c_l = float(np.sum(np.abs(np.cumsum(l_vec[::-1])[::-1])))
    z = float(stats.norm.ppf(1 - alpha / 2))
    if grid is None:
        grid = np.arange(0, 2.0001, 0.25)
    half = np.where(grid == 0, z * sd_theta, c * sd_theta + grid * c_l * m_upper)
    table = _table(grid, theta - half, theta + half)
    if abs(theta) <= z * sd_theta:
        breakdown = 0.0
    else:
        breakdown = max((abs(theta) - c * sd_theta) / (c_l * m_upper), 0.0)
    details = {"critical_value": c, "m_upper": m_upper, "c_l": c_l, "d_hat": d_hat}
    return table, breakdown, details


def _table(m, low, high) -> pd.DataFrame:
    return pd.DataFrame(
        {"m": m, "ci_low": low, "ci_high": high, "includes_zero": (low <= 0) & (high >= 0)}
    )


# --------------------------------------------------------------------------- SD (FLCI)
def cv_alpha(r: float, alpha: float) -> float:
    """``1 - alpha`` quantile of ``|N(r, 1)|`` (the folded normal's critical value)."""
    r = abs(r)
    if r == 0:
        return float(stats.norm.ppf(1 - alpha / 2))

    def coverage(c: float) -> float:
        return stats.norm.cdf(c - r) - stats.norm.cdf(-c - r) - (1 - alpha)

    lo, hi = r, r + float(stats.norm.ppf(1 - alpha / 2)) + 1.0
    return float(optimize.brentq(coverage, lo, hi, xtol=1e-14, rtol=1e-14))


def _second_difference_map(k: int, t: int) -> np.ndarray:
    """``P`` with ``delta = P s + c * times`` for second differences ``s``.

    ``delta`` has entries for ``t = -K..-1, 1..T`` (``delta_0 = 0`` dropped); ``P`` is the
    pseudo-inverse of the second-difference operator, a particular solution.
    """
    times = np.r_[np.arange(-k, 0), np.arange(1, t + 1)]
    full = k + t + 1
    rows = []
    for centre in range(1, full - 1):
        r = np.zeros(full)
        r[centre - 1], r[centre], r[centre + 1] = 1.0, -2.0, 1.0
        rows.append(np.delete(r, k))  # drop the reference column (delta_0 = 0)
    if not rows:
        return np.zeros((k + t, 0)), times
    return np.linalg.pinv(np.array(rows)), times


def _smoothness(beta, sigma, k, t, l_vec, alpha, grid):
    p_map, times = _second_difference_map(k, t)
    t_pre, t_post = times[:k], times[k:]
    target = -float(l_vec @ t_post)
    # v_pre = v0 + N z satisfies v_pre' t_pre = target (bias finite under linear trends)
    v0 = t_pre * target / float(t_pre @ t_pre)
    null = _null_space(t_pre)

    def w_of(z: np.ndarray) -> np.ndarray:
        return np.r_[v0 + null @ z, l_vec]

    def sd(w: np.ndarray) -> float:
        return float(np.sqrt(max(w @ sigma @ w, 0.0)))

    def bias(w: np.ndarray, m: float) -> float:
        return m * float(np.abs(p_map.T @ w).sum())

    def half_length(z: np.ndarray, m: float) -> float:
        w = w_of(z)
        s = sd(w)
        return s * cv_alpha(bias(w, m) / s, alpha) if s > 0 else math.inf

    # M = 0: minimum-variance trend-robust estimator, in closed form (a quadratic
    # in z): minimise (v0 + N z, l)' Sigma (v0 + N z, l).
    if null.shape[1]:
        a = null.T @ sigma[:k, :k] @ null
        g = null.T @ (sigma[:k, :k] @ v0 + sigma[:k, k:] @ l_vec)
        z0 = -np.linalg.solve(a, g)
    else:
        z0 = np.zeros(0)
    if grid is None:
        grid = np.linspace(0.0, 2.0, 9) * _scale(sigma, k, t)
    rows, z_prev, details = [], z0, {"v": []}
    for m in grid:
        z_best = z0
        if m > 0 and null.shape[1]:
            best = math.inf
            for start in (z0, z_prev):
                fit = optimize.minimize(
                    half_length,
                    start,
                    args=(m,),
                    method="Nelder-Mead",
                    options={"xatol": 1e-12, "fatol": 1e-15, "maxiter": 20_000},
                )
                if fit.fun < best:
                    best, z_best = float(fit.fun), np.asarray(fit.x)
        w = w_of(z_best)
        centre = float(w @ beta)
        h = half_length(z_best, m)
        rows.append((m, centre - h, centre + h))
        details["v"].append(w[:k])
        z_prev = z_best
    table = _table(*map(np.asarray, zip(*rows, strict=True)))
    hit = table.loc[table["includes_zero"], "m"]  # first grid value whose set contains 0
    return table, (float(hit.iloc[0]) if len(hit) else math.nan), details


def _null_space(t_pre: np.ndarray) -> np.ndarray:
    """Orthonormal basis of ``{v : v' t_pre = 0}`` (``K x (K-1)``)."""
    _, _, vt = np.linalg.svd(t_pre[None, :])
    return vt[1:].T


def _scale(sigma: np.ndarray, k: int, t: int) -> float:
    """A natural unit for ``M``: the largest standard error of the coefficients."""
    return float(np.sqrt(np.max(np.diag(sigma))))


__all__ = ["HonestDiDResult", "cv_alpha", "honest_did"]
