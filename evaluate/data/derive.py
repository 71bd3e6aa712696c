"""Derivations from person-week records: clock, refusion, spells, full-time persons, flows.

The derivation is defined once and split where each tool is fastest:

* a **per-person kernel** (:func:`person_week_kernel`), vectorised numpy over
  columns sorted by person and week, computes for every person-week the
  refusion clock with its reset, the refusion share, the start week of the
  spell the week belongs to, whether the week ends a spell, and the benefit of
  the week before.  Window SQL for
  the same is an order of magnitude slower (issue 8 measured ~4 M rows/s).
* **aggregation SQL** (the ``*_SQL`` constants), run by an engine
  (:mod:`evaluate.data.engines`: DuckDB by default, Spark optionally), turns
  those columns into spells (one row per spell-ending week, so a filter rather
  than a grouping), full-time persons and transitions.  The same SQL text and
  the same kernel run on every engine, so the engines cannot drift apart.

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

import os
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from evaluate.data.engines import Engine, EngineName, Kernel, get_engine
from evaluate.data.register import (
    RegisterRecords,
    iso_week_label,
    month_label,
    week_month,
)
from evaluate.errors import DataError, SpecError

PPM = 1_000_000  # refusion shares are carried as integer parts per million
CHUNK_ROWS = 1 << 18  # rows per kernel chunk (cut at person boundaries)

SPELLS_SQL = """
SELECT person, benefit, spell_start AS start_week, week AS end_week,
       week - spell_start + 1 AS weeks,
       spell_start = {first_week} AS left_censored,
       week = {last_week} AS right_censored
FROM person_weeks
WHERE spell_end
"""

FTP_SQL = """
SELECT municipality, month, benefit, COUNT(*) AS person_weeks,
       CAST(SUM(refusion_ppm) AS BIGINT) AS refusion_ppm
FROM person_weeks
GROUP BY municipality, month, benefit
"""

TRANSITIONS_SQL = """
SELECT municipality, month, prev_benefit AS from_benefit, benefit AS to_benefit,
       COUNT(*) AS flows
