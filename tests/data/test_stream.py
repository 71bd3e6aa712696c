"""Streaming from Parquet equals the in-memory derivation exactly."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from evaluate.data.derive import ResetRule, derive_register
from evaluate.data.engines import DuckDBEngine
from evaluate.data.register import prepare_records
from evaluate.data.stream import derive_parquet, plan_chunks
from evaluate.errors import DataError, SpecError
from evaluate.simulate_register import register_histories


def _write_interleaved(df: pd.DataFrame, folder: Path, n_files: int, seed: int = 0) -> None:
    """Shuffle the rows and deal them over files, so every person spans several files."""
    folder.mkdir(parents=True, exist_ok=True)
    rows = np.random.default_rng(seed).permutation(len(df))
    for i, part in enumerate(np.array_split(rows, n_files)):
        # Small row groups so DuckDB's per-row-group pruning is exercised too.
        df.iloc[part].to_parquet(folder / f"part-{i}.parquet", row_group_size=500)


def _assert_same(streamed, whole) -> None:  # noqa: ANN001
    pd.testing.assert_frame_equal(streamed.spells, whole.spells)
    pd.testing.assert_frame_equal(streamed.ftp, whole.ftp)  # floats from equal integers
    pd.testing.assert_frame_equal(streamed.transitions, whole.transitions)
    assert streamed.n_rows == whole.n_rows
    assert streamed.window == whole.window
    assert list(streamed.municipalities) == list(whole.municipalities)


@pytest.fixture(scope="module")
def register() -> pd.DataFrame:
    return register_histories(n_persons=240, n_municipalities=5, n_weeks=110, seed=4)


@pytest.mark.parametrize(
    ("persons", "rows"), [(17, 10_000_000), (1_000, 2_000), (5, 10_000_000), (10_000, 10**9)]
)
def test_stream_equals_in_memory(register, tmp_path, persons: int, rows: int) -> None:
    _write_interleaved(register, tmp_path / "reg", n_files=4)
    whole = derive_register(prepare_records(register))
    streamed = derive_parquet(
        tmp_path / "reg" / "*.parquet", persons_per_chunk=persons, rows_per_chunk=rows
    )
    _assert_same(streamed, whole)
    assert streamed.person_weeks is None


def test_stream_with_string_ids_and_other_rule(register, tmp_path) -> None:
    df = register.assign(
        person=lambda d: "p" + d["person"].astype(str).str.zfill(4),
        municipality=lambda d: "kommune_" + d["municipality"].astype(str),
    )
    _write_interleaved(df, tmp_path / "reg", n_files=3, seed=2)
    rule = ResetRule(10, 20)
    whole = derive_register(prepare_records(df), rule=rule)
    streamed = derive_parquet(tmp_path / "reg", persons_per_chunk=29, rule=rule)
    _assert_same(streamed, whole)
    # A caller's engine instance is shared by the worker threads (under a lock).
    shared = derive_parquet(
        [tmp_path / "reg"], persons_per_chunk=41, rule=rule, engine=DuckDBEngine(threads=1)
    )
    _assert_same(shared, whole)


def test_stream_without_municipality_and_with_gap_repair(tmp_path) -> None:
    df = register_histories(n_persons=30, n_weeks=40, seed=9).drop(columns="municipality")
    df = df.drop(index=[5, 6, 300]).reset_index(drop=True)  # gaps in persons 1 and 8
    _write_interleaved(df, tmp_path / "reg", n_files=2)
    whole = derive_register(prepare_records(df, municipality=None, gaps="fill"))
    streamed = derive_parquet(
        tmp_path / "reg", municipality=None, gaps="fill", persons_per_chunk=7, progress=False
    )
    _assert_same(streamed, whole)
    assert streamed.repairs["gap_weeks_filled"] == whole.repairs["gap_weeks_filled"] == 3


def test_plan_chunks_never_splits_and_respects_limits() -> None:
    counts = np.random.default_rng(1).integers(1, 50, size=500)
    spans = plan_chunks(counts, persons_per_chunk=13, rows_per_chunk=200)
    assert spans[0][0] == 0 and spans[-1][1] == 499
    for (_, b), (c, _) in zip(spans[:-1], spans[1:], strict=True):
        assert c == b + 1  # contiguous, no person twice, none skipped
    for a, b in spans:
        assert b - a + 1 <= 13
        assert counts[a : b + 1].sum() <= 200 or a == b
    assert plan_chunks(np.array([5, 300, 5]), persons_per_chunk=10, rows_per_chunk=100) == [
        (0, 0),
        (1, 1),
        (2, 2),
    ]


def test_duplicate_person_week_across_files_is_an_error(register, tmp_path) -> None:
    folder = tmp_path / "reg"
    _write_interleaved(register, folder, n_files=2)
    register.iloc[[100]].to_parquet(folder / "extra.parquet")  # person 1 again
    with pytest.raises(DataError, match="duplicate person-weeks"):
        derive_parquet(folder, persons_per_chunk=50)


def test_bad_input(register, tmp_path) -> None:
    with pytest.raises(DataError, match="does not exist"):
        derive_parquet(tmp_path / "nope.parquet")
    with pytest.raises(DataError, match="No Parquet files"):
        derive_parquet(tmp_path / "*.parquet")
    path = tmp_path / "r.parquet"
    register.head(200).to_parquet(path)
    with pytest.raises(DataError, match="'kommune'"):
        derive_parquet(path, municipality="kommune")
    with pytest.raises(SpecError, match="persons_per_chunk"):
        derive_parquet(path, persons_per_chunk=0)
    na = register.head(200).astype({"person": "Float64"})
    na.loc[3, "person"] = None
    na.to_parquet(tmp_path / "na.parquet")
    with pytest.raises(DataError, match="'person' has 1 missing"):
        derive_parquet(tmp_path / "na.parquet")
    bad = register.head(200).copy()
    bad.loc[0, "status"] = 4242
    bad.to_parquet(tmp_path / "bad.parquet")
    with pytest.raises(DataError, match="4242"):
        derive_parquet(tmp_path / "bad.parquet")
