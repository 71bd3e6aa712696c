"""Power and design: minimum detectable effects and sample sizes for trials.

Analytic formulas for individually and cluster-randomized two-group comparisons
within a (possibly multi-arm) trial, and a seeded simulation that checks them.

The variance of the difference in means is ``σ² (1/n1 + 1/n0)`` times

* the design effect ``1 + (m - 1) ρ`` for clusters of size ``m`` with intra-cluster
  correlation ``ρ`` (Donner & Klar 2000), and
* ``1 - R²`` when baseline covariates explain a share ``R²`` of the outcome variance
  (regression adjustment; Bloom 2006).

Continuous outcomes use the noncentral t (as statsmodels ``TTestIndPower``) with
``n - 2`` df, or ``J - 2`` df for ``J`` clusters.  Binary outcomes use the normal
approximation with the pooled variance under the null and the unpooled one under
the alternative (Fleiss, Levin & Paik 2003, eq. 4.14), with t quantiles on ``J - 2``
df for cluster designs.  With ``arms`` arms each compared with the control, the
test level is Bonferroni-adjusted to ``alpha / (arms - 1)`` unless
``adjust="none"``.

Example: what could Vordingborg detect?  503 citizens in three arms, 135 in arm 1
and the rest split between arm 2 and control (184 each), employment share about
30 %, 80 % power, 5 % level adjusted for the two comparisons:

>>> res = mde(n_treated=135, n_control=184, outcome="binary", baseline=0.30, arms=3)
>>> round(res.effect, 3)
0.169
>>> round(simulate_power(res.effect, n_treated=135, n_control=184, outcome="binary",
...                      baseline=0.30, arms=3, n_sims=4000, seed=1), 2)
0.79

so only an increase from 30 % to about 47 % in work (17 percentage points) would be
detected reliably; smaller effects, however valuable, would likely be missed.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

import numpy as np
import pandas as pd
from scipy import optimize, stats

from evaluate._display import ResultDisplay
from evaluate.errors import SpecError
from evaluate.limits import check_count, check_memory
from evaluate.power_simulation import DesignPowerResult, simulate_design

if TYPE_CHECKING:
    from matplotlib.axes import Axes

Outcome = Literal["continuous", "binary"]
Adjust = Literal["bonferroni", "none"]


@dataclass(frozen=True)
class Design:
    """A two-group comparison inside a trial: sizes in persons and the assumptions."""

    n_treated: float
    n_control: float
    outcome: Outcome = "continuous"
    sd: float = 1.0
    baseline: float | None = None
    alpha: float = 0.05
    arms: int = 2
    adjust: Adjust = "bonferroni"
    icc: float = 0.0
    cluster_size: float = 1.0
    r2: float = 0.0

    @property
    def test_alpha(self) -> float:
        """Level of each comparison after the multiplicity adjustment."""
        k = self.arms - 1
        return self.alpha / k if self.adjust == "bonferroni" and k > 1 else self.alpha

    @property
    def design_effect(self) -> float:
        return 1 + (self.cluster_size - 1) * self.icc

    @property
    def clustered(self) -> bool:
        return self.cluster_size > 1

    @property
    def df(self) -> float:
        m = self.cluster_size
        return self.n_treated / m + self.n_control / m - 2

    @property
    def inflation(self) -> float:
        return self.design_effect * (1 - self.r2)


def _design(
    n_treated, n_control, outcome, sd, baseline, alpha, arms, adjust, icc, cluster_size, r2
) -> Design:
    if outcome not in ("continuous", "binary"):
        raise SpecError(f"outcome must be 'continuous' or 'binary', got {outcome!r}.")
    if outcome == "binary" and (baseline is None or not 0 < baseline < 1):
        raise SpecError(
            f"A binary outcome needs baseline= the control share in (0, 1), got {baseline!r}."
        )
    if outcome == "continuous" and not sd > 0:
        raise SpecError(f"sd must be positive, got {sd!r}.")
    if not 0 < alpha < 1:
        raise SpecError(f"alpha must lie strictly between 0 and 1, got {alpha!r}.")
    if not (isinstance(arms, int) and arms >= 2):
        raise SpecError(f"arms counts all arms including control and must be >= 2, got {arms!r}.")
    if adjust not in ("bonferroni", "none"):
        raise SpecError(f"adjust must be 'bonferroni' or 'none', got {adjust!r}.")
    if not 0 <= icc < 1:
        raise SpecError(f"icc must lie in [0, 1), got {icc!r}.")
    if not 0 <= r2 < 1:
        raise SpecError(f"r2 must lie in [0, 1), got {r2!r}.")
    if cluster_size < 1:
        raise SpecError(f"cluster_size must be >= 1, got {cluster_size!r}.")
    d = Design(
        float(n_treated),
        float(n_control),
        outcome,
        float(sd),
        baseline,
        alpha,
        arms,
        adjust,
        float(icc),
        float(cluster_size),
        float(r2),
    )
    if min(n_treated, n_control) < 2 * cluster_size or d.df < 1:
        raise SpecError(
            f"n_treated={n_treated}, n_control={n_control} with cluster_size={cluster_size} "
            "leave fewer than two units/clusters per group; increase the sample."
        )
    return d


def _power(effect: float, d: Design) -> float:
    """Two-sided power of the comparison for a true difference ``effect``."""
    if effect == 0:
        return d.test_alpha
    n1, n0, a = d.n_treated, d.n_control, d.test_alpha
    if d.outcome == "continuous":
        se = d.sd * math.sqrt(d.inflation * (1 / n1 + 1 / n0))
        crit = stats.t.ppf(1 - a / 2, d.df)
        nc = abs(effect) / se
        value = stats.nct.sf(crit, d.df, nc) + stats.nct.cdf(-crit, d.df, nc)
        # scipy's noncentral t returns NaN far in the tail, where power is 1 anyway
        return float(value) if math.isfinite(value) else float(stats.norm.cdf(nc - crit))
    p0, p1 = d.baseline, d.baseline + effect
    if not 0 < p1 < 1:
        return math.nan
    pbar = (n1 * p1 + n0 * p0) / (n1 + n0)
    se0 = math.sqrt(d.inflation * pbar * (1 - pbar) * (1 / n1 + 1 / n0))
    se1 = math.sqrt(d.inflation * (p1 * (1 - p1) / n1 + p0 * (1 - p0) / n0))
    dist = stats.t(d.df) if d.clustered else stats.norm
    crit = dist.ppf(1 - a / 2)
    return float(
        dist.cdf((abs(effect) - crit * se0) / se1) + dist.cdf((-abs(effect) - crit * se0) / se1)
    )


@dataclass(frozen=True, eq=False)
class PowerResult(ResultDisplay):
    """A power calculation: the design, the effect and the power it gives."""

    design: Design
    effect: float
    power: float
    solved_for: str
    notes: tuple[str, ...] = field(default=())

    @property
    def n_treated(self) -> float:
        return self.design.n_treated

    @property
    def n_control(self) -> float:
        return self.design.n_control

    def to_frame(self) -> pd.DataFrame:
        """The design and result as a one-row tidy frame."""
        d = self.design
        return pd.DataFrame(
            [
                {
                    "solved_for": self.solved_for,
                    "effect": self.effect,
                    "power": self.power,
                    "n_treated": d.n_treated,
                    "n_control": d.n_control,
                    "outcome": d.outcome,
                    "baseline": d.baseline,
                    "sd": d.sd if d.outcome == "continuous" else math.nan,
                    "alpha": d.alpha,
                    "test_alpha": d.test_alpha,
                    "arms": d.arms,
                    "icc": d.icc,
                    "cluster_size": d.cluster_size,
                    "design_effect": d.design_effect,
                    "r2": d.r2,
                }
            ]
        )

    def _summary_title(self) -> str:
        return f"Power calculation: {self.solved_for}"

    def _summary_header(self) -> list[tuple[str, object]]:
        d = self.design
        unit = "share" if d.outcome == "binary" else "outcome units"
        head: list[tuple[str, object]] = [
            ("Effect (" + unit + ")", self.effect),
            ("Power", self.power),
            ("Treated / control (persons)", f"{d.n_treated:g} / {d.n_control:g}"),
            ("Test level", f"{d.test_alpha:.4g} (alpha {d.alpha:g}, {d.arms} arms, {d.adjust})"),
        ]
        if d.outcome == "binary":
            head.append(("Baseline share", d.baseline))
        else:
            head.append(("Outcome SD", d.sd))
        if d.clustered:
            head.append(
                (
                    "Clusters of size / ICC / design effect",
                    f"{d.cluster_size:g} / {d.icc:g} / {d.design_effect:.3g}",
                )
            )
        if d.r2:
            head.append(("Covariate R²", d.r2))
        return head

    def _summary_notes(self) -> list[str]:
        return list(self.notes)

    def plot(self, ax: Axes | None = None) -> Axes:
        """Power curve of this design with the result marked."""
        return power_curve(self.design, ax=ax, mark=self.effect)


def _common(kw) -> dict:
    return {
        k: kw[k]
        for k in (
            "outcome",
            "sd",
            "baseline",
            "alpha",
            "arms",
            "adjust",
            "icc",
            "cluster_size",
            "r2",
        )
    }


def power(
    effect: float,
    *,
    n_treated: float,
    n_control: float,
    outcome: Outcome = "continuous",
    sd: float = 1.0,
    baseline: float | None = None,
    alpha: float = 0.05,
    arms: int = 2,
    adjust: Adjust = "bonferroni",
    icc: float = 0.0,
    cluster_size: float = 1.0,
    r2: float = 0.0,
) -> PowerResult:
    """Power to detect a true difference ``effect`` (outcome units, or share for binary).

    Examples
    --------
    >>> round(power(0.5, n_treated=64, n_control=64).power, 3)
    0.801
    """
    d = _design(n_treated, n_control, **_common(locals()))
    return PowerResult(d, float(effect), _power(effect, d), "power")


def mde(
    *,
    n_treated: float,
    n_control: float,
    power: float = 0.8,
    outcome: Outcome = "continuous",
    sd: float = 1.0,
    baseline: float | None = None,
    alpha: float = 0.05,
    arms: int = 2,
    adjust: Adjust = "bonferroni",
    icc: float = 0.0,
    cluster_size: float = 1.0,
    r2: float = 0.0,
) -> PowerResult:
    """Minimum detectable effect (an increase) at the given power.

    Examples
    --------
    >>> res = mde(n_treated=135, n_control=184, outcome="binary", baseline=0.30, arms=3)
    >>> round(res.effect, 3)
    0.169
    """
    if not 0 < power < 1:
        raise SpecError(f"power must lie strictly between 0 and 1, got {power!r}.")
    d = _design(n_treated, n_control, **_common(locals()))
    if power <= d.test_alpha:
        raise SpecError(f"power {power} must exceed the test level {d.test_alpha:.3g}.")
    if outcome == "binary":
        upper = 1 - d.baseline - 1e-9
    else:  # comfortably beyond the normal-approximation MDE
        se = d.sd * math.sqrt(d.inflation * (1 / d.n_treated + 1 / d.n_control))
        upper = (stats.norm.ppf(1 - d.test_alpha / 2) + stats.norm.ppf(power) + 10) * se
    if _power(upper, d) < power:
        return PowerResult(
            d,
            math.nan,
            power,
            "minimum detectable effect",
            ("No effect within the outcome's range reaches this power: the sample is too small.",),
        )
    effect = optimize.brentq(lambda e: _power(e, d) - power, 1e-12, upper, xtol=1e-10)
    notes = []
    if outcome == "binary":
        notes.append(
            f"Detectable: from {d.baseline:.1%} to {d.baseline + effect:.1%} "
            f"({100 * effect:.1f} percentage points); decreases need a similar size."
        )
    else:
        notes.append(f"That is {effect / d.sd:.2f} standard deviations of the outcome.")
    return PowerResult(d, float(effect), power, "minimum detectable effect", tuple(notes))


def mde_from_se(
    std_error: float, *, alpha: float = 0.05, power: float = 0.8, df: float | None = None
) -> float:
    """Minimum detectable effect of an estimate with a known standard error.

    ``(q(1 - alpha/2) + q(power)) * std_error`` with normal quantiles, or t quantiles
    on ``df`` degrees of freedom (Bloom 1995, "Minimum detectable effects").  This is
    the smallest true effect that a two-sided test at level ``alpha`` detects with
    probability ``power``, given the precision the design actually reached: read it
    after a trial, beside its estimate, to say which effects it could have seen.

    >>> round(mde_from_se(0.05), 4)  # (1.96 + 0.84) x 0.05
    0.1401
    """
    if not 0 < alpha < 1 or not 0 < power < 1:
        raise SpecError(f"alpha and power must lie in (0, 1); got {alpha!r} and {power!r}.")
    if not math.isfinite(std_error) or std_error <= 0:
        return math.nan
    dist = stats.norm if df is None or not math.isfinite(df) else stats.t(df)
    return float((dist.ppf(1 - alpha / 2) + dist.ppf(power)) * std_error)


def sample_size(
    effect: float,
    *,
    power: float = 0.8,
    ratio: float = 1.0,
    outcome: Outcome = "continuous",
    sd: float = 1.0,
    baseline: float | None = None,
    alpha: float = 0.05,
    arms: int = 2,
    adjust: Adjust = "bonferroni",
    icc: float = 0.0,
    cluster_size: float = 1.0,
    r2: float = 0.0,
) -> PowerResult:
    """Smallest sample (whole clusters) with at least ``power`` to detect ``effect``.

    ``ratio`` is treated / control.  With clusters, both groups are whole numbers of
    clusters of ``cluster_size`` persons.

    Examples
    --------
    >>> res = sample_size(0.5, power=0.8)
    >>> res.n_treated, res.n_control
    (64.0, 64.0)
    """
    if not 0 < power < 1 or effect == 0 or ratio <= 0:
        raise SpecError("power must lie in (0, 1), effect must be non-zero and ratio positive.")
    m = float(cluster_size)

    def design(j0: float) -> Design:
        return _design(
            max(2.0, round(ratio * j0)) * m,
            j0 * m,
            **_common(
                dict(
                    outcome=outcome,
                    sd=sd,
                    baseline=baseline,
                    alpha=alpha,
                    arms=arms,
                    adjust=adjust,
                    icc=icc,
                    cluster_size=cluster_size,
                    r2=r2,
                )
            ),
        )

    j0 = max(2, math.ceil(2 / min(ratio, 1.0)))
    while _power(effect, design(j0)) < power:  # doubling then bisection on whole clusters
        j0 *= 2
        if j0 > 1e8:
            raise SpecError("No feasible sample size below 10^8 per group for this effect.")
    low = max(1, j0 // 2)
    while j0 - low > 1:
        mid = (low + j0) // 2
        low, j0 = (mid, j0) if _power(effect, design(mid)) < power else (low, mid)
    d = design(j0)
    return PowerResult(d, float(effect), _power(effect, d), "sample size")


def simulate_power(
    effect: float,
    *,
    n_treated: int,
    n_control: int,
    outcome: Outcome = "continuous",
    sd: float = 1.0,
    baseline: float | None = None,
    alpha: float = 0.05,
    arms: int = 2,
    adjust: Adjust = "bonferroni",
    icc: float = 0.0,
    cluster_size: int = 1,
    r2: float = 0.0,
    n_sims: int = 2000,
    seed: int | None = 0,
) -> float:
    """Share of ``n_sims`` simulated trials whose Welch t-test rejects (seeded).

    Individual designs analyse units with the difference in means and Welch df (as
    :func:`evaluate.estimators.trials.trial.trial`); with ``r2 > 0`` a normal covariate
    explaining ``R²`` is adjusted for by OLS.  Cluster designs draw cluster effects
    (normal, or beta-binomial for binary outcomes) and compare cluster means.

    Examples
    --------
    >>> round(simulate_power(0.5, n_treated=64, n_control=64, n_sims=4000, seed=2), 2)
    0.79
    """
    d = _design(n_treated, n_control, **_common(locals()))
    if r2 and (outcome == "binary" or d.clustered):
        raise SpecError(
            "The simulation supports r2 > 0 only for individually randomized "
            "continuous outcomes; use the analytic mde/power for other cases."
        )
    check_count("n_sims", int(n_sims), "draws")
    check_memory(8.0 * n_sims * (n_treated + n_control), "The power simulation")
    rng = np.random.default_rng(seed)
    m = int(cluster_size)
    j1, j0 = int(n_treated) // m, int(n_control) // m
    if d.clustered:  # cluster means: the analysis is a t-test on J1 + J0 values
        if outcome == "continuous":
            scale = sd * math.sqrt(icc + (1 - icc) / m)
            y1 = effect + scale * rng.standard_normal((n_sims, j1))
            y0 = scale * rng.standard_normal((n_sims, j0))
        else:
            y1 = _beta_binomial_means(rng, baseline + effect, icc, m, (n_sims, j1))
            y0 = _beta_binomial_means(rng, baseline, icc, m, (n_sims, j0))
        return _welch_reject(
            y1.mean(1), y1.var(1, ddof=1), j1, y0.mean(1), y0.var(1, ddof=1), j0, d.test_alpha
        )
    n1, n0 = int(n_treated), int(n_control)
    if outcome == "binary":
        p1 = rng.binomial(n1, baseline + effect, n_sims) / n1
        p0 = rng.binomial(n0, baseline, n_sims) / n0
        return _welch_reject(
            p1,
            p1 * (1 - p1) * n1 / (n1 - 1),
            n1,
            p0,
            p0 * (1 - p0) * n0 / (n0 - 1),
            n0,
            d.test_alpha,
        )
    if not r2:  # sufficient statistics of normal samples: exact and fast
        m1 = effect + sd / math.sqrt(n1) * rng.standard_normal(n_sims)
        m0 = sd / math.sqrt(n0) * rng.standard_normal(n_sims)
        v1 = sd**2 * rng.chisquare(n1 - 1, n_sims) / (n1 - 1)
        v0 = sd**2 * rng.chisquare(n0 - 1, n_sims) / (n0 - 1)
        return _welch_reject(m1, v1, n1, m0, v0, n0, d.test_alpha)
    treat = np.r_[np.ones(n1), np.zeros(n0)]
    x = rng.standard_normal((n_sims, n1 + n0))
    y = effect * treat + sd * (math.sqrt(r2) * x + math.sqrt(1 - r2) * rng.standard_normal(x.shape))
    X = np.stack([np.ones_like(x), np.broadcast_to(treat, x.shape), x], axis=2)
    xtx_inv = np.linalg.inv(np.einsum("sni,snj->sij", X, X))
    beta = np.einsum("sij,sj->si", xtx_inv, np.einsum("sni,sn->si", X, y))
    resid = y - np.einsum("sni,si->sn", X, beta)
    dof = n1 + n0 - 3
    se = np.sqrt((resid**2).sum(1) / dof * xtx_inv[:, 1, 1])
    return float(np.mean(np.abs(beta[:, 1] / se) > stats.t.ppf(1 - d.test_alpha / 2, dof)))


def _beta_binomial_means(rng, p, icc, m, shape) -> np.ndarray:
    if icc == 0:
        return rng.binomial(m, p, shape) / m
    k = (1 - icc) / icc
    return rng.binomial(m, rng.beta(p * k, (1 - p) * k, shape)) / m


def _welch_reject(m1, v1, n1, m0, v0, n0, alpha) -> float:
    a, b = v1 / n1, v0 / n0
    se = np.sqrt(a + b)
    with np.errstate(divide="ignore", invalid="ignore"):
        df = (a + b) ** 2 / (a**2 / (n1 - 1) + b**2 / (n0 - 1))
        t = np.abs(m1 - m0) / se
        reject = t > stats.t.ppf(1 - alpha / 2, np.where(np.isfinite(df), df, n1 + n0 - 2))
    # identical all-0/all-1 samples have no variance: count them as not rejected
    return float(np.mean(np.where(se > 0, reject, False)))


def power_curve(
    design: Design,
    *,
    effects: np.ndarray | None = None,
    target: float = 0.8,
    mark: float | None = None,
    ax: Axes | None = None,
) -> Axes:
    """Power against the true effect for ``design`` (a :class:`Design` or ``result.design``)."""
    from evaluate.plotting import _axes

    ax = _axes(ax)
    if effects is None:
        top = (1 - design.baseline) * 0.95 if design.outcome == "binary" else 5 * design.sd
        reach = mark if mark is not None and math.isfinite(mark) else top / 2
        effects = np.linspace(0, min(top, 2.5 * reach), 101)
    values = [_power(float(e), design) for e in effects]
    ax.plot(effects, values, color="C0")
    ax.axhline(target, color="0.4", linewidth=0.8, linestyle="--")
    if mark is not None and math.isfinite(mark):
        ax.axvline(mark, color="C1", linewidth=1.0, linestyle=":", label=f"effect {mark:.3g}")
        ax.legend(frameon=False)
    ax.set_xlabel("true effect (share)" if design.outcome == "binary" else "true effect")
    ax.set_ylabel("power")
    ax.set_ylim(0, 1.02)
    ax.set_title(
        f"Power: {design.n_treated:g} vs {design.n_control:g}, level {design.test_alpha:.3g}"
    )
    return ax


__all__ = [
    "Design",
    "DesignPowerResult",
    "PowerResult",
    "simulate_design",
    "mde",
    "power",
    "power_curve",
    "sample_size",
    "simulate_power",
]
