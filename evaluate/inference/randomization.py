"""Randomization inference over placebo assignments of the treatment to units.

With one treated unit, or a handful, no cluster-robust covariance is reliable:
the treated units' own noise dominates the estimate and there are too few of
them to estimate its spread (Conley & Taber 2011; MacKinnon & Webb 2017, 2020).
What does hold is a comparison with placebo assignments: give the treatment
paths of the treated units to other units, re-estimate, and see where the actual
estimate falls among the placebo ones.  If the units' untreated outcomes are
exchangeable (no unit is a priori noisier than another), the rank of the actual
assignment is uniform under the sharp null ``y_it(1) = y_it(0) + b0 * D_it``,
so the test is exact at any sample size (Fisher 1935; Imbens & Rubin 2015, ch. 5).

Every estimator here is linear in the outcome, so the placebo estimate under
assignment ``a`` at null ``b0`` is ``u_a - b0 * c_a``: ``u_a`` is the estimate of
assignment ``a`` on the observed outcome and ``c_a`` its estimate on the actual
treatment ``D`` (``c = 1`` for the actual assignment).  The p-value,

    p(b0) = #{a : |u_a - b0 c_a| >= |u_0 - b0|} / m     (a = 0 the actual one),

is piecewise constant between the roots of the quadratics
``(u_a - b0 c_a)^2 = (u_0 - b0)^2``, so the confidence set ``{b0 : p(b0) > alpha}``
is found exactly, without a grid.  With one treated unit the ``m`` assignments are
every unit in turn (exhaustive); otherwise ``n_draws`` random permutations of the
units' treatment paths plus the actual one.  With ``m < 1 / alpha`` assignments no
null can be rejected and the interval is the whole line.

Example
-------
>>> import numpy as np
>>> rng = np.random.default_rng(0)
>>> u = np.concatenate([[2.0], rng.normal(size=19)])   # actual estimate 2.0
>>> dist = Randomization(2.0, u, np.concatenate([[1.0], np.full(19, -1 / 19)]), True)
>>> dist.p_value(0.0) <= 0.05
True
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from evaluate.errors import SpecError


@dataclass(frozen=True, eq=False)
class Randomization:
    """Reference distribution from placebo assignments (see the module docstring).

    ``stats[a]`` and ``slopes[a]`` are ``u_a`` and ``c_a``; index 0 is the actual
    assignment (``stats[0]`` equals ``estimate``, ``slopes[0]`` is 1).
    ``exhaustive`` says whether every assignment was used or a random sample.

    ``draws`` resample ``estimate -/+ e_a`` with ``e_a = u_a - estimate * c_a`` the
    placebo estimates with the estimated effect removed: the distribution of the
    estimation error that the placebo units show (Conley & Taber 2011), made
    symmetric to match the two-sided test.  ``std_error`` is their root mean square.
    """

    estimate: float
    stats: np.ndarray
    slopes: np.ndarray
    exhaustive: bool

    def __post_init__(self) -> None:
        if len(self.stats) != len(self.slopes) or len(self.stats) < 2:
            raise SpecError("Randomization needs the actual and at least one placebo assignment.")

    @property
    def n_assignments(self) -> int:
        return len(self.stats)

    @property
    def placebo_errors(self) -> np.ndarray:
        return self.stats[1:] - self.estimate * self.slopes[1:]

    @property
    def std_error(self) -> float:
        return float(np.sqrt(np.mean(self.placebo_errors**2)))

    @property
    def label(self) -> str:
        kind = "all" if self.exhaustive else "random"
        return f"randomization ({kind} {self.n_assignments} placebo assignments)"

    def _count(self, b0: np.ndarray) -> np.ndarray:
        """For each null in ``b0``: how many assignments are at least as extreme."""
        b = np.atleast_1d(np.asarray(b0, dtype=float))[:, None]
        placebo = np.abs(self.stats[None, :] - b * self.slopes[None, :])
        actual = np.abs(self.stats[0] - b[:, 0] * self.slopes[0])
        tol = 1e-12 * (1.0 + np.abs(self.stats).max())
        return (placebo >= actual[:, None] - tol).sum(axis=1)

    def p_value(self, null: float = 0.0) -> float:
        return float(self._count(np.array([null]))[0] / self.n_assignments)

    def interval(self, alpha: float = 0.05) -> tuple[float, float]:
        """The hull of ``{b0 : p(b0) > alpha}``, exactly (see the module docstring)."""
        if not 0.0 < alpha < 1.0:
            raise SpecError(f"alpha must lie strictly between 0 and 1, got {alpha!r}.")
        u, c = self.stats, self.slopes
        u0, c0 = u[0], c[0]
        # (u_a - b c_a)^2 - (u0 - b c0)^2 = A b^2 + B b + C
        qa, qb, qc = c**2 - c0**2, -2.0 * (u * c - u0 * c0), u**2 - u0**2
        roots = [np.array([self.estimate])]
        lin = np.abs(qa) <= 1e-14
        with np.errstate(divide="ignore", invalid="ignore"):
            roots.append((-qc / qb)[lin & (np.abs(qb) > 0)])
            disc = qb**2 - 4 * qa * qc
            ok = ~lin & (disc >= 0)
            sq = np.sqrt(np.where(ok, disc, 0.0))
            roots.append(((-qb + sq) / (2 * qa))[ok])
            roots.append(((-qb - sq) / (2 * qa))[ok])
        r = np.unique(np.concatenate(roots))
        r = r[np.isfinite(r)]
        span = max(float(np.ptp(r)), float(np.abs(r).max()), 1.0)
        # Test the midpoints between roots, the roots themselves and beyond either end.
        probes = np.concatenate([r, (r[:-1] + r[1:]) / 2, [r[0] - span, r[-1] + span]])
        accepted = probes[self._count(probes) / self.n_assignments > alpha]
        low = -math.inf if self._count(np.array([r[0] - span]))[0] / len(u) > alpha else None
        high = math.inf if self._count(np.array([r[-1] + span]))[0] / len(u) > alpha else None
        return (
            float(accepted.min()) if low is None else low,
            float(accepted.max()) if high is None else high,
        )

    def note(self, alpha: float = 0.05) -> str:
        """What the interval rests on, and what it means when it is unbounded."""
        low, high = self.interval(alpha)
        from evaluate.text import Num, Pct, Text

        how = "every" if self.exhaustive else "random"
        text = Text(
            f"randomization.note_{how}",
            "Randomization inference: the estimate is compared with {n} placebo estimates "
            f"({how} reassignment of the treatment to other units); p = {{p}}.",
            n=int(self.n_assignments - 1),
            p=Num(self.p_value(0.0), sig=3),
        )
        if not (math.isfinite(low) and math.isfinite(high)):
            text = Text(
                "randomization.note_unbounded",
                "{note} With {n} assignments no placebo test can reach the {alpha} level, so "
                "the {level} interval is unbounded: the data cannot rule out any effect at "
                "that level. More comparison units are needed.",
                note=text,
                n=int(self.n_assignments),
                alpha=Pct(alpha),
                level=Pct(1 - alpha),
            )
        return text

    def draws(self, n: int, rng: np.random.Generator) -> np.ndarray:
        e = self.placebo_errors
        return self.estimate + rng.choice(np.concatenate([e, -e]), size=n, replace=True)

    def scaled(self, factor: float) -> Randomization:
        # u_a - b c_a scales with the effect: (f u_a) - (f b) c_a.
        return Randomization(
            self.estimate * factor, self.stats * factor, self.slopes.copy(), self.exhaustive
        )


def placebo_assignments(
    treated: np.ndarray, *, n_draws: int = 999, seed: int | None = 0
) -> tuple[np.ndarray, bool]:
    """Permutations of the units' treatment paths: ``(m, N)`` rows, row 0 the identity.

    Row ``a`` says, for each unit, whose treatment path it receives under
    assignment ``a``.  ``treated`` is a boolean per unit.  With one treated (or one
    control) unit the ``N`` assignments that move that unit to each position are
    enumerated (exhaustive); otherwise ``n_draws`` random permutations follow the
    identity.
    """
    treated = np.asarray(treated, dtype=bool)
    n = len(treated)
    n_treated = int(treated.sum())
    if n_treated == 0 or n_treated == n:
        raise SpecError("Randomization inference needs both treated and untreated units.")
    identity = np.arange(n)
    lone = np.flatnonzero(treated if n_treated == 1 else ~treated)
    if len(lone) == 1:
        k = int(lone[0])
        rows = np.tile(identity, (n, 1))
        rows[np.arange(n), np.arange(n)] = k  # unit j takes the lone unit's path
        rows[np.arange(n), k] = np.arange(n)  # and the lone unit takes unit j's path
        order = np.concatenate([[k], np.delete(np.arange(n), k)])
        return rows[order], True
    if n_draws < 99:
        raise SpecError(f"n_draws={n_draws} is too small for a randomization test; use 999.")
    rng = np.random.default_rng(seed)
    rows = np.vstack([identity, np.argsort(rng.random((n_draws, n)), axis=1)])
    return rows, False


__all__ = ["Randomization", "placebo_assignments"]
