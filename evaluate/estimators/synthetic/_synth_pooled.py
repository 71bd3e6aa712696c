"""Placebo inference for the average effect of several synthetic controls.

With ``N`` treated units, each fitted on the same donor pool (which holds no
treated unit), the evidence is the rank of the treated units' average RMSPE
ratio among the averages of placebo assignments: ``N`` distinct donors, the
``i``-th playing treated unit ``i`` (with its start), each refitted on the other
donors (Cavallo, Galiani, Noy & Pantano 2013, who rank the average placebo
effect the same way; the statistic here is ADH's post/pre RMSPE ratio, which
does not reward units that fit badly before the start).

* ``p_value(null)``: ``(1 + #{placebo averages >= treated average}) / (n + 1)``
  after removing a constant effect ``null`` from every treated post-period gap;
* ``interval(alpha)``: the constant effects not rejected (test inversion, Firpo
  & Possebom 2018).  The treated average ratio is a sum of convex functions of
  the effect, so the set is an interval; its ends are found by root finding.
  With one treated unit this is exactly
  :func:`~evaluate.estimators.synthetic._synth_placebo.inversion_interval`;
* ``std_error``: the standard deviation of the placebo average effects;
* ``draws``: the estimate plus resampled, centred placebo average effects.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import numpy as np
from scipy.optimize import brentq, minimize_scalar

from evaluate.errors import SpecError
from evaluate.estimators.synthetic._synth_placebo import inversion_interval, permutation_p

#: Placebo assignments drawn when enumerating every ordered choice of distinct
#: donors would take more (with one treated unit every donor is used once).
MAX_ASSIGNMENTS = 2_000


def placebo_assignments(
    eligible: list[np.ndarray], rng: np.random.Generator, limit: int = MAX_ASSIGNMENTS
) -> np.ndarray:
    """Rows of distinct donor indices, column ``i`` drawn from ``eligible[i]``.

    All ordered assignments when there are at most ``limit`` of them, otherwise
    ``limit`` drawn at random (each unit's donor uniform among its eligible donors
    not yet taken).  Returns an ``n x N`` integer array (possibly with no rows).
    """
    n_units = len(eligible)
    count = 1
    for pool in eligible:
        count *= max(len(pool), 0)
        if count > limit:
            break
    if count <= limit:
        rows = [
            combo
            for combo in itertools.product(*[list(map(int, p)) for p in eligible])
            if len(set(combo)) == n_units
        ]
        return np.array(rows, dtype=int).reshape(len(rows), n_units)
    rows = []
    for _ in range(limit):
        taken: list[int] = []
        for pool in eligible:
            free = [int(d) for d in pool if int(d) not in taken]
            if not free:
                break
            taken.append(free[int(rng.integers(len(free)))])
        if len(taken) == n_units:
            rows.append(taken)
    return np.array(rows, dtype=int).reshape(len(rows), n_units)


@dataclass(frozen=True, eq=False)
class PooledPlaceboDistribution:
    """Reference distribution of the average effect over several treated units.

    Parameters
    ----------
    estimate : average over treated units of their average post-period gap.
    post_gaps : each treated unit's post-period gaps (treated minus synthetic).
    pre_rmspe : each treated unit's pre-period RMSPE.
    placebo_stats : average post/pre RMSPE ratio of each placebo assignment.
    placebo_effects : average effect of each placebo assignment.
    """

    estimate: float
    post_gaps: tuple[np.ndarray, ...]
    pre_rmspe: np.ndarray
    placebo_stats: np.ndarray
    placebo_effects: np.ndarray

    @property
    def std_error(self) -> float:
        if self.placebo_effects.shape[0] < 2:
            return math.nan
        return float(np.std(self.placebo_effects, ddof=1))

    @property
    def label(self) -> str:
        return f"pooled placebo permutation ({self.placebo_stats.shape[0]} placebo assignments)"

    def statistic(self, null: float = 0.0) -> float:
        """Average over treated units of the post/pre RMSPE ratio after removing ``null``."""
        ratios = [
            math.sqrt(float(np.mean((g - null) ** 2))) / r if r > 0 else math.inf
            for g, r in zip(self.post_gaps, self.pre_rmspe, strict=True)
        ]
        return float(np.mean(ratios))

    def p_value(self, null: float = 0.0) -> float:
        return permutation_p(self.statistic(null), self.placebo_stats)

    def post_ratio(self, null: float = 0.0) -> float:
        return self.statistic(null)

    def interval(self, alpha: float = 0.05) -> tuple[float, float]:
        if not 0.0 < alpha < 1.0:
            raise SpecError(f"alpha must lie strictly between 0 and 1, got {alpha!r}.")
        if len(self.post_gaps) == 1:  # closed form, as for one synthetic control
            return inversion_interval(
                self.post_gaps[0], float(self.pre_rmspe[0]), self.placebo_stats, alpha
            )
        n = self.placebo_stats.shape[0]
        k = max(math.floor(alpha * (n + 1) - 1) + 1, 0)
        if k > n or not np.all(np.isfinite(self.pre_rmspe)) or np.any(self.pre_rmspe <= 0):
            return (math.nan, math.nan)
        if k == 0:
            return (-math.inf, math.inf)
        bound = float(np.sort(self.placebo_stats)[::-1][k - 1])
        means = [float(np.mean(g)) for g in self.post_gaps]
        low, high = min(means), max(means)
        if high > low:
            best = minimize_scalar(
                self.statistic, bounds=(low, high), method="bounded", options={"xatol": 1e-10}
            ).x
        else:
            best = low
        # The tolerance keeps a boundary placebo (the rank test counts ties against the
        # treated) from turning a single admissible point into an empty set.
        tol = 1e-12 * max(bound, 1.0)
        if self.statistic(best) > bound + tol:
            return (math.nan, math.nan)

        def excess(d: float) -> float:
            return self.statistic(d) - bound

        scale = max(float(np.max(self.pre_rmspe)) * bound, float(np.ptp(means)), 1.0)
        ends = []
        for direction in (-1.0, 1.0):
            step = scale
            while excess(best + direction * step) <= 0:
                step *= 2.0
            a, b = sorted((best, best + direction * step))
            ends.append(brentq(excess, a, b, xtol=1e-12) if excess(best) < 0 else best)
        return (ends[0], ends[1])

    def empty_set_note(self, alpha: float = 0.05) -> str:
        low, high = self.interval(alpha)
        if not (math.isnan(low) and math.isnan(high)) or self.placebo_stats.shape[0] == 0:
            return ""
        return (
            f"The {1 - alpha:.0%} confidence set is empty: no constant effect passes the "
            "pooled placebo test; read the unit estimates and their gaps by period instead."
        )

    def draws(self, n: int, rng: np.random.Generator) -> np.ndarray:
        centred = self.placebo_effects - np.mean(self.placebo_effects)
        return self.estimate + rng.choice(centred, size=n, replace=True)

    def scaled(self, factor: float) -> PooledPlaceboDistribution:
        # Ratios are scale-free, so the test and its inversion scale exactly.
        return PooledPlaceboDistribution(
            estimate=self.estimate * factor,
            post_gaps=tuple(g * factor for g in self.post_gaps),
            pre_rmspe=self.pre_rmspe * abs(factor),
            placebo_stats=self.placebo_stats,
            placebo_effects=self.placebo_effects * factor,
        )


__all__ = ["MAX_ASSIGNMENTS", "PooledPlaceboDistribution", "placebo_assignments"]
