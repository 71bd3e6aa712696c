"""The fast path of :func:`evaluate.data.stream.derive_parquet`: Arrow row groups, one pass.

When the Parquet files allow it, streaming needs neither a planning scan nor SQL:

1. **Plan from the footers**: every row group's min/max statistics of the person,
   week, status (and integer municipality) columns.  Row groups are taken in
   order of their smallest person id; the path applies when their person ranges
   at most *touch* (a person split between consecutive row groups or files, as
   a register written sorted by person is), every column is an integer (the
   municipality may also be a string) with no missing values, and the weeks and
   codes span ranges a lookup table covers.  Otherwise ``derive_parquet`` runs
   its DuckDB plan (persons scattered over files, strings ids, ...).
2. **Read**: the main thread reads whole row groups of only the needed columns
   with pyarrow (no pandas), codes municipalities into one growing table and cuts
   chunks of at least ``rows_per_chunk`` rows at the start of the next row
   group's first person: rows of that person are carried into the next chunk, so
   a person's weeks are never split.
3. **Validate and derive in one compiled pass** per chunk on ``workers`` threads
   (:func:`evaluate.data._stream_numba.derive_clean`, GIL released) while the
   main thread reads on: person-weeks, refusion and flows are added into each
   worker's dense cells, spells are kept per chunk.  A chunk that is not clean is
   undone and handed to :func:`~evaluate.data.register.prepare_records` (the
   same call as the DuckDB path), which raises the error naming the column and
   value, or repairs (``gaps="fill"``, rows out of order) and is then derived.
4. **Label once** at the end with the helpers of :mod:`evaluate.data.derive`, so
   the tables equal :func:`~evaluate.data.derive.derive_register`'s exactly.
"""

from __future__ import annotations

import itertools
import threading
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from evaluate.data import _stream_numba as _nb
from evaluate.data import _validate_numba as _fast
from evaluate.data.derive import (
    RegisterDerivation,
    label_flows,
    label_ftp,
    municipality_union,
)
from evaluate.data.kernel import MAX_CELLS, _share_ppm
from evaluate.data.register import (
    future_week_error,
    iso_week_index,
    iso_week_label,
    prepare_records,
    week_month,
    week_table,
)
from evaluate.errors import DataError
from evaluate.progress import progress as _progress

MAX_FLOW_CELLS = 1 << 23  # dense transition cells per worker (8 bytes each)
_LUT_SPAN = 10_000_000  # widest range of integer municipality codes kept in a table


@dataclass
class _Group:
    file: int
    index: int
    rows: int
    pmin: int
    pmax: int


@dataclass
class Plan:
    """What the footers say: row groups in person order and the global ranges."""

    files: list[str]
    groups: list[_Group]
    week: tuple[int, int]
    status: tuple[int, int]
    mun: tuple[int, int] | None  # integer municipalities: their range; None for strings
    string_mun: bool
    schema: Any


def _stat(meta: Any, col: int) -> tuple[int, int] | None:
    st = meta.column(col).statistics
    if st is None or not st.has_min_max or st.null_count is None or st.null_count:
        return None
    return st.min, st.max


