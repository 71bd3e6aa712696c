"""Periods read once, in the data layer: "2021-01", "2021M01", "2021K1", "2021U05".

Danish statistics write a period in several ways: ISO months ("2021-01"),
Danmarks Statistik's StatBank codes ("2021M01" for a month, "2021K1" for a quarter,
"2021U05" for a week), Jobindsats' ISO weeks ("2021-W05"), dates ("2021-01-01") and
pandas Periods.  :func:`parse_periods` turns a column of any one of them into
pandas Periods of one frequency, so every design sorts, spaces and plots the
periods as time.  Anything it cannot read ("03/2019", "2019-13", a month next to a
quarter) is a :class:`~evaluate.errors.DataError` naming the column and the
value: a typo never becomes an extra period.

>>> parse_period("2021K1")
Period('2021Q1', 'Q-DEC')
>>> parse_period("2021U05")
Period('2021-02-01/2021-02-07', 'W-SUN')
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pandas as pd

from evaluate.errors import DataError, SpecError

#: (pattern, frequency); the first match wins
_FORMS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"^(\d{4})-(\d{1,2})$"), "M"),  # ISO month
    (re.compile(r"^(\d{4})M(\d{1,2})$", re.I), "M"),  # StatBank month
    (re.compile(r"^(\d{4})[KQ](\d)$", re.I), "Q"),  # StatBank (K) or English (Q) quarter
    (re.compile(r"^(\d{4})-?[UW](\d{1,2})$", re.I), "W"),  # StatBank (U) or ISO (W) week
    (re.compile(r"^(\d{4})-(\d{2})-(\d{2})$"), "D"),  # ISO date
    (re.compile(r"^(\d{4})$"), "Y"),
)
WEEK = "W-SUN"
"""ISO weeks run Monday to Sunday: a pandas week ending on Sunday."""

FORMATS = (
    '"2021-01", "2021M01" (month), "2021K1" (quarter), "2021U05" or "2021-W05" (week), '
    '"2021-01-31" (date) or "2021" (year)'
)


class _Unreadable(ValueError):
    """A value no period form reads; the message says why."""


def _from_text(text: str) -> pd.Period:
    text = text.strip()
    for pattern, freq in _FORMS:
        match = pattern.match(text)
        if match is None:
            continue
        numbers = [int(g) for g in match.groups()]
        year = numbers[0]
        if freq == "M":
            if not 1 <= numbers[1] <= 12:
                raise _Unreadable(f"month {numbers[1]} does not exist")
            return pd.Period(year=year, month=numbers[1], freq="M")
        if freq == "Q":
            if not 1 <= numbers[1] <= 4:
                raise _Unreadable(f"quarter {numbers[1]} does not exist")
            return pd.Period(year=year, quarter=numbers[1], freq="Q")
        if freq == "W":
            try:
                monday = dt.date.fromisocalendar(year, numbers[1], 1)
            except ValueError:
                raise _Unreadable(f"{year} has no ISO week {numbers[1]}") from None
            return pd.Period(monday, freq=WEEK)
        if freq == "D":
            try:
                day = dt.date(*numbers)
            except ValueError as err:
                raise _Unreadable(f"no such date ({err})") from None
            return pd.Period(day, freq="D")
        return pd.Period(year=year, freq="Y")
    raise _Unreadable("not a period in a form evaluate reads")


def base_frequency(freq: str) -> str:
    """'M', 'Q', 'W', 'D' or 'Y' for a pandas period frequency string."""
    code = freq.upper()
    if code.startswith("W"):
        return "W"
    return {"A": "Y", "QE": "Q", "ME": "M", "YE": "Y"}.get(code.split("-")[0], code[:1])


def _as_period(value: Any) -> pd.Period:
    if isinstance(value, pd.Period):
        return value
    if isinstance(value, pd.Timestamp | dt.datetime | dt.date):
        stamp = pd.Timestamp(value)
        if stamp != stamp.normalize():
            raise _Unreadable("a time of day, not a period")
        return pd.Period(stamp, freq="D")
    if isinstance(value, str):
        return _from_text(value)
    if isinstance(value, int) and not isinstance(value, bool) and 1000 <= value <= 9999:
        return pd.Period(year=value, freq="Y")
    raise _Unreadable(f"{type(value).__name__} is not a kind of period")


def _monthly_if_firsts(periods: list[pd.Period]) -> str | None:
    """Dates that are all the first of a month are months (a common export)."""
    if periods and all(p.day == 1 for p in periods):
        return "M"
    return None


def parse_periods(values: pd.Series, column: str) -> pd.Series:
    """The periods of ``values`` (text, dates or Periods) as pandas Periods of one frequency.

    Integer columns (years, period numbers) are returned unchanged: the designs
    read them as they are.  Missing values stay missing.  Dates that are all the
    first of a month become months; other dates stay days.  A value that is no
    period, or a column that mixes frequencies, is a :class:`DataError` naming
    ``column`` and the value.  The input is not modified.

    Examples
    --------
    >>> parse_periods(pd.Series(["2021M01", "2021M02"]), "month").tolist()
    [Period('2021-01', 'M'), Period('2021-02', 'M')]
    """
    if pd.api.types.is_bool_dtype(values):
        raise DataError(f"Column {column!r} holds true/false values, not periods.")
    if pd.api.types.is_integer_dtype(values):
        return values
    if pd.api.types.is_float_dtype(values):
        whole = values.dropna()
        if (whole == whole.round()).all():
            return values  # integers with a missing value read as floats
        bad = whole[whole != whole.round()].iloc[0]
        raise DataError(
            f"Column {column!r} holds the number {bad!r}, which is no period; periods are "
            f"{FORMATS}, or whole numbers."
        )
    if isinstance(values.dtype, pd.PeriodDtype):
        return values
    if pd.api.types.is_datetime64_any_dtype(values):
        return _from_dates(values, column)
    present = values.dropna()
    distinct = pd.unique(present)
    parsed: dict[Any, pd.Period] = {}
    for value in distinct:
        try:
            parsed[value] = _as_period(value)
        except _Unreadable as why:
            raise DataError(
                f"Column {column!r}: {value!r} is not a period ({why}). Periods are "
                f"{FORMATS}; fix the value or remove the row."
            ) from None
    freqs = {base_frequency(p.freqstr) for p in parsed.values()}
    if freqs == {"D"}:
        month = _monthly_if_firsts(list(parsed.values()))
        if month:
            parsed = {k: p.asfreq("M") for k, p in parsed.items()}
            freqs = {"M"}
    if len(freqs) > 1:
        examples = {}
        for value, period in parsed.items():
            examples.setdefault(base_frequency(period.freqstr), value)
        shown = ", ".join(f"{v!r} ({_NAMES[f]})" for f, v in sorted(examples.items()))
        raise DataError(
            f"Column {column!r} mixes kinds of period: {shown}. Use one kind throughout."
        )
    result = values.map(parsed, na_action="ignore")
    freq = next(iter(parsed.values())).freq if parsed else "M"
    return result.astype(pd.PeriodDtype(freq))


def _from_dates(values: pd.Series, column: str) -> pd.Series:
    stamps = values.dt.tz_localize(None) if values.dt.tz is not None else values
    present = stamps.dropna()
    timed = present[present != present.dt.normalize()]
    if len(timed):
        raise DataError(
            f"Column {column!r}: {timed.iloc[0]} has a time of day; periods are days, weeks, "
            "months, quarters or years."
        )
    freq = "M" if (present.dt.day == 1).all() else "D"
    return stamps.dt.to_period(freq)


_NAMES = {"M": "month", "Q": "quarter", "W": "week", "D": "day", "Y": "year"}


def parse_period(value: Any, freq: str | None = None, *, what: str = "period") -> pd.Period:
    """One period (e.g. a spec's ``start``) read like :func:`parse_periods`, in ``freq``.

    ``freq`` is the frequency of the data's period column; a value of another
    kind (a year where the data have months) is a :class:`SpecError` that shows a
    period of the right kind.  A first-of-month date is read as its month when
    ``freq`` is monthly.
    """
    try:
        period = _as_period(value)
    except _Unreadable as why:
        raise SpecError(
            f"{what} {value!r} is not a period ({why}); write it as {FORMATS}."
        ) from None
    if freq is None:
        return period
    want = base_frequency(freq)
    have = base_frequency(period.freqstr)
    if have == "D" and want == "M" and period.day == 1:
        return period.asfreq("M")
    if have != want:
        example = _EXAMPLES[want]
        raise SpecError(
            f"{what} {value!r} is a {_NAMES[have]}, but the data's periods are "
            f"{_NAMES[want]}s; write it like {example!r}."
        )
    return pd.Period(period, freq=freq)


_EXAMPLES = {"M": "2021-01", "Q": "2021K1", "W": "2021-W05", "D": "2021-01-31", "Y": "2021"}


def period_label(period: pd.Period) -> str:
    """A period as people write it: "2021-01", "2021K1", "2021-W05", "2021-01-31", "2021"."""
    base = base_frequency(period.freqstr)
    if base == "Q":
        return f"{period.year}K{period.quarter}"
    if base == "W":
        year, week, _ = period.start_time.isocalendar()
        return f"{year}-W{week:02d}"
    return str(period)


__all__ = ["FORMATS", "WEEK", "base_frequency", "parse_period", "parse_periods", "period_label"]
