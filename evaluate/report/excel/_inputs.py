"""The inputs of the live model: one labelled cell per number, with its source.

Every effect estimate, exposure, benefit rate, refusion share, fixed amount,
attribution adjustment, discount rate and tax factor the business cases are built
from is one cell of the inputs table on the Assumptions sheet (Key, Line, Input,
Year, Value, Unit, Source).  The case sheets and the payer split are formulas of
these cells (:mod:`evaluate.report.excel._model`), so changing one moves the net
gain, the present values, the benefit-cost ratio and the payback year.

A line made from an effect is rebuilt as ``effect x exposure x price x (1 - refusion)``
from its :class:`~evaluate.money.cashflow.LineInputs`; a line priced by a benefit rate
has ``price = sign x rate x periods a year``.  A line whose amounts the inputs do not
reproduce (changed after it was made) keeps its amounts as inputs instead.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
from openpyxl.worksheet.worksheet import Worksheet

from evaluate.money.payers import TaxShares, has_payer_split
from evaluate.money.rates import _PER_YEAR
from evaluate.money.society import factor
from evaluate.report.excel._cells import (
    BOLD,
    FACTOR,
    INPUT_FILL,
    INPUT_FONT,
    PERCENT,
    THOUSANDS,
    Formulas,
    header,
    ref,
    value,
)
from evaluate.text import Unit

if TYPE_CHECKING:
    from evaluate.business_case import BusinessCase
    from evaluate.effect import Effect
    from evaluate.money.cashflow import CashFlowLine
    from evaluate.study_result import StudyResult


@dataclass
class LineCells:
    """Where a line's inputs are; builds the expression of its amount in a year."""

    linked: bool
    name: str = ""
    effect: str = ""
    exposure: dict[int, str] = field(default_factory=dict)
    price: dict[int, str] = field(default_factory=dict)
    """The price cell, or for a rate line ``sign*rate*periods``."""
    refusion: str = ""
    amounts: dict[int, str] = field(default_factory=dict)
    amount_range: str = ""

    def gross(self, year: int) -> str:
        """Expenditure in DKK before refusion and attribution adjustments."""
        if self.amounts:
            return self.amounts[year]
        return f"{self.effect}*{self.exposure[year]}*{self.price[year]}"

    def expenditure(self, year: int) -> str:
        """Expenditure in DKK after refusion, before attribution adjustments."""
        if self.amounts or not self.refusion:
            return self.gross(year)
        return f"{self.gross(year)}*(1-{self.refusion})"

    @property
    def years(self) -> list[int]:
        return sorted(self.amounts or self.exposure)


@dataclass
class CaseCells:
    deadweight: str
    displacement: str
    optimism: str
    steps: list[tuple[float, str]] = field(default_factory=list)
    """(upper year after the base year, rate cell) of every step of the discount schedule."""
    base_year: str = ""
    """The cell of the base year the case is discounted to (empty when undiscounted)."""
    evidence: dict[str, str] = field(default_factory=dict)
    """Line name -> the cell of its evidence-grade (optimism-bias) discount, where set."""
    lines: dict[str, LineCells] = field(default_factory=dict)

    def adjustment(self, line: LineCells) -> str:
        """The attribution factor of :meth:`BusinessCase.adjustment`, as a formula."""
        if line.linked:
            base = f"(1-{self.deadweight})*(1-{self.displacement})"
            cut = self.evidence.get(line.name)
            return f"{base}*(1-{cut})" if cut else base
        return f"IF(SUM({line.amount_range})>0,1+{self.optimism},1)"


@dataclass
class TaxCells:
    kommune: str
    stat: str
    am_bidrag: str
    net_tax_factor: str
    distortion: str
    values: dict[str, float]


@dataclass
class Inputs:
    """The cells of the inputs table, by effect, case and line."""

    effects: dict[int, str] = field(default_factory=dict)
    cases: dict[str, CaseCells] = field(default_factory=dict)
    taxes: TaxCells | None = None


def rebuilds(line: CashFlowLine) -> bool:
    """True when ``line``'s inputs reproduce its amounts (to 1e-9 relative)."""
    inputs, effect = line.inputs, line.effect
    if inputs is None or effect is None or set(inputs.exposure) != set(line.amounts):
        return False
    for y, amount in line.amounts.items():
        rebuilt = effect.estimate * inputs.exposure[y] * inputs.price[y] * (1 - inputs.refusion)
        if not math.isclose(rebuilt, amount, rel_tol=1e-9, abs_tol=1e-6):
            return False
    return True


class _Table:
    """Appends rows to the inputs table; returns the reference of each value cell."""

    def __init__(self, ws: Worksheet, row: int, formulas: Formulas) -> None:
        self.ws, self.row, self.formulas = ws, row, formulas

    def add(
        self,
        key: Any,
        line: Any,
        label: str,
        year: int | None,
        v: float,
        unit: Any,
        source: Any,
        fmt: str,
        formula: str | None = None,
    ) -> str:
        self.row += 1
        r, ws = self.row, self.ws
        for col, text in ((1, key), (2, line), (3, label), (4, year), (6, unit), (7, source)):
            ws.cell(row=r, column=col, value=value(text))
        if formula is None:
            cell = ws.cell(row=r, column=5, value=value(v))
            cell.number_format = fmt
            cell.font = INPUT_FONT
            cell.fill = INPUT_FILL
        else:
            self.formulas.put(ws, r, 5, formula, v, fmt)
        return ref(ws, r, 5)


