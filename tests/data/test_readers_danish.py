"""Issue 13 item 2: the Danish Excel export (semicolon, decimal comma, cp1252) read,
detected where the file leaves no doubt, and an error naming the option where it does."""

from __future__ import annotations

import pandas as pd
import pytest

from evaluate.data.readers import read_table
from evaluate.errors import DataError

DANISH = "kommune;måned;fuldtidspersoner\nKøge;2021M01;1.234,5\nKøge;2021M02;987,25\n"


def _write(tmp_path, text: str, encoding: str = "cp1252", name: str = "data.csv"):
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


def test_the_danish_export_is_detected_and_said(tmp_path):
    table = read_table(_write(tmp_path, DANISH))
    assert table.frame["fuldtidspersoner"].tolist() == [1234.5, 987.25]
    assert table.frame["kommune"].tolist() == ["Køge", "Køge"]
    assert list(table.read_as) == [
        "separator ';'",
        "decimal comma",
        "thousands separator '.'",
        "encoding cp1252",
    ]


def test_options_given_are_used_and_not_reported(tmp_path):
    path = _write(tmp_path, DANISH)
    table = read_table(path, sep=";", decimal=",", thousands=".", encoding="cp1252")
    assert table.frame["fuldtidspersoner"].tolist() == [1234.5, 987.25]
    assert table.read_as == ()


def test_a_plain_utf8_csv_reports_nothing(tmp_path):
    table = read_table(_write(tmp_path, "a,b\n1,2.5\n", encoding="utf-8"))
    assert table.frame["b"].tolist() == [2.5] and table.read_as == ()


@pytest.mark.parametrize(
    ("text", "option"),
    [
        ("a;b\n1;1.234\n2;2.345\n", 'set decimal = "," and thousands = "."'),
        ("a;b\n1;1,5\n2;2.25\n", 'set decimal = "," or "."'),
        ("a;b,c\n1;2,3\n1,2;3\n", "set sep"),
    ],
)
def test_an_ambiguous_file_names_the_option_to_set(tmp_path, text, option):
    with pytest.raises(DataError, match=option.replace("(", r"\(")):
        read_table(_write(tmp_path, text, encoding="utf-8"))


def test_a_wrong_encoding_names_the_option(tmp_path):
    path = _write(tmp_path, "a;b\nKøge;1\n", encoding="utf-8")
    with pytest.raises(DataError, match="check encoding = 'ascii'"):
        read_table(path, encoding="ascii")


def test_a_sheet_is_chosen_by_name_and_a_missing_one_lists_the_sheets(tmp_path):
    path = tmp_path / "data.xlsx"
    with pd.ExcelWriter(path) as writer:
        pd.DataFrame({"a": [1]}).to_excel(writer, sheet_name="Forside", index=False)
        pd.DataFrame({"y": ["1.234,5", "2,5"]}).to_excel(writer, sheet_name="Data", index=False)
    table = read_table(path, sheet="Data", decimal=",", thousands=".")
    assert table.frame["y"].tolist() == [1234.5, 2.5]
    assert "the first of 2" in read_table(path).read_as[0]
    with pytest.raises(DataError, match="no sheet 'Tal'; its sheets: 'Forside', 'Data'"):
        read_table(path, sheet="Tal")
