"""The Arrow fast path of derive_parquet equals the in-memory derivation exactly, and
every malformed register still ends in the DataError the step-by-step checks raise."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import evaluate.data.stream as stream_mod
from evaluate.data._stream_arrow import plan_footers
from evaluate.data.derive import ResetRule, derive_register
from evaluate.data.register import prepare_records
from evaluate.data.stream import derive_parquet
from evaluate.errors import DataError
from evaluate.simulate_register import register_histories

COLS = ["person", "week", "status", "municipality"]


def _write_sorted(df: pd.DataFrame, folder: Path, n_files: int, group: int = 700) -> Path:
    """Rows in person order cut into files and row groups at arbitrary rows, so persons
    are split across row groups and files (as a register written sorted is)."""
    folder.mkdir(parents=True, exist_ok=True)
    for i, part in enumerate(np.array_split(np.arange(len(df)), n_files)):
        df.iloc[part].to_parquet(folder / f"part-{i}.parquet", row_group_size=group)
    return folder


def _same(streamed, whole) -> None:  # noqa: ANN001
    pd.testing.assert_frame_equal(streamed.spells, whole.spells)
    pd.testing.assert_frame_equal(streamed.ftp, whole.ftp)
    pd.testing.assert_frame_equal(streamed.transitions, whole.transitions)
    assert streamed.n_rows == whole.n_rows
    assert streamed.window == whole.window
    assert streamed.repairs == whole.repairs
    np.testing.assert_array_equal(streamed.municipalities, whole.municipalities)
    assert streamed.municipalities.dtype == whole.municipalities.dtype


def _fast(folder: Path, municipality: str | None = "municipality") -> bool:
    files = sorted(str(p) for p in folder.glob("*.parquet"))
    cols = COLS if municipality else COLS[:3]
    return plan_footers(files, cols, municipality) is not None


def _old(monkeypatch, folder: Path, **kw):  # noqa: ANN001, ANN202
    """The DuckDB path, as before the fast path existed."""
    with monkeypatch.context() as m:
        m.setattr(stream_mod, "plan_footers", lambda *a: None)
        return derive_parquet(folder, progress=False, **kw)


@pytest.fixture(scope="module")
def register() -> pd.DataFrame:
    df = register_histories(n_persons=300, n_municipalities=7, n_weeks=120, seed=5)
    # Municipality codes with holes (as Danish kommune codes have), int16 on disk.
    return df.assign(municipality=(df["municipality"] * 3).astype("int16"))


@pytest.mark.parametrize(("n_files", "group", "chunk"), [(1, 10**6, 10**7), (3, 700, 1),
                                                         (5, 97, 1000), (2, 260, 520)])  # fmt: skip
def test_fast_path_equals_in_memory(register, tmp_path, monkeypatch, n_files, group, chunk):
    folder = _write_sorted(register, tmp_path / "reg", n_files, group)
    assert _fast(folder)
    whole = derive_register(prepare_records(register))
    streamed = derive_parquet(folder, rows_per_chunk=chunk, progress=False)
    _same(streamed, whole)
    _same(_old(monkeypatch, folder), whole)


def test_string_municipalities_int32_ids_and_another_rule(register, tmp_path) -> None:
    df = register.assign(
        person=register["person"].astype("int32") * 7,
        municipality="kommune_" + register["municipality"].astype(str),
    )
    folder = _write_sorted(df, tmp_path / "reg", 3, 333)
    assert _fast(folder)
    rule = ResetRule(10, 20)
    whole = derive_register(prepare_records(df), rule=rule)
    streamed = derive_parquet(folder, rule=rule, workers=3, progress=False)
    _same(streamed, whole)
    assert streamed.spells["person"].dtype == np.dtype("int32")


def test_one_person_over_many_row_groups_and_no_municipality(tmp_path) -> None:
    df = register_histories(n_persons=4, n_weeks=400, seed=2).drop(columns="municipality")
    folder = _write_sorted(df, tmp_path / "reg", 2, 50)  # each person spans 8 row groups
    assert _fast(folder, municipality=None)
    whole = derive_register(prepare_records(df, municipality=None))
    _same(derive_parquet(folder, municipality=None, rows_per_chunk=1, progress=False), whole)


def test_gaps_are_filled_or_named(register, tmp_path) -> None:
    df = register.drop(index=[5, 6, 7, 1000]).reset_index(drop=True)
    folder = _write_sorted(df, tmp_path / "reg", 2, 500)
    assert _fast(folder)
    whole = derive_register(prepare_records(df, gaps="fill"))
    streamed = derive_parquet(folder, gaps="fill", progress=False)
    _same(streamed, whole)
    assert streamed.repairs == {"gap_weeks_filled": 4}
    with pytest.raises(DataError, match=r"gaps \(.* missing weeks\) inside person histories"):
        derive_parquet(folder, progress=False)


def test_rows_out_of_order_inside_row_groups(register, tmp_path, monkeypatch) -> None:
    rng = np.random.default_rng(3)
    # Shuffle rows within blocks of 600 rows that become the row groups: person ranges of
    # groups still only touch, but the rows are not sorted, even at group boundaries.
    blocks = np.array_split(np.arange(len(register)), len(register) // 600)
    order = np.concatenate([rng.permutation(b) for b in blocks])
    df = register.iloc[order]
    folder = _write_sorted(df, tmp_path / "reg", 3, 600)
    whole = derive_register(prepare_records(register))
    streamed = derive_parquet(folder, progress=False)
    _same(streamed, whole)
    assert "rows_reordered" not in streamed.repairs  # as on the DuckDB path (SQL sorts)
    _same(_old(monkeypatch, folder), whole)


def _corrupt(register: pd.DataFrame, row: int, **values: object) -> pd.DataFrame:
    df = register.copy()
    for col, value in values.items():
        if isinstance(value, float):
            df[col] = df[col].astype("float64")
        df.loc[row, col] = value
    return df


CASES = {
    "unknown status code": (dict(status=4242), r"status codes not in the code table: 4242 \(1 "),
    "invalid week": (dict(week=201960), "2019-W60"),
    "future week": (dict(week=209901), "future week 209901"),
    "missing status": (dict(status=np.nan), "'status' has 1 missing"),
    "missing week": (dict(week=np.nan), "'week' has missing values"),
    "duplicate person-week": (dict(week=201911), "duplicate person-weeks"),
    "gap": (dict(week=201915), "gaps"),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_malformed_rows_raise_the_same_error_on_both_paths(register, tmp_path, monkeypatch, name):
    values, message = CASES[name]
    row = 9000 + 10  # in the middle of a person in the middle of the files
    df = _corrupt(register, row, **values)
    if name in ("duplicate person-week", "gap"):
        df.loc[row, "week"] = df.loc[row - 1 if name == "duplicate person-week" else row, "week"]
        if name == "gap":
            df = df.drop(index=row)
    folder = _write_sorted(df, tmp_path / "reg", 3, 1000)
    kw = {"last_valid_week": 202452}
    with pytest.raises(DataError, match=message):
        derive_parquet(folder, progress=False, **kw)
    with pytest.raises(DataError, match=message):
        _old(monkeypatch, folder, **kw)


def test_duplicate_across_files_at_the_boundary_person(register, tmp_path) -> None:
    folder = _write_sorted(register, tmp_path / "reg", 2, 1000)
    first_of_second = pd.read_parquet(sorted(folder.glob("*.parquet"))[1]).iloc[[0]]
    first_of_second.to_parquet(folder / "part-9.parquet")  # a row of that person again
    with pytest.raises(DataError, match="duplicate person-weeks"):
        derive_parquet(folder, progress=False)


def test_scattered_or_untyped_files_take_the_duckdb_path(register, tmp_path) -> None:
    folder = tmp_path / "reg"
    folder.mkdir()
    rows = np.random.default_rng(0).permutation(len(register))
    for i, part in enumerate(np.array_split(rows, 2)):
        register.iloc[part].to_parquet(folder / f"part-{i}.parquet")
    assert not _fast(folder)  # persons overlap across files
    _same(derive_parquet(folder, progress=False), derive_register(prepare_records(register)))
    text = register.assign(person="p" + register["person"].astype(str).str.zfill(4))
    other = _write_sorted(text, tmp_path / "text", 2)
    assert not _fast(other)  # string ids
    _same(derive_parquet(other, progress=False), derive_register(prepare_records(text)))
