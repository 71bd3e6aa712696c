"""``[[data]]`` entries that come from a public table: a snapshot written by
``evaluate fetch`` (Parquet plus its JSON sidecar), and the treatment column a
public table never has (``[data.treatment]``, built from the treated units' starts).
"""

from __future__ import annotations

import pandas as pd

from evaluate.data.periods import parse_period
from evaluate.errors import DataError, SpecError
from evaluate.spec import DataSource
from evaluate.study_result import LoadedData
from evaluate.text import Text


def read_snapshot_entry(source: DataSource, base) -> LoadedData:
    """A snapshot, its sidecar checked; the report cites table and retrieval date."""
    from evaluate.sources import read_snapshot

    snap = read_snapshot(base / str(source.snapshot))
    meta = snap.meta
    citation = Text(
        "snapshot.citation",
        "{provider}, table {table}, retrieved {date}",
        provider=str(meta["provider"]),
        table=str(meta["table"]),
        date=snap.retrieved_date,
    )
    if meta.get("simulated"):
        citation = Text(
            "snapshot.citation_simulated", "{citation} (simulated values)", citation=citation
        )
    cited = citation
    if source.source:
        cited = Text("line.sources", "{a}; {b}", a=source.source, b=citation)
    shown = source.model_copy(update={"path": source.snapshot, "source": cited})
    return LoadedData(shown, snap.frame, snap.sha256, len(snap.frame))


def with_treatment(source: DataSource, frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with the ``[data.treatment]`` column added (a copy; the caller's frame
    is not changed).  Starts are read like the time column's periods."""
    spec = source.treatment
    if spec is None:
        return frame
    where = "[data.treatment]"
    for column in (spec.unit, spec.time):
        if column not in frame.columns:
            raise DataError(
                f"{where}: no column {column!r}; columns are {', '.join(map(str, frame.columns))}"
            )
    if spec.column in frame.columns:
        raise DataError(f"{where}: column {spec.column!r} exists already; choose another name")
    names = frame[spec.unit].astype(str)
    missing = sorted(set(spec.starts) - set(names))
    if missing:
        raise DataError(
            f"{where}: unit(s) {missing} not found in column {spec.unit!r} "
            f"(e.g. {sorted(set(names))[:5]})"
        )
    times = frame[spec.time]
    freq = None
    if isinstance(times.dtype, pd.PeriodDtype) and times.notna().any():
        freq = times.dropna().iloc[0].freqstr
    treated = pd.Series(0, index=frame.index, dtype="int64")
    for unit, start in spec.starts.items():
        rows = names == unit
        try:
            first = parse_period(start, freq, what=f"start of {unit!r}") if freq else start
            treated[rows] = (times[rows] >= first).astype("int64")
        except (TypeError, SpecError):
            raise DataError(
                f"{where}: start {start!r} of {unit!r} cannot be compared with column "
                f"{spec.time!r}; write it as the column writes periods"
            ) from None
    return frame.assign(**{spec.column: treated})
