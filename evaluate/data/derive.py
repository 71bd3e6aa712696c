"""Derivations from person-week records: clock, refusion, spells, full-time persons, flows.

The derivation is defined once and split where each tool is fastest:

* a **per-person kernel** (:mod:`evaluate.data.kernel`) walks each person's
  sorted weeks once: the refusion clock with its reset, the refusion share,
  spells, months and transitions, summarised in the same pass into small
  *partial* tables (spells; person-weeks and refusion per municipality x month
  x benefit; transitions per cell).  Window SQL for the clock alone is an order
  of magnitude slower (issue 8 measured ~4 M rows/s).
* **combining SQL** (the ``*_SQL`` constants), run by an engine
  (:mod:`evaluate.data.engines`: DuckDB by default, Spark optionally), adds up
  the partials of all chunks, threads or partitions (integer sums, so exact in
  any order) and flags censored spells.  The same SQL text and the same kernel
  run on every engine, so the engines cannot drift apart.

The refusion clock (rule of :class:`ResetRule`)
    A person's clock counts weeks on public support (benefits flagged
    ``public_support`` in the code table) since the clock last stood at zero.
    The clock starts at zero at the person's first week in the data (history
    before the data window is unknown, so early spells are left-censored) and
    an *episode* starts with the first week on support.  Within an episode the
    clock **resets to zero at the first self-supporting week t** for which the
    person was self-supporting in at least ``reset_weeks`` (52) of the weeks in
    ``(max(t - window_weeks, s), t]``, where ``s`` is the episode's first week and
    ``window_weeks`` is 156 (three years).  Self-support before the episode
    never counts: a reset needs 52 self-supporting weeks *after* support began.
    The next episode starts at the next week on support, with the clock at 1.
    ``window_weeks=52`` gives the stricter reading "52 consecutive weeks".
    Examples: 30 weeks on, 52 off, back on -> clock 1; 30 on, 51 off, back on
    -> 31; 30 on, 26 off, 10 on, 26 off, back on -> 1 with the three-year window,
    41 with ``window_weeks=52``.
    The clock of a self-supporting week is the clock carried (0 after a reset).

Refusion share
    ``schedule.share(clock)`` for weeks on a benefit flagged ``refusion``, else 0;
    the schedule is data (:meth:`evaluate.money.RefusionSchedule.danish`).
    It is carried as integer parts per million so sums are exact on any engine.

Months and full-time persons
    A week belongs to the month of its Thursday (as ISO assigns weeks to years).
    Full-time persons (*fuldtidspersoner*) of a benefit in a month = person-weeks
    on it / the number of weeks of that month inside the data window.

Spells and transitions
    A spell is a maximal run of consecutive weeks of one person on one benefit
    (self-support included); it is left-/right-censored when it touches the
    first/last week of the data window.  A transition is a change of benefit
    between two consecutive weeks of a person, counted in the month and
    municipality of the later week.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from evaluate.data.engines import Engine, EngineName, get_engine
from evaluate.data.kernel import (
    PPM,
    ResetRule,
    person_week_kernel,
    summary_kernel,
    support_clock,
)
from evaluate.data.register import (
    RegisterRecords,
    iso_week_label,
    month_label,
    week_month,
)
from evaluate.errors import DataError

__all__ = [
    "FTP_SQL",
    "SPELLS_SQL",
    "TRANSITIONS_SQL",
    "RegisterDerivation",
    "ResetRule",
    "combine",
    "derive_register",
    "outcome_panel",
    "person_week_kernel",
    "summary_kernel",
    "support_clock",
]

# Combining the kernel's partial tables (from threads, chunks or Spark partitions):
# plain sums of integer counts, so any split of the persons gives the same result.
SPELLS_SQL = """
SELECT person, benefit, start_week, end_week, end_week - start_week + 1 AS weeks,
       start_week = {first_week} AS left_censored,
       end_week = {last_week} AS right_censored
FROM spells
"""

FTP_SQL = """
SELECT municipality, month, benefit, CAST(SUM(person_weeks) AS BIGINT) AS person_weeks,
       CAST(SUM(refusion_ppm) AS BIGINT) AS refusion_ppm