def _effect_key(result: StudyResult, effect: Effect) -> str:
    for key, candidate in result.effects.items():
        if candidate is effect:
            return key
    return effect.name


def _line(tab: _Table, key: str, line: CashFlowLine, effect_cell: str, t: dict) -> LineCells:
    """The rows of one line made from an effect, rebuilt from its inputs."""
    inputs = line.inputs
    assert inputs is not None
    cells = LineCells(linked=True, effect=effect_cell)
    name = line.name
    for y in sorted(inputs.exposure):
        cells.exposure[y] = tab.add(
            key,
            name,
            t["in_exposure"],
            y,
            inputs.exposure[y],
            t["unit_effect_years"],
            t["spec_source"],
            FACTOR,
        )
    if inputs.rates:
        sign = tab.add(
            key, name, t["in_sign"], None, inputs.sign, t["unit_sign"], t["spec_source"], "0"
        )
        for y in sorted(inputs.rates):
            rate = inputs.rates[y]
            legal = f"; {rate.legal_reference}" if rate.legal_reference else ""
            amount = tab.add(
                key,
                name,
                t["in_rate"].format(benefit=rate.benefit, category=rate.basis, year=rate.year),
                y,
                rate.amount,
                t["unit_dkk_per"].format(per=t.get(f"per_{rate.per}", rate.per)),
                f"{value(rate.describe())}{legal}",
                THOUSANDS,
            )
            periods = tab.add(
                key,
                name,
                t["in_periods"],
                y,
                _PER_YEAR[rate.per],
                t.get(f"per_{rate.per}", rate.per),
                t["periods_source"],
                "0.00",
            )
            cells.price[y] = f"{sign}*{amount}*{periods}"
    else:
        label = t["in_price_implied"] if inputs.implied else t["in_price"]
        for y in sorted(inputs.price):
            cells.price[y] = tab.add(
                key, name, label, y, inputs.price[y], t["unit_dkk"], line.source, THOUSANDS
            )
    if inputs.profile is not None:
        profile = inputs.profile
        weeks = [f"{first}-{'' if last is None else last}" for first, last in profile.steps]
        weights = [
            tab.add(
                key,
                name,
                t["in_step_effect"].format(weeks=label),
                None,
                w,
                Unit(line.effect.unit),
                profile.source,
                "#,##0.000",
            )
            for label, w in zip(weeks, profile.weights, strict=True)
        ]
        shares = [
            tab.add(
                key,
                name,
                t["in_step_refusion"].format(weeks=label),
                None,
                share,
                t["unit_share"],
                inputs.refusion_source,
                PERCENT,
            )
            for label, share in zip(weeks, inputs.step_shares, strict=True)
        ]
        w_range = f"{weights[0]}:{weights[-1].split('!')[-1]}"
        s_range = f"{shares[0]}:{shares[-1].split('!')[-1]}"
        cells.refusion = tab.add(
            key,
            name,
            t["in_refusion_by_week"],
            None,
            inputs.refusion,
            t["unit_share"],
            profile.source,
            PERCENT,
            formula=f"SUMPRODUCT({w_range},{s_range})/SUM({w_range})",
        )
    elif inputs.refusion:
        cells.refusion = tab.add(
            key,
            name,
            t["in_refusion"],
            None,
            inputs.refusion,
            t["unit_share"],
            inputs.refusion_source or line.source,
            PERCENT,
        )
    return cells


def _amounts(tab: _Table, key: str, line: CashFlowLine, t: dict) -> LineCells:
    cells = LineCells(linked=line.linked)
    label = t["in_amount"] if not line.linked else t["in_amount_linked"]
    for y in sorted(line.amounts):
        cells.amounts[y] = tab.add(
            key, line.name, label, y, line.amounts[y], t["unit_dkk"], line.source, THOUSANDS
        )
    first, last = cells.amounts[min(line.amounts)], cells.amounts[max(line.amounts)]
    cells.amount_range = f"{first}:{last.split('!')[-1]}"
    return cells


def _base_year(tab: _Table, key: str, case: BusinessCase, t: dict) -> str:
    """The base year as an input cell, and a note on what it moves and what it does not.

    The case sheets count each year's discounting from this cell (and pick each year's
    rate step by it), so a changed base year moves the present values, the payback
    year and the benefit-cost ratio as :class:`BusinessCase` with that ``base_year``
    does.  The amounts do not move with it: they are at the stated price level, as in
    ``evaluate`` (rates of each year, staff costs indexed from their own price year).
    """
    if case.discount is None:
        return ""
    default = case.base_year is None
    base = case.years[0] if default else case.base_year
    cell = tab.add(
        key,
        "",
        t["in_base_year"],
        None,
        base,
        t["unit_year"],
        t["base_year_default"] if default else t["spec_source"],
        "0",
    )
    tab.row += 1
    tab.ws.cell(row=tab.row, column=1, value=value(key))
    tab.ws.cell(row=tab.row, column=3, value=t["base_year_note"].format(first=case.years[0]))
    return cell


