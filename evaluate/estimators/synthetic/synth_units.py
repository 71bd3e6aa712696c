"""Synthetic control for several treated units, with staggered starts allowed.

:func:`~evaluate.estimators.synthetic.synth.synthetic_control` comes here when
``treated_unit`` is a list.  Each treated unit gets its own synthetic control,
fitted exactly as a single one (same options, same V search, placebos, leave-one-
out) on a donor pool that holds *no* treated unit, from its own start.  The
headline is the average over treated units of their average post-period gaps
(each unit counts once, whatever the length of its post-period).

Inference is by placebo assignments among the donors only
(:mod:`evaluate.estimators.synthetic._synth_pooled`): each donor's placebo fit
for each treated unit's start is already part of that unit's placebo study; an
assignment picks distinct donors for the treated units, and the treated units'
average post/pre RMSPE ratio is ranked among the assignments' averages.

Example
-------
>>> res = synthetic_control(panel, outcome="y", unit="kommune", time="month",
...                         treated_unit=["Faxe", "Lolland", "Odsherred"],
...                         start=["2021M03", "2021M06", "2021M09"])  # doctest: +SKIP
>>> res.unit_effects  # doctest: +SKIP
"""

from __future__ import annotations

import dataclasses
import math
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from evaluate.effect import DesignTable, EffectResult, Provenance, hash_frame
from evaluate.errors import DataError, DroppedRowsWarning, SpecError
from evaluate.estimators.synthetic._synth_pooled import (
    PooledPlaceboDistribution,
    placebo_assignments,
)
from evaluate.estimators.synthetic._synth_prepare import _prepare
from evaluate.inference.distributions import PointMass
from evaluate.text import Num, Text, Unit, say

if TYPE_CHECKING:
    from matplotlib.axes import Axes

_SEVERAL = (list, tuple, set, frozenset, np.ndarray, pd.Index, pd.Series)


def is_several(value: Any) -> bool:
    """Whether an option value names several units or periods (a list, not a string)."""
    return isinstance(value, _SEVERAL)


def starts_by_unit(treated: Sequence[Any], start: Any, *, option: str = "start") -> list[Any]:
    """One start per treated unit: a single start for all, a list in the order of
    ``treated_unit``, or a mapping unit -> start."""
    if isinstance(start, dict):
        missing = [u for u in treated if u not in start and str(u) not in start]
        if missing:
            raise SpecError(f"{option} gives no start for treated unit(s) {missing}.")
        return [start[u] if u in start else start[str(u)] for u in treated]
    if is_several(start):
        starts = list(start)
        if len(starts) != len(treated):
            raise SpecError(
                f"{option} lists {len(starts)} start(s) for {len(treated)} treated unit(s); "
                "give one start for all, or one per treated unit in the order of treated_unit."
            )
        return starts
    return [start] * len(treated)


def treated_list(treated_unit: Any) -> list[Any]:
    """The treated units as a list of distinct values, in the order given."""
    units = list(treated_unit)
    if not units:
        raise SpecError("treated_unit is an empty list; name at least one treated unit.")
    if len(set(map(repr, units))) != len(units):
        raise SpecError(f"treated_unit lists a unit twice: {units}.")
    return units