FROM ftp_cells
GROUP BY municipality, month, benefit
"""

TRANSITIONS_SQL = """
SELECT municipality, month, from_benefit, to_benefit, CAST(SUM(flows) AS BIGINT) AS flows
FROM flow_cells
GROUP BY municipality, month, from_benefit, to_benefit
"""


@dataclass(frozen=True, eq=False)
class RegisterDerivation:
    """Everything derived from a register: tables keyed by readable labels.

    Attributes
    ----------
    spells
        ``person, benefit, start_week, end_week, weeks, left_censored,
        right_censored`` (weeks as ``yyyyww``).
    ftp
        ``municipality, month, benefit, person_weeks, weeks_in_month, ftp,
        refusion_ftp`` (full-time persons and refusion-weighted full-time persons).
    transitions
        ``municipality, month, from_benefit, to_benefit, flows``.
    person_weeks
        Per person-week columns (codes) when ``keep_person_weeks=True``, else None.
    """

    spells: pd.DataFrame
    ftp: pd.DataFrame
    transitions: pd.DataFrame
    benefits: pd.DataFrame
    municipalities: np.ndarray
    window: tuple[int, int]
    rule: ResetRule
    engine: str
    n_rows: int
    repairs: dict[str, int] = field(default_factory=dict)
    person_weeks: pd.DataFrame | None = None


def _weeks_in_window_month(window: tuple[int, int]) -> pd.Series:
    months = week_month(np.arange(window[0], window[1] + 1))
    return pd.Series(months).value_counts().sort_index()


def derive_register(
    records: RegisterRecords,
    *,
    engine: EngineName | Engine = "duckdb",
    refusion: Any = None,
    rule: ResetRule = ResetRule(),
    keep_person_weeks: bool = False,
) -> RegisterDerivation:
    """Spells, refusion clock and shares, full-time persons and transitions.

    Parameters
    ----------
    records
        From :func:`evaluate.data.register.prepare_records`.
    engine
        ``"duckdb"`` (default), ``"spark"`` or an :class:`~evaluate.data.engines.Engine`.
    refusion
        A :class:`evaluate.money.RefusionSchedule` (default: the Danish schedule).
    rule
        When the refusion clock resets (:class:`ResetRule`).
    keep_person_weeks
        Also return the per person-week columns (memory: ~50 bytes per row).

    Examples
    --------
    >>> from evaluate.data.register import prepare_records
    >>> df = pd.DataFrame({"person": 1, "week": [202001, 202002, 202003],
    ...                    "status": [130, 130, 0], "municipality": "Aarhus"})
    >>> d = derive_register(prepare_records(df))
    >>> d.spells[["benefit", "weeks"]].values.tolist()
    [['kontanthjaelp', 2], ['self_support', 1]]
    """
    if not isinstance(records, RegisterRecords):
        raise DataError(
            "records must come from evaluate.data.register.prepare_records, got "
            f"{type(records).__name__}."
        )
    if refusion is None:
        # Lazy import: the schedule is money data; data does not depend on money otherwise.
        from evaluate.money.refusion import RefusionSchedule

        refusion = RefusionSchedule.danish()
    eng = get_engine(engine)
    benefits = records.codes.benefits
    frame = records.kernel_frame()
    parts = eng.summaries(frame, summary_kernel(benefits, refusion, rule, window=records.window))
    spells, ftp, flows = combine(eng, parts, records.window)
    pw = None
    if keep_person_weeks:
        pw = eng.person_weeks(frame, person_week_kernel(benefits, refusion, rule))
    return RegisterDerivation(
        spells=label_spells(spells, benefits, records.person_ids),
        ftp=label_ftp(ftp, benefits, records.municipalities, records.window),
        transitions=label_flows(flows, benefits, records.municipalities),
        benefits=benefits,
        municipalities=records.municipalities,
        window=records.window,
        rule=rule,
        engine=eng.name,
        n_rows=records.n_rows,
        repairs=dict(records.repairs),
        person_weeks=pw,
    )


def combine(
    eng: Engine, parts: Mapping[str, pd.DataFrame], window: tuple[int, int]
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Spells, full-time-person cells and flows from the kernel's partial tables."""
    spells = eng.sql(
        SPELLS_SQL.format(first_week=window[0], last_week=window[1]), {"spells": parts["spells"]}
    )
    ftp = eng.sql(FTP_SQL, {"ftp_cells": parts["ftp_cells"]})
    flows = eng.sql(TRANSITIONS_SQL, {"flow_cells": parts["flow_cells"]})
    return spells, ftp, flows


