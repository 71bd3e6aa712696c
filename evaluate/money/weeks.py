"""An effect spread over weeks of support, so refusion is priced week by week.

State refusion falls with a person's weeks on public support (80 % in weeks 1-4,
40 % in 5-26, 30 % in 27-52, 20 % after; LBK 221 af 12/02/2021 § 5).  An effect on
benefit spending is therefore not worth one average share: the weeks an
intervention saves are often late weeks of long spells, where the municipality
pays 80 %.  A :class:`WeekProfile` says how the effect's person-weeks fall on the
steps of the schedule, e.g. from difference-in-differences on register outcomes
split by the step each person-week falls on (the effects add up to the total
effect, as least squares is linear in the outcome), and :func:`monetize
<evaluate.money.monetize>` prices each step at its own share.

>>> profile = WeekProfile.from_steps({"1-4": 10.0, "5-26": 20.0, "27-52": 30.0, "53-": 40.0},
...                                  source="example")
>>> round(profile.refusion_share(), 3)   # (10*.8 + 20*.4 + 30*.3 + 40*.2) / 100
0.33
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from evaluate.errors import SpecError
from evaluate.money.refusion import RefusionSchedule


def _parse_step(label: str) -> tuple[int, int | None]:
    """``"5-26"`` -> (5, 26); ``"53-"`` -> (53, None)."""
    lo, _, hi = str(label).partition("-")
    try:
        first = int(lo)
        last = int(hi) if hi.strip() else None
    except ValueError:
        raise SpecError(
            f"Week step {label!r}: write support weeks as 'first-last' ('5-26') or 'first-' "
            "('53-') for the open last step."
        ) from None
    if first < 1 or (last is not None and last < first):
        raise SpecError(f"Week step {label!r}: weeks count from 1 and last >= first.")
    return first, last


@dataclass(frozen=True)
class WeekProfile:
    """How an effect's person-weeks fall on the weeks of support.

    Parameters
    ----------
    steps : (first_week, last_week or None) of each step, in order.
    weights : the effect (or person-weeks) in each step, any scale; they may have
        different signs (an effect can add early weeks while it removes late ones),
        but must not sum to zero.
    source : where the split comes from.
    average_share : the single refusion share a shortcut would use instead (e.g. the
        share of all benefit weeks in the accounts); the report shows what that
        shortcut would have misstated.
    average_source : how ``average_share`` was found.
    """

    steps: tuple[tuple[int, int | None], ...]
    weights: tuple[float, ...]
    source: str
    average_share: float | None = None
    average_source: str = ""

    def __post_init__(self) -> None:
        if len(self.steps) != len(self.weights) or not self.steps:
            raise SpecError("A week profile needs one weight per step, and at least one step.")
        if not all(math.isfinite(w) for w in self.weights):
            raise SpecError(f"Week profile weights must be finite numbers, got {self.weights}.")
        if abs(sum(self.weights)) <= 1e-12 * max(1.0, max(abs(w) for w in self.weights)):
            raise SpecError("Week profile weights sum to zero: there is no effect to spread.")
        ends = [0] + [s[1] for s in self.steps[:-1]]
        for (first, last), end in zip(self.steps, ends, strict=True):
            if end is None or first != end + 1 or (last is not None and last < first):
                raise SpecError(
                    f"Week steps must follow each other from week 1 without gaps: {self.steps}."
                )
        if self.average_share is not None and not 0 <= self.average_share < 1:
            raise SpecError(f"average_share is a share in [0, 1), got {self.average_share!r}.")

    @classmethod
    def from_steps(
        cls,
        weights: Mapping[str, float],
        *,
        source: str,
        average_share: float | None = None,
        average_source: str = "",
    ) -> WeekProfile:
        """From ``{"1-4": w1, "5-26": w2, ...}`` (labels in support weeks)."""
        steps = [_parse_step(k) for k in weights]
        order = np.argsort([s[0] for s in steps], kind="stable")
        return cls(
            steps=tuple(steps[i] for i in order),
            weights=tuple(float(list(weights.values())[i]) for i in order),
            source=source,
            average_share=average_share,
            average_source=average_source,
        )

    @property
    def shares(self) -> np.ndarray:
        """Each step's share of the effect (sums to 1)."""
        w = np.asarray(self.weights, dtype=float)
        return w / w.sum()

    def step_shares(self, schedule: RefusionSchedule | None = None) -> np.ndarray:
        """The refusion share of each step; a step must lie within one step of the schedule."""
        schedule = schedule or RefusionSchedule.danish()
        out = []
        for first, last in self.steps:
            probe = np.arange(first, (last if last is not None else first + 520) + 1)
            values = np.unique(schedule.share(probe))
            if len(values) != 1:
                raise SpecError(
                    f"Support weeks {first}-{last or ''} span several refusion shares "
                    f"({', '.join(f'{v:.0%}' for v in values)}); split the step where the "
                    "schedule changes."
                )
            out.append(float(values[0]))
        return np.array(out)

    def refusion_share(self, schedule: RefusionSchedule | None = None) -> float:
        """The effect-weighted refusion share: what pricing week by week amounts to."""
        return float(self.shares @ self.step_shares(schedule))
