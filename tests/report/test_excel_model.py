"""report.xlsx is a model: recomputed by a formula engine it gives the report's numbers,
and after an input cell is changed it gives what evaluate computes for that input.

The engine is the pure-Python ``formulas`` package (an independent implementation
of Excel's formula language, not ours).  Tolerance: 1e-6 relative throughout (the
engine and numpy add the same products in a different order; ``(1 + r)^n`` in the
sheet against numpy's product of ``n`` factors).
"""

from __future__ import annotations

import dataclasses
import re
import shutil
import subprocess
from pathlib import Path

import openpyxl
import pytest

from evaluate.errors import SpecError
from evaluate.money import monetize
from evaluate.money.discount import DiscountSchedule
from evaluate.money.payers import SOCIETY, payer_split
from evaluate.report.excel import excel_strings, write_excel
from evaluate.study import run_study

formulas = pytest.importorskip("formulas", reason="the formula engine is in the test extras")

STUDIES = Path(__file__).parents[2] / "studies"
REL = 1e-6
# Light studies that together have every kind of line: stated totals, unit prices, rates
# by year, refusion by weeks and week by week, staff costs, gross savings, discounting.
MODELLED = ["faxe_fleksjob", "register_caseload", "solroed_business_case", "vordingborg_trial"]


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    out = {}

    def build(name):
        if name not in out:
            result = run_study(STUDIES / f"{name}.toml")
            path = write_excel(result, tmp_path_factory.mktemp(name) / "report.xlsx")
            out[name] = (result, path)
        return out[name]

    return build


def recompute(path: Path, changes: dict[tuple[str, str], float] | None = None) -> dict:
    """Every cell's value as the engine computes it: {(sheet title, "B6"): value}."""
    titles = {t.upper(): t for t in openpyxl.load_workbook(path, read_only=True).sheetnames}
    model = formulas.ExcelModel().loads(str(path)).finish()
    inputs = {f"'[{path.name}]{s.upper()}'!{c}": v for (s, c), v in (changes or {}).items()}
    solution = model.calculate(inputs=inputs)
    out = {}
    for key, cell in solution.items():
        m = re.fullmatch(r"'\[[^\]]+\](.+)'!([A-Z]+[0-9]+)", key)
        if m:
            v = cell.value[0, 0]
            out[(titles[m.group(1)], m.group(2))] = "" if str(v) == "empty" else v
    return out


def _number(v):
    return float(v) if isinstance(v, (int, float)) else v


class Sheet:
    """Finds cells by their labels: lines and key figures by column A, years by the header."""

    def __init__(self, path: Path, title: str, t: dict[str, str]) -> None:
        self.ws = openpyxl.load_workbook(path)[title]
        self.title, self.t = title, t
        self.rows = {c.value: c.row for c in self.ws["A"] if isinstance(c.value, str)}
        self.columns = {str(c.value): c.column_letter for c in self.ws[5] if c.value is not None}

    def at(self, row_label: str, column: str = "") -> tuple[str, str]:
        letter = self.columns[column] if column else "B"
        return self.title, f"{letter}{self.rows[row_label]}"


def _input(path: Path, t: dict[str, str], case: str, line: str, label: str, year=None):
    """The cell of one input on the Assumptions sheet."""
    ws = openpyxl.load_workbook(path)[t["sheet_assumptions"]]
    prefix = label.split("{")[0]
    for row in ws.iter_rows(min_row=1):
        a, b, c, d = (cell.value for cell in row[:4])
        if a == case and (b or "") == line and str(c).startswith(prefix) and d == year:
            return t["sheet_assumptions"], f"E{row[0].row}"
    raise LookupError((case, line, label, year))


def _check_case(values, path, t, key, case, shown_title=None):
    """The recomputed case sheet equals the BusinessCase: lines by year, net gain,
    present value, benefit-cost ratio, break-even share and payback year."""
    sheet = Sheet(path, shown_title or key, t)
    table = case.table()
    for line in [*table.index[:-1], "Net"]:
        label = t["net"] if line == "Net" else line
        for column in table.columns:
            got = values[sheet.at(label, t["total"] if column == "Total" else column)]
            assert got == pytest.approx(table.loc[line, column], rel=REL, abs=1e-9), (line, column)
    figure = "kf_gross_saving" if case.gross else "kf_net_gain"
    assert values[sheet.at(t[figure])] * 1_000 == pytest.approx(case.total, rel=REL)
    pv = values[sheet.at(t["kf_present_value"])] * 1_000
    assert pv == pytest.approx(case.present_value, rel=REL)
    if not case.gross:
        bcr = case.benefit_cost_ratio
        got = values[sheet.at(t["kf_bcr"])]
        assert got == ("" if bcr != bcr else pytest.approx(bcr, rel=REL))
    if case.payback_reason is None:
        expected = t["never"] if case.payback_year is None else case.payback_year
        assert _number(values[sheet.at(t["payback"])]) == expected
    share = case.break_even
    got = values.get(sheet.at(t["break_even_share"]))
    if got is not None and share == share:
        assert got == pytest.approx(share, rel=REL)


