"""Data in: validation of user frames, and register data (person-weeks) to panels.

Register records (one benefit status per person per week) are validated by
:func:`prepare_records`, derived into spells, the refusion clock, full-time
persons and transitions by :func:`derive_register` on an embedded DuckDB engine
(or Spark) -- or by :func:`derive_parquet`, streaming Parquet files larger than
memory in person-aligned chunks -- and turned into estimator-ready panels by :func:`outcome_panel`.
"""

from evaluate.data.derive import RegisterDerivation, ResetRule, derive_register, outcome_panel
from evaluate.data.engines import DuckDBEngine, SparkEngine, get_engine
from evaluate.data.register import (
    RegisterRecords,
    StatusCodes,
    iso_week_index,
    iso_week_label,
    iter_register,
    prepare_records,
    read_register,
)
from evaluate.data.stream import derive_parquet, plan_chunks
from evaluate.data.validate import (
    check_columns,
    check_no_duplicates,
    check_numeric,
    drop_missing,
)

__all__ = [
    "DuckDBEngine",
    "RegisterDerivation",
    "RegisterRecords",
    "ResetRule",
    "SparkEngine",
    "StatusCodes",
    "check_columns",
    "check_no_duplicates",
    "check_numeric",
    "derive_parquet",
    "derive_register",
    "drop_missing",
    "get_engine",
    "iso_week_index",
    "iso_week_label",
    "iter_register",
    "outcome_panel",
    "plan_chunks",
    "prepare_records",
    "read_register",
]
