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
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd

from evaluate.data.validate import check_columns, check_no_duplicates, check_numeric, drop_missing
from evaluate.effect import FrameHash
from evaluate.errors import (
    DataError,
    DesignError,
    DroppedRowsWarning,
    SmallSampleWarning,
    SpecError,
)
from evaluate.estimators.did._calendar import Calendar, label_of
from evaluate.estimators.did._cohorts import adoption_periods, sorted_codes
from evaluate.estimators.did._panel_kernels import (
    first_change,
    first_fraction,
    sorted_panel,
    wide_columns,
)
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
    panel: bool = True
    allow_unbalanced_panel: bool = False


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
    x: np.ndarray | None  # n x T x k, or n x 1 x k if constant within units
    times: np.ndarray  # T
    cohort_index: np.ndarray  # n, index into cohort_values
    cohort_values: np.ndarray  # C, 0 = never treated, sorted
    used: pd.DataFrame  # long rows used (for the data hash)
    n_dropped: int
    notes: tuple[str, ...]
    w: np.ndarray | None = None  # unit sampling weights, mean 1 (R did's weightsname)
    structure: str = "balanced panel"
    calendar: Calendar | None = None  # messages name periods by its labels
    hashing: FrameHash | None = None  # hash_frame(used), computing on a thread


@dataclass(frozen=True, eq=False)
class _RCPanel:
    """Rows as observations: repeated cross-sections or an unbalanced panel.

    ``cohort_index`` has one entry per sampling unit (a unit of an unbalanced
    panel, a row of a repeated cross-section) and indexes ``cohort_values``
    (0 = never treated); ``cluster`` maps every row to its unit.
    """

    y: np.ndarray  # rows
    x: np.ndarray | None  # rows x k
    t_idx: np.ndarray  # rows, index into times
    cluster: np.ndarray  # rows, index of the row's unit
    times: np.ndarray
    cohort_index: np.ndarray  # units
    cohort_values: np.ndarray
    used: pd.DataFrame
    n_dropped: int
    notes: tuple[str, ...]
    structure: str  # "unbalanced panel" or "repeated cross-sections"
    w: None = None  # sampling weights are not yet taken by the cross-section estimators
    calendar: Calendar | None = None  # messages name periods by its labels
    hashing: FrameHash | None = None  # hash_frame(used), computing on a thread


def check_structure(kw: dict[str, Any]) -> None:
    """``panel`` and ``allow_unbalanced_panel`` must be booleans (normalised in place)."""
    for key in ("panel", "allow_unbalanced_panel"):
        if not isinstance(kw[key], (bool, np.bool_)):
            raise SpecError(f"{key} must be True or False, got {kw[key]!r}.")
        kw[key] = bool(kw[key])


STRUCTURES = {
    "balanced panel": ("staggered.structure_balanced", "balanced panel"),
    "unbalanced panel": (
        "staggered.structure_unbalanced",
        "unbalanced panel: repeated cross-section estimators, clustered by unit",
    ),
    "repeated cross-sections": ("staggered.structure_rc", "repeated cross-sections"),
}


def _integer_valued(values: np.ndarray, column: str) -> None:
    first = first_fraction(values)  # one compiled pass, no temporaries
    if first >= 0:
        bad = float(values[first])
        raise DataError(
            f"Column {column!r} must hold whole periods (integers); found {bad!r}. "
            "Code periods as integers (e.g. year, or months since a start date)."
        )