@pytest.mark.parametrize("name", MODELLED)
def test_every_formula_recomputes_to_the_value_it_carries(built, name):
    """The cached values (what a viewer that does not recalculate shows) are the
    engine's values: no formula is out of step with its cached number."""
    _, path = built(name)
    values = recompute(path)
    raw = openpyxl.load_workbook(path)
    cached = openpyxl.load_workbook(path, data_only=True)
    n = 0
    for ws in raw.worksheets:
        for row in ws.iter_rows():
            for cell in row:
                if cell.data_type != "f":
                    continue
                n += 1
                want = cached[ws.title][cell.coordinate].value
                got = values[(ws.title, cell.coordinate)]
                if isinstance(want, (int, float)):
                    assert got == pytest.approx(want, rel=REL, abs=1e-9), (ws.title, cell)
                else:
                    assert str(got) == (want or ""), (ws.title, cell.coordinate)
    assert n > 10


@pytest.mark.parametrize("name", MODELLED)
def test_the_recomputed_workbook_gives_the_reports_numbers(built, name):
    result, path = built(name)
    t = excel_strings(result.spec.study.language)
    values = recompute(path)
    summary = t["sheet_summary"]
    rows = {
        c.value: c.row for c in openpyxl.load_workbook(path)[summary]["A"] if c.value is not None
    }
    for key, case in result.business_cases.items():
        _check_case(values, path, t, key, case)
        k = case.key_figures()
        if not case.gross:  # the Summary points at the case sheet
            assert values[(summary, f"D{rows[key]}")] == pytest.approx(k["net_gain"], rel=REL)
            assert values[(summary, f"E{rows[key]}")] == pytest.approx(k["npv"], rel=REL)


def test_the_payer_split_recomputes(built):
    result, path = built("register_caseload")
    t = excel_strings("en")
    values = recompute(path)
    ws = openpyxl.load_workbook(path)["Payers"]
    labels = {c.value: c.row for c in ws["A"] if isinstance(c.value, str)}
    (case,) = result.business_cases.values()
    split = payer_split(case)
    for name, label in [
        ("kommune", t["payer_kommune"]),
        ("stat", t["payer_stat"]),
        ("borger", t["payer_borger"]),
        (SOCIETY, t["payer_society"]),
    ]:
        for j, column in enumerate(split.columns):
            got = values[("Payers", f"{'BCDEFG'[j]}{labels[label]}")] * 1_000
            assert got == pytest.approx(split.loc[name, column], rel=REL, abs=1e-3), (name, column)


def _with_rate(case, line_name: str, year: int, amount: float):
    """The BusinessCase with one year's benefit rate of one line changed, built by
    evaluate's own monetize from the line's inputs."""
    line = next(line for line in case.lines if line.name == line_name)
    inputs = line.inputs
    rates = {**inputs.rates, year: dataclasses.replace(inputs.rates[year], amount=amount)}
    changed = monetize(
        line.effect,
        name=line.name,
        years=dict(inputs.exposure),
        rate=rates,
        sign=inputs.sign,
        refusion_share=inputs.refusion,
        perspective=line.perspective,
        category=line.category,
        source=line.source,
    )
    lines = tuple(changed if other is line else other for other in case.lines)
    return dataclasses.replace(case, lines=lines)


