"""numba passes over the rows of a panel for :mod:`evaluate.estimators.did._within`.

Each function is one sequential pass over the ``n`` rows (codes read once, every
column handled in the same pass), so absorbing fixed effects costs a handful of
memory sweeps instead of sparse matrix products or pandas group-bys.  The numpy
formulas in ``_within`` stay the specification; ``tests/estimators/did/test_twfe_fe.py``
checks these against them and against pyfixest.
"""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True, nogil=True)
def dense_codes(values, lo, span, sort):  # pragma: no cover - compiled
    """Codes of integer ``values`` in ``[lo, lo + span)``: in order of first
    appearance (``sort=False``, as ``pd.factorize``) or of value (``sort=True``).
    Returns the codes and the levels (values) in code order."""
    n = values.shape[0]
    table = np.full(span, -1, dtype=np.int64)
    codes = np.empty(n, dtype=np.intp)
    if sort:
        for i in range(n):
            table[values[i] - lo] = 0
        k = 0
        for j in range(span):
            if table[j] == 0:
                table[j] = k
                k += 1
        levels = np.empty(k, dtype=np.int64)
        for j in range(span):
            if table[j] >= 0:
                levels[table[j]] = j + lo
        for i in range(n):
            codes[i] = table[values[i] - lo]
        return codes, levels
    k = 0
    levels = np.empty(min(span, n), dtype=np.int64)
    for i in range(n):
        j = values[i] - lo
        c = table[j]
        if c < 0:
            c = k
            table[j] = k
            levels[k] = values[i]
            k += 1
        codes[i] = c
    return codes, levels[:k]


@njit(cache=True, nogil=True)
def is_grid(unit, time, n_times):  # pragma: no cover - compiled
    """Rows ordered by unit, then period, every pair present (balanced, sorted)."""
    n = unit.shape[0]
    for i in range(n):
        if unit[i] != i // n_times or time[i] != i % n_times:
            return False
    return True


@njit(cache=True, nogil=True)
def first_duplicate(unit, time, n_units, n_times):  # pragma: no cover - compiled
    """Number of unit-period pairs seen more than once and the smallest such key."""
    seen = np.zeros(n_units * n_times, dtype=np.uint8)
    n_dup = 0
    first = -1
    for i in range(unit.shape[0]):
        key = unit[i] * n_times + time[i]
        if seen[key] == 1:
            n_dup += 1
            seen[key] = 2
            if first < 0 or key < first:
                first = key
        elif seen[key] == 0:
            seen[key] = 1
    return n_dup, first


@njit(cache=True, nogil=True)
def treatment_timing(unit, time, d, n_units, never):  # pragma: no cover - compiled
    """Each unit's first treated period code (``never`` if none) and whether some unit
    is untreated in a period after one where it was treated."""
    first_on = np.full(n_units, never, dtype=np.int64)
    last_off = np.full(n_units, -1, dtype=np.int64)
    for i in range(unit.shape[0]):
        u = unit[i]
        t = time[i]
        if d[i] > 0:
            if t < first_on[u]:
                first_on[u] = t
        elif t > last_off[u]:
            last_off[u] = t
    switches = False
    for u in range(n_units):
        if last_off[u] > first_on[u]:
            switches = True
    return first_on, switches


@njit(cache=True, nogil=True)
def group_sums(codes, x, n_levels):  # pragma: no cover - compiled
    """(n_levels, q) sums of the rows of ``x`` (n, q) within each code."""
    q = x.shape[1]
    out = np.zeros((n_levels, q))
    for i in range(codes.shape[0]):
        c = codes[i]
        for j in range(q):
            out[c, j] += x[i, j]
    return out


@njit(cache=True, nogil=True)
def demean_and_project(unit, other, x, unit_mean, out, m):  # pragma: no cover - compiled
    """``out = x - unit_mean[unit]`` and the sums of ``out`` within each level of
    the other fixed effects (``other`` (n, K) holds global level indices)."""
    q = x.shape[1]
    b = np.zeros((m, q))
    for i in range(unit.shape[0]):
        u = unit[i]
        for j in range(q):
            v = x[i, j] - unit_mean[u, j]
            out[i, j] = v
            for k in range(other.shape[1]):
                b[other[i, k], j] += v
    return b


