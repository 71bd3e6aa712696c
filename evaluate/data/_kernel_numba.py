"""numba version of the per-person kernel of :mod:`evaluate.data.kernel`.

One sequential pass per chunk of complete person histories computes what the
numpy backend computes with vectorised passes (the numpy version stays the
reference; ``tests/data/test_kernel_numba.py`` checks equality):

* refusion clock: counts weeks on public support; within an episode (from the
  first week on support) it resets to 0 at the first self-supporting week ``t``
  with at least ``reset_weeks`` self-supporting weeks in ``(max(t - window, s), t]``,
  ``s`` the episode's first week; the next week on support starts a new episode;
* refusion share (ppm), month, spell start week, spell end flag, previous benefit;
* or, with ``per_row=False``, the same quantities summarised in the same pass:
  person-weeks and refusion added into dense municipality x month x benefit
  cells, one row per spell and the cell of each transition
  (:func:`evaluate.data.kernel.summary_kernel`).

The off-week count over the window uses a running count of self-supporting
weeks since the person's first row, kept in a scratch array so the look-back
is O(1).  The function releases the GIL, so the caller's thread pool runs
chunks in parallel.
"""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(nogil=True, cache=True, inline="always")
def clock_step(on_support, i, off, episode, clock, pstart, window_weeks, reset_weeks, cum_off):
    """One week ``i`` of the refusion clock (the rule above); returns ``(off, episode, clock)``.

    ``off`` counts self-supporting weeks since the person's first row ``pstart`` and
    ``cum_off`` keeps it per row, so the look-back over the window is O(1).  Shared by
    the in-memory kernel and the streaming pass (:mod:`evaluate.data._stream_numba`).
    """
    if on_support:
        if episode < 0:
            episode = i
        clock += 1
    else:
        off += 1
        if episode >= 0:
            lo = max(i - window_weeks, episode)  # exclusive lower end of the window
            before = cum_off[lo] if lo >= pstart else 0
            if off - before >= reset_weeks:
                clock = 0
                episode = -1
    cum_off[i] = off
    return off, episode, clock


def _kernel(
    person: np.ndarray,
    week: np.ndarray,
    benefit: np.ndarray,
    municipality: np.ndarray,
    public: np.ndarray,
    refund: np.ndarray,
    table: np.ndarray,
    months: np.ndarray,
    w0: int,
    reset_weeks: int,
    window_weeks: int,
    per_row: bool,
    month_out: np.ndarray,
    clock_out: np.ndarray,
    ppm_out: np.ndarray,
    start_out: np.ndarray,
    end_out: np.ndarray,
    prev_out: np.ndarray,
    n_months: int,
    n_benefits: int,
    cell_weeks: np.ndarray,
    cell_ppm: np.ndarray,
    spells: np.ndarray,
    flows: np.ndarray,
) -> tuple[int, int]:
    """One pass over a chunk of complete person histories.

    ``per_row``: write the per person-week columns (``*_out``, length n).
    Otherwise summarise in the same pass: person-weeks and refusion (ppm) added
    into the dense cells ``(municipality, month, benefit)`` (``months`` then
    holds month *positions* 0..n_months-1), one row per spell into ``spells``
    (person, benefit, start week, end week) and the cell of each transition into
    ``flows``; returns the numbers of spells and transitions written.
    """
    n = person.size
    cum_off = np.empty(n, np.int32)  # off weeks in rows [person start, i]
    last = table.size - 1
    clock = 0
    off = 0
    pstart = 0
    episode = -1  # row where the current episode began, -1 outside an episode
    spell_week = 0
    n_spells = 0
    n_flows = 0
    for i in range(n):
        b = benefit[i]
        new_person = i == 0 or person[i] != person[i - 1]
        changed = False
        if not new_person:
            changed = b != benefit[i - 1]
        if i > 0 and (new_person or changed) and not per_row:
            spells[n_spells, 0] = person[i - 1]
            spells[n_spells, 1] = benefit[i - 1]
            spells[n_spells, 2] = spell_week
            spells[n_spells, 3] = week[i - 1]
            n_spells += 1
        if new_person:
            clock = 0
            off = 0
            pstart = i
            episode = -1
            spell_week = week[i]
            if per_row:
                prev_out[i] = -1
                if i > 0:
                    end_out[i - 1] = True
        else:
            if changed:
                spell_week = week[i]
            if per_row:
                prev_out[i] = benefit[i - 1]
                end_out[i - 1] = changed
        off, episode, clock = clock_step(
            public[b], i, off, episode, clock, pstart, window_weeks, reset_weeks, cum_off
        )
        ppm = table[min(clock, last)] if refund[b] else 0
        month = months[week[i] - w0]
        if per_row:
            start_out[i] = spell_week
            clock_out[i] = clock
            ppm_out[i] = ppm
            month_out[i] = month
        else:
            cell = (municipality[i] * n_months + month) * n_benefits + b
            cell_weeks[cell] += 1
            cell_ppm[cell] += ppm
            if changed:
                flows[n_flows] = cell * n_benefits + benefit[i - 1]
                n_flows += 1
    if n:
        if per_row:
            end_out[n - 1] = True
        else:
            spells[n_spells, 0] = person[n - 1]
            spells[n_spells, 1] = benefit[n - 1]
            spells[n_spells, 2] = spell_week
            spells[n_spells, 3] = week[n - 1]
            n_spells += 1
    return n_spells, n_flows


kernel_chunk = njit(nogil=True, cache=True)(_kernel)

__all__ = ["kernel_chunk"]
