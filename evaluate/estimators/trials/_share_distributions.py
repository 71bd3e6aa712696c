"""Reference distributions of shares on small groups (private to :mod:`.shares`).

One proportion (Wilson or Clopper-Pearson), a difference of two (Newcombe or
Miettinen-Nurminen score) and a multinomial distribution (Goodman or
Sison-Glaz simultaneous intervals): each with the interval, p-value and draws
the Effect contract asks of a distribution.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Literal

import numpy as np
from scipy import stats
from statsmodels.stats.proportion import (
    confint_proportions_2indep,
    multinomial_proportions_confint,
    proportion_confint,
)
from statsmodels.stats.proportion import (
    test_proportions_2indep as _score_test_2indep,
)

from evaluate.inference.distributions import _check_alpha
from evaluate.text import Text

ShareMethod = Literal["wilson", "clopper-pearson"]
DifferenceMethod = Literal["newcombe", "score"]
MultinomialMethod = Literal["goodman", "sison-glaz"]


_SM_METHOD = {"wilson": "wilson", "clopper-pearson": "beta"}


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
        if self.method == "wilson":
            return Text("shares.wilson", "Wilson score")
        return Text("shares.clopper_pearson", "Clopper-Pearson exact")

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
        if self.method == "newcombe":
            return Text("shares.newcombe", "Newcombe hybrid score")
        return Text("shares.miettinen_nurminen", "Miettinen-Nurminen score")

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
        name = "Goodman" if self.method == "goodman" else "Sison-Glaz"
        return Text("shares.simultaneous", "simultaneous {name}", name=name)

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
