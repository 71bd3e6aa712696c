"""Staggered adoption: Callaway & Sant'Anna (2021) group-time effects.

Units adopt a treatment in different periods and stay treated.  A *cohort* ``g``
is the set of units first treated in period ``g``; ATT(g,t) is that cohort's
average effect in period ``t``, identified by comparing its outcome change from a
base period with the change of a control group (never treated, or not yet
treated by ``t``), optionally adjusted for covariates by outcome regression
(``reg``), inverse probability weighting (``ipw``) or both (``dr``, Sant'Anna &
Zhao 2020).  The cell estimators and their influence functions follow R
``DRDID``; cell selection, base periods, anticipation and the analytic standard
errors follow R ``did`` 2.5.0 (``att_gt`` with ``bstrap=FALSE``), which this
module reproduces on ``mpdta`` to 1e-10.

Without covariates the three methods coincide (a difference of mean changes) and
every cell is computed at once from cohort sums, with an influence function held
compactly (:mod:`~evaluate.estimators.did._influence`): the fit is linear in rows,
a fraction of a second at 1M rows.  Aggregation and the multiplier bootstrap live in
:mod:`evaluate.estimators.did.staggered_aggregate`, covariate cells in ``staggered_drdid``
and the checks and reshaping of the input below in ``_staggered_prepare``.

Handling of awkward data, in the order it is checked:

* never-treated units: a blank, ``0`` or ``inf`` cohort, the rule ``event_study``
  shares (:mod:`~evaluate.estimators.did._cohorts`); ambiguous codes (0 that is
  also a later period, negative markers) are a :class:`~evaluate.errors.DataError`;
* missing outcome or covariate values: the rows are dropped, counted and warned
  about; a unit that then lacks a period is dropped as below;
* duplicate unit-period rows, a cohort (``group``) that varies within a unit
  (for example treatment that switches off and on again), non-integer cohorts,
  unequally spaced periods, cohorts between observed periods:
  :class:`~evaluate.errors.DataError`;
* units not observed in every period (an unbalanced panel): dropped with a
  :class:`~evaluate.errors.DroppedRowsWarning` naming units and rows (R ``did``
  does the same), or with ``allow_unbalanced_panel=True`` kept, every row used by
  the repeated cross-section estimators with standard errors clustered by unit
  (``_staggered_rc``; R ``did`` likewise).  ``panel=False`` treats the rows as
  repeated cross-sections;
* a treated cohort of a single unit: :class:`~evaluate.errors.SmallSampleWarning`;
* cohorts first treated after the last period: treated as never treated (as R);
* cohorts treated in or before the first period (plus ``anticipation``): no
  untreated base period, so their units are dropped with a warning;
* ``control="never"`` with no never-treated unit: :class:`~evaluate.errors.DesignError`;
  ``control="notyet"`` without never-treated units follows R: periods from the
  last cohort's adoption (minus anticipation) on are dropped and that cohort
  serves as the control group.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import asdict, dataclass, field, replace
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from evaluate.data.validate import check_frame
from evaluate.effect import DesignTable, Diagnostic, EffectResult, Provenance, Unit, hash_frame
from evaluate.errors import DesignError, PreTrendWarning, SpecError
from evaluate.estimators._renamed import renamed_options
from evaluate.estimators.did._calendar import Calendar, calendar_frame, label_of, relabel
from evaluate.estimators.did._influence import DenseInfluence, difference_in_means
from evaluate.estimators.did._staggered_prepare import (
    BasePeriod,
    Control,
    CSSpec,
    Method,
    _Cells,
    _num,
    _Panel,
    _RCPanel,
    check_structure,
    prepare_panel,
)
from evaluate.estimators.did._staggered_pretests import pretest_leads, pretest_wald
from evaluate.estimators.did._staggered_rc import describe_structure, fit_rc
from evaluate.estimators.did.staggered_aggregate import (
    AggregateKind,
    BootstrapWeights,
    GroupTimeEffects,
    StaggeredAggregate,
    effects_frame,
    make_aggregate,
    multiplier_draws,
    plot_bands,
)
from evaluate.estimators.did.staggered_drdid import covariate_cells
from evaluate.inference.distributions import Normal
from evaluate.limits import check_count
from evaluate.text import Text

if TYPE_CHECKING:
    from matplotlib.axes import Axes


# --------------------------------------------------------------------------- front door
@renamed_options("effect_unit")
def callaway_santanna(
    data: pd.DataFrame,
    *,
    outcome: str,
    unit: str,
    time: str,
    group: str,
    control: Control = "never",
    method: Method = "dr",
    base_period: BasePeriod = "varying",
    anticipation: int = 0,
    covariates: tuple[str, ...] | list[str] = (),
    weights: str | None = None,
    alpha: float = 0.05,
    bootstrap: int | None = None,
    bootstrap_weights: BootstrapWeights = "mammen",
    seed: int | None = None,
    panel: bool = True,
    allow_unbalanced_panel: bool = False,
    name: str | None = None,
    outcome_unit: Unit = "outcome units",
    population: str = "treated cohorts, post-treatment periods",
) -> StaggeredResult:
    """Callaway-Sant'Anna group-time ATTs with influence-function standard errors.

    Parameters
    ----------
    data : long panel, one row per unit and period (never modified).
    outcome, unit, time : column names; ``time`` holds equally spaced integers, or
        calendar periods (dates, pandas Periods, text such as "2023-01" or "2023K1"),
        numbered on their calendar (:mod:`~evaluate.estimators.did._calendar`).
    group : column with the first treated period of each unit (constant within a
        unit), in the form of ``time``; blank, ``0`` or ``inf`` means never treated.
    control : ``"never"`` (never-treated units) or ``"notyet"`` (never treated plus
        units not yet treated by the later of ``t`` and the base period).
    method : ``"dr"`` doubly robust, ``"ipw"`` or ``"reg"`` (identical without covariates).
    base_period : ``"varying"`` (pre-periods compare ``t`` with ``t - 1``) or
        ``"universal"`` (every cell compares with ``g - 1 - anticipation``, which is
        reported as an effect fixed at 0).
    anticipation : number of periods before ``g`` in which units may already react.
    covariates : columns entering the propensity score / outcome regression, taken
        in the earlier period of each comparison (as R ``did``).
    weights : column of sampling weights, constant within a unit (R ``did``'s
        ``weightsname``): weighted means in every ATT(g,t) and weighted cohort shares
        in the aggregations, with their influence functions.  Not yet combined with
        covariates.
    alpha : 1 - confidence level.
    bootstrap : number of multiplier-bootstrap draws for uniform (sup-t) bands, or None.
    bootstrap_weights : ``"mammen"`` (R's default), ``"rademacher"`` or ``"gaussian"``
        (drawn exactly and fast from the normal the Gaussian multipliers imply).
    seed : seed of the bootstrap draws.
    panel : ``True`` (rows are units observed over time) or ``False`` (repeated
        cross-sections: every row is an independent observation, ``unit`` is not
        used to link rows).  As R ``did``'s ``panel``.
    allow_unbalanced_panel : with ``panel=True`` and units missing some periods,
        ``False`` drops those units (with a warning naming how many units and rows)
        and ``True`` keeps every row and runs the repeated cross-section
        estimators, clustered by unit.  As R ``did``'s ``allow_unbalanced_panel``;
        a balanced panel runs the panel estimators either way.  The result's
        ``data_structure`` says which ran.
    name, outcome_unit, population : labels of the result; ``outcome_unit`` is what the
        outcome counts (a benefit rate prices persons or full-time persons).

    Returns
    -------
    StaggeredResult
        Headline = the ``simple`` aggregation; ``att_gt`` holds every cell;
        ``periods`` the event-time effects; ``aggregate(kind)`` the other summaries.

    Examples
    --------
    >>> from evaluate.datasets import mpdta
    >>> res = callaway_santanna(mpdta(), outcome="lemp", unit="countyreal",
    ...                         time="year", group="first.treat")
    >>> round(res.estimate, 4)
    -0.04
    >>> round(res.aggregate("dynamic").estimate, 4)
    -0.0772
    """
    spec = _make_spec(
        outcome=outcome,
        unit=unit,
        time=time,
        group=group,
        control=control,
        method=method,
        base_period=base_period,
        anticipation=anticipation,
        covariates=covariates,
        alpha=alpha,
        bootstrap=bootstrap,
        bootstrap_weights=bootstrap_weights,
        seed=seed,
        weights=weights,
        panel=panel,
        allow_unbalanced_panel=allow_unbalanced_panel,
    )
    frame, calendar = calendar_frame(check_frame(data), time, group)
    panel = prepare_panel(frame, spec, calendar)
    gt, cells = fit_group_time(panel, spec)
    return _build_result(
        gt, cells, panel, spec, name=name or outcome, unit=outcome_unit, population=population,
        calendar=calendar,
    )  # fmt: skip


def _make_spec(**kw: Any) -> CSSpec:
    choices = {
        "control": ("never", "notyet"),
        "method": ("dr", "ipw", "reg"),
        "base_period": ("varying", "universal"),
        "bootstrap_weights": ("mammen", "rademacher", "gaussian"),
    }
    for key, allowed in choices.items():
        if kw[key] not in allowed:
            raise SpecError(f"{key}={kw[key]!r} is not supported; use one of {allowed}.")
    if isinstance(kw["covariates"], str):
        raise SpecError("covariates must be a list of column names, not a single string.")
    if kw["weights"] is not None and kw["covariates"]:
        raise SpecError(
            "weights with covariates are not supported yet (weighted DRDID); drop one of them."
        )
    kw["covariates"] = tuple(kw["covariates"])
    ant = kw["anticipation"]
    if isinstance(ant, bool) or not isinstance(ant, (int, np.integer)) or ant < 0:
        raise SpecError(f"anticipation must be a non-negative integer, got {ant!r}.")
    kw["anticipation"] = int(ant)
    if not 0 < kw["alpha"] < 1:
        raise SpecError(f"alpha must lie strictly between 0 and 1, got {kw['alpha']!r}.")
    boot = kw["bootstrap"]
    if boot is not None and (
        isinstance(boot, bool) or not isinstance(boot, (int, np.integer)) or boot < 2
    ):
        raise SpecError(f"bootstrap must be None or an integer >= 2 (draws), got {boot!r}.")
    if boot is not None:
        check_count("bootstrap", int(boot))
    check_structure(kw)
    return CSSpec(**kw)


# --------------------------------------------------------------------------- cells
def _cells(panel: _Panel, spec: CSSpec) -> _Cells:
    """Cell list in R's order: by cohort, then period (``did::compute.att_gt``)."""
    times, cv, ant = panel.times, panel.cohort_values, spec.anticipation
    rows: list[tuple[float, float, int, int, int, np.ndarray, bool]] = []
    for code, g in enumerate(cv):
        if g == 0:
            continue
        base_g = int(np.flatnonzero(times + ant < g)[-1])  # exists: early cohorts dropped
        first = 0 if spec.base_period == "universal" else 1
        for ti in range(first, len(times)):
            t = times[ti]
            if spec.base_period == "universal" or g <= t:
                b = base_g
            else:
                b = ti - 1
            if spec.control == "never":
                ctrl = cv == 0
            else:
                ctrl = (cv == 0) | ((cv > times[max(ti, b)] + ant) & (cv != g))
            if not ctrl.any():
                raise DesignError(
                    f"No control units for cohort {label_of(panel.calendar, g)} in period "
                    f"{label_of(panel.calendar, t)}."
                )
            rows.append((g, t, ti, b, code, ctrl, spec.base_period == "universal" and b == ti))
    cols = list(zip(*rows, strict=True))
    return _Cells(
        group=np.array(cols[0], dtype=float),
        time=np.array(cols[1], dtype=float),
        t_idx=np.array(cols[2]),
        b_idx=np.array(cols[3]),
        g_code=np.array(cols[4]),
        control=np.column_stack(cols[5]),
        reference=np.array(cols[6], dtype=bool),
    )


def fit_group_time(panel: _Panel | _RCPanel, spec: CSSpec) -> tuple[GroupTimeEffects, _Cells]:
    """All ATT(g,t) and their ``n x K`` influence function (R's ``inffunc``)."""
    cells = _cells(panel, spec)
    if isinstance(panel, _RCPanel):  # repeated cross-sections / unbalanced panel
        att, matrix = fit_rc(panel, cells, spec)
    elif panel.x is None:  # every cell a difference of means: compact influence function
        att, influence = difference_in_means(panel.y, panel.cohort_index, cells, panel.w)
        matrix = None
    else:
        att, matrix = covariate_cells(panel, cells, spec)
    att[cells.reference] = 0.0
    if matrix is not None:
        matrix[:, cells.reference] = 0.0
        influence = DenseInfluence(matrix, panel.cohort_index, len(panel.cohort_values), panel.w)
    boot_cells = boot_cohort = None
    if spec.bootstrap:
        boot_cells, boot_cohort = multiplier_draws(
            influence.matrix,
            panel.cohort_index,
            len(panel.cohort_values),
            draws=spec.bootstrap,
            weights=spec.bootstrap_weights,
            seed=spec.seed,
            unit_weights=panel.w,
        )
    gt = GroupTimeEffects(
        att=att,
        group=cells.group,
        time=cells.time,
        influence_function=influence,
        cohort_index=panel.cohort_index,
        cohort_values=panel.cohort_values,
        boot_cells=boot_cells,
        boot_cohort=boot_cohort,
        unit_weights=panel.w,
    )
    return gt, cells


# --------------------------------------------------------------------------- result
@dataclass(frozen=True, kw_only=True, eq=False)
class StaggeredResult(EffectResult):
    """Callaway-Sant'Anna fit: every ATT(g,t) plus the ``simple`` aggregate as headline.

    ``att_gt`` has one row per cell (``group, time, base_period, event_time, post,
    estimate, std_error, ci_low, ci_high, p_value, n_treated, n_control`` and, with
    bootstrap, ``boot_se, ci_low_uniform, ci_high_uniform``: a sup-t band over all
    cells).  ``periods`` holds the event-time (``dynamic``) effects; call
    :meth:`aggregate` for ``group``, ``calendar`` and options such as ``max_e``.
    """

    att_gt: pd.DataFrame
    spec: CSSpec
    critical_value: float = math.nan
    group_time: GroupTimeEffects = field(repr=False)
    #: which estimators ran: "balanced panel", "unbalanced panel: ..." or
    #: "repeated cross-sections" (see ``panel`` and ``allow_unbalanced_panel``)
    data_structure: str = "balanced panel"
    #: the calendar of a ``time`` column of dates or Periods (None: whole numbers);
    #: ``att_gt`` and the group and calendar aggregations then show its labels
    calendar: Calendar | None = None

    def aggregate(
        self,
        kind: AggregateKind = "simple",
        *,
        min_e: float = -math.inf,
        max_e: float = math.inf,
        alpha: float | None = None,
    ) -> StaggeredAggregate:
        """Aggregate the ATT(g,t) (R ``did::aggte``): ``simple``, ``group``, ``dynamic``
        or ``calendar``; ``min_e``/``max_e`` limit event times (and, for ``simple``
        and ``group``, the post-periods used).  Bootstrap draws, if any, are reused.

        Examples
        --------
        >>> from evaluate.datasets import mpdta
        >>> res = callaway_santanna(mpdta(), outcome="lemp", unit="countyreal",
        ...                         time="year", group="first.treat")
        >>> round(res.aggregate("group").estimate, 4)
        -0.031
        """
        if kind not in ("simple", "group", "dynamic", "calendar"):
            raise SpecError(
                f"Unknown aggregation {kind!r}; use 'simple', 'group', 'dynamic' or 'calendar'."
            )
        alpha = self.alpha if alpha is None else alpha
        if not 0 < alpha < 1:
            raise SpecError(f"alpha must lie strictly between 0 and 1, got {alpha!r}.")
        agg = make_aggregate(
            self.group_time,
            kind,
            alpha=alpha,
            min_e=min_e,
            max_e=max_e,
            base={
                "name": self.name,
                "method": self.method,
                "inference": self.inference,
                "unit": self.unit,
                "population": self.population,
                "diagnostics": self.diagnostics,
                "provenance": self.provenance,
                "notes": self.notes,
                "base_period": self.spec.base_period,
            },
        )
        if self.calendar is None or kind == "dynamic" or agg.periods is None:
            return agg
        labels = self.calendar.labels(agg.periods["period"])  # cohorts or calendar periods
        vcov = None if agg.vcov is None else agg.vcov.set_axis(labels).set_axis(labels, axis=1)
        return replace(agg, periods=agg.periods.assign(period=labels), vcov=vcov)

    def _extra_terms(self) -> list[dict[str, Any]]:
        return [
            {
                "term": f"ATT(g={_label(r.group)}, t={_label(r.time)})",
                "estimate": r.estimate,
                "std_error": r.std_error,
                "ci_low": r.ci_low,
                "ci_high": r.ci_high,
                "p_value": r.p_value,
                "unit": self.unit,
            }
            for r in self.att_gt.itertuples()
        ]

    def design_tables(self) -> tuple[DesignTable, ...]:
        """Every group-time effect ATT(g,t): the building blocks of the aggregates."""
        frame = self.att_gt.set_index(
            pd.Index(
                [
                    f"{g} / {t}"
                    for g, t in zip(self.att_gt["group"], self.att_gt["time"], strict=True)
                ]
            )
        )
        return (
            DesignTable(
                title=Text("staggered.att_gt_title", "Group-time effects ATT(g,t)"),
                frame=frame,
                columns=(
                    ("event_time", Text("staggered.event_time", "event time"), "count"),
                    ("estimate", Text("table.estimate", "estimate"), "estimate"),
                    ("std_error", Text("table.std_error", "std. error"), "estimate"),
                    ("ci_low", Text("table.ci_low", "CI low"), "estimate"),
                    ("ci_high", Text("table.ci_high", "CI high"), "estimate"),
                    ("n_treated", Text("staggered.n_treated", "treated units"), "count"),
                ),
                row_header=Text("staggered.cell", "group (first treated) / period"),
            ),
        )

    def _summary_tables(self) -> list[tuple[str, pd.DataFrame]]:
        tables = super()._summary_tables()
        if self.periods is not None:
            tables.insert(
                1, ("Event-time effects (dynamic aggregation)", self.periods.set_index("period"))
            )
        return tables

    def plot(self, ax: Axes | None = None) -> Axes:
        """Event-study plot: ATT by event time with pointwise and uniform bands."""
        if self.periods is None:  # not produced by callaway_santanna; fall back
            return super().plot(ax=ax)
        return plot_bands(
            self.periods,
            xlabel=Text("plot.event_time", "event time (periods since adoption)"),
            unit=self.unit,
            title=self.name,
            event_time=True,
            ax=ax,
        )


def _label(value: Any) -> Any:
    return value if isinstance(value, str) else _num(value)


def _build_result(
    gt: GroupTimeEffects,
    cells: _Cells,
    panel: _Panel,
    spec: CSSpec,
    *,
    name: str,
    unit: Unit,
    population: str,
    calendar: Calendar | None = None,
) -> StaggeredResult:
    se = gt.cell_std_errors()
    boot = gt.boot_cells
    table, crit, _ = effects_frame(np.arange(len(gt.att)), gt.att, se, spec.alpha, boot)
    counts = gt.cohort_counts
    table = table.drop(columns="period")
    table.insert(0, "group", cells.group)
    table.insert(1, "time", cells.time)
    table.insert(2, "base_period", panel.times[cells.b_idx])
    table.insert(3, "event_time", cells.time - cells.group)
    table.insert(4, "post", cells.group <= cells.time)
    table["n_treated"] = counts[cells.g_code]
    table["n_control"] = counts @ cells.control
    for col in ("group", "time", "base_period", "event_time"):
        if np.all(table[col] == np.round(table[col])):
            table[col] = table[col].astype(np.int64)
    pre = pretest_leads(gt)
    diagnostics = {"pre-trend F test": pre, "pre-trend Wald test": pretest_wald(gt)}
    notes = list(panel.notes)
    if calendar is not None:  # the user's labels, and say which calendar was read
        table = relabel(table, calendar, ("group", "time", "base_period"))
        notes.insert(0, calendar.note(panel.times[0], panel.times[-1]))
    if isinstance(pre, Diagnostic) and pre.p_value < spec.alpha:
        warnings.warn(
            f"The pre-period event-time effects differ jointly from zero ({pre.note}: "
            f"F = {pre.value:.3g}, p = {pre.p_value:.3g}). This is evidence against parallel "
            "trends, not proof: look at the pre-period band and at how large the leads are "
            "next to the effect.",
            PreTrendWarning,
            stacklevel=3,
        )
        notes.append(
            f"The pre-trend F test on the event-time leads rejects at the {spec.alpha:.0%} "
            f"level (p = {pre.p_value:.3g}): evidence against parallel trends."
        )
    inference = "influence function (analytic, clustered by unit)"
    if spec.bootstrap:
        inference += (
            f"; uniform bands from {spec.bootstrap} multiplier-bootstrap draws "
            f"({spec.bootstrap_weights})"
        )
    inference = Text("staggered.inference", "influence function (analytic, clustered by unit)")
    if spec.bootstrap:
        inference = Text(
            "staggered.inference_boot",
            "influence function (analytic, clustered by unit); uniform bands from {n} "
            "multiplier-bootstrap draws ({weights})",
            n=int(spec.bootstrap),
            weights=str(spec.bootstrap_weights),
        )
    control = "never" if spec.control == "never" else "not_yet"
    base = {
        "name": name,
        "method": Text(
            f"staggered.method_{spec.method}_{control}",
            "Callaway-Sant'Anna DiD ("
            + {"dr": "doubly robust", "ipw": "IPW", "reg": "outcome regression"}[spec.method]
            + f", {'never' if spec.control == 'never' else 'not-yet'}-treated controls)",
        ),
        "inference": inference,
        "unit": unit,
        "population": population,
        "diagnostics": diagnostics,
        "provenance": Provenance(
            spec=asdict(spec),
            data_hash=panel.hashing.result() if panel.hashing else hash_frame(panel.used),
            n_rows=len(panel.used),
            n_dropped=panel.n_dropped,
        ),
        "notes": tuple(notes),
    }
    base["method"], base["inference"], structure = describe_structure(panel.structure, spec, base)
    simple = make_aggregate(gt, "simple", alpha=spec.alpha, base=dict(base), influence=False)
    dynamic = make_aggregate(gt, "dynamic", alpha=spec.alpha, base=dict(base), influence=False)
    return StaggeredResult(
        estimand=Text(
            "staggered.simple",
            "ATT: average of post-treatment ATT(g,t), weighted by cohort size",
        ),
        distribution=Normal(simple.estimate, simple.std_error),
        alpha=spec.alpha,
        periods=dynamic.periods,
        att_gt=table,
        spec=spec,
        critical_value=crit,
        group_time=gt,
        data_structure=structure,
        calendar=calendar,
        **base,
    )


__all__ = ["CSSpec", "StaggeredResult", "callaway_santanna", "pretest_wald"]
