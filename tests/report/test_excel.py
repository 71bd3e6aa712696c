"""The Excel workbook: numbers equal the BusinessCase, formulas stay live, bytes stay put.

The values read here are the ones the workbook stores with its formulas (openpyxl's
``data_only``); tests/report/test_excel_model.py recomputes them with a formula engine.
"""

import shutil
import zipfile
from pathlib import Path

import openpyxl
import pytest

from evaluate.report.excel import excel_strings, write_excel
from evaluate.study import run_study

STUDIES = Path(__file__).parents[2] / "studies"


@pytest.fixture(scope="module")
def faxe():
    return run_study(STUDIES / "faxe_fleksjob.toml")


@pytest.fixture(scope="module")
def workbook(faxe, tmp_path_factory):
    path = write_excel(faxe, tmp_path_factory.mktemp("xlsx") / "report.xlsx")
    return path, openpyxl.load_workbook(path)


@pytest.fixture(scope="module")
def values(workbook):
    """The workbook as a viewer that does not recalculate sees it: the cached values."""
    return openpyxl.load_workbook(workbook[0], data_only=True)


def _table(ws):
    """Header row, then {line: {column: value}} of a business-case sheet."""
    rows = list(ws.iter_rows(min_row=5))
    header = [c.value for c in rows[0] if c.value is not None]
    body = {}
    for row in rows[1:]:
        if row[0].value is None:
            break
        body[row[0].value] = {h: c.value for h, c in zip(header[1:], row[1:], strict=False)}
    return header, body


def test_sheets(workbook):
    _, wb = workbook
    assert wb.sheetnames == [
        "Summary",
        "Effects",
        "published",
        "simulated",
        "Payers",
        "Assumptions",
        "Provenance",
    ]


@pytest.mark.parametrize("key", ["published", "simulated"])
def test_case_sheet_equals_the_business_case(values, faxe, key):
    case = faxe.business_cases[key]
    expected = case.table()  # 1,000 DKK, municipal sign, Net row and Total column
    header, body = _table(values[key])
    present_value = ["Present value"] if case.discount is not None else []
    assert header == ["Line", *expected.columns[:-1], "Total", *present_value]
    assert list(body) == [*expected.index[:-1], "Net"]
    for line, row in body.items():
        want = expected.loc["Net" if line == "Net" else line]
        for column, value in row.items():
            if column == "Present value":
                continue
            assert value == pytest.approx(want[column], rel=1e-12, abs=1e-9), (line, column)
    # The net of the table is minus the case's net gain (municipal: plus = expenditure).
    assert body["Net"]["Total"] * 1_000 == pytest.approx(-case.net_gain, rel=1e-12)


def test_lines_net_row_and_total_column_are_formulas(workbook, values):
    _, wb = workbook
    ws = wb["simulated"]
    net_row = next(r for r in ws.iter_rows(min_row=6) if r[0].value == "Net")
    assert [c.value for c in net_row[1:]] == [
        "=SUM(B6:B8)",
        "=SUM(C6:C8)",
        "=SUM(D6:D8)",
        "=SUM(E6:E8)",
    ]
    assert ws["D6"].value == "=SUM(B6:C6)"
    # a line is a product of cells on the Assumptions sheet, not a typed-in number
    assert ws["B6"].value.startswith("='Assumptions'!$E$") and "/1000" in ws["B6"].value
    assert ws["B6"].number_format == "#,##0"
    assert isinstance(values["simulated"]["B6"].value, float)  # with its value cached
    assert wb.calculation.fullCalcOnLoad  # Excel computes the formulas on opening


def test_sign_note_under_the_table(workbook):
    _, wb = workbook
    ws = wb["published"]
    texts = [c.value for c in ws["A"] if isinstance(c.value, str)]
    sign = texts.index("Sign: plus = expenditure, minus = income or saving.")
    assert sign > texts.index("Net")
    assert "Price level: current prices as stated (2019)" in texts
    assert "1,000 DKK" in texts


