"""The money studies reproduce the published figures of their cases."""

from pathlib import Path

import pytest

from evaluate.study import run_study

STUDIES = Path(__file__).parents[1] / "studies"


def test_koebenhavn_costs_and_switching_value():
    case = run_study(STUDIES / "koebenhavn_fleksjob.toml").business_cases["exante"]
    table = case.table()
    # BIIe Vision 2020, table 2 (1.000 kr., 2017 p/l): service 1,700 a year, assessment
    # 1,000 a year, 5,400 in all.
    costs = table.drop(index=["Saved cash benefit (assumption)", "Net"])
    assert costs["Total"].sum() == pytest.approx(5_400)
    assert costs["2017"].sum() == pytest.approx(2_700)
    # At 100,000 DKK per approval-year the costs are covered by 27 approvals a year,
    # far below the target of 150-200 (discounting moves it a little: 27.0).
    value, unit = case.break_even_effect
    assert unit == "persons"
    assert value == pytest.approx(2_700_000 / 100_000, rel=0.01)


def test_broendby_published_saving():
    result = run_study(STUDIES / "broendby_haandholdt.toml")
    assert result.effects["work"].estimate == 0.30
    case = result.business_cases["published"]
    assert case.net_gain == pytest.approx(3_800_000)
    assert case.break_even != case.break_even  # NaN: no costs were published


def test_solroed_saving_and_outcome_share():
    result = run_study(STUDIES / "solroed_business_case.toml")
    case = result.business_cases["insourcing"]
    assert case.table().loc["Køb af forløb hos ekstern leverandør, sparet", "Total"] == -2_360
    assert case.net_gain == pytest.approx(4 * 590_000)  # the transfer effect counts 0
    assert result.effects["work_share"].estimate == pytest.approx(106 / 285)
