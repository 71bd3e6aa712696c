"""Reference distributions of an estimate.

An estimate's uncertainty is carried as one small frozen object: its centre, its
standard error, the distribution a confidence interval and a p-value are read
from, and a way to draw samples that carry the uncertainty into money.  Every
estimator hands one of these to its result, so ``interval``, ``p_value`` and
``draws`` mean the same thing for every design.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Protocol, runtime_checkable

import numpy as np
from scipy import stats

DF_FLOOR = 1.0
"""Smallest degrees of freedom an interval is read from (Satterthwaite, Bell-McCaffrey):
below 1 the t quantile grows without bound (t(0.5) puts a 95 % interval at about
+-160 standard errors), so a poorly determined variance would give an interval that
says nothing; estimators floor the df here and say so."""


@runtime_checkable
class Distribution(Protocol):
    """What an effect's reference distribution must provide."""

    estimate: float

    @property
    def std_error(self) -> float: ...

    @property
    def label(self) -> str: ...

    def interval(self, alpha: float = 0.05) -> tuple[float, float]: ...

    def p_value(self, null: float = 0.0) -> float: ...

    def draws(self, n: int, rng: np.random.Generator) -> np.ndarray: ...

    def scaled(self, factor: float) -> Distribution: ...


def _check_alpha(alpha: float) -> None:
    if not 0.0 < alpha < 1.0:
        from evaluate.errors import SpecError

        raise SpecError(f"alpha must lie strictly between 0 and 1, got {alpha!r}.")


@dataclass(frozen=True)
class Normal:
    """Large-sample normal reference: ``estimate ± z(1-alpha/2) * std_error``."""

    estimate: float
    se: float

    @property
    def std_error(self) -> float:
        return self.se

    @property
    def label(self) -> str:
        return "normal"

    def interval(self, alpha: float = 0.05) -> tuple[float, float]:
        _check_alpha(alpha)
        q = stats.norm.ppf(1 - alpha / 2)
        return (self.estimate - q * self.se, self.estimate + q * self.se)

    def p_value(self, null: float = 0.0) -> float:
        if self.se <= 0:
            return math.nan
        return float(2 * stats.norm.sf(abs(self.estimate - null) / self.se))

    def draws(self, n: int, rng: np.random.Generator) -> np.ndarray:
        return self.estimate + self.se * rng.standard_normal(n)

    def scaled(self, factor: float) -> Normal:
        return replace(self, estimate=self.estimate * factor, se=self.se * abs(factor))


@dataclass(frozen=True)
class StudentT:
    """Student-t reference with ``df`` degrees of freedom (small-sample regression)."""

    estimate: float
    se: float
    df: float

    @property
    def std_error(self) -> float:
        return self.se

    @property
    def label(self) -> str:
        return f"t({self.df:.4g})"

    def interval(self, alpha: float = 0.05) -> tuple[float, float]:
        _check_alpha(alpha)
        q = stats.t.ppf(1 - alpha / 2, self.df)
        return (self.estimate - q * self.se, self.estimate + q * self.se)

    def p_value(self, null: float = 0.0) -> float:
        if self.se <= 0:
            return math.nan
        return float(2 * stats.t.sf(abs(self.estimate - null) / self.se, self.df))

    def draws(self, n: int, rng: np.random.Generator) -> np.ndarray:
        return self.estimate + self.se * rng.standard_t(self.df, n)

    def scaled(self, factor: float) -> StudentT:
        return replace(self, estimate=self.estimate * factor, se=self.se * abs(factor))


