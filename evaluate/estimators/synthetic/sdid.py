"""Synthetic difference-in-differences (Arkhangelsky, Athey, Hirshberg, Imbens & Wager 2021).

A block design: treated units are all treated from ``start`` on, the rest never.
SDID reweights control units (``omega``, on the simplex, with a ridge penalty and an
intercept, so they match the treated units' pre-period *path* up to a level shift)
and pre-periods (``lambda``, so they match the post-period of the controls), then
takes the weighted 2x2 difference in differences:

    tau = (Ybar_tr,post - omega' Y_co,post) - lambda' (Ybar_tr,pre - omega' Y_co,pre)

Both weight problems are solved by the Frank-Wolfe iterations of the R package
``synthdid`` 0.0.9 (``sc.weight.fw`` with its default regularisation, stopping rule
and sparsification), written here on the Gram matrix so each step costs O(N)
instead of O(N T); the iterates are the same.  The same machinery gives the
package's synthetic control (``omega`` without intercept and a tiny ridge, no
time weights) and plain DiD (uniform weights), reported side by side.

Inference is the placebo standard error (synthdid ``placebo_se``, Algorithm 4 of
the paper): controls are permuted, the last ``N1`` treated as if treated, the
estimator refitted, and the spread of the placebo estimates is the standard
error; the interval is normal.  The bootstrap is not valid with one treated unit
and the jackknife is undefined there, so the placebo SE is the only choice
implemented.

Example
-------
>>> import evaluate.datasets as ds
>>> from evaluate.estimators.synthetic.sdid import synthetic_did
>>> res = synthetic_did(ds.prop99(), outcome="cigsale", unit="state_name", time="year",
...                     treated_unit="California", start=1989, seed=1)  # doctest: +SKIP
>>> round(res.estimate, 3)  # doctest: +SKIP
-15.604
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pandas as pd
from threadpoolctl import threadpool_limits

from evaluate.data.validate import check_columns, check_frame, check_no_duplicates, check_numeric
from evaluate.effect import (
    DesignTable,
    Diagnostic,
    EffectResult,
    NotApplicable,
    Provenance,
    hash_frame,
)
from evaluate.errors import (
    DataError,
    DesignError,
    DroppedRowsWarning,
    SmallSampleWarning,
    SpecError,
)
from evaluate.estimators.synthetic._sdid_core import fit_estimator, placebo_estimates
from evaluate.estimators.synthetic.sdid_staggered import (
    StaggeredSDIDResult,
    check_never_treated,
    check_staggered_options,
    staggered_result,
    staggered_sdid,
)
from evaluate.estimators.synthetic.synth_units import is_several, starts_by_unit, treated_list
from evaluate.inference.distributions import Normal, PointMass
from evaluate.limits import check_count
from evaluate.progress import progress
from evaluate.text import Num, Text

if TYPE_CHECKING:
    from matplotlib.axes import Axes

Estimator = Literal["sdid", "sc", "did"]
_METHOD = {
    "sdid": Text(
        "sdid.method_sdid", "Synthetic difference-in-differences (Arkhangelsky et al. 2021)"
    ),
    "sc": Text(
        "sdid.method_sc", "Synthetic control (synthdid form: no intercept, no time weights)"
    ),
    "did": Text("sdid.method_did", "Difference-in-differences (uniform weights)"),
}


# --- front door ---------------------------------------------------------------------
def synthetic_did(
    data: pd.DataFrame,
    *,
    outcome: str,
    unit: str,
    time: str,
    treated_unit: Any,
    start: Any,
    estimator: Estimator = "sdid",
    placebo: Literal["random", "each"] = "random",
    placebo_reps: int = 200,
    name: str | None = None,
    population: str = "not stated",
    source: str = "",
    simulated: bool = False,
    alpha: float = 0.05,
    seed: int | None = None,
    outcome_unit: str = "outcome units",
) -> SDIDResult | StaggeredSDIDResult:
    """Synthetic difference-in-differences effect on treated unit(s) from ``start`` on.

    Parameters
    ----------
    data : balanced long panel, one row per unit and period.
    outcome, unit, time : column names; ``time`` must be sortable.
    treated_unit : a value of ``unit`` (or a list of them) treated from ``start`` on.
    start : first treated period: one for all treated units, or (staggered adoption)
        a list with one start per treated unit in the order of ``treated_unit``, or a
        mapping unit -> start.  With several starts the estimator runs cohort by
        cohort against the never-treated units and averages the cohorts by their
        treated unit-periods (Arkhangelsky et al. 2021, §8; :mod:`.sdid_staggered`).
    estimator : "sdid" (default), "sc" (synthetic control as in synthdid) or "did".
        All three are computed and shown; this picks the headline one.
    placebo : "random" (synthdid's ``placebo_se``: ``placebo_reps`` random
        permutations of the controls, the last N1 of each treated as if treated) or
        "each" (one treated unit only: every control once as the placebo treated
        unit; the deterministic limit of "random" as replications grow, since with
        one treated unit a permutation matters only through which control comes last).
    placebo_reps : replications of ``placebo="random"`` (0: no standard error).
    name, population, source, simulated : descriptions carried to the report.
    alpha : 1 - confidence level.
    seed : seed of the placebo permutations.
    outcome_unit : what the outcome counts ("persons", "full-time persons", ...); a
        benefit rate prices the effect when it is persons or full-time persons.

    Returns
    -------
    SDIDResult
        The average effect on the treated over the post-period, in outcome units,
        with a normal interval from the placebo standard error.
    """
    check_frame(data)
    check_columns(data, [outcome, unit, time])
    check_numeric(data, outcome)
    if estimator not in _METHOD:
        raise SpecError(f"estimator must be 'sdid', 'sc' or 'did', got {estimator!r}.")
    if isinstance(placebo_reps, bool) or not isinstance(placebo_reps, int | np.integer):
        raise SpecError(f"placebo_reps must be a non-negative integer, got {placebo_reps!r}.")
    if placebo_reps < 0 or placebo_reps == 1:
        raise SpecError(f"placebo_reps must be 0 or at least 2, got {placebo_reps!r}.")
    check_count("placebo_reps", int(placebo_reps))
    if placebo not in ("random", "each"):
        raise SpecError(f"placebo must be 'random' or 'each', got {placebo!r}.")
    if not 0 < alpha < 1:
        raise SpecError(f"alpha must lie strictly between 0 and 1, got {alpha!r}.")
    if not is_several(treated_unit) and (is_several(start) or isinstance(start, dict)):
        raise SpecError(
            f"start={start!r} gives several starts, but treated_unit={treated_unit!r} names "
            "one unit; treated_unit takes a list of treated units (one start each)."
        )
    treated = treated_list(treated_unit) if is_several(treated_unit) else [treated_unit]
    starts = starts_by_unit(treated, start)
    spec = {
        "outcome": outcome,
        "unit": unit,
        "time": time,
        "treated_unit": treated_unit,
        "start": start,
        "estimator": estimator,
        "placebo": placebo,
        "placebo_reps": placebo_reps,
        "alpha": alpha,
        "seed": seed,
    }
    if len({repr(s) for s in starts}) > 1:
        check_staggered_options(placebo)
        earliest = min(starts)
        y, units, times, _, used, n_dropped = _prepare(
            data, outcome, unit, time, treated, earliest
        )
        n0 = len(units) - len(treated)
        check_never_treated(n0)
        with threadpool_limits(limits=1):
            fitted = staggered_sdid(
                y, units, times, n0, treated, starts, estimator=estimator,
                placebo_reps=int(placebo_reps), rng=np.random.default_rng(seed),
            )  # fmt: skip
        meta = {"name": name or outcome, "population": population, "source": source,
                "simulated": simulated, "alpha": alpha}  # fmt: skip
        staggered = staggered_result(
            fitted, y, units, times, n0, estimator=estimator, spec=spec, used=used,
            n_dropped=n_dropped, meta=meta, methods=_METHOD,
        )  # fmt: skip
        return replace(staggered, unit=outcome_unit)
    start = starts[0]
    y, units, times, t0, used, n_dropped = _prepare(data, outcome, unit, time, treated, start)
    n0 = len(units) - len(treated)
    rng = np.random.default_rng(seed)
    with threadpool_limits(limits=1):  # tiny matrices: BLAS threads only add overhead
        fits = {e: fit_estimator(y, n0, t0, e) for e in _METHOD}
        tau, omega, lam, opts = fits[estimator]
        placebos = np.empty(0)
        if placebo == "each" and len(treated) > 1:
            raise SpecError("placebo='each' needs a single treated unit; use 'random'.")
        if placebo == "each":
            orders = np.array([[*np.delete(np.arange(n0), j), j] for j in range(n0)])
        else:
            orders = np.array([rng.permutation(n0) for _ in range(placebo_reps)])
        if len(orders) and n0 > len(treated):
            # Batches of 100 replications: vectorised fits, and a progress bar between.
            chunks = [orders[i : i + 100] for i in range(0, len(orders), 100)]
            placebos = np.concatenate(
                [
                    placebo_estimates(y, n0, t0, omega, lam, opts, chunk)
                    for chunk in progress(chunks, desc="SDID placebos")
                ]
            )
    if placebos.size:
        # synthdid: sqrt((r - 1) / r) * sd(replicates), i.e. the population SD.
        se = float(np.std(placebos, ddof=0))
        distribution: Any = Normal(tau, se)
        inference = (
            Text(
                "sdid.inference_random",
                "placebo standard error ({n} random permutations of the controls, the last "
                "{k} treated as if treated; Arkhangelsky et al. 2021, Algorithm 4); normal "
                "interval",
                n=int(placebos.size),
                k=len(treated),
            )
            if placebo == "random"
            else Text(
                "sdid.inference_each",
                "placebo standard error (each of the {n} controls once as the placebo treated "
                "unit; Arkhangelsky et al. 2021, Algorithm 4); normal interval",
                n=int(placebos.size),
            )
        )
    else:
        distribution = PointMass(tau)
        inference = Text(
            "sdid.inference_none", "none (placebo_reps=0, or no more controls than treated units)"
        )
    result = _result(
        y, units, times, t0, n0, fits, estimator, distribution, inference, placebos, spec,
        used, n_dropped, name or outcome, population, source, simulated, alpha,
    )  # fmt: skip
    return replace(result, unit=outcome_unit)


def _prepare(data, outcome, unit, time, treated, start):
    check_no_duplicates(data, [unit, time])
    if data[unit].isna().any() or data[time].isna().any():
        raise DataError(f"Columns {unit!r} and {time!r} must not have missing values.")
    all_units = list(pd.unique(data[unit]))
    missing = [u for u in treated if u not in all_units]
    if missing:
        raise DataError(
            f"Treated unit(s) {missing} not found in column {unit!r} (e.g. {all_units[:5]}). "
            "Check the spelling and the column's type."
        )
    times = np.sort(pd.unique(data[time]))
    try:
        pre = times < start
    except TypeError as exc:
        raise SpecError(
            f"start={start!r} cannot be compared with column {time!r}; pass a value of the "
            "same type."
        ) from exc
    t0 = int(pre.sum())
    if t0 < 2 or t0 == len(times):
        raise DesignError(
            f"start={start!r} leaves {t0} pre-period(s) and {len(times) - t0} post-period(s); "
            "SDID needs at least 2 pre-periods and 1 post-period."
        )
    wide = data.pivot(index=unit, columns=time, values=outcome).reindex(columns=times)
    if wide.loc[treated].isna().any().any():
        raise DataError(f"A treated unit's {outcome!r} is missing in some period; fill it.")
    controls = [u for u in all_units if u not in treated]
    incomplete = [u for u in controls if wide.loc[u].isna().any()]
    n_dropped = 0
    if incomplete:
        n_dropped = int(data[unit].isin(incomplete).sum())
        warnings.warn(
            f"Dropped control units {incomplete} ({n_dropped} rows): {outcome!r} is missing in "
            "some period, and SDID needs a balanced panel.",
            DroppedRowsWarning,
            stacklevel=3,
        )
        controls = [u for u in controls if u not in incomplete]
    if len(controls) < 2:
        raise DesignError(f"Only {len(controls)} usable control unit(s); SDID needs 2 or more.")
    units = controls + list(treated)
    y = wide.loc[units].to_numpy(dtype=float)
    if not np.isfinite(y).all():
        raise DataError(f"Column {outcome!r} has infinite values; remove or fix them.")
    if np.std(np.diff(y[: len(controls), :t0], axis=1)) == 0:
        raise DataError(
            f"The controls' {outcome!r} does not change over the pre-period; the noise level "
            "that scales SDID's regularisation is zero. Check the data."
        )
    used = data.loc[data[unit].isin(units)]
    return y, units, times, t0, used, n_dropped


def _result(y, units, times, t0, n0, fits, estimator, distribution, inference, placebos,
            spec, used, n_dropped, name, population, source, simulated, alpha):  # fmt: skip
    tau, omega, lam, _ = fits[estimator]
    treated_units = units[n0:]
    tr_mean = y[n0:].mean(axis=0)
    synth = omega @ y[:n0]
    # Counterfactual of the treated mean: the weighted controls shifted by the
    # lambda-weighted pre-period gap (SDID's intercept), so the post gap averages tau.
    shift = float(lam @ (tr_mean[:t0] - synth[:t0]))
    counterfactual = synth + shift
    post = np.arange(len(times)) >= t0
    gap = tr_mean - counterfactual
    periods = pd.DataFrame(
        {
            "period": times[post],
            "estimate": gap[post],
            "std_error": math.nan,
            "ci_low": math.nan,
            "ci_high": math.nan,
            "treated": tr_mean[post],
            "counterfactual": counterfactual[post],
        }
    )
    comparison = pd.DataFrame(
        {
            "estimate": [fits[e][0] for e in _METHOD],
            "headline": [e == estimator for e in _METHOD],
        },
        index=pd.Index(list(_METHOD), name="estimator"),
    )
    n_eff = 1.0 / float(np.sum(omega**2)) if omega.any() else math.nan
    diagnostics: dict[str, Diagnostic | NotApplicable] = {
        Text("diag.pre_fit", "pre-period fit"): Diagnostic(
            Text("sdid.pre_rmse", "pre-period RMSE of the shifted synthetic control"),
            float(np.sqrt(np.mean(gap[:t0] ** 2))),
            note=Text(
                "sdid.pre_note",
                "treated mean minus weighted controls plus intercept, before the start",
            ),
        ),
        Text("sdid.n_eff", "effective number of controls"): Diagnostic(
            "1 / sum(omega^2)",
            n_eff,
            note=Text("sdid.n_eff_note", "of {n} controls; small means few donors carry it", n=n0),
        ),
        Text("sdid.comparison", "estimator comparison"): Diagnostic(
            Text("sdid.sdid_minus_did", "SDID minus DiD"),
            fits["sdid"][0] - fits["did"][0],
            note=Text(
                "sdid.comparison_note",
                "SDID {sdid}, SC {sc}, DID {did}",
                **{e: Num(fits[e][0], sig=4) for e in _METHOD},
            ),
        ),
    }
    notes = [
        Text(
            "sdid.note_estimate",
            "The estimate is the average post-period effect on the treated unit(s), in the "
            "outcome's own units: treated minus a reweighted, intercept-shifted control "
            "average.",
        ),
    ]
    if placebos.size:
        notes.append(
            Text(
                "sdid.note_se",
                "The standard error is the spread of placebo estimates (controls reassigned "
                "as treated at random); it assumes the treated unit is exchangeable with the "
                "controls. The bootstrap is not valid with a single treated unit.",
            )
        )
        if spec["placebo"] == "random" and placebos.size < 100:
            warnings.warn(
                f"Only {placebos.size} placebo replications: the standard error is noisy "
                "(synthdid uses 200).",
                SmallSampleWarning,
                stacklevel=3,
            )
    if simulated:
        notes.append(Text("note.simulated_data", "The data are SIMULATED, not observed."))
    weights = pd.Series(omega, index=pd.Index(units[:n0], name="control"), name="omega")
    time_weights = pd.Series(lam, index=pd.Index(times[:t0], name="period"), name="lambda")
    return SDIDResult(
        name=name,
        estimand=Text(
            "sdid.estimand",
            "average effect on {units} over {first}-{last}",
            units=", ".join(map(str, treated_units)),
            first=str(times[t0]),
            last=str(times[-1]),
        ),
        distribution=distribution,
        method=_METHOD[estimator],
        inference=inference,
        unit="outcome units",
        population=population
        if population != "not stated"
        else Text(
            "sdid.population",
            "{units}; {n} control units",
            units=", ".join(map(str, treated_units)),
            n=n0,
        ),
        alpha=alpha,
        periods=periods,
        diagnostics=diagnostics,
        provenance=Provenance(
            spec=spec,
            data_hash=hash_frame(used),
            n_rows=len(used),
            n_dropped=n_dropped,
            source=source,
            simulated=simulated,
        ),
        notes=tuple(notes),
        unit_weights=weights,
        time_weights=time_weights,
        comparison=comparison,
        placebo_estimates=placebos,
        trajectory=pd.DataFrame(
            {
                "period": times,
                "treated": tr_mean,
                "synthetic": synth,
                "counterfactual": counterfactual,
                "post": post,
            }
        ),
        start=times[t0],
        treated_units=tuple(treated_units),
    )


# --- result -------------------------------------------------------------------------
@dataclass(frozen=True, kw_only=True, eq=False)
class SDIDResult(EffectResult):
    """Result of :func:`synthetic_did`.

    Beyond the :class:`~evaluate.effect.EffectResult` contract: ``unit_weights``
    (omega), ``time_weights`` (lambda), ``comparison`` (SDID, SC and DiD point
    estimates), ``placebo_estimates`` and ``trajectory`` (treated mean, weighted
    controls and the shifted counterfactual for every period).
    """

    unit_weights: pd.Series
    time_weights: pd.Series
    comparison: pd.DataFrame
    placebo_estimates: np.ndarray
    trajectory: pd.DataFrame
    start: Any
    treated_units: tuple[Any, ...]

    def design_tables(self) -> tuple[DesignTable, ...]:
        """The ten controls with the largest unit weights (omega)."""
        top = self.unit_weights.sort_values(ascending=False, kind="stable").head(10)
        return (
            DesignTable(
                title=Text("sdid.weights_title", "Largest unit weights"),
                frame=top.to_frame("omega"),
                columns=(("omega", Text("sdid.omega", "unit weight (omega)"), "weight"),),
                row_header=Text("sdid.control", "control unit"),
                note=Text(
                    "sdid.weights_note",
                    "The {k} largest of {n} unit weights; they sum to one.",
                    k=len(top),
                    n=len(self.unit_weights),
                ),
            ),
        )

    def _summary_tables(self) -> list[tuple[str, pd.DataFrame]]:
        tables = super()._summary_tables()
        tables.append(("Estimators compared (point estimates)", self.comparison))
        w = self.unit_weights[self.unit_weights > 0.0005].sort_values(ascending=False)
        tables.append(("Unit weights omega (above 0.0005)", w.to_frame()))
        lw = self.time_weights[self.time_weights > 0.0005]
        tables.append(("Time weights lambda (above 0.0005)", lw.to_frame()))
        if self.periods is not None:
            tables.append(("Gap by period", self.periods.set_index("period")))
        return tables

    def plot(self, ax: Axes | None = None) -> Axes:
        """Treated mean against the weighted controls (dashed) and SDID's shifted
        counterfactual (dotted), the time weights as bars below."""
        from evaluate.plotting import _axes

        ax = _axes(ax, figsize=(8.0, 4.2))
        tr = self.trajectory
        label = ", ".join(map(str, self.treated_units))
        ax.plot(tr["period"], tr["treated"], color="black", label=label)
        ax.plot(
            tr["period"], tr["synthetic"], color="C1", linestyle="--", label="weighted controls"
        )
        ax.plot(
            tr["period"],
            tr["counterfactual"],
            color="C0",
            linestyle=":",
            label="counterfactual (weighted controls + intercept)",
        )
        ax.axvline(self.start, color="0.3", linewidth=1.0, linestyle=":")
        low = float(min(tr["treated"].min(), tr["synthetic"].min()))
        high = float(max(tr["treated"].max(), tr["synthetic"].max()))
        lam = self.time_weights
        ax.bar(
            lam.index, lam.to_numpy() * 0.25 * (high - low), bottom=low, color="C2", alpha=0.5,
            label="time weights (scaled)",
        )  # fmt: skip
        ax.set_ylim(low - 0.05 * (high - low), None)
        ax.set_ylabel(self.unit)
        ax.set_title(f"{label} vs synthetic DiD counterfactual")
        ax.legend(frameon=False, fontsize="small")
        return ax


__all__ = ["SDIDResult", "StaggeredSDIDResult", "synthetic_did"]
