"""Calendar periods for the staggered designs: dates, Periods and period text to numbers.

Kommune data come monthly or quarterly, with the period as a date (``2023-01-01``),
a pandas Period (``2023-01``) or text read from a CSV (``"2023-01"``, ``"2023M01"``,
``"2023K1"``, ``"2023Q1"``).  ``callaway_santanna``, ``event_study`` and
``imputation_did`` count periods with whole numbers (event time = period minus
cohort), so :func:`calendar_frame` numbers the time column and the cohort column
on one regular calendar before they run:

* integer (and other numeric) periods are returned untouched: no number changes;
* Periods keep their frequency; dates are monthly when every date is the same day
  of its month (or the first, or the last), then quarterly or yearly when they are
  all 3 or 12 months apart; otherwise weekly when all are whole weeks apart, else
  daily; text is read by :func:`evaluate.data.periods.parse_periods` (dates as text
  go the way of dates);
* periods are counted on the calendar, not by rank: a missing month is a missing
  period number.  Period numbers start at 1 (the earliest time or cohort), so 0
  never looks like the never-treated code;
* a cohort cell that is blank (NaN, NaT, None, spaces) stays blank, ``0``, ``inf``
  or one of ``never_treated`` becomes ``0``: never treated either way;
* mixed kinds of value, periods with no common step, or a cohort off the time
  column's calendar are a :class:`~evaluate.errors.DataError` that names the
  column and the first bad value.

:class:`Calendar` turns the numbers back into the user's labels (``"2022-11"``,
``"2023K1"``) for the results.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from evaluate.data.periods import base_frequency as _base
from evaluate.data.periods import parse_periods, period_label
from evaluate.errors import DataError
from evaluate.text import Text

_DAYS = ("MON", "TUE", "WED", "THU", "FRI", "SAT", "SUN")
_NAMES = {"M": "monthly", "Q": "quarterly", "Y": "yearly", "W": "weekly", "D": "daily"}
_UNITS = {"M": "month", "Q": "quarter", "Y": "year", "W": "week", "D": "day"}
_PLURAL = {"M": "months", "Q": "quarters", "Y": "years", "W": "weeks", "D": "days"}
_HOW = (
    "Give every period in one form (dates, pandas Periods, or text such as "
    '"2023-01", "2023M01", "2023K1"), or number the periods with whole numbers '
    "(1, 2, ...) and give the cohorts in the same numbers."
)


@dataclass(frozen=True)
class Calendar:
    """A regular calendar: period number ``n`` is the period of ordinal ``n + offset``.

    ``freq`` is the pandas frequency (``"M"``, ``"Q-DEC"``, ``"Y-DEC"``, ``"W-SUN"``,
    ``"D"``); ``style`` how labels are written: ``"period"`` (pandas' own, e.g.
    ``"2023-01"``, ``"2023Q1"``), ``"statbank"`` (``"2023M01"``, ``"2023K1"``) or
    ``"date"`` (weeks and days as their first date, ``"2023-01-02"``).
    """

    column: str
    freq: str
    offset: int
    style: str = "period"

    @property
    def base(self) -> str:
        """``"M"``, ``"Q"``, ``"Y"``, ``"W"`` or ``"D"``."""
        return _base(self.freq)

    @property
    def name(self) -> str:
        """``"monthly"``, ``"quarterly"``, ``"yearly"``, ``"weekly"`` or ``"daily"``."""
        return _NAMES[self.base]

    def period(self, number: float) -> pd.Period:
        return pd.Period(ordinal=int(number) + self.offset, freq=self.freq)

    def label(self, number: Any) -> Any:
        """The period ``number`` as the user writes it; non-finite values pass."""
        if not isinstance(number, (int, float, np.integer, np.floating)) or not math.isfinite(
            number
        ):
            return number
        p = self.period(number)
        if self.style == "statbank" and self.base in "MQ":
            return f"{p.year}M{p.month:02d}" if self.base == "M" else f"{p.year}K{p.quarter}"
        if self.base == "W":
            return str(p.start_time.date()) if self.style == "date" else period_label(p)
        return str(p)

    def labels(self, numbers: Any) -> list[Any]:
        return [self.label(v) for v in np.asarray(numbers).tolist()]

    def note(self, first: float, last: float) -> Text:
        """The note a result carries: which calendar was read, and what event times count."""
        return Text(
            "calendar.note",
            "Column {column} holds {kind} periods ({first} to {last}); event times count "
            "{unit} since adoption.",
            column=self.column,
            kind=Text(f"calendar.{self.name}", self.name),
            first=str(self.label(first)),
            last=str(self.label(last)),
            unit=Text(f"calendar.unit_{self.base}", _PLURAL[self.base]),
        )


def label_of(calendar: Calendar | None, number: float) -> Any:
    """A period or cohort number as a warning or error prints it.

    On a calendar the user's label (``"2022-07"``; ``0``, never treated, stays ``0``),
    otherwise the number as today (``2004``, not ``2004.0``).
    """
    whole = int(number) if float(number).is_integer() else float(number)
    return whole if calendar is None or whole == 0 else calendar.label(whole)


def is_calendar(values: pd.Series) -> bool:
    """Whether ``values`` hold calendar periods (anything but numbers and booleans)."""
    return not (pd.api.types.is_numeric_dtype(values) or pd.api.types.is_bool_dtype(values))


# --------------------------------------------------------------------------- reading
def _kind(value: Any) -> str:
    if isinstance(value, pd.Period):
        return "period"
    if isinstance(value, (pd.Timestamp, dt.date, np.datetime64)):
        return "date"
    if isinstance(value, str):
        return "text"
    return type(value).__name__


def _blank(value: Any) -> bool:
    if value is None or value is pd.NaT:
        return True
    if isinstance(value, str):
        return value.strip() == ""
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def _first_other(values: Any, kind: str) -> Any:
    for v in values:
        if not _blank(v) and _kind(v) != kind:
            return v
    return None


def _as_stamps(values: pd.Series, column: str) -> pd.Series:
    """Dates (datetime64 or date objects) as naive timestamps; a time of day is an error."""
    try:
        stamps = pd.to_datetime(values)
    except (TypeError, ValueError) as err:
        raise DataError(
            f"Column {column!r} holds dates pandas cannot read ({err}). {_HOW}"
        ) from None
    if stamps.dt.tz is not None:
        stamps = stamps.dt.tz_localize(None)
    timed = stamps[stamps.notna() & (stamps != stamps.dt.normalize())]
    if len(timed):
        raise DataError(
            f"Column {column!r}: {timed.iloc[0]} has a time of day; periods are days, weeks, "
            f"months, quarters or years. Drop the time (Series.dt.normalize()) first."
        )
    return stamps


def _gcd(ordinals: np.ndarray) -> int:
    steps = np.diff(np.unique(ordinals))
    return int(np.gcd.reduce(steps)) if steps.size else 1


def _day_rule(stamps: pd.Series) -> str | None:
    if (stamps.dt.day == 1).all():
        return "first"
    if stamps.dt.is_month_end.all():
        return "last"
    return "same" if stamps.dt.day.nunique() == 1 else None


@dataclass(frozen=True)
class _DateRule:
    """How the dates of a time column sit on their calendar (to test cohort dates)."""

    freq: str
    day: str | None  # "first", "last", "same" (month-based calendars), None for W / D
    day_of_month: int = 0
    month_mod: int = 0  # month position in the quarter (Q) or the month (Y)

    def on_calendar(self, stamp: pd.Timestamp) -> bool:
        base = _base(self.freq)
        if base in "WD":
            return base == "D" or pd.Period(stamp, freq=self.freq).start_time == stamp
        day_ok = {
            "first": stamp.day == 1,
            "last": stamp.is_month_end,
            "same": stamp.day == self.day_of_month,
        }[self.day or "first"]
        months = stamp.year * 12 + stamp.month - 1
        step = {"M": 1, "Q": 3, "Y": 12}[base]
        return bool(day_ok) and months % step == self.month_mod


def _date_rule(stamps: pd.Series, column: str) -> _DateRule:
    present = stamps.dropna()
    rule = _day_rule(present)
    if rule is not None:
        months = (present.dt.year * 12 + present.dt.month - 1).to_numpy()
        step = _gcd(months)
        day = int(present.iloc[0].day) if rule == "same" else 0
        for freq, size in (("Y-DEC", 12), ("Q-DEC", 3)):
            if step % size == 0 and len(np.unique(months % size)) == 1:
                return _DateRule(freq, rule, day, int(months[0] % size))
        return _DateRule("M", rule, day, 0)
    days = (present - pd.Timestamp("1970-01-05")).dt.days.to_numpy()  # a Monday
    if _gcd(days) % 7 == 0:
        return _DateRule(f"W-{_DAYS[(int(days[0]) - 1) % 7]}", None)
    return _DateRule("D", None)


def _read_time(values: pd.Series, column: str) -> tuple[pd.Series, str, _DateRule | None]:
    """``values`` as Periods of one frequency, the label style, and (for dates) the rule."""
    if pd.api.types.is_datetime64_any_dtype(values):
        stamps = _as_stamps(values, column)
        rule = _date_rule(stamps, column)
        return stamps.dt.to_period(rule.freq), "date", rule
    if isinstance(values.dtype, pd.PeriodDtype):
        return values, "period", None
    # every distinct value is read once and mapped back by its code: a column of
    # millions of rows holds a few hundred periods (blanks get code -1)
    codes, uniques = pd.factorize(values)  # in order of appearance; arrow text stays arrow
    distinct = uniques.tolist()
    kinds = {_kind(v) for v in distinct if not _blank(v)}
    if len(kinds) > 1:
        first = _kind(next(v for v in distinct if not _blank(v)))
        bad = _first_other(distinct, first)
        raise DataError(
            f"Column {column!r} mixes kinds of value: {bad!r} ({_kind(bad)}) among "
            f"{first} values. {_HOW}"
        )
    kind = kinds.pop() if kinds else "text"
    present = [None if _blank(v) else v for v in distinct]
    if kind == "date":
        stamps = _as_stamps(pd.Series(present, dtype=object), column)
        return _read_time(_back(stamps, codes, values.index), column)
    if kind == "period":
        freqs = {v.freqstr for v in present if v is not None}
        if len(freqs) > 1:
            raise DataError(f"Column {column!r} mixes Period frequencies {sorted(freqs)}. {_HOW}")
        periods = pd.Series(present, dtype=pd.PeriodDtype(freqs.pop()))
        return _back(periods, codes, values.index), "period", None
    if kind != "text":
        bad = next(v for v in present if v is not None)
        raise DataError(f"Column {column!r} holds {bad!r} ({kind}), not a period. {_HOW}")
    text = pd.Series([v if v is None else v.strip() for v in present], dtype=object)
    periods = _back(parse_periods(text, column), codes, values.index)  # a DataError names it
    if text.dropna().str.fullmatch(r"\d{4}-\d{2}-\d{2}").all():  # dates as text: as dates
        return _read_time(periods.dt.to_timestamp(), column)
    sample = text.dropna().iloc[0] if text.notna().any() else ""
    style = "statbank" if re.match(r"^\d{4}(M\d|K)", str(sample), re.I) else "period"
    return periods, style, None


def _back(distinct: pd.Series, codes: np.ndarray, index: pd.Index) -> pd.Series:
    """The values read for the distinct labels, one per row again (code -1: missing)."""
    return pd.Series(distinct.array.take(codes, allow_fill=True), index=index)


# --------------------------------------------------------------------------- front door
def calendar_frame(
    data: pd.DataFrame,
    time: str,
    cohort: str,
    never_treated: Sequence[Any] = (),
) -> tuple[pd.DataFrame, Calendar | None]:
    """``data`` with ``time`` and ``cohort`` as period numbers, and the calendar read.

    Numeric time columns return ``(data, None)`` unchanged (the caller's frame
    itself: the designs treat it as before).  Otherwise a new frame is returned
    (``data`` is never modified) whose ``time`` holds period numbers 1, 2, ...
    on the calendar and whose ``cohort`` holds the same numbers, blank where
    blank and 0 where ``0``, ``inf`` or a ``never_treated`` value marks a
    never-treated unit.

    Examples
    --------
    >>> frame = pd.DataFrame({"month": ["2023M01", "2023M02", "2023M04"],
    ...                       "first": ["2023M02", None, "0"]})
    >>> out, cal = calendar_frame(frame, "month", "first")
    >>> out["month"].tolist(), out["first"].tolist(), cal.name, cal.label(4)
    ([1, 2, 4], [2.0, nan, 0.0], 'monthly', '2023M04')
    """
    if time not in data.columns or cohort not in data.columns or not is_calendar(data[time]):
        return data, None
    periods, style, rule = _read_time(data[time], time)
    freq = pd.Period(ordinal=0, freq=periods.dtype.freq).freqstr  # 'M', not the offset's 'ME'
    ordinals = periods.array.asi8
    present = ~periods.isna().to_numpy()
    if not present.any():
        raise DataError(f"Column {time!r} has no periods.")
    known = np.unique(ordinals[present])
    step = _gcd(known)
    if known.size > 1 and not np.any(np.diff(known) == step):
        a, b = (pd.Period(ordinal=int(o), freq=freq) for o in known[:2])
        raise DataError(
            f"Periods in {time!r} are irregularly spaced: no two periods are {step} "
            f"{_UNITS[_base(freq)]}(s) apart (e.g. {period_label(a)!r} and "
            f"{period_label(b)!r}), so they share no calendar. Aggregate to a regular "
            "calendar (months, quarters) or number the periods 1, 2, ... yourself."
        )
    g_ord, g_state = _read_cohort(data[cohort], cohort, time, freq, rule, never_treated)
    treated = g_state == 2
    offset = int(min(known[0], g_ord[treated].min() if treated.any() else known[0])) - 1
    numbers = ordinals - offset
    t_out = (
        pd.Series(numbers, index=data.index, dtype=np.int64)
        if present.all()
        else pd.Series(np.where(present, numbers, np.nan), index=data.index)
    )
    g_out = np.where(treated, g_ord - offset, np.where(g_state == 1, 0.0, np.nan))
    out = data.assign(**{time: t_out, cohort: pd.Series(g_out, index=data.index)})
    return out, Calendar(time, freq, offset, style if rule is None else "date")


def _read_cohort(
    values: pd.Series,
    column: str,
    time: str,
    freq: str,
    rule: _DateRule | None,
    never_treated: Sequence[Any],
) -> tuple[np.ndarray, np.ndarray]:
    """Ordinals of the cohort column and a state per row: 0 blank, 1 never, 2 treated."""
    never_codes = {0, float("inf"), *never_treated}
    never_text = {str(c).strip().lower() for c in never_codes} | {"0", "inf"}
    codes, distinct = pd.factorize(values)  # blanks (NaN, NaT, None) get code -1
    found = [_one_cohort(v, column, time, freq, rule, never_codes, never_text) for v in distinct]
    table = np.array([*found, (0, 0)], dtype=np.int64).reshape(-1, 2)  # last row: blank
    state, ordinal = table[codes, 0].astype(np.int8), table[codes, 1]
    return ordinal, state


def _one_cohort(v, column, time, freq, rule, never_codes, never_text) -> tuple[int, int]:
    if _blank(v):
        return 0, 0
    if isinstance(v, str) and v.strip().lower() in never_text:
        return 1, 0
    if isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool):
        if v in never_codes:
            return 1, 0
        raise DataError(
            f"Column {column!r} holds the number {v!r}, but {time!r} holds {_NAMES[_base(freq)]} "
            f"periods; give the first treated period in the same form as {time!r} "
            "(blank or 0 for never treated)."
        )
    if v in never_codes:
        return 1, 0
    try:
        if isinstance(v, pd.Period):
            p = v
        elif isinstance(v, (pd.Timestamp, dt.date, np.datetime64)) or rule is not None:
            stamp = pd.Timestamp(v.strip() if isinstance(v, str) else v)
            if rule is not None and not rule.on_calendar(stamp.normalize()):
                raise _OffCalendar
            p = pd.Period(stamp, freq=freq)
        else:
            p = parse_periods(pd.Series([v]), column).iloc[0]
    except _OffCalendar:
        p = None
    except (DataError, TypeError, ValueError) as err:
        raise DataError(
            f"Column {column!r}: {v!r} is not a period ({str(err).rstrip('.')}). {_HOW}"
        ) from None
    if p is None or _base(p.freqstr) != _base(freq) or p.freqstr != freq and _base(freq) == "W":
        raise DataError(
            f"Column {column!r}: {v!r} is not on the {_NAMES[_base(freq)]} calendar of {time!r}; "
            f"give each unit's first treated period as one of the periods of {time!r} "
            "(blank or 0 for never treated)."
        )
    return 2, int(p.ordinal if p.freqstr == freq else p.asfreq(freq).ordinal)


class _OffCalendar(Exception):
    pass


def relabel(frame: pd.DataFrame, calendar: Calendar | None, columns: Sequence[str]) -> pd.DataFrame:
    """A copy of ``frame`` with ``columns`` (period numbers) as calendar labels."""
    if calendar is None:
        return frame
    return frame.assign(**{c: calendar.labels(frame[c]) for c in columns if c in frame.columns})


__all__ = ["Calendar", "calendar_frame", "is_calendar", "label_of", "relabel"]