FROM person_weeks
WHERE prev_benefit >= 0 AND prev_benefit <> benefit
GROUP BY municipality, month, prev_benefit, benefit
"""


@dataclass(frozen=True)
class ResetRule:
    """When the refusion clock restarts (see the module docstring for the exact rule).

    Parameters
    ----------
    reset_weeks
        Self-supporting weeks needed for a reset (LBK § 6: 52).
    window_weeks
        Length of the window in which they must fall (three years = 156);
        ``window_weeks == reset_weeks`` means consecutive weeks.
    """

    reset_weeks: int = 52
    window_weeks: int = 156

    def __post_init__(self) -> None:
        if not 1 <= self.reset_weeks <= self.window_weeks:
            raise SpecError(
                f"Need 1 <= reset_weeks <= window_weeks, got {self.reset_weeks} and "
                f"{self.window_weeks}."
            )


def support_clock(person: np.ndarray, on: np.ndarray, rule: ResetRule = ResetRule()) -> np.ndarray:
    """Refusion clock of every person-week (rule in the module docstring).

    Parameters
    ----------
    person
        Person codes, sorted; each person's rows are consecutive weeks.
    on
        True where the week is on public support.

    Examples
    --------
    >>> on = np.r_[np.ones(30), np.zeros(52), np.ones(1)].astype(bool)
    >>> int(support_clock(np.zeros(on.size, int), on)[-1])
    1
    """
    n = on.size
    on = on.astype(bool, copy=False)
    if n == 0:
        return np.zeros(0, dtype="int32")
    r_need, w_len = rule.reset_weeks, rule.window_weeks
    first = np.empty(n, dtype=bool)
    first[0] = True
    np.not_equal(person[1:], person[:-1], out=first[1:])
    starts = np.flatnonzero(first)
    ends = np.append(starts[1:], n)  # exclusive
    # 32-bit indices halve memory traffic; the kernel calls this on chunks anyway.
    itype = np.int32 if n + rule.window_weeks < 2**31 - 1 else np.int64
    rows = np.arange(n, dtype=itype)
    cum = np.empty(n + 1, dtype=itype)  # cum[i] = on-weeks in rows [0, i)
    cum[0] = 0
    np.cumsum(on, out=cum[1:])
    cum_off = rows + 1 - cum[1:]  # off-weeks in rows [0, i], non-decreasing
    next_on = np.append(np.minimum.accumulate(np.where(on, rows, n)[::-1])[::-1], n)
    # Full-window candidates: off weeks with >= R off weeks in (t - W, t] of the same
    # person.  Once an episode is W weeks old its window lies wholly inside it, so its
    # reset is the first such candidate; before that only off-weeks since the episode
    # start count, which a search on cum_off finds directly.
    pstart = np.maximum.accumulate(np.where(first, rows, itype(0)))
    lo = np.maximum(rows - w_len, pstart - 1)  # last row before the window
    cum_off_lo = np.where(lo >= 0, cum_off[np.maximum(lo, 0)], 0)
    cand = ~on & (cum_off - cum_off_lo >= r_need)
    next_cand = np.append(np.minimum.accumulate(np.where(cand, rows, n)[::-1])[::-1], n)
    reset = np.zeros(n, dtype=bool)
    s, end = next_on[starts], ends
    live = s < end
    s, end = s[live], end[live]
    # One round per episode, vectorised over persons: O(persons) work per round.
    while s.size:
        early = np.searchsorted(cum_off, cum_off[s] + r_need, side="left")
        late = next_cand[np.minimum(s + w_len, n)]
        r = np.where(early < s + w_len, early, late)
        hit = r < end
        r, end = r[hit], end[hit]
        reset[r] = True
        s = next_on[r]
        live = s < end
        s, end = s[live], end[live]
    base = np.where(reset, cum[1:], -1)
    base[starts] = np.maximum(base[starts], cum[starts])
    np.maximum.accumulate(base, out=base)
    return (cum[1:] - base).astype("int32")


def _share_ppm(schedule: Any) -> np.ndarray:
    """Lookup table: refusion share in ppm for clock 0..K (K = last finite step + 1)."""
    frame = schedule.frame
    last = int(np.nanmax(frame["to_week"].to_numpy(dtype=float)))
    weeks = np.arange(1, last + 2)
    table = np.zeros(last + 2, dtype="int64")
    table[1:] = np.round(np.asarray(schedule.share(weeks), dtype=float) * PPM).astype("int64")
    return table


def person_week_kernel(
    benefits: pd.DataFrame,
    schedule: Any,
    rule: ResetRule = ResetRule(),
    *,
    workers: int | None = None,
    backend: str | None = None,
) -> Kernel:
    """The per-person kernel: a pure function of complete, sorted person histories.

    Input columns ``person, week, benefit, municipality`` (integer codes; each
    person's weeks consecutive); adds ``month``, ``clock``, ``refusion_ppm``,
    ``spell_start`` (week the spell began), ``spell_end`` (last week of a spell) and
    ``prev_benefit`` (-1 in a person's first week).  ``backend``: ``"numpy"`` (the
    reference), ``"numba"`` (:mod:`evaluate.data._kernel_numba`, same results) or
    ``"auto"`` (numba when installed); default: environment variable
    ``EVALUATE_KERNEL``, else ``"auto"``.
    """
    public = benefits.sort_values("benefit_id")["public_support"].to_numpy(bool)
    refund = benefits.sort_values("benefit_id")["refusion"].to_numpy(bool)
    table = _share_ppm(schedule)
    workers = min(os.cpu_count() or 1, 4) if workers is None else max(int(workers), 1)
    numba_chunk = _numba_backend(backend)

    def kernel(frame: pd.DataFrame) -> pd.DataFrame:
        person = frame["person"].to_numpy("int64")
        week = frame["week"].to_numpy("int32")
        benefit = frame["benefit"].to_numpy("int16")
        n = person.size
        out = {
            "person": person,
            "week": week,
            "benefit": benefit,
            "municipality": frame["municipality"].to_numpy("int32"),
            "month": np.empty(n, "int32"),
            "clock": np.empty(n, "int32"),
            "refusion_ppm": np.empty(n, "int32"),
            "spell_start": np.empty(n, "int32"),
            "spell_end": np.empty(n, bool),
            "prev_benefit": np.empty(n, "int16"),
        }
        if n:
            w0 = int(week.min())
            months = week_month(np.arange(w0, int(week.max()) + 1)).astype("int32")
        # Person-aligned chunks keep the temporaries in cache and bound peak memory.
        cuts = np.searchsorted(person, person[::CHUNK_ROWS][1:], side="left")
        bounds = np.unique(np.r_[0, cuts, n])

        def chunk(a: int, b: int) -> None:
            p, w, ben = person[a:b], week[a:b], benefit[a:b]
            m = b - a
            if numba_chunk is not None:
                numba_chunk(
                    p, w, ben, public, refund, table, months, w0, rule.reset_weeks,
                    rule.window_weeks, out["month"][a:b], out["clock"][a:b],
                    out["refusion_ppm"][a:b], out["spell_start"][a:b], out["spell_end"][a:b],
                    out["prev_benefit"][a:b],
                )  # fmt: skip
                return
            clock = support_clock(p, public[ben], rule)
            out["clock"][a:b] = clock
            out["refusion_ppm"][a:b] = np.where(
                refund[ben], table[np.minimum(clock, table.size - 1)], 0
            )
            out["month"][a:b] = months[w - w0]
            new_person = np.ones(m, dtype=bool)
            np.not_equal(p[1:], p[:-1], out=new_person[1:])
            boundary = new_person.copy()
            boundary[1:] |= ben[1:] != ben[:-1]
            start_row = np.maximum.accumulate(np.where(boundary, np.arange(m, dtype="int32"), 0))
            out["spell_start"][a:b] = w[start_row]
            out["spell_end"][a : b - 1] = boundary[1:]
            out["spell_end"][b - 1] = True
            prev = out["prev_benefit"][a:b]
            prev[0] = -1
            prev[1:] = ben[:-1]
            prev[new_person] = -1

        # Chunks write disjoint slices, and numpy releases the GIL inside its loops,
        # so threads give real parallelism here.
        spans = list(zip(bounds[:-1].tolist(), bounds[1:].tolist(), strict=True))
        if workers > 1 and len(spans) > 1:
            with ThreadPoolExecutor(max_workers=workers) as pool:
                list(pool.map(lambda ab: chunk(*ab), spans))
        else:
            for a, b in spans:
                chunk(a, b)
        return pd.DataFrame(out, copy=False)

    return kernel


def _numba_backend(backend: str | None) -> Any:
    """The numba chunk function for ``backend``, or None for the numpy kernel."""
    choice = backend or os.environ.get("EVALUATE_KERNEL", "auto")
    if choice not in ("auto", "numpy", "numba"):
        raise SpecError(f"Unknown kernel backend {choice!r}; use 'auto', 'numpy' or 'numba'.")
    if choice == "numpy":
        return None
    from evaluate.data import _kernel_numba

    if not _kernel_numba.AVAILABLE:
        if choice == "numba":
            raise SpecError("The numba kernel needs numba: pip install numba")
        return None
    return _kernel_numba.kernel_chunk


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
    frame = pd.DataFrame(
        {
            "person": records.person,
            "week": records.week,
            "benefit": records.benefit,
            "municipality": records.municipality,
        },
        copy=False,
    )
    pw = eng.person_weeks(frame, person_week_kernel(benefits, refusion, rule))
    first, last = records.window
    tables = {"person_weeks": pw}
    spells = eng.sql(SPELLS_SQL.format(first_week=first, last_week=last), tables)
    ftp = eng.sql(FTP_SQL, tables)
    flows = eng.sql(TRANSITIONS_SQL, tables)
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
        person_weeks=pw if keep_person_weeks else None,
    )


def _names(benefits: pd.DataFrame) -> np.ndarray:
    return benefits.sort_values("benefit_id")["benefit"].to_numpy()


def label_spells(spells: pd.DataFrame, benefits: pd.DataFrame, ids: np.ndarray) -> pd.DataFrame:
    out = spells.sort_values(["person", "start_week"], kind="stable").reset_index(drop=True)
    return pd.DataFrame(
        {
            "person": ids[out["person"].to_numpy("int64")],
            "benefit": _names(benefits)[out["benefit"].to_numpy("int64")],
            "start_week": iso_week_label(out["start_week"].to_numpy("int64")),
            "end_week": iso_week_label(out["end_week"].to_numpy("int64")),
            "weeks": out["weeks"].to_numpy("int64"),
            "left_censored": out["left_censored"].to_numpy(bool),
            "right_censored": out["right_censored"].to_numpy(bool),
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
            "municipality": muns[out["municipality"].to_numpy("int64")],
            "month": month_label(months),
            "benefit": _names(benefits)[out["benefit"].to_numpy("int64")],
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
            "municipality": muns[out["municipality"].to_numpy("int64")],
            "month": month_label(out["month"].to_numpy("int64")),
            "from_benefit": names[out["from_benefit"].to_numpy("int64")],
            "to_benefit": names[out["to_benefit"].to_numpy("int64")],
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