def prepare_panel(
    data: pd.DataFrame, spec: CSSpec, calendar: Calendar | None = None
) -> _Panel | _RCPanel:
    """Validate the long data and reshape them for the cell estimators.

    A balanced panel (``panel=True``; units missing a period are dropped unless
    ``allow_unbalanced_panel``) becomes a wide :class:`_Panel`; repeated
    cross-sections (``panel=False``) and an unbalanced panel kept whole become a
    :class:`_RCPanel` of rows (estimated by :mod:`~evaluate.estimators.did._staggered_rc`).
    ``calendar`` (periods numbered by :func:`~evaluate.estimators.did._calendar.calendar_frame`)
    makes the warnings and notes name periods and cohorts by the user's labels.
    """
    cols = [spec.outcome, spec.unit, spec.time, spec.group, *spec.covariates]
    if spec.weights is not None:
        cols.append(spec.weights)
    check_columns(data, cols)
    if len(set(cols)) != len(cols):
        raise SpecError(f"outcome, unit, time, group and covariates must differ: {cols}.")
    for c in [spec.outcome, spec.time, *spec.covariates]:
        check_numeric(data, c)
    if spec.weights is not None:
        from evaluate.estimators.did._within import analytic_weights

        analytic_weights(data, spec.weights)  # positive and finite, or a typed error
    for c in (spec.unit, spec.time):
        if data[c].isna().any():
            raise DataError(f"Column {c!r} has {int(data[c].isna().sum())} missing values.")
    frame = data[cols]
    frame, _ = drop_missing(frame, [spec.outcome, *spec.covariates], allow=True, stacklevel=4)
    hashing = FrameHash(frame)  # the data hash, on a thread while the panel is built
    n_input = len(data)
    unit_v, time_v = frame[spec.unit].to_numpy(), frame[spec.time].to_numpy()
    # A balanced panel sorted by unit and period (the common layout) is recognised in
    # one compiled pass and coded without sorting or hashing; else by sorted_codes.
    n_sorted = sorted_panel(unit_v, time_v) if spec.panel else 0
    if n_sorted:
        times = time_v[:n_sorted].copy()
        t_idx = np.tile(np.arange(n_sorted, dtype=np.intp), len(time_v) // n_sorted)
    else:
        times, t_idx = sorted_codes(time_v)  # linear, unlike np.unique
    times = times.astype(float)
    cohorts, never, n_blank = adoption_periods(frame[spec.group], spec.group, times)
    group_v = np.where(never, 0.0, cohorts)  # 0 = never treated from here on
    _integer_valued(times, spec.time)
    _integer_valued(group_v, spec.group)
    if len(times) < 2:
        raise DesignError(f"Column {spec.time!r} has a single period; DiD needs at least two.")
    step = np.diff(times)
    if np.any(step != step[0]):
        grid = np.arange(times[0], times[-1] + step.min(), step.min())
        missing = sorted(set(grid) - set(times))[:5]
        raise DataError(
            f"Periods in {spec.time!r} are unequally spaced (no rows at all for "
            f"{[label_of(calendar, m) for m in missing]}); the base period t-1 and event "
            "times would be ill-defined. Add the missing periods or aggregate to an even grid."
        )
    notes: list[str] = []
    if n_blank:
        notes.append(f"{n_blank} rows with a blank {spec.group!r} are never treated.")
    if spec.panel:
        if n_sorted:
            n_units, n_t = len(unit_v) // n_sorted, n_sorted
            u_labels = unit_v[::n_t].copy()
            u_codes = np.repeat(np.arange(n_units, dtype=np.intp), n_t)
            cell, in_order = None, True
        else:
            u_labels, u_codes = sorted_codes(unit_v)
            n_units, n_t = len(u_labels), len(times)
            cell = u_codes.astype(np.int64) * n_t + t_idx
            # rows sorted by unit and period, every unit in every period: no duplicates,
            # balanced, and the wide panel is a reshape
            in_order = len(cell) == n_units * n_t and bool(np.all(cell == np.arange(len(cell))))
            if not in_order and np.bincount(cell, minlength=n_units * n_t).max() > 1:
                check_no_duplicates(frame, [spec.unit, spec.time])
        if in_order:  # each unit's first value; does any unit's change?
            g_min = group_v[::n_t].copy()
            varies = first_change(group_v.reshape(n_units, n_t)) >= 0
        else:
            g_min = np.empty(n_units)
            g_min[u_codes] = group_v  # one of each unit's values; all equal if constant
            varies = bool(np.any(g_min[u_codes] != group_v))
        if varies:
            g_min, g_max = np.full(n_units, np.inf), np.full(n_units, -np.inf)
            np.minimum.at(g_min, u_codes, group_v)
            np.maximum.at(g_max, u_codes, group_v)
            i = int(np.flatnonzero(g_min != g_max)[0])
            raise DataError(
                f"Column {spec.group!r} is not constant within unit {_item(u_labels[i])!r} "
                f"(values {label_of(calendar, g_min[i])} and {label_of(calendar, g_max[i])}; "
                "0 stands for never treated: blank, 0 or inf). It must hold each unit's "
                "first treated period; treatment that switches off is not a staggered "
                "adoption design (recode to the first adoption period or drop such units)."
            )
        observed = np.full(n_units, n_t) if in_order else np.bincount(u_codes, minlength=n_units)
        balanced = bool(np.all(observed == n_t))
        unbalanced = spec.allow_unbalanced_panel and not balanced
        structure = "unbalanced panel" if unbalanced else "balanced panel"
        ids, cohort = u_codes, g_min.copy()
        keep = np.ones(n_units, dtype=bool) if unbalanced else observed == n_t
    else:
        structure, ids, cohort = "repeated cross-sections", np.arange(len(frame)), group_v
        repeated = int((frame.groupby(spec.unit, sort=False)[spec.time].nunique() > 1).sum())
        if repeated:
            notes.append(
                f"{repeated} values of {spec.unit!r} occur in more than one period; "
                "panel=False treats their rows as independent observations (for a panel, "
                "allow_unbalanced_panel=True clusters on the unit instead)."
            )
        keep = np.ones(len(frame), dtype=bool)
    what = "rows" if structure == "repeated cross-sections" else "units"
    late = cohort > times[-1]
    if late.any():
        cohort = np.where(late, 0.0, cohort)
        last = "" if calendar is None else f" {label_of(calendar, times[-1])}"
        notes.append(
            f"{int(late.sum())} {what} first treated after the last period{last} are "
            "treated as never treated (as R did)."
        )
    early = (cohort > 0) & (cohort - spec.anticipation <= times[0])
    if early.any():
        n_rows = int(early[ids].sum())
        warnings.warn(
            f"Dropped {int(early.sum())} {what} first treated at or before the first period "
            f"{label_of(calendar, times[0])} (+ anticipation {spec.anticipation}): they "
            f"have no untreated base period ({n_rows} rows).",
            DroppedRowsWarning,
            stacklevel=3,
        )
        notes.append(f"{int(early.sum())} {what} treated before the data start were dropped.")
    if (~keep & ~early).any():
        k = int((~keep & ~early).sum())
        n_rows = int((~keep & ~early)[ids].sum())
        warnings.warn(
            f"Dropped {k} units not observed in all {len(times)} periods ({n_rows} rows; a "
            "balanced panel is required, and this includes units whose rows were dropped "
            "for missing values). Pass allow_unbalanced_panel=True to keep them: the "
            "repeated cross-section estimators then use every row, clustered by unit.",
            DroppedRowsWarning,
            stacklevel=3,
        )
        notes.append(
            f"{k} units ({n_rows} rows) not observed in every period were dropped (balanced panel)."
        )
    keep &= ~early
    on_grid = np.isin(cohort, times) | (cohort == 0)
    if not on_grid.all():
        bad = cohort[~on_grid][0]
        raise DataError(
            f"Cohort {label_of(calendar, bad)} in {spec.group!r} is not one of the periods in "
            f"{spec.time!r}; first treated periods must lie on the time grid."
        )
    period_keep = np.ones(len(times), dtype=bool)
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
            f"No never-treated units: cohort {label_of(calendar, last)} serves as control and "
            f"periods >= {label_of(calendar, last - spec.anticipation)} are dropped (as R did)."
        )
    if not np.any(cohort[keep] > 0) or period_keep.sum() < 2:
        raise DesignError("No treated cohort with a pre-treatment period remains to estimate.")
    all_rows = bool(keep.all() and period_keep.all())
    rows_keep = None if all_rows else keep[ids] & period_keep[t_idx]
    used = frame if all_rows else frame.loc[rows_keep]  # same rows, same hash: no copy
    if not all_rows:
        hashing = FrameHash(used)
    n_dropped = n_input - len(used)  # missing values, unbalanced, early cohorts, trimmed periods
    times_kept = times[period_keep]
    t_map = np.cumsum(period_keep) - 1
    if structure != "balanced panel":
        rows = slice(None) if rows_keep is None else rows_keep
        return rc_panel(used, spec, ids[rows], cohort, t_map[t_idx[rows]],
                        times_kept, n_dropped, notes, structure, calendar, hashing)  # fmt: skip
    units = np.flatnonzero(keep)
    values, codes = sorted_codes(cohort[units])
    order = units[np.argsort(codes.astype(np.int16), kind="stable")]  # cohort, then unit
    index = np.sort(codes)
    slots = None if in_order else cell
    periods = np.flatnonzero(period_keep)
    args = (slots, n_units, n_t, order, periods)
    x = None
    if spec.covariates:  # outcome and covariates gathered side by side (the passes drop the GIL)
        with ThreadPoolExecutor(max_workers=1) as pool:
            outcome = pool.submit(_wide, frame, [spec.outcome], *args)
            x = _wide(frame, spec.covariates, *args, static=True)
            y = outcome.result()[:, :, 0]
    else:
        y = _wide(frame, [spec.outcome], *args)[:, :, 0]
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
    warn_single_unit_cohorts(values, np.bincount(index), "consist of a single unit", calendar)
    return _Panel(y, x, times_kept, index, values, used, n_dropped, tuple(notes), w,
                  calendar=calendar, hashing=hashing)  # fmt: skip


