"""Register derivations streamed from Parquet on disk, in person-aligned chunks.

Registers stored sorted by person (row-group person ranges that at most touch,
integer columns, footer statistics; any number of files) take the fast path of
:mod:`evaluate.data._stream_arrow`: no planning scan and no SQL, pyarrow row
groups and one compiled pass that validates and derives.  Everything else takes
the DuckDB path described here; both give the same tables and the same errors.

:func:`derive_register` needs the whole register in memory.  :func:`derive_parquet`
gives the same tables for a Parquet dataset larger than memory:

1. **Plan** (one scan of two columns): DuckDB counts the rows of every person
   (``GROUP BY person ORDER BY person``) and lists the distinct weeks (the data
   window, which decides censoring and the weeks of each month).  Consecutive
   persons in id order are cut into chunks of at most ``persons_per_chunk``
   persons and ``rows_per_chunk`` rows, so **a person's weeks are never split**.
2. **Stream**: per chunk, ``SELECT ... WHERE person BETWEEN lo AND hi ORDER BY
   person, week`` over all files (persons may be spread over any number of
   files), then the unchanged :func:`~evaluate.data.register.prepare_records`,
   kernel and combining SQL of :mod:`evaluate.data.derive`.  ``workers`` chunks
   run at once on threads (DuckDB and numpy release the GIL), so one chunk is
   read while another is validated and derived.
3. **Combine exactly**: spells are concatenated (chunks come in id order, so the
   order equals :func:`derive_register`'s); full-time persons and transitions are
   combined as *integer* sums (person-weeks, refusion in parts per million, flows)
   keyed by the municipality's original label, and only then turned into
   full-time persons, so the result equals the in-memory derivation exactly.

Memory is bounded by ``workers`` chunks in flight (each up to ``rows_per_chunk``
rows; measured peaks in ``benchmarks/results/register.md``) plus the outputs: the
aggregated tables are small, the spells grow with the number of persons (a few
per person).

Reading cost: DuckDB prunes row groups whose person range misses the chunk
(Parquet min/max statistics).  Registers stored sorted or clustered by person
are therefore read about once in total; if persons are scattered over every row
group, each chunk scans the person column of every file, so sort the data once
(``COPY (SELECT * FROM 'in/*.parquet' ORDER BY person, week) TO 'out.parquet'``)
before streaming billions of rows.
"""

from __future__ import annotations

import contextlib
import glob as _glob
import itertools
import threading
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from evaluate.data._stream_arrow import _Fallback, derive_fast, plan_footers
from evaluate.data.derive import (
    RegisterDerivation,
    ResetRule,
    combine,
    label_flows,
    label_ftp,
    label_spells,
    municipality_union,
    summary_kernel,
)
from evaluate.data.engines import Engine, EngineName, get_engine
from evaluate.data.register import (
    StatusCodes,
    iso_week_index,
    iso_week_label,
    prepare_records,
)
from evaluate.errors import DataError, SpecError
from evaluate.progress import progress as _progress

__all__ = ["derive_parquet", "plan_chunks"]

_DEFAULT_RULE = ResetRule()  # frozen, so one shared default is safe
_FTP_KEYS = ["municipality", "month", "benefit"]
_FLOW_KEYS = ["municipality", "month", "from_benefit", "to_benefit"]


def _ident(name: str) -> str:
    """A column name as a quoted SQL identifier."""
    return '"' + str(name).replace('"', '""') + '"'


def _plain(value: object) -> object:
    return value.item() if isinstance(value, np.generic) else value


def _files(source: str | Path | list[str | Path]) -> list[str]:
    """The Parquet files of a path, a directory (all ``*.parquet`` below) or a glob."""
    items = source if isinstance(source, list | tuple) else [source]
    out: list[str] = []
    for item in items:
        text = str(item)
        if Path(text).is_dir():
            out += sorted(_glob.glob(str(Path(text) / "**" / "*.parquet"), recursive=True))
        elif any(ch in text for ch in "*?["):
            out += sorted(_glob.glob(text, recursive=True))
        elif Path(text).exists():
            out.append(text)
        else:
            raise DataError(f"Register file {text!r} does not exist.")
    if not out:
        raise DataError(f"No Parquet files match {source!r}; give a file, a directory or a glob.")
    return out


