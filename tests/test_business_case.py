"""Business case: the Faxe numbers, money identities (hypothesis) and uncertainty."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from evaluate import SpecError
from evaluate.business_case import BusinessCase
from evaluate.estimators.series.stated import stated_effect, stated_expectation
from evaluate.money import DiscountSchedule, cost, monetize, staff_cost


def faxe_case(**kwargs) -> BusinessCase:
    ledighedsydelse = stated_expectation(name="l", observed_change=-0.08, expected_change=0.18)
    flexjob = stated_effect(name="f", estimate=5.0, outcome_unit="percentage points")
    lines = (
        monetize(ledighedsydelse, name="Ledighedsydelse", years=2019, total_at_estimate=-7.8e6),
        monetize(flexjob, name="Flexjob", years=2019, total_at_estimate=4.4e6),
        staff_cost("Caseworkers", fte=3, annual_cost=500_000, years=2019),
    )
    return BusinessCase("Faxe", lines, price_level="current prices", **kwargs)


def test_faxe_published_net_surplus():
    # Faxe Kommune 29.10.2019: 7.8 - 4.4 - 1.5 = 1.9 mDKK net surplus.
    case = faxe_case()
    assert case.net_gain == pytest.approx(1_900_000, abs=1e-6)
    table = case.table()
    assert table.loc["Net", "Total"] == pytest.approx(-1_900)  # municipal sign, 1,000 DKK
    assert table.loc["Ledighedsydelse", "2019"] == pytest.approx(-7_800)
    assert faxe_case(sign="plain").table().loc["Net", "Total"] == pytest.approx(1_900)
    # Effects must be at least 1.5 / (7.8 - 4.4) of their estimates to pay.
    assert case.break_even == pytest.approx(1.5 / 3.4)
    assert case.payback_year == 2019
    assert not case.uncertain and math.isnan(case.key_figures()["probability_of_gain"])


def test_uncertain_effect_gives_probability_of_gain():
    # a declared prior (not a scenario range) may be turned into a probability
    effect = stated_effect(
        name="e",
        estimate=-10.0,
        outcome_unit="persons",
        estimate_range=(-20.0, 0.0),
        kind="prior",
        source="a declared belief",
    )
    lines = (
        monetize(effect, name="benefit", years=2020, dkk_per_unit=100_000),
        cost("programme", {2020: 500_000}),
    )
    case = BusinessCase("c", lines, price_level="2020 p/l", n_draws=40_000, seed=1)
    # net gain = -100,000 * effect - 500,000 > 0  <=>  effect < -5; effect ~ N(-10, (10/1.96)^2)
    from scipy import stats

    exact = stats.norm.cdf(-5, loc=-10, scale=10 / 1.959964)
    assert case.probability_of_gain == pytest.approx(exact, abs=0.01)
    assert np.array_equal(
        case.simulation,
        BusinessCase("c", lines, price_level="x", n_draws=40_000, seed=1).simulation,
    )
    with pytest.raises(ValueError):
        case.simulation[0] = 1.0  # results are read-only


def test_lines_sharing_an_effect_move_together():
    effect = stated_effect(
        name="e", estimate=-10.0, outcome_unit="persons", estimate_range=(-20.0, 0.0)
    )
    a = monetize(effect, name="saving", years=2020, dkk_per_unit=100_000)
    b = monetize(effect, name="offset", years=2020, dkk_per_unit=-100_000)
    case = BusinessCase("c", (a, b, cost("k", {2020: 1.0})), price_level="x")
    assert np.ptp(case.simulation) == pytest.approx(0.0, abs=1e-6)


@settings(max_examples=50, deadline=None)
@given(
    estimate=st.floats(-100, 100).filter(lambda x: abs(x) > 1e-3),
    price=st.floats(1e3, 1e6),
    fixed=st.floats(0, 1e7),
    scale=st.floats(-5, 5),
    years=st.lists(st.integers(2020, 2040), min_size=1, max_size=5, unique=True),
)
def test_money_identities(estimate, price, fixed, scale, years):
    effect = stated_effect(name="e", estimate=estimate, outcome_unit="persons")
    scaled = stated_effect(name="e", estimate=estimate * scale, outcome_unit="persons")
    linked = monetize(effect, name="l", years=years, dkk_per_unit=price)
    costs = cost("c", {years[0]: fixed})
    case = BusinessCase(
        "c", (linked, costs), price_level="x", discount=DiscountSchedule.constant(0.0)
    )
    # zero discount rate: present value = plain sum
    assert case.npv == pytest.approx(case.net_gain, rel=1e-9, abs=1e-6)
    assert case.net_gain == pytest.approx(
        -estimate * price * len(years) - fixed, rel=1e-9, abs=1e-6
    )
    # linearity in the effect: the linked line scales, the fixed line does not
    case2 = BusinessCase(
        "c", (monetize(scaled, name="l", years=years, dkk_per_unit=price), costs), price_level="x"
    )
    assert case2.net_gain + fixed == pytest.approx(
        scale * (case.net_gain + fixed), rel=1e-9, abs=1e-4
    )
    # at the break-even share of the effect the case nets to zero (undefined without costs)
    k = case.break_even
    if fixed == 0:
        assert math.isnan(k)
        return
    at_k = stated_effect(name="e", estimate=estimate * k, outcome_unit="persons")
    even = BusinessCase(
        "c", (monetize(at_k, name="l", years=years, dkk_per_unit=price), costs), price_level="x"
    )
    assert even.net_gain == pytest.approx(0.0, abs=1e-6 * max(1.0, fixed))


def test_discounting_lowers_later_gains():
    effect = stated_effect(name="e", estimate=-1.0, outcome_unit="persons")
    line = monetize(effect, name="l", years=[2020, 2021, 2022], dkk_per_unit=1_000_000)
    case = BusinessCase("c", (line,), price_level="x", discount=DiscountSchedule.danish())
    expected = 1e6 * (1 + 1 / 1.035 + 1 / 1.035**2)
    assert case.present_value == pytest.approx(expected)
    assert case.npv is None  # no cost line: a gross saving has no net present value


def test_bad_business_cases():
    with pytest.raises(SpecError, match="no cash-flow lines"):
        BusinessCase("c", (), price_level="x")
    line = cost("a", {2020: 1.0})
    with pytest.raises(SpecError, match="duplicate"):
        BusinessCase("c", (line, line), price_level="x")
    with pytest.raises(SpecError, match="sign"):
        BusinessCase("c", (line,), price_level="x", sign="upside-down")
    with pytest.raises(SpecError, match="perspective"):
        BusinessCase("c", (line,), price_level="x").for_perspective("state")


def test_benefit_cost_ratio_perspectives_and_adjustments():
    effect = stated_effect(name="e", estimate=-10.0, outcome_unit="persons")
    lines = (
        monetize(effect, name="benefit", years=2020, dkk_per_unit=100_000),
        monetize(effect, name="tax", years=2020, dkk_per_unit=50_000, perspective="state"),
        cost("programme", {2020: 500_000}),
    )
    case = BusinessCase("c", lines, price_level="x")
    assert case.benefit_cost_ratio == pytest.approx(1_500_000 / 500_000)
    by = case.by_perspective()
    assert by.sum() == pytest.approx(case.npv)  # perspectives add up to the total
    assert by["state"] == pytest.approx(500_000) and by["municipality"] == pytest.approx(500_000)
    adjusted = BusinessCase(
        "c", lines, price_level="x", deadweight=0.2, displacement=0.1, optimism_bias=0.3
    )
    assert adjusted.net_gain == pytest.approx(1_500_000 * 0.8 * 0.9 - 500_000 * 1.3)
    with pytest.raises(SpecError, match="0.1 for 10 %"):
        BusinessCase("c", lines, price_level="x", deadweight=10)


def test_sensitivity_table_and_tornado():
    from matplotlib.axes import Axes

    from evaluate.sensitivity import plot_tornado, sensitivity

    table = sensitivity(faxe_case())
    assert list(table["assumption"])[0].startswith("l ")  # the biggest swing first
    row = table.set_index("assumption").loc["Caseworkers ±20%"]
    assert (row.npv_low, row.npv_high) == pytest.approx((2_200_000, 1_600_000))
    assert isinstance(plot_tornado(faxe_case()), Axes)


def test_category_table_and_horizon():
    table = faxe_case().table(by_category=True)
    assert table.attrs["kinds"] == ["line", "subtotal", "line", "line", "subtotal", "net"]
    assert table.loc["transfers total", "Total"] == pytest.approx(-3_400)
    assert table.loc["Net", "Total"] == pytest.approx(-1_900)  # subtotals are not summed twice
    with pytest.raises(SpecError, match="Horizon 2018 is shorter"):
        faxe_case(horizon=2018)
    assert faxe_case(horizon=2030).net_gain == pytest.approx(1_900_000)
