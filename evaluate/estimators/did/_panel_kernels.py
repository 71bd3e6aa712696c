"""Compiled passes that turn a long Callaway-Sant'Anna panel into wide arrays.

The common input is a balanced panel sorted by unit and period (how panels are
stored and simulated).  :func:`sorted_panel` recognises it in one pass over the
unit and time columns, which then give the unit and period codes without sorting,
hashing or a table of values; anything else returns 0 and the caller takes the
general route (:func:`~evaluate.estimators.did._cohorts.sorted_codes`).
:func:`first_change` finds the first unit whose values change over time, stopping
there (a time-varying covariate is usually seen at its first unit).
"""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True, nogil=True)
def _sorted_panel(units, times):  # pragma: no cover - compiled
    n = units.shape[0]
    n_t = 1
    while n_t < n and units[n_t] == units[0]:
        if not times[n_t] > times[n_t - 1]:
            return 0
        n_t += 1
    if n_t < 2 or n % n_t != 0:
        return 0
    for start in range(n_t, n, n_t):
        u = units[start]
        if not u > units[start - 1]:
            return 0
        for j in range(n_t):
            if units[start + j] != u or times[start + j] != times[j]:
                return 0
    return n_t


def sorted_panel(units: np.ndarray, times: np.ndarray) -> int:
    """The number of periods if the rows are a balanced panel sorted by unit then
    period (every unit's block holds the same strictly increasing periods, units
    strictly increasing), else 0.  Numbers only; no missing values."""
    if units.dtype.kind not in "iuf" or times.dtype.kind not in "iuf" or len(units) < 2:
        return 0
    return int(_sorted_panel(units, times))


@njit(cache=True, nogil=True)
def _first_change(table):  # pragma: no cover - compiled
    n, n_t, k = table.shape
    for i in range(n):
        for t in range(1, n_t):
            for j in range(k):
                if table[i, t, j] != table[i, 0, j]:
                    return i
    return -1


def first_change(table: np.ndarray) -> int:
    """The first unit (row of the ``units x periods x columns`` ``table``) whose
    values differ between periods, or -1 if none does (``NaN`` counts as a change,
    as ``==`` says)."""
    if table.ndim == 2:
        table = table[:, :, None]
    return int(_first_change(table))


@njit(cache=True, nogil=True)
def _changes_in(table, keep):  # pragma: no cover - compiled
    n, n_t = table.shape
    for i in range(n):  # in memory order, not in the (cohort) order of the output
        if keep[i]:
            first = table[i, 0]
            for t in range(1, n_t):
                if table[i, t] != first:
                    return True
    return False


@njit(cache=True, nogil=True)
def _gather(table, order, periods, out):  # pragma: no cover - compiled
    for i in range(order.shape[0]):
        r = order[i]
        for p in range(periods.shape[0]):
            out[i, p] = table[r, periods[p]]


def wide_columns(
    tables: list[np.ndarray], order: np.ndarray, periods: np.ndarray, *, static: bool = False
) -> np.ndarray:
    """``units x periods x columns``: rows ``order`` and columns ``periods`` of each
    ``units x periods`` table, in one compiled pass per column (a new C-contiguous
    array; the tables are only read).

    With ``static``, if no unit in ``order`` changes over time in any table, only
    the first period is kept (``units x 1 x columns``)."""
    if static:
        keep = np.zeros(len(tables[0]), dtype=np.bool_)
        keep[order] = True
    if static and not any(_changes_in(t, keep) for t in tables):
        periods = np.zeros(1, dtype=np.intp)
    out = np.empty((len(order), len(periods), len(tables)))
    for j, table in enumerate(tables):
        _gather(table, order, periods, out[:, :, j])
    return out


@njit(cache=True, nogil=True)
def _centre_scale(raw):  # pragma: no cover - compiled
    n, n_t, k = raw.shape
    total = np.zeros((n_t, k))
    for i in range(n):
        for t in range(n_t):
            for a in range(k):
                total[t, a] += raw[i, t, a]
    mean = total / n
    squares = np.zeros((n_t, k))
    for i in range(n):
        for t in range(n_t):
            for a in range(k):
                dev = raw[i, t, a] - mean[t, a]
                squares[t, a] += dev * dev
    return mean, np.sqrt(squares / n)


def centre_scale(raw: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``raw.mean(axis=0)`` and ``raw.std(axis=0)`` of a ``units x periods x columns``
    array in two compiled passes, without numpy's two ``units x periods x columns``
    temporaries (the same sums in the same order, so the same numbers).  A single
    column numpy sums pairwise; it is cheap and left to numpy."""
    if raw.shape[1] * raw.shape[2] == 1:
        return raw.mean(axis=0), raw.std(axis=0)
    return _centre_scale(raw)


@njit(cache=True, nogil=True)
def _first_fraction(values):  # pragma: no cover - compiled
    for i in range(values.shape[0]):
        v = values[i]
        if np.isfinite(v) and v != np.round(v):
            return i
    return -1


def first_fraction(values: np.ndarray) -> int:
    """Index of the first finite value that is not a whole number, or -1."""
    return int(_first_fraction(np.asarray(values, dtype=float)))


__all__ = ["centre_scale", "first_change", "first_fraction", "sorted_panel", "wide_columns"]
