"""Compiled single passes (and lookup tables) behind ``prepare_records``.

Validation of a register touches every row several times (ids, weeks, order,
duplicates, gaps); as NumPy expressions each check is a pass with temporaries,
and together they cost more than the whole derivation.  Each function here is one
pass and returns what the NumPy code computed; the error messages stay in
``register.py``.  ``tests/data/test_register.py`` checks the results on ordered,
unordered, duplicated and gapped data.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from numba import njit


@njit(cache=True, nogil=True)
def sorted_codes(values):
    """Codes ``0..k-1`` of non-decreasing ``values`` and the ``k`` distinct values;
    ``ok`` is False (and the rest unusable) if ``values`` ever decrease."""
    n = values.size
    codes = np.empty(n, np.int64)
    distinct = np.empty(n, values.dtype)
    k = -1
    for i in range(n):
        if i > 0 and values[i] < values[i - 1]:
            return False, codes, distinct[:0].copy()
        if i == 0 or values[i] != values[i - 1]:
            k += 1
            distinct[k] = values[i]
        codes[i] = k
    return True, codes, distinct[: k + 1].copy()


@njit(cache=True, nogil=True)
def lookup(values, table, lo):
    """``table[values - lo]`` and the number of entries that are negative (invalid)."""
    n = values.size
    out = np.empty(n, table.dtype)
    bad = 0
    for i in range(n):
        v = table[values[i] - lo]
        out[i] = v
        if v < 0:
            bad += 1
    return out, bad


@njit(cache=True, nogil=True)
def ordered(person, week):
    """True if rows are sorted by person, then week (ties allowed)."""
    for i in range(1, person.size):
        if person[i] < person[i - 1]:
            return False
        if person[i] == person[i - 1] and week[i] < week[i - 1]:
            return False
    return True


@njit(cache=True, nogil=True)
def duplicates_and_gaps(person, week):
    """For rows sorted by person and week: number of duplicate person-weeks and the
    row of the first (its predecessor's position), number of gaps inside histories,
    the weeks they miss, and the row before the first gap (-1 where none)."""
    n_dup, first_dup, n_gap, gap_weeks, first_gap = 0, -1, 0, 0, -1
    for i in range(1, person.size):
        if person[i] != person[i - 1]:
            continue
        step = week[i] - week[i - 1]
        if step == 0:
            if n_dup == 0:
                first_dup = i - 1
            n_dup += 1
        elif step > 1:
            if n_gap == 0:
                first_gap = i - 1
            n_gap += 1
            gap_weeks += step - 1
    return n_dup, first_dup, n_gap, gap_weeks, first_gap


@njit(cache=True, nogil=True)
def encode_clean(person, week, status, mun, wlut, wlo, slut, slo, mlo, has_mun, pid_out,
                 wk_out, ben_out, mun_out, present, distinct):  # fmt: skip
    """The fast path of ``prepare_records``: one pass that encodes clean records.

    Clean means: sorted by person, each person's weeks consecutive (step exactly
    1: no duplicates, gaps or disorder), every week valid (``wlut`` >= 0: the
    week-index table over yyyyww codes from ``wlo``, with -1 for invalid, out of
    window and future weeks) and every status code known (``slut`` from ``slo``).
    Writes person codes (rank of the sorted ids, ``distinct`` the ids), week
    indices, benefit ids and municipality offsets from ``mlo`` (marking
    ``present``).  Returns ``(ok, k)``: ``ok`` False at the first row that is not
    clean (the caller then runs the NumPy checks, which name the problem), ``k``
    the number of distinct persons.
    """
    n = person.size
    k = -1
    for i in range(n):
        p = person[i]
        w = wlut[week[i] - wlo]
        b = slut[status[i] - slo]
        if w < 0 or b < 0:
            return False, 0
        if i > 0 and p == person[i - 1]:
            if w != wk_out[i - 1] + 1:
                return False, 0
        elif i > 0 and p < person[i - 1]:
            return False, 0
        else:
            k += 1
            distinct[k] = p
        pid_out[i] = k
        wk_out[i] = w
        ben_out[i] = b
        if has_mun:
            m = mun[i] - mlo
            mun_out[i] = m
            present[m] = True
        else:
            mun_out[i] = 0
    return True, k + 1


@njit(cache=True, nogil=True)
def remap(values, table):
    """``values[i] = table[values[i]]`` in place."""
    for i in range(values.size):
        values[i] = table[values[i]]


def status_table(codes: Any, lo: int, hi: int) -> tuple[np.ndarray, int] | None:
    """Benefit id of every status code from ``min(lo, codes)`` to ``max(hi, codes)``
    (int16, -1 where unknown) and that first code, or None when the codes span too
    wide a range for a dense table."""
    table = codes.frame["code"].to_numpy("int64")
    lo, hi = min(lo, int(table.min())), max(hi, int(table.max()))
    if hi - lo >= 10_000_000:
        return None
    ids = codes.benefits.set_index("benefit")["benefit_id"]
    lut = np.full(hi - lo + 1, -1, dtype="int16")
    lut[table - lo] = ids.loc[codes.frame["benefit"]].to_numpy("int16")
    return lut, lo


def int_column(data: pd.DataFrame, col: str) -> np.ndarray | None:
    """The column as a NumPy integer array (no missing values possible), else None.
    Not uint64: numba would mix it with int64 as floats."""
    dtype = data[col].dtype
    if isinstance(dtype, np.dtype) and dtype.kind in "iu" and dtype.str[1:] != "u8":
        return data[col].to_numpy()
    return None
