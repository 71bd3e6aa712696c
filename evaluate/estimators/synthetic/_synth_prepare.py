"""Input side of :func:`~evaluate.estimators.synthetic.synth.synthetic_control`.

The options, the panel and the predictors.

Kept apart from the front door so ``synth.py`` reads as the method.  ``_prepare``
checks the long panel (columns, numbers, duplicates, the treated unit and the
donor pool; donors with a missing outcome are dropped with a warning) and pivots
it to a ``periods x units`` outcome matrix with the treated unit first;
``_predictor_matrix`` averages each predictor over its window, as R ``Synth``
does (missing values ignored).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from evaluate.data.validate import check_columns, check_no_duplicates, check_numeric
from evaluate.errors import DataError, DesignError, DroppedRowsWarning, SpecError


@dataclass(frozen=True)
class _Spec:
    """Options of one synthetic-control fit (validated, plain values)."""

    outcome: str
    unit: str
    time: str
    treated_unit: Any
    start: Any
    predictors: tuple[str, ...]
    predictor_window: tuple[Any, Any] | None
    special_predictors: tuple[tuple[str, Any], ...]
    fit_window: tuple[Any, Any] | None
    donors: tuple[Any, ...] | None
    v_method: str
    n_starts: int | None
    placebo_starts: int
    placebo: bool
    exclude_placebos_above: float | None
    placebo_time: Any
    leave_one_out: bool
    alpha: float
    seed: int | None



@dataclass(frozen=True)
class _Panel:
    times: np.ndarray  # sorted periods
    units: list[Any]  # units[0] is the treated unit, then the donors
    y: np.ndarray  # T x N outcomes
    wide: dict[str, pd.DataFrame]  # predictor column -> T x N frame (NaN allowed)



def _window(value: Any, name: str) -> tuple[Any, Any] | None:
    if value is None:
        return None
    if not isinstance(value, tuple | list) or len(value) != 2:
        raise SpecError(f"{name} must be an inclusive (first, last) pair, got {value!r}.")
    return (value[0], value[1])


def _parse_special(item: Any) -> tuple[str, Any]:
    if not isinstance(item, tuple | list) or len(item) != 2 or not isinstance(item[0], str):
        raise SpecError(
            f"Each special predictor must be (column, period) or (column, (first, last)), "
            f"got {item!r}; e.g. ('beer', (1984, 1988)) or ('cigsale', 1975)."
        )
    col, when = item
    return (col, tuple(when) if isinstance(when, tuple | list) else when)


def _prepare(data: pd.DataFrame, spec: _Spec) -> tuple[_Panel, pd.DataFrame, int]:
    cols = [spec.outcome, *spec.predictors, *(c for c, _ in spec.special_predictors)]
    check_columns(data, [spec.unit, spec.time, *dict.fromkeys(cols)])
    for col in dict.fromkeys(cols):
        check_numeric(data, col)
    check_no_duplicates(data, [spec.unit, spec.time])
    if data[spec.unit].isna().any() or data[spec.time].isna().any():
        raise DataError(f"Columns {spec.unit!r} and {spec.time!r} must not have missing values.")
    all_units = list(pd.unique(data[spec.unit]))
    if spec.treated_unit not in all_units:
        raise DataError(
            f"Treated unit {spec.treated_unit!r} not found in column {spec.unit!r} "
            f"(e.g. {all_units[:5]}). Check the spelling and the column's type."
        )
    pool = [u for u in all_units if u != spec.treated_unit] if spec.donors is None else []
    if spec.donors is not None:
        unknown = [d for d in spec.donors if d not in all_units]
        if unknown:
            raise DataError(f"Donors {unknown} not found in column {spec.unit!r}.")
        if spec.treated_unit in spec.donors:
            raise SpecError(
                f"The donor pool contains the treated unit {spec.treated_unit!r}; remove it."
            )
        pool = list(dict.fromkeys(spec.donors))
    times = np.sort(pd.unique(data[spec.time]))
    try:
        pre = times < spec.start
    except TypeError as exc:
        raise SpecError(
            f"start={spec.start!r} cannot be compared with column {spec.time!r} "
            f"(dtype {data[spec.time].dtype}); pass a value of the same type."
        ) from exc
    if pre.sum() < 2 or (~pre).sum() < 1:
        raise DesignError(
            f"start={spec.start!r} leaves {int(pre.sum())} pre-period(s) and "
            f"{int((~pre).sum())} post-period(s); a synthetic control needs at least 2 and 1."
        )
    y = data.pivot(index=spec.time, columns=spec.unit, values=spec.outcome).reindex(times)
    if y[spec.treated_unit].isna().any():
        gaps = list(times[y[spec.treated_unit].isna().to_numpy()][:5])
        raise DataError(
            f"The treated unit's {spec.outcome!r} is missing in periods {gaps}; the synthetic "
            "control needs its full series. Fill the gaps or shorten the panel."
        )
    incomplete = [u for u in pool if y[u].isna().any()]
    n_dropped = 0
    if incomplete:
        n_dropped = int(data[spec.unit].isin(incomplete).sum())
        warnings.warn(
            f"Dropped donors {incomplete} ({n_dropped} rows): {spec.outcome!r} is missing in "
            "some period. Fill their gaps to keep them in the donor pool.",
            DroppedRowsWarning,
            stacklevel=3,
        )
        pool = [u for u in pool if u not in incomplete]
    if len(pool) < 2:
        raise DesignError(f"Only {len(pool)} usable donor(s); a synthetic control needs 2 or more.")
    units = [spec.treated_unit, *pool]
    used = data.loc[data[spec.unit].isin(units)]
    wide = {
        c: data.pivot(index=spec.time, columns=spec.unit, values=c).reindex(times)[units]
        for c in dict.fromkeys([*spec.predictors, *(c for c, _ in spec.special_predictors)])
    }
    if spec.outcome in wide:
        wide[spec.outcome] = y[units]
    return _Panel(times, units, y[units].to_numpy(dtype=float), wide), used, n_dropped


# --- predictors -------------------------------------------------------------------
def _predictor_matrix(
    panel: _Panel, spec: _Spec, cutoff: Any, strict: bool
) -> tuple[np.ndarray, list[str]]:
    """k x N predictor matrix using periods before ``cutoff``; windows reaching past the
    cutoff raise (``strict``) or are clipped/dropped (placebo in time)."""
    times = panel.times
    rows: list[np.ndarray] = []
    labels: list[str] = []
    items: list[tuple[str, tuple[Any, Any]]] = []
    window = spec.predictor_window or (times[0], times[times < spec.start][-1])
    items += [(c, window) for c in spec.predictors]
    items += [(c, w if isinstance(w, tuple) else (w, w)) for c, w in spec.special_predictors]
    for col, (first, last) in items:
        mask = (times >= first) & (times <= last)
        if strict and (last >= spec.start or not mask.any()):
            raise SpecError(
                f"Predictor {col!r} window {first}-{last} must lie in the pre-period "
                f"(before {spec.start!r}) and contain data periods."
            )
        mask &= times < cutoff
        if not mask.any():
            continue
        block = panel.wide[col].to_numpy(dtype=float)[mask]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            values = np.nanmean(block, axis=0)
        if np.isnan(values).any():
            if not strict:
                continue
            bad = [panel.units[i] for i in np.flatnonzero(np.isnan(values))[:5]]
            raise DataError(
                f"Predictor {col!r} has no values in {first}-{last} for units {bad}. "
                "Choose another window or drop the predictor."
            )
        rows.append(values)
        labels.append(f"{col} ({first})" if first == last else f"{col} ({first}-{last} mean)")
    if not rows:
        return np.empty((0, len(panel.units))), []
    return np.vstack(rows), labels
