"""The headline of a business case: one quantity, and only what its inputs allow.

Gross savings have no net gain; targets and stated ranges give scenarios, not a
probability; the interval and probability belong to the headline's own quantity,
exact where the case is linear in one normal or t effect (checked against the
closed form), Monte Carlo with a reported error otherwise.
"""

import math

import numpy as np
import pytest
from scipy import stats

from evaluate.business_case import BusinessCase
from evaluate.effect import EffectResult
from evaluate.estimators.series.stated import stated_effect
from evaluate.inference.distributions import Empirical, Normal, StudentT
from evaluate.money import DiscountSchedule, cost, monetize
from evaluate.power import mde, mde_from_se


def _estimated(estimate, se, df=None, name="e", unit="persons"):
    dist = Normal(estimate, se) if df is None else StudentT(estimate, se, df)
    return EffectResult(
        name=name, estimand="x", distribution=dist, method="m", inference="i", unit=unit
    )


def test_a_case_without_costs_is_a_gross_saving():
    effect = stated_effect(name="e", estimate=-10.0, outcome_unit="persons")
    case = BusinessCase(
        "c", (monetize(effect, name="benefit", years=2020, dkk_per_unit=100_000),), price_level="x"
    )
    assert case.gross
    assert case.total == pytest.approx(1_000_000)
    assert case.net_gain is None and case.npv is None
    assert case.payback_year is None and case.payback_reason == "gross"
    assert case.benefit_cost_ratio is None
    k = case.key_figures()
    assert k["net_gain"] is None and k["gross_saving"] == pytest.approx(1_000_000)
    assert math.isnan(k["probability_of_gain"])
    assert "gross" in case.headline.no_probability
    # a stated zero cost is a cost line: the case is then net
    net = BusinessCase("c", (*case.lines, cost("costs", {2020: 0.0})), price_level="x")
    assert not net.gross and net.net_gain == pytest.approx(1_000_000)


def test_assumed_years_give_no_payback_year():
    effect = stated_effect(name="e", estimate=-10.0, outcome_unit="persons")
    lines = (
        monetize(effect, name="benefit", years=2020, dkk_per_unit=100_000),
        cost("programme", {2020: 500_000}),
    )
    assert BusinessCase("c", lines, price_level="x").payback_year == 2020
    assumed = BusinessCase("c", lines, price_level="x", years_assumed=True)
    assert assumed.payback_year is None and assumed.payback_reason == "years_assumed"
    assert assumed.net_gain == pytest.approx(500_000)


def test_a_target_gives_scenarios_and_no_probability():
    target = stated_effect(
        name="approvals",
        estimate=175,
        estimate_range=(150, 200),
        outcome_unit="persons",
        kind="target",
    )
    lines = (
        monetize(target, name="saving", years=2017, dkk_per_unit=-100_000),
        cost("costs", {2017: 2_700_000}),
    )
    case = BusinessCase("c", lines, price_level="x")
    head = case.headline
    assert head.method == "scenarios" and head.probability is None and head.interval is None
    assert math.isnan(case.probability_of_gain)
    values = {s.case: s.value for s in head.scenarios}
    assert values["central"] == pytest.approx(17_500_000 - 2_700_000)
    assert values["low"] == pytest.approx(15_000_000 - 2_700_000)
    assert values["high"] == pytest.approx(20_000_000 - 2_700_000)
    assert head.no_probability == ("scenario:target:approvals",)
    even = case.break_even_against
    assert even.value == pytest.approx(27.0) and even.unfavourable == pytest.approx(150.0)
    assert math.isnan(even.mde)  # a target has no design that could detect anything


def test_worst_combination_of_two_stated_ranges():
    share = stated_effect(
        name="share", estimate=1.0, estimate_range=(0.5, 1.0), outcome_unit="share"
    )
    persons = stated_effect(
        name="persons", estimate=0.0, estimate_range=(0.0, 6.0), outcome_unit="persons"
    )
    lines = (
        monetize(share, name="courses", years=2016, dkk_per_unit=-590_000),
        monetize(persons, name="benefit", years=2016, dkk_per_unit=-100_000),
        cost("costs", {2016: 0.0}),
    )
    head = BusinessCase("c", lines, price_level="x").headline
    values = {(s.case, s.effect): s.value for s in head.scenarios}
    assert values[("worst", "")] == pytest.approx(295_000)  # half the courses, nobody off benefit
    assert values[("high", "persons")] == pytest.approx(590_000 + 600_000)


