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
from typing import TYPE_CHECKING, Any

import pandas as pd
from scipy import stats
from statsmodels.stats.proportion import (
    confint_proportions_2indep,
    multinomial_proportions_confint,
)
from statsmodels.stats.proportion import (
    test_proportions_2indep as _score_test_2indep,
)

from evaluate.effect import Diagnostic, EffectResult, Provenance
from evaluate.errors import DataError, SpecError
from evaluate.estimators.trials._share_distributions import (
    _SM_METHOD,
    BinomialShare,
    DifferenceMethod,
    MultinomialMethod,
    MultinomialShare,
    ShareDifference,
    ShareMethod,
    wilson_interval,
)
from evaluate.inference.distributions import _check_alpha
from evaluate.text import Pct, Text

if TYPE_CHECKING:
    from matplotlib.axes import Axes

SMALL_N = 30
SMALL_COUNT = 5


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
                "term": Text(
                    "term.other_interval", "{name} ({label})", name=self.name, label=dist.label
                ),
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
                    "term": Text("term.share_in", "share {group}", group=label),
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
                "term": Text(
                    "term.risk_ratio",
                    "risk ratio {a} / {b}",
                    a=self.groups[0],
                    b=self.groups[1],
                ),
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
def _small_note(x: int, n: int, group: str, low: float, high: float, level: float) -> str:
    where = Text("shares.in_group", " in {group}", group=group) if group else ""
    return Text(
        "shares.small_note",
        "Small numbers{where}: {x} of {n}. The {level} interval runs from {low} to {high}; "
        "numbers this small cannot support firm conclusions or rankings between groups.",
        where=where,
        x=x,
        n=n,
        level=Pct(level),
        low=Pct(low, 1),
        high=Pct(high, 1),
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
        estimand=Text("shares.estimand", "share of {population}", population=population)
        if population != "not stated"
        else Text("shares.estimand_group", "share of the group"),
        distribution=dist,
        method=Text("shares.method", "Proportion"),
        inference=Text("shares.inference", "{label} interval", label=dist.label),
        unit="share",
        population=population,
        alpha=alpha,
        diagnostics={
            Text("diag.sample_size", "sample size"): Diagnostic(
                "n",
                m,
                passed=not small,
                note=Text("diag.small_numbers", "small numbers") if small else "",
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
        _small_note(x, m, g, *BinomialShare(x, m).interval(alpha), 1 - alpha)
        for g, x, m in [(groups[0], a, m1), (groups[1], b, m2)]
        if _too_small(x, m)
    ]
    if notes and low < 0 < high:
        notes.append(
            Text(
                "shares.no_difference",
                "The interval includes no difference: with these numbers the two "
                "groups cannot be told apart.",
            )
        )
    return ShareDifferenceResult(
        name=name,
        estimand=Text(
            "shares.difference_estimand",
            "share in {a} minus share in {b}",
            a=groups[0],
            b=groups[1],
        ),
        distribution=dist,
        method=Text("shares.difference_method", "Difference of two proportions"),
        inference=Text(
            "shares.difference_inference", "{label} interval; score test", label=dist.label
        ),
        unit="share",
        population=population,
        alpha=alpha,
        diagnostics={
            Text("diag.fisher_test", "Fisher exact test"): Diagnostic(
                Text("diag.fisher", "Fisher exact"),
                float(fisher.statistic),
                float(fisher.pvalue),
                note=Text("diag.odds_ratio", "odds ratio"),
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
            Text(
                "shares.small_total",
                "Small numbers: only {total} people in all; shares move by {step} per "
                "person and cannot support firm conclusions.",
                total=total,
                step=Pct(1 / total),
            )
        )
    if few:
        notes.append(
            Text(
                "shares.few_categories",
                "Categories {few} have fewer than {small} people: their shares "
                "are too small to interpret, and Goodman intervals are approximate.",
                few=", ".join(few),
                small=SMALL_COUNT,
            )
        )
    if method == "sison-glaz" and len(values) < 7:
        notes.append(
            Text(
                "shares.sison_glaz_few",
                "Sison-Glaz intervals are validated for 7 or more categories; with "
                "{n} prefer method='goodman'.",
                n=len(values),
            )
        )
    return OutcomeDistributionResult(
        name=name or keys[0],
        estimand=Text(
            "shares.outcome_estimand",
            "share of the group in each outcome, main: {main}",
            main=keys[0],
        ),
        distribution=dist,
        method=Text("shares.outcome_method", "Multinomial outcome shares"),
        inference=Text("shares.outcome_inference", "{label} intervals", label=dist.label),
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
