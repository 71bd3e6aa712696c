"""Compiled single passes behind :func:`evaluate.data.register.prepare_records`.

Validation of a register touches every row several times (ids, weeks, order,
duplicates, gaps); as NumPy expressions each check is a pass with temporaries,
and together they cost more than the whole derivation.  Each function here is one
pass and returns what the NumPy code computed; the error messages stay in
``register.py``.  ``tests/data/test_register.py`` checks the results on ordered,
unordered, duplicated and gapped data.
"""

from __future__ import annotations

import numpy as np
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
