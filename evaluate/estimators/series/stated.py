"""Stated counterfactuals: the observed change against the change that was expected.

A municipality often has no comparison group, only an expectation: "without the
investment, recipients of ledighedsydelse would have risen 18 %; they fell 8 %".
The effect is then the gap between the observed and the expected change,

    effect (share of baseline)        = observed change - expected change
    effect relative to counterfactual = (1 + observed) / (1 + expected) - 1
    effect in persons                 = baseline * (observed - expected)

and its uncertainty is the uncertainty of the expectation, when the user states
one as a range (read as a central 95 % range; see
:class:`~evaluate.inference.distributions.SplitNormal`).  The observed change is a
count of the whole population, not a sample, so it carries no sampling error.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from evaluate.effect import EffectResult, NotApplicable, Provenance
from evaluate.errors import SpecError
from evaluate.estimators._renamed import renamed_options
from evaluate.inference.distributions import PointMass, SplitNormal
from evaluate.inference.kinds import check_kind
from evaluate.text import Text, Unit, say

if TYPE_CHECKING:
    from matplotlib.axes import Axes

StatedKind = Literal["auto", "point", "stated_range", "target", "prior"]
"""What a stated number is (:mod:`evaluate.inference.kinds`): ``"auto"`` reads a
range as a stated range (a scenario) and a number alone as a point; ``"target"``
marks a political or planned target; ``"prior"`` a belief about the number's
spread that the study declares, with its source."""

_RANGE_INFERENCE = {
    "stated_range": Text(
        "stated.kind_stated_range",
        "stated range: scenarios (low, central, high), not an estimated distribution",
    ),
    "target": Text(
        "stated.kind_target",
        "a target, not an estimate: its range gives scenarios (low, central, high), "
        "no confidence interval or p-value",
    ),
    "prior": Text(
        "stated.kind_prior",
        "a declared prior belief (two-piece normal through the stated central 95 % range)",
    ),
}

_NO_PRE_PERIOD = NotApplicable(
    Text(
        "stated.no_pre_period",
        "the counterfactual is a stated expectation; there is no pre-period to test it against",
    )
)


def _finite(name: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise SpecError(f"{name} must be a finite number, got {value!r}.")
    return float(value)


def _change(name: str, value: object) -> float:
    change = _finite(name, value)
    if change <= -1.0:
        raise SpecError(
            f"{name} = {change!r} is a fall of 100 % or more; give relative changes as "
            "shares (-0.08 for a fall of 8 %)."
        )
    if abs(change) > 10:
        raise SpecError(
            f"{name} = {change!r} is a change of more than 1000 %; give relative changes "
            "as shares (0.18 for a rise of 18 %), not percents."
        )
    return change


@dataclass(frozen=True, kw_only=True, eq=False)
class StatedExpectationResult(EffectResult):
    """Observed versus expected change.  Main estimate: the gap as a share of the baseline."""

    observed_change: float
    expected_change: float
    expected_range: tuple[float, float] | None = None
    baseline: float | None = None

    @property
    def relative_to_counterfactual(self) -> float:
        """Observed level relative to the expected level, minus one (-0.22 = 22 % below)."""
        return (1 + self.observed_change) / (1 + self.expected_change) - 1

    @property
    def persons(self) -> float | None:
        """The effect in persons (needs the baseline count)."""
        return None if self.baseline is None else self.baseline * self.estimate

    def _extra_terms(self) -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = []
        rel_low = rel_high = math.nan
        if self.expected_range is not None:
            # The relative effect is monotone in the effect, so its interval is the
            # image of the effect's interval: expected = observed - effect.
            bounds = [
                (1 + self.observed_change) / (1 + self.observed_change - e) - 1 for e in self.ci
            ]
            rel_low, rel_high = min(bounds), max(bounds)
        rows.append(
            {
                "term": Text("term.relative", "{name}: relative to counterfactual", name=self.name),
                "estimate": self.relative_to_counterfactual,
                "std_error": math.nan,
                "ci_low": rel_low,
                "ci_high": rel_high,
                "p_value": math.nan,
                "unit": "share",
            }
        )
        if self.baseline is not None:
            persons = self.distribution.scaled(self.baseline)
            p_low, p_high = persons.interval(self.alpha)
            rows.append(
                {
                    "term": Text(
                        "term.in_unit", "{name}: {unit}", name=self.name, unit=Unit("persons")
                    ),
                    "estimate": persons.estimate,
                    "std_error": persons.std_error,
                    "ci_low": p_low,
                    "ci_high": p_high,
                    "p_value": self.p_value,
                    "unit": "persons",
                }
            )
        return rows

    def plot(self, ax: Axes | None = None) -> Axes:
        """Baseline = 100: the observed level against the expected level and its range."""
        import matplotlib.pyplot as plt
        import seaborn as sns

        if ax is None:
            _, ax = plt.subplots(figsize=(5.5, 4.0))
        palette = sns.color_palette("deep")
        labels = [
            say(Text("plot.baseline", "baseline")),
            say(Text("plot.observed", "observed")),
            say(Text("plot.expected", "expected without intervention")),
        ]
        values = [100.0, 100 * (1 + self.observed_change), 100 * (1 + self.expected_change)]
        ax.bar(labels, values, color=[palette[7], palette[0], palette[1]])
        if self.expected_range is not None:
            low, high = self.expected_range
            ax.errorbar(
                [2],
                [values[2]],
                yerr=[[100 * (self.expected_change - low)], [100 * (high - self.expected_change)]],
                fmt="none",
                color="0.2",
                capsize=6,
            )
        ax.set_ylabel(say(Text("plot.level_index", "level (baseline = 100)")))
        ax.set_title(say(self.name))
        return ax


def stated_expectation(
    *,
    name: str,
    observed_change: float,
    expected_change: float,
    expected_range: tuple[float, float] | None = None,
    baseline: float | None = None,
    population: str = "not stated",
    source: str = "",
    alpha: float = 0.05,
    kind: StatedKind = "auto",
) -> StatedExpectationResult:
    """Effect as the gap between an observed and an expected relative change.

    Parameters
    ----------
    name : label of the outcome, e.g. ``"ledighedsydelse recipients"``.
    observed_change : observed relative change from the baseline, as a share (-0.08).
    expected_change : the change expected without the intervention, as a share (0.18).
    expected_range : optional ``(low, high)`` central 95 % range of the expectation.
    baseline : optional baseline level (persons), to express the effect in persons.
    population, source : whom the numbers describe and where they come from.
    alpha : 1 - confidence level.
    kind : what the expectation's range is (:data:`StatedKind`): a scenario range
        by default, a ``"target"``, or a ``"prior"`` belief with a ``source``.

    Returns
    -------
    StatedExpectationResult
        Main estimate ``observed - expected`` as a share of the baseline.

    Examples
    --------
    >>> faxe = stated_expectation(name="ledighedsydelse", observed_change=-0.08,
    ...                           expected_change=0.18)
    >>> round(faxe.estimate, 4), round(faxe.relative_to_counterfactual, 4)
    (-0.26, -0.2203)
    """
    observed = _change("observed_change", observed_change)
    expected = _change("expected_change", expected_change)
    if not 0 < alpha < 1:
        raise SpecError(f"alpha must lie strictly between 0 and 1, got {alpha!r}.")
    if baseline is not None:
        baseline = _finite("baseline", baseline)
        if baseline <= 0:
            raise SpecError(f"baseline must be a positive level, got {baseline!r}.")
    estimate = observed - expected
    declared = check_kind(
        kind, has_range=expected_range is not None, source=source, name="stated_expectation"
    )
    if expected_range is None:
        distribution: PointMass | SplitNormal = PointMass(estimate)
        inference = Text(
            "stated.inference_none", "none: the expectation was stated without a range"
        )
        notes: tuple[str, ...] = (
            Text(
                "stated.note_no_range",
                "No uncertainty was stated for the expected change, so the effect is shown "
                "without a confidence interval.",
            ),
        )
    else:
        if len(expected_range) != 2:
            raise SpecError(f"expected_range must be (low, high), got {expected_range!r}.")
        low = _change("expected_range low", expected_range[0])
        high = _change("expected_range high", expected_range[1])
        if not low <= expected <= high or low == high:
            raise SpecError(
                f"expected_range {expected_range!r} must contain expected_change "
                f"{expected!r} and have low < high."
            )
        expectation = SplitNormal.from_range(expected, low, high)
        # effect = observed - expectation: reflect the expectation's two halves
        distribution = SplitNormal(estimate, expectation.sd_high, expectation.sd_low)
        inference = _RANGE_INFERENCE[declared]
        notes = ()
        expected_range = (low, high)
    return StatedExpectationResult(
        name=name,
        estimand=Text(
            "stated.estimand",
            "observed minus expected change, as a share of the baseline level",
        ),
        distribution=distribution,
        method=Text("stated.method", "Stated expectation"),
        inference=inference,
        unit="share",
        population=population,
        alpha=alpha,
        diagnostics={Text("stated.check", "counterfactual check"): _NO_PRE_PERIOD},
        provenance=Provenance(
            spec={
                "observed_change": observed,
                "expected_change": expected,
                "expected_range": expected_range,
                "baseline": baseline,
            },
            source=source,
        ),
        notes=notes,
        uncertainty_kind=declared,
        observed_change=observed,
        expected_change=expected,
        expected_range=expected_range,
        baseline=baseline,
    )


@renamed_options("unit")
def stated_effect(
    *,
    name: str,
    estimate: float,
    outcome_unit: str,
    estimate_range: tuple[float, float] | None = None,
    population: str = "not stated",
    source: str = "",
    alpha: float = 0.05,
    kind: StatedKind = "auto",
) -> EffectResult:
    """An effect reported by someone else ("flexjob uptake +5 pp over the counterfactual").

    The number is taken as stated; ``estimate_range`` gives it a range: by default a
    scenario range (low, central, high), with ``kind="target"`` a target, with
    ``kind="prior"`` a declared belief (read as a central 95 % range, with the
    ``source`` that holds it).  Use it to carry a published effect into money and
    report, and say so: the design behind the number is the source's, not ours.
    Only a ``"prior"`` may give a business case a probability of a gain.
    """
    value = _finite("estimate", estimate)
    declared = check_kind(
        kind, has_range=estimate_range is not None, source=source, name=f"stated_effect {name!r}"
    )
    if estimate_range is None:
        distribution: PointMass | SplitNormal = PointMass(value)
        inference = Text(
            "stated.effect_inference_none", "none: the effect was stated without uncertainty"
        )
    else:
        low, high = (_finite("estimate_range", v) for v in estimate_range)
        if not low <= value <= high or low == high:
            raise SpecError(f"estimate_range {estimate_range!r} must contain {value!r}.")
        distribution = SplitNormal.from_range(value, low, high)
        inference = _RANGE_INFERENCE[declared]
    estimand = (
        Text("stated.target_estimand", "a target stated by the source, not an estimate")
        if declared == "target"
        else Text("stated.effect_estimand", "effect as stated by the source")
    )
    return EffectResult(
        name=name,
        estimand=estimand,
        distribution=distribution,
        method=Text("stated.effect_method", "Stated effect"),
        inference=inference,
        unit=outcome_unit,
        population=population,
        alpha=alpha,
        diagnostics={
            Text("stated.design", "design"): NotApplicable(
                Text("stated.design_source", "the design behind a stated effect is the source's")
            )
        },
        provenance=Provenance(spec={"estimate": value, "range": estimate_range}, source=source),
        notes=(
            Text(
                "stated.note_as_stated",
                "The effect is taken as stated by the source, not estimated here.",
            ),
        ),
        uncertainty_kind=declared,
    )
