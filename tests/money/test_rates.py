"""The bundled Danish rate tables against the sourced collection they are built from.

Reference: ``evaluate/money/data/source/rates_dk.csv`` (a verbatim copy of the
collection in ``../shared/data/danish_rates/``, every row with its URL).  Amounts
must match to the krone (tolerance 0); a satsreguleret year must equal the year
before times (1 + announced satsreguleringsprocent - fradrag) to 1e-9.
"""

import importlib.util
from importlib.resources import files
from pathlib import Path

import pandas as pd
import pytest

from evaluate.errors import RateError, ReformError
from evaluate.money import PriceIndex, RateTable
from evaluate.money.society import factor

SOURCE = files("evaluate.money") / "data" / "source" / "rates_dk.csv"
ROOT = Path(__file__).resolve().parents[2]


def _source() -> pd.DataFrame:
    with SOURCE.open("rb") as handle:
        return pd.read_csv(handle)


def _row(benefit: str, category: str, year: int, unit: str) -> pd.Series:
    src = _source()
    hit = src[
        (src["benefit"] == benefit)
        & (src["category"] == category)
        & (src["year"] == year)
        & (src["unit"] == unit)
    ]
    assert len(hit) == 1
    return hit.iloc[0]


@pytest.mark.parametrize(
    ("benefit", "category", "year", "unit", "key", "key_category"),
    [
        ("kontanthjælp", "fyldt 30 år, andre", 2014, "per month", "kontanthjaelp", None),
        ("kontanthjælp", "fyldt 30 år, forsørger", 2023, "per month", "kontanthjaelp", None),
        ("kontanthjælp", "fyldt 30 år, andre", 2021, "per month", "kontanthjaelp", None),
        ("sygedagpenge", "højeste sygedagpengebeløb", 2019, "per week", "sygedagpenge", None),
        ("arbejdsløshedsdagpenge", "fuldtidsforsikrede, højeste sats", 2016, "per day",
         "dagpenge", None),
        ("arbejdsløshedsdagpenge", "fuldtidsforsikrede, højeste sats", 2023, "per month",
         "dagpenge", None),
        ("ressourceforløbsydelse", "forsørger", 2022, "per month", "ressourceforloebsydelse",
         None),
        ("førtidspension", "enlige (efter nye regler)", 2023, "per month", "foertidspension",
         "enlige"),
        ("fleksydelse", "100 pct.", 2024, "per year", "fleksydelse", None),
        ("uddannelseshjælp", "under 25 år, udeboende", 2019, "per month", "uddannelseshjaelp",
         None),
        ("ledighedsydelse", "89 pct. af højeste dagpengesats", 2015, "per week",
         "ledighedsydelse", None),
    ],
)  # fmt: skip
def test_rates_match_the_source_rows_exactly(benefit, category, year, unit, key, key_category):
    src = _row(benefit, category, year, unit)
    rate = RateTable.danish().get(key, year, category=key_category or category)
    assert rate.amount == src["amount_dkk"]
    assert rate.per == unit.removeprefix("per ")
    assert rate.source == src["source_title"] and rate.source_url == src["source_url"]
    expected = (
        "official"
        if "bm.dk" in src["source_url"] or "retsinformation" in src["source_url"]
        else "secondary"
    )
    assert rate.grade == expected


def test_official_sources_win_over_secondary_ones():
    # ledighedsydelse 2014: bm.dk 3,625/week and Ringsted 15,708/month; bm.dk is kept.
    rate = RateTable.danish().get("ledighedsydelse", 2014)
    assert (rate.amount, rate.per, rate.grade) == (3625, "week", "official")
    # 2020: Herning (secondary) 16,984/month vs bm.dk ressourceforløbsydelse at
    # ledighedsydelse level 3,919/week (official): the official one is kept.
    rate = RateTable.danish().get("ledighedsydelse", 2020)
    assert (rate.amount, rate.per, rate.grade) == (3919, "week", "official")


def _sats() -> pd.DataFrame:
    with (files("evaluate.money") / "data" / "satsregulering_dk.csv").open("rb") as handle:
        return pd.read_csv(handle).set_index("year")


