"""Aggregation and multiplier bootstrap of Callaway-Sant'Anna group-time effects.

:func:`~evaluate.estimators.did.staggered.callaway_santanna` estimates every ATT(g,t)
with its influence function; this module turns them into the four summaries of
Callaway & Sant'Anna (2021, section 3): ``simple`` (post-treatment cells weighted
by cohort size), ``group`` (per cohort, then across cohorts), ``dynamic`` (per
event time ``e = t - g``, overall = mean over ``e >= 0``) and ``calendar`` (per
period, then across periods).  The formulas, including the influence function
of the estimated cohort shares (``wif``), follow R ``did`` 2.5.0
``compute.aggte``, so standard errors match R to rounding.

The multiplier bootstrap draws one weight per unit and draw; the draws of every
cell (``B x K``) and the per-cohort sums of the weights (``B x C``) are kept, so
each aggregation's bootstrap is a small matrix product of those, with the same
draws as the cell-level bands.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pandas as pd
from scipy import stats

from evaluate.effect import EffectResult
from evaluate.errors import SpecError
from evaluate.estimators.did._bands import period_label as _fmt
from evaluate.estimators.did._bands import plot_bands
from evaluate.estimators.did._influence import Influence
from evaluate.text import Num, Text

if TYPE_CHECKING:
    from matplotlib.axes import Axes

AggregateKind = Literal["simple", "group", "dynamic", "calendar"]
BootstrapWeights = Literal["mammen", "rademacher", "gaussian"]

# R did sets standard errors below this to NA (they belong to cells fixed at 0).
_SE_FLOOR = math.sqrt(np.finfo(float).eps) * 10
_CHUNK = 128  # bootstrap draws per block: B x n float32 block stays ~50 MB at n = 100k


@dataclass(frozen=True, eq=False)
class GroupTimeEffects:
    """ATT(g,t) estimates with everything aggregation needs (internal container).

    ``influence_function`` holds the ``n x K`` influence function (R's
    ``inffunc``; unit ``i``'s influence on cell ``k``), dense or compact
    (:mod:`~evaluate.estimators.did._influence`); ``influence`` is the dense array.
    ``cohort_index[i]`` indexes ``cohort_values`` (0 = never treated).
    ``boot_cells`` (``B x K``) and ``boot_cohort`` (``B x C``) are the bootstrap
    deviations ``mean_i(v_i * IF_i)`` and ``mean_i(v_i * 1{cohort_i = c})``, or
    ``None`` without bootstrap.  Every analytic covariance is a quadratic form in
    the Gram matrix of the influence function and the cohort indicators
    (:meth:`covariance`).
    """

    att: np.ndarray
    group: np.ndarray
    time: np.ndarray
    influence_function: Influence
    cohort_index: np.ndarray
    cohort_values: np.ndarray
    boot_cells: np.ndarray | None = None
    boot_cohort: np.ndarray | None = None
    unit_weights: np.ndarray | None = None  # sampling weights, mean 1 (R did's weightsname)

    @property
    def n(self) -> int:
        return int(len(self.cohort_index))

    @cached_property
    def influence(self) -> np.ndarray:
        """The dense ``n x K`` influence function (built on first use)."""
        return self.influence_function.matrix

    @cached_property
    def cohort_counts(self) -> np.ndarray:
        return np.bincount(self.cohort_index, minlength=len(self.cohort_values))

    @cached_property
    def cohort_mass(self) -> np.ndarray:
        """Units per cohort, weighted (R's ``n * pg``); the counts without weights."""
        if self.unit_weights is None:
            return self.cohort_counts.astype(float)
        return np.bincount(
            self.cohort_index, weights=self.unit_weights, minlength=len(self.cohort_values)
        )

    def combine(self, weights: np.ndarray, alpha: np.ndarray) -> np.ndarray:
        """Influence functions (``n x P``) of aggregates ``IF @ weights + w_i alpha[cohort_i]``
        (the ``alpha`` term is the influence of the estimated cohort shares, R's ``wif``)."""
        return self.influence_function.combine(weights, alpha)

    def covariance(self, weights: np.ndarray, alpha: np.ndarray | None = None) -> np.ndarray:
        """``IF_P' IF_P / n^2`` of those aggregates (``P x P``), from the Gram matrix."""
        if alpha is None:
            alpha = np.zeros((len(self.cohort_values), weights.shape[1]))
        m = np.vstack([weights, alpha])
        return m.T @ self.influence_function.gram @ m / self.n**2

    def std_errors(self, weights: np.ndarray, alpha: np.ndarray | None = None) -> np.ndarray:
        """R's ``getSE``: ``sqrt(mean(IF^2) / n)``; tiny SEs (fixed cells) are NaN."""
        return standard_errors(self.covariance(weights, alpha))

    def cell_std_errors(self) -> np.ndarray:
        """Standard error of every ATT(g,t)."""
        return self.std_errors(np.eye(len(self.att)))


def standard_errors(cov: np.ndarray) -> np.ndarray:
    """Square roots of the diagonal; tiny ones (cells fixed at 0) are NaN, as R did."""
    se = np.sqrt(np.clip(np.diag(cov), 0.0, None))
    return np.where(se <= _SE_FLOOR, np.nan, se)


# --------------------------------------------------------------------------- bootstrap
def multiplier_draws(
    influence: np.ndarray,
    cohort_index: np.ndarray,
    n_cohorts: int,
    *,
    draws: int,
    weights: BootstrapWeights,
    seed: int | None,
    unit_weights: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Multiplier-bootstrap deviations of every column of ``influence``.

    Returns ``(B x K, B x C)``: ``mean_i(v_bi * IF_ik)`` and the per-cohort means of
    ``v_bi``, with independent weights ``v`` of mean 0 and variance 1:

    * ``"mammen"`` (R ``did``'s default): ``(1 - sqrt5)/2`` with probability
      ``p = (1 + sqrt5)/(2 sqrt5)``, else ``(1 + sqrt5)/2``.  The Bernoulli(p) is
      drawn by comparing 16-bit random integers with ``round(p * 2^16)``, which
      moves the weights' variance from 1 by under 5e-5 (far below the Monte Carlo
      error of any practical number of draws) at a third of the cost of floats.
    * ``"rademacher"``: +-1 with probability 1/2, one random bit per weight.
    * ``"gaussian"``: standard normal weights.  The deviations are then exactly
      ``N(0, IF'IF / n^2)`` given the data, so they are drawn from that ``K+C``
      dimensional normal directly: the same distribution as drawing ``n x B``
      normal weights, at a tiny fraction of the cost.

    The weights are generated in blocks of draws; the block's product with the
    influence function is one float32 matrix product (sums are returned in float64).
    """
    rng = np.random.default_rng(seed)
    n, k = influence.shape
    onehot = np.zeros((n, n_cohorts))
    onehot[np.arange(n), cohort_index] = 1.0 if unit_weights is None else unit_weights
    if weights == "gaussian":
        stacked = np.hstack([influence, onehot]) / n
        gram = stacked.T @ stacked
        eigval, eigvec = np.linalg.eigh(gram)
        root = eigvec * np.sqrt(np.clip(eigval, 0.0, None))
        out = rng.standard_normal((draws, k + n_cohorts)) @ root.T
        return out[:, :k], out[:, k:]
    stacked32 = np.hstack([influence, onehot]).astype(np.float32)
    col_sum = np.concatenate([influence.sum(axis=0), onehot.sum(axis=0)])
    if weights == "mammen":
        low, high = (1 - math.sqrt(5)) / 2, (1 + math.sqrt(5)) / 2
        threshold = np.uint16(round((1 + math.sqrt(5)) / (2 * math.sqrt(5)) * 2**16))
    else:
        low, high = -1.0, 1.0
    out = np.empty((draws, k + n_cohorts))
    buffer = np.empty((min(_CHUNK, draws), n), dtype=np.float32)
    for start in range(0, draws, _CHUNK):
        b = min(_CHUNK, draws - start)
        indicator = buffer[:b]
        if weights == "mammen":
            uniform16 = rng.integers(0, 2**16, size=(b, n), dtype=np.uint16)
            np.less(uniform16, threshold, out=indicator, casting="unsafe")
        else:
            bits = np.frombuffer(rng.bytes((b * n + 7) // 8), dtype=np.uint8)
            np.copyto(indicator, np.unpackbits(bits, count=b * n).reshape(b, n), casting="unsafe")
        # v = high + (low - high) * 1{low}: sum_i v_i IF_i = high * colsum + (low - high) * hits
        hits = (indicator @ stacked32).astype(float)
        out[start : start + b] = (high * col_sum + (low - high) * hits) / n
    return out[:, :k], out[:, k:]


def uniform_critical_value(deviations: np.ndarray, se: np.ndarray, alpha: float) -> float:
    """Sup-t critical value: the ``1 - alpha`` quantile of ``max_j |d_bj| / se_j``.

    Columns with a missing or zero standard error (cells fixed at 0) are left out.
    """
    keep = np.isfinite(se) & (se > 0)
    if not keep.any():
        return math.nan
    t_max = np.max(np.abs(deviations[:, keep]) / se[keep], axis=1)
    return float(np.quantile(t_max, 1 - alpha))


def small_sample_df(gt: GroupTimeEffects) -> float:
    """Degrees of freedom of the small-sample calibration, ``2 (m - 1)`` with ``m`` the
    smallest treated cohort: the two-sample df of comparing that cohort with a
    comparison group of its size, the weakest contrast an event-time effect leans on.
    (``m - 1`` alone over-covered: 97 % for both bands in the simulation below.)"""
    values = gt.cohort_values
    counts = gt.cohort_counts[(values > 0) & np.isfinite(values)]
    return float(max(2 * (counts.min() - 1), 1)) if counts.size else math.inf


def t_calibrated(crit: float, df: float) -> float:
    """The t(df) quantile with the same two-sided tail as the normal quantile ``crit``.

    The multiplier bootstrap reproduces the normal limit of the influence-function
    t-statistics; with small cohorts their standard errors are themselves noisy, so
    the sup-t critical value is moved to the t scale: ``t_df^-1(Phi(crit))``.  In
    simulations with 60 units in three treated cohorts of ~15 and 10 periods
    (``tests/coverage``), the uncalibrated post-period band covered 92 % and the
    pre-period band 90 %; calibrated with :func:`small_sample_df` 95.3 % and 94.3 %
    (300 draws; ``benchmarks/results/coverage.md`` for the independent run).
    """
    if not math.isfinite(crit) or not math.isfinite(df):
        return crit
    return float(stats.t.isf(stats.norm.sf(crit), df))


def bootstrap_se(deviations: np.ndarray) -> np.ndarray:
    """R ``mboot``'s robust bootstrap SE: interquartile range / (z_.75 - z_.25)."""
    q75, q25 = np.quantile(deviations, [0.75, 0.25], axis=0)
    se = (q75 - q25) / (stats.norm.ppf(0.75) - stats.norm.ppf(0.25))
    return np.where(se <= _SE_FLOOR, np.nan, se)


# --------------------------------------------------------------------------- aggregation
@dataclass(frozen=True)
class _Linear:
    """An aggregate as a linear map of the cells plus a per-cohort weight correction.

    Estimate ``w @ att``; influence ``IF @ w + alpha[cohort_i]`` (the ``alpha``
    term is R's ``wif %*% att``, the influence of the estimated cohort shares).
    """

    weights: np.ndarray  # K
    cohort_term: np.ndarray  # C


def _shares_term(gt: GroupTimeEffects, codes: np.ndarray, values: np.ndarray) -> np.ndarray:
    """R's ``wif(keepers, pg, ...) %*% values`` for a unit of each cohort (length C).

    ``codes[j]`` is the cohort index of kept item ``j`` (a cell, or a cohort in the
    ``group`` aggregation) and ``values[j]`` its estimate.  The weights are
    ``pg_j / sum(pg)`` with ``pg`` the estimated cohort shares; this is the
    influence of estimating them (numerator ``if1`` and denominator ``if2``).
    """
    pg = gt.cohort_mass[codes] / gt.n
    total = pg.sum()
    indicator = (np.arange(len(gt.cohort_values))[:, None] == codes[None, :]).astype(float)
    if1 = (indicator - pg) / total
    if2 = (indicator - pg).sum(axis=1, keepdims=True) * (pg / total**2)[None, :]
    return (if1 - if2) @ values


def _codes(gt: GroupTimeEffects, cohorts: np.ndarray) -> np.ndarray:
    return np.searchsorted(gt.cohort_values, cohorts)


def _weighted(gt: GroupTimeEffects, cells: np.ndarray) -> _Linear:
    """Cells averaged with weights proportional to cohort size, shares estimated."""
    codes = _codes(gt, gt.group[cells])
    pg = gt.cohort_mass[codes] / gt.n
    weights = np.zeros(len(gt.att))
    weights[cells] = pg / pg.sum()
    return _Linear(weights, _shares_term(gt, codes, gt.att[cells]))


def _mean_of(parts: list[_Linear], share: np.ndarray | None = None) -> _Linear:
    """Weighted average of aggregates (equal weights when ``share`` is None)."""
    w = np.full(len(parts), 1 / len(parts)) if share is None else share / share.sum()
    return _Linear(
        sum(wj * p.weights for wj, p in zip(w, parts, strict=True)),
        sum(wj * p.cohort_term for wj, p in zip(w, parts, strict=True)),
    )


def aggregate_parts(
    gt: GroupTimeEffects, kind: AggregateKind, *, min_e: float, max_e: float
) -> tuple[_Linear, list[tuple[float, _Linear]]]:
    """The overall aggregate and the per-period aggregates of ``kind`` as linear maps."""
    g, t = gt.group, gt.time
    e = t - g
    post = (g <= t) & (t <= g + max_e)
    if kind == "simple":
        cells = np.flatnonzero(post)
        if cells.size == 0:
            raise SpecError("No post-treatment ATT(g,t) to aggregate; check max_e.")
        return _weighted(gt, cells), []
    if kind == "group":
        parts = []
        for cohort in np.unique(g):
            cells = np.flatnonzero(post & (g == cohort))
            if cells.size:
                w = np.zeros(len(gt.att))
                w[cells] = 1 / cells.size  # cells of one cohort share pg: equal weights
                parts.append((float(cohort), _Linear(w, np.zeros(len(gt.cohort_values)))))
        if not parts:
            raise SpecError("No post-treatment ATT(g,t) to aggregate; check max_e.")
        codes = _codes(gt, np.array([c for c, _ in parts]))
        att_g = np.array([p.weights @ gt.att for _, p in parts])
        overall = _mean_of([p for _, p in parts], gt.cohort_mass[codes])
        # the cohort shares weighting the groups are estimated too (R's wif over glist)
        overall = _Linear(overall.weights, overall.cohort_term + _shares_term(gt, codes, att_g))
        return overall, parts
    if kind == "dynamic":
        parts = []
        for event in np.unique(e):
            if min_e <= event <= max_e:
                parts.append((float(event), _weighted(gt, np.flatnonzero(e == event))))
        positive = [p for ev, p in parts if ev >= 0]
        if not positive:
            raise SpecError("No event time e >= 0 within [min_e, max_e] to aggregate.")
        return _mean_of(positive), parts
    if kind == "calendar":
        parts = []
        for period in np.unique(t[t >= g.min()]):
            cells = np.flatnonzero((t == period) & (g <= t))
            if cells.size:
                parts.append((float(period), _weighted(gt, cells)))
        return _mean_of([p for _, p in parts]), parts
    raise SpecError(
        f"Unknown aggregation {kind!r}; use 'simple', 'group', 'dynamic' or 'calendar'."
    )


def _stack(parts: list[_Linear]) -> tuple[np.ndarray, np.ndarray]:
    return (
        np.column_stack([p.weights for p in parts]),
        np.column_stack([p.cohort_term for p in parts]),
    )


def evaluate_parts(
    gt: GroupTimeEffects, parts: list[_Linear]
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Estimates, covariance (``P x P``, ``IF'IF / n^2``) and analytic SEs of linear
    aggregates, from the Gram matrix of the influence function (no ``n x P`` array)."""
    w, alpha = _stack(parts)
    cov = gt.covariance(w, alpha)
    return gt.att @ w, cov, standard_errors(cov)


def part_influence(gt: GroupTimeEffects, part: _Linear) -> np.ndarray:
    """The influence function of one linear aggregate (one value per unit)."""
    w, alpha = _stack([part])
    return gt.combine(w, alpha)[:, 0]


def boot_parts(gt: GroupTimeEffects, parts: list[_Linear]) -> np.ndarray | None:
    """Bootstrap deviations (``B x P``) of linear aggregates, from the stored draws."""
    if gt.boot_cells is None or gt.boot_cohort is None:
        return None
    w = np.column_stack([p.weights for p in parts])
    alpha = np.column_stack([p.cohort_term for p in parts])
    return gt.boot_cells @ w + gt.boot_cohort @ alpha


def effects_frame(
    label: np.ndarray,
    estimate: np.ndarray,
    se: np.ndarray,
    alpha: float,
    boot: np.ndarray | None,
    *,
    df: float = math.inf,
    split: bool = False,
) -> tuple[pd.DataFrame, float, float]:
    """Tidy per-period frame with pointwise and (with bootstrap) sup-t uniform bands.

    ``split`` (event times) gives the post-periods (``label >= 0``) and the
    pre-periods their own bands: one band over both would mix the question "how
    large is the effect?" with "do the pre-trends hold?", and cover neither at its
    level.  ``df`` calibrates the critical values to t (:func:`t_calibrated`).
    Returns the frame and the critical values of the post and the pre band.
    """
    z = stats.norm.ppf(1 - alpha / 2)
    with np.errstate(invalid="ignore", divide="ignore"):
        p_value = 2 * stats.norm.sf(np.abs(estimate) / se)
    frame = pd.DataFrame(
        {
            "period": label,
            "estimate": estimate,
            "std_error": se,
            "ci_low": estimate - z * se,
            "ci_high": estimate + z * se,
            "p_value": p_value,
        }
    )
    crit, crit_pre = math.nan, math.nan
    if boot is not None:
        pre = (label < 0) if split else np.zeros(len(label), bool)
        crit = t_calibrated(uniform_critical_value(boot[:, ~pre], se[~pre], alpha), df)
        if pre.any():
            crit_pre = t_calibrated(uniform_critical_value(boot[:, pre], se[pre], alpha), df)
        mult = np.where(pre, crit_pre, crit)
        frame["boot_se"] = bootstrap_se(boot)
        frame["ci_low_uniform"] = estimate - mult * se
        frame["ci_high_uniform"] = estimate + mult * se
    return frame, crit, crit_pre


# --------------------------------------------------------------------------- pre-test
_KIND_TEXT = {
    "simple": Text(
        "staggered.simple", "ATT: average of post-treatment ATT(g,t), weighted by cohort size"
    ),
    "group": Text(
        "staggered.group",
        "ATT: average over cohorts (weighted by size) of each cohort's mean post-treatment ATT",
    ),
    "dynamic": Text(
        "staggered.dynamic", "ATT: average over event times e >= 0 of the event-time ATT(e)"
    ),
    "calendar": Text(
        "staggered.calendar",
        "ATT: average over calendar periods of the period's ATT across treated cohorts",
    ),
}
_PERIOD_NAME = {
    "group": Text("staggered.plot_cohort", "cohort (first treated period)"),
    "dynamic": Text("plot.event_time", "event time (periods since adoption)"),
    "calendar": Text("staggered.plot_period", "period"),
}
_PLOT_TITLE = {
    "group": ("staggered.plot_title_group", "{name}: effects by cohort"),
    "dynamic": ("staggered.plot_title_dynamic", "{name}: effects by event time"),
    "calendar": ("staggered.plot_title_calendar", "{name}: effects by period"),
}


@dataclass(frozen=True, kw_only=True, eq=False)
class StaggeredAggregate(EffectResult):
    """One Callaway-Sant'Anna aggregation: overall effect and per-period effects.

    ``periods`` holds the per-cohort (``group``), per-event-time (``dynamic``) or
    per-period (``calendar``) effects with analytic influence-function SEs and,
    with bootstrap, ``boot_se`` and sup-t uniform bands ``ci_low_uniform`` /
    ``ci_high_uniform`` (``critical_value`` is the band's multiplier of the SE; for
    ``dynamic`` the pre-periods have their own band, ``critical_value_pre``; both are
    calibrated to t with the smallest treated cohort's size minus one df).
    ``influence`` is the overall estimate's influence function (one value per unit).
    ``vcov`` is the covariance of the per-period effects (from their influence
    functions, ``IF' IF / n^2``); ``reference`` is -1 for the dynamic aggregation
    with a universal base period (event time -1 is then fixed at 0, as an event
    study's reference), so :func:`evaluate.inference.honest_did` accepts it.
    """

    kind: AggregateKind
    critical_value: float = math.nan
    critical_value_pre: float = math.nan
    influence: np.ndarray = field(default_factory=lambda: np.empty(0), repr=False)
    vcov: pd.DataFrame | None = field(default=None, repr=False)
    reference: int | None = None

    def _extra_terms(self) -> list[dict[str, Any]]:
        if self.periods is None:
            return []
        label = {"group": "cohort {}", "dynamic": "e = {}", "calendar": "t = {}"}[self.kind]
        return [
            {
                "term": label.format(_fmt(row.period)),
                "estimate": row.estimate,
                "std_error": row.std_error,
                "ci_low": row.ci_low,
                "ci_high": row.ci_high,
                "p_value": row.p_value,
                "unit": self.unit,
            }
            for row in self.periods.itertuples()
        ]

    def plot(self, ax: Axes | None = None) -> Axes:
        """Per-period effects with pointwise (and uniform, with bootstrap) bands."""
        if self.periods is None:
            return super().plot(ax=ax)
        return plot_bands(
            self.periods,
            xlabel=_PERIOD_NAME[self.kind],
            unit=self.unit,
            title=Text(*_PLOT_TITLE[self.kind], name=self.name),
            event_time=self.kind == "dynamic",
            ax=ax,
        )


def make_aggregate(
    gt: GroupTimeEffects,
    kind: AggregateKind,
    *,
    alpha: float,
    min_e: float = -math.inf,
    max_e: float = math.inf,
    base: dict[str, Any],
    influence: bool = True,
) -> StaggeredAggregate:
    """Build the :class:`StaggeredAggregate` of ``kind`` (``base``: shared result fields;
    ``influence=False`` skips the per-unit influence function, for internal use)."""
    from evaluate.inference.distributions import Normal

    overall, parts = aggregate_parts(gt, kind, min_e=min_e, max_e=max_e)
    est, _, se = evaluate_parts(gt, [overall])
    periods, crit, crit_pre, vcov = None, math.nan, math.nan, None
    if parts:
        p_est, p_cov, p_se = evaluate_parts(gt, [p for _, p in parts])
        label = np.array([lab for lab, _ in parts])
        periods, crit, crit_pre = effects_frame(
            label, p_est, p_se, alpha, boot_parts(gt, [p for _, p in parts]),
            df=small_sample_df(gt), split=kind == "dynamic",
        )  # fmt: skip
        index = pd.Index(label, name="period")
        vcov = pd.DataFrame(p_cov, index=index, columns=index)
    universal = base.pop("base_period", "varying") == "universal"
    boot = boot_parts(gt, [overall])
    notes = list(base.pop("notes", ()))
    if boot is not None:
        boot_se = bootstrap_se(boot)[0]
        notes.append(
            Text(
                "staggered.note_boot_se",
                "Bootstrap SE of the overall effect (IQR-based, as R did): {se}.",
                se=Num(boot_se, sig=4),
            )
        )
    return StaggeredAggregate(
        kind=kind,
        estimand=_KIND_TEXT[kind],
        distribution=Normal(float(est[0]), float(se[0])),
        alpha=alpha,
        periods=periods,
        critical_value=crit,
        critical_value_pre=crit_pre,
        influence=part_influence(gt, overall) if influence else np.empty(0),
        vcov=vcov,
        reference=-1 if kind == "dynamic" and universal else None,
        notes=tuple(notes),
        **base,
    )
