"""Synthetic control (Abadie, Diamond & Hainmueller 2010) with placebo inference.

One treated unit, a pool of untreated donors, a panel of outcomes.  The
counterfactual is a weighted average of donors (weights on the simplex) chosen to
match the treated unit's predictors, with predictor importances ``V`` chosen to
minimise the pre-period outcome gap (nested optimisation, several starts: see
:mod:`evaluate.estimators.synthetic._synth_core`).  Inference is by placebos in space:
every donor is in turn treated as if it had been treated and refitted.  Each
placebo's V search starts from the treated fit's V, then equal and regression-based
V and the first predictor-heavy start (``placebo_starts`` in all), and polishes the
best with a short Nelder-Mead run; on Prop 99 this reaches the V-losses of a search
twice as long (see ``PLACEBO_POLISH``).

Example
-------
>>> import evaluate.datasets as ds
>>> from evaluate.estimators.synthetic.synth import synthetic_control
>>> res = synthetic_control(
...     ds.prop99(), outcome="cigsale", unit="state_name", time="year",
...     treated_unit="California", start=1989,
...     predictors=["lnincome", "retprice", "age15to24"], predictor_window=(1980, 1988),
...     special_predictors=[("beer", (1984, 1988)), ("cigsale", 1975),
...                         ("cigsale", 1980), ("cigsale", 1988)],
...     seed=1)  # doctest: +SKIP
>>> round(res.estimate, 1)  # doctest: +SKIP
-19.0
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pandas as pd
from threadpoolctl import threadpool_limits

from evaluate.data.validate import check_columns, check_frame
from evaluate.effect import DesignTable, EffectResult, Provenance, hash_frame
from evaluate.errors import DataError, SpecError
from evaluate.estimators.synthetic import _synth_report as report
from evaluate.estimators.synthetic._synth_core import VFit, fit_weights
from evaluate.estimators.synthetic._synth_placebo import PlaceboDistribution
from evaluate.estimators.synthetic._synth_prepare import (
    _Panel,
    _parse_special,
    _predictor_matrix,
    _prepare,
    _Spec,
    _window,
)
from evaluate.estimators.synthetic._synth_report import POOR_FIT_R2, rmspe
from evaluate.estimators.synthetic.synth_units import (
    SynthUnitsResult,
    fit_units,
    is_several,
    starts_by_unit,
    treated_list,
)
from evaluate.inference.distributions import PointMass
from evaluate.progress import progress
from evaluate.text import Text

if TYPE_CHECKING:
    from matplotlib.axes import Axes

VMethod = Literal["nested", "equal", "outcome-only"]

#: Nelder-Mead budget (times k) of the polish of each placebo fit (in space and in
#: time).  With the treated fit's V as first start of the placebos in space, 25 reaches
#: the same V-losses on Prop 99 as the former 50 from equal/regression/per-predictor
#: starts (geometric mean loss ratio 0.996 over the placebo fits; 5 better and 5 worse
#: by more than 1 %) in fewer evaluations.
PLACEBO_POLISH = 25
#: Nelder-Mead budget (times k) of each leave-one-out refit, started from the main V.
LOO_POLISH = 100
#: Starts of the main fit's V search (at least ``8 + k``) and how many of the best are
#: polished.  On Prop 99 the loss surface has many local optima between 3.077 and 3.10;
#: with 30 starts and 6 polished, eight seeds reach 3.0767-3.0783 (15 starts, 3
#: polished: 3.077-3.102), at about 0.25 s per fit.
MAIN_STARTS = 30
N_POLISH = 6


# --- front door -----------------------------------------------------------------
def synthetic_control(
    data: pd.DataFrame,
    *,
    outcome: str,
    unit: str,
    time: str,
    treated_unit: Any,
    start: Any,
    predictors: Sequence[str] = (),
    predictor_window: tuple[Any, Any] | None = None,
    special_predictors: Sequence[tuple[str, Any]] = (),
    fit_window: tuple[Any, Any] | None = None,
    donors: Sequence[Any] | None = None,
    v_method: VMethod = "nested",
    n_starts: int | None = None,
    placebo_starts: int = 4,
    placebo: bool = True,
    exclude_placebos_above: float | None = None,
    placebo_time: Any = "auto",
    leave_one_out: bool = True,
    alpha: float = 0.05,
    seed: int | None = None,
    name: str | None = None,
    population: str | None = None,
    source: str = "",
    simulated: bool = False,
    outcome_unit: str = "outcome units",
) -> SynthResult | SynthUnitsResult:
    """Synthetic control estimate of the effect on one or several treated units.

    Parameters
    ----------
    data : long panel, one row per unit and period.
    outcome, unit, time : column names.  ``time`` must be sortable (years, dates, periods).
    treated_unit : the value of ``unit`` that was treated, or a list of them.  With
        a list, each treated unit gets its own synthetic control from donors that
        exclude every treated unit, and the headline is their average effect with
        placebo inference among the donors only (:mod:`.synth_units`).
    start : first treated period; periods before it form the pre-period.  With
        several treated units: one start for all, a list (one per treated unit, in
        the order of ``treated_unit``) or a mapping unit -> start (staggered starts).
    predictors : columns averaged (ignoring missing values, as R ``Synth``) over
        ``predictor_window`` (inclusive; default the whole pre-period).
    special_predictors : ``(column, when)`` pairs, ``when`` a single period or an
        inclusive ``(first, last)`` pair, e.g. ``[("beer", (1984, 1988)), ("cigsale", 1975)]``.
    fit_window : inclusive pre-period window whose outcome gap ``V`` minimises
        (default the whole pre-period).
    donors : the donor pool (default every other unit).  Donors whose outcome is
        missing in any period are dropped with a :class:`DroppedRowsWarning`.
    v_method : "nested" (ADH: V minimises the pre-period outcome gap), "equal"
        (V = identity on standardised predictors) or "outcome-only" (the pre-period
        outcomes in ``fit_window`` are the only predictors; without predictors
        "nested" means this too).
    n_starts : starts of the nested V search for the main fit (default 30, at least
        ``8 + number of predictors``): equal V, regression-based V, each predictor in
        turn given 90 % of V, then random draws (``seed``); the six best are polished.
    placebo_starts : starts for each placebo fit, the treated fit's V first (placebos
        are many; their fit matters less than the main one).
    placebo : run placebos in space (needed for any uncertainty statement).
    exclude_placebos_above : drop placebos whose pre-period RMSPE exceeds this many
        times the treated unit's (ADH use 2, 5, 20 on the MSPE scale); default keep all.
    placebo_time : fake start for a placebo in time: a period, "auto" (one third of
        the pre-period before ``start``) or ``None`` (skip).
    leave_one_out : refit without each donor of positive weight.
    alpha : 1 - confidence level.
    seed : seed of the random V starts (``None``: fresh randomness).
    name, population, source, simulated : labels carried into the result and report
        (defaults: the outcome; the treated unit and the size of the donor pool).
    outcome_unit : what the outcome counts ("persons", "full-time persons", ...); a
        benefit rate prices the effect when it is persons or full-time persons.

    Returns
    -------
    SynthResult
        Main estimate: the average post-period gap (treated minus synthetic), in
        outcome units.  Its reference distribution is a :class:`PlaceboDistribution`:
        the p-value is the ADH permutation p-value of the post/pre RMSPE ratio, the
        interval inverts that test for a constant effect (Firpo & Possebom 2018).

    Notes
    -----
    Why not ``Empirical`` or ``PointMass``: a synthetic control has no sampling
    standard error; its evidence is the rank of the treated unit among placebos.
    ``PointMass`` would let money and reports carry no uncertainty at all, and an
    ``Empirical`` of placebo gaps would give a p-value (share of placebo gaps larger
    than ours, which can be 0) that contradicts the ADH permutation p-value.  The
    placebo distribution keeps the permutation p-value (never below 1/(n+1)),
    gives an interval that is exactly the set of constant effects that test does
    not reject, and draws from the placebo average gaps around the estimate.
    """
    check_frame(data)
    several = is_several(treated_unit)
    if not several and (is_several(start) or isinstance(start, dict)):
        raise SpecError(
            f"start={start!r} gives several starts, but treated_unit={treated_unit!r} names "
            "one unit; treated_unit takes a list of treated units (one start each)."
        )
    if is_several(placebo_time) or isinstance(placebo_time, dict):
        raise SpecError(
            "placebo_time takes one fake start (a period, 'auto' or None), not several; "
            "treated_unit and start are the options that take several."
        )
    if v_method not in ("nested", "equal", "outcome-only"):
        raise SpecError(f"v_method must be 'nested', 'equal' or 'outcome-only', got {v_method!r}.")
    if v_method == "outcome-only" and (predictors or special_predictors):
        raise SpecError(
            "v_method='outcome-only' uses the pre-period outcomes as the only predictors; "
            "drop predictors/special_predictors or use v_method='nested'."
        )
    for option, value in (("n_starts", n_starts), ("placebo_starts", placebo_starts)):
        if value is not None and (not isinstance(value, int | np.integer) or value < 1):
            raise SpecError(f"{option} must be a positive integer, got {value!r}.")
    if exclude_placebos_above is not None and not exclude_placebos_above > 0:
        raise SpecError(
            f"exclude_placebos_above must be positive or None, got {exclude_placebos_above!r}."
        )
    if not 0 < alpha < 1:
        raise SpecError(f"alpha must lie strictly between 0 and 1, got {alpha!r}.")
    special = tuple(_parse_special(p) for p in special_predictors)
    treated = treated_list(treated_unit) if several else [treated_unit]
    starts = starts_by_unit(treated, start)
    spec = _Spec(
        outcome=outcome,
        unit=unit,
        time=time,
        treated_unit=treated[0],
        start=starts[0],
        predictors=tuple(predictors),
        predictor_window=_window(predictor_window, "predictor_window"),
        special_predictors=special,
        fit_window=_window(fit_window, "fit_window"),
        donors=None if donors is None else tuple(donors),
        v_method="outcome-only" if not (predictors or special) else v_method,
        n_starts=n_starts,
        placebo_starts=int(placebo_starts),
        placebo=bool(placebo),
        exclude_placebos_above=exclude_placebos_above,
        placebo_time=placebo_time,
        leave_one_out=bool(leave_one_out),
        alpha=float(alpha),
        seed=seed,
    )
    meta = {"name": name, "population": population, "source": source, "simulated": simulated}
    # The fit solves hundreds of tiny (tens of donors) linear problems: BLAS threads
    # only add start-up overhead there, and on a busy machine they oversubscribe.
    if several:
        check_columns(data, [unit, time, outcome])
        with threadpool_limits(limits=1):
            result: Any = fit_units(data, spec, treated, starts, meta, _fit)
    else:
        panel, used, n_dropped = _prepare(data, spec)
        with threadpool_limits(limits=1):
            result = _fit(panel, spec, used, n_dropped, meta)
    return replace(result, unit=outcome_unit)


# --- fitting ----------------------------------------------------------------------
def _fit_one(
    x: np.ndarray,
    y: np.ndarray,
    fit_mask: np.ndarray,
    treated: int,
    pool: np.ndarray,
    method: str,
    n_starts: int,
    n_polish: int,
    polish_evals: int,
    rng: np.random.Generator,
    first_starts: tuple[tuple[str, np.ndarray], ...] = (),
) -> tuple[VFit, np.ndarray]:
    """Weights for ``treated`` from donors ``pool``; returns the fit and the gap series."""
    z = y[fit_mask]
    if method != "outcome-only" and x.shape[0] == 0:
        method = "outcome-only"
    fit = fit_weights(
        x[:, treated],
        x[:, pool],
        z[:, treated],
        z[:, pool],
        v_method=method,
        n_starts=n_starts,
        rng=rng,
        n_polish=n_polish,
        polish_evals=polish_evals,
        first_starts=first_starts,
    )
    return fit, y[:, treated] - y[:, pool] @ fit.weights


def _fit(
    panel: _Panel, spec: _Spec, used: pd.DataFrame, n_dropped: int, meta: dict[str, Any]
) -> SynthResult:
    rng = np.random.default_rng(spec.seed)
    times, y = panel.times, panel.y
    pre = times < spec.start
    fit_mask = pre.copy()
    if spec.fit_window is not None:
        fit_mask &= (times >= spec.fit_window[0]) & (times <= spec.fit_window[1])
        if not fit_mask.any():
            raise SpecError(f"fit_window {spec.fit_window} holds no pre-period.")
    x, labels = _predictor_matrix(panel, spec, spec.start, strict=True)
    if x.shape[0]:
        sd = x.std(axis=1)
        if np.any(sd == 0):
            raise DataError(
                f"Predictor(s) {[labels[i] for i in np.flatnonzero(sd == 0)]} take the same "
                "value for every unit and cannot discriminate donors; drop them."
            )
    n_main = spec.n_starts or max(MAIN_STARTS, 8 + x.shape[0])
    donors = np.arange(1, len(panel.units))
    main, gap = _fit_one(x, y, fit_mask, 0, donors, spec.v_method, n_main, N_POLISH, 150, rng)
    synthetic = y[:, 0] - gap
    pre_rmspe, post_gaps = rmspe(gap[pre]), gap[~pre]
    estimate = float(post_gaps.mean())

    def light(treated: int, pool: np.ndarray, xx: np.ndarray, mask: np.ndarray, first=()):
        return _fit_one(
            xx, y, mask, treated, pool, spec.v_method, spec.placebo_starts, 1, PLACEBO_POLISH,
            rng, first,
        )  # fmt: skip

    # Placebos in space: each donor treated as if treated, the real one left out.  The
    # treated fit's V is the first start of each (same predictors, and often close to
    # the placebo's optimum), before equal and regression-based V.
    placebo_cols: dict[str, np.ndarray] = {}
    if spec.placebo:
        first = (("treated fit's V", main.v),) if main.v.shape[0] == x.shape[0] else ()
        for j in progress(list(donors), desc="placebos in space"):
            _, placebo_cols[panel.units[j]] = light(int(j), donors[donors != j], x, fit_mask, first)
    placebo_gaps = pd.DataFrame(placebo_cols, index=pd.Index(times, name="period"))
    table = report.placebo_table(placebo_gaps, pre, pre_rmspe, spec.exclude_placebos_above)
    keep = table["included"].to_numpy(dtype=bool)

    # Leave-one-out over donors with positive weight: dropping one donor moves the
    # optimum little, so the main fit's V is the first start.
    loo_rows = []
    if spec.leave_one_out:
        for j in progress([int(d) for d in donors[main.weights > 1e-6]], desc="leave-one-out"):
            fit_j, g = _fit_one(
                x,
                y,
                fit_mask,
                0,
                donors[donors != j],
                spec.v_method,
                spec.placebo_starts + 1,
                1,
                LOO_POLISH,
                rng,
                first_starts=(("main fit's V", main.v),),
            )
            loo_rows.append(
                {
                    "left_out": panel.units[j],
                    "estimate": float(g[~pre].mean()),
                    "pre_rmspe": rmspe(g[pre]),
                    "v_loss": fit_j.loss,
                }
            )
    loo = pd.DataFrame(loo_rows, columns=["left_out", "estimate", "pre_rmspe", "v_loss"])

    in_time = report.placebo_in_time(
        times,
        pre,
        spec.placebo_time,
        spec.fit_window,
        len(panel.units),
        lambda cutoff: _predictor_matrix(panel, spec, cutoff, strict=False)[0],
        light,
    )
    diagnostics = report.diagnostics(y, main, gap, pre, fit_mask, loo, in_time)
    periods = report.period_table(
        times, pre, y[:, 0], synthetic, gap, pre_rmspe, table, placebo_gaps, keep, spec.alpha
    )
    if spec.placebo and keep.sum() > 0:
        distribution: Any = PlaceboDistribution(
            estimate=estimate,
            post_gaps=post_gaps,
            pre_rmspe=pre_rmspe,
            placebo_ratios=table["ratio"].to_numpy()[keep],
            placebo_effects=table["avg_gap"].to_numpy()[keep],
        )
        inference = Text(
            "synth.inference",
            "placebos in space ({n} donors refitted as if treated): permutation p-value of "
            "the post/pre RMSPE ratio; interval = constant effects not rejected by that test",
            n=int(keep.sum()),
        )
    else:
        distribution = PointMass(estimate)
        inference = "none (placebo inference switched off)"
    empty_note: tuple[str, ...] = ()
    if isinstance(distribution, PlaceboDistribution) and distribution.empty_set_note(spec.alpha):
        empty_note = (distribution.empty_set_note(spec.alpha),)
    balance = report.balance_table(x, labels, main)
    weights = pd.Series(main.weights, index=pd.Index(panel.units[1:], name="donor"), name="weight")
    spec_dict = {k: v for k, v in spec.__dict__.items()}
    return SynthResult(
        name=meta["name"] or spec.outcome,
        estimand=Text(
            "synth.estimand",
            "average effect on {unit} over {first}-{last} (treated minus synthetic {unit})",
            unit=str(spec.treated_unit),
            first=str(times[~pre][0]),
            last=str(times[-1]),
        ),
        distribution=distribution,
        method=Text("synth.method", "Synthetic control (Abadie-Diamond-Hainmueller)"),
        inference=inference,
        unit="outcome units",
        population=meta["population"]
        or Text(
            "synth.population",
            "{unit}; donor pool of {n} units",
            unit=str(spec.treated_unit),
            n=len(donors),
        ),
        alpha=spec.alpha,
        periods=periods,
        diagnostics=diagnostics,
        provenance=Provenance(
            spec=spec_dict,
            data_hash=hash_frame(used),
            n_rows=len(used),
            n_dropped=n_dropped,
            source=meta["source"],
            simulated=bool(meta["simulated"]),
        ),
        notes=report.notes(spec.placebo, spec.exclude_placebos_above, keep, pre_rmspe)
        + empty_note,
        weights=weights,
        v_weights=pd.Series(
            main.v,
            index=pd.Index(labels or report.fit_labels(times, fit_mask), name="predictor"),
            name="v",
        ),
        v_loss=main.loss,
        v_starts=pd.DataFrame(main.starts, columns=["start", "loss"]),
        balance=balance,
        trajectory=pd.DataFrame(
            {"period": times, "treated": y[:, 0], "synthetic": synthetic, "gap": gap, "post": ~pre}
        ),
        placebo_table=table,
        placebo_gaps=placebo_gaps,
        leave_one_out=loo,
        start=spec.start,
        treated_unit=spec.treated_unit,
    )


# --- result -------------------------------------------------------------------------
@dataclass(frozen=True, kw_only=True, eq=False)
class SynthResult(EffectResult):
    """Result of :func:`synthetic_control`.

    Beyond the :class:`~evaluate.effect.EffectResult` contract: ``weights`` (donor
    weights), ``v_weights`` (predictor importances), ``v_loss`` (mean squared
    pre-period gap reached by the V search) and ``v_starts`` (loss per start),
    ``balance`` (predictors: treated, synthetic, donor mean), ``trajectory`` (all
    periods), ``placebo_table``/``placebo_gaps`` and ``leave_one_out``.
    """

    weights: pd.Series
    v_weights: pd.Series
    v_loss: float
    v_starts: pd.DataFrame
    balance: pd.DataFrame
    trajectory: pd.DataFrame
    placebo_table: pd.DataFrame
    placebo_gaps: pd.DataFrame
    leave_one_out: pd.DataFrame
    start: Any
    treated_unit: Any

    def _summary_tables(self) -> list[tuple[str, pd.DataFrame]]:
        return super()._summary_tables() + report.summary_tables(self)

    def design_tables(self) -> tuple[DesignTable, ...]:
        return report.design_tables(self)

    def _summary_header(self) -> list[tuple[str, object]]:
        head = super()._summary_header()
        if isinstance(self.distribution, PlaceboDistribution):
            head.append(("Post/pre RMSPE ratio", self.distribution.post_ratio(0.0)))
        return head

    def _xaxis(self) -> pd.Series:
        period = self.trajectory["period"]
        return period.dt.to_timestamp() if isinstance(period.dtype, pd.PeriodDtype) else period

    def _start_marker(self, ax: Axes) -> None:
        s = self.start.to_timestamp() if isinstance(self.start, pd.Period) else self.start
        ax.axvline(s, color="0.3", linewidth=1.0, linestyle=":")

    def plot(self, ax: Axes | None = None) -> Axes:
        """Treated unit against its synthetic control, with the start marked."""
        from evaluate.plotting import _axes

        ax = _axes(ax, figsize=(8.0, 4.2))
        x = self._xaxis()
        ax.plot(x, self.trajectory["treated"], color="black", label=str(self.treated_unit))
        ax.plot(
            x,
            self.trajectory["synthetic"],
            color="C1",
            linestyle="--",
            label=f"synthetic {self.treated_unit}",
        )
        self._start_marker(ax)
        ax.set_ylabel(self.name)
        ax.set_title(f"{self.name}: {self.treated_unit} vs synthetic control")
        ax.legend(frameon=False)
        return ax

    def plot_gaps(self, ax: Axes | None = None) -> Axes:
        """Gap of the treated unit (black) and of each included placebo (grey)."""
        from evaluate.plotting import _axes

        ax = _axes(ax, figsize=(8.0, 4.2))
        x = self._xaxis()
        included = self.placebo_table.loc[self.placebo_table["included"], "unit"]
        for u in included:
            ax.plot(x, self.placebo_gaps[u].to_numpy(), color="0.75", linewidth=0.8)
        ax.plot(x, self.trajectory["gap"], color="black", linewidth=2, label=f"{self.treated_unit}")
        ax.axhline(0.0, color="0.4", linewidth=0.8, linestyle="--")
        self._start_marker(ax)
        ax.set_ylabel(f"gap in {self.name} (treated - synthetic)")
        ax.set_title(f"{self.name}: gap and {len(included)} placebo gaps")
        ax.legend(frameon=False)
        return ax

    def plot_weights(self, ax: Axes | None = None) -> Axes:
        """Donor weights above 0.0005 as horizontal bars."""
        from evaluate.plotting import _axes

        ax = _axes(ax, figsize=(6.0, 4.0))
        w = self.weights[self.weights > 0.0005].sort_values()
        ax.barh([str(u) for u in w.index], w.to_numpy(), color="C0")
        ax.set_xlabel("donor weight")
        ax.set_title(f"Synthetic {self.treated_unit}: donor weights")
        return ax


__all__ = [
    "POOR_FIT_R2",
    "PlaceboDistribution",
    "SynthResult",
    "SynthUnitsResult",
    "synthetic_control",
]
