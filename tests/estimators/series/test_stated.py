"""Stated expectation and stated effect: the Faxe arithmetic and bad input."""

import math

import numpy as np
import pytest

from evaluate import SpecError
from evaluate.estimators.series.stated import stated_effect, stated_expectation


def test_faxe_published_effect():
    # Faxe Kommune, 29.10.2019: recipients fell 8 % where an 18 % rise was expected.
    faxe = stated_expectation(name="ledighedsydelse", observed_change=-0.08, expected_change=0.18)
    assert faxe.estimate == pytest.approx(-0.26, abs=1e-12)  # exact arithmetic
    assert faxe.relative_to_counterfactual == pytest.approx(0.92 / 1.18 - 1, abs=1e-12)
    assert math.isnan(faxe.std_error) and all(math.isnan(b) for b in faxe.ci)
    assert np.all(faxe.draws(50, seed=1) == faxe.estimate)
    assert "No uncertainty" in faxe.summary()


def test_baseline_gives_persons_and_range_gives_exact_quantiles():
    result = stated_expectation(
        name="x",
        observed_change=-0.08,
        expected_change=0.18,
        expected_range=(0.12, 0.26),
        baseline=200,
    )
    frame = result.to_frame().set_index("term")
    # The stated range is the central 95 % range of the expectation, so the effect's
    # interval is observed - (high, low) exactly.
    assert result.ci == pytest.approx((-0.08 - 0.26, -0.08 - 0.12), abs=1e-12)
    assert frame.loc["x: persons", "estimate"] == pytest.approx(-52.0)
    assert frame.loc["x: persons", "ci_low"] == pytest.approx(-68.0)
    rel = frame.loc["x: relative to counterfactual"]
    assert (rel.ci_low, rel.ci_high) == pytest.approx((0.92 / 1.26 - 1, 0.92 / 1.12 - 1))
    draws = result.draws(200_000, seed=3)
    assert np.mean(draws <= result.ci[0]) == pytest.approx(0.025, abs=0.002)
    assert np.mean(draws >= result.ci[1]) == pytest.approx(0.025, abs=0.002)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"observed_change": -8, "expected_change": 0.18}, "100 %"),
        ({"observed_change": -0.08, "expected_change": 18}, "shares"),
        ({"observed_change": float("nan"), "expected_change": 0.18}, "finite"),
        (
            {"observed_change": -0.08, "expected_change": 0.18, "expected_range": (0.2, 0.3)},
            "contain",
        ),
        ({"observed_change": -0.08, "expected_change": 0.18, "baseline": -5}, "positive"),
        ({"observed_change": -0.08, "expected_change": 0.18, "alpha": 1.5}, "alpha"),
    ],
)
def test_bad_input_is_a_spec_error(kwargs, match):
    with pytest.raises(SpecError, match=match):
        stated_expectation(name="x", **kwargs)


def test_stated_effect_with_and_without_range():
    plain = stated_effect(name="flexjob", estimate=5.0, outcome_unit="percentage points")
    assert plain.estimate == 5.0 and math.isnan(plain.std_error)
    ranged = stated_effect(
        name="flexjob", estimate=5.0, outcome_unit="percentage points", estimate_range=(2.0, 8.0)
    )
    assert ranged.ci == pytest.approx((2.0, 8.0))
    with pytest.raises(SpecError):
        stated_effect(name="f", estimate=5.0, outcome_unit="pp", estimate_range=(6.0, 8.0))
