"""Data in: validation of user frames into what the estimators may rely on."""

from evaluate.data.validate import (
    check_columns,
    check_no_duplicates,
    check_numeric,
    drop_missing,
)

__all__ = ["check_columns", "check_no_duplicates", "check_numeric", "drop_missing"]
