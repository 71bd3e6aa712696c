"""Issue 16, item 1: every text cell of the workbook is text, never a formula."""

from __future__ import annotations

import html
import re
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


_FUNCTIONS = {"SUM", "SUMPRODUCT", "SUMIF", "IF"}
_TOKEN = re.compile(
    r"""\$?[A-Z]{1,3}\$?[0-9]+(?::\$?[A-Z]{1,3}\$?[0-9]+)?  # a cell or a range
    |[0-9]+(?:\.[0-9]+)?                            # a number
    |[-+*/^(),:]|>=|[<>=]                           # operators
    |"[^"]*"                                        # a string literal
    |[A-Z]+(?=\()                                   # a function
    """,
    re.X,
)


def _own_formula(formula: str, sheets: list[str], words: set[str]) -> bool:
    """True when ``formula`` is made of the workbook's own pieces only: references to
    its sheets, numbers, operators, a few plain functions, and its own words."""
    for title in sorted(sheets, key=len, reverse=True):
        formula = formula.replace("'" + title.replace("'", "''") + "'!", "")
    pos = 0
    while pos < len(formula):
        token = _TOKEN.match(formula, pos)
        if token is None:
            return False
        text = token.group(0)
        if text.startswith('"') and text.strip('"') not in words:
            return False
        if text.isalpha() and text not in _FUNCTIONS:
            return False
        pos = token.end()
    return True


def test_only_the_workbooks_own_formulas(workbook):
    _, wb = workbook
    formulas = [(ws.title, c.value) for ws, c in _cells(wb) if c.data_type == "f"]
    assert formulas, "the business case is a live model"
    words = {"", ">0", "<0", "never"}
    for title, formula in formulas:
        assert FORMULA not in formula
        assert _own_formula(formula[1:], wb.sheetnames, words), (title, formula)
    assert not _own_formula("HYPERLINK(A1)", wb.sheetnames, words)
    assert not _own_formula('"' + FORMULA + '"', wb.sheetnames, words)


def test_no_formula_text_in_the_sheet_xml(workbook):
    path, wb = workbook
    with zipfile.ZipFile(path) as archive:
        for name in archive.namelist():
            if name.startswith("xl/worksheets/"):
                xml = archive.read(name).decode("utf-8")
                # a formula is stored in <f>...</f>: only the workbook's own may appear there
                for chunk in xml.split("<f>")[1:]:
                    formula = html.unescape(chunk.split("</f>")[0])
                    assert _own_formula(formula, wb.sheetnames, {"", ">0", "<0", "never"})


def test_every_formula_like_text_gets_the_quote_prefix(workbook):
    _, wb = workbook
    text = [c for _, c in _cells(wb) if c.data_type == "s"]
    risky = [c for c in text if c.value.startswith(FORMULA_PREFIXES)]
    assert len(risky) >= 5  # title, "=HYPERLINK" peer, "+focal", "-cost" line, "@peer5"
    assert all(c.quotePrefix for c in risky)