def plan_footers(files: list[str], cols: list[str], municipality: str | None) -> Plan | None:
    """The fast path's plan, or None when the files do not allow it."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        metas = [pq.ParquetFile(f).metadata for f in files]
    except (OSError, pa.ArrowException):
        return None  # the DuckDB path names the unreadable file
    schema = metas[0].schema.to_arrow_schema()
    if any(not m.schema.to_arrow_schema().equals(schema) for m in metas[1:]):
        return None
    if any(c not in schema.names for c in cols):
        return None
    types = [schema.field(c).type for c in cols]
    ints = [pa.types.is_integer(t) and t != pa.uint64() for t in types]
    string_mun = bool(municipality) and (
        pa.types.is_string(types[-1]) or pa.types.is_large_string(types[-1])
    )
    if not all(ints[:3]) or (municipality and not (ints[3] or string_mun)):
        return None
    stat_cols = cols[:3] if string_mun else cols
    positions = [schema.names.index(c) for c in stat_cols]
    groups, lo, hi = [], [None] * len(stat_cols), [None] * len(stat_cols)
    for f, meta in enumerate(metas):
        for g in range(meta.num_row_groups):
            rg = meta.row_group(g)
            if rg.num_rows == 0:
                continue
            stats = [_stat(rg, p) for p in positions]
            if any(s is None for s in stats):
                return None
            for k, (a, b) in enumerate(stats):
                lo[k] = a if lo[k] is None else min(lo[k], a)
                hi[k] = b if hi[k] is None else max(hi[k], b)
            groups.append(_Group(f, g, rg.num_rows, int(stats[0][0]), int(stats[0][1])))
    if not groups:
        return None
    groups.sort(key=lambda g: (g.pmin, g.pmax))
    reach = groups[0].pmax
    for g in groups[1:]:
        if g.pmin < reach:  # person ranges overlap: persons are scattered
            return None
        reach = max(reach, g.pmax)
    if lo[1] < 0 or hi[1] - lo[1] >= 1_000_000:
        return None
    mun = (int(lo[3]), int(hi[3])) if municipality and not string_mun else None
    if mun is not None and mun[1] - mun[0] >= _LUT_SPAN:
        return None
    return Plan(
        files, groups, (int(lo[1]), int(hi[1])), (int(lo[2]), int(hi[2])), mun, string_mun,
        schema,
    )  # fmt: skip


class _Municipalities:
    """Municipality codes: integers are their offset from the smallest (no pass over
    the rows); strings are coded in order of first appearance (read thread only)."""

    def __init__(self, plan: Plan, municipality: str | None) -> None:
        self.labels: list = []
        self.code: dict = {}
        self.ints = plan.mun is not None
        self.lo = plan.mun[0] if plan.mun else 0
        self.dtype = plan.schema.field(municipality).type.to_pandas_dtype() if self.ints else None
        self.fixed = plan.mun[1] - plan.mun[0] + 1 if plan.mun else (0 if municipality else 1)

    @property
    def n(self) -> int:
        return self.fixed or len(self.labels)

    def strings(self, column: Any) -> np.ndarray:
        parts = []
        for chunk in column.chunks:
            table = np.array([self._add(v) for v in chunk.dictionary.to_pylist()], "int32")
            parts.append(table[chunk.indices.to_numpy()])
        return np.concatenate(parts) if len(parts) != 1 else parts[0]

    def _add(self, label: object) -> int:
        code = self.code.get(label)
        if code is None:
            code = self.code[label] = len(self.labels)
            self.labels.append(label)
        return code

    def of(self, labels: np.ndarray) -> np.ndarray:
        """Codes (plus ``lo``) of labels already seen: read only, safe from a worker."""
        if self.ints:
            return labels.astype("int64")
        return np.array([self.code.get(v, 0) for v in labels.tolist()], "int32")

    def array(self) -> np.ndarray:
        """The label of every code."""
        if self.ints:
            return np.arange(self.lo, self.lo + self.fixed).astype(self.dtype)
        return np.array(self.labels if self.labels else ["all"], dtype=object)


class _Worker:
    """One thread's dense cells (grown as municipalities appear) and scratch."""

    def __init__(self, n_months: int, n_ben: int) -> None:
        self.per_mun = n_months * n_ben
        self.n_ben = n_ben
        self.weeks = np.zeros(0, "int64")
        self.ppm = np.zeros(0, "int64")
        self.flows = np.zeros(0, "int64")
        self.cum_off = np.zeros(0, "int32")
        self.ids = np.zeros(0, "int64")
        self.spells: list[np.ndarray] = []

    def fit(self, n_mun: int, n_rows: int) -> bool:
        """Make room for ``n_mun`` municipalities; True if the flows fit densely."""
        size = n_mun * self.per_mun
        if size > MAX_CELLS:
            raise DataError(
                f"{n_mun} municipalities x {self.per_mun // self.n_ben} months x {self.n_ben} "
                f"benefits = {size:,} cells exceed {MAX_CELLS:,} (memory per worker); derive "
                "shorter windows or fewer units at a time."
            )
        if size > self.weeks.size:
            self.weeks = _grow(self.weeks, size)
            self.ppm = _grow(self.ppm, size)
        dense = size * self.n_ben <= MAX_FLOW_CELLS
        if dense and size * self.n_ben > self.flows.size:
            self.flows = _grow(self.flows, size * self.n_ben)
        if self.cum_off.size < n_rows:  # scratch reused: fresh pages are costly
            self.cum_off = np.empty(n_rows, "int32")
            self.ids = np.empty(n_rows, "int64")
            self.spells = [np.empty(n_rows, t) for t in ("int64", "int16", "int32", "int32")]
        return dense


