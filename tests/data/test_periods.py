"""Issue 13 item 2: periods read once, in every form Danish statistics write them."""

from __future__ import annotations

import pandas as pd
import pytest

from evaluate.data.periods import parse_period, parse_periods, period_label
from evaluate.errors import DataError, SpecError

M, Q, W = "M", "Q-DEC", "W-SUN"


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        (["2021-01", "2021-12"], pd.PeriodIndex(["2021-01", "2021-12"], freq=M)),
        (["2021M01", "2021M12"], pd.PeriodIndex(["2021-01", "2021-12"], freq=M)),
        (["2021K1", "2021K4"], pd.PeriodIndex(["2021Q1", "2021Q4"], freq=Q)),
        (["2021Q1", "2021Q4"], pd.PeriodIndex(["2021Q1", "2021Q4"], freq=Q)),
        # ISO week 5 of 2021 runs Monday 1 February to Sunday 7 February
        (["2021U05", "2021U06"], pd.PeriodIndex(["2021-02-01", "2021-02-08"], freq=W)),
        (["2021-W05", "2021-W06"], pd.PeriodIndex(["2021-02-01", "2021-02-08"], freq=W)),
        # ISO week 53 of 2020 starts on 28 December 2020
        (["2020-W53", "2021-W01"], pd.PeriodIndex(["2020-12-28", "2021-01-04"], freq=W)),
        (["2021-01-01", "2021-02-01"], pd.PeriodIndex(["2021-01", "2021-02"], freq=M)),
        (["2021-01-15", "2021-02-03"], pd.PeriodIndex(["2021-01-15", "2021-02-03"], freq="D")),
        (["2019", "2020"], pd.PeriodIndex(["2019", "2020"], freq="Y")),
    ],
)
def test_each_form_parses_to_periods(values, expected):
    parsed = parse_periods(pd.Series(values), "period")
    assert list(parsed) == list(expected)


def test_dates_pandas_periods_and_integers():
    dates = pd.Series(pd.to_datetime(["2021-01-01", "2021-02-01"]))
    assert list(parse_periods(dates, "d")) == list(pd.period_range("2021-01", periods=2, freq=M))
    periods = pd.Series(pd.period_range("2021Q1", periods=3, freq="Q"))
    assert parse_periods(periods, "q") is periods
    years = pd.Series([2018, 2019])
    assert parse_periods(years, "year") is years  # whole numbers stay as they are


def test_missing_periods_stay_missing_and_input_is_not_modified():
    values = pd.Series(["2021M01", None, "2021M03"])
    before = values.copy()
    parsed = parse_periods(values, "month")
    assert parsed.isna().tolist() == [False, True, False]
    pd.testing.assert_series_equal(values, before)


@pytest.mark.parametrize(
    ("bad", "why"),
    [
        ("03/2019", "not a period"),
        ("2019-13", "month 13 does not exist"),
        ("2021K5", "quarter 5"),
        ("2021-W53", "no ISO week 53"),
        ("2021-02-30", "no such date"),
        ("januar 2021", "not a period"),
    ],
)
def test_an_unreadable_period_names_column_and_value(bad, why):
    values = pd.Series(["2019-01", bad, "2019-03"])
    with pytest.raises(DataError, match=why) as info:
        parse_periods(values, "maaned")
    assert "'maaned'" in str(info.value) and repr(bad) in str(info.value)


def test_a_column_mixing_kinds_of_period_is_an_error():
    with pytest.raises(DataError, match=r"mixes kinds of period: '2021-01' \(month\), '2021K1'"):
        parse_periods(pd.Series(["2021-01", "2021K1"]), "period")


def test_an_option_is_read_in_the_frequency_of_the_data():
    assert parse_period("2021M07", "M") == pd.Period("2021-07", freq=M)
    assert parse_period("2021-07-01", "M") == pd.Period("2021-07", freq=M)
    assert parse_period(2021, "Y") == pd.Period("2021", freq="Y")
    with pytest.raises(SpecError, match="is a year, but the data's periods are months"):
        parse_period("2021", "M")
    with pytest.raises(SpecError, match="start = '2021-02-30' is not a period"):
        parse_period("2021-02-30", "M", what="start =")


def test_labels_as_people_write_them():
    assert period_label(pd.Period("2021Q3", freq="Q")) == "2021K3"
    assert period_label(parse_period("2021U05")) == "2021-W05"
    assert period_label(pd.Period("2021-03", freq="M")) == "2021-03"
