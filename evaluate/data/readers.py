"""Reading data files: register files whole or in chunks, and the tables a study reads.

Register files (Parquet, CSV, SAS, Stata) stream in chunks
(:func:`iter_register`).  A study's tables (CSV, Parquet, Excel) are read by
:func:`read_table`, which also reads the common Danish Excel export (semicolon,
decimal comma, Windows-1252) and says what it detected.  Every file a reader
cannot use (missing, empty, not UTF-8, corrupted) ends in a
:class:`~evaluate.errors.DataError` naming the file, never in the parser's own
exception.
"""

from __future__ import annotations

import hashlib
import io
import re
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import pandas as pd
from pyarrow import ArrowException

from evaluate.errors import DataError
from evaluate.text import Text

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


# --- Tables a study reads: CSV (also Danish Excel exports), Parquet, Excel ----------

_BOMS = {b"\xff\xfe": "UTF-16", b"\xfe\xff": "UTF-16"}
_SEPARATORS = (";", ",", "\t", "|")
_SEP_NAMES = {";": "semicolon", ",": "comma", "\t": "tab", "|": "bar"}
_COMMA_DECIMAL = re.compile(r"^[-+]?\d+(\.\d{3})*,\d+$")
_DOT_GROUPED = re.compile(r"^[-+]?\d{1,3}(\.\d{3})+(,\d+)?$")
_DOT_DECIMAL = re.compile(r"^[-+]?\d*\.\d+$")
_SPEC_HINT = "in this [[data]] entry of the spec"


@dataclass(frozen=True)
class Table:
    """A table as read: the frame, the SHA-256 of the file's bytes, and how it was read.

    ``read_as`` lists what was detected rather than given (the separator, the
    decimal comma, the encoding), in words a provenance note can show.
    """

    frame: pd.DataFrame
    sha256: str
    read_as: tuple[str, ...] = ()

    def described(self) -> Text | str:
        """What was detected, as one sentence (empty when nothing was)."""
        return read_as_text(self.read_as)


def read_as_text(read_as: tuple[str, ...], say=str) -> Text | str:  # noqa: ANN001
    """``read_as`` notes as one sentence, each note spoken by ``say`` (a report's language)."""
    if not read_as:
        return ""
    what = ", ".join(say(note) for note in read_as)
    return Text("read.detected", "read with {what} (detected from the file)", what=what)


def text_problem(raw: bytes) -> str | None:
    """Why ``raw`` is not UTF-8 text, in words a user can act on, or None."""
    for bom, name in _BOMS.items():
        if raw.startswith(bom):
            return f"it is saved as {name}"
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError as err:
        if b"\x00" in raw:
            return "it is a binary file, not text"
        return f"byte {err.start} is not UTF-8 (a Windows/cp1252 or Latin-1 file?)"
    return None


def _plausible_cp1252(text: str) -> bool:
    """Every non-ASCII character is a letter or a sign a Danish file holds (æøå, é, §, €)."""
    return all(c.isascii() or c.isalpha() or c in "§½°€–—«»‘’“”·µ£" for c in text)


def _decode(raw: bytes, encoding: str | None) -> tuple[str, str | None]:
    """The text of ``raw`` and, when detected rather than given, the encoding used."""
    if encoding is not None:
        try:
            return raw.decode(encoding).removeprefix("\ufeff"), None
        except UnicodeDecodeError as err:
            raise DataError(
                f"byte {err.start} is not {encoding}; check encoding = {encoding!r} "
                f"{_SPEC_HINT} (a Danish Excel export is usually 'cp1252', newer ones 'utf-8')"
            ) from None
    problem = text_problem(raw)
    if problem is None:
        return raw.decode("utf-8").removeprefix("\ufeff"), None
    if problem.startswith("it is saved as"):
        raise DataError(
            f"{problem}; save the file as UTF-8 (in Excel: 'CSV UTF-8'), or set "
            f'encoding = "utf-16" {_SPEC_HINT}'
        )
    if "binary" in problem:
        raise DataError(f"{problem}; give a CSV, Parquet or Excel file")
    try:
        text = raw.decode("cp1252")
    except UnicodeDecodeError:
        text = None
    if text is None or not _plausible_cp1252(text):
        raise DataError(
            f'{problem}; set encoding (e.g. encoding = "cp1252" for a Danish Excel '
            f'export, or "latin-1") {_SPEC_HINT}, or save the file as UTF-8'
        )
    return text, "cp1252"


