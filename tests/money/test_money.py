"""Rates, refusion, discounting and cash-flow lines."""

import pytest

from evaluate import SpecError
from evaluate.estimators.series.stated import stated_effect, stated_expectation
from evaluate.money import DiscountSchedule, RateTable, RefusionSchedule, cost, monetize, staff_cost


def test_rates_are_data_with_source_and_override():
    table = RateTable.danish()
    rate = table.get("ledighedsydelse", 2024)
    assert rate.amount == 4185 and rate.per == "week" and "bm.dk" in rate.source
    assert rate.annual == 4185 * 52
    assert table.get("dagpenge", 2025).amount == 21092
    with pytest.raises(SpecError, match="the table has 2014-2020, 2022, 2024"):
        table.get("ledighedsydelse", 2021)
    with pytest.raises(SpecError, match="known benefits"):
        table.get("basic income", 2024)
    custom = table.with_rate("ledighedsydelse", 2021, 16_000, "month", source="council memo 2021")
    assert custom.get("ledighedsydelse", 2021).annual == 192_000
    assert custom.get("ledighedsydelse", 2021).grade == "user override"
    with pytest.raises(SpecError, match="source"):
        table.with_rate("ledighedsydelse", 2021, 16_000, "month", source="")
    assert len(table.frame) == len(RateTable.danish().frame)  # the original is unchanged


def test_refusion_schedule_lbk_221_2021():
    # LBK nr. 221 af 12/02/2021 § 5: 80 % weeks 1-4, 40 % 5-26, 30 % 27-52, 20 % after.
    schedule = RefusionSchedule.danish()
    assert list(schedule.share([1, 4, 5, 26, 27, 52, 53, 500])) == [
        0.8,
        0.8,
        0.4,
        0.4,
        0.3,
        0.3,
        0.2,
        0.2,
    ]
    expected = (4 * 0.8 + 22 * 0.4 + 26 * 0.3 + 52 * 0.2) / 104
    assert schedule.average_share(1, 104) == pytest.approx(expected)
    with pytest.raises(SpecError):
        schedule.average_share(10, 5)


def test_finansministeriet_discounting():
    schedule = DiscountSchedule.danish()
    assert schedule.factor(0) == 1.0
    assert schedule.factor(35) == pytest.approx(1.035**-35)
    assert schedule.factor(40) == pytest.approx(1.035**-35 * 1.025**-5)
    assert schedule.factor(80) == pytest.approx(1.035**-35 * 1.025**-35 * 1.015**-10)
    assert DiscountSchedule.constant(0.0).factor(30) == 1.0


def test_monetize_effect_times_price_net_of_refusion():
    effect = stated_effect(
        name="fewer recipients", estimate=-10.0, outcome_unit="full-time persons"
    )
    line = monetize(
        effect,
        name="benefit",
        years={2024: 0.5, 2025: 1.0},
        dkk_per_unit=200_000,
        refusion_share=0.2,
    )
    assert line.amounts == pytest.approx({2024: -800_000, 2025: -1_600_000})
    assert line.linked and line.total == pytest.approx(-2_400_000)


def test_monetize_calibrates_to_a_stated_total():
    faxe = stated_expectation(name="l", observed_change=-0.08, expected_change=0.18)
    line = monetize(faxe, name="l", years=2019, total_at_estimate=-7_800_000)
    assert line.amounts[2019] == pytest.approx(-7_800_000)
    assert line.per_unit[2019] == pytest.approx(30_000_000)
    zero = stated_effect(name="z", estimate=0.0, outcome_unit="persons")
    with pytest.raises(SpecError, match="effect of 0"):
        monetize(zero, name="z", years=2019, total_at_estimate=1.0)
    with pytest.raises(SpecError, match="exactly one"):
        monetize(faxe, name="l", years=2019)