def municipality_union(muns: list[np.ndarray]) -> np.ndarray:
    """Sorted distinct municipality labels, ordered as prepare_records orders them."""
    allv = np.concatenate(muns)
    if allv.dtype.kind in "iu":
        return np.unique(allv)
    return np.asarray(pd.Index(pd.unique(allv)).sort_values(), dtype=object)


def _names(benefits: pd.DataFrame) -> np.ndarray:
    return benefits.sort_values("benefit_id")["benefit"].to_numpy()


def _take(labels: np.ndarray, codes: np.ndarray) -> pd.Index:
    """``labels[codes]`` in the labels' own pandas dtype: strings are taken as Arrow
    strings directly rather than converted one Python object at a time."""
    return pd.Index(labels).take(codes)


def _month_labels(months: np.ndarray) -> pd.Index:
    """``'YYYY-MM'`` of many month codes, formatting each distinct month once."""
    distinct, inverse = np.unique(months, return_inverse=True)
    return _take(month_label(distinct), inverse)


def label_spells(spells: pd.DataFrame, benefits: pd.DataFrame, ids: np.ndarray) -> pd.DataFrame:
    person = spells["person"].to_numpy("int64")
    start = spells["start_week"].to_numpy("int64")
    end = spells["end_week"].to_numpy("int64")
    benefit = spells["benefit"].to_numpy("int64")
    # The kernel emits spells in person-week order; sort only if an engine did not keep it.
    later = (person[1:] > person[:-1]) | ((person[1:] == person[:-1]) & (start[1:] > start[:-1]))
    if not later.all():
        order = np.lexsort((start, person))
        person, start, end, benefit = person[order], start[order], end[order], benefit[order]
    if person.size:  # weeks of the window: label each distinct week once
        lo = int(start.min())
        labels = iso_week_label(np.arange(lo, int(end.max()) + 1))
        start_label, end_label = labels[start - lo], labels[end - lo]
    else:
        start_label = end_label = np.zeros(0, "int64")
    weeks = spells["weeks"].to_numpy("int64")
    left = spells["left_censored"].to_numpy(bool)
    right = spells["right_censored"].to_numpy(bool)
    if not later.all():
        weeks, left, right = weeks[order], left[order], right[order]
    return pd.DataFrame(
        {
            "person": _take(ids, person),
            "benefit": _take(_names(benefits), benefit),
            "start_week": start_label,
            "end_week": end_label,
            "weeks": weeks,
            "left_censored": left,
            "right_censored": right,
        }
    )


def label_ftp(
    ftp: pd.DataFrame, benefits: pd.DataFrame, muns: np.ndarray, window: tuple[int, int]
) -> pd.DataFrame:
    out = ftp.sort_values(["municipality", "month", "benefit"], kind="stable")
    out = out.reset_index(drop=True)
    wim = _weeks_in_window_month(window)
    months = out["month"].to_numpy("int64")
    n_weeks = wim.reindex(months).to_numpy("int64")
    pweeks = out["person_weeks"].to_numpy("int64")
    return pd.DataFrame(
        {
            "municipality": _take(muns, out["municipality"].to_numpy("int64")),
            "month": _month_labels(months),
            "benefit": _take(_names(benefits), out["benefit"].to_numpy("int64")),
            "person_weeks": pweeks,
            "weeks_in_month": n_weeks,
            "ftp": pweeks / n_weeks,
            "refusion_ftp": out["refusion_ppm"].to_numpy("int64") / PPM / n_weeks,
        }
    )


def label_flows(flows: pd.DataFrame, benefits: pd.DataFrame, muns: np.ndarray) -> pd.DataFrame:
    keys = ["municipality", "month", "from_benefit", "to_benefit"]
    out = flows.sort_values(keys, kind="stable").reset_index(drop=True)
    names = _names(benefits)
    return pd.DataFrame(
        {
            "municipality": _take(muns, out["municipality"].to_numpy("int64")),
            "month": _month_labels(out["month"].to_numpy("int64")),
            "from_benefit": _take(names, out["from_benefit"].to_numpy("int64")),
            "to_benefit": _take(names, out["to_benefit"].to_numpy("int64")),
            "flows": out["flows"].to_numpy("int64"),
        }
    )