def _discount_steps(tab: _Table, key: str, case: BusinessCase, t: dict) -> list:
    """One row per step of the discount schedule: every step, so that a base year moved
    earlier (more years after it) finds the rate of each year in the sheet."""
    if case.discount is None:
        return []
    frame = case.discount.frame
    steps = []
    for step in frame.itertuples(index=False):
        upper = math.inf if np.isnan(step.to_year) else float(step.to_year)
        first = int(step.from_year)
        label = (
            t["in_discount_open"].format(first=first)
            if math.isinf(upper)
            else t["in_discount"].format(first=first, last=int(upper))
        )
        cell = tab.add(
            key, "", label, None, float(step.rate), t["unit_share"], step.source, PERCENT
        )
        steps.append((upper, cell))
    return steps


def _taxes(tab: _Table, t: dict) -> TaxCells:
    taxes = TaxShares.danish()
    naf, distortion = factor("net_tax_factor"), factor("tax_distortion")
    key = t["payers_key"]
    sources = {part.split(" ")[0]: part for part in taxes.source.split("; ")}
    return TaxCells(
        kommune=tab.add(
            key,
            "",
            t["in_kommuneskat"],
            None,
            taxes.kommune,
            t["unit_share"],
            sources.get("kommuneskat", taxes.source),
            "0.00%",
        ),
        stat=tab.add(
            key,
            "",
            t["in_bundskat"],
            None,
            taxes.stat,
            t["unit_share"],
            sources.get("bundskat", taxes.source),
            "0.00%",
        ),
        am_bidrag=tab.add(
            key,
            "",
            t["in_am_bidrag"],
            None,
            taxes.am_bidrag,
            t["unit_share"],
            sources.get("am_bidrag", taxes.source),
            "0%",
        ),
        net_tax_factor=tab.add(key, "", t["in_naf"], None, naf.value, "", naf.source, "0.00"),
        distortion=tab.add(
            key,
            "",
            t["in_distortion"],
            None,
            distortion.value,
            t["unit_share"],
            distortion.source,
            "0%",
        ),
        values={
            "kommune": taxes.kommune,
            "stat": taxes.stat,
            "am_bidrag": taxes.am_bidrag,
            "net_tax_factor": naf.value,
            "distortion": distortion.value,
        },
    )


def write_inputs(
    ws: Worksheet, row: int, result: StudyResult, t: dict, formulas: Formulas
) -> tuple[Inputs, int]:
    """The inputs table from ``row`` on; returns its cells and the last row written."""
    ws.cell(row=row, column=1, value=t["inputs_title"]).font = BOLD
    ws.cell(row=row + 1, column=1, value=t["inputs_note"])
    ws.cell(row=row + 2, column=1, value=t["cached_note"])
    head = row + 3
    header(
        ws,
        head,
        [t["key"], t["line"], t["input"], t["year"], t["value"], t["unit"], t["source"]],
    )
    tab = _Table(ws, head, formulas)
    inputs = Inputs()
    for case in result.business_cases.values():
        for line in case.lines:
            if line.effect is None or id(line.effect) in inputs.effects:
                continue
            effect = line.effect
            inputs.effects[id(effect)] = tab.add(
                _effect_key(result, effect),
                effect.name,
                t["in_effect"],
                None,
                effect.estimate,
                Unit(effect.unit),
                effect.provenance.source or effect.method,
                "#,##0.000###",
            )
    for key, case in result.business_cases.items():
        spec_source = t["spec_source"]
        cells = CaseCells(
            deadweight=tab.add(
                key,
                "",
                t["in_deadweight"],
                None,
                case.deadweight,
                t["unit_share"],
                spec_source,
                PERCENT,
            ),
            displacement=tab.add(
                key,
                "",
                t["in_displacement"],
                None,
                case.displacement,
                t["unit_share"],
                spec_source,
                PERCENT,
            ),
            optimism=tab.add(
                key,
                "",
                t["in_optimism"],
                None,
                case.optimism_bias,
                t["unit_share"],
                spec_source,
                PERCENT,
            ),
        )
        cells.base_year = _base_year(tab, key, case, t)
        cells.steps = _discount_steps(tab, key, case, t)
        for line_name, grade, share in case.evidence_discounts:
            cells.evidence[line_name] = tab.add(
                key,
                line_name,
                t["in_evidence"].format(grade=grade),
                None,
                share,
                t["unit_share"],
                case.evidence_discount_source,
                PERCENT,
            )
        for line in case.lines:
            if rebuilds(line):
                cells.lines[line.name] = _line(tab, key, line, inputs.effects[id(line.effect)], t)
            else:
                cells.lines[line.name] = _amounts(tab, key, line, t)
            cells.lines[line.name].name = line.name
        inputs.cases[key] = cells
    if any(has_payer_split(case) for case in result.business_cases.values()):
        inputs.taxes = _taxes(tab, t)
    return inputs, tab.row
