"""Time series in: one validated, sorted series with its start (and end) period.

The time-series designs (trend forecast, interrupted time series, model
forecasts) take one row per period.  :func:`prepare_series` runs the checks they
share, so each design states only what is special to it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from evaluate.data.validate import check_columns, check_frame, check_no_duplicates, check_numeric
from evaluate.data.validate import drop_missing as _drop_missing
from evaluate.errors import DataError, DesignError, SpecError


def time_positions(time: pd.Series) -> np.ndarray:
    """Numeric time positions: period ordinals, or the integers themselves."""
    if isinstance(time.dtype, pd.PeriodDtype):
        return np.array([p.ordinal for p in time], dtype=float)
    return time.to_numpy(dtype=float)


def coerce_time(frame: pd.DataFrame, column: str, start: Any, end: Any):
    """Time as a monthly/quarterly Period or integer column, and start/end alike."""
    time = frame[column]
    if pd.api.types.is_datetime64_any_dtype(time):
        time = time.dt.to_period("M")
    elif pd.api.types.is_object_dtype(time) or pd.api.types.is_string_dtype(time):
        try:
            time = pd.PeriodIndex(time.astype(str), freq="M").to_series(index=time.index)
        except (ValueError, TypeError) as err:
            raise DataError(
                f"Column {column!r} must hold periods, dates or integers; "
                f"could not read {time.iloc[0]!r} as a month ({err})."
            ) from None
    elif not pd.api.types.is_integer_dtype(time) and not isinstance(time.dtype, pd.PeriodDtype):
        raise DataError(
            f"Column {column!r} has dtype {time.dtype}; use periods (pd.Period), dates "
            "or integer period numbers."
        )

    def like(value: Any, what: str) -> Any:
        if value is None:
            return None
        if isinstance(time.dtype, pd.PeriodDtype):
            try:
                return pd.Period(value, freq=time.dtype.freq)
            except (ValueError, TypeError):
                raise SpecError(f"{what} {value!r} is not a period like {time.iloc[0]}.") from None
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
            raise SpecError(f"{what} {value!r} must be an integer period like {time.iloc[0]}.")
        return int(value)

    return time, like(start, "start"), like(end, "end")


@dataclass(frozen=True, eq=False)
class Series:
    """A validated series: rows sorted by ``times``, within ``end`` when one was given."""

    frame: pd.DataFrame
    times: pd.Series
    start: Any
    end: Any
    n_dropped: int


def prepare_series(
    data: pd.DataFrame,
    *,
    time: str,
    columns: Sequence[str],
    start: Any,
    end: Any = None,
    drop_missing: bool = False,
    stacklevel: int = 4,
) -> Series:
    """Check, sort and cut a one-row-per-period frame for a time-series design.

    ``columns`` must be numeric and finite; rows with a missing value are an error
    or, with ``drop_missing``, dropped and counted; periods must be unique and the
    ``start`` must fall inside the data (after the first period, no later than the
    last one kept).  The caller's frame is not modified.
    """
    check_frame(data)
    check_columns(data, [time, *columns])
    for column in columns:
        check_numeric(data, column)
    frame = data[[time, *columns]]
    if frame[time].isna().any():
        raise DataError(f"Column {time!r} has missing periods; every row needs a period.")
    frame, n_dropped = _drop_missing(
        frame, list(columns), allow=drop_missing, stacklevel=stacklevel
    )
    check_no_duplicates(frame, [time])
    times, start_p, end_p = coerce_time(frame, time, start, end)
    order = np.argsort(time_positions(times), kind="stable")
    frame, times = frame.iloc[order], times.iloc[order]
    for column in columns:
        if not np.isfinite(frame[column].to_numpy(dtype=float)).all():
            raise DataError(f"Column {column!r} has infinite values; remove or fix them.")
    if end_p is not None:
        keep = (times <= end_p).to_numpy()
        frame, times = frame[keep], times[keep]
    if len(times) == 0 or not times.iloc[0] < start_p <= times.iloc[-1]:
        first, last = (times.iloc[0], times.iloc[-1]) if len(times) else ("-", "-")
        raise DesignError(
            f"start {start_p} must lie after the first period {first} and no later "
            f"than the last period {last} of the data."
        )
    return Series(frame, times, start_p, end_p, n_dropped)
