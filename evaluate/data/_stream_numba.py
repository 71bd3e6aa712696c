"""Compiled passes of the Parquet streaming path (:mod:`evaluate.data._stream_arrow`).

:func:`derive_clean` validates raw register columns and derives in the same pass:
it is the summarising kernel of :mod:`evaluate.data._kernel_numba` (same rules,
same integer cells) reading ``yyyyww`` week codes and status codes through lookup
tables, and checking on the way what
:func:`~evaluate.data.register.prepare_records` checks.  At the first row that is
not clean (unknown code, invalid or future week, disorder, duplicate or gap) it
stops and reports the row; the caller undoes what it added (the same call with
``sign=-1`` over the rows before) and hands the chunk to ``prepare_records``,
whose error names the column and value (or whose repair is then derived).
``tests/data/test_stream_fast.py`` checks the results against the in-memory
derivation.
"""

from __future__ import annotations

from numba import njit

from evaluate.data._kernel_numba import clock_step


@njit(cache=True, nogil=True)
def derive_clean(hp, hw, hs, hm, person, week, status, mun, stop, wlut, wlo, slut, slo, mlo,
                 n_mun, months, w0, public, refund, table, reset_weeks, window_weeks, n_months,
                 n_ben, sign, cell_weeks, cell_ppm, dense, flow_cells, flow_ids, sp_person,
                 sp_ben, sp_start, sp_end, cum_off):  # fmt: skip
    """One pass over rows ``0..stop-1`` of complete person histories.

    The rows are the head ``hp, hw, hs, hm`` (a person carried over from the
    previous row group) followed by ``person, week, status, mun``, read in place.
    ``person``: raw ids; ``week``: ``yyyyww`` codes, ``wlut[week - wlo]`` their week
    index (-1: invalid, future or outside the window); ``status``: codes,
    ``slut[status - slo]`` the benefit id (-1: unknown); ``mun``: municipality
    codes.  Adds ``sign`` times the person-weeks and refusion (ppm) into the cells
    ``(mun * n_months + month) * n_ben + benefit``, each transition into
    ``flow_cells[cell * n_ben + from]`` (``dense``) or its id into ``flow_ids``;
    writes one row per spell (id, benefit, first and last week index).

    Returns ``(bad_row, n_spells, n_flows)``; ``bad_row`` is -1 when every row was
    clean, else the first row that is not (rows before it were added).
    """
    last = table.size - 1
    n_wlut = wlut.size
    n_slut = slut.size
    clock = 0
    off = 0
    pstart = 0
    episode = -1
    spell_week = 0
    n_spells = 0
    n_flows = 0
    nh = hp.size
    prev_p = 0
    prev_w = 0
    prev_b = 0
    for i in range(stop):
        if i < nh:
            p = hp[i]
            wc = hw[i] - wlo
            sc = hs[i] - slo
            m = hm[i] - mlo
        else:
            k = i - nh
            p = person[k]
            wc = week[k] - wlo
            sc = status[k] - slo
            m = mun[k] - mlo
        if wc < 0 or wc >= n_wlut or sc < 0 or sc >= n_slut or m < 0 or m >= n_mun:
            return i, n_spells, n_flows
        w = wlut[wc]
        b = slut[sc]
        if w < 0 or b < 0:
            return i, n_spells, n_flows
        new_person = i == 0 or p != prev_p
        changed = False
        if not new_person:
            if w != prev_w + 1:  # duplicate, gap or disorder
                return i, n_spells, n_flows
            changed = b != prev_b
        elif i > 0 and p < prev_p:
            return i, n_spells, n_flows
        if i > 0 and (new_person or changed):
            sp_person[n_spells] = prev_p
            sp_ben[n_spells] = prev_b
            sp_start[n_spells] = spell_week
            sp_end[n_spells] = prev_w
            n_spells += 1
        if new_person:
            clock = 0
            off = 0
            pstart = i
            episode = -1
            spell_week = w
        elif changed:
            spell_week = w
        off, episode, clock = clock_step(
            public[b], i, off, episode, clock, pstart, window_weeks, reset_weeks, cum_off
        )
        ppm = table[min(clock, last)] if refund[b] else 0
        cell = (m * n_months + months[w - w0]) * n_ben + b
        cell_weeks[cell] += sign
        cell_ppm[cell] += sign * ppm
        if changed:
            if dense:
                flow_cells[cell * n_ben + prev_b] += sign
            else:
                flow_ids[n_flows] = cell * n_ben + prev_b
                n_flows += 1
        prev_p = p
        prev_w = w
        prev_b = b
    if stop > 0:
        sp_person[n_spells] = prev_p
        sp_ben[n_spells] = prev_b
        sp_start[n_spells] = spell_week
        sp_end[n_spells] = prev_w
        n_spells += 1
    return -1, n_spells, n_flows


@njit(cache=True, nogil=True)
def map_codes(values, lut, lo, out):
    """``out[i] = lut[values[i] - lo]``; returns how many were -1 (not yet coded)."""
    miss = 0
    for i in range(values.size):
        c = lut[values[i] - lo]
        out[i] = c
        if c < 0:
            miss += 1
    return miss


@njit(cache=True, nogil=True)
def tail_start(person, bound):
    """Start of the run of ``bound`` that ends ``person`` (``person.size`` if none).

    Exact for sorted rows; rows out of order fail the kernel's order check, and
    the caller then checks that no row of ``bound`` stayed behind."""
    j = person.size
    while j > 0 and person[j - 1] == bound:
        j -= 1
    return j
