"""Reading register files: Parquet, CSV, SAS and Stata, whole or in chunks.

Every file a reader cannot use (missing, empty, not UTF-8, corrupted) ends in a
:class:`~evaluate.errors.DataError` naming the file, never in the parser's own
exception.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Literal

import pandas as pd
from pyarrow import ArrowException

from evaluate.errors import DataError

Format = Literal["parquet", "csv", "sas", "stata"]
_SUFFIX: dict[str, Format] = {
    ".parquet": "parquet",
    ".pq": "parquet",
    ".csv": "csv",
    ".sas7bdat": "sas",
    ".dta": "stata",
}


def _format_of(path: Path, fmt: Format | None) -> Format:
    if fmt is not None:
        return fmt
    try:
        return _SUFFIX[path.suffix.lower()]
    except KeyError:
        raise DataError(
            f"Cannot tell the format of {path.name!r}; pass format='parquet'|'csv'|'sas'|'stata'."
        ) from None


def _pyreadstat():  # noqa: ANN202
    try:
        import pyreadstat
    except ImportError:  # pragma: no cover - depends on the environment
        raise DataError(
            "Reading SAS (.sas7bdat) and Stata (.dta) files needs pyreadstat: "
            "pip install pyreadstat"
        ) from None
    return pyreadstat


def iter_register(
    path: str | Path,
    *,
    format: Format | None = None,
    columns: list[str] | None = None,
    chunk_rows: int = 5_000_000,
) -> Iterator[pd.DataFrame]:
    """Stream a register file in chunks of at most ``chunk_rows`` rows.

    Parquet is read by row group batches (pyarrow), CSV by pandas chunks and
    SAS/Stata by :func:`pyreadstat.read_file_in_chunks`, so a file larger than
    memory can be processed chunk by chunk.
    """
    path = Path(path)
    if not path.is_file():
        raise DataError(f"Register file {str(path)!r} does not exist or is not a file.")
    fmt = _format_of(path, format)
    try:
        yield from _chunks(path, fmt, columns, chunk_rows)
    except DataError:
        raise
    except pd.errors.EmptyDataError:
        raise DataError(f"Register file {str(path)!r} is empty: no header and no rows.") from None
    except UnicodeDecodeError as err:
        raise DataError(
            f"Register file {str(path)!r}: byte {err.start} is not UTF-8 (a UTF-16 or "
            "cp1252 file?); save it as UTF-8 and run again."
        ) from None
    except (ValueError, OSError, ArrowException) as err:  # parser, pyarrow, pyreadstat
        reason = " ".join(str(err).split())[:200] or type(err).__name__
        raise DataError(
            f"Register file {str(path)!r} is not a readable {fmt} file ({reason})."
        ) from None


def _chunks(path: Path, fmt: Format, columns: list[str] | None, chunk_rows: int):  # noqa: ANN202
    if fmt == "parquet":
        import pyarrow.parquet as pq

        for batch in pq.ParquetFile(path).iter_batches(batch_size=chunk_rows, columns=columns):
            yield batch.to_pandas()
    elif fmt == "csv":
        yield from pd.read_csv(path, usecols=columns, chunksize=chunk_rows)
    else:
        prs = _pyreadstat()
        reader = prs.read_sas7bdat if fmt == "sas" else prs.read_dta
        try:
            for chunk, _meta in prs.read_file_in_chunks(
                reader, str(path), chunksize=chunk_rows, usecols=columns
            ):
                yield chunk
        except (prs.ReadstatError, prs.PyreadstatError) as err:
            raise DataError(
                f"Register file {str(path)!r} is not a readable {fmt} file ({err})."
            ) from None


def read_register(
    path: str | Path, *, format: Format | None = None, columns: list[str] | None = None
) -> pd.DataFrame:
    """Read a whole register file (Parquet, CSV, SAS ``.sas7bdat`` or Stata ``.dta``).

    Examples
    --------
    >>> read_register("register.parquet", columns=["person", "week", "status"])  # doctest: +SKIP
    """
    chunks = list(iter_register(path, format=format, columns=columns))
    if not chunks or all(chunk.empty for chunk in chunks):
        raise DataError(f"Register file {str(path)!r} has no rows.")
    return pd.concat(chunks, ignore_index=True) if len(chunks) > 1 else chunks[0]