def _grow(values: np.ndarray, size: int) -> np.ndarray:
    out = np.zeros(size, values.dtype)
    out[: values.size] = values
    return out


@dataclass
class _Chunk:
    head: tuple  # rows of one person carried from earlier row groups (maybe none)
    body: tuple  # person, week, status, municipality
    n_mun: int
    bound: int | None  # first person of the next chunk


def _read(plan: Plan, cols: list[str], municipality: str | None, muns: _Municipalities,
          use_threads: bool, progress: bool | None):  # noqa: ANN202  # fmt: skip
    """Yield the columns of every row group as NumPy arrays, in plan order."""
    import pyarrow.parquet as pq

    handles: dict[int, Any] = {}
    read_dict = [municipality] if plan.string_mun else None
    for group in _progress(plan.groups, desc="register row groups", enabled=progress):
        pf = handles.get(group.file)
        if pf is None:
            handles.clear()  # one file open at a time
            pf = handles[group.file] = pq.ParquetFile(
                plan.files[group.file], read_dictionary=read_dict
            )
        table = pf.read_row_group(group.index, columns=cols, use_threads=use_threads)
        arrays = [table.column(c).to_numpy() for c in cols[:3]]
        if not municipality:
            mun = np.zeros(table.num_rows, "int32")
        elif plan.string_mun:
            mun = muns.strings(table.column(municipality))
        else:
            mun = table.column(municipality).to_numpy()
        yield (*arrays, mun)


def _concat(*parts: tuple) -> tuple:
    return tuple(np.concatenate(c) for c in zip(*parts, strict=True))


def _chunks(plan: Plan, reader: Any, min_rows: int, muns: _Municipalities):  # noqa: ANN202
    """Person-aligned chunks: whole row groups (small ones merged up to ``min_rows``);
    the rows of the next group's first person are carried as the next chunk's head."""
    head: tuple | None = None
    pending: list[tuple] = []
    reach = None
    starts = [g.pmin for g in plan.groups[1:]] + [None]
    for arrays, group, nxt in zip(reader, plan.groups, starts, strict=True):
        pending.append(arrays)
        reach = group.pmax if reach is None else max(reach, group.pmax)
        if sum(a[0].size for a in pending) < min_rows and nxt is not None:
            continue
        body = pending[0] if len(pending) == 1 else _concat(*pending)
        pending = []
        carry = None
        if nxt is not None and reach >= nxt:  # the next group starts with our last person
            j = _nb.tail_start(body[0], nxt)
            body, carry = tuple(a[:j] for a in body), tuple(a[j:] for a in body)
        if body[0].size == 0:  # one person's rows across several groups: carry them all
            head = carry if head is None else _concat(head, carry)
            continue
        reach = None
        empty = tuple(a[:0] for a in body)
        yield _Chunk(head if head is not None else empty, body, muns.n, nxt)
        head = carry if carry is not None and carry[0].size else None


