"""The business case's headline: one quantity, its interval and its probability.

The number in a report's box, the interval beside it and the probability of a gain
must be the same quantity: the present value at the case's discounting (which is
the plain sum when the case is undiscounted).  :func:`compute` makes them so, and
decides what may be said at all (:mod:`evaluate.inference.kinds`):

* every uncertain input is estimated from data or a declared prior: an interval
  and a probability of a gain.  When the case is linear in one normal or t effect
  (every case is linear in its effects; the question is how many there are and
  what their distribution is) both are exact.  Otherwise they come from Monte
  Carlo draws, enough that each bound is stable to the printed 1,000 DKK where
  that is affordable; the Monte Carlo error is reported, and the bounds are
  rounded to what it allows;
* some input is a stated range or a target: no probability, a scenario table
  instead (each input low and high with the others central, and the worst
  combination), with the reason in words;
* a case without costs is a gross saving: no net gain and no probability of a gain.

It sits below :mod:`evaluate.business_case`, which hands it plain inputs: the
present value of the fixed lines and, per effect, the present value of the gain
per unit of the effect.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
from scipy import stats

from evaluate.effect import Effect
from evaluate.inference.distributions import Normal, StudentT
from evaluate.inference.kinds import PROBABILISTIC, SCENARIO
from evaluate.limits import limit

Method = Literal["none", "exact", "monte_carlo", "scenarios"]
PRINTED_UNIT = 1_000.0
"""Reports print amounts in 1,000 DKK: a bound is stable when its Monte Carlo error
is at most a quarter of that."""
MAX_DRAWS = 1_000_000


@dataclass(frozen=True, eq=False)
class Input:
    """One effect as the case sees it: the present value of the gain per unit."""

    effect: Effect
    coefficient: float

    @property
    def uncertain(self) -> bool:
        return self.effect.uncertainty != "point" and self.coefficient != 0

    def bounds(self, alpha: float) -> tuple[float, float]:
        """The effect's low and high: a stated range as stated (its central 95 %
        range), an estimate's interval at the case's level."""
        if self.effect.uncertainty in SCENARIO:
            low, high = self.effect.distribution.interval(0.05)
        else:
            low, high = self.effect.distribution.interval(alpha)
        return float(low), float(high)


@dataclass(frozen=True)
class Scenario:
    """One row of the scenario table: which input moved where, and the headline then."""

    case: Literal["central", "low", "high", "worst"]
    effect: str
    """The effect's name ('' for the central and worst rows)."""
    effect_value: float
    value: float


@dataclass(frozen=True)
class BreakEven:
    """The effect at which the case breaks even, set against what the data allow.

    ``pays_above`` says whether a larger effect pays (``True``) or a smaller one;
    ``unfavourable`` is the end of the effect's interval (or stated range) on the
    side where the case does not pay; ``mde`` the smallest effect the design detects
    with 80 % power (an estimate from data only)."""

    effect: str
    unit: str
    value: float
    pays_above: bool
    estimate: float
    unfavourable: float
    kind: str
    mde: float = math.nan

    @property
    def inside(self) -> bool:
        """True when the break-even effect lies inside the interval (the case may not pay)."""
        if self.pays_above:
            return self.unfavourable < self.value
        return self.unfavourable > self.value


@dataclass(frozen=True)
class Headline:
    """The headline quantity of a business case and what may be said about it."""

    value: float
    """Present value (DKK, plus = gain) at the estimates; the plain sum when undiscounted."""
    gross: bool
    discounted: bool
    alpha: float
    method: Method
    interval: tuple[float, float] | None = None
    probability: float | None = None
    mc_error: float = math.nan
    """Monte Carlo standard error of the interval's bounds (the larger), DKK."""
    probability_mc_error: float = math.nan
    draws: int = 0
    rounding: float = 1.0
    """The bounds are rounded to a multiple of this (DKK) so each printed digit is stable."""
    scenarios: tuple[Scenario, ...] = ()
    no_probability: tuple[str, ...] = ()
    """Why no probability is given: ``"gross"``, ``"scenario:<kind>:<effect>"``, ``"certain"``."""
    scenario_effects: tuple[tuple[str, str], ...] = field(default_factory=tuple)
    """(effect, kind) of each input that is a stated range or a target."""

    @property
    def worst(self) -> float | None:
        rows = [s.value for s in self.scenarios if s.case == "worst"]
        return rows[0] if rows else None


def _exact(fixed: float, item: Input, alpha: float) -> tuple[tuple[float, float], float]:
    """Interval and P(gain > 0) of ``fixed + c * X`` for a normal or t ``X``."""
    dist = item.effect.distribution
    c = item.coefficient
    low, high = dist.scaled(c).interval(alpha)
    interval = (float(fixed + low), float(fixed + high))
    se = dist.std_error
    threshold = -fixed / c
    z = (threshold - dist.estimate) / se
    tail = stats.t(dist.df) if isinstance(dist, StudentT) else stats.norm
    probability = float(tail.sf(z) if c > 0 else tail.cdf(z))
    return interval, probability


def draws(fixed: float, inputs: Sequence[Input], n: int, seed: int) -> np.ndarray:
    """``n`` draws of the headline: each effect drawn once from its own stream."""
    streams = np.random.SeedSequence(seed)
    total = np.full(n, fixed, dtype=float)
    for item in inputs:
        child = streams.spawn(1)[0]
        total += item.coefficient * item.effect.distribution.draws(n, np.random.default_rng(child))
    return total


