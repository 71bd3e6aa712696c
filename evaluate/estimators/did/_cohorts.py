"""Which units are never treated: one rule for ``event_study`` and ``callaway_santanna``.

A cohort (adoption-period) column holds each unit's first treated period.  Both
designs read it through :func:`adoption_periods`, so a data set means the same in
both.  A cell marks a **never-treated** unit when it is

* blank: missing (``NaN``, ``None``) or a string of spaces (a blank CSV cell read as text);
* ``0`` (the convention of R ``did`` and Stata ``csdid``);
* ``+inf`` (R ``did``'s internal code, ``fixest::sunab``);
* one of the extra codes the caller lists (``event_study(never_treated=...)``).

Every other value is the first treated period.  Codes that could mean two things
are a :class:`~evaluate.errors.DataError`, never a guess:

* a never-treated code (``0`` or a listed one) that is also a period of the time
  column after its first period: a unit could really adopt then, and would have
  untreated periods before it.  (As the first period it is harmless: a unit
  treated from the start has no untreated period and is dropped either way.)
* a negative value when every period is non-negative (``-1`` or ``-999`` as a
  never-treated marker is common in other software);
* ``-inf`` and text other than blanks.

R ``did`` itself drops rows whose cohort is ``NA`` (with a warning); here a blank
is read as never treated and counted, so the caller can say so in the result.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from evaluate.errors import DataError
from evaluate.limits import check_magnitude


def _num(v: float) -> int | float:
    return int(v) if float(v).is_integer() else float(v)


def adoption_periods(
    values: pd.Series,
    column: str,
    times: np.ndarray,
    never_treated: Sequence[float] = (),
) -> tuple[np.ndarray, np.ndarray, int]:
    """Adoption periods of ``values`` (a cohort column), with never-treated units marked.

    Parameters
    ----------
    values : the cohort column (any dtype; never modified).
    column : its name, for messages.
    times : the periods of the data (any order, repeats allowed).
    never_treated : extra codes for never-treated units besides blank, 0 and inf.

    Returns
    -------
    (g, never, n_blank)
        ``g``: float array, the adoption period, ``nan`` where never treated;
        ``never``: bool array; ``n_blank``: how many cells were blank.

    Examples
    --------
    >>> g, never, blank = adoption_periods(pd.Series([2004, 0, None, float("inf")]),
    ...                                    "g", np.array([2003, 2004, 2005]))
    >>> g.tolist(), never.tolist(), blank
    ([2004.0, nan, nan, nan], [False, True, True, True], 1)
    """
    raw = values
    if raw.dtype == object or pd.api.types.is_string_dtype(raw):
        stripped = raw.map(lambda v: v.strip() if isinstance(v, str) else v)
        raw = stripped.mask(stripped.map(lambda v: isinstance(v, str) and v == ""))
        numeric = pd.to_numeric(raw, errors="coerce")
        bad = raw.notna() & numeric.isna()
        if bad.any():
            raise DataError(
                f"Column {column!r} must be numeric (the first treated period, blank or 0 "
                f"for never treated); found {raw[bad].iloc[0]!r}. Convert it with "
                "pandas.to_numeric, or fix the non-numeric entries."
            )
        raw = numeric
    elif not (pd.api.types.is_numeric_dtype(raw) and not pd.api.types.is_bool_dtype(raw)):
        raise DataError(
            f"Column {column!r} must be numeric (the first treated period, blank or 0 for "
            f"never treated) but has dtype {raw.dtype}."
        )
    g = raw.to_numpy(dtype=float, na_value=np.nan)
    blank = np.isnan(g)
    check_magnitude(pd.Series(g, index=values.index), column, allow_inf=True)  # NaN passes
    if np.any(g == -np.inf):
        raise DataError(
            f"Column {column!r} holds -inf; code never-treated units as blank, 0 or inf."
        )
    periods = np.sort(pd.unique(np.asarray(times, dtype=float).ravel()))  # hashing: O(n)
    codes = {0.0, *(float(c) for c in never_treated)}
    for code in sorted(codes):
        if np.any(g == code) and np.any(periods[1:] == code):
            raise DataError(
                f"Column {column!r} uses {_num(code)} for never-treated units, but "
                f"{_num(code)} is also a period of the data after its first period "
                f"{_num(periods[0])}, so it could be a real adoption period. Code "
                "never-treated units as blank (missing) or inf instead."
            )
    never = blank | np.isin(g, list(codes)) | (g == np.inf)
    if periods.size and periods.min() >= 0:
        negative = ~never & (g < 0)
        if negative.any():
            raise DataError(
                f"Column {column!r} has negative values (e.g. {_num(g[negative][0])}) but "
                "every period is non-negative. It must hold the first treated period; "
                "leave the cell blank (or 0) for never-treated units."
            )
    return np.where(never, np.nan, g), never, int(blank.sum())


def sorted_codes(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``np.unique(values, return_inverse=True)`` in linear time (no missing values).

    ``np.unique`` sorts all ``n`` values: a second at 5M rows, the largest cost of a
    Callaway-Sant'Anna fit before this existed.  Whole numbers spanning a range not
    much wider than ``n`` (periods, integer unit ids) are coded through a table of
    the range instead; anything else (text labels, wide or fractional values) by
    pandas' hash-based ``factorize(sort=True)``.  Same values, same codes.
    """
    values = np.asarray(values)
    n = len(values)
    if n and values.dtype.kind in "iuf":
        lo, hi = values.min(), values.max()
        span = float(hi) - float(lo)
        if np.isfinite(span) and span <= 4 * n + 1024:
            if values.dtype.kind == "f":
                offset = values - lo
            else:  # in int64: a narrow type could overflow in the subtraction
                offset = values.astype(np.int64, copy=False) - np.int64(lo)
            k = offset.astype(np.intp, copy=False)
            if values.dtype.kind != "f" or np.array_equal(k, offset):
                present = np.zeros(int(span) + 1, dtype=bool)
                present[k] = True
                lookup = np.cumsum(present) - 1
                uniques = (np.flatnonzero(present) + lo).astype(values.dtype)
                return uniques, lookup[k]
    codes, uniques = pd.factorize(values, sort=True)
    return np.asarray(uniques), codes.astype(np.intp)


__all__ = ["adoption_periods", "sorted_codes"]
