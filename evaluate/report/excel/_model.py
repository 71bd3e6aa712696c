"""The business-case sheets and the payer split as formulas of the inputs.

A case sheet is the Danish business-case table in 1,000 DKK: each line-year is a
formula of the inputs (:mod:`evaluate.report.excel._inputs`), the Net row and the
Total column are sums, a Present value column weighs each year with its discount
factor, and under the table stand the key figures: net gain (or gross saving),
present value, benefit-cost ratio, break-even share of the effect and payback year,
each a formula that gives what :class:`~evaluate.business_case.BusinessCase` gives.

Only plain functions are used (``SUM``, ``SUMPRODUCT``, ``SUMIF``, ``IF``, ``^``), so
Excel, LibreOffice and the ``formulas`` engine the tests use compute the same.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from openpyxl.styles import Font
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from evaluate.money.payers import DISTORTION, PAYERS, SOCIETY, UNALLOCATED, payer_split
from evaluate.report.excel._cells import (
    BOLD,
    FACTOR,
    NET_FILL,
    RATIO,
    THOUSANDS,
    TITLE,
    Formulas,
    header,
    ref,
    value,
    widths,
)
from evaluate.report.excel._inputs import CaseCells, Inputs, LineCells, TaxCells

if TYPE_CHECKING:
    from evaluate.business_case import BusinessCase


@dataclass
class KeyCells:
    """Where a case sheet keeps its key figures (1,000 DKK), for the Summary."""

    net_gain: str = ""
    present_value: str = ""
    break_even: str = ""
    payback: str = ""
    line_totals: dict[str, str] = field(default_factory=dict)
    """Each line's Total cell (1,000 DKK, the case's sign)."""


def _factor_formula(year: int, base: str, steps: list[tuple[float, str]]) -> str:
    """The discount factor of ``year``: ``1 / prod(1 + rate(s))`` over the years
    ``s = 1..n`` after the base year (``n = year - base``), the rate of each ``s`` its
    step's (:meth:`DiscountSchedule.rate`), grouped by step as ``(1+r)^count``.

    ``base`` is the base-year input cell, so moving it moves every factor and the step
    each year falls in.  A base year after ``year`` gives ``#N/A``: ``evaluate`` refuses
    to discount to a base year after a cash flow.
    """
    n = f"({year}-{base})"
    powers, lower = [], 0.0
    for upper, cell in steps:
        top = n if math.isinf(upper) else f"MIN({n},{upper:g})"
        count = top if lower == 0 else f"MAX(0,{top}-{lower:g})"
        powers.append(f"(1+{cell})^{count}")
        lower = upper
        if math.isinf(upper):
            break
    return f"IF({n}<0,NA(),1/({'*'.join(powers)}))"


def case_sheet(
    ws: Worksheet,
    case: BusinessCase,
    cells: CaseCells,
    t: dict[str, str],
    formulas: Formulas,
    assumptions: str,
) -> KeyCells:
    """The business-case table in 1,000 DKK, every number a formula of the inputs."""
    table = case.table()  # 1,000 DKK, the case's sign convention, Net row and Total last
    years = case.years
    shown = 1 if case.sign == "municipal" else -1  # table = shown x expenditure
    neg = "-" if shown < 0 else ""
    gain = "" if shown < 0 else "-"  # net gain (plus = saving) from a table value
    discounted = case.discount is not None
    ws["A1"] = value(case.title)
    ws["A1"].font = TITLE
    ws["A2"] = value(f"{t['price_level']}: {case.price_level}")
    ws["A3"] = t["amounts_in"]
    head = 5
    labels = [t["line"], *map(str, years), t["total"]]
    total_col = len(years) + 2
    pv_col = total_col + 1 if discounted else total_col
    if discounted:
        labels.append(t["present_value"])
    header(ws, head, labels)
    first, last = head + 1, head + len(case.lines)
    net = last + 1
    factor_row = net + 2
    cumulative_row = factor_row + 1 if discounted else factor_row
    y0, y1 = get_column_letter(2), get_column_letter(total_col - 1)
    factors = case._factors()
    pv = case.present_values() / 1_000 * shown
    linked_pv, fixed_pv = [], []
    line_totals = {}
    for i, line in enumerate(case.lines):
        r = first + i
        line_cells: LineCells = cells.lines[line.name]
        ws.cell(row=r, column=1, value=value(line.name))
        adjustment = cells.adjustment(line_cells)
        for j, year in enumerate(years):
            cached = table.loc[line.name, str(year)]
            if year in line.amounts:
                expr = f"{neg}{line_cells.expenditure(year)}*{adjustment}/1000"
                formulas.put(ws, r, 2 + j, expr, cached, THOUSANDS)
            else:
                ws.cell(row=r, column=2 + j, value=0.0).number_format = THOUSANDS
        formulas.put(ws, r, total_col, f"SUM({y0}{r}:{y1}{r})", table.loc[line.name, "Total"])
        line_totals[line.name] = ref(ws, r, total_col)
        if discounted:
            formulas.put(
                ws,
                r,
                pv_col,
                f"SUMPRODUCT({y0}{r}:{y1}{r},{y0}${factor_row}:{y1}${factor_row})",
                pv[line.name],
            )
        (linked_pv if line.linked else fixed_pv).append(f"{get_column_letter(pv_col)}{r}")
        for col in range(total_col, pv_col + 1):
            ws.cell(row=r, column=col).number_format = THOUSANDS
    ws.cell(row=net, column=1, value=t["net"])
    for col in range(2, pv_col + 1):
        letter = get_column_letter(col)
        cached = table.loc["Net"].iloc[col - 2] if col <= total_col else float(pv.sum())
        formulas.put(ws, net, col, f"SUM({letter}{first}:{letter}{last})", cached)
    for col in range(1, pv_col + 1):
        cell = ws.cell(row=net, column=col)
        cell.font = BOLD
        cell.fill = NET_FILL
        if col > 1:
            cell.number_format = THOUSANDS
    # Discount factors and the cumulative net gain (plus = gain), year by year.
    if discounted:
        ws.cell(row=factor_row, column=1, value=t["discount_factor"])
        for j, year in enumerate(years):
            formula = _factor_formula(year, cells.base_year, cells.steps)
            formulas.put(ws, factor_row, 2 + j, formula, float(factors[j]), FACTOR)
    label = "cumulative_pv" if discounted else "cumulative"
    ws.cell(row=cumulative_row, column=1, value=t[label])
    running = 0.0
    gains = case.net_gain_by_year.to_numpy() * factors / 1_000
    for j, _ in enumerate(years):
        letter = get_column_letter(2 + j)
        term = f"{letter}{net}" + (f"*{letter}{factor_row}" if discounted else "")
        prior = f"{get_column_letter(1 + j)}{cumulative_row}" if j else ""
        op = ("-" if gain else "+") if j else gain
        running += float(gains[j])
        formulas.put(ws, cumulative_row, 2 + j, f"{prior}{op}{term}", running, THOUSANDS)
    keys = _key_figures(
        ws, case, t, formulas, cumulative_row + 2, net, total_col, pv_col, linked_pv, fixed_pv
    )
    keys.line_totals = line_totals
    row = cumulative_row + 8
    sign_note = t["sign_municipal"] if case.sign == "municipal" else t["sign_plain"]
    ws.cell(row=row, column=1, value=sign_note).font = Font(italic=True)
    discounting = t["undiscounted"] if case.discount is None else case.discount.source
    model_note = t["model_note"].format(sheet=assumptions)
    for text in (f"{t['discounting']}: {discounting}", *case.notes, model_note):
        row += 1
        ws.cell(row=row, column=1, value=value(text))
    ws.freeze_panes = f"B{head + 1}"
    width = max([len(str(line.name)) for line in case.lines] + [len(t["line"]), 12]) + 2
    widths(ws, {1: min(max(width, 36), 60), **{c: 13 for c in range(2, pv_col + 1)}})
    return keys


def _key_figures(
    ws: Worksheet,
    case: BusinessCase,
    t: dict[str, str],
    formulas: Formulas,
    row: int,
    net: int,
    total_col: int,
    pv_col: int,
    linked_pv: list[str],
    fixed_pv: list[str],
) -> KeyCells:
    """Net gain, present value, benefit-cost ratio, break-even share and payback year."""
    gain = "" if case.sign == "plain" else "-"
    total = f"{get_column_letter(total_col)}{net}"
    pv_net = f"{get_column_letter(pv_col)}{net}"
    pv_lines = (
        f"{get_column_letter(pv_col)}{net - len(case.lines)}:{get_column_letter(pv_col)}{net - 1}"
    )
    keys = KeyCells()
    ws.cell(row=row, column=1, value=t["key_figures"]).font = BOLD
    label = "kf_gross_saving" if case.gross else "kf_net_gain"
    ws.cell(row=row + 1, column=1, value=t[label])
    formulas.put(ws, row + 1, 2, f"{gain}{total}", case.total / 1_000, THOUSANDS)
    keys.net_gain = ref(ws, row + 1, 2)
    ws.cell(row=row + 2, column=1, value=t["kf_present_value"])
    formulas.put(ws, row + 2, 2, f"{gain}{pv_net}", case.present_value / 1_000, THOUSANDS)
    keys.present_value = ref(ws, row + 2, 2)
    ws.cell(row=row + 3, column=1, value=t["kf_bcr"])
    if case.gross:
        ws.cell(row=row + 3, column=2, value=t["bcr_none_gross"])
    else:
        cost, saving = ('">0"', '"<0"') if case.sign == "municipal" else ('"<0"', '">0"')
        costs, savings = f"SUMIF({pv_lines},{cost})", f"SUMIF({pv_lines},{saving})"
        bcr = case.benefit_cost_ratio
        formulas.put(
            ws,
            row + 3,
            2,
            f'IF({costs}=0,"",-{savings}/{costs})',
            "" if bcr is None or math.isnan(bcr) else bcr,
            RATIO,
        )
    ws.cell(row=row + 4, column=1, value=t["break_even_share"])
    if linked_pv and fixed_pv:
        linked, fixed = f"SUM({','.join(linked_pv)})", f"SUM({','.join(fixed_pv)})"
        share = case.break_even
        formulas.put(
            ws,
            row + 4,
            2,
            f'IF({linked}*{fixed}=0,"",-{fixed}/{linked})',
            "" if math.isnan(share) else share,
            "0%",
        )
        keys.break_even = ref(ws, row + 4, 2)
    ws.cell(row=row + 5, column=1, value=t["payback"])
    if case.payback_reason is not None:
        ws.cell(row=row + 5, column=2, value=t[f"payback_none_{case.payback_reason}"])
    else:
        cumulative = row - 2
        formula = f'"{t["never"]}"'
        for j in reversed(range(len(case.years))):
            cell = f"{get_column_letter(2 + j)}{cumulative}"
            formula = f"IF({cell}>=0,{case.years[j]},{formula})"
        payback = case.payback_year
        formulas.put(ws, row + 5, 2, formula, t["never"] if payback is None else payback, "0")
        keys.payback = ref(ws, row + 5, 2)
    return keys


# --- the payer split ----------------------------------------------------------
def _payer_terms(line, cells: LineCells, year: int, tax: TaxCells) -> dict[str, str]:
    """Expenditure of each payer for one line-year, as formulas (cf. ``money.payers._split``)."""
    tk, ts = tax.kommune, tax.stat
    if line.refusion_share is not None and line.gross_per_unit and cells.refusion:
        g, r = cells.gross(year), cells.refusion
        return {
            "kommune": f"{g}*(1-{r}-{tk})",
            "stat": f"{g}*({r}-{ts})",
            "borger": f"-{g}*(1-{tk}-{ts})",
        }
    amount = cells.expenditure(year)
    if line.payer_rule == "production":
        wage = f"(-{amount}/{tax.net_tax_factor})"
        taxable = f"{wage}*(1-{tax.am_bidrag})"
        return {
            "kommune": f"-{tk}*{taxable}",
            "stat": f"-({tax.am_bidrag}*{wage}+{ts}*{taxable}+({tax.net_tax_factor}-1)*{wage})",
            "borger": f"-{taxable}*(1-{tk}-{ts})",
        }
    payer = {"municipality": "kommune", "state": "stat"}.get(line.perspective, UNALLOCATED)
    return {payer: amount}


def payer_block(
    ws: Worksheet,
    row: int,
    key: str,
    case: BusinessCase,
    inputs: Inputs,
    t: dict[str, str],
    formulas: Formulas,
    distortion_label: str,
) -> int:
    """Net gain by payer and year (1,000 DKK, undiscounted, plus = gain); the last row."""
    tax = inputs.taxes
    assert tax is not None
    cells = inputs.cases[key]
    split = payer_split(case)
    years = case.years
    ws.cell(row=row, column=1, value=value(f"{key}: {value(case.title)}")).font = BOLD
    row += 1
    header(ws, row, [t["payer"], *map(str, years), t["total"]])
    terms: dict[str, list[list[str]]] = {}
    for line in case.lines:
        line_cells = cells.lines[line.name]
        adjustment = cells.adjustment(line_cells)
        for j, year in enumerate(years):
            if year not in line.amounts:
                continue
            for payer, expr in _payer_terms(line, line_cells, year, tax).items():
                terms.setdefault(payer, [[] for _ in years])[j].append(f"({expr})*{adjustment}")
    names = [*PAYERS, *([UNALLOCATED] if UNALLOCATED in terms else []), DISTORTION]
    first = row + 1
    last_col = get_column_letter(len(years) + 1)
    for name in names:
        row += 1
        if name == DISTORTION:
            label = distortion_label
        else:
            label = t["payer_unallocated" if name == UNALLOCATED else f"payer_{name}"]
        ws.cell(row=row, column=1, value=label)
        for j in range(len(years)):
            cached = split.loc[name].iloc[j] / 1_000 if name in split.index else 0.0
            col = get_column_letter(2 + j)
            if name == DISTORTION:
                public = f"SUM({col}{first}:{col}{first + 2})"  # kommune, region, stat
                formulas.put(ws, row, 2 + j, f"{tax.distortion}*{public}", cached, THOUSANDS)
            elif name in terms and terms[name][j]:
                formula = f"-({'+'.join(terms[name][j])})/1000"
                formulas.put(ws, row, 2 + j, formula, cached, THOUSANDS)
            else:
                ws.cell(row=row, column=2 + j, value=0.0).number_format = THOUSANDS
        total = split.loc[name, "Total"] / 1_000 if name in split.index else 0.0
        formulas.put(ws, row, len(years) + 2, f"SUM(B{row}:{last_col}{row})", total, THOUSANDS)
    row += 1
    ws.cell(row=row, column=1, value=t["payer_society"]).font = BOLD
    for col in range(2, len(years) + 3):
        letter = get_column_letter(col)
        cached = split.loc[SOCIETY].iloc[col - 2] / 1_000
        cell = formulas.put(
            ws, row, col, f"SUM({letter}{first}:{letter}{row - 1})", cached, THOUSANDS
        )
        cell.font = BOLD
    return row
