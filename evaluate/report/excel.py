"""The Excel workbook of a study: effects, business cases, assumptions, provenance.

A council's economist reworks a business case in Excel, so the workbook keeps the
case live: the line amounts are numbers, the Net row and the Total column are
``=SUM(...)`` formulas.  Labels follow the study's language; number formats are
Excel's own (``#,##0``), which Excel shows with the reader's separators
(1,234 or 1.234).

Every text cell is text, never a formula: a label that starts like a formula
(``=``, ``+``, ``-``, ``@``, tab, carriage return; OWASP's CSV-injection list) is
stored as a string with Excel's quote prefix, so neither opening nor editing the
cell runs it.  The only formulas are the workbook's own sums (:func:`_text_only`).

The file is deterministic: the same study gives the same bytes.  openpyxl stamps
the save time into ``docProps/core.xml`` and every zip entry, so the archive is
rewritten with fixed times (see :func:`_deterministic`).
"""

from __future__ import annotations

import io
import math
import re
import tomllib
import zipfile
from datetime import datetime
from functools import cache
from importlib.resources import files
from pathlib import Path
from typing import TYPE_CHECKING, Any

from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet
from openpyxl.xml.functions import tostring

import evaluate
from evaluate.data.readers import read_as_text
from evaluate.report.fmt import Formatter, strings
from evaluate.text import Num, Pct, Period, Text, Unit, say, speaking

if TYPE_CHECKING:
    from evaluate.business_case import BusinessCase
    from evaluate.study_result import StudyResult

__all__ = ["build_workbook", "excel_strings", "write_excel"]

FIXED_TIME = datetime(1980, 1, 1)
"""The time written as created/modified and on every zip entry: the earliest a zip
entry can carry, so no reader mistakes it for the time the study was run."""

THOUSANDS = "#,##0"
DECIMALS = "#,##0.000"
PERCENT = "0.0%"
P_VALUE = "0.000"

_BOLD = Font(bold=True)
_TITLE = Font(bold=True, size=14)
_WARN = Font(bold=True, color="9C0006")
_HEAD_FILL = PatternFill("solid", fgColor="DDEBF7")
_NET_FILL = PatternFill("solid", fgColor="F2F2F2")
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


def _value(value: Any) -> Any:
    """A cell value openpyxl writes validly: NaN/inf would corrupt the sheet XML."""
    if value is None:
        return None
    if isinstance(value, (Text, Num, Pct, Unit, Period)):  # a sentence: in the book's language
        return say(value)
    if hasattr(value, "item") and not isinstance(value, str):  # numpy scalar
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, str):
        # Control characters cannot be stored in the sheet XML; show where they were.
        return ILLEGAL_CHARACTERS_RE.sub("\ufffd", value)
    return value


def _text_only(wb: Workbook, formulas: set[tuple[str, str]]) -> None:
    """Store every text cell as text, except the workbook's own ``formulas``
    (sheet title, cell); text that looks like a formula gets Excel's quote prefix,
    so it stays text even when someone edits the cell."""
    for ws in wb.worksheets:
        # The written cells only: iter_rows() would create (and save) empty ones.
        for cell in list(ws._cells.values()):
            if not isinstance(cell.value, str) or (ws.title, cell.coordinate) in formulas:
                continue
            cell.value = _value(cell.value)
            cell.data_type = "s"
            if cell.value.startswith(FORMULA_PREFIXES):
                cell.quotePrefix = True


def _unit_format(unit: str) -> str:
    if unit == "share":
        return PERCENT
    if unit == "DKK":
        return THOUSANDS
    return DECIMALS


def _header(ws: Worksheet, row: int, labels: list[str]) -> None:
    for col, label in enumerate(labels, start=1):
        cell = ws.cell(row=row, column=col, value=label)
        cell.font = _BOLD
        cell.fill = _HEAD_FILL
        cell.alignment = Alignment(wrap_text=True, vertical="top")


