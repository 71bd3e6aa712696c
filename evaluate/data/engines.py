"""Engines that run the register derivations: DuckDB (default) and Spark (optional).

A derivation is defined once (:mod:`evaluate.data.derive`): a per-person kernel
(:mod:`evaluate.data.kernel`, a pure function of complete, sorted person
histories) plus combining SQL kept as module constants.  An engine only has to
do three things with that single definition:

``summaries(frame, kernel)``
    apply the summarising kernel to complete person histories and return its
    partial tables (one set per call, or concatenated over partitions).  DuckDB
    runs it in process on the sorted numpy columns; Spark partitions the rows by
    person and runs the same function with ``applyInPandas``.
``person_weeks(frame, kernel)``
    the same for the per person-week kernel (only when those rows are wanted).
``sql(query, tables)``
    run one query over registered tables and return pandas.

So the Spark and DuckDB paths cannot drift: the SQL text and the kernel are the
same objects, and ``tests/data/test_engines.py`` asserts identical results.

Examples
--------
>>> engine = get_engine("duckdb")
>>> engine.sql("SELECT 1 AS one", {})["one"].tolist()
[1]
"""

from __future__ import annotations

import threading
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from typing import Literal

import pandas as pd

from evaluate.errors import SpecError

Kernel = Callable[[pd.DataFrame], pd.DataFrame]
SummaryKernel = Callable[[pd.DataFrame], dict[str, pd.DataFrame]]
EngineName = Literal["duckdb", "spark"]


class Engine(ABC):
    """What the derivations need from an engine."""

    name: str = "engine"

    @abstractmethod
    def sql(self, query: str, tables: Mapping[str, pd.DataFrame]) -> pd.DataFrame:
        """Run ``query`` with each frame of ``tables`` visible under its key."""

    def person_weeks(self, frame: pd.DataFrame, kernel: Kernel) -> pd.DataFrame:
        """Apply ``kernel`` to ``frame`` (all rows of every person, sorted by person, week).

        The in-process default calls the kernel once on the whole frame.
        """
        return kernel(frame)

    def summaries(self, frame: pd.DataFrame, kernel: SummaryKernel) -> dict[str, pd.DataFrame]:
        """The summarising kernel's partial tables for ``frame`` (complete histories).

        The in-process default calls the kernel once on the whole frame.
        """
        return kernel(frame)


class DuckDBEngine(Engine):
    """Embedded DuckDB: no server, data in memory or Parquet on disk.

    Parameters
    ----------
    threads
        DuckDB worker threads (default: DuckDB's own choice, all cores).
    memory_limit
        E.g. ``"4GB"``; DuckDB spills to disk beyond it.
    """

    name = "duckdb"
    _local = threading.local()  # one default connection per thread, reused

    def __init__(self, *, threads: int | None = None, memory_limit: str | None = None) -> None:
        try:
            import duckdb
        except ImportError:  # pragma: no cover - depends on the environment
            raise SpecError("The DuckDB engine needs duckdb: pip install duckdb") from None
        if threads is None and memory_limit is None:
            # Connecting costs ~20 ms, a fifth of a 10 M-row derivation; queries register
            # and unregister their tables, so a thread's calls can share one connection.
            if getattr(self._local, "con", None) is None:
                self._local.con = duckdb.connect()
            self._con = self._local.con
            return
        self._con = duckdb.connect()
        if threads is not None:
            self._con.execute(f"SET threads = {int(threads)}")
        if memory_limit is not None:
            self._con.execute("SET memory_limit = ?", [memory_limit])

    def sql(self, query: str, tables: Mapping[str, pd.DataFrame]) -> pd.DataFrame:
        for name, frame in tables.items():
            self._con.register(name, frame)
        try:
            return self._con.execute(query).df()
        finally:
            for name in tables:
                self._con.unregister(name)

    def scan_parquet(self, path: str, query: str = "SELECT * FROM data") -> pd.DataFrame:
        """Run ``query`` over a Parquet file (or glob) exposed as table ``data``.

        DuckDB streams the file, so filters and aggregations run out of core.
        """
        view = self._con.read_parquet(path)
        self._con.register("data", view)
        try:
            return self._con.execute(query).df()
        finally:
            self._con.unregister("data")


