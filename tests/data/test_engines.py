"""Engines: DuckDB by default; Spark (local mode) must give identical results."""

from __future__ import annotations

import os
import shutil

import pandas as pd
import pytest

from evaluate.data.derive import ResetRule, derive_register
from evaluate.data.engines import DuckDBEngine, get_engine
from evaluate.data.register import prepare_records
from evaluate.errors import SpecError
from evaluate.simulate_register import register_histories


def test_duckdb_engine_runs_sql_on_frames() -> None:
    eng = get_engine("duckdb", threads=1)
    assert isinstance(eng, DuckDBEngine)
    out = eng.sql("SELECT SUM(x) AS s FROM t", {"t": pd.DataFrame({"x": [1, 2, 3]})})
    assert out["s"].tolist() == [6]
    assert get_engine(eng) is eng


def test_duckdb_scans_parquet(tmp_path) -> None:
    path = tmp_path / "r.parquet"
    register_histories(n_persons=20, n_weeks=10, seed=1).to_parquet(path)
    eng = DuckDBEngine(threads=1)
    out = eng.scan_parquet(str(path), "SELECT COUNT(*) AS n FROM data")
    assert out["n"].tolist() == [200]


def test_unknown_engine() -> None:
    with pytest.raises(SpecError, match="'polars'"):
        get_engine("polars")  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def spark_engine():
    """One Spark local[2] session for the module (JVM start-up dominates: ~10-20 s)."""
    pytest.importorskip("pyspark")
    if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
        pytest.skip("Spark needs a Java runtime (e.g. apt-get install default-jre-headless)")
    from evaluate.data.engines import SparkEngine

    engine = SparkEngine(master="local[2]", buckets=4)
    yield engine
    engine.session.stop()


SPARK_WARNINGS = ("ignore::FutureWarning", "ignore:The copy keyword is deprecated")


@pytest.mark.filterwarnings(*SPARK_WARNINGS)
def test_spark_equals_duckdb(spark_engine) -> None:
    """The same kernel and SQL on Spark local[2] give exactly the DuckDB tables."""
    df = register_histories(n_persons=120, n_municipalities=3, n_weeks=120, seed=9)
    rec = prepare_records(df)
    rule = ResetRule(8, 20)  # short reset so the small panel exercises many resets
    duck = derive_register(rec, engine="duckdb", rule=rule, keep_person_weeks=True)
    spark = derive_register(rec, engine=spark_engine, rule=rule, keep_person_weeks=True)
    for name in ("spells", "ftp", "transitions"):
        pd.testing.assert_frame_equal(
            getattr(spark, name), getattr(duck, name), check_dtype=False, obj=name
        )
    pd.testing.assert_frame_equal(spark.person_weeks, duck.person_weeks, check_dtype=False)


def _register_files(tmp_path, data: pd.DataFrame, n_files: int = 3) -> str:
    """Rows dealt round-robin over files, so most persons are spread over several."""
    for i in range(n_files):
        data.iloc[i::n_files].to_parquet(tmp_path / f"part-{i}.parquet", index=False)
    return str(tmp_path / "*.parquet")


@pytest.mark.filterwarnings(*SPARK_WARNINGS)
def test_spark_reads_parquet_like_duckdb(spark_engine, tmp_path) -> None:
    """derive_parquet on Spark (Spark reads, validates per person bucket, combines)
    gives the tables, row count and repair counts of the DuckDB streaming path."""
    from evaluate.data.stream import derive_parquet

    df = register_histories(n_persons=150, n_municipalities=4, n_weeks=80, seed=12)
    df = df.drop(index=df.index[7::53])  # gaps inside histories, repaired by gaps="fill"
    source = _register_files(tmp_path, df)
    rule = ResetRule(8, 20)
    duck = derive_parquet(source, rule=rule, gaps="fill", rows_per_chunk=2_000, progress=False)
    spark = derive_parquet(source, rule=rule, gaps="fill", engine=spark_engine)
    for name in ("spells", "ftp", "transitions"):
        pd.testing.assert_frame_equal(
            getattr(spark, name), getattr(duck, name), check_dtype=False, obj=name
        )
    assert spark.n_rows == duck.n_rows > len(df)
    assert spark.repairs == duck.repairs and duck.repairs["gap_weeks_filled"] > 0
    assert list(spark.municipalities) == list(duck.municipalities)
    assert spark.window == duck.window and spark.engine == "spark"


@pytest.mark.filterwarnings(*SPARK_WARNINGS, "ignore:toPandas attempted Arrow optimization")
def test_spark_parquet_bad_input_is_a_data_error(spark_engine, tmp_path) -> None:
    from evaluate.data.stream import derive_parquet
    from evaluate.errors import DataError

    df = register_histories(n_persons=30, n_weeks=20, seed=3)
    twice = pd.concat([df, df.iloc[[5]]], ignore_index=True)  # one person-week twice
    with pytest.raises(DataError, match="duplicate person-weeks"):
        derive_parquet(_register_files(tmp_path, twice), engine=spark_engine)