def _row(ws: Worksheet, row: int, values: list[Any], formats: list[str | None]) -> None:
    for col, (value, fmt) in enumerate(zip(values, formats, strict=True), start=1):
        cell = ws.cell(row=row, column=col, value=_value(value))
        if fmt is not None:
            cell.number_format = fmt


def _widths(ws: Worksheet, widths: dict[int, float]) -> None:
    for col, width in widths.items():
        ws.column_dimensions[get_column_letter(col)].width = width


def _sheet_name(wanted: str, taken: set[str]) -> str:
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


# --- sheets -------------------------------------------------------------------
def _summary(ws: Worksheet, result: StudyResult, t: dict[str, str], level: str) -> None:
    ws["A1"] = _value(result.spec.study.title)
    ws["A1"].font = _TITLE
    row = 2
    if any(d.source.simulated for d in result.data.values()):
        ws.cell(row=row, column=1, value=t["simulated_banner"]).font = _WARN
        row += 1
    row += 1
    ws.cell(row=row, column=1, value=t["business_cases"]).font = _BOLD
    row += 1
    _header(
        ws,
        row,
        [
            t["key"],
            t["business_case"],
            t["price_level"],
            t["net_gain_dkk"],
            t["npv_dkk"],
            t["net_gain_ci_low"].format(level=level),
            t["net_gain_ci_high"].format(level=level),
            t["probability_of_gain"],
            t["break_even_share"],
            t["payback"],
            t["gross_saving_dkk"],
            t["interval_of"],
        ],
    )
    for key, case in result.business_cases.items():
        row += 1
        k = case.key_figures()
        if case.payback_reason is not None:
            payback: Any = t[f"payback_none_{case.payback_reason}"]
        else:
            payback = t["never"] if k["payback_year"] is None else k["payback_year"]
        quantity = t["verdict"][
            f"quantity_{'gross' if case.gross else 'net'}_{'pv' if case.discount else 'plain'}"
        ]
        _row(
            ws,
            row,
            [
                key,
                case.title,
                case.price_level,
                k["net_gain"],
                k["npv"],
                k["net_gain_ci_low"],
                k["net_gain_ci_high"],
                k["probability_of_gain"],
                k["break_even_share_of_effect"],
                payback,
                k["gross_saving"],
                quantity,
            ],
            [
                None,
                None,
                None,
                THOUSANDS,
                THOUSANDS,
                THOUSANDS,
                THOUSANDS,
                "0%",
                "0%",
                "0",
                THOUSANDS,
                None,
            ],
        )
    row += 2
    ws.cell(row=row, column=1, value=t["main_effects"]).font = _BOLD
    row += 1
    _header(
        ws,
        row,
        [
            t["key"],
            t["effect"],
            t["method"],
            t["estimate"],
            t["ci_low"].format(level=level),
            t["ci_high"].format(level=level),
            t["p_value"],
            t["unit"],
        ],
    )
    for key, effect in result.effects.items():
        row += 1
        main = effect.to_frame().iloc[0]
        fmt = _unit_format(str(main["unit"]))
        _row(
            ws,
            row,
            [
                key,
                main["term"],
                effect.method,
                main["estimate"],
                main["ci_low"],
                main["ci_high"],
                main["p_value"],
                Unit(main["unit"]),
            ],
            [None, None, None, fmt, fmt, fmt, P_VALUE, None],
        )
    _widths(ws, {1: 24, 2: 44, 3: 36, **{c: 16 for c in range(4, 11)}})