def complete_pool(
    data: pd.DataFrame, outcome: str, unit: str, time: str, treated: list[Any], donors: Any
) -> tuple[list[Any], int]:
    """Donors (no treated unit) whose outcome is observed in every period; the others
    are dropped once, with one warning, rather than once per treated unit."""
    all_units = list(pd.unique(data[unit]))
    missing = [u for u in treated if u not in all_units]
    if missing:
        raise DataError(
            f"Treated unit(s) {missing} not found in column {unit!r} (e.g. {all_units[:5]}). "
            "Check the spelling and the column's type."
        )
    if donors is None:
        pool = [u for u in all_units if u not in treated]
    else:
        pool = list(dict.fromkeys(donors))
        unknown = [d for d in pool if d not in all_units]
        if unknown:
            raise DataError(f"Donors {unknown} not found in column {unit!r}.")
        clash = [d for d in pool if d in treated]
        if clash:
            raise SpecError(
                f"The donor pool contains treated unit(s) {clash}; every treated unit is left "
                "out of every donor pool. Remove them from donors."
            )
    counts = data.loc[data[unit].isin(pool)].groupby(unit)[outcome].count()
    n_times = data[time].nunique()
    incomplete = [u for u in pool if counts.get(u, 0) < n_times]
    n_dropped = 0
    if incomplete:
        n_dropped = int(data[unit].isin(incomplete).sum())
        warnings.warn(
            f"Dropped donors {incomplete} ({n_dropped} rows): {outcome!r} is missing in some "
            "period. Fill their gaps to keep them in the donor pool.",
            DroppedRowsWarning,
            stacklevel=4,
        )
    return [u for u in pool if u not in incomplete], n_dropped


def fit_units(
    data: pd.DataFrame,
    spec: Any,
    treated: list[Any],
    starts: list[Any],
    meta: dict[str, Any],
    fit_one: Callable[..., Any],
) -> SynthUnitsResult:
    """Fit one synthetic control per treated unit and pool them (see the module doc).

    ``fit_one(panel, spec, used, n_dropped, meta)`` is the single-unit fit of
    :mod:`.synth` (passed in, so this module does not import its caller).
    """

    pool, n_dropped = complete_pool(data, spec.outcome, spec.unit, spec.time, treated, spec.donors)
    fits: list[Any] = []
    for u, s in zip(treated, starts, strict=True):
        spec_u = dataclasses.replace(spec, treated_unit=u, start=s, donors=tuple(pool))
        panel, used, _ = _prepare(data, spec_u)
        fits.append(fit_one(panel, spec_u, used, 0, {**meta, "simulated": False}))
    return _pool(fits, treated, starts, pool, data, spec, n_dropped, meta)