@dataclass(frozen=True)
class SplitNormal:
    """Two half-normals joined at the estimate: a stated, possibly asymmetric range.

    A user who says "we expected +18 %, somewhere between +12 % and +26 %" gives a
    central 95 % range.  Below the estimate the spread is ``(estimate - low) / 1.96``,
    above it ``(high - estimate) / 1.96``; each half carries half the probability,
    so the stated bounds are exactly the 2.5 % and 97.5 % quantiles.
    """

    estimate: float
    sd_low: float
    sd_high: float

    @classmethod
    def from_range(cls, estimate: float, low: float, high: float, level: float = 0.95):
        z = stats.norm.ppf(0.5 + level / 2)
        return cls(estimate, (estimate - low) / z, (high - estimate) / z)

    @property
    def std_error(self) -> float:
        # Standard deviation of the two-piece normal (Johnson, Kotz & Balakrishnan).
        s1, s2 = self.sd_low, self.sd_high
        return math.sqrt((1 - 2 / math.pi) * (s2 - s1) ** 2 + s1 * s2)

    @property
    def label(self) -> str:
        return "stated range (two-piece normal)"

    def _quantile(self, p: float) -> float:
        z = stats.norm.ppf(p)
        return self.estimate + z * (self.sd_low if p < 0.5 else self.sd_high)

    def interval(self, alpha: float = 0.05) -> tuple[float, float]:
        _check_alpha(alpha)
        return (self._quantile(alpha / 2), self._quantile(1 - alpha / 2))

    def p_value(self, null: float = 0.0) -> float:
        sd = self.sd_low if null < self.estimate else self.sd_high
        if sd <= 0:
            return math.nan
        return float(min(1.0, 2 * stats.norm.sf(abs(self.estimate - null) / sd)))

    def draws(self, n: int, rng: np.random.Generator) -> np.ndarray:
        z = rng.standard_normal(n)
        return self.estimate + np.where(z < 0, z * self.sd_low, z * self.sd_high)

    def scaled(self, factor: float) -> SplitNormal:
        lo, hi = (self.sd_low, self.sd_high) if factor >= 0 else (self.sd_high, self.sd_low)
        return SplitNormal(self.estimate * factor, lo * abs(factor), hi * abs(factor))


@dataclass(frozen=True)
class PointMass:
    """An estimate given without any uncertainty (a stated figure).

    The interval and p-value are not defined (NaN) and every draw equals the
    estimate, so a report can say plainly that no uncertainty was stated.
    """

    estimate: float

    @property
    def std_error(self) -> float:
        return math.nan

    @property
    def label(self) -> str:
        return "none stated"

    def interval(self, alpha: float = 0.05) -> tuple[float, float]:
        _check_alpha(alpha)
        return (math.nan, math.nan)

    def p_value(self, null: float = 0.0) -> float:
        return math.nan

    def draws(self, n: int, rng: np.random.Generator) -> np.ndarray:
        return np.full(n, self.estimate, dtype=float)

    def scaled(self, factor: float) -> PointMass:
        return PointMass(self.estimate * factor)


@dataclass(frozen=True, eq=False)
class Empirical:
    """A bootstrap or simulation distribution: percentile intervals, resampled draws."""

    estimate: float
    samples: np.ndarray

    @property
    def std_error(self) -> float:
        return float(np.std(self.samples, ddof=1))

    @property
    def label(self) -> str:
        return f"empirical ({len(self.samples)} draws)"

    def interval(self, alpha: float = 0.05) -> tuple[float, float]:
        _check_alpha(alpha)
        lo, hi = np.quantile(self.samples, [alpha / 2, 1 - alpha / 2])
        return (float(lo), float(hi))

    def p_value(self, null: float = 0.0) -> float:
        centred = self.samples - np.mean(self.samples)
        return float(np.mean(np.abs(centred) >= abs(self.estimate - null)))

    def draws(self, n: int, rng: np.random.Generator) -> np.ndarray:
        return rng.choice(self.samples, size=n, replace=True)

    def scaled(self, factor: float) -> Empirical:
        return Empirical(self.estimate * factor, self.samples * factor)


__all__ = [
    "DF_FLOOR",
    "Distribution",
    "Empirical",
    "Normal",
    "PointMass",
    "SplitNormal",
    "StudentT",
]
