"""Input preparation for Callaway-Sant'Anna: long panel in, balanced wide panel out.

:func:`~evaluate.estimators.did.staggered.callaway_santanna` calls :func:`prepare_panel`
once.  It validates the columns, drops what cannot be used (missing values,
unbalanced units, cohorts with no untreated base period; each counted and warned
about), recodes late cohorts as never treated, handles ``control="notyet"``
without never-treated units the way R ``did`` does, and returns a :class:`_Panel`:
outcomes (and covariates) as ``units x periods`` arrays with the units sorted by
cohort, which is what the cell estimators and the cohort sums rely on.  The
module docstring of :mod:`evaluate.estimators.did.staggered` lists the checks in order.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd

from evaluate.data.validate import check_columns, check_no_duplicates, check_numeric, drop_missing
from evaluate.errors import DataError, DesignError, DroppedRowsWarning, SpecError
from evaluate.estimators.did.staggered_aggregate import BootstrapWeights

Control = Literal["never", "notyet"]
Method = Literal["dr", "ipw", "reg"]
BasePeriod = Literal["varying", "universal"]


@dataclass(frozen=True)
class CSSpec:
    """Options of one Callaway-Sant'Anna fit (validated, plain values)."""

    outcome: str
    unit: str
    time: str
    group: str
    control: Control = "never"
    method: Method = "dr"
    base_period: BasePeriod = "varying"
    anticipation: int = 0
    covariates: tuple[str, ...] = ()
    alpha: float = 0.05
    bootstrap: int | None = None
    bootstrap_weights: BootstrapWeights = "mammen"
    seed: int | None = None
    weights: str | None = None


@dataclass(frozen=True, eq=False)
class _Cells:
    """Which comparison each ATT(g,t) makes (arrays of length K)."""

    group: np.ndarray
    time: np.ndarray
    t_idx: np.ndarray
    b_idx: np.ndarray
    g_code: np.ndarray  # cohort index of the treated cohort
    control: np.ndarray  # C x K: cohort c is a control of cell k
    reference: np.ndarray  # K: cell fixed at 0 (universal base period, t = base)


def _num(v: float) -> int | float:
    """A period or cohort as printed in messages (2004, not 2004.0)."""
    return int(v) if float(v).is_integer() else float(v)


@dataclass(frozen=True, eq=False)
class _Panel:
    """Balanced wide panel, units sorted by cohort."""

    y: np.ndarray  # n x T
    x: np.ndarray | None  # n x T x k
    times: np.ndarray  # T
    cohort_index: np.ndarray  # n, index into cohort_values
    cohort_values: np.ndarray  # C, 0 = never treated, sorted
    used: pd.DataFrame  # long rows used (for the data hash)
    n_dropped: int
    notes: tuple[str, ...]
    w: np.ndarray | None = None  # unit sampling weights, mean 1 (R did's weightsname)


def _integer_valued(values: np.ndarray, column: str) -> None:
    finite = values[np.isfinite(values)]
    if np.any(finite != np.round(finite)):
        bad = finite[finite != np.round(finite)][0]
        raise DataError(
            f"Column {column!r} must hold whole periods (integers); found {bad!r}. "
            "Code periods as integers (e.g. year, or months since a start date)."
        )