@pytest.mark.parametrize(
    ("key", "category", "year"),
    [
        ("kontanthjaelp", "fyldt 30 år, andre", 2019),
        ("kontanthjaelp", "fyldt 30 år, andre", 2022),
        ("ledighedsydelse", None, 2018),
        ("ledighedsydelse", None, 2019),
        ("foertidspension", "enlige", 2016),
    ],
)
def test_satsreguleret_years_are_flagged_and_equal_the_previous_year_regulated(key, category, year):
    table = RateTable.danish()
    rate = table.get(key, year, category=category)
    before = table.get(key, year - 1, category=category)
    sats = _sats().loc[year]
    assert rate.grade == "satsreguleret" and rate.filled_from == year - 1
    assert sats["status"] == "announced"
    assert rate.amount == pytest.approx(
        before.amount * (1 + (sats["pct"] - sats["fradrag"]) / 100), rel=1e-12
    )
    assert "FILLED BY SATSREGULERING" in rate.describe()


def test_the_fill_rule_reproduces_the_sourced_years():
    # The regulation rule (pct - fradrag) reproduces sourced consecutive years to the
    # krone: kontanthjælp 30+ 2016 -> 2017 -> 2018 (bm.dk, bm.dk, kk.dk).
    sats = _sats()
    table = RateTable.danish()
    for year in (2016, 2017, 2018):
        a = table.get("kontanthjaelp", year - 1, category="fyldt 30 år, forsørger").amount
        b = table.get("kontanthjaelp", year, category="fyldt 30 år, forsørger").amount
        reg = sats.loc[year, "pct"] - sats.loc[year, "fradrag"]
        assert round(a * (1 + reg / 100)) == b
    # A filled ledighedsydelse 2018 agrees with 89 % of the 2018 maximum dagpenge
    # (retsinformation), within 0.1 % (weekly rounding).
    ly = table.get("ledighedsydelse", 2018).annual
    assert ly == pytest.approx(0.89 * table.get("dagpenge", 2018).annual, rel=1e-3)


def test_forecasts_do_not_fill_and_gaps_stay_gaps():
    table = RateTable.danish()
    with pytest.raises(RateError, match=r"2014-2019, 2021-2024"):
        table.get("kontanthjaelp", 2020, category="fyldt 30 år, andre")  # no 2020 percentage
    assert _sats().loc[2023, "status"] == "forecast"


def test_reform_is_a_change_of_categories_not_a_continuation():
    table = RateTable.danish()
    with pytest.raises(ReformError, match="ended with the reform of 2025-07-01") as err:
        table.get("kontanthjaelp", 2026, category="fyldt 30 år, andre")
    assert "grundsats" in str(err.value) and "kontanthjaelp_tillaeg" in str(err.value)
    with pytest.raises(ReformError, match="exists only from 2025-07-01"):
        table.get("kontanthjaelp_tillaeg", 2024, category="tillæg til enlige forsørgere")
    with pytest.raises(ReformError, match="'uddannelseshjaelp' ended on 2025-07-01"):
        table.get("uddannelseshjaelp", 2026, category="under 25 år, udeboende")
    assert table.get("kontanthjaelp_tillaeg", 2025, category="tillæg til enlige forsørgere").amount
    assert issubclass(ReformError, RateError) and issubclass(RateError, ValueError)


def test_errors_list_what_exists():
    table = RateTable.danish()
    with pytest.raises(RateError, match="known benefits: dagpenge, .*sygedagpenge"):
        table.get("borgerløn", 2020)
    with pytest.raises(RateError, match="give category=.*'fyldt 30 år, andre' \\(2014-2019"):
        table.get("kontanthjælp", 2021)  # Danish spelling accepted, category required
    with pytest.raises(RateError, match="has no category 'over 30'.*'fyldt 30 år, forsørger'"):
        table.get("kontanthjaelp", 2021, category="over 30")


def test_old_keys_still_read():
    table = RateTable.danish()
    assert table.get("kontanthjaelp_30plus", 2024).amount == 12326
    assert table.get("kontanthjaelp_30plus_children", 2024).amount == 16382


def test_pl_index_and_factors_with_history():
    pl = PriceIndex.danish_pl()
    # ØS fastprisberegninger: 2019 general PL rise 1.3 %.
    assert pl.factor(2018, 2019) == pytest.approx(1.013, rel=1e-8)  # stored to 10 digits
    assert factor("net_tax_factor").value == 1.28
    assert factor("tax_distortion").value == 0.0  # June 2023 guidance: factor 1
    assert factor("tax_distortion", 2016).value == 0.20  # 1999 guidance, 'current' in 2016


def test_bundled_tables_are_the_build_script_output():
    spec = importlib.util.spec_from_file_location(
        "build_money_tables", ROOT / "scripts" / "build_money_tables.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    for name, frame in module.build().items():
        bundled = (files("evaluate.money") / "data" / name).read_text(encoding="utf-8")
        assert module._csv(frame) == bundled, name