@njit(cache=True, nogil=True)
def incidence_times(unit, other, p, n_units):  # pragma: no cover - compiled
    """``C p``: for each unit the sum over its rows of ``sum_k p[other[i, k]]``."""
    q = p.shape[1]
    z = np.zeros((n_units, q))
    for i in range(unit.shape[0]):
        u = unit[i]
        for k in range(other.shape[1]):
            lv = other[i, k]
            for j in range(q):
                z[u, j] += p[lv, j]
    return z


@njit(cache=True, nogil=True)
def project_back(unit, other, p, unit_mean, m):  # pragma: no cover - compiled
    """``Z' (Z p - unit means of Z p)`` with ``Z`` the dummies of the other effects:
    for each level the sum over its rows of ``sum_k p[other[i, k]] - unit_mean[unit]``
    (``unit_mean`` from :func:`incidence_times` divided by the unit sizes)."""
    q = p.shape[1]
    out = np.zeros((m, q))
    for i in range(unit.shape[0]):
        u = unit[i]
        for j in range(q):
            v = -unit_mean[u, j]
            for k in range(other.shape[1]):
                v += p[other[i, k], j]
            for k in range(other.shape[1]):
                out[other[i, k], j] += v
    return out


@njit(cache=True, nogil=True)
def cross_counts(other, m):  # pragma: no cover - compiled
    """``Z'Z`` of the dummies of the other effects (diagonal with a single effect)."""
    out = np.zeros((m, m))
    for i in range(other.shape[0]):
        for k in range(other.shape[1]):
            for h in range(other.shape[1]):
                out[other[i, k], other[i, h]] += 1.0
    return out


@njit(cache=True, nogil=True)
def remove_fitted(unit, other, gamma, gamma_unit_mean, out):  # pragma: no cover - compiled
    """``out -= sum_k gamma[other[:, k]] - gamma_unit_mean[unit]`` in place."""
    q = out.shape[1]
    for i in range(unit.shape[0]):
        u = unit[i]
        for j in range(q):
            g = 0.0
            for k in range(other.shape[1]):
                g += gamma[other[i, k], j]
            out[i, j] -= g - gamma_unit_mean[u, j]


@njit(cache=True, nogil=True)
def sums_and_incidence(unit, other, x, n_units, m, c):  # pragma: no cover - compiled
    """One pass for the dense solve: sums of ``x - x[0]`` (shifted, so that a large
    common level does not cancel later) within each unit and each level of the other
    effects, the row counts of both, and the unit x level counts ``c`` (zeroed by
    the caller)."""
    q = x.shape[1]
    unit_sums = np.zeros((n_units, q))
    level_sums = np.zeros((m, q))
    unit_counts = np.zeros(n_units)
    level_counts = np.zeros(m)
    shift = np.empty(q)
    for j in range(q):
        shift[j] = x[0, j] if x.shape[0] else 0.0
    for i in range(unit.shape[0]):
        u = unit[i]
        unit_counts[u] += 1.0
        for j in range(q):
            unit_sums[u, j] += x[i, j] - shift[j]
        for k in range(other.shape[1]):
            lv = other[i, k]
            level_counts[lv] += 1.0
            c[u, lv] += 1.0
            for j in range(q):
                level_sums[lv, j] += x[i, j] - shift[j]
    return unit_sums, level_sums, unit_counts, level_counts, shift


@njit(cache=True, nogil=True)
def subtract_effects(unit, other, x, shift, unit_part, gamma, out):  # pragma: no cover
    """``out = x - shift - unit_part[unit] - sum_k gamma[other[:, k]]`` in one pass."""
    q = x.shape[1]
    for i in range(unit.shape[0]):
        u = unit[i]
        for j in range(q):
            g = x[i, j] - shift[j] - unit_part[u, j]
            for k in range(other.shape[1]):
                g -= gamma[other[i, k], j]
            out[i, j] = g


@njit(cache=True, nogil=True)
def schur_diagonal(unit, other, unit_counts, m):  # pragma: no cover - compiled
    """``count_l - sum_{rows in l} 1 / n_unit``: the diagonal of the Schur complement
    when each unit meets each level at most once (a preconditioner otherwise)."""
    out = np.zeros(m)
    for i in range(unit.shape[0]):
        w = 1.0 - 1.0 / unit_counts[unit[i]]
        for k in range(other.shape[1]):
            out[other[i, k]] += w
    return out


@njit(cache=True, nogil=True)
def nested_in(a, b, n_a):  # pragma: no cover - compiled
    """Whether every level of codes ``a`` meets a single level of codes ``b``."""
    seen = np.full(n_a, -1, dtype=np.int64)
    for i in range(a.shape[0]):
        s = seen[a[i]]
        if s < 0:
            seen[a[i]] = b[i]
        elif s != b[i]:
            return False
    return True