def derive_fast(
    plan: Plan,
    *,
    person: str,
    week: str,
    status: str,
    municipality: str | None,
    codes: Any,
    refusion: Any,
    rule: Any,
    rows_per_chunk: int,
    gaps: str,
    last_valid_week: object | None,
    threads: int | None,
    workers: int,
    progress: bool | None,
) -> RegisterDerivation:
    """Spells, refusion, full-time persons and transitions along ``plan``."""
    from evaluate.data.register import _current_week

    cols = [person, week, status] + ([municipality] if municipality else [])
    # The window from the footers, checked as prepare_records checks weeks.
    wlo, whi = plan.week
    first, last = (int(v) for v in iso_week_index([wlo, whi], column=week))
    limit = int(iso_week_index(
        [last_valid_week if last_valid_week is not None else _current_week()], column="last"
    )[0])  # fmt: skip
    if last > limit:
        raise future_week_error(week, last, limit)
    window_labels = (int(iso_week_label(first)), int(iso_week_label(last)))
    wlut = week_table(wlo, whi)
    stable = _fast.status_table(codes, *plan.status)
    if stable is None:
        raise _Fallback
    benefits = codes.benefits
    order = benefits.sort_values("benefit_id")
    public = order["public_support"].to_numpy(bool)
    refund = order["refusion"].to_numpy(bool)
    table = _share_ppm(refusion)
    n_ben = int(benefits["benefit_id"].max()) + 1
    week_months = week_month(np.arange(first, last + 1))
    month_codes = np.unique(week_months)
    months = np.searchsorted(month_codes, week_months).astype("int32")
    identity = np.arange(n_ben, dtype="int16")
    muns = _Municipalities(plan, municipality)
    state = threading.local()
    all_workers: list[_Worker] = []
    lock = threading.Lock()

    def worker() -> _Worker:
        w = getattr(state, "w", None)
        if w is None:
            w = state.w = _Worker(month_codes.size, n_ben)
            with lock:
                all_workers.append(w)
        return w

    def derive(w: _Worker, head, body, lut, lo, mlo, n_mun, dense, stop, sign):  # noqa: ANN001, ANN202
        sp = w.spells
        ids = w.ids
        bad, n_sp, n_fl = _nb.derive_clean(
            *head, *body, stop, wlut, wlo, lut, lo, mlo, n_mun, months, first, public, refund,
            table, rule.reset_weeks, rule.window_weeks, month_codes.size, n_ben, sign, w.weeks,
            w.ppm, dense, w.flows, ids, *sp, w.cum_off,
        )  # fmt: skip
        spells = (sp[0][:n_sp].astype(body[0].dtype), *(a[:n_sp].copy() for a in sp[1:]))
        return bad, spells, ids[:n_fl]

    def run(chunk: _Chunk) -> tuple:
        w = worker()
        n_rows = chunk.head[0].size + chunk.body[0].size
        dense = w.fit(chunk.n_mun, n_rows)
        args = (chunk.head, chunk.body, *stable, muns.lo, chunk.n_mun, dense)
        bad, spells, ids = derive(w, *args, n_rows, 1)
        repairs: dict[str, int] = {}
        if bad >= 0:  # undo the clean rows before it, then the step-by-step checks
            derive(w, *args, bad, -1)
            frame = _frame(chunk, muns, person, week, status, municipality)
            if chunk.bound is not None and (frame[person].to_numpy() >= chunk.bound).any():
                raise _Fallback  # rows out of order left a person's rows in two chunks
            rec = prepare_records(
                frame, person=person,
                week=week, status=status, municipality=municipality, codes=codes,
                window=window_labels, last_valid_week=last_valid_week, gaps=gaps,
            )  # fmt: skip
            mun = muns.of(rec.municipalities)[rec.municipality] if municipality else None
            body = (rec.person_ids[rec.person], iso_week_label(rec.week), rec.benefit,
                    mun if mun is not None else np.zeros(rec.n_rows, "int32"))  # fmt: skip
            n_rows = rec.n_rows
            dense = w.fit(chunk.n_mun, n_rows)
            bad, spells, ids = derive(w, tuple(a[:0] for a in body), body, identity, 0,
                                      muns.lo, chunk.n_mun, dense, n_rows, 1)  # fmt: skip
            if bad >= 0:  # pragma: no cover - statistics that disagree with the rows
                raise DataError("The Parquet statistics disagree with the rows; rewrite the files.")
            repairs = {k: v for k, v in rec.repairs.items() if k != "rows_reordered"}
        flows = np.unique(ids, return_counts=True) if ids.size else None  # copies ids
        return spells, flows, repairs, n_rows

    n_workers = max(int(workers), 1)
    use_threads = threads is None or threads > 1
    spells, flow_parts, repairs, n_rows = [], [], {}, 0
    with ThreadPoolExecutor(max_workers=n_workers) as pool:
        queue: deque = deque()
        reader = _read(plan, cols, municipality, muns, use_threads, progress)
        todo = _chunks(plan, reader, min(rows_per_chunk, 1 << 20), muns)
        for chunk in itertools.islice(todo, n_workers + 1):
            queue.append(pool.submit(run, chunk))
        while queue:
            part = queue.popleft().result()
            nxt = next(todo, None)
            if nxt is not None:
                queue.append(pool.submit(run, nxt))
            spells.append(part[0])
            if part[1] is not None:
                flow_parts.append(part[1])
            for key, value in part[2].items():
                repairs[key] = repairs.get(key, 0) + value
            n_rows += part[3]
    # Sum the workers' cells; keep the municipalities with rows, ranked as labels sort.
    size = muns.n * month_codes.size * n_ben
    weeks, ppm = np.zeros(size, "int64"), np.zeros(size, "int64")
    for w in all_workers:
        weeks[: w.weeks.size] += w.weeks[:size]
        ppm[: w.ppm.size] += w.ppm[:size]
    present = weeks.reshape(muns.n, -1).any(axis=1)
    labels = muns.array()
    municipalities = municipality_union([labels[present]]) if municipality else labels
    rank = np.full(muns.n, -1, "int64")
    rank[present] = pd.Index(municipalities).get_indexer(labels[present])
    flow_ids, flow_counts = _flows(all_workers, flow_parts)
    frames = _tables(weeks, ppm, flow_ids, flow_counts, rank, month_codes, n_ben)
    return RegisterDerivation(
        spells=_spells(spells, benefits, first, last),
        ftp=label_ftp(frames[0], benefits, municipalities, (first, last)),
        transitions=label_flows(frames[1], benefits, municipalities),
        benefits=benefits,
        municipalities=municipalities,
        window=(first, last),
        rule=rule,
        engine="duckdb",
        n_rows=n_rows,
        repairs=repairs,
        person_weeks=None,
    )