def _lines(text: str, n: int = 200) -> list[str]:
    return [line for line in text.splitlines()[:n] if line.strip()]


def _sniff_separator(lines: list[str]) -> str:
    if not lines:
        return ","
    header = lines[0]
    candidates = [s for s in _SEPARATORS if s in header]
    if len(candidates) <= 1:
        return candidates[0] if candidates else ","
    steady = [s for s in candidates if all(line.count(s) == header.count(s) for line in lines[:20])]
    if len(steady) == 1:
        return steady[0]
    shown = " and ".join(f"{_SEP_NAMES[s]}s" for s in candidates)
    raise DataError(
        f"the header holds both {shown}, so the separator is ambiguous; set sep "
        f'(e.g. sep = ";" for a Danish Excel export) {_SPEC_HINT}'
    )


def _sniff_numbers(lines: list[str], sep: str) -> tuple[str, str | None]:
    """``(decimal, thousands)`` from the cells of a file split by ``sep`` (not a comma)."""
    cells = [c.strip().strip('"') for line in lines[1:] for c in line.split(sep)]
    comma = [c for c in cells if _COMMA_DECIMAL.match(c)]
    grouped = [c for c in cells if _DOT_GROUPED.match(c)]
    dotted = [c for c in cells if _DOT_DECIMAL.match(c) and not _DOT_GROUPED.match(c)]
    if comma and dotted:
        raise DataError(
            f"numbers are written both with a decimal comma ({comma[0]!r}) and a decimal "
            f'point ({dotted[0]!r}); set decimal = "," or "." {_SPEC_HINT}'
        )
    if comma:
        return ",", "." if grouped else None
    if grouped and not dotted:
        raise DataError(
            f"{grouped[0]!r} may be a number with a thousands point or with a decimal "
            f'point; set decimal = "," and thousands = "." (Danish) or decimal = "." '
            f"{_SPEC_HINT}"
        )
    return ".", None


def _read_csv(
    raw: bytes,
    sep: str | None,
    decimal: str | None,
    thousands: str | None,
    encoding: str | None,
) -> tuple[pd.DataFrame, list[str]]:
    text, detected_encoding = _decode(raw, encoding)
    lines = _lines(text)
    notes = []
    if sep is None:
        sep = _sniff_separator(lines)
        if sep != ",":
            notes.append(Text("read.separator", "separator {sep}", sep=repr(sep)))
    if decimal is None and sep != ",":
        decimal, guessed = _sniff_numbers(lines, sep)
        if decimal == ",":
            notes.append(Text("read.decimal_comma", "decimal comma"))
        if thousands is None and guessed is not None:
            thousands = guessed
            notes.append(Text("read.thousands", "thousands separator {sep}", sep=repr(thousands)))
    if detected_encoding is not None:
        notes.append(Text("read.encoding", "encoding {encoding}", encoding=detected_encoding))
    frame = pd.read_csv(io.StringIO(text), sep=sep, decimal=decimal or ".", thousands=thousands)
    return frame, notes


def _text_numbers(frame: pd.DataFrame, decimal: str, thousands: str | None) -> pd.DataFrame:
    """Text columns of an Excel sheet written as Danish numbers ("1.234,5"), as numbers;
    a column with any cell that is not such a number stays text."""
    out = frame.copy()
    for column in out.columns:
        kind = out[column]
        if not (pd.api.types.is_object_dtype(kind) or pd.api.types.is_string_dtype(kind)):
            continue
        text = out[column].astype("string").str.strip()
        if thousands:
            text = text.str.replace(thousands, "", regex=False)
        numbers = pd.to_numeric(text.str.replace(decimal, ".", regex=False), errors="coerce")
        if text.notna().any() and (numbers.notna() == text.notna()).all():
            out[column] = numbers.astype(float)
    return out