@njit(cache=True, nogil=True)
def weighted_incidence_gram(c, unit_counts):  # pragma: no cover - compiled
    """``C' diag(1 / n_unit) C`` of the dense unit x level incidence ``c``.

    A unit seen at most levels adds ``w c_u c_u'`` through its complement
    ``e_u = 1 - c_u``: ``c_u c_u' = 11' - 1 e_u' - e_u 1' + e_u e_u'``, so only the
    levels it misses cost work (none on a balanced panel); a unit seen at few levels
    adds its own outer product.  Either way the cost is the smaller count squared,
    not ``m^2`` per unit as in the dense product.
    """
    n_u, m = c.shape
    direct = np.zeros((m, m))  # sum of w c_u c_u' over units taken directly
    comp = np.zeros((m, m))  # sum of w e_u e_u' over units taken by complement
    v = np.zeros(m)  # sum of w e_u over the same
    s = 0.0  # sum of w over the same
    idx = np.empty(m, dtype=np.intp)
    val = np.empty(m)
    for u in range(n_u):
        w = 1.0 / unit_counts[u]
        n_on = 0
        for a in range(m):
            if c[u, a] != 0.0:
                n_on += 1
        if 2 * n_on <= m:
            k = 0
            for a in range(m):
                if c[u, a] != 0.0:
                    idx[k] = a
                    val[k] = c[u, a]
                    k += 1
            acc = direct
        else:
            s += w
            k = 0
            for a in range(m):
                e = 1.0 - c[u, a]
                if e != 0.0:
                    idx[k] = a
                    val[k] = e
                    k += 1
                    v[a] += w * e
            acc = comp
        for p in range(k):
            wp = w * val[p]
            for r in range(k):
                acc[idx[p], idx[r]] += wp * val[r]
    for a in range(m):
        for b in range(m):
            direct[a, b] += s - v[a] - v[b] + comp[a, b]
    return direct


@njit(cache=True, nogil=True)
def treated_cell_sums(unit, time, d, first, eps, n_times):  # pragma: no cover - compiled
    """Over the treated rows (``d == 1``): row counts and sums of ``eps`` by cohort x
    period cell (key ``first[unit] * n_times + time``), their number and their sum."""
    n_obs = np.zeros(n_times * n_times, dtype=np.int64)
    sums = np.zeros(n_times * n_times)
    n1 = 0
    total = 0.0
    for i in range(unit.shape[0]):
        if d[i] == 1.0:
            key = first[unit[i]] * n_times + time[i]
            n_obs[key] += 1
            sums[key] += eps[i]
            n1 += 1
            total += eps[i]
    return n_obs, sums, n1, total


@njit(cache=True, nogil=True)
def std(y):  # pragma: no cover - compiled
    """Population standard deviation of ``y`` (as ``np.std``) in two passes, no temporaries."""
    n = y.shape[0]
    if n == 0:
        return np.nan
    total = 0.0
    for i in range(n):
        total += y[i]
    mean = total / n
    ss = 0.0
    for i in range(n):
        ss += (y[i] - mean) ** 2
    return np.sqrt(ss / n)


@njit(cache=True, nogil=True)
def pair_codes(a, b, n_a, n_b):  # pragma: no cover - compiled
    """Codes ``0..L-1`` of the pairs ``(a, b)`` (codes of two effects, ``a`` in
    ``0..n_a-1`` and ``b`` in ``0..n_b-1``) in order of first appearance, as
    ``pd.factorize(a * n_b + b)``, and their number ``L``."""
    table = np.full(n_a * n_b, -1, dtype=np.int64)
    codes = np.empty(a.shape[0], dtype=np.intp)
    k = 0
    for i in range(a.shape[0]):
        key = a[i] * n_b + b[i]
        c = table[key]
        if c < 0:
            c = k
            table[key] = k
            k += 1
        codes[i] = c
    return codes, k


@njit(cache=True, nogil=True)
def any_nonzero_by_group(codes, x, n_groups):  # pragma: no cover - compiled
    """Whether each group (codes ``0..n_groups-1``) has a row with ``x != 0``."""
    out = np.zeros(n_groups, dtype=np.bool_)
    for i in range(codes.shape[0]):
        if x[i] != 0.0:
            out[codes[i]] = True
    return out
