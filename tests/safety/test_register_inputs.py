"""Issue 16, item 8 and the register corpus: malformed person-week records end in a
DataError naming the column (and the row where there is one), never in a wrong
number or another exception."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from evaluate.data import derive_parquet, prepare_records, read_register
from evaluate.errors import DataError, EvaluateError, LimitError


def _records(**columns) -> pd.DataFrame:
    base = {
        "person": [1, 1, 1, 2, 2],
        "week": [202001, 202002, 202003, 202001, 202002],
        "status": [130, 130, 0, 0, 111],
    }
    base.update(columns)
    return pd.DataFrame(base)


CASES = {
    "fractional status code": _records(status=[130.0, 130.7, 0.0, 0.0, 111.0]),
    "status code 1e300": _records(status=[130.0, 1e300, 0.0, 0.0, 111.0]),
    "status code inf": _records(status=[130.0, np.inf, 0.0, 0.0, 111.0]),
    "status code nan": _records(status=[130.0, np.nan, 0.0, 0.0, 111.0]),
    "status code as text": _records(status=["130", "130", "0", "0", "111"]),
    "unknown status code": _records(status=[130, 999, 0, 0, 111]),
    "fractional week": _records(week=[202001.5, 202002, 202003, 202001, 202002]),
    "week inf": _records(week=[np.inf, 202002, 202003, 202001, 202002]),
    "week 202099": _records(week=[202099, 202002, 202003, 202001, 202002]),
    "week without year": _records(week=[1, 2, 3, 1, 2]),
    "negative week": _records(week=[-202001, 202002, 202003, 202001, 202002]),
    "garbage week text": _records(week=["2020-W01", "soon", "2020-W03", "2020-W01", "2020-W02"]),
    "future week": _records(week=[202001, 202002, 299901, 202001, 202002]),
    "duplicate person-week": _records(week=[202001, 202001, 202003, 202001, 202002]),
    "gap in a history": _records(week=[202001, 202002, 202010, 202001, 202002]),
    "missing person": _records(person=[1, None, 1, 2, 2]),
    "mixed id types": _records(person=[1, "1", 1, 2, 2]),
    "no rows": _records().iloc[:0],
    "missing status column": _records().drop(columns="status"),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_malformed_register_records_raise_a_data_error(name):
    data = CASES[name]
    before = data.copy()
    with pytest.raises(DataError) as info:
        prepare_records(data, municipality=None, last_valid_week=202452)
    assert type(info.value).__mro__.index(EvaluateError) > 0
    pd.testing.assert_frame_equal(data, before)  # the caller's frame is untouched


def test_a_fractional_status_code_is_an_error_naming_the_row():
    with pytest.raises(DataError, match=r"'status' holds status code 130\.7 at row 1"):
        prepare_records(CASES["fractional status code"], municipality=None)


def test_whole_float_status_codes_are_read_as_integers():
    data = _records(status=[130.0, 130.0, 0.0, 0.0, 111.0])
    ints = prepare_records(_records(), municipality=None, last_valid_week=202452)
    floats = prepare_records(data, municipality=None, last_valid_week=202452)
    np.testing.assert_array_equal(ints.benefit, floats.benefit)


def test_a_register_too_large_for_memory_is_refused_before_allocating(monkeypatch):
    monkeypatch.setenv("EVALUATE_MAX_MEMORY_GB", "0.0000001")
    with pytest.raises(LimitError, match="derive_parquet.*EVALUATE_MAX_MEMORY_GB"):
        prepare_records(_records(), municipality=None, last_valid_week=202452)


FILES = {
    "empty.csv": b"",
    "header.csv": b"person,week,status\n",
    "utf16.csv": "person,week,status\n1,202001,130\n".encode("utf-16"),
    "cp1252.csv": "person,week,status,kommune\n1,202001,130,K\u00f8ge\n".encode("cp1252"),
    "open-quote.csv": b'person,week,status\n1,202001,"130\n',
    "garbage.parquet": b"PAR1garbagePAR1",
    "tiny.parquet": b"x",
    "garbage.dta": b"garbage",
    "garbage.sas7bdat": b"garbage" * 100,
    "unknown.json": b"{}",
}


@pytest.mark.parametrize("name", sorted(FILES))
def test_unreadable_register_files_raise_a_data_error(name, tmp_path):
    path = tmp_path / name
    path.write_bytes(FILES[name])
    with pytest.raises(DataError, match=name):
        read_register(path)


@pytest.mark.parametrize("name", ["garbage.parquet", "tiny.parquet"])
def test_unreadable_parquet_registers_raise_a_data_error_when_streamed(name, tmp_path):
    path = tmp_path / name
    path.write_bytes(FILES[name])
    with pytest.raises(DataError, match="cannot be read as Parquet"):
        derive_parquet(path)