def _frame(chunk: _Chunk, muns: _Municipalities, person: str, week: str, status: str,
           municipality: str | None) -> pd.DataFrame:  # fmt: skip
    """A chunk's rows as read (labels for codes), for prepare_records."""
    cols = [np.concatenate([h, b]) for h, b in zip(chunk.head, chunk.body, strict=True)]
    frame = {person: cols[0], week: cols[1], status: cols[2]}
    if municipality:
        labels = muns.array()  # codes already given never change
        frame[municipality] = labels[cols[3] - muns.lo]
    return pd.DataFrame(frame)


class _Fallback(Exception):  # noqa: N818 - control flow, never shown
    """The files need the DuckDB path after all."""


def _flows(workers: list[_Worker], parts: list) -> tuple[np.ndarray, np.ndarray]:
    """Transition cell ids and counts, from the dense cells and the per-chunk counts."""
    ids, counts = [], []
    for w in workers:
        nz = np.flatnonzero(w.flows)
        ids.append(nz)
        counts.append(w.flows[nz])
    for u, c in parts:
        ids.append(u)
        counts.append(c)
    if not ids:
        return np.zeros(0, "int64"), np.zeros(0, "int64")
    all_ids = np.concatenate(ids)
    uniq, inverse = np.unique(all_ids, return_inverse=True)
    total = np.bincount(inverse, weights=np.concatenate(counts), minlength=uniq.size)
    keep = total != 0
    return uniq[keep], total[keep].astype("int64")


def _tables(weeks, ppm, flow_ids, flow_counts, rank, month_codes, n_ben):  # noqa: ANN001, ANN202
    """Cells as the coded frames label_ftp and label_flows take (municipality = rank)."""
    idx = np.flatnonzero(weeks)
    rest, ben = np.divmod(idx, n_ben)
    mun, pos = np.divmod(rest, month_codes.size)
    ftp = pd.DataFrame({
        "municipality": rank[mun], "month": month_codes[pos], "benefit": ben,
        "person_weeks": weeks[idx], "refusion_ppm": ppm[idx],
    })  # fmt: skip
    to_cell, from_ben = np.divmod(flow_ids, n_ben)
    rest, to_ben = np.divmod(to_cell, n_ben)
    mun, pos = np.divmod(rest, month_codes.size)
    flows = pd.DataFrame({
        "municipality": rank[mun], "month": month_codes[pos], "from_benefit": from_ben,
        "to_benefit": to_ben, "flows": flow_counts,
    })  # fmt: skip
    return ftp, flows


def _spells(parts: list, benefits: pd.DataFrame, first: int, last: int) -> pd.DataFrame:
    """The chunks' spells (in person order) labelled as :func:`label_spells` labels them
    (the same columns and dtypes; built without consolidating copies)."""
    person, ben, start, end = (np.concatenate([p[i] for p in parts]) for i in range(4))
    if person.size:
        labels = iso_week_label(np.arange(first, last + 1))
        start_label, end_label = labels[start - first], labels[end - first]
    else:
        start_label = end_label = np.zeros(0, "int64")
    names = benefits.sort_values("benefit_id")["benefit"].to_numpy()
    return pd.DataFrame(
        {
            "person": person,
            "benefit": pd.Index(names).take(ben),
            "start_week": start_label,
            "end_week": end_label,
            "weeks": (end - start + 1).astype("int64"),
            "left_censored": start == first,
            "right_censored": end == last,
        },
        copy=False,
    )
