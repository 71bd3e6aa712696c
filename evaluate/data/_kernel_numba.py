"""Optional numba version of the per-person kernel of :mod:`evaluate.data.derive`.

One sequential pass per chunk of complete person histories computes what the
numpy kernel computes with vectorised passes (the numpy version stays the
reference and the fallback; ``tests/data/test_kernel_numba.py`` checks equality):

* refusion clock: counts weeks on public support; within an episode (from the
  first week on support) it resets to 0 at the first self-supporting week ``t``
  with at least ``reset_weeks`` self-supporting weeks in ``(max(t - window, s), t]``,
  ``s`` the episode's first week; the next week on support starts a new episode;
* refusion share (ppm), month, spell start week, spell end flag, previous benefit.

The off-week count over the window uses a running count of self-supporting
weeks since the person's first row, kept in a scratch array so the look-back
is O(1).  The function releases the GIL, so the caller's thread pool runs
chunks in parallel.
"""

from __future__ import annotations

import numpy as np

try:  # numba is optional: without it derive.py uses the numpy kernel
    from numba import njit

    AVAILABLE = True
except ImportError:  # pragma: no cover - depends on the environment
    AVAILABLE = False


def _kernel(
    person: np.ndarray,
    week: np.ndarray,
    benefit: np.ndarray,
    public: np.ndarray,
    refund: np.ndarray,
    table: np.ndarray,
    months: np.ndarray,
    w0: int,
    reset_weeks: int,
    window_weeks: int,
    month_out: np.ndarray,
    clock_out: np.ndarray,
    ppm_out: np.ndarray,
    start_out: np.ndarray,
    end_out: np.ndarray,
    prev_out: np.ndarray,
) -> None:
    n = person.size
    cum_off = np.empty(n, np.int32)  # off weeks in rows [person start, i]
    last = table.size - 1
    clock = 0
    off = 0
    pstart = 0
    episode = -1  # row where the current episode began, -1 outside an episode
    spell_week = 0
    for i in range(n):
        b = benefit[i]
        new_person = i == 0 or person[i] != person[i - 1]
        if new_person:
            clock = 0
            off = 0
            pstart = i
            episode = -1
            prev_out[i] = -1
            spell_week = week[i]
            if i > 0:
                end_out[i - 1] = True
        else:
            prev_out[i] = benefit[i - 1]
            changed = b != benefit[i - 1]
            if changed:
                spell_week = week[i]
            end_out[i - 1] = changed
        start_out[i] = spell_week
        if public[b]:
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
        clock_out[i] = clock
        ppm_out[i] = table[min(clock, last)] if refund[b] else 0
        month_out[i] = months[week[i] - w0]
    if n:
        end_out[n - 1] = True


if AVAILABLE:
    kernel_chunk = njit(nogil=True, cache=True)(_kernel)
else:  # pragma: no cover
    kernel_chunk = None


__all__ = ["AVAILABLE", "kernel_chunk"]