def _effects(ws: Worksheet, result: StudyResult, t: dict[str, str], level: str) -> None:
    labels = [
        t["key"],
        t["term"],
        t["estimate"],
        t["std_error"],
        t["ci_low"].format(level=level),
        t["ci_high"].format(level=level),
        t["p_value"],
        t["unit"],
        t["method"],
        t["estimand"],
        t["inference"],
        t["population"],
        t["source"],
        t["simulated"],
    ]
    _header(ws, 1, labels)
    row = 1
    for key, effect in result.effects.items():
        prov = effect.provenance
        for term in effect.to_frame().itertuples(index=False):
            row += 1
            fmt = _unit_format(str(term.unit))
            _row(
                ws,
                row,
                [
                    key,
                    term.term,
                    term.estimate,
                    term.std_error,
                    term.ci_low,
                    term.ci_high,
                    term.p_value,
                    Unit(term.unit),
                    effect.method,
                    effect.estimand,
                    effect.inference,
                    effect.population,
                    prov.source,
                    t["yes"] if prov.simulated else t["no"],
                ],
                [None, None, fmt, fmt, fmt, fmt, P_VALUE, *[None] * 7],
            )
    ws.freeze_panes = "C2"
    _widths(ws, {1: 24, 2: 48, **{c: 14 for c in range(3, 8)}, 8: 18, 9: 36, 10: 40})
    _widths(ws, {11: 36, 12: 36, 13: 48, 14: 10})


def _case(ws: Worksheet, case: BusinessCase, t: dict[str, str]) -> set[tuple[str, str]]:
    """The Danish business-case table, in 1,000 DKK, live: Net and Total are formulas
    (returned as the set of their cells)."""
    table = case.table()  # 1,000 DKK, the case's sign convention, Net row and Total last
    years = list(table.columns[:-1])
    lines = list(table.index[:-1])
    formulas: set[tuple[str, str]] = set()
    ws["A1"] = _value(case.title)
    ws["A1"].font = _TITLE
    ws["A2"] = _value(f"{t['price_level']}: {case.price_level}")
    ws["A3"] = t["amounts_in"]
    head = 5
    _header(ws, head, [t["line"], *years, t["total"]])
    first, last = head + 1, head + len(lines)
    total_col = len(years) + 2
    for i, name in enumerate(lines):
        r = first + i
        ws.cell(row=r, column=1, value=_value(name))
        for j, year in enumerate(years):
            ws.cell(
                row=r, column=2 + j, value=_value(table.loc[name, year])
            ).number_format = THOUSANDS
        span = f"B{r}:{get_column_letter(total_col - 1)}{r}"
        cell = ws.cell(row=r, column=total_col, value=f"=SUM({span})")
        cell.number_format = THOUSANDS
        formulas.add((ws.title, cell.coordinate))
    net = last + 1
    ws.cell(row=net, column=1, value=t["net"])
    for col in range(2, total_col + 1):
        letter = get_column_letter(col)
        cell = ws.cell(row=net, column=col, value=f"=SUM({letter}{first}:{letter}{last})")
        formulas.add((ws.title, cell.coordinate))
    for col in range(1, total_col + 1):
        cell = ws.cell(row=net, column=col)
        cell.font = _BOLD
        cell.fill = _NET_FILL
        if col > 1:
            cell.number_format = THOUSANDS
    row = net + 2
    sign_note = t["sign_municipal"] if case.sign == "municipal" else t["sign_plain"]
    ws.cell(row=row, column=1, value=sign_note).font = Font(italic=True)
    discounting = t["undiscounted"] if case.discount is None else case.discount.source
    for text in (f"{t['discounting']}: {discounting}", *case.notes, t["formula_note"]):
        row += 1
        ws.cell(row=row, column=1, value=_value(text))
    ws.freeze_panes = f"B{head + 1}"
    width = max([len(str(n)) for n in lines] + [len(t["line"]), 12]) + 2
    _widths(ws, {1: min(width, 60), **{c: 13 for c in range(2, total_col + 1)}})
    return formulas


