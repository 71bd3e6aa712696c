"""Outcome shares on small groups: one share, two shares compared, a distribution.

Municipal reports say "of 285 citizens, 106 went into work" or "30 % into work".
These functions turn such counts into results with honest intervals:

* :func:`share` — one proportion with a Wilson score or Clopper-Pearson exact
  interval;
* :func:`share_difference` — two groups: risk difference with the Newcombe
  hybrid-score interval (Newcombe 1998, method 10) or the Miettinen-Nurminen score
  interval, plus the risk ratio (score interval) and Fisher's exact test;
* :func:`outcome_distribution` — work / education / internship / other shares with
  simultaneous (Goodman 1965 or Sison-Glaz 1995) intervals.

Each result says in its notes when the numbers are too small to conclude
(fewer than 30 people, or fewer than 5 with or without the outcome).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pandas as pd
from scipy import stats
from statsmodels.stats.proportion import (
    confint_proportions_2indep,
    multinomial_proportions_confint,
    proportion_confint,
)
from statsmodels.stats.proportion import (
    test_proportions_2indep as _score_test_2indep,
)

from evaluate.effect import Diagnostic, EffectResult, Provenance
from evaluate.errors import DataError, SpecError
from evaluate.inference.distributions import _check_alpha

if TYPE_CHECKING:
    from matplotlib.axes import Axes

ShareMethod = Literal["wilson", "clopper-pearson"]
DifferenceMethod = Literal["newcombe", "score"]
MultinomialMethod = Literal["goodman", "sison-glaz"]
SMALL_N = 30
SMALL_COUNT = 5
_SM_METHOD = {"wilson": "wilson", "clopper-pearson": "beta"}


def _count(value: Any, what: str) -> int:
    if isinstance(value, bool) or not float(value).is_integer() or value < 0:
        raise DataError(f"{what} must be a non-negative whole number, got {value!r}.")
    return int(value)


def _counts(successes: Any, n: Any, what: str = "") -> tuple[int, int]:
    x, m = _count(successes, f"successes{what}"), _count(n, f"n{what}")
    if m == 0:
        raise DataError(f"n{what} is 0: a share of nobody is undefined.")
    if x > m:
        raise DataError(f"successes{what} = {x} exceeds n{what} = {m}; check the counts.")
    return x, m


def _too_small(x: int, n: int) -> bool:
    return n < SMALL_N or x < SMALL_COUNT or n - x < SMALL_COUNT


def wilson_interval(x: int, n: int, alpha: float) -> tuple[float, float]:
    """Wilson (1927) score interval for ``x`` successes of ``n``."""
    z = stats.norm.ppf(1 - alpha / 2)
    p = x / n
    centre = (p + z**2 / (2 * n)) / (1 + z**2 / n)
    half = z / (1 + z**2 / n) * math.sqrt(p * (1 - p) / n + z**2 / (4 * n**2))
    return max(0.0, centre - half), min(1.0, centre + half)


# --------------------------------------------------------------------------- distributions
@dataclass(frozen=True)
class BinomialShare:
    """Reference distribution of a share ``x / n`` (optionally times ``factor``).

    Intervals are Wilson or Clopper-Pearson; p-values the score test (Wilson) or the
    exact binomial test (Clopper-Pearson); draws come from the Jeffreys posterior
    Beta(x + 1/2, n - x + 1/2), which carries the same uncertainty into money.
    """

    successes: int
    n: int
    method: ShareMethod = "wilson"
    factor: float = 1.0

    @property
    def estimate(self) -> float:
        return self.factor * self.successes / self.n

    @property
    def std_error(self) -> float:
        p = self.successes / self.n
        return abs(self.factor) * math.sqrt(p * (1 - p) / self.n)

    @property
    def label(self) -> str:
        return "Wilson score" if self.method == "wilson" else "Clopper-Pearson exact"

    def interval(self, alpha: float = 0.05) -> tuple[float, float]:
        _check_alpha(alpha)
        if self.method == "wilson":
            low, high = wilson_interval(self.successes, self.n, alpha)
        else:
            low, high = proportion_confint(self.successes, self.n, alpha, method="beta")
        low, high = sorted((self.factor * float(low), self.factor * float(high)))
        return low, high

    def p_value(self, null: float = 0.0) -> float:
        p0 = null / self.factor if self.factor else math.nan
        x, n = self.successes, self.n
        if not 0 < p0 < 1:  # a share of exactly 0 or 1 is refuted by one counter-example
            if p0 <= 0:
                return 1.0 if x == 0 else 0.0
            return 1.0 if x == n else 0.0
        if self.method == "clopper-pearson":
            return float(stats.binomtest(x, n, p0).pvalue)
        z = (x / n - p0) / math.sqrt(p0 * (1 - p0) / n)
        return float(2 * stats.norm.sf(abs(z)))

    def draws(self, n: int, rng: np.random.Generator) -> np.ndarray:
        return self.factor * rng.beta(self.successes + 0.5, self.n - self.successes + 0.5, n)

    def scaled(self, factor: float) -> BinomialShare:
        return replace(self, factor=self.factor * factor)


@dataclass(frozen=True)
class ShareDifference:
    """Reference distribution of ``x1/n1 - x2/n2`` (times ``factor``).

    Intervals: Newcombe hybrid score (from two Wilson intervals) or Miettinen-
    Nurminen score; p-value: the score test; draws: difference of two Jeffreys
    posteriors.
    """

    x1: int
    n1: int
    x2: int
    n2: int
    method: DifferenceMethod = "newcombe"
    factor: float = 1.0

    @property
    def estimate(self) -> float:
        return self.factor * (self.x1 / self.n1 - self.x2 / self.n2)

    @property
    def std_error(self) -> float:
        p1, p2 = self.x1 / self.n1, self.x2 / self.n2
        return abs(self.factor) * math.sqrt(p1 * (1 - p1) / self.n1 + p2 * (1 - p2) / self.n2)

    @property
    def label(self) -> str:
        return "Newcombe hybrid score" if self.method == "newcombe" else "Miettinen-Nurminen score"

    def interval(self, alpha: float = 0.05) -> tuple[float, float]:
        _check_alpha(alpha)
        p1, p2 = self.x1 / self.n1, self.x2 / self.n2
        if self.method == "newcombe":
            l1, u1 = wilson_interval(self.x1, self.n1, alpha)
            l2, u2 = wilson_interval(self.x2, self.n2, alpha)
            d = p1 - p2
            low = d - math.sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2)
            high = d + math.sqrt((u1 - p1) ** 2 + (p2 - l2) ** 2)
        else:
            low, high = confint_proportions_2indep(
                self.x1, self.n1, self.x2, self.n2, method="score", compare="diff", alpha=alpha
            )
        low, high = sorted((self.factor * float(low), self.factor * float(high)))
        return low, high

    def p_value(self, null: float = 0.0) -> float:
        value = null / self.factor if self.factor else math.nan
        if (self.x1 + self.x2) in (0, self.n1 + self.n2) and value == 0:
            return 1.0  # no variation at all: nothing contradicts "no difference"
        res = _score_test_2indep(
            self.x1, self.n1, self.x2, self.n2, value=value, method="score", compare="diff"
        )
        return float(res.pvalue)

    def draws(self, n: int, rng: np.random.Generator) -> np.ndarray:
        a = rng.beta(self.x1 + 0.5, self.n1 - self.x1 + 0.5, n)
        b = rng.beta(self.x2 + 0.5, self.n2 - self.x2 + 0.5, n)
        return self.factor * (a - b)

    def scaled(self, factor: float) -> ShareDifference:
        return replace(self, factor=self.factor * factor)


@dataclass(frozen=True)
class MultinomialShare:
    """Share of category ``index`` among ``counts`` with a simultaneous interval."""

    counts: tuple[int, ...]
    index: int
    method: MultinomialMethod = "goodman"
    factor: float = 1.0

    @property
    def estimate(self) -> float:
        return self.factor * self.counts[self.index] / sum(self.counts)

    @property
    def std_error(self) -> float:
        n, p = sum(self.counts), self.counts[self.index] / sum(self.counts)
        return abs(self.factor) * math.sqrt(p * (1 - p) / n)

    @property
    def label(self) -> str:
        return f"simultaneous {'Goodman' if self.method == 'goodman' else 'Sison-Glaz'}"

    def interval(self, alpha: float = 0.05) -> tuple[float, float]:
        _check_alpha(alpha)
        ci = multinomial_proportions_confint(list(self.counts), alpha, method=self.method)
        low, high = sorted((self.factor * ci[self.index, 0], self.factor * ci[self.index, 1]))
        return float(low), float(high)

    def p_value(self, null: float = 0.0) -> float:
        return BinomialShare(
            self.counts[self.index], sum(self.counts), "wilson", self.factor
        ).p_value(null)

    def draws(self, n: int, rng: np.random.Generator) -> np.ndarray:
        x, total = self.counts[self.index], sum(self.counts)
        return self.factor * rng.beta(x + 0.5, total - x + 0.5, n)

    def scaled(self, factor: float) -> MultinomialShare:
        return replace(self, factor=self.factor * factor)


# --------------------------------------------------------------------------- results
@dataclass(frozen=True, kw_only=True, eq=False)
class ShareResult(EffectResult):
    """A share with its interval; ``to_frame`` adds the other interval method."""

    successes: int = 0
    n: int = 0

    def _extra_terms(self) -> list[dict[str, Any]]:
        method = self.distribution.method  # type: ignore[attr-defined]
        other = "clopper-pearson" if method == "wilson" else "wilson"
        dist = replace(self.distribution, method=other)  # type: ignore[type-var]
        low, high = dist.interval(self.alpha)
        return [
            {
                "term": f"{self.name} ({dist.label})",
                "estimate": dist.estimate,
                "std_error": dist.std_error,
                "ci_low": low,
                "ci_high": high,
                "p_value": dist.p_value(0.0),
                "unit": self.unit,
            }
        ]

    def plot(self, ax: Axes | None = None) -> Axes:
        """The share with both intervals."""
        from evaluate.plotting import plot_estimates

        return plot_estimates(self.to_frame(), unit=self.unit, title=self.name, ax=ax)


@dataclass(frozen=True, kw_only=True, eq=False)
class ShareDifferenceResult(EffectResult):
    """Risk difference of two shares; ``to_frame`` adds both shares and the risk ratio."""

    groups: tuple[str, str] = ("group 1", "group 2")
    ratio: float = math.nan
    ratio_ci: tuple[float, float] = (math.nan, math.nan)
    ratio_p_value: float = math.nan

    def _extra_terms(self) -> list[dict[str, Any]]:
        dist = self.distribution
        rows = []
        for label, x, n in [(self.groups[0], dist.x1, dist.n1), (self.groups[1], dist.x2, dist.n2)]:  # type: ignore[attr-defined]
            share_dist = BinomialShare(x, n, "wilson")
            low, high = share_dist.interval(self.alpha)
            rows.append(
                {
                    "term": f"share {label}",
                    "estimate": share_dist.estimate,
                    "std_error": share_dist.std_error,
                    "ci_low": low,
                    "ci_high": high,
                    "p_value": math.nan,
                    "unit": "share",
                }
            )
        rows.append(
            {
                "term": f"risk ratio {self.groups[0]} / {self.groups[1]}",
                "estimate": self.ratio,
                "std_error": math.nan,
                "ci_low": self.ratio_ci[0],
                "ci_high": self.ratio_ci[1],
                "p_value": self.ratio_p_value,
                "unit": "ratio",
            }
        )
        return rows


@dataclass(frozen=True, kw_only=True, eq=False)
class OutcomeDistributionResult(EffectResult):
    """Shares of every outcome category with simultaneous intervals (first = main)."""

    counts: Mapping[str, int] = field(default_factory=dict)

    @property
    def table(self) -> pd.DataFrame:
        """Category, count, share, simultaneous CI and the marginal Wilson CI."""
        counts = list(self.counts.values())
        total = sum(counts)
        method = self.distribution.method  # type: ignore[attr-defined]
        sim = multinomial_proportions_confint(counts, self.alpha, method=method)
        marg = [wilson_interval(c, total, self.alpha) for c in counts]
        return pd.DataFrame(
            {
                "category": list(self.counts),
                "count": counts,
                "share": [c / total for c in counts],
                "ci_low": sim[:, 0],
                "ci_high": sim[:, 1],
                "marginal_low": [m[0] for m in marg],
                "marginal_high": [m[1] for m in marg],
            }
        )

    def _extra_terms(self) -> list[dict[str, Any]]:
        rows = []
        for row in self.table.iloc[1:].itertuples():
            dist = replace(self.distribution, index=int(row.Index))  # type: ignore[type-var]
            rows.append(
                {
                    "term": str(row.category),
                    "estimate": row.share,
                    "std_error": dist.std_error,
                    "ci_low": row.ci_low,
                    "ci_high": row.ci_high,
                    "p_value": math.nan,
                    "unit": self.unit,
                }
            )
        return rows

    def _summary_tables(self) -> list[tuple[str, pd.DataFrame]]:
        return [("Outcome distribution", self.table.set_index("category"))]


# --------------------------------------------------------------------------- front doors
def _small_note(x: int, n: int, label: str, low: float, high: float, level: float) -> str:
    return (
        f"Small numbers{label}: {x} of {n}. The {level:.0%} interval runs from "
        f"{low:.1%} to {high:.1%}; numbers this small cannot support firm conclusions or "
        "rankings between groups."
    )


def share(
    successes: int,
    n: int,
    *,
    method: ShareMethod = "wilson",
    alpha: float = 0.05,
    name: str = "share",
    population: str = "not stated",
    source: str = "",
) -> ShareResult:
    """A proportion ``successes / n`` with a Wilson or Clopper-Pearson interval.

    Examples
    --------
    >>> res = share(106, 285, method="clopper-pearson", name="in work (Solrød)")
    >>> round(res.estimate, 4), [round(v, 4) for v in res.ci]
    (0.3719, [0.3157, 0.4309])
    """
    x, m = _counts(successes, n)
    if method not in _SM_METHOD:
        raise SpecError(f"method must be 'wilson' or 'clopper-pearson', got {method!r}.")
    _check_alpha(alpha)
    dist = BinomialShare(x, m, method)
    low, high = dist.interval(alpha)
    small = _too_small(x, m)
    notes = (_small_note(x, m, "", low, high, 1 - alpha),) if small else ()
    return ShareResult(
        name=name,
        estimand=f"share of {population if population != 'not stated' else 'the group'}",
        distribution=dist,
        method="Proportion",
        inference=f"{dist.label} interval",
        unit="share",
        population=population,
        alpha=alpha,
        diagnostics={
            "sample size": Diagnostic(
                "n", float(m), passed=not small, note="small numbers" if small else ""
            )
        },
        provenance=Provenance(
            spec={"successes": x, "n": m, "method": method, "alpha": alpha}, n_rows=m, source=source
        ),
        notes=notes,
        successes=x,
        n=m,
    )


def share_difference(
    x1: int,
    n1: int,
    x2: int,
    n2: int,
    *,
    method: DifferenceMethod = "newcombe",
    alpha: float = 0.05,
    groups: tuple[str, str] = ("group 1", "group 2"),
    name: str = "difference in shares",
    population: str = "not stated",
    source: str = "",
) -> ShareDifferenceResult:
    """Risk difference ``x1/n1 - x2/n2`` (Newcombe or score interval) and risk ratio.

    Examples
    --------
    >>> res = share_difference(235, 2435, 157, 2435, groups=("white", "black"))
    >>> round(res.estimate, 4)
    0.032
    """
    a, m1 = _counts(x1, n1, "1")
    b, m2 = _counts(x2, n2, "2")
    if method not in ("newcombe", "score"):
        raise SpecError(f"method must be 'newcombe' or 'score', got {method!r}.")
    _check_alpha(alpha)
    dist = ShareDifference(a, m1, b, m2, method)
    if b == 0:
        ratio, ratio_ci, ratio_p = math.inf if a else math.nan, (math.nan, math.nan), math.nan
    else:
        ratio = (a / m1) / (b / m2)
        lo, hi = confint_proportions_2indep(
            a, m1, b, m2, method="score", compare="ratio", alpha=alpha
        )
        ratio_ci = (float(lo), float(hi))
        ratio_p = float(
            _score_test_2indep(a, m1, b, m2, value=1.0, method="score", compare="ratio").pvalue
        )
    fisher = stats.fisher_exact([[a, m1 - a], [b, m2 - b]])
    low, high = dist.interval(alpha)
    notes = [
        _small_note(x, m, f" in {g}", *BinomialShare(x, m).interval(alpha), 1 - alpha)
        for g, x, m in [(groups[0], a, m1), (groups[1], b, m2)]
        if _too_small(x, m)
    ]
    if notes and low < 0 < high:
        notes.append(
            "The interval includes no difference: with these numbers the two "
            "groups cannot be told apart."
        )
    return ShareDifferenceResult(
        name=name,
        estimand=f"share in {groups[0]} minus share in {groups[1]}",
        distribution=dist,
        method="Difference of two proportions",
        inference=f"{dist.label} interval; score test",
        unit="share",
        population=population,
        alpha=alpha,
        diagnostics={
            "Fisher exact test": Diagnostic(
                "Fisher exact", float(fisher.statistic), float(fisher.pvalue), note="odds ratio"
            )
        },
        provenance=Provenance(
            spec={"x1": a, "n1": m1, "x2": b, "n2": m2, "method": method, "alpha": alpha},
            n_rows=m1 + m2,
            source=source,
        ),
        notes=tuple(notes),
        groups=tuple(groups),
        ratio=ratio,
        ratio_ci=ratio_ci,
        ratio_p_value=ratio_p,
    )


def outcome_distribution(
    counts: Mapping[str, int],
    *,
    method: MultinomialMethod = "goodman",
    alpha: float = 0.05,
    name: str | None = None,
    population: str = "not stated",
    source: str = "",
) -> OutcomeDistributionResult:
    """Shares of outcome categories with simultaneous confidence intervals.

    The intervals hold for all categories at once with probability about
    ``1 - alpha`` (Goodman 1965; Sison & Glaz 1995 via statsmodels).  The first
    category is the main estimate.

    Examples
    --------
    >>> counts = {"work": 106, "education": 14, "internship": 46, "other": 119}
    >>> res = outcome_distribution(counts, population="Solrød, 285 citizens")
    >>> round(res.estimate, 4), [round(v, 3) for v in res.ci]
    (0.3719, [0.304, 0.445])
    """
    if not isinstance(counts, Mapping) or len(counts) < 2:
        raise DataError(
            "counts must be a mapping of at least two categories to counts, "
            "e.g. {'work': 106, 'education': 14, 'other': 165}."
        )
    values = [_count(v, f"count of {k!r}") for k, v in counts.items()]
    total = sum(values)
    if total == 0:
        raise DataError("All counts are 0: there is no distribution to describe.")
    if method not in ("goodman", "sison-glaz"):
        raise SpecError(f"method must be 'goodman' or 'sison-glaz', got {method!r}.")
    _check_alpha(alpha)
    keys = [str(k) for k in counts]
    dist = MultinomialShare(tuple(values), 0, method)
    notes = []
    few = [k for k, v in zip(keys, values, strict=True) if v < SMALL_COUNT]
    if total < SMALL_N:
        notes.append(
            f"Small numbers: only {total} people in all; shares move by "
            f"{1 / total:.0%} per person and cannot support firm conclusions."
        )
    if few:
        notes.append(
            f"Categories {few} have fewer than {SMALL_COUNT} people: their shares "
            "are too small to interpret, and Goodman intervals are approximate."
        )
    if method == "sison-glaz" and len(values) < 7:
        notes.append(
            "Sison-Glaz intervals are validated for 7 or more categories; with "
            f"{len(values)} prefer method='goodman'."
        )
    return OutcomeDistributionResult(
        name=name or keys[0],
        estimand=f"share of the group in each outcome, main: {keys[0]!r}",
        distribution=dist,
        method="Multinomial outcome shares",
        inference=f"{dist.label} intervals",
        unit="share",
        population=population,
        alpha=alpha,
        provenance=Provenance(
            spec={"counts": dict(zip(keys, values, strict=True)), "method": method, "alpha": alpha},
            n_rows=total,
            source=source,
        ),
        notes=tuple(notes),
        counts=dict(zip(keys, values, strict=True)),
    )


__all__ = [
    "BinomialShare",
    "MultinomialShare",
    "OutcomeDistributionResult",
    "ShareDifference",
    "ShareDifferenceResult",
    "ShareResult",
    "outcome_distribution",
    "share",
    "share_difference",
    "wilson_interval",
]
