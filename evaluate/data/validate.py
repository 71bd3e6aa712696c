"""Checks every estimator runs on user data before fitting.

Each check raises a :class:`~evaluate.errors.DataError` that names the column
and says how to fix the problem.  None of them modifies the caller's frame.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Sequence

import numpy as np
import pandas as pd

from evaluate.errors import DataError, DroppedRowsWarning
from evaluate.limits import check_magnitude


def check_frame(data: object, what: str = "data") -> pd.DataFrame:
    """``data`` must be a non-empty pandas DataFrame."""
    if not isinstance(data, pd.DataFrame):
        raise DataError(
            f"{what} must be a pandas DataFrame, got {type(data).__name__}; "
            "load it with pandas.read_csv / read_parquet first."
        )
    if data.empty:
        raise DataError(f"{what} has no rows.")
    return data


def check_columns(data: pd.DataFrame, columns: Iterable[str], what: str = "data") -> None:
    """Every name in ``columns`` must be a column of ``data``."""
    missing = [c for c in columns if c not in data.columns]
    if missing:
        available = ", ".join(map(repr, data.columns[:20]))
        raise DataError(
            f"Column(s) {', '.join(map(repr, missing))} not found in {what}. "
            f"Available columns: {available}. Check the spelling or rename the column."
        )


def check_numeric(data: pd.DataFrame, column: str, *, allow_inf: bool = False) -> None:
    """``column`` must hold numbers (integers, floats or booleans), finite and within
    the magnitude the estimators handle (:func:`evaluate.limits.check_magnitude`).
    ``allow_inf`` admits infinity as a code (a cohort column's "never treated")."""
    if not (
        pd.api.types.is_numeric_dtype(data[column]) or pd.api.types.is_bool_dtype(data[column])
    ):
        example = data[column].dropna().iloc[0] if data[column].notna().any() else None
        raise DataError(
            f"Column {column!r} must be numeric but has dtype {data[column].dtype} "
            f"(e.g. value {example!r}). Convert it with pandas.to_numeric, or fix the "
            "non-numeric entries."
        )
    if not pd.api.types.is_bool_dtype(data[column]):
        check_magnitude(data[column], column, allow_inf=allow_inf)


def check_no_duplicates(data: pd.DataFrame, keys: Sequence[str]) -> None:
    """No two rows may share the same ``keys`` (e.g. the same unit and period)."""
    duplicated = data.duplicated(subset=list(keys), keep=False)
    if duplicated.any():
        first = data.loc[duplicated, list(keys)].iloc[0].to_dict()
        raise DataError(
            f"{int(duplicated.sum())} rows share the same {', '.join(keys)} "
            f"(first: {first}). Aggregate them or remove the duplicates."
        )


def _may_miss(column: pd.Series) -> bool:
    """Whether ``column`` can hold a missing value (numpy integers and booleans cannot)."""
    return not (isinstance(column.dtype, np.dtype) and column.dtype.kind in "iub")


def drop_missing(
    data: pd.DataFrame, columns: Sequence[str], *, allow: bool, stacklevel: int = 3
) -> tuple[pd.DataFrame, int]:
    """Rows of ``data`` with a value in each of ``columns``, and how many were dropped.

    With ``allow=False`` a missing value is an error naming the column and the
    first row; with ``allow=True`` the rows are dropped, counted and warned about
    with a :class:`~evaluate.errors.DroppedRowsWarning`.
    """
    if not any(_may_miss(data[c]) and data[c].hasnans for c in dict.fromkeys(columns)):
        return data, 0  # column by column: a frame-wide isna() costs a 2-D pass
    missing = data[list(columns)].isna()
    bad = missing.any(axis=1)
    n_bad = int(bad.sum())
    per_column = {c: int(n) for c, n in missing.sum().items() if n}
    if not allow:
        first = data.index[bad.to_numpy()][0]
        raise DataError(
            f"Missing values in {per_column} (first at row index {first!r}). "
            "Fill or remove them, or pass drop_missing=True to drop those rows "
            "(they are then counted in the result)."
        )
    warnings.warn(
        f"Dropped {n_bad} of {len(data)} rows with missing values in {per_column}.",
        DroppedRowsWarning,
        stacklevel=stacklevel,
    )
    return data.loc[~bad], n_bad