def _pool(fits, treated, starts, pool, data, spec, n_dropped, meta) -> SynthUnitsResult:
    effects = np.array([f.estimate for f in fits])
    estimate = float(effects.mean())
    post_gaps = tuple(
        f.trajectory.loc[f.trajectory["post"], "gap"].to_numpy(dtype=float) for f in fits
    )
    pre_rmspe = np.array(
        [
            math.sqrt(float(np.mean(f.trajectory.loc[~f.trajectory["post"], "gap"] ** 2)))
            for f in fits
        ]
    )
    index = {d: j for j, d in enumerate(pool)}
    n_donors = len(pool)
    ratios = np.full((len(fits), n_donors), np.nan)
    gaps = np.full((len(fits), n_donors), np.nan)
    eligible = []
    for i, f in enumerate(fits):
        table = f.placebo_table
        cols = table["unit"].map(index).to_numpy(dtype=int)
        ratios[i, cols] = table["ratio"].to_numpy(dtype=float)
        gaps[i, cols] = table["avg_gap"].to_numpy(dtype=float)
        eligible.append(cols[table["included"].to_numpy(dtype=bool)])
    rng = np.random.default_rng(spec.seed)
    combos = (
        placebo_assignments(eligible, rng) if spec.placebo else np.empty((0, len(fits)), int)
    )
    if len(combos):
        rows = np.arange(len(fits))
        distribution: Any = PooledPlaceboDistribution(
            estimate=estimate,
            post_gaps=post_gaps,
            pre_rmspe=pre_rmspe,
            placebo_stats=ratios[rows, combos].mean(axis=1),
            placebo_effects=gaps[rows, combos].mean(axis=1),
        )
        inference = Text(
            "synth_units.inference",
            "placebos among the donors only: {n} assignments of distinct donors to the {k} "
            "treated units (each refitted from that unit's start); permutation p-value of the "
            "average post/pre RMSPE ratio; interval = constant effects not rejected",
            n=len(combos),
            k=len(fits),
        )
    else:
        distribution = PointMass(estimate)
        inference = Text("synth.inference_off", "none (placebo inference switched off)")
    unit_table = pd.DataFrame(
        {
            "start": [str(s) for s in starts],
            "estimate": effects,
            "pre_rmspe": pre_rmspe,
            "p_value": [f.p_value for f in fits],
            "post_periods": [len(g) for g in post_gaps],
        },
        index=pd.Index([str(u) for u in treated], name="treated unit"),
    )
    weights = pd.DataFrame(
        {str(u): f.weights.to_numpy() for u, f in zip(treated, fits, strict=True)},
        index=pd.Index(pool, name="donor"),
    )
    diagnostics = {}
    for u, f in zip(treated, fits, strict=True):
        for key, value in f.diagnostics.items():
            diagnostics[Text("synth_units.diag", "{diag}: {unit}", diag=key, unit=str(u))] = value
    notes = [
        Text(
            "synth_units.note_average",
            "The estimate is the average over the {k} treated units of each unit's average "
            "post-period gap (treated minus its synthetic control), in the outcome's own units; "
            "each unit counts once. Every treated unit is left out of every donor pool.",
            k=len(fits),
        )
    ]
    if len(combos):
        notes.append(
            Text(
                "synth_units.note_placebo",
                "Uncertainty is not a sampling error: the p-value is the rank of the treated "
                "units' average RMSPE ratio among {n} placebo assignments of donors, so it "
                "cannot fall below {floor}; the standard error is the spread of the placebo "
                "average effects.",
                n=len(combos),
                floor=Num(1 / (len(combos) + 1), sig=3),
            )
        )
    if meta["simulated"]:
        notes.append(Text("note.simulated_data", "The data are SIMULATED, not observed."))
    used = data.loc[data[spec.unit].isin([*treated, *pool])]
    spec_dict = {**spec.__dict__, "treated_unit": list(treated), "start": list(starts)}
    names = ", ".join(map(str, treated))
    return SynthUnitsResult(
        name=meta["name"] or spec.outcome,
        estimand=Text(
            "synth_units.estimand",
            "average effect on {units} after their starts (each treated unit minus its "
            "synthetic control)",
            units=names,
        ),
        distribution=distribution,
        method=Text(
            "synth_units.method", "Synthetic control, several treated units (Abadie et al.)"
        ),
        inference=inference,
        unit="outcome units",
        population=meta["population"]
        or Text(
            "synth_units.population",
            "{units}; donor pool of {n} untreated units",
            units=names,
            n=len(pool),
        ),
        alpha=spec.alpha,
        periods=_event_periods(fits, starts),
        diagnostics=diagnostics,
        provenance=Provenance(
            spec=spec_dict,
            data_hash=hash_frame(used),
            n_rows=len(used),
            n_dropped=n_dropped,
            source=meta["source"],
            simulated=bool(meta["simulated"]),
        ),
        notes=tuple(notes),
        unit_fits=tuple(fits),
        unit_effects=unit_table,
        weights=weights,
        treated_units=tuple(treated),
        starts=tuple(starts),
    )


def _event_periods(fits, starts) -> pd.DataFrame:
    """Average gap by periods since each unit's start (0 = its first treated period)."""
    frames = []
    for f in fits:
        tr = f.trajectory.reset_index(drop=True)
        first = int(np.flatnonzero(tr["post"].to_numpy())[0])
        frames.append(pd.DataFrame({"event": np.arange(len(tr)) - first, "gap": tr["gap"]}))
    long = pd.concat(frames)
    by = long.groupby("event")["gap"]
    out = pd.DataFrame({"period": by.mean().index, "estimate": by.mean().to_numpy()})
    out["n_units"] = by.size().to_numpy()
    out = out.loc[out["period"] >= 0].reset_index(drop=True)
    for column in ("std_error", "ci_low", "ci_high"):
        out[column] = math.nan
    return out[["period", "estimate", "std_error", "ci_low", "ci_high", "n_units"]]