def _assumptions(ws: Worksheet, result: StudyResult, t: dict[str, str], f: Formatter) -> None:
    ws["A1"] = t["settings"]
    ws["A1"].font = _BOLD
    _header(
        ws,
        2,
        [
            t["key"],
            t["business_case"],
            t["price_level"],
            t["sign"],
            t["discounting"],
            t["base_year"],
            t["n_draws"],
            t["seed"],
            t["notes"],
        ],
    )
    row = 2
    for key, case in result.business_cases.items():
        row += 1
        sign = t["sign_municipal_short"] if case.sign == "municipal" else t["sign_plain_short"]
        base = case.years[0] if case.base_year is None else case.base_year
        _row(
            ws,
            row,
            [
                key,
                case.title,
                case.price_level,
                sign,
                t["undiscounted"] if case.discount is None else case.discount.source,
                base if case.discount is not None else None,
                case.n_draws,
                case.seed,
                " ".join(case.notes),
            ],
            [None, None, None, None, None, "0", THOUSANDS, "0", None],
        )
    row += 2
    ws.cell(row=row, column=1, value=t["lines"]).font = _BOLD
    row += 1
    _header(
        ws,
        row,
        [
            t["key"],
            t["line"],
            t["perspective"],
            t["linked_effect"],
            t["total_dkk"],
            t["per_unit"],
            t["source"],
            t["note"],
        ],
    )
    for key, case in result.business_cases.items():
        for line in case.lines:
            row += 1
            per_unit = "; ".join(f"{y}: {f.number(p, 0)}" for y, p in sorted(line.per_unit.items()))
            _row(
                ws,
                row,
                [
                    key,
                    line.name,
                    t.get(f"perspective_{line.perspective}", line.perspective),
                    "" if line.effect is None else line.effect.name,
                    line.total,
                    per_unit,
                    line.source,
                    line.note,
                ],
                [None, None, None, None, THOUSANDS, None, None, None],
            )
    discounted = {
        case.discount.source: case.discount
        for case in result.business_cases.values()
        if case.discount is not None
    }
    if discounted:
        row += 2
        ws.cell(row=row, column=1, value=t["discounting"]).font = _BOLD
        row += 1
        _header(ws, row, [t["from_year"], t["to_year"], t["rate"], t["source"]])
        for schedule in discounted.values():
            for step in schedule.frame.itertuples(index=False):
                row += 1
                _row(
                    ws,
                    row,
                    [step.from_year, step.to_year, step.rate, step.source],
                    ["0", "0", "0.0%", None],
                )
    _widths(ws, {1: 24, 2: 40, 3: 36, 4: 30, 5: 36, 6: 40, 7: 60, 8: 48, 9: 60})


def _provenance(ws: Worksheet, result: StudyResult, t: dict[str, str], level: str) -> None:
    spec = result.spec
    items = [
        (t["study"], spec.study.title),
        (t["study_spec_sha256"], result.spec_sha256),
        (t["package_version"], evaluate.__version__),
        (t["seed"], spec.study.seed),
        (t["language"], spec.study.language),
        (t["confidence_level"], level),
    ]
    for row, (label, value) in enumerate(items, start=1):
        ws.cell(row=row, column=1, value=label).font = _BOLD
        ws.cell(row=row, column=2, value=_value(value))
    row = len(items) + 2
    ws.cell(row=row, column=1, value=t["data_name"]).font = _BOLD
    row += 1
    _header(
        ws,
        row,
        [t["key"], t["file"], t["rows"], t["sha256"], t["simulated"], t["source"], t["note"]],
    )
    for key, data in result.data.items():
        row += 1
        _row(
            ws,
            row,
            [
                key,
                data.source.path,
                data.rows,
                data.sha256,
                t["yes"] if data.source.simulated else t["no"],
                data.source.source,
                ". ".join(p for p in (data.source.note, say(read_as_text(data.read_as, say))) if p),
            ],
            [None, None, THOUSANDS, None, None, None, None],
        )
    row += 2
    ws.cell(row=row, column=1, value=t["effect_provenance"]).font = _BOLD
    row += 1
    _header(
        ws,
        row,
        [t["key"], t["effect"], t["rows"], t["rows_dropped"], t["data_hash"], t["source"]],
    )
    for key, effect in result.effects.items():
        row += 1
        prov = effect.provenance
        _row(
            ws,
            row,
            [key, effect.name, prov.n_rows, prov.n_dropped, prov.data_hash or "", prov.source],
            [None, None, THOUSANDS, THOUSANDS, None, None],
        )
    _widths(ws, {1: 30, 2: 44, 3: 10, 4: 68, 5: 12, 6: 60, 7: 60})