def test_a_changed_rate_cell_moves_the_net_gain_as_evaluate_computes(built):
    result, path = built("faxe_fleksjob")
    t = excel_strings("en")
    case = result.business_cases["simulated"]
    line = "Ledighedsydelse"
    rate = case.lines[0].inputs.rates[2019]
    cell = _input(path, t, "simulated", line, t["in_rate"], 2019)
    new_amount = rate.amount * 1.10
    before = recompute(path)
    after = recompute(path, {cell: new_amount})
    changed = _with_rate(case, line, 2019, new_amount)
    assert changed.net_gain != pytest.approx(case.net_gain, rel=1e-3)  # the change matters
    _check_case(after, path, t, "simulated", changed)
    sheet = Sheet(path, "simulated", t)
    moved = (after[sheet.at(t["kf_net_gain"])] - before[sheet.at(t["kf_net_gain"])]) * 1_000
    assert moved == pytest.approx(changed.net_gain - case.net_gain, rel=REL)
    summary = {c.value: c.row for c in openpyxl.load_workbook(path)["Summary"]["A"] if c.value}
    assert after[("Summary", f"D{summary['simulated']}")] == pytest.approx(
        changed.net_gain, rel=REL
    )
    # the published case does not use the rate and stays put
    published = Sheet(path, "published", t)
    assert after[published.at(t["kf_net_gain"])] == before[published.at(t["kf_net_gain"])]


def test_a_changed_discount_rate_and_deadweight_move_the_case_as_evaluate_computes(built):
    result, path = built("register_caseload")
    t = excel_strings("en")
    (key,) = result.business_cases
    case = result.business_cases[key]
    discount = _input(path, t, key, "", t["in_discount"])
    deadweight = _input(path, t, key, "", t["in_deadweight"])
    after = recompute(path, {discount: 0.05, deadweight: 0.25})
    frame = case.discount.frame.copy()
    frame.loc[0, "rate"] = 0.05
    changed = dataclasses.replace(case, discount=DiscountSchedule(frame), deadweight=0.25)
    assert changed.present_value != pytest.approx(case.present_value, rel=1e-3)
    _check_case(after, path, t, key, changed)


def test_an_evidence_grade_discount_is_an_input_cell_of_the_model(built, tmp_path):
    """An optimism-bias discount by evidence grade (evaluate.grade) lowers the benefit
    lines through its own input cell: the workbook gives the discounted case, and
    setting the cell to 0 gives the undiscounted one."""
    from evaluate.grade import EvidenceDiscount, evidence_discount

    result, _ = built("faxe_fleksjob")
    t = excel_strings("en")
    case = result.business_cases["simulated"]
    shares = {"A": 0.0, "B": 0.1, "C": 0.25, "D": 0.4}
    discounted = evidence_discount(case, EvidenceDiscount(shares, "test table"))
    assert discounted.evidence_discounts, "the case has a benefit line to discount"
    assert discounted.net_gain != pytest.approx(case.net_gain, rel=1e-3)
    cases = {**result.business_cases, "simulated": discounted}
    path = write_excel(dataclasses.replace(result, business_cases=cases), tmp_path / "r.xlsx")
    _check_case(recompute(path), path, t, "simulated", discounted)
    line, grade, _ = discounted.evidence_discounts[0]
    cell = _input(path, t, "simulated", line, t["in_evidence"].format(grade=grade))
    _check_case(recompute(path, {cell: 0.0}), path, t, "simulated", case)


def test_a_danish_workbook_recomputes_under_danish_names(built):
    result, path = built("solroed_business_case")
    assert result.spec.study.language == "da"
    names = openpyxl.load_workbook(path).sheetnames
    assert {"Sammenfatning", "Forudsætninger", "Dokumentation"} <= set(names)
    t = excel_strings("da")
    values = recompute(path)
    for key, case in result.business_cases.items():
        _check_case(values, path, t, key, case)


def _calc_available() -> str | None:
    """Why LibreOffice cannot recalculate here, or None when it can."""
    if shutil.which("soffice") is None:
        return "soffice is not installed"
    return None