def plan_chunks(
    counts: np.ndarray, *, persons_per_chunk: int, rows_per_chunk: int
) -> list[tuple[int, int]]:
    """Cut persons (in id order, with ``counts`` rows each) into chunks.

    Returns ``(first, last)`` positions (inclusive) into ``counts``; a chunk holds
    at most ``persons_per_chunk`` persons and ``rows_per_chunk`` rows, except that
    a single person with more rows than that forms a chunk of its own.

    Examples
    --------
    >>> plan_chunks(np.array([3, 3, 3, 10, 1]), persons_per_chunk=2, rows_per_chunk=7)
    [(0, 1), (2, 2), (3, 3), (4, 4)]
    """
    cum = np.cumsum(np.asarray(counts, dtype="int64"))
    n = cum.size
    spans, start = [], 0
    while start < n:
        before = int(cum[start - 1]) if start else 0
        by_rows = int(np.searchsorted(cum, before + rows_per_chunk, side="right"))
        end = max(min(by_rows, start + persons_per_chunk, n), start + 1)  # exclusive
        spans.append((start, end - 1))
        start = end
    return spans


def derive_parquet(
    source: str | Path | list[str | Path],
    *,
    person: str = "person",
    week: str = "week",
    status: str = "status",
    municipality: str | None = "municipality",
    codes: StatusCodes | None = None,
    refusion: Any = None,
    rule: ResetRule = _DEFAULT_RULE,
    engine: EngineName | Engine = "duckdb",
    persons_per_chunk: int = 100_000,
    rows_per_chunk: int = 10_000_000,
    gaps: Literal["error", "fill"] = "error",
    last_valid_week: object | None = None,
    threads: int | None = None,
    memory_limit: str | None = None,
    workers: int = 2,
    progress: bool | None = None,
) -> RegisterDerivation:
    """Spells, refusion, full-time persons and transitions of a Parquet register on disk.

    Same result as ``derive_register(prepare_records(read_parquet(source)))`` without
    holding the register in memory: persons are streamed in chunks that never split
    a person's weeks (see the module docstring).

    Parameters
    ----------
    source
        A Parquet file, a directory (every ``*.parquet`` below it), a glob such as
        ``"register/*.parquet"``, or a list of these.  A person's rows may be spread
        over several files.
    person, week, status, municipality
        Column names, as in :func:`~evaluate.data.register.prepare_records`.
    codes, refusion, rule
        Status-code table, refusion schedule and reset rule, as in
        :func:`~evaluate.data.derive.derive_register`.
    engine
        ``"duckdb"`` (default: an embedded DuckDB reads person-aligned chunks, the
        kernel runs in process) or ``"spark"`` / a
        :class:`~evaluate.data.engines.SparkEngine`: Spark reads the files and runs
        validation, kernel and combining SQL on the cluster
        (:mod:`evaluate.data.stream_spark`); the chunk options do not apply there.
    persons_per_chunk, rows_per_chunk
        Upper bounds of one chunk (whichever binds first); peak memory grows with
        ``workers * rows_per_chunk``.  The fast path reads whole row groups (merging
        small ones up to ``min(rows_per_chunk, 2**20)`` rows) and ignores
        ``persons_per_chunk``.
    gaps, last_valid_week
        Passed to :func:`~evaluate.data.register.prepare_records` for every chunk.
    threads, memory_limit
        DuckDB settings for reading (``memory_limit="2GB"`` caps DuckDB's buffers).
    workers
        Chunks processed at the same time (read, validate, kernel, SQL); memory
        grows with ``workers * rows_per_chunk``.  ``1`` runs them one after another.
    progress
        Show a progress bar over chunks: ``True``/``False``; ``None`` shows it when a
        person is watching (see :func:`evaluate.progress.progress_enabled`).

    Returns
    -------
    RegisterDerivation
        With ``person_weeks=None`` (the per person-week columns are not kept).

    Raises
    ------
    DataError
        Missing files or columns, missing person ids, and everything
        :func:`~evaluate.data.register.prepare_records` rejects (duplicates across
        files included: a person's rows always meet in one chunk).

    Examples
    --------
    >>> d = derive_parquet("register/*.parquet", rows_per_chunk=5_000_000)  # doctest: +SKIP
    >>> d.ftp.head()  # doctest: +SKIP
    """
    import duckdb

    if persons_per_chunk < 1 or rows_per_chunk < 1:
        raise SpecError(
            f"persons_per_chunk and rows_per_chunk must be >= 1, got {persons_per_chunk} "
            f"and {rows_per_chunk}."
        )
    if refusion is None:
        from evaluate.money.refusion import RefusionSchedule

        refusion = RefusionSchedule.danish()
    codes = codes or StatusCodes.danish()
    eng = get_engine(engine)
    files = _files(source)
    if eng.name == "spark":  # Spark reads the files itself: nothing passes through here
        from evaluate.data.stream_spark import derive_parquet_spark

        return derive_parquet_spark(
            files, engine=eng, person=person, week=week, status=status,
            municipality=municipality, codes=codes, refusion=refusion, rule=rule, gaps=gaps,
            last_valid_week=last_valid_week,
        )  # fmt: skip
    cols = [person, week, status] + ([municipality] if municipality else [])
    plan = plan_footers(files, cols, municipality) if isinstance(engine, str) else None
    if plan is not None:  # sorted integer registers: Arrow row groups, one compiled pass
        try:
            return derive_fast(
                plan, person=person, week=week, status=status, municipality=municipality,
                codes=codes, refusion=refusion, rule=rule, rows_per_chunk=rows_per_chunk,
                gaps=gaps, last_valid_week=last_valid_week, threads=threads, workers=workers,
                progress=progress,
            )  # fmt: skip
        except _Fallback:
            pass
    con = duckdb.connect()
    if threads is not None:
        con.execute(f"SET threads = {int(threads)}")
    if memory_limit is not None:
        con.execute("SET memory_limit = ?", [memory_limit])
    try:
        con.read_parquet(files).create_view("register_src")
        available = con.execute("SELECT * FROM register_src LIMIT 0").df().columns
    except duckdb.Error as err:
        reason = " ".join(str(err).split())[:200]
        raise DataError(
            f"The register files {files[:3]} cannot be read as Parquet ({reason}). "
            "Write them again from their source."
        ) from None
    missing = [c for c in cols if c not in available]
    if missing:
        raise DataError(
            f"Column {missing[0]!r} is not in the Parquet files; they have "
            f"{', '.join(map(str, available))}."
        )
    p, w = _ident(person), _ident(week)

    # Plan: rows per person (in the engine's id order) and the global window.
    counts = con.execute(
        f"SELECT {p} AS id, COUNT(*) AS n FROM register_src GROUP BY 1 ORDER BY 1 NULLS LAST"
    ).df()
    if counts.empty:
        raise DataError(f"The Parquet files {files[:3]} have no rows.")
    if counts["id"].isna().any():
        n_na = int(counts.loc[counts["id"].isna(), "n"].sum())
        raise DataError(f"Column {person!r} has {n_na} missing values; fill or remove them.")
    weeks = con.execute(f"SELECT DISTINCT {w} AS w FROM register_src").df()["w"]
    if weeks.isna().any():
        raise DataError(f"Column {week!r} has missing values; fill or remove them.")
    wk = iso_week_index(weeks.to_numpy(), column=week)
    window = (int(iso_week_label(wk.min())), int(iso_week_label(wk.max())))
    ids = counts["id"].to_numpy()
    spans = plan_chunks(
        counts["n"].to_numpy(), persons_per_chunk=persons_per_chunk, rows_per_chunk=rows_per_chunk
    )
    select = ", ".join(_ident(c) for c in cols)
    query = f"SELECT {select} FROM register_src WHERE {p} BETWEEN ? AND ? ORDER BY {p}, {w}"

    first, last = (int(v) for v in iso_week_index(list(window), column="window"))
    kernel = summary_kernel(codes.benefits, refusion, rule, window=(first, last))
    local = threading.local()
    # A named engine gets one instance per worker thread (DuckDB registers the chunk
    # under a fixed view name); a caller's engine instance is shared under a lock.
    shared_lock = None if isinstance(engine, str) else threading.Lock()

    def run(span: tuple[int, int]) -> _ChunkResult:
        cur = con.cursor()  # one cursor per task: DuckDB connections are not shared
        try:
            frame = cur.execute(query, [_plain(ids[span[0]]), _plain(ids[span[1]])]).df()
        finally:
            cur.close()
        records = prepare_records(
            frame,
            person=person,
            week=week,
            status=status,
            municipality=municipality,
            codes=codes,
            window=window,
            last_valid_week=last_valid_week,
            gaps=gaps,
        )
        del frame
        pw_in = records.kernel_frame()
        if shared_lock is None:
            if not hasattr(local, "engine"):
                local.engine = get_engine(engine)
            chunk_engine, lock = local.engine, contextlib.nullcontext()
        else:
            chunk_engine, lock = eng, shared_lock
        with lock:
            parts = chunk_engine.summaries(pw_in, kernel)
            raw_spells, raw_ftp, raw_flows = combine(chunk_engine, parts, (first, last))
        muns = records.municipalities
        return _ChunkResult(
            spells=label_spells(raw_spells, codes.benefits, records.person_ids),
            ftp=_with_labels(raw_ftp, muns),
            flows=_with_labels(raw_flows, muns),
            municipalities=muns,
            n_rows=records.n_rows,
            repairs=records.repairs,
        )

    spells, ftp, flows, repairs = [], None, None, {}
    n_rows = 0
    muns: list[np.ndarray] = []
    n_workers = max(int(workers), 1)
    with ThreadPoolExecutor(max_workers=n_workers) as pool:
        # At most ``n_workers`` chunks in flight (bounded memory), consumed in id order
        # so the spells come out in the order of derive_register.
        queue: deque = deque()
        todo = iter(spans)
        for span in itertools.islice(todo, n_workers):
            queue.append(pool.submit(run, span))
        for _ in _progress(range(len(spans)), desc="register chunks", enabled=progress):
            part = queue.popleft().result()
            nxt = next(todo, None)
            if nxt is not None:
                queue.append(pool.submit(run, nxt))
            spells.append(part.spells)
            ftp = _accumulate(ftp, part.ftp, _FTP_KEYS)
            flows = _accumulate(flows, part.flows, _FLOW_KEYS)
            muns.append(part.municipalities)
            n_rows += part.n_rows
            for key, value in part.repairs.items():
                repairs[key] = repairs.get(key, 0) + value
    con.close()
    municipalities = municipality_union(muns)
    return RegisterDerivation(
        spells=pd.concat(spells, ignore_index=True),
        ftp=label_ftp(_encode(ftp, municipalities), codes.benefits, municipalities, (first, last)),
        transitions=label_flows(_encode(flows, municipalities), codes.benefits, municipalities),
        benefits=codes.benefits,
        municipalities=municipalities,
        window=(first, last),
        rule=rule,
        engine=eng.name,
        n_rows=n_rows,
        repairs=repairs,
        person_weeks=None,
    )


