"""Issue 16, item 1: every text cell of the workbook is text, never a formula."""

from __future__ import annotations

import zipfile

import openpyxl
import pytest

from evaluate.report.excel import FORMULA_PREFIXES, write_excel
from evaluate.study import run_study
from tests.safety.hostile import FORMULA, write_hostile_study


@pytest.fixture(scope="module")
def workbook(tmp_path_factory):
    folder = tmp_path_factory.mktemp("hostile")
    result = run_study(write_hostile_study(folder))
    path = write_excel(result, folder / "report.xlsx")
    return path, openpyxl.load_workbook(path)


def _cells(wb):
    for ws in wb.worksheets:
        for row in ws.iter_rows():
            for cell in row:
                if cell.value is not None:
                    yield ws, cell


def test_the_calc_payload_arrives_as_text(workbook):
    _, wb = workbook
    hits = [(ws, c) for ws, c in _cells(wb) if isinstance(c.value, str) and FORMULA in c.value]
    # title, labels, line names, sources, notes and category names all carry it
    assert len(hits) >= 10
    for _, cell in hits:
        assert cell.data_type == "s", cell.coordinate
    starting = [c for _, c in hits if c.value.startswith(FORMULA)]
    assert starting and all(c.quotePrefix for c in starting)


def test_only_the_workbooks_own_sums_are_formulas(workbook):
    _, wb = workbook
    formulas = [(ws.title, c.value) for ws, c in _cells(wb) if c.data_type == "f"]
    assert formulas, "the business case keeps its live Net row and Total column"
    assert all(v.startswith("=SUM(") and ws == "case" for ws, v in formulas), formulas


def test_no_formula_text_in_the_sheet_xml(workbook):
    path, _ = workbook
    with zipfile.ZipFile(path) as archive:
        for name in archive.namelist():
            if name.startswith("xl/worksheets/"):
                xml = archive.read(name).decode("utf-8")
                # a formula is stored in <f>...</f>; only SUMs may appear there
                for chunk in xml.split("<f>")[1:]:
                    assert chunk.startswith("SUM("), chunk[:40]


def test_every_formula_like_text_gets_the_quote_prefix(workbook):
    _, wb = workbook
    text = [c for _, c in _cells(wb) if c.data_type == "s"]
    risky = [c for c in text if c.value.startswith(FORMULA_PREFIXES)]
    assert len(risky) >= 5  # title, "=HYPERLINK" peer, "+focal", "-cost" line, "@peer5"
    assert all(c.quotePrefix for c in risky)