# --- workbook -----------------------------------------------------------------
def build_workbook(result: StudyResult) -> Workbook:
    """The study's workbook (not yet saved): Summary, Effects, one sheet per business
    case, Assumptions and Provenance, labelled in the study's language."""
    language = result.spec.study.language
    t = excel_strings(language)
    f = Formatter(language)
    level = f.percent(1 - result.spec.report.alpha, 0)
    with speaking(f.say):
        return _workbook(result, t, f, level)


def _workbook(result: StudyResult, t: dict[str, str], f: Formatter, level: str) -> Workbook:
    wb = Workbook()
    taken: set[str] = set()
    summary = wb.active
    summary.title = _sheet_name(t["sheet_summary"], taken)
    _summary(summary, result, t, level)
    _effects(wb.create_sheet(_sheet_name(t["sheet_effects"], taken)), result, t, level)
    formulas: set[tuple[str, str]] = set()
    for key, case in result.business_cases.items():
        formulas |= _case(wb.create_sheet(_sheet_name(key, taken)), case, t)
    _assumptions(wb.create_sheet(_sheet_name(t["sheet_assumptions"], taken)), result, t, f)
    _provenance(wb.create_sheet(_sheet_name(t["sheet_provenance"], taken)), result, t, level)
    _text_only(wb, formulas)
    wb.properties.title = _value(result.spec.study.title)
    wb.properties.creator = "evaluate"
    wb.properties.language = f.language
    # openpyxl writes formulas without cached values; make Excel and LibreOffice
    # compute them when the file opens.
    wb.calculation.fullCalcOnLoad = True
    return wb


def _deterministic(wb: Workbook) -> bytes:
    """Save ``wb`` and rewrite the archive so that the bytes depend on the content only.

    openpyxl sets ``modified`` to the current time while saving, and zipfile stamps
    each entry with the current local time; both are replaced by :data:`FIXED_TIME`.
    """
    buffer = io.BytesIO()
    wb.save(buffer)
    wb.properties.created = FIXED_TIME
    wb.properties.modified = FIXED_TIME
    core = tostring(wb.properties.to_tree())
    out = io.BytesIO()
    with (
        zipfile.ZipFile(io.BytesIO(buffer.getvalue())) as source,
        zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target,
    ):
        for entry in source.infolist():
            data = core if entry.filename == "docProps/core.xml" else source.read(entry)
            info = zipfile.ZipInfo(entry.filename, date_time=FIXED_TIME.timetuple()[:6])
            info.compress_type = zipfile.ZIP_DEFLATED
            info.create_system = 3  # the same on every platform
            info.external_attr = 0o644 << 16
            target.writestr(info, data)
    return out.getvalue()


def write_excel(result: StudyResult, path: Path) -> Path:
    """Write the study's Excel workbook to ``path``; the same study gives the same bytes.

    Sheets: Summary (key figures per business case, main effects with their
    interval), Effects (every term of every effect with method and source), one
    sheet per business case (the table in 1,000 DKK with live Net and Total
    formulas and the sign note), Assumptions (settings, lines, sources, discount
    rates) and Provenance (data files, rows, SHA-256, spec hash, version, seed).

    Examples
    --------
    >>> from evaluate.study import run_study
    >>> result = run_study("studies/faxe_fleksjob.toml")               # doctest: +SKIP
    >>> write_excel(result, Path("reports/faxe_fleksjob/report.xlsx"))  # doctest: +SKIP
    PosixPath('reports/faxe_fleksjob/report.xlsx')
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(_deterministic(build_workbook(result)))
    return path
