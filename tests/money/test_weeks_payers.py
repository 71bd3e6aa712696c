"""Refusion priced week by week, per-year rates, and the payer split."""

import pytest

from evaluate.business_case import BusinessCase
from evaluate.errors import SpecError
from evaluate.estimators.series.stated import stated_effect
from evaluate.money import (
    RateTable,
    TaxShares,
    WeekProfile,
    monetize,
    payer_split,
    production_value,
    staff_cost,
)


def _effect(estimate=-10.0):
    return stated_effect(name="kh", estimate=estimate, outcome_unit="full-time persons")


def test_week_by_week_pricing_equals_a_hand_computation():
    # 1 + 2 + 3 + 4 = 10 units of effect in support weeks 1-4, 5-26, 27-52, 53+;
    # refusion 80/40/30/20 % (LBK 221/2021 § 5); two years at their own rates.
    profile = WeekProfile.from_steps(
        {"1-4": 1.0, "5-26": 2.0, "27-52": 3.0, "53-": 4.0}, source="hand", average_share=0.5
    )
    table = RateTable.danish()
    rates = table.by_year("kontanthjaelp", [2022, 2023], category="fyldt 30 år, andre")
    line = monetize(
        _effect(-10.0),
        name="kh",
        years={2022: 0.5, 2023: 1.0},
        rate=rates,
        week_profile=profile,
    )
    # by hand: municipal share = (1*.2 + 2*.6 + 3*.7 + 4*.8) / 10 = 0.67
    by_hand = {
        2022: -10 * 11750.641 * 12 * 0.5 * 0.67,
        2023: -10 * 11944.0 * 12 * 1.0 * 0.67,
    }
    assert line.amounts == pytest.approx(by_hand, rel=1e-12)
    assert line.refusion_share == pytest.approx(0.33, abs=1e-15)
    # the shortcut: one average share of 50 %
    assert line.shortcut_amounts == pytest.approx(
        {y: v / 0.67 * 0.5 for y, v in by_hand.items()}, rel=1e-12
    )


def test_week_profile_rejects_steps_across_the_schedule_and_gaps():
    with pytest.raises(SpecError, match="span several refusion shares"):
        WeekProfile.from_steps({"1-26": 1.0, "27-": 1.0}, source="x").refusion_share()
    with pytest.raises(SpecError, match="without gaps"):
        WeekProfile.from_steps({"1-4": 1.0, "27-": 1.0}, source="x")
    with pytest.raises(SpecError, match="not both"):
        monetize(
            _effect(),
            name="kh",
            years=[2023],
            dkk_per_unit=1.0,
            refusion_share=0.2,
            week_profile=WeekProfile.from_steps({"1-": 1.0}, source="x"),
        )


def test_rate_by_year_must_cover_every_year():
    rates = RateTable.danish().by_year("ledighedsydelse", [2018])
    with pytest.raises(SpecError, match="no value for \\[2019\\]"):
        monetize(_effect(), name="ly", years=[2018, 2019], rate=rates)


def _case():
    effect = _effect(-10.0)
    lines = (
        monetize(
            effect,
            name="kh",
            years=[2022, 2023],
            rate=RateTable.danish().by_year(
                "kontanthjaelp", [2022, 2023], category="fyldt 30 år, andre"
            ),
            week_profile=WeekProfile.from_steps(
                {"1-4": 1.0, "5-26": 0.0, "27-52": 0.0, "53-": 3.0}, source="x"
            ),
        ),
        staff_cost("caseworkers", fte=2, annual_cost=550_000, years=[2022, 2023]),
        production_value(
            stated_effect(name="work", estimate=10.0, outcome_unit="full-time persons"),
            annual_wage=300_000,
            years=[2022, 2023],
        ),
    )
    return BusinessCase("t", lines, price_level="current", n_draws=100)


def test_payer_split_adds_up_to_society():
    case = _case()
    split = payer_split(case)
    payers = split.loc[["kommune", "region", "stat", "borger"]].sum(axis=0)
    assert split.loc["society"].to_numpy() == pytest.approx(payers.to_numpy(), rel=1e-12)
    # transfers cancel: society = production gained - caseworkers
    society = 10 * 300_000 * 1.28 * 2 - 2 * 2 * 550_000
    assert split.loc["society", "Total"] == pytest.approx(society, rel=1e-12)
    # the municipality's budget line is the case's municipal line, net of refusion,
    # less the kommuneskat that no longer comes back on the benefit
    taxes = TaxShares.danish()
    kh = case.lines[0]
    gross = sum(kh.effect.estimate * p for p in kh.gross_per_unit.values())
    wage_taxable = 10 * 300_000 * 2 * (1 - taxes.am_bidrag)
    kommune = -kh.total + taxes.kommune * gross - 2 * 2 * 550_000 + taxes.kommune * wage_taxable
    assert split.loc["kommune", "Total"] == pytest.approx(kommune, rel=1e-12)


def test_tax_distortion_from_the_1999_guidance():
    case = _case()
    split = payer_split(case, tax_distortion=0.2)
    public = split.loc[["kommune", "region", "stat"], "Total"].sum()
    assert split.loc["tax distortion", "Total"] == pytest.approx(0.2 * public, rel=1e-12)
    assert split.loc["society", "Total"] == pytest.approx(
        split.drop(index="society")["Total"].sum(), rel=1e-12
    )