def _quantile_errors(sorted_draws: np.ndarray, probabilities: Sequence[float]) -> list[float]:
    """Monte Carlo standard error of each sample quantile, from the order statistics
    one binomial standard deviation either side (distribution-free)."""
    n = len(sorted_draws)
    errors = []
    for p in probabilities:
        spread = math.sqrt(n * p * (1 - p))
        lo = max(int(math.floor(n * p - spread)), 0)
        hi = min(int(math.ceil(n * p + spread)), n - 1)
        errors.append(float(sorted_draws[hi] - sorted_draws[lo]) / 2)
    return errors


def _rounding(error: float) -> float:
    """The smallest power of ten (at least the printed 1,000 DKK) that is at least
    four Monte Carlo errors: the bound is then stable to its last printed digit."""
    if not math.isfinite(error) or error <= PRINTED_UNIT / 4:
        return PRINTED_UNIT
    return float(10 ** math.ceil(math.log10(4 * error)))


def _monte_carlo(
    fixed: float, inputs: Sequence[Input], alpha: float, n_draws: int, seed: int
) -> dict:
    """Draw until each bound's Monte Carlo error is at most a quarter of the printed
    unit, or the draws reach their cap; then round the bounds to what is stable."""
    cap = int(min(MAX_DRAWS, limit("draws")))
    n = n_draws
    while True:
        sample = np.sort(draws(fixed, inputs, n, seed))
        probabilities = (alpha / 2, 1 - alpha / 2)
        errors = _quantile_errors(sample, probabilities)
        if max(errors) <= PRINTED_UNIT / 4 or n * 4 > cap:
            break
        n *= 4
    low, high = np.quantile(sample, probabilities)
    unit = _rounding(max(errors))
    p = float(np.mean(sample > 0))
    return {
        "interval": (round(low / unit) * unit, round(high / unit) * unit),
        "probability": p,
        "mc_error": max(errors),
        "probability_mc_error": math.sqrt(max(p * (1 - p), 1 / n) / n),
        "draws": n,
        "rounding": unit,
    }


def _scenarios(fixed: float, inputs: Sequence[Input], alpha: float) -> tuple[Scenario, ...]:
    central = fixed + sum(i.coefficient * i.effect.estimate for i in inputs)
    rows = [Scenario("central", "", math.nan, float(central))]
    worst = fixed
    for item in inputs:
        rest = central - item.coefficient * item.effect.estimate
        low, high = item.bounds(alpha)
        for case, bound in (("low", low), ("high", high)):
            rows.append(
                Scenario(case, item.effect.name, bound, float(rest + item.coefficient * bound))
            )
        worst += min(item.coefficient * low, item.coefficient * high)
    if len(inputs) > 1:
        rows.append(Scenario("worst", "", math.nan, float(worst)))
    return tuple(rows)


def compute(
    fixed: float,
    inputs: Sequence[Input],
    *,
    gross: bool,
    discounted: bool,
    alpha: float,
    n_draws: int,
    seed: int,
) -> Headline:
    """The headline of a case whose present value is ``fixed + sum(c_i * effect_i)``."""
    value = float(fixed + sum(i.coefficient * i.effect.estimate for i in inputs))
    uncertain = [i for i in inputs if i.uncertain]
    base = {"value": value, "gross": gross, "discounted": discounted, "alpha": alpha}
    scenario_effects = tuple(
        (i.effect.name, i.effect.uncertainty)
        for i in uncertain
        if i.effect.uncertainty not in PROBABILISTIC
    )
    if not uncertain:
        return Headline(
            **base, method="none", no_probability=(("gross",) if gross else ()) + ("certain",)
        )
    if scenario_effects:
        return Headline(
            **base,
            method="scenarios",
            scenarios=_scenarios(fixed, uncertain, alpha),
            no_probability=tuple(f"scenario:{k}:{n}" for n, k in scenario_effects)
            + (("gross",) if gross else ()),
            scenario_effects=scenario_effects,
        )
    fixed_part = value - sum(i.coefficient * i.effect.estimate for i in uncertain)
    only = uncertain[0]
    if len(uncertain) == 1 and isinstance(only.effect.distribution, Normal | StudentT):
        interval, probability = _exact(fixed_part, only, alpha)
        return Headline(
            **base,
            method="exact",
            interval=interval,
            probability=None if gross else probability,
            mc_error=0.0,
            no_probability=("gross",) if gross else (),
            scenarios=_scenarios(fixed_part, uncertain, alpha),
        )
    found = _monte_carlo(fixed_part, uncertain, alpha, n_draws, seed)
    if gross:
        found["probability"] = None
    return Headline(
        **base,
        method="monte_carlo",
        no_probability=("gross",) if gross else (),
        scenarios=_scenarios(fixed_part, uncertain, alpha),
        **found,
    )


def break_even(fixed: float, item: Input, alpha: float, *, power: float = 0.8) -> BreakEven | None:
    """The effect at which ``fixed + c * effect = 0``, beside the effect's interval."""
    c = item.coefficient
    if c == 0 or fixed == 0:
        return None
    effect = item.effect
    value = -fixed / c
    pays_above = c > 0
    if effect.uncertainty == "point":
        unfavourable = effect.estimate
    else:
        low, high = item.bounds(alpha)
        unfavourable = low if pays_above else high
    mde = math.nan
    if effect.uncertainty == "sampling":
        from evaluate.power import mde_from_se

        dist = effect.distribution
        df = dist.df if isinstance(dist, StudentT) else None
        detectable = mde_from_se(effect.std_error, alpha=alpha, power=power, df=df)
        mde = detectable if pays_above else -detectable
    return BreakEven(
        effect=effect.name,
        unit=effect.unit,
        value=float(value),
        pays_above=bool(pays_above),
        estimate=effect.estimate,
        unfavourable=float(unfavourable),
        kind=effect.uncertainty,
        mde=mde,
    )


__all__ = ["BreakEven", "Headline", "Input", "Scenario", "break_even", "compute", "draws"]