def _wide(
    frame: pd.DataFrame,
    columns: tuple[str, ...] | list[str],
    cell: np.ndarray | None,
    n_units: int,
    n_t: int,
    order: np.ndarray,
    periods: np.ndarray,
    *,
    static: bool = False,
) -> np.ndarray:
    """Long columns to ``units x periods x columns``, units in ``order``.

    With ``static``, values that do not change over time within any unit are kept
    for the first period only (``units x 1 x columns``): covariates usually don't,
    and the cell estimators then read one period instead of all.

    ``cell`` is each row's ``unit * n_t + period`` slot (``None``: the rows are
    already in that order, and each column is read in place as a ``units x
    periods`` table).  Otherwise every row is written into a table of all units and
    periods (one linear scatter).  The kept units and ``periods`` are then gathered
    by a compiled pass per column (:func:`wide_columns`): no sort, no per-unit or
    per-period copies and no ``rows x columns`` temporaries.
    """
    tables = []
    for name in columns:
        values = frame[name].to_numpy(dtype=float)
        if cell is None:
            table = values.reshape(n_units, n_t)  # a view of the caller's column: only read
        else:
            table = np.empty(n_units * n_t)
            table[cell] = values
            table = table.reshape(n_units, n_t)
        tables.append(table)
    return wide_columns(tables, order, periods, static=static)


