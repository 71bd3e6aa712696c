"""The descriptive sheets: Summary, Effects, the settings and lines on Assumptions,
and Provenance.  The Summary's net gain, present value, break-even share and payback
year are formulas that point at the case sheets, so they follow a changed input; the
interval and the probability of a gain come from Monte Carlo draws and stay values.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from openpyxl.worksheet.worksheet import Worksheet

import evaluate
from evaluate.data.readers import read_as_text
from evaluate.grade import evidence_grade
from evaluate.report.excel._cells import (
    BOLD,
    P_VALUE,
    THOUSANDS,
    TITLE,
    WARN,
    Formulas,
    header,
    unit_format,
    value,
    widths,
    write_row,
)
from evaluate.text import Unit, say

if TYPE_CHECKING:
    from evaluate.report.excel._inputs import Inputs
    from evaluate.report.excel._model import KeyCells
    from evaluate.study_result import StudyResult


# --- sheets -------------------------------------------------------------------
def _summary(
    ws: Worksheet,
    result: StudyResult,
    t: dict[str, str],
    level: str,
    keys: dict[str, KeyCells],
    formulas: Formulas,
) -> None:
    ws["A1"] = value(result.spec.study.title)
    ws["A1"].font = TITLE
    row = 2
    if any(d.source.simulated for d in result.data.values()):
        ws.cell(row=row, column=1, value=t["simulated_banner"]).font = WARN
        row += 1
    row += 1
    ws.cell(row=row, column=1, value=t["business_cases"]).font = BOLD
    row += 1
    header(
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
        write_row(
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
        _live_key_figures(ws, row, keys[key], case.gross, k, payback, formulas)
    row += 2
    ws.cell(row=row, column=1, value=t["main_effects"]).font = BOLD
    row += 1
    header(
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
            t["evidence_grade"],
            t["grade_why"],
        ],
    )
    for key, effect in result.effects.items():
        row += 1
        main = effect.to_frame().iloc[0]
        fmt = unit_format(str(main["unit"]))
        grade = evidence_grade(effect)
        write_row(
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
                grade.grade,
                grade.headline,
            ],
            [None, None, None, fmt, fmt, fmt, P_VALUE, None, None, None],
        )
    widths(ws, {1: 24, 2: 44, 3: 36, **{c: 16 for c in range(4, 11)}, 12: 60})


def _live_key_figures(
    ws: Worksheet, row: int, keys: KeyCells, gross: bool, k: dict, payback: Any, formulas: Formulas
) -> None:
    """Point the Summary's deterministic figures at the case sheet (1,000 DKK there)."""
    if gross:
        formulas.put(ws, row, 11, f"{keys.present_value}*1000", k["gross_saving"], THOUSANDS)
    else:
        formulas.put(ws, row, 4, f"{keys.net_gain}*1000", k["net_gain"], THOUSANDS)
        formulas.put(ws, row, 5, f"{keys.present_value}*1000", k["npv"], THOUSANDS)
    if keys.break_even:
        formulas.put(ws, row, 9, keys.break_even, k["break_even_share_of_effect"], "0%")
    if keys.payback:
        formulas.put(ws, row, 10, keys.payback, payback, "0")


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
        t["evidence_grade"],
        t["grade_reasons"],
    ]
    header(ws, 1, labels)
    row = 1
    for key, effect in result.effects.items():
        prov = effect.provenance
        grade = evidence_grade(effect)
        reasons = "; ".join(say(r) for r in grade.reasons)
        for term in effect.to_frame().itertuples(index=False):
            row += 1
            fmt = unit_format(str(term.unit))
            write_row(
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
                    grade.grade,
                    reasons,
                ],
                [None, None, fmt, fmt, fmt, fmt, P_VALUE, *[None] * 9],
            )
    ws.freeze_panes = "C2"
    widths(ws, {1: 24, 2: 48, **{c: 14 for c in range(3, 8)}, 8: 18, 9: 36, 10: 40})
    widths(ws, {11: 36, 12: 36, 13: 48, 14: 10, 15: 10, 16: 80})


def _assumptions(
    ws: Worksheet,
    row: int,
    result: StudyResult,
    t: dict[str, str],
    keys: dict[str, KeyCells],
    formulas: Formulas,
    inputs: Inputs,
) -> None:
    """Under the inputs table: the settings of each case and what each line is."""
    ws.cell(row=row, column=1, value=t["settings"]).font = BOLD
    row += 1
    header(
        ws,
        row,
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
    for key, case in result.business_cases.items():
        row += 1
        sign = t["sign_municipal_short"] if case.sign == "municipal" else t["sign_plain_short"]
        base = case.years[0] if case.base_year is None else case.base_year
        base_cell = inputs.cases[key].base_year
        write_row(
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
        if base_cell:  # the input cell, so the settings show a moved base year
            formulas.put(ws, row, 6, base_cell, base, "0")
    row += 2
    ws.cell(row=row, column=1, value=t["lines"]).font = BOLD
    row += 1
    header(
        ws,
        row,
        [
            t["key"],
            t["line"],
            t["perspective"],
            t["linked_effect"],
            t["total_dkk"],
            t["source"],
            t["note"],
        ],
    )
    for key, case in result.business_cases.items():
        shown = 1_000 if case.sign == "municipal" else -1_000  # back to DKK expenditure
        totals = case.expenditure().sum(axis=1)
        for line in case.lines:
            row += 1
            write_row(
                ws,
                row,
                [
                    key,
                    line.name,
                    t.get(f"perspective_{line.perspective}", line.perspective),
                    "" if line.effect is None else line.effect.name,
                    None,
                    line.source,
                    line.note,
                ],
                [None, None, None, None, None, None, None],
            )
            total = keys[key].line_totals[line.name]
            formulas.put(ws, row, 5, f"{total}*{shown}", float(totals[line.name]), THOUSANDS)
    widths(ws, {1: 24, 2: 40, 3: 40, 4: 30, 5: 22, 6: 28, 7: 80, 8: 48, 9: 60})


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
    for row, (label, item) in enumerate(items, start=1):
        ws.cell(row=row, column=1, value=label).font = BOLD
        ws.cell(row=row, column=2, value=value(item))
    row = len(items) + 2
    ws.cell(row=row, column=1, value=t["data_name"]).font = BOLD
    row += 1
    header(
        ws,
        row,
        [t["key"], t["file"], t["rows"], t["sha256"], t["simulated"], t["source"], t["note"]],
    )
    for key, data in result.data.items():
        row += 1
        write_row(
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
    ws.cell(row=row, column=1, value=t["effect_provenance"]).font = BOLD
    row += 1
    header(
        ws,
        row,
        [t["key"], t["effect"], t["rows"], t["rows_dropped"], t["data_hash"], t["source"]],
    )
    for key, effect in result.effects.items():
        row += 1
        prov = effect.provenance
        write_row(
            ws,
            row,
            [key, effect.name, prov.n_rows, prov.n_dropped, prov.data_hash or "", prov.source],
            [None, None, THOUSANDS, THOUSANDS, None, None],
        )
    widths(ws, {1: 30, 2: 44, 3: 10, 4: 68, 5: 12, 6: 60, 7: 60})
