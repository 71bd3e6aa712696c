"""Cells of the workbook: values openpyxl writes validly, text that stays text, and
the workbook's own formulas together with the value each has at the report's numbers.

Every text cell is text, never a formula: a label that starts like a formula (``=``,
``+``, ``-``, ``@``, tab, carriage return; OWASP's CSV-injection list) is stored as a
string with Excel's quote prefix, so neither opening nor editing the cell runs it.
The only formulas are the ones the workbook writes itself (:class:`Formulas`); they
reference cells, never text from the study.
"""

from __future__ import annotations

import math
import re
import tomllib
from datetime import datetime
from functools import cache
from importlib.resources import files
from typing import Any

from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE, Cell
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from evaluate.report.fmt import strings
from evaluate.text import Num, Pct, Period, Text, Unit, say

FIXED_TIME = datetime(1980, 1, 1)
"""The time written as created/modified and on every zip entry: the earliest a zip
entry can carry, so no reader mistakes it for the time the study was run."""

THOUSANDS = "#,##0"
DECIMALS = "#,##0.000"
PERCENT = "0.0%"
P_VALUE = "0.000"
FACTOR = "0.0000"
RATIO = "0.00"

BOLD = Font(bold=True)
TITLE = Font(bold=True, size=14)
WARN = Font(bold=True, color="9C0006")
INPUT_FONT = Font(color="0000FF")
"""Inputs in blue, formulas in black: the usual convention of financial models."""
INPUT_FILL = PatternFill("solid", fgColor="FFF2CC")
HEAD_FILL = PatternFill("solid", fgColor="DDEBF7")
NET_FILL = PatternFill("solid", fgColor="F2F2F2")
_BAD_SHEET_CHARS = re.compile(r"[\[\]:*?/\\]")
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
"""First characters that make a spreadsheet treat typed text as a formula (OWASP)."""


@cache
def excel_strings(language: str) -> dict[str, str]:
    """The workbook's words in ``language``: the report's words (``locale/<language>.toml``)
    plus the workbook's own (``locale/excel_<language>.toml``)."""
    with (files("evaluate.report") / "locale" / f"excel_{language}.toml").open("rb") as handle:
        extra = tomllib.load(handle)
    return {**strings(language), **extra}


def value(v: Any) -> Any:
    """A cell value openpyxl writes validly: NaN/inf would corrupt the sheet XML."""
    if v is None:
        return None
    if isinstance(v, (Text, Num, Pct, Unit, Period)):  # a sentence: in the book's language
        return say(v)
    if hasattr(v, "item") and not isinstance(v, str):  # numpy scalar
        v = v.item()
    if isinstance(v, float) and not math.isfinite(v):
        return None
    if isinstance(v, str):
        # Control characters cannot be stored in the sheet XML; show where they were.
        return ILLEGAL_CHARACTERS_RE.sub("\ufffd", v)
    return v


class Formulas:
    """The workbook's own formulas, each with its value at the report's numbers.

    openpyxl writes a formula without a value; :func:`evaluate.report.excel._save`
    puts :attr:`cached` into the sheet XML, so a viewer that does not recalculate
    still shows the numbers (Excel and LibreOffice recalculate on opening anyway).
    """

    def __init__(self) -> None:
        self.cached: dict[tuple[str, str], float | int | str] = {}

    def put(
        self, ws: Worksheet, row: int, col: int, formula: str, cached: Any, fmt: str | None = None
    ) -> Cell:
        cell = ws.cell(row=row, column=col, value=f"={formula}")
        v = value(cached)
        self.cached[(ws.title, cell.coordinate)] = "" if v is None else v
        if fmt is not None:
            cell.number_format = fmt
        return cell

    def __contains__(self, key: tuple[str, str]) -> bool:
        return key in self.cached


def quote(title: str) -> str:
    """A sheet name as a formula names it: always quoted, quotes doubled."""
    return "'" + title.replace("'", "''") + "'"


def ref(ws: Worksheet, row: int, col: int, *, here: Worksheet | None = None) -> str:
    """The absolute reference of a cell, with its sheet unless it is on ``here``."""
    coord = f"${get_column_letter(col)}${row}"
    return coord if ws is here else f"{quote(ws.title)}!{coord}"


def text_only(wb: Workbook, formulas: Formulas) -> None:
    """Store every text cell as text, except the workbook's own formulas; text that
    looks like a formula gets Excel's quote prefix, so it stays text even when
    someone edits the cell."""
    for ws in wb.worksheets:
        # The written cells only: iter_rows() would create (and save) empty ones.
        for cell in list(ws._cells.values()):
            if not isinstance(cell.value, str) or (ws.title, cell.coordinate) in formulas:
                continue
            cell.value = value(cell.value)
            cell.data_type = "s"
            if cell.value.startswith(FORMULA_PREFIXES):
                cell.quotePrefix = True


def unit_format(unit: str) -> str:
    if unit == "share":
        return PERCENT
    if unit == "DKK":
        return THOUSANDS
    return DECIMALS


def header(ws: Worksheet, row: int, labels: list[str]) -> None:
    for col, label in enumerate(labels, start=1):
        cell = ws.cell(row=row, column=col, value=label)
        cell.font = BOLD
        cell.fill = HEAD_FILL
        cell.alignment = Alignment(wrap_text=True, vertical="top")


def write_row(ws: Worksheet, row: int, values: list[Any], formats: list[str | None]) -> None:
    for col, (v, fmt) in enumerate(zip(values, formats, strict=True), start=1):
        cell = ws.cell(row=row, column=col, value=value(v))
        if fmt is not None:
            cell.number_format = fmt


def widths(ws: Worksheet, columns: dict[int, float]) -> None:
    for col, width in columns.items():
        ws.column_dimensions[get_column_letter(col)].width = width


def sheet_name(wanted: str, taken: set[str]) -> str:
    """An Excel-legal sheet name (no []:*?/\\, at most 31 characters), unique ignoring case."""
    base = _BAD_SHEET_CHARS.sub("_", wanted).strip("'") or "Sheet"
    name = base[:31]
    n = 2
    while name.lower() in taken:
        suffix = f" ({n})"
        name = base[: 31 - len(suffix)] + suffix
        n += 1
    taken.add(name.lower())
    return name