def outcome_panel(
    derived: RegisterDerivation,
    *,
    treated: Mapping[object, str] | None = None,
) -> pd.DataFrame:
    """Balanced municipality x month panel ready for the estimators.

    Columns: ``municipality, month, period`` (months since the first month, from
    0), ``ftp_public`` (full-time persons on public support), ``refusion_ftp``,
    ``person_weeks_public``, ``exits`` (flows from public support to a benefit
    that is not), ``entries``, ``exit_rate`` (= exits / person-weeks on public
    support: a weekly exit hazard; NaN with no one on support) and ``ftp_<benefit>``
    per benefit.  With ``treated={municipality: "YYYY-MM"}`` (first treated month)
    also ``treated`` (0/1 ever), ``first_treated`` (period of the start, 0 = never,
    the convention of :func:`evaluate.callaway_santanna` after shifting periods
    to start at 1: ``period + 1``), and ``post`` (1 from the unit's own start).

    Examples
    --------
    >>> panel = outcome_panel(d, treated={"Aarhus": "2020-03"})  # doctest: +SKIP
    """
    b = derived.benefits.set_index("benefit")
    ftp = derived.ftp
    public_names = set(b.index[b["public_support"].astype(bool)])
    months = month_label(np.unique(week_month(np.arange(derived.window[0], derived.window[1] + 1))))
    grid = pd.MultiIndex.from_product(
        [derived.municipalities, months], names=["municipality", "month"]
    )
    wide = ftp.pivot_table(
        index=["municipality", "month"], columns="benefit", values="ftp", aggfunc="sum"
    )
    wide = wide.reindex(index=grid, columns=_names(derived.benefits)).fillna(0.0)
    is_public = ftp["benefit"].isin(public_names)
    pub = ftp[is_public].groupby(["municipality", "month"])
    flows = derived.transitions
    from_pub = flows["from_benefit"].isin(public_names)
    to_pub = flows["to_benefit"].isin(public_names)
    exits = flows[from_pub & ~to_pub].groupby(["municipality", "month"])["flows"].sum()
    entries = flows[~from_pub & to_pub].groupby(["municipality", "month"])["flows"].sum()
    out = pd.DataFrame(index=grid)
    out["ftp_public"] = pub["ftp"].sum().reindex(grid).fillna(0.0)
    out["refusion_ftp"] = pub["refusion_ftp"].sum().reindex(grid).fillna(0.0)
    out["person_weeks_public"] = pub["person_weeks"].sum().reindex(grid).fillna(0).astype(int)
    out["exits"] = exits.reindex(grid).fillna(0).astype(int)
    out["entries"] = entries.reindex(grid).fillna(0).astype(int)
    with np.errstate(invalid="ignore", divide="ignore"):
        out["exit_rate"] = out["exits"] / out["person_weeks_public"].replace(0, np.nan)
    for name in wide.columns:
        out[f"ftp_{name}"] = wide[name].to_numpy()
    out = out.reset_index()
    order = {m: i for i, m in enumerate(months)}
    out.insert(2, "period", out["month"].map(order).astype(int))
    if treated is not None:
        unknown = [m for m in treated if m not in set(derived.municipalities)]
        if unknown:
            raise DataError(
                f"Treated municipality {unknown[0]!r} is not in the register; known: "
                f"{', '.join(map(str, derived.municipalities[:10]))}."
            )
        start = {}
        for mun, month in treated.items():
            if month not in order:
                raise DataError(
                    f"Start month {month!r} of {mun!r} is outside the data ({months[0]}.."
                    f"{months[-1]}); give it as 'YYYY-MM'."
                )
            start[mun] = order[month]
        first = out["municipality"].map(start)
        out["treated"] = first.notna().astype(int)
        out["first_treated"] = (first + 1).fillna(0).astype(int)
        out["post"] = (out["period"] >= first).astype(int)
    return out
