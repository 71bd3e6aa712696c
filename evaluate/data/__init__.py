"""Data in: files, periods and kommuner read once; user frames validated; register data to panels.

Tables are read by :func:`read_table` (CSV, also the Danish Excel export; Parquet;
Excel), period columns by :func:`parse_periods` ("2021-01", "2021M01", "2021K1",
"2021U05", ISO weeks, dates), and kommune names or codes by :func:`kommune` and
:func:`resolve_kommuner` (the 98 kommuner, bundled).

Register records (one benefit status per person per week) are validated by
:func:`prepare_records`, derived into spells, the refusion clock, full-time
persons and transitions by :func:`derive_register` on an embedded DuckDB engine
(or Spark) -- or by :func:`derive_parquet`, streaming Parquet files larger than
memory in person-aligned chunks -- and turned into estimator-ready panels by
:func:`outcome_panel`.
"""

from evaluate._lazy import lazy_exports

_D = "evaluate.data."
_NAMES = {
    **dict.fromkeys(
        ["RegisterDerivation", "ResetRule", "derive_register", "outcome_panel"], _D + "derive"
    ),
    **dict.fromkeys(["DuckDBEngine", "SparkEngine", "get_engine"], _D + "engines"),
    **dict.fromkeys(
        [
            "RegisterRecords",
            "StatusCodes",
            "iso_week_index",
            "iso_week_label",
            "prepare_records",
        ],
        _D + "register",
    ),
    **dict.fromkeys(["Table", "iter_register", "read_register", "read_table"], _D + "readers"),
    **dict.fromkeys(["Kommune", "kommune", "kommuner", "resolve_kommuner"], _D + "kommuner"),
    **dict.fromkeys(["parse_period", "parse_periods", "period_label"], _D + "periods"),
    **dict.fromkeys(["derive_parquet", "plan_chunks"], _D + "stream"),
    **dict.fromkeys(
        ["check_columns", "check_no_duplicates", "check_numeric", "drop_missing"], _D + "validate"
    ),
}
# Imported on first use: validating a small panel should not compile the register kernel.
__getattr__, __dir__ = lazy_exports("evaluate.data", _NAMES, globals())

__all__ = [
    "DuckDBEngine",
    "Kommune",
    "RegisterDerivation",
    "RegisterRecords",
    "ResetRule",
    "SparkEngine",
    "StatusCodes",
    "Table",
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
    "kommune",
    "kommuner",
    "outcome_panel",
    "parse_period",
    "parse_periods",
    "period_label",
    "plan_chunks",
    "prepare_records",
    "read_register",
    "read_table",
    "resolve_kommuner",
]
