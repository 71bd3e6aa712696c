"""Engines: DuckDB by default; Spark (local mode) must give identical results."""

from __future__ import annotations

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


@pytest.mark.filterwarnings("ignore::FutureWarning", "ignore:The copy keyword is deprecated")
def test_spark_equals_duckdb() -> None:
    """The same kernel and SQL on Spark local[2] give exactly the DuckDB tables.

    Takes ~20-40 s on 2 cores (JVM start-up dominates); skipped without pyspark.
    """
    pytest.importorskip("pyspark")
    from evaluate.data.engines import SparkEngine

    df = register_histories(n_persons=120, n_municipalities=3, n_weeks=120, seed=9)
    rec = prepare_records(df)
    rule = ResetRule(8, 20)  # short reset so the small panel exercises many resets
    duck = derive_register(rec, engine="duckdb", rule=rule, keep_person_weeks=True)
    spark_engine = SparkEngine(master="local[2]", buckets=4)
    try:
        spark = derive_register(rec, engine=spark_engine, rule=rule, keep_person_weeks=True)
    finally:
        spark_engine.session.stop()
    for name in ("spells", "ftp", "transitions"):
        pd.testing.assert_frame_equal(
            getattr(spark, name), getattr(duck, name), check_dtype=False, obj=name
        )
    pd.testing.assert_frame_equal(spark.person_weeks, duck.person_weeks, check_dtype=False)
