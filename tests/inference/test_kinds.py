"""Kinds of uncertainty: what an interval is, and what may be said about it."""

import math

import pytest

from evaluate.errors import SpecError
from evaluate.estimators.series.stated import stated_effect, stated_expectation
from evaluate.inference.distributions import Empirical, Normal, PointMass, SplitNormal, StudentT
from evaluate.inference.kinds import check_kind, kind_of


def test_kind_read_from_the_distribution():
    assert kind_of(PointMass(1.0)) == "point"
    assert kind_of(SplitNormal.from_range(1.0, 0.0, 2.0)) == "stated_range"
    assert kind_of(Normal(1.0, 0.5)) == "sampling"
    assert kind_of(StudentT(1.0, 0.5, 10)) == "sampling"
    import numpy as np

    assert kind_of(Empirical(1.0, np.array([0.0, 1.0, 2.0]))) == "sampling"


def test_a_target_has_no_p_value_and_no_standard_error():
    target = stated_effect(
        name="approvals",
        estimate=175,
        estimate_range=(150, 200),
        outcome_unit="persons",
        kind="target",
    )
    assert target.uncertainty == "target"
    assert math.isnan(target.p_value)
    row = target.to_frame().iloc[0]
    assert math.isnan(row["p_value"]) and math.isnan(row["std_error"])
    assert (row["ci_low"], row["ci_high"]) == pytest.approx((150, 200))  # the target as stated


def test_a_stated_range_is_a_scenario_and_a_prior_needs_a_source():
    scenario = stated_effect(
        name="x", estimate=1.0, estimate_range=(0.5, 1.0), outcome_unit="share"
    )
    assert scenario.uncertainty == "stated_range" and math.isnan(scenario.p_value)
    with pytest.raises(SpecError, match="source"):
        stated_effect(
            name="x", estimate=1.0, estimate_range=(0, 2), outcome_unit="share", kind="prior"
        )
    prior = stated_effect(
        name="x",
        estimate=1.0,
        estimate_range=(0, 2),
        outcome_unit="share",
        kind="prior",
        source="K.",
    )
    assert prior.uncertainty == "prior" and math.isnan(prior.p_value)  # a belief is not tested
    assert stated_effect(name="x", estimate=1.0, outcome_unit="share").uncertainty == "point"
    expectation = stated_expectation(
        name="l", observed_change=-0.08, expected_change=0.18, expected_range=(0.12, 0.26)
    )
    assert expectation.uncertainty == "stated_range"


def test_sampling_estimates_keep_their_p_value():
    from evaluate.effect import EffectResult

    effect = EffectResult(
        name="e",
        estimand="x",
        distribution=Normal(2.0, 1.0),
        method="m",
        inference="i",
        unit="persons",
    )
    assert effect.uncertainty == "sampling"
    assert effect.p_value == pytest.approx(0.0455, abs=1e-4)  # 2 * (1 - Phi(2))


@pytest.mark.parametrize(
    ("kind", "has_range", "source", "match"),
    [
        ("sampling", True, "", "cannot have sampling"),
        ("point", True, "", "without a range"),
        ("stated_range", False, "", "needs a range"),
        ("prior", True, "", "source"),
        ("guess", False, "", "must be one of"),
    ],
)
def test_declared_kinds_are_checked(kind, has_range, source, match):
    with pytest.raises(SpecError, match=match):
        check_kind(kind, has_range=has_range, source=source, name="x")