def rc_panel(
    used: pd.DataFrame,
    spec: CSSpec,
    ids: np.ndarray,
    cohort: np.ndarray,
    t_idx: np.ndarray,
    times: np.ndarray,
    n_dropped: int,
    notes: list[str],
    structure: str,
    calendar: Calendar | None = None,
    hashing: FrameHash | None = None,
) -> _RCPanel:
    """Rows of repeated cross-sections or of an unbalanced panel, ids renumbered."""
    if spec.weights is not None:
        raise SpecError(
            f"weights with {structure} are not supported yet; balance the panel "
            "(allow_unbalanced_panel=False, panel=True) or drop the weights."
        )
    codes, first = np.unique(ids, return_inverse=True)
    values, index = np.unique(cohort[codes], return_inverse=True)
    if structure == "repeated cross-sections":  # the fewest rows in any period
        per_period = np.zeros((len(values), len(times)))
        np.add.at(per_period, (index[first], t_idx), 1)
        fewest = np.where(per_period > 0, per_period, np.inf).min(axis=1)
        warn_single_unit_cohorts(
            values, fewest, "have a single observation in some period", calendar
        )
    else:
        warn_single_unit_cohorts(values, np.bincount(index), "consist of a single unit", calendar)
    x = used[list(spec.covariates)].to_numpy(dtype=float) if spec.covariates else None
    if structure == "unbalanced panel":
        notes.append(
            f"Unbalanced panel ({len(codes)} units, {len(used)} rows): ATT(g,t) from the "
            "repeated cross-section estimators on every observed row, standard errors "
            "clustered by unit (as R did with allow_unbalanced_panel = TRUE)."
        )
    else:
        notes.append(
            f"Repeated cross-sections ({len(used)} observations): ATT(g,t) from the "
            "repeated cross-section estimators, each row an independent observation."
        )
    return _RCPanel(
        y=used[spec.outcome].to_numpy(dtype=float),
        x=x,
        t_idx=t_idx,
        cluster=first,
        times=times,
        cohort_index=index,
        cohort_values=values,
        used=used,
        n_dropped=n_dropped,
        notes=tuple(notes),
        structure=structure,
        calendar=calendar,
        hashing=hashing,
    )


def warn_single_unit_cohorts(
    values: np.ndarray, counts: np.ndarray, what: str, calendar: Calendar | None = None
) -> None:
    """Warn about treated cohorts of one unit (or, in repeated cross-sections, one
    observation in some period): their ATT(g,t) rest on that one unit, and the
    influence-function standard error estimates its part of the variance from a
    single value, so it is unreliable.  ``what`` completes "Cohort(s) [g] ..."."""
    single = values[(values > 0) & (counts == 1)]
    if single.size:
        warnings.warn(
            f"Cohort(s) {[label_of(calendar, g) for g in single]} {what}: "
            "their ATT(g,t) compare one unit with the controls, and their standard errors "
            "are unreliable. Report them with care, or pool small cohorts.",
            SmallSampleWarning,
            stacklevel=4,
        )


def _item(v: Any) -> Any:
    return v.item() if isinstance(v, np.generic) else v
