"""Placebo-in-space inference for a synthetic control, as a reference distribution.

A synthetic control has no sampling standard error.  Its evidence (Abadie,
Diamond & Hainmueller 2010) is the treated unit's rank among placebo units by the
ratio of post- to pre-period root mean squared prediction error (RMSPE).
:class:`PlaceboDistribution` carries that test in the shape every result uses:

* ``p_value(null)``: the permutation p-value of the RMSPE ratio after removing a
  constant effect ``null`` from the treated post-period gaps,
  ``(1 + #{placebo ratios >= treated ratio}) / (n + 1)``.  Placebo ratios do not
  involve the treated unit's post-period data, so no refit is needed.
* ``interval(alpha)``: the constant effects not rejected at level ``alpha``
  (test inversion, Firpo & Possebom 2018).  The treated post-RMSPE is convex in
  the effect, so the set is an interval with a closed form.
* ``std_error``: the standard deviation of the placebo average gaps.
* ``draws``: the estimate plus resampled, centred placebo average gaps.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from evaluate.errors import SpecError


def permutation_p(ratio: float, placebo_ratios: np.ndarray) -> float:
    """``(1 + #{placebo ratios >= ratio}) / (n + 1)`` (ties count against the treated)."""
    n = placebo_ratios.shape[0]
    if n == 0 or not np.isfinite(ratio):
        return math.nan
    tol = 1e-12 * max(abs(ratio), 1.0)
    return float((1 + np.sum(placebo_ratios >= ratio - tol)) / (n + 1))


def inversion_interval(
    gaps: np.ndarray, pre_rmspe: float, placebo_ratios: np.ndarray, alpha: float
) -> tuple[float, float]:
    """Constant effects ``d`` with ``permutation_p(ratio(gaps - d)) > alpha``.

    ``p > alpha`` needs at least ``K`` placebo ratios at or above the treated one,
    with ``K`` the smallest integer above ``alpha (n + 1) - 1``: the treated ratio
    must not exceed the ``K``-th largest placebo ratio ``r``, i.e.
    ``mean((gaps - d)^2) <= (r * pre_rmspe)^2``, a quadratic inequality in ``d``.
    The whole line when there are too few placebos for any rejection at ``alpha``
    (``1 / (n + 1) > alpha``); NaN when no ``d`` qualifies.
    """
    if not 0.0 < alpha < 1.0:
        raise SpecError(f"alpha must lie strictly between 0 and 1, got {alpha!r}.")
    n = placebo_ratios.shape[0]
    k = math.floor(alpha * (n + 1) - 1) + 1
    k = max(k, 0)
    if k > n or not np.isfinite(pre_rmspe):
        return (math.nan, math.nan)
    if k == 0:
        return (-math.inf, math.inf)
    r = float(np.sort(placebo_ratios)[::-1][k - 1])
    centre = float(np.mean(gaps))
    spread = float(np.mean((gaps - centre) ** 2))
    room = (r * pre_rmspe) ** 2 - spread
    if not room >= 0:
        return (math.nan, math.nan)
    half = math.sqrt(room)
    return (centre - half, centre + half)


@dataclass(frozen=True, eq=False)
class PlaceboDistribution:
    """Reference distribution of a synthetic-control estimate from placebos in space.

    Parameters
    ----------
    estimate : average post-period gap of the treated unit.
    post_gaps : the treated unit's post-period gaps (treated minus synthetic).
    pre_rmspe : the treated unit's pre-period RMSPE.
    placebo_ratios : post/pre RMSPE ratio of each placebo unit.
    placebo_effects : average post-period gap of each placebo unit.
    """

    estimate: float
    post_gaps: np.ndarray
    pre_rmspe: float
    placebo_ratios: np.ndarray
    placebo_effects: np.ndarray

    @property
    def std_error(self) -> float:
        if self.placebo_effects.shape[0] < 2:
            return math.nan
        return float(np.std(self.placebo_effects, ddof=1))

    @property
    def label(self) -> str:
        return f"placebo permutation ({self.placebo_ratios.shape[0]} placebos)"

    def post_ratio(self, null: float = 0.0) -> float:
        """Post/pre RMSPE ratio of the treated unit after removing effect ``null``."""
        post = math.sqrt(float(np.mean((self.post_gaps - null) ** 2)))
        return post / self.pre_rmspe if self.pre_rmspe > 0 else math.inf

    def interval(self, alpha: float = 0.05) -> tuple[float, float]:
        return inversion_interval(self.post_gaps, self.pre_rmspe, self.placebo_ratios, alpha)

    def p_value(self, null: float = 0.0) -> float:
        return permutation_p(self.post_ratio(null), self.placebo_ratios)

    def empty_set_note(self, alpha: float = 0.05) -> str:
        """Words for an empty confidence set (``""`` when the set is not empty).

        The set is empty when even the best constant effect (the mean gap) leaves the
        treated unit's post/pre RMSPE ratio above all but too few placebo ratios: the
        post-period gaps swing around their own mean more than the placebos' do.
        """
        low, high = self.interval(alpha)
        n = self.placebo_ratios.shape[0]
        if not (math.isnan(low) and math.isnan(high)) or n == 0:
            return ""
        best = permutation_p(self.post_ratio(float(np.mean(self.post_gaps))), self.placebo_ratios)
        return (
            f"The {1 - alpha:.0%} confidence set is empty: no constant effect passes the "
            f"placebo test. Even after removing the average gap, the treated unit's post-period "
            f"gaps vary more, relative to its pre-period fit, than those of nearly every "
            f"placebo (p = {best:.3g} at best). The effect is then not constant over the "
            "post-period, or the pre-period fit understates the noise; read the estimate "
            "with the per-period gaps, not as a constant effect with an interval."
        )

    def draws(self, n: int, rng: np.random.Generator) -> np.ndarray:
        centred = self.placebo_effects - np.mean(self.placebo_effects)
        return self.estimate + rng.choice(centred, size=n, replace=True)

    def scaled(self, factor: float) -> PlaceboDistribution:
        # Ratios are scale-free, so the test (and its inversion) scale exactly.
        return PlaceboDistribution(
            estimate=self.estimate * factor,
            post_gaps=self.post_gaps * factor,
            pre_rmspe=self.pre_rmspe * abs(factor),
            placebo_ratios=self.placebo_ratios,
            placebo_effects=self.placebo_effects * factor,
        )


__all__ = ["PlaceboDistribution", "inversion_interval", "permutation_p"]
