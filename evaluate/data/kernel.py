"""The per-person kernel of the register derivations: one pass over sorted histories.

A kernel is a pure function of complete person histories (columns ``person,
week, benefit, municipality`` as integer codes, sorted by person and week, each
person's weeks consecutive).  Two shapes:

:func:`person_week_kernel`
    the per person-week columns: ``month``, the refusion ``clock`` with its
    reset, ``refusion_ppm``, ``spell_start``, ``spell_end`` and ``prev_benefit``.
:func:`summary_kernel`
    the same quantities summarised in the same pass into three small *partial*
    tables that any engine combines by plain sums (:mod:`evaluate.data.derive`):
    ``spells`` (one row per spell), ``ftp_cells`` (person-weeks and refusion per
    municipality x month x benefit) and ``flow_cells`` (transitions per
    municipality x month x from x to).  Partials of different chunks, threads or
    Spark partitions add up exactly (integer counts), so the per person-week
    rows never have to be materialised: this is what makes the derivation run
    at the speed of one pass over the data.

Each has two backends with identical results: ``"numba"`` (one compiled
sequential pass, :mod:`evaluate.data._kernel_numba`) and ``"numpy"``
(vectorised passes, the reference); ``tests/data/test_kernel_numba.py`` checks
them against each other column for column and table for table.  The rules
(the refusion clock, months, spells, transitions) are stated in
:mod:`evaluate.data.derive`.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from evaluate.data.register import week_month
from evaluate.errors import DataError, SpecError

PPM = 1_000_000  # refusion shares are carried as integer parts per million
CHUNK_ROWS = 1 << 18  # rows per kernel chunk (cut at person boundaries)
MAX_CELLS = 1 << 26  # dense municipality x month x benefit cells per worker (2 x int64)
TABLES = ("spells", "ftp_cells", "flow_cells")


@dataclass(frozen=True)
class ResetRule:
    """When the refusion clock restarts (exact rule: :mod:`evaluate.data.derive`).

    Parameters
    ----------
    reset_weeks
        Self-supporting weeks needed for a reset (LBK § 6: 52).
    window_weeks
        Length of the window in which they must fall (three years = 156);
        ``window_weeks == reset_weeks`` means consecutive weeks.
    """

    reset_weeks: int = 52
    window_weeks: int = 156

    def __post_init__(self) -> None:
        if not 1 <= self.reset_weeks <= self.window_weeks:
            raise SpecError(
                f"Need 1 <= reset_weeks <= window_weeks, got {self.reset_weeks} and "
                f"{self.window_weeks}."
            )


def support_clock(person: np.ndarray, on: np.ndarray, rule: ResetRule = ResetRule()) -> np.ndarray:
    """Refusion clock of every person-week (rule: :mod:`evaluate.data.derive`).

    Parameters
    ----------
    person
        Person codes, sorted; each person's rows are consecutive weeks.
    on
        True where the week is on public support.

    Examples
    --------
    >>> on = np.r_[np.ones(30), np.zeros(52), np.ones(1)].astype(bool)
    >>> int(support_clock(np.zeros(on.size, int), on)[-1])
    1
    """
    n = on.size
    on = on.astype(bool, copy=False)
    if n == 0:
        return np.zeros(0, dtype="int32")
    r_need, w_len = rule.reset_weeks, rule.window_weeks
    first = np.empty(n, dtype=bool)
    first[0] = True
    np.not_equal(person[1:], person[:-1], out=first[1:])
    starts = np.flatnonzero(first)
    ends = np.append(starts[1:], n)  # exclusive
    # 32-bit indices halve memory traffic; the kernel calls this on chunks anyway.
    itype = np.int32 if n + rule.window_weeks < 2**31 - 1 else np.int64
    rows = np.arange(n, dtype=itype)
    cum = np.empty(n + 1, dtype=itype)  # cum[i] = on-weeks in rows [0, i)
    cum[0] = 0
    np.cumsum(on, out=cum[1:])
    cum_off = rows + 1 - cum[1:]  # off-weeks in rows [0, i], non-decreasing
    next_on = np.append(np.minimum.accumulate(np.where(on, rows, n)[::-1])[::-1], n)
    # Full-window candidates: off weeks with >= R off weeks in (t - W, t] of the same
    # person.  Once an episode is W weeks old its window lies wholly inside it, so its
    # reset is the first such candidate; before that only off-weeks since the episode
    # start count, which a search on cum_off finds directly.
    pstart = np.maximum.accumulate(np.where(first, rows, itype(0)))
    lo = np.maximum(rows - w_len, pstart - 1)  # last row before the window
    cum_off_lo = np.where(lo >= 0, cum_off[np.maximum(lo, 0)], 0)
    cand = ~on & (cum_off - cum_off_lo >= r_need)
    next_cand = np.append(np.minimum.accumulate(np.where(cand, rows, n)[::-1])[::-1], n)
    reset = np.zeros(n, dtype=bool)
    s, end = next_on[starts], ends
    live = s < end
    s, end = s[live], end[live]
    # One round per episode, vectorised over persons: O(persons) work per round.
    while s.size:
        early = np.searchsorted(cum_off, cum_off[s] + r_need, side="left")
        late = next_cand[np.minimum(s + w_len, n)]
        r = np.where(early < s + w_len, early, late)
        hit = r < end
        r, end = r[hit], end[hit]
        reset[r] = True
        s = next_on[r]
        live = s < end
        s, end = s[live], end[live]
    base = np.where(reset, cum[1:], -1)
    base[starts] = np.maximum(base[starts], cum[starts])
    np.maximum.accumulate(base, out=base)
    return (cum[1:] - base).astype("int32")


def _share_ppm(schedule: Any) -> np.ndarray:
    """Lookup table: refusion share in ppm for clock 0..K (K = last finite step + 1)."""
    frame = schedule.frame
    last = int(np.nanmax(frame["to_week"].to_numpy(dtype=float)))
    weeks = np.arange(1, last + 2)
    table = np.zeros(last + 2, dtype="int64")
    table[1:] = np.round(np.asarray(schedule.share(weeks), dtype=float) * PPM).astype("int64")
    return table


def _spans(person: np.ndarray) -> list[tuple[int, int]]:
    """Person-aligned chunks of about CHUNK_ROWS rows: keep temporaries in cache."""
    n = person.size
    cuts = np.searchsorted(person, person[::CHUNK_ROWS][1:], side="left")
    bounds = np.unique(np.r_[0, cuts, n])
    return list(zip(bounds[:-1].tolist(), bounds[1:].tolist(), strict=True))


def _numpy_rows(p, w, ben, public, refund, table, months, w0, rule, out) -> None:
    """Per person-week columns of one chunk, vectorised (the reference backend)."""
    m = p.size
    clock = support_clock(p, public[ben], rule)
    out["clock"][:] = clock
    out["refusion_ppm"][:] = np.where(refund[ben], table[np.minimum(clock, table.size - 1)], 0)
    out["month"][:] = months[w - w0]
    new_person = np.ones(m, dtype=bool)
    np.not_equal(p[1:], p[:-1], out=new_person[1:])
    boundary = new_person.copy()
    boundary[1:] |= ben[1:] != ben[:-1]
    start_row = np.maximum.accumulate(np.where(boundary, np.arange(m, dtype="int32"), 0))
    out["spell_start"][:] = w[start_row]
    out["spell_end"][: m - 1] = boundary[1:]
    out["spell_end"][m - 1] = True
    prev = out["prev_benefit"]
    prev[0] = -1
    prev[1:] = ben[:-1]
    prev[new_person] = -1


def _run_spans(spans, workers: int, fn) -> list:
    """``fn(a, b)`` over the spans, in order; threads when there are several
    (numpy and the numba kernel release the GIL, so threads run in parallel)."""
    if workers > 1 and len(spans) > 1:
        with ThreadPoolExecutor(max_workers=workers) as pool:
            return list(pool.map(lambda ab: fn(*ab), spans))
    return [fn(a, b) for a, b in spans]


def _setup(benefits, schedule, workers, backend):
    order = benefits.sort_values("benefit_id")
    public = order["public_support"].to_numpy(bool)
    refund = order["refusion"].to_numpy(bool)
    workers = min(os.cpu_count() or 1, 4) if workers is None else max(int(workers), 1)
    return public, refund, _share_ppm(schedule), workers, _numba_backend(backend)


def _columns(frame: pd.DataFrame):
    return (
        frame["person"].to_numpy("int64"),
        frame["week"].to_numpy("int32"),
        frame["benefit"].to_numpy("int16"),
        frame["municipality"].to_numpy("int32"),
    )


_EMPTY_I64 = np.zeros(0, "int64")


def person_week_kernel(
    benefits: pd.DataFrame,
    schedule: Any,
    rule: ResetRule = ResetRule(),
    *,
    workers: int | None = None,
    backend: str | None = None,
):
    """The per person-week kernel: ``frame -> frame`` with the input columns and
    ``month``, ``clock``, ``refusion_ppm``, ``spell_start`` (week the spell began),
    ``spell_end`` (last week of a spell) and ``prev_benefit`` (-1 in a person's
    first week).  ``backend``: ``"numpy"`` (the reference), ``"numba"`` (same
    results) or ``"auto"`` (= numba); default: environment variable
    ``EVALUATE_KERNEL``, else ``"auto"``.
    """
    public, refund, table, workers, numba_chunk = _setup(benefits, schedule, workers, backend)

    def kernel(frame: pd.DataFrame) -> pd.DataFrame:
        person, week, benefit, mun = _columns(frame)
        n = person.size
        out = {
            "person": person,
            "week": week,
            "benefit": benefit,
            "municipality": mun,
            "month": np.empty(n, "int32"),
            "clock": np.empty(n, "int32"),
            "refusion_ppm": np.empty(n, "int32"),
            "spell_start": np.empty(n, "int32"),
            "spell_end": np.empty(n, bool),
            "prev_benefit": np.empty(n, "int16"),
        }
        if n:
            w0 = int(week.min())
            months = week_month(np.arange(w0, int(week.max()) + 1)).astype("int32")
        names = ("month", "clock", "refusion_ppm", "spell_start", "spell_end", "prev_benefit")

        def chunk(a: int, b: int) -> None:
            views = {k: out[k][a:b] for k in names}
            if numba_chunk is None:
                _numpy_rows(person[a:b], week[a:b], benefit[a:b], public, refund, table,
                            months, w0, rule, views)  # fmt: skip
                return
            numba_chunk(
                person[a:b], week[a:b], benefit[a:b], mun[a:b], public, refund, table, months,
                w0, rule.reset_weeks, rule.window_weeks, True, *(views[k] for k in names),
                0, 0, _EMPTY_I64, _EMPTY_I64, np.zeros((0, 4), "int64"), _EMPTY_I64,
            )  # fmt: skip

        _run_spans(_spans(person), workers, chunk)
        return pd.DataFrame(out, copy=False)

    return kernel


@dataclass(frozen=True)
class _Cells:
    """Dense cell layout: ``cell = (municipality * n_months + month_pos) * n_benefits + b``."""

    n_mun: int
    month_codes: np.ndarray  # months since 1970-01 of each position
    n_ben: int

    @property
    def size(self) -> int:
        return self.n_mun * self.month_codes.size * self.n_ben

    def decode(self, cell: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        rest, ben = np.divmod(cell, self.n_ben)
        mun, pos = np.divmod(rest, self.month_codes.size)
        return mun, self.month_codes[pos], ben


def summary_kernel(
    benefits: pd.DataFrame,
    schedule: Any,
    rule: ResetRule = ResetRule(),
    *,
    window: tuple[int, int],
    workers: int | None = None,
    backend: str | None = None,
):
    """The summarising kernel: ``frame -> {"spells", "ftp_cells", "flow_cells"}``.

    ``window``: first and last week index of the data (fixes the months, so that
    partials of different chunks line up).  Tables (integer codes):

    * ``spells``: ``person, benefit, start_week, end_week``, in person-week order;
    * ``ftp_cells``: ``municipality, month, benefit, person_weeks, refusion_ppm``
      for every cell with person-weeks;
    * ``flow_cells``: ``municipality, month, from_benefit, to_benefit, flows``
      (a change of benefit between consecutive weeks of a person, in the month
      and municipality of the later week).

    The numba backend fuses the summaries into its pass over the rows; the numpy
    backend computes the per person-week columns and summarises them with
    ``bincount`` (the reference).  ``backend`` as :func:`person_week_kernel`.
    """
    public, refund, table, workers, numba_chunk = _setup(benefits, schedule, workers, backend)
    first, last = int(window[0]), int(window[1])
    week_months = week_month(np.arange(first, last + 1))
    month_codes = np.unique(week_months)
    month_pos = np.searchsorted(month_codes, week_months).astype("int32")
    n_ben = int(benefits["benefit_id"].max()) + 1

    def kernel(frame: pd.DataFrame) -> dict[str, pd.DataFrame]:
        person, week, benefit, mun = _columns(frame)
        if person.size and (int(week.min()) < first or int(week.max()) > last):
            raise SpecError(f"Weeks outside the kernel's window {window}.")
        cells = _Cells(int(mun.max()) + 1 if mun.size else 1, month_codes, n_ben)
        if cells.size > MAX_CELLS:
            raise DataError(
                f"{cells.n_mun} municipalities x {month_codes.size} months x {n_ben} benefits "
                f"= {cells.size:,} cells exceed {MAX_CELLS:,} (memory per worker); derive "
                "shorter windows or fewer units at a time."
            )
        fast = numba_chunk is not None
        spans = _spans(person)
        groups = np.array_split(np.arange(len(spans)), min(workers, max(len(spans), 1)))

        def run_group(idx: np.ndarray) -> tuple[list, np.ndarray, np.ndarray, list]:
            """One worker: its own dense cells, spells and flows of its spans."""
            weeks = np.zeros(cells.size, "int64")
            ppm = np.zeros(cells.size, "int64")
            spells, flows = [], []
            if fast and idx.size:
                # Scratch for one span, reused; only the rows written are kept.
                longest = max(spans[i][1] - spans[i][0] for i in idx)
                sp_buf = np.empty((longest, 4), "int64")
                fl_buf = np.empty(longest, "int64")
            for a, b in (spans[i] for i in idx):
                if fast:
                    n_sp, n_fl = numba_chunk(
                        person[a:b], week[a:b], benefit[a:b], mun[a:b], public, refund, table,
                        month_pos, first, rule.reset_weeks, rule.window_weeks, False,
                        *_NO_ROWS, month_codes.size, n_ben, weeks, ppm, sp_buf, fl_buf,
                    )  # fmt: skip
                    spells.append(sp_buf[:n_sp].copy())
                    flows.append(fl_buf[:n_fl].copy())
                    continue
                sp, fl = _numpy_summary(
                    person[a:b], week[a:b], benefit[a:b], mun[a:b], public, refund, table,
                    month_pos, first, rule, cells, weeks, ppm,
                )  # fmt: skip
                spells.append(sp)
                flows.append(fl)
            return spells, weeks, ppm, flows

        if len(groups) > 1:
            with ThreadPoolExecutor(max_workers=len(groups)) as pool:
                parts = list(pool.map(run_group, groups))
        else:
            parts = [run_group(g) for g in groups]
        spells = np.concatenate([s for p in parts for s in p[0]] or [np.zeros((0, 4), "int64")])
        weeks = np.sum([p[1] for p in parts], axis=0) if parts else np.zeros(cells.size, "int64")
        ppm = np.sum([p[2] for p in parts], axis=0) if parts else np.zeros(cells.size, "int64")
        flow_ids = np.concatenate([f for p in parts for f in p[3]] or [_EMPTY_I64])
        return {
            "spells": pd.DataFrame(
                {
                    "person": spells[:, 0],
                    "benefit": spells[:, 1],
                    "start_week": spells[:, 2],
                    "end_week": spells[:, 3],
                }
            ),
            "ftp_cells": _ftp_frame(cells, weeks, ppm),
            "flow_cells": _flow_frame(cells, flow_ids),
        }

    return kernel


_NO_ROWS = tuple(np.zeros(0, t) for t in ("int32", "int32", "int32", "int32", bool, "int16"))


def _numpy_summary(p, w, ben, mun, public, refund, table, month_pos, first, rule, cells,
                   weeks, ppm):  # fmt: skip
    """Reference summary of one chunk: per-row columns, then bincount into the cells."""
    m = p.size
    out = {
        "month": np.empty(m, "int32"),
        "clock": np.empty(m, "int32"),
        "refusion_ppm": np.empty(m, "int32"),
        "spell_start": np.empty(m, "int32"),
        "spell_end": np.empty(m, bool),
        "prev_benefit": np.empty(m, "int16"),
    }
    _numpy_rows(p, w, ben, public, refund, table, month_pos, first, rule, out)
    cell = (mun.astype("int64") * cells.month_codes.size + out["month"]) * cells.n_ben + ben
    weeks += np.bincount(cell, minlength=cells.size)
    ppm += np.bincount(cell, weights=out["refusion_ppm"], minlength=cells.size).astype("int64")
    end = out["spell_end"]
    spells = np.column_stack([p[end], ben[end], out["spell_start"][end], w[end]]).astype("int64")
    prev = out["prev_benefit"]
    moved = (prev >= 0) & (prev != ben)
    return spells, cell[moved] * cells.n_ben + prev[moved]


def _ftp_frame(cells: _Cells, weeks: np.ndarray, ppm: np.ndarray) -> pd.DataFrame:
    idx = np.flatnonzero(weeks)
    mun, month, ben = cells.decode(idx)
    return pd.DataFrame(
        {
            "municipality": mun,
            "month": month,
            "benefit": ben,
            "person_weeks": weeks[idx],
            "refusion_ppm": ppm[idx],
        }
    )


def _flow_frame(cells: _Cells, flow_ids: np.ndarray) -> pd.DataFrame:
    ids, counts = np.unique(flow_ids, return_counts=True)
    to_cell, from_ben = np.divmod(ids, cells.n_ben)
    mun, month, to_ben = cells.decode(to_cell)
    return pd.DataFrame(
        {
            "municipality": mun,
            "month": month,
            "from_benefit": from_ben,
            "to_benefit": to_ben,
            "flows": counts.astype("int64"),
        }
    )


def _numba_backend(backend: str | None) -> Any:
    """The numba chunk function for ``backend``, or None for the numpy kernel."""
    choice = backend or os.environ.get("EVALUATE_KERNEL", "auto")
    if choice not in ("auto", "numpy", "numba"):
        raise SpecError(f"Unknown kernel backend {choice!r}; use 'auto', 'numpy' or 'numba'.")
    if choice == "numpy":
        return None
    from evaluate.data import _kernel_numba

    return _kernel_numba.kernel_chunk


