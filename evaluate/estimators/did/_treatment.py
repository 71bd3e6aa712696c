"""Checks of a treatment column: an indicator, not a dose; absorbing unless allowed.

A column holding 2, 0.5 or -1 where 0/1 is meant is a coding error, and a
regression would read it silently as a dose; a treatment that switches off again
breaks the absorbing-treatment assumption of staggered designs.  Both are typed
errors naming the column and the offending values (unit and period).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from evaluate.errors import DataError


def binary_treatment(frame: pd.DataFrame, column: str, out: np.ndarray | None = None) -> np.ndarray:
    """``column`` as 0.0/1.0; any other value is a :class:`DataError` listing them.

    ``out``: a float array of the frame's length to write into (e.g. a column of the
    caller's stacked regressors), saving a copy of the column on large panels.
    """
    values = frame[column]
    arr = np.empty(len(values)) if out is None else out
    if isinstance(values.dtype, np.dtype) and values.dtype.kind in "biuf":
        arr[:] = values.to_numpy()  # cast while copying, no float temporary
    else:
        arr[:] = values.to_numpy(dtype=float)
    if pd.api.types.is_bool_dtype(values):
        return arr
    odd = ~((arr == 0.0) | (arr == 1.0))  # as ~np.isin(arr, (0, 1)), in two passes
    if odd.any():
        shown = ", ".join(f"{v:g}" for v in np.unique(arr[odd])[:5])
        raise DataError(
            f"Treatment column {column!r} must be 0/1 (or True/False) but holds {shown} in "
            f"{int(odd.sum())} row(s). A treatment indicator is not a dose: recode it "
            f"(e.g. data[{column!r}] > 0) or fix the entries."
        )
    return arr


def check_absorbing(
    frame: pd.DataFrame, d: np.ndarray, column: str, unit: str, time: str, design: str = "twfe"
) -> None:
    """A unit once treated stays treated; otherwise a :class:`DataError` naming unit and period."""
    order = np.lexsort((frame[time].to_numpy(), pd.factorize(frame[unit])[0]))
    ds = pd.Series(d[order])
    units = frame[unit].to_numpy()[order]
    off = (ds.groupby(units, sort=False).cummax() > ds).to_numpy()
    if off.any():
        row = order[int(np.flatnonzero(off)[0])]
        n_units = len(pd.unique(units[off]))
        raise DataError(
            f"Treatment column {column!r} switches off in unit {_plain(frame[unit].iloc[row])!r} "
            f"at period {_plain(frame[time].iloc[row])!r} ({n_units} unit(s) switch off). This "
            "design "
            "assumes treatment, once on, stays on. Fix the coding, or pass "
            f"allow_switching=True to {design}() if the treatment really ends."
        )


def _plain(value: object) -> object:
    return value.item() if isinstance(value, np.generic) else value


__all__ = ["binary_treatment", "check_absorbing"]