@pytest.mark.skipif(_calc_available() is not None, reason=str(_calc_available()))
def test_libreoffice_recalculates_a_changed_rate_to_evaluates_number(built, tmp_path):
    """A second engine: LibreOffice opens the workbook with a changed rate cell (openpyxl
    drops the cached values on saving, so LibreOffice must compute) and saves it."""
    result, path = built("faxe_fleksjob")
    t = excel_strings("en")
    case = result.business_cases["simulated"]
    rate = case.lines[0].inputs.rates[2019]
    sheet, coord = _input(path, t, "simulated", "Ledighedsydelse", t["in_rate"], 2019)
    wb = openpyxl.load_workbook(path)
    wb[sheet][coord] = rate.amount * 1.10
    edited = tmp_path / "edited.xlsx"
    wb.save(edited)
    out = tmp_path / "out"
    run = subprocess.run(
        [
            "soffice",
            "--headless",
            f"-env:UserInstallation=file://{tmp_path / 'profile'}",
            "--convert-to",
            "xlsx:Calc MS Excel 2007 XML",
            "--outdir",
            str(out),
            str(edited),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    if not (out / "edited.xlsx").exists():
        pytest.skip(f"LibreOffice could not open a spreadsheet here: {run.stderr.strip()}")
    values = openpyxl.load_workbook(out / "edited.xlsx", data_only=True)
    changed = _with_rate(case, "Ledighedsydelse", 2019, rate.amount * 1.10)
    ws = values["simulated"]
    rows = {c.value: c.row for c in ws["A"] if isinstance(c.value, str)}
    assert ws[f"B{rows[t['kf_net_gain']]}"].value * 1_000 == pytest.approx(
        changed.net_gain, rel=REL
    )
    assert ws[f"B{rows[t['kf_present_value']]}"].value * 1_000 == pytest.approx(
        changed.present_value, rel=REL
    )
    assert ws[f"B{rows[t['kf_bcr']]}"].value == pytest.approx(changed.benefit_cost_ratio, rel=REL)


BASE_REL = 1e-9
"""The base-year test's tolerance: the sheet's ``(1 + r)^n`` against numpy's product of
``n`` factors differ by rounding only (about 1e-15 relative)."""


def _discounting(values, path, t, key, case):
    """The recomputed sheet's discount factors, present values and payback against the
    BusinessCase, to ``BASE_REL``."""
    sheet = Sheet(path, key, t)
    factors = case._factors()
    for j, year in enumerate(case.years):
        got = values[sheet.at(t["discount_factor"], str(year))]
        assert got == pytest.approx(factors[j], rel=BASE_REL), year
    pv = case.present_values() / 1_000 * (1 if case.sign == "municipal" else -1)
    for line in case.lines:
        got = values[sheet.at(line.name, t["present_value"])]
        assert got == pytest.approx(pv[line.name], rel=BASE_REL, abs=1e-12), line.name
    got = values[sheet.at(t["kf_present_value"])] * 1_000
    assert got == pytest.approx(case.present_value, rel=BASE_REL)
    if case.payback_reason is None:
        expected = t["never"] if case.payback_year is None else case.payback_year
        assert _number(values[sheet.at(t["payback"])]) == expected
    if not case.gross and case.benefit_cost_ratio is not None:
        bcr = values[sheet.at(t["kf_bcr"])]
        assert bcr == pytest.approx(case.benefit_cost_ratio, rel=BASE_REL)


@pytest.mark.parametrize(("name", "key"), [("faxe_fleksjob", "simulated"),
                                           ("register_caseload", None)])  # fmt: skip
def test_a_moved_base_year_cell_discounts_as_evaluate_does_with_that_base_year(
    built, tmp_path, name, key
):
    """The base year is an input cell: every discount factor counts its years from it,
    and picks each year's rate step by it.  The workbook is written with the base year
    one year before the first year, the cell is moved one year later (to the first
    year) and 40 years earlier (every year then in the 2.5 % step), and the recomputed
    present values equal evaluate's BusinessCase with that base year (1e-9 relative).
    A base year after the first year, which evaluate refuses, gives #N/A."""
    result, _ = built(name)
    key = key or next(iter(result.business_cases))
    t = excel_strings(result.spec.study.language)
    case = result.business_cases[key]
    first = case.years[0]
    assert case.discount is not None and (case.base_year or first) == first
    early = dataclasses.replace(case, base_year=first - 1)
    cases = {**result.business_cases, key: early}
    path = write_excel(dataclasses.replace(result, business_cases=cases), tmp_path / "r.xlsx")
    cell = _input(path, t, key, "", t["in_base_year"])
    _discounting(recompute(path), path, t, key, early)
    for base in (first, first - 40):
        moved = dataclasses.replace(case, base_year=base)
        assert moved.present_value != pytest.approx(early.present_value, rel=1e-3)
        values = recompute(path, {cell: base})
        _discounting(values, path, t, key, moved)
        _check_case(values, path, t, key, moved)
    assert case.discount.rate(40) != case.discount.rate(1)  # a second step is reached
    with pytest.raises(SpecError, match="after the first year"):
        dataclasses.replace(case, base_year=first + 1)
    late = recompute(path, {cell: first + 1})
    sheet = Sheet(path, key, t)
    assert str(late[sheet.at(t["discount_factor"], str(first))]) == "#N/A"
    # the settings table shows the base year of the cell
    ws = openpyxl.load_workbook(path)[t["sheet_assumptions"]]
    (row,) = [r for r in ws.iter_rows() if r[0].value == key and r[1].value == case.title]
    assert recompute(path, {cell: first - 40})[(ws.title, row[5].coordinate)] == first - 40