def _read_excel(
    raw: bytes, sheet: str | int | None, decimal: str | None, thousands: str | None
) -> tuple[pd.DataFrame, list[str]]:
    book = pd.ExcelFile(io.BytesIO(raw))
    names = book.sheet_names
    notes = []
    if sheet is None:
        sheet = 0
        if len(names) > 1:
            notes.append(
                Text(
                    "read.sheet",
                    "sheet {sheet} (the first of {n})",
                    sheet=repr(names[0]),
                    n=len(names),
                )
            )
    elif isinstance(sheet, str) and sheet not in names:
        raise DataError(
            f"the workbook has no sheet {sheet!r}; its sheets: {', '.join(map(repr, names))}. "
            f"Set sheet {_SPEC_HINT}"
        )
    elif isinstance(sheet, int) and not 0 <= sheet < len(names):
        raise DataError(
            f"the workbook has {len(names)} sheet(s) ({', '.join(map(repr, names))}); sheet = "
            f"{sheet} does not exist (sheets count from 0)"
        )
    frame = pd.read_excel(book, sheet_name=sheet)
    if (decimal is not None and decimal != ".") or thousands is not None:
        frame = _text_numbers(frame, decimal or ".", thousands)
    return frame, notes


def read_table(
    path: str | Path,
    *,
    sep: str | None = None,
    decimal: str | None = None,
    thousands: str | None = None,
    encoding: str | None = None,
    sheet: str | int | None = None,
    raw: bytes | None = None,
) -> Table:
    """Read a CSV, Parquet or Excel file as a study does, detecting a Danish CSV export.

    An option left out of a CSV is detected when the file leaves no doubt: a
    header split only by semicolons, numbers written only with a decimal comma,
    bytes that are not UTF-8 but read as Windows-1252 Danish letters.  What was
    detected is listed in :attr:`Table.read_as`; where the file leaves doubt (both
    a decimal comma and a decimal point, "1.234" alone) the
    :class:`~evaluate.errors.DataError` says which option to set.  ``sheet`` picks a
    sheet of a workbook (name, or number from 0); ``decimal``/``thousands`` on a
    workbook convert text cells written as Danish numbers.  A file the parser
    cannot read (empty, corrupted, not the format its name says) is a
    :class:`~evaluate.errors.DataError` too, never the parser's own exception.

    Examples
    --------
    >>> table = read_table("jobindsats.csv")  # doctest: +SKIP
    >>> table.read_as                           # doctest: +SKIP
    ("separator ';'", 'decimal comma', 'encoding cp1252')
    """
    path = Path(path)
    try:
        return _read_table(path, sep, decimal, thousands, encoding, sheet, raw)
    except DataError:
        raise
    except pd.errors.EmptyDataError:
        raise DataError("is empty: no header and no rows") from None
    except (
        ValueError, OSError, KeyError, ImportError, EOFError, zipfile.BadZipFile, ArrowException
    ) as err:  # fmt: skip
        # pandas' and pyarrow's parser errors are ValueErrors; a broken xlsx a zip error
        reason = " ".join(str(err).split())[:200] or type(err).__name__
        raise DataError(
            f"is not a readable {path.suffix.lstrip('.').upper()} file ({reason}). "
            "Open it in the program that made it and save it again"
        ) from None


def _read_table(path: Path, sep, decimal, thousands, encoding, sheet, raw) -> Table:  # noqa: ANN001
    if raw is None:
        try:
            raw = path.read_bytes()
        except OSError as err:
            raise DataError(f"cannot be read ({err.strerror})") from None
    suffix = path.suffix.lower()
    notes: list[str] = []
    if suffix in (".csv", ".txt"):
        frame, notes = _read_csv(raw, sep, decimal, thousands, encoding)
    elif suffix in (".parquet", ".pq"):
        frame = pd.read_parquet(io.BytesIO(raw))
    elif suffix in (".xlsx", ".xls", ".xlsm"):
        frame, notes = _read_excel(raw, sheet, decimal, thousands)
    else:
        raise DataError(
            f"cannot read {suffix or 'extension-less'!r} files; use CSV, Parquet or Excel"
        )
    return Table(frame, hashlib.sha256(raw).hexdigest(), tuple(notes))