class SparkEngine(Engine):
    """Apache Spark through PySpark; ``master="local[2]"`` runs on this machine.

    The kernel runs per person bucket with ``applyInPandas``; rows of a person
    always land in the same bucket, so each call sees complete histories.
    """

    name = "spark"

    def __init__(self, *, master: str = "local[2]", buckets: int = 8, session: object = None):
        try:
            from pyspark.sql import SparkSession
        except ImportError:  # pragma: no cover - depends on the environment
            raise SpecError("The Spark engine needs pyspark: pip install pyspark") from None
        self.buckets = int(buckets)
        self._spark = session or (
            SparkSession.builder.master(master)
            .appName("evaluate-register")
            .config("spark.sql.shuffle.partitions", str(self.buckets))
            .config("spark.sql.execution.arrow.pyspark.enabled", "true")
            .config("spark.ui.enabled", "false")
            .getOrCreate()
        )

    @property
    def session(self) -> object:
        return self._spark

    def _frame(self, frame: pd.DataFrame):  # noqa: ANN202
        return self._spark.createDataFrame(frame)

    def sql(self, query: str, tables: Mapping[str, pd.DataFrame]) -> pd.DataFrame:
        for name, frame in tables.items():
            self._frame(frame).createOrReplaceTempView(name)
        return self._spark.sql(query).toPandas()

    def person_weeks(self, frame: pd.DataFrame, kernel: Kernel) -> pd.DataFrame:
        from pyspark.sql import functions as F

        sdf = self._frame(frame).withColumn("_bucket", F.col("person") % self.buckets)
        import pyarrow as pa
        from pyspark.sql.pandas.types import from_arrow_schema

        sample = kernel(frame.head(0))  # the kernel's output columns and dtypes
        schema = from_arrow_schema(pa.Schema.from_pandas(sample, preserve_index=False))

        def run(part: pd.DataFrame) -> pd.DataFrame:
            part = part.drop(columns="_bucket").sort_values(["person", "week"], kind="stable")
            return kernel(part.reset_index(drop=True))

        out = sdf.groupBy("_bucket").applyInPandas(run, schema=schema).toPandas()
        return out.sort_values(["person", "week"], kind="stable").reset_index(drop=True)

    def summaries(self, frame: pd.DataFrame, kernel: SummaryKernel) -> dict[str, pd.DataFrame]:
        """Each partial table by one ``applyInPandas`` over the person buckets (the
        bucketed rows are cached, so the shuffle happens once); the partials of all
        buckets are returned concatenated, for the combining SQL to add up."""
        import pyarrow as pa
        from pyspark.sql import functions as F
        from pyspark.sql.pandas.types import from_arrow_schema

        sdf = self._frame(frame).withColumn("_bucket", F.col("person") % self.buckets)
        sdf = sdf.repartition(self.buckets, "_bucket").cache()
        empty = kernel(frame.head(0))
        out = {}
        try:
            for name, sample in empty.items():
                schema = from_arrow_schema(pa.Schema.from_pandas(sample, preserve_index=False))
                run = _one_table(kernel, name)  # one-argument function: Spark passes the rows
                table = sdf.groupBy("_bucket").applyInPandas(run, schema=schema).toPandas()
                out[name] = table.astype(sample.dtypes.to_dict())
        finally:
            sdf.unpersist()
        return out


def _one_table(kernel: SummaryKernel, name: str) -> Callable[[pd.DataFrame], pd.DataFrame]:
    def run(part: pd.DataFrame) -> pd.DataFrame:
        part = part.drop(columns="_bucket").sort_values(["person", "week"], kind="stable")
        return kernel(part.reset_index(drop=True))[name]

    return run


def get_engine(engine: EngineName | Engine = "duckdb", **options: object) -> Engine:
    """An engine by name (``"duckdb"`` or ``"spark"``), or ``engine`` itself."""
    if isinstance(engine, Engine):
        return engine
    if engine == "duckdb":
        return DuckDBEngine(**options)  # type: ignore[arg-type]
    if engine == "spark":
        return SparkEngine(**options)  # type: ignore[arg-type]
    raise SpecError(f"Unknown engine {engine!r}; use 'duckdb' or 'spark'.")
