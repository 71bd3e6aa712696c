"""Limits on work, memory and magnitudes, checked before anything large is allocated.

A typo such as ``n_boot = 1000000000`` should be a clear error, not a 60 GiB
allocation; a value such as 1e308 should be an error naming its column, not a
NaN estimate.  Each limit has a default that every study in ``studies/`` stays
far below, and an environment variable that raises it deliberately:

==================  ==================================  =============================
limit               what it bounds                      raise with
==================  ==================================  =============================
``resamples``       bootstrap draws, placebo and        ``EVALUATE_MAX_RESAMPLES``
                    permutation replications
``draws``           Monte Carlo draws (business case,   ``EVALUATE_MAX_DRAWS``
                    power simulations)
``memory_gb``       memory one allocation may take      ``EVALUATE_MAX_MEMORY_GB``
``abs_value``       largest absolute value in a numeric ``EVALUATE_MAX_ABS_VALUE``
                    column an estimator uses
==================  ==================================  =============================
"""

from __future__ import annotations

import os

from evaluate.errors import DataError, LimitError

__all__ = ["DEFAULTS", "check_count", "check_magnitude", "check_memory", "limit"]

DEFAULTS: dict[str, float] = {
    "resamples": 100_000,
    "draws": 1_000_000,
    "memory_gb": 8.0,
    "abs_value": 1e15,
}
"""Default limits.  ``abs_value`` keeps sums of squares of millions of values far
from overflow and every value exact to well below 1 after centring."""


def _variable(name: str) -> str:
    return f"EVALUATE_MAX_{name.upper()}"


def limit(name: str) -> float:
    """The limit ``name`` in force: the environment variable if set, else the default."""
    raw = os.environ.get(_variable(name))
    if raw is None:
        return DEFAULTS[name]
    try:
        value = float(raw)
    except ValueError:
        raise LimitError(f"{_variable(name)}={raw!r} is not a number.") from None
    if not value > 0:
        raise LimitError(f"{_variable(name)}={raw!r} must be positive.")
    return value


def _raise_hint(name: str, needed: float) -> str:
    return (
        f"raise the limit deliberately: set the environment variable "
        f"{_variable(name)}={needed:.0f} (or more) and run again."
    )


def check_count(option: str, value: int, kind: str = "resamples") -> None:
    """``value`` draws or replications asked for by ``option`` must be within the limit."""
    bound = limit(kind)
    if value > bound:
        raise LimitError(
            f"{option} = {value:,} exceeds the limit of {bound:,.0f} {kind}. If you mean "
            "it, " + _raise_hint(kind, value)
        )


def check_memory(n_bytes: float, what: str) -> None:
    """An allocation of ``n_bytes`` for ``what`` must fit within the memory limit."""
    bound = limit("memory_gb")
    gib = n_bytes / 2**30
    if gib > bound:
        raise LimitError(
            f"{what} would need about {gib:,.1f} GiB of memory, above the limit of "
            f"{bound:,.1f} GiB. Ask for less, or " + _raise_hint("memory_gb", gib + 1)
        )


def check_magnitude(values: object, column: str, *, allow_inf: bool = False) -> None:
    """Finite values within the magnitude limit in ``column`` (NaN is left to the
    missing-value checks; ``allow_inf`` admits +-inf as a code, such as "never
    treated" in a cohort column).  Raises :class:`DataError` naming the first bad row."""
    import numpy as np
    import pandas as pd

    series = values if isinstance(values, pd.Series) else pd.Series(np.asarray(values))
    if not (pd.api.types.is_float_dtype(series) or pd.api.types.is_integer_dtype(series)):
        return
    arr = series.to_numpy(dtype=float, na_value=np.nan)
    bound = limit("abs_value")
    with np.errstate(invalid="ignore"):
        bad = (np.abs(arr) > bound) & ~(allow_inf & np.isinf(arr))
    if not bad.any():
        return
    i = int(np.flatnonzero(bad)[0])
    value, row = arr[i], series.index[i]
    if np.isinf(value):
        raise DataError(
            f"Column {column!r} holds {value} at row {row!r} ({int(bad.sum())} such rows); "
            "remove or fix it (an infinite value is usually a division by zero upstream)."
        )
    raise DataError(
        f"Column {column!r} holds {value:.6g} at row {row!r}, beyond the {bound:.0e} the "
        f"estimators handle exactly ({int(bad.sum())} such rows). Fix the value, or rescale "
        "the column (e.g. to thousands or millions), or "
        + _raise_hint("abs_value", float(abs(value)) * 10)
    )