def test_cost_lines_validate():
    assert staff_cost("cw", fte=3, annual_cost=500_000, years=[2019, 2020]).total == 3_000_000
    with pytest.raises(SpecError, match="positive"):
        staff_cost("cw", fte=0, annual_cost=500_000, years=2019)
    with pytest.raises(SpecError, match="perspective"):
        cost("x", {2019: 1.0}, perspective="county")
    with pytest.raises(SpecError, match="not finite"):
        cost("x", {2019: float("inf")})


def test_rate_needs_an_effect_in_persons():
    rate = RateTable.danish().get("ledighedsydelse", 2024)
    persons = stated_effect(name="p", estimate=-10.0, outcome_unit="full-time persons")
    line = monetize(persons, name="b", years=2024, rate=rate)
    assert line.amounts[2024] == pytest.approx(-10 * 4185 * 52)
    share = stated_expectation(name="s", observed_change=-0.08, expected_change=0.18)
    with pytest.raises(SpecError, match="full-time person.*'share'"):
        monetize(share, name="b", years=2024, rate=rate)
    with pytest.raises(SpecError, match="positive"):
        RateTable.danish().with_rate("x", 2024, -1.0, "week", source="typo")


def test_refusion_of_a_52_week_spell_closed_form():
    # 4 weeks at 80 %, 22 at 40 %, 26 at 30 %: (3.2 + 8.8 + 7.8) / 52
    assert RefusionSchedule.danish().average_share(1, 52) == pytest.approx(19.8 / 52)


def test_effect_years_persistence():
    from evaluate.money import effect_years

    assert effect_years(2018, 3, first_year=8 / 12, decay=0.5) == pytest.approx(
        {2018: 8 / 12, 2019: 0.5, 2020: 0.25}
    )
    with pytest.raises(SpecError):
        effect_years(2018, 0)


def test_society_production_and_tax_lines():
    from evaluate.business_case import BusinessCase
    from evaluate.money import factor, production_value, tax_revenue

    assert factor("net_tax_factor").value == 1.28
    work = stated_effect(name="in work", estimate=10.0, outcome_unit="full-time persons")
    production = production_value(work, annual_wage=400_000, years=2024)
    assert production.amounts[2024] == pytest.approx(-10 * 400_000 * 1.28)  # a gain
    assert production.perspective == "society" and "1.28" in production.source
    tax = tax_revenue(work, annual_earnings=400_000, tax_rate=0.4, years=2024)
    benefit = monetize(work, name="benefit", years=2024, dkk_per_unit=-150_000)
    case = BusinessCase("c", (production, tax, benefit, cost("k", {2024: 1e6})), price_level="x")
    by = case.by_perspective()
    assert by.sum() == pytest.approx(case.npv)
    assert by["society"] == pytest.approx(5_120_000) and by["state"] == pytest.approx(1_600_000)
    share = stated_expectation(name="s", observed_change=-0.1, expected_change=0.0)
    with pytest.raises(SpecError, match="persons"):
        production_value(share, annual_wage=1.0, years=2024)
    with pytest.raises(SpecError, match="tax_rate"):
        tax_revenue(work, annual_earnings=1.0, tax_rate=40, years=2024)


def test_unknown_year_filled_by_an_index_with_a_flag():
    from evaluate.money import PriceIndex

    index = PriceIndex(
        "satsregulering (illustrative)",
        {2023: 100.0, 2024: 103.0, 2025: 106.0},
        source="test values",
    )
    rate = RateTable.danish().get("ledighedsydelse", 2025, index=index)
    assert rate.indexed_from == 2024
    assert rate.amount == pytest.approx(4185 * 106 / 103)
    assert "INDEXED from 2024" in rate.describe()
    assert RateTable.danish().get("ledighedsydelse", 2024, index=index).indexed_from is None
    with pytest.raises(SpecError, match="covers 2023-2025"):
        RateTable.danish().get("ledighedsydelse", 2030, index=index)
    with pytest.raises(SpecError, match="source"):
        PriceIndex("pl", {2024: 1.0}, source="")
    with pytest.raises(SpecError, match="positive"):
        PriceIndex("pl", {2024: -1.0}, source="x")