@pytest.mark.parametrize("df", [None, 12.0])
def test_exact_headline_equals_the_closed_form(df):
    # gain = -fixed + c * X with X ~ N(20, 4^2) or t(12): c = 50,000 DKK per person,
    # discounted over two years at 3.5 %.
    effect = _estimated(20.0, 4.0, df)
    line = monetize(effect, name="l", years=[2020, 2021], dkk_per_unit=-50_000)
    case = BusinessCase(
        "c",
        (line, cost("k", {2020: 1_500_000})),
        price_level="x",
        discount=DiscountSchedule.danish(),
    )
    c = 50_000 * (1 + 1 / 1.035)
    head = case.headline
    assert head.method == "exact" and head.mc_error == 0
    dist = stats.norm if df is None else stats.t(df)
    q = dist.ppf(0.975)
    assert head.value == pytest.approx(case.present_value, rel=1e-12)
    assert head.value == pytest.approx(c * 20 - 1_500_000, rel=1e-12)
    assert head.interval == pytest.approx(
        (c * (20 - q * 4) - 1_500_000, c * (20 + q * 4) - 1_500_000), rel=1e-12
    )
    assert head.probability == pytest.approx(dist.sf((1_500_000 / c - 20) / 4), rel=1e-12)
    # the Monte Carlo draws agree within their error (40,000 draws: +-0.005 at 4 SE)
    assert np.mean(case.simulation > 0) == pytest.approx(head.probability, abs=0.01)


def test_monte_carlo_headline_reports_its_error_and_rounds_to_what_is_stable():
    rng = np.random.default_rng(7)
    samples = rng.normal(10.0, 3.0, 2_000)
    bootstrap = EffectResult(
        name="b",
        estimand="x",
        distribution=Empirical(10.0, samples),
        method="m",
        inference="i",
        unit="persons",
    )
    other = _estimated(5.0, 2.0, name="o")
    lines = (
        monetize(bootstrap, name="a", years=2020, dkk_per_unit=-100_000),
        monetize(other, name="b", years=2020, dkk_per_unit=-80_000),
        cost("k", {2020: 1_000_000}),
    )
    heads = [BusinessCase("c", lines, price_level="x", seed=s).headline for s in (1, 2)]
    for head in heads:
        assert head.method == "monte_carlo"
        assert head.draws >= 10_000 and math.isfinite(head.mc_error) and head.mc_error > 0
        assert head.rounding >= 1_000 and head.rounding >= 4 * head.mc_error or head.draws * 4 > 1e6
        for bound in head.interval:
            assert bound / head.rounding == pytest.approx(round(bound / head.rounding))
        assert head.probability_mc_error < 0.01
    # two seeds print the same bounds, up to one step of the rounding
    for a, b in zip(heads[0].interval, heads[1].interval, strict=True):
        assert abs(a - b) <= heads[0].rounding
    # the interval belongs to the headline quantity: it lies around the value
    low, high = heads[0].interval
    assert low < heads[0].value < high


def test_mde_from_the_standard_error_matches_the_power_module():
    # Continuous outcome, sd 1, 2 x 400 persons: the noncentral-t MDE of evaluate.power
    # and the normal-quantile formula (1.96 + 0.84) * sqrt(2 / 400) agree to 0.2 %.
    n = 400
    analytic = mde(n_treated=n, n_control=n, sd=1.0).effect
    assert mde_from_se(math.sqrt(2 / n), df=2 * n - 2) == pytest.approx(analytic, rel=2e-3)
    assert math.isnan(mde_from_se(0.0))


def test_break_even_against_the_interval_and_the_detectable_effect():
    # Vordingborg-like: 10 mDKK against 319 citizens x 118,330 DKK per unit share.
    effect = _estimated(0.0559, 0.0552, 491.0, unit="share")
    lines = (
        cost("grant", {2019: 10_000_000}),
        monetize(effect, name="benefit", years=2020, dkk_per_unit=-319 * 118_329.6),
    )
    even = BusinessCase("c", lines, price_level="x").break_even_against
    assert even.value == pytest.approx(10_000_000 / (319 * 118_329.6))
    assert even.pays_above and even.inside
    assert even.unfavourable == pytest.approx(effect.ci[0])
    assert even.mde == pytest.approx(mde_from_se(0.0552, df=491.0))