def test_summary_key_figures(values, faxe):
    rows = {r[0]: r for r in values["Summary"].iter_rows(values_only=True) if r[0]}
    for key, case in faxe.business_cases.items():
        k = case.key_figures()
        row = rows[key]
        assert row[3] == pytest.approx(k["net_gain"]) and row[4] == pytest.approx(k["npv"])
        assert row[8] == pytest.approx(k["break_even_share_of_effect"])
    # Published: stated without uncertainty, so no interval and no probability (blank, not NaN).
    assert rows["published"][3] == pytest.approx(1_900_000, rel=1e-12)
    assert rows["published"][5:8] == (None, None, None)
    simulated = faxe.business_cases["simulated"]
    assert rows["simulated"][7] == pytest.approx(simulated.probability_of_gain)
    effect = faxe.effects["ledighedsydelse_simulated"]
    row = rows["ledighedsydelse_simulated"]
    assert row[3:6] == pytest.approx((effect.estimate, *effect.ci))


def test_effects_assumptions_provenance(workbook, faxe):
    _, wb = workbook
    effects = list(wb["Effects"].iter_rows(min_row=2, values_only=True))
    assert len(effects) == sum(len(e.to_frame()) for e in faxe.effects.values())
    assert effects[0][1:3] == ("Recipients of ledighedsydelse (published)", pytest.approx(-0.26))
    assert effects[0][12] == "Faxe Kommune, press release 29.10.2019"
    assumptions = [v for r in wb["Assumptions"].iter_rows(values_only=True) for v in r if v]
    assert any("ledighedsydelse 2018: 3,827 DKK/week" in str(v) for v in assumptions)
    assert "Finansministeriet, samfundsøkonomisk diskonteringsrente" in assumptions
    provenance = [v for r in wb["Provenance"].iter_rows(values_only=True) for v in r if v]
    assert faxe.spec_sha256 in provenance and 20191029 in provenance
    data = faxe.data["simulated_monthly"]
    assert data.sha256 in provenance and data.rows in provenance


def test_rerun_is_byte_identical(workbook, faxe, tmp_path):
    path, _ = workbook
    again = write_excel(faxe, tmp_path / "again.xlsx")
    assert again.read_bytes() == path.read_bytes()
    with zipfile.ZipFile(again) as archive:
        assert {info.date_time for info in archive.infolist()} == {(1980, 1, 1, 0, 0, 0)}
        core = archive.read("docProps/core.xml").decode()
    assert "1980-01-01T00:00:00Z" in core


def test_danish_labels(tmp_path):
    spec = (STUDIES / "faxe_fleksjob.toml").read_text(encoding="utf-8")
    shutil.copytree(STUDIES / "data", tmp_path / "data")
    (tmp_path / "s.toml").write_text(spec.replace('language = "en"', 'language = "da"'), "utf-8")
    result = run_study(tmp_path / "s.toml")
    wb = openpyxl.load_workbook(write_excel(result, tmp_path / "da.xlsx"))
    t = excel_strings("da")
    assert wb.sheetnames[:2] == ["Sammenfatning", "Effekter"]
    assert wb.sheetnames[-3:] == ["Aktører", "Forudsætninger", "Dokumentation"]
    ws = wb["published"]
    assert [c.value for c in ws[5] if c.value] == ["Linje", "2019", "I alt"]
    column_a = [c.value for c in ws["A"]]
    assert "Netto" in column_a and "1.000 kr." in column_a
    assert t["sign_municipal"] in column_a
    assert "Pris- og lønniveau: current prices as stated (2019)" in column_a
    assert wb["Sammenfatning"]["A5"].value == "Nøgle"


def test_sheet_names_are_made_legal(faxe, tmp_path):
    from evaluate.report.excel import _sheet_name

    taken = {"summary"}
    assert _sheet_name("Summary", taken) == "Summary (2)"
    assert _sheet_name("a/b:c*" + "x" * 40, taken) == ("a_b_c_" + "x" * 40)[:31]