@dataclass(frozen=True, kw_only=True, eq=False)
class SynthUnitsResult(EffectResult):
    """Result of :func:`~evaluate.estimators.synthetic.synth.synthetic_control` with
    several treated units.

    Beyond the :class:`~evaluate.effect.EffectResult` contract: ``unit_fits`` (one
    :class:`~evaluate.estimators.synthetic.synth.SynthResult` per treated unit),
    ``unit_effects`` (start, estimate, pre-period RMSPE, own placebo p-value and
    post-period length per unit), ``weights`` (donor x treated unit).  ``periods``
    holds the average gap by periods since each unit's start.
    """

    unit_fits: tuple[Any, ...]
    unit_effects: pd.DataFrame
    weights: pd.DataFrame
    treated_units: tuple[Any, ...]
    starts: tuple[Any, ...]

    def design_tables(self) -> tuple[DesignTable, ...]:
        """Effects by treated unit, and the donor weights of each synthetic control."""
        shown = self.weights.loc[(self.weights > 0.0005).any(axis=1)]
        order = shown.max(axis=1).sort_values(ascending=False, kind="stable").index
        shown = shown.loc[order]
        return (
            DesignTable(
                title=Text("synth_units.effects_title", "Effect by treated unit"),
                frame=self.unit_effects,
                columns=(
                    ("start", Text("synth_units.start", "start"), "text"),
                    ("estimate", Text("synth_units.estimate", "effect"), "estimate"),
                    ("pre_rmspe", Text("synth.pre_rmspe", "pre-period RMSPE"), "number"),
                    ("p_value", Text("synth_units.p_value", "own placebo p-value"), "p_value"),
                    ("post_periods", Text("synth_units.post_periods", "periods after"), "count"),
                ),
                row_header=Text("synth_units.treated", "treated unit"),
            ),
            DesignTable(
                title=Text("synth_units.weights_title", "Donor weights by treated unit"),
                frame=shown,
                columns=tuple((str(u), str(u), "weight") for u in self.weights.columns),
                row_header=Text("synth.donor", "donor"),
                note=Text(
                    "synth_units.weights_note",
                    "Donors with a weight above 0.0005 for at least one treated unit; each "
                    "column sums to one.",
                ),
            ),
        )

    def _summary_tables(self) -> list[tuple[str, pd.DataFrame]]:
        tables = super()._summary_tables()
        tables.append(("Effect by treated unit", self.unit_effects))
        shown = self.weights.loc[(self.weights > 0.0005).any(axis=1)]
        tables.append(("Donor weights by treated unit (above 0.0005)", shown))
        if self.periods is not None:
            tables.append(("Average gap by periods since start", self.periods.set_index("period")))
        return tables

    def plot(self, ax: Axes | None = None) -> Axes:
        """Each treated unit's gap by periods since its start (thin), their average (bold)."""
        from evaluate.plotting import _axes

        ax = _axes(ax, figsize=(8.0, 4.2))
        for u, f in zip(self.treated_units, self.unit_fits, strict=True):
            tr = f.trajectory.reset_index(drop=True)
            first = int(np.flatnonzero(tr["post"].to_numpy())[0])
            ax.plot(np.arange(len(tr)) - first, tr["gap"], linewidth=0.9, label=str(u))
        if self.periods is not None:
            ax.plot(
                self.periods["period"], self.periods["estimate"], color="black", linewidth=2.2,
                label=say(Text("synth_units.average", "average")),
            )  # fmt: skip
        ax.axhline(0.0, color="0.4", linewidth=0.8, linestyle="--")
        ax.axvline(-0.5, color="0.3", linewidth=1.0, linestyle=":")
        ax.set_xlabel(say(Text("synth_units.since_start", "periods since start")))
        ax.set_ylabel(say(Text("synth_units.gap_axis", "treated minus synthetic ({unit})",
                               unit=Unit(self.unit))))  # fmt: skip
        ax.set_title(say(Text("synth_units.plot_title", "{name}: treated minus synthetic control",
                              name=self.name)))  # fmt: skip
        ax.legend(frameon=False, fontsize="small")
        return ax


__all__ = ["SynthUnitsResult", "fit_units", "is_several", "starts_by_unit", "treated_list"]