def prepare_panel(data: pd.DataFrame, spec: CSSpec) -> _Panel:
    """Validate and reshape the long panel into a balanced wide one (units x periods)."""
    cols = [spec.outcome, spec.unit, spec.time, spec.group, *spec.covariates]
    if spec.weights is not None:
        cols.append(spec.weights)
    check_columns(data, cols)
    if len(set(cols)) != len(cols):
        raise SpecError(f"outcome, unit, time, group and covariates must differ: {cols}.")
    for c in [spec.outcome, spec.time, spec.group, *spec.covariates]:
        check_numeric(data, c, allow_inf=c == spec.group)  # inf: never treated
    if spec.weights is not None:
        from evaluate.estimators.did._within import analytic_weights

        analytic_weights(data, spec.weights)  # positive and finite, or a typed error
    for c in (spec.unit, spec.time, spec.group):
        if data[c].isna().any():
            hint = " Code never-treated units as 0 (or inf)." if c == spec.group else ""
            raise DataError(f"Column {c!r} has {int(data[c].isna().sum())} missing values.{hint}")
    frame = data[cols]
    frame, _ = drop_missing(frame, [spec.outcome, *spec.covariates], allow=True, stacklevel=4)
    n_input = len(data)
    time_v = frame[spec.time].to_numpy(dtype=float)
    group_v = frame[spec.group].to_numpy(dtype=float)
    _integer_valued(time_v, spec.time)
    _integer_valued(group_v, spec.group)
    if np.any(group_v < 0):
        raise DataError(
            f"Column {spec.group!r} has negative values; it must hold the first treated "
            "period, with 0 (or inf) for never-treated units."
        )
    group_v = np.where(np.isinf(group_v), 0.0, group_v)
    times, t_idx = np.unique(time_v, return_inverse=True)
    if len(times) < 2:
        raise DesignError(f"Column {spec.time!r} has a single period; DiD needs at least two.")
    step = np.diff(times)
    if np.any(step != step[0]):
        grid = np.arange(times[0], times[-1] + step.min(), step.min())
        missing = sorted(set(grid) - set(times))[:5]
        raise DataError(
            f"Periods in {spec.time!r} are unequally spaced (no rows at all for "
            f"{[_num(m) for m in missing]}); the base period t-1 and event times would be "
            "ill-defined. Add the missing periods or aggregate to an even grid."
        )
    u_codes, u_labels = pd.factorize(frame[spec.unit], sort=True)
    n_units, n_t = len(u_labels), len(times)
    cell = u_codes.astype(np.int64) * n_t + t_idx
    if np.bincount(cell, minlength=n_units * n_t).max() > 1:
        check_no_duplicates(frame, [spec.unit, spec.time])
    g_wide = np.full((n_units, n_t), np.nan)
    g_wide[u_codes, t_idx] = group_v
    g_min, g_max = np.nanmin(g_wide, axis=1), np.nanmax(g_wide, axis=1)
    if np.any(g_min != g_max):
        i = int(np.flatnonzero(g_min != g_max)[0])
        raise DataError(
            f"Column {spec.group!r} is not constant within unit {_item(u_labels[i])!r} "
            f"(values {_num(g_min[i])} and {_num(g_max[i])}). It must hold each unit's first "
            "treated period; treatment that switches off is not a staggered adoption design "
            "(recode to the first adoption period or drop such units)."
        )
    observed = np.bincount(u_codes, minlength=n_units)
    keep = observed == n_t
    notes: list[str] = []
    cohort = g_min.copy()
    late = cohort > times[-1]
    if late.any():
        cohort[late] = 0.0
        notes.append(
            f"{int(late.sum())} units first treated after the last period are "
            "treated as never treated (as R did)."
        )
    early = (cohort > 0) & (cohort - spec.anticipation <= times[0])
    if early.any():
        warnings.warn(
            f"Dropped {int(early.sum())} units first treated at or before the first period "
            f"{_num(times[0])} (+ anticipation {spec.anticipation}): they have no untreated "
            "base period.",
            DroppedRowsWarning,
            stacklevel=3,
        )
        notes.append(f"{int(early.sum())} units treated before the data start were dropped.")
    if (~keep & ~early).any():
        k = int((~keep & ~early).sum())
        warnings.warn(
            f"Dropped {k} units not observed in all {n_t} periods (balanced panel required; "
            "this includes units whose rows were dropped for missing values).",
            DroppedRowsWarning,
            stacklevel=3,
        )
        notes.append(f"{k} units not observed in every period were dropped (balanced panel).")
    keep &= ~early
    on_grid = np.isin(cohort, times) | (cohort == 0)
    if not on_grid.all():
        bad = cohort[~on_grid][0]
        raise DataError(
            f"Cohort {_num(bad)} in {spec.group!r} is not one of the periods in "
            f"{spec.time!r}; first treated periods must lie on the time grid."
        )
    period_keep = np.ones(n_t, dtype=bool)
    if not np.any(cohort[keep] == 0):
        if spec.control == "never":
            raise DesignError(
                "No never-treated units (group 0) remain, so control='never' has no control "
                "group. Use control='notyet' to compare with not-yet-treated units."
            )
        last = cohort[keep].max()
        period_keep = times < last - spec.anticipation
        cohort = np.where(cohort == last, 0.0, cohort)
        notes.append(
            f"No never-treated units: cohort {_num(last)} serves as control and periods "
            f">= {_num(last - spec.anticipation)} are dropped (as R did)."
        )
    if not np.any(cohort[keep] > 0) or period_keep.sum() < 2:
        raise DesignError("No treated cohort with a pre-treatment period remains to estimate.")
    rows_keep = keep[u_codes] & period_keep[t_idx]
    used = frame.loc[rows_keep]
    n_dropped = n_input - len(used)  # missing values, unbalanced, early cohorts, trimmed periods
    units = np.flatnonzero(keep)
    order = units[np.lexsort((units, cohort[units]))]
    remap = np.full(n_units, -1)
    remap[order] = np.arange(len(order))
    times_kept = times[period_keep]
    t_map = np.cumsum(period_keep) - 1
    y = np.empty((len(order), len(times_kept)))
    r_u, r_t = remap[u_codes[rows_keep]], t_map[t_idx[rows_keep]]
    y[r_u, r_t] = used[spec.outcome].to_numpy(dtype=float)
    x = None
    if spec.covariates:
        x = np.empty((len(order), len(times_kept), len(spec.covariates)))
        x[r_u, r_t] = used[list(spec.covariates)].to_numpy(dtype=float)
    w = None
    if spec.weights is not None:
        w_wide = np.full((n_units, n_t), np.nan)
        w_wide[u_codes, t_idx] = frame[spec.weights].to_numpy(dtype=float)
        w_unit = np.nanmax(w_wide, axis=1)
        varies = np.flatnonzero(w_unit[keep] != np.nanmin(w_wide, axis=1)[keep])
        if varies.size:
            i = int(np.flatnonzero(keep)[varies[0]])
            raise DataError(
                f"Weight column {spec.weights!r} varies within unit {_item(u_labels[i])!r}; "
                "panel weights must be constant per unit (R did takes them so)."
            )
        w = w_unit[order] / w_unit[order].mean()
    values, index = np.unique(cohort[order], return_inverse=True)
    return _Panel(y, x, times_kept, index, values, used, n_dropped, tuple(notes), w)


def _item(v: Any) -> Any:
    return v.item() if isinstance(v, np.generic) else v
