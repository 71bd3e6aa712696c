"""The Excel workbook of a study: a live model of its business cases, not a printout.

A council's economist reworks a business case in Excel, so the workbook is built as
a model.  The Assumptions sheet holds every input with its source (effect
estimates, exposure by year, benefit rates with the rate table's year, grade and
law, refusion shares, fixed amounts, deadweight, displacement, optimism bias,
discount rates, tax factors); each business-case sheet computes its lines from
those cells (``effect x exposure x rate x (1 - refusion)``, adjusted), the Net row,
the Total and Present value columns, discount factors, and the key figures (net
gain, present value, benefit-cost ratio, break-even share, payback year); the Payers
sheet splits the net gain between kommune, region, stat and borger.  Change a rate
cell and all of them follow.  Each formula also carries its value at the report's
numbers (:mod:`._save`), so a viewer that does not recalculate shows them too.

Labels follow the study's language; number formats are Excel's own (``#,##0``),
which Excel shows with the reader's separators (1,234 or 1.234).  The Monte Carlo
interval and probability of a gain stay values: they come from draws, not formulas.

The file is deterministic: the same study gives the same bytes.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from openpyxl import Workbook
from openpyxl.worksheet.worksheet import Worksheet

from evaluate.money.payers import TaxShares, has_payer_split
from evaluate.money.society import factor_table
from evaluate.report.excel._cells import (
    BOLD,
    FIXED_TIME,
    FORMULA_PREFIXES,
    TITLE,
    Formulas,
    excel_strings,
    header,
    sheet_name,
    text_only,
    value,
    widths,
    write_row,
)
from evaluate.report.excel._inputs import Inputs, write_inputs
from evaluate.report.excel._model import case_sheet, payer_block
from evaluate.report.excel._save import deterministic
from evaluate.report.excel._sheets import _assumptions, _effects, _provenance, _summary
from evaluate.report.fmt import Formatter
from evaluate.text import speaking

if TYPE_CHECKING:
    from evaluate.study_result import StudyResult

__all__ = ["FIXED_TIME", "FORMULA_PREFIXES", "build_workbook", "excel_strings", "write_excel"]

_sheet_name = sheet_name  # the name tests and callers know
_FACTOR_LABELS = {"net_tax_factor": "in_naf", "tax_distortion": "in_distortion"}


def build_workbook(result: StudyResult) -> Workbook:
    """The study's workbook (not yet saved): Summary, Effects, one sheet per business
    case, Payers (when a case has a payer split), Assumptions and Provenance, labelled
    in the study's language."""
    return _build(result)[0]


def _build(result: StudyResult) -> tuple[Workbook, Formulas]:
    """The workbook and its formulas with their values at the report's numbers."""
    language = result.spec.study.language
    t = excel_strings(language)
    f = Formatter(language)
    level = f.percent(1 - result.spec.report.alpha, 0)
    with speaking(f.say):
        return _workbook(result, t, f, level)


def _payers(
    ws: Worksheet, result: StudyResult, inputs: Inputs, t: dict, f: Formatter, formulas: Formulas
) -> None:
    ws["A1"] = t["payers"]
    ws["A1"].font = TITLE
    taxes = TaxShares.danish()
    assert inputs.taxes is not None
    distortion = f.percent(inputs.taxes.values["distortion"], 0)
    row = 2
    for key, case in result.business_cases.items():
        if not has_payer_split(case):
            continue
        label = t["payer_distortion"].format(factor=distortion)
        row = payer_block(ws, row + 1, key, case, inputs, t, formulas, label) + 1
    row += 1
    note = t["payer_note"].format(
        taxes=(
            f"kommuneskat {f.percent(taxes.kommune, 2)}, bundskat {f.percent(taxes.stat, 2)}, "
            f"AM-bidrag {f.percent(taxes.am_bidrag, 0)}"
        ),
        distortion=distortion,
    )
    for text in (note, t["payers_inputs_note"].format(sheet=t["sheet_assumptions"])):
        ws.cell(row=row, column=1, value=value(text))
        row += 1
    row += 1
    ws.cell(row=row, column=1, value=t["payer_factors"]).font = BOLD
    row += 1
    header(
        ws, row, [t["factor"], t["value"], t["valid_from"], t["valid_to"], t["status"], t["source"]]
    )
    for factor in factor_table().itertuples(index=False):
        row += 1
        write_row(
            ws,
            row,
            [
                t.get(_FACTOR_LABELS.get(factor.factor, ""), factor.factor),
                float(factor.value),
                factor.valid_from,
                int(factor.valid_to) if str(factor.valid_to).isdigit() else None,
                t.get(f"status_{factor.status}", factor.status),
                f"{factor.source} ({factor.source_url})",
            ],
            [None, "0.00", None, None, None, None],
        )
    widths(ws, {1: 44, **{c: 13 for c in range(2, 12)}})


def _workbook(
    result: StudyResult, t: dict[str, str], f: Formatter, level: str
) -> tuple[Workbook, Formulas]:
    wb = Workbook()
    formulas = Formulas()
    taken: set[str] = set()
    summary = wb.active
    summary.title = sheet_name(t["sheet_summary"], taken)
    effects = wb.create_sheet(sheet_name(t["sheet_effects"], taken))
    cases = {key: wb.create_sheet(sheet_name(key, taken)) for key in result.business_cases}
    split = any(has_payer_split(case) for case in result.business_cases.values())
    payers = wb.create_sheet(sheet_name(t["sheet_payers"], taken)) if split else None
    assumptions = wb.create_sheet(sheet_name(t["sheet_assumptions"], taken))
    provenance = wb.create_sheet(sheet_name(t["sheet_provenance"], taken))
    # Inputs first: the case sheets, the payer split and the Summary point at them.
    inputs, last = write_inputs(assumptions, 1, result, t, formulas)
    keys = {
        key: case_sheet(cases[key], case, inputs.cases[key], t, formulas, assumptions.title)
        for key, case in result.business_cases.items()
    }
    _assumptions(assumptions, last + 3, result, t, keys, formulas, inputs)
    widths(assumptions, {1: 24, 2: 40, 3: 48, 4: 8, 5: 16, 6: 20, 7: 80})
    _summary(summary, result, t, level, keys, formulas)
    _effects(effects, result, t, level)
    if payers is not None:
        _payers(payers, result, inputs, t, f, formulas)
    _provenance(provenance, result, t, level)
    text_only(wb, formulas)
    wb.properties.title = value(result.spec.study.title)
    wb.properties.creator = "evaluate"
    wb.properties.language = f.language
    # Excel and LibreOffice recompute every formula when the file opens.
    wb.calculation.fullCalcOnLoad = True
    return wb, formulas


def write_excel(result: StudyResult, path: Path) -> Path:
    """Write the study's Excel workbook to ``path``; the same study gives the same bytes.

    Sheets: Summary (key figures per business case, main effects with their
    interval), Effects (every term of every effect with method and source), one
    sheet per business case (the table in 1,000 DKK, every line a formula of the
    inputs, with present values, discount factors and key figures), Payers (the net
    gain by payer, when a case has one), Assumptions (the inputs with their
    sources, the settings and the lines) and Provenance (data files, rows, SHA-256,
    spec hash, version, seed).

    Examples
    --------
    >>> from evaluate.study import run_study
    >>> result = run_study("studies/faxe_fleksjob.toml")               # doctest: +SKIP
    >>> write_excel(result, Path("reports/faxe_fleksjob/report.xlsx"))  # doctest: +SKIP
    PosixPath('reports/faxe_fleksjob/report.xlsx')
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(deterministic(*_build(result)))
    return path