@dataclass(frozen=True)
class _ChunkResult:
    spells: pd.DataFrame
    ftp: pd.DataFrame
    flows: pd.DataFrame
    municipalities: np.ndarray
    n_rows: int
    repairs: dict[str, int]


def _with_labels(part: pd.DataFrame, muns: np.ndarray) -> pd.DataFrame:
    """A chunk's aggregates keyed by the municipality's label, counts as int64.

    Chunks number municipalities differently, so combining needs the original label.
    """
    out = part.copy()
    out["municipality"] = muns[out["municipality"].to_numpy("int64")]
    for c in out.columns:
        if c not in ("municipality",):
            out[c] = out[c].astype("int64")
    return out


def _accumulate(total: pd.DataFrame | None, part: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """Add a chunk's integer aggregates to the running total: exact in any order."""
    values = [c for c in part.columns if c not in keys]
    if total is not None:
        part = pd.concat([total, part], ignore_index=True)
    return part.groupby(keys, sort=False, as_index=False)[values].sum()


def _encode(frame: pd.DataFrame, muns: np.ndarray) -> pd.DataFrame:
    """Municipality labels back to codes into the global ``muns``."""
    out = frame.copy()
    out["municipality"] = pd.Index(muns).get_indexer(frame["municipality"])
    return out
