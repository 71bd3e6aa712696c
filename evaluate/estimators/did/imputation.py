"""Imputation DiD for staggered adoption (Borusyak, Jaravel & Spiess 2024).

1. Fit ``Y_it = a_i + l_t + e_it`` by least squares on the *untreated*
   observations ``Omega_0`` only (never-treated units and not-yet-treated periods).
2. Impute the untreated outcome of every treated observation,
   ``Y_it(0)^ = a_i^ + l_t^``, and its effect ``tau_it^ = Y_it - Y_it(0)^``.
3. Average: the overall ATT is the mean of ``tau_it^`` over all treated observations
   (each weighted equally, as R ``didimputation`` and Stata ``did_imputation``);
   the effect at event time ``h`` is the mean over treated observations with
   ``t - E_i = h``.

Because untreated observations alone identify the fixed effects, treated
cohorts never serve as controls for one another, so the estimate is free of the
negative weighting of TWFE under heterogeneous effects; it is the efficient
estimator under homoskedastic, serially uncorrelated errors (BJS Theorem 2).

Every estimate is linear in the outcomes, ``tau^_w = sum_it v_it Y_it``, with
``v_it = w_it`` on treated observations (``w`` the estimand's weights) and
``v_it = -[Z_0 (Z_0'Z_0)^+ Z_1' w_1]_it`` on untreated ones (``Z`` the unit and
period dummies).  The *conservative* variance of BJS Theorem 3, clustered by unit
(or ``cluster``), is

    Var^(tau^_w) = sum_c ( sum_{it in c} v_it eps~_it )^2,

    eps~_it = Y_it - a_i^ - l_t^                  on untreated observations,
    eps~_it = tau_it^ - tau-bar_{E_i, t - E_i}    on treated observations,

where ``tau-bar`` is the ``v^2``-weighted mean of ``tau^`` within the cell's
cohort x event-time group (the ``did_imputation`` default ``avgeffectsby(E K)``,
without the ``leaveout`` refinement); with the equal weights used here it is the
plain cohort x event-time mean.  It is conservative because the heterogeneity of
effects within those groups is treated as noise.  Intervals use the normal
distribution (as both reference packages).

The optional pre-trend test (BJS Test 1) is a separate regression on the
untreated observations of ``Y`` on the fixed effects and indicators of
``1..pretrends`` periods before adoption; the leads are tested jointly with a
cluster-robust Wald F test and do not change the effect estimates.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, replace
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from scipy import stats

from evaluate.data.validate import check_columns, check_frame, check_numeric, drop_missing
from evaluate.effect import Diagnostic, EffectResult, NotApplicable, Provenance, hash_frame
from evaluate.errors import (
    DataError,
    DesignError,
    DroppedRowsWarning,
    PreTrendWarning,
    SmallSampleWarning,
    SpecError,
)
from evaluate.estimators.did._calendar import Calendar, calendar_frame, label_of
from evaluate.estimators.did._imputation_pretests import _pretrend_test
from evaluate.estimators.did._twoway_solver import TwoWaySolver
from evaluate.estimators.did._within import analytic_weights
from evaluate.estimators.did.staggered_aggregate import plot_bands
from evaluate.estimators.did.twfe import (
    panel_index,
)
from evaluate.inference.covariance import FEW_CLUSTERS
from evaluate.inference.distributions import Normal
from evaluate.text import Text

if TYPE_CHECKING:
    from matplotlib.axes import Axes


@dataclass(frozen=True)
class ImputationSpec:
    """Options of one imputation fit (validated, plain values)."""

    outcome: str
    unit: str
    time: str
    cohort: str
    never_treated: tuple[float, ...] = (0,)
    horizons: tuple[int, ...] | None = None
    pretrends: int = 0
    cluster: str | None = "unit"
    alpha: float = 0.05
    weights: str | None = None


# --------------------------------------------------------------------------- front door
def imputation_did(
    data: pd.DataFrame,
    *,
    outcome: str,
    unit: str,
    time: str,
    cohort: str,
    never_treated: Sequence[float] = (0,),
    horizons: Sequence[int] | None = None,
    pretrends: int = 0,
    cluster: str | None = "unit",
    alpha: float = 0.05,
    weights: str | None = None,
    name: str | None = None,
    outcome_unit: str = "outcome units",
) -> ImputationResult:
    """Borusyak-Jaravel-Spiess imputation estimator of staggered-adoption effects.

    Parameters
    ----------
    data : long panel, one row per unit and period (never modified; may be unbalanced).
    outcome, unit, time : column names; ``time`` is numeric and evenly spaced, so
        that ``time - cohort`` counts periods since adoption, or holds calendar
        periods (dates, pandas Periods, text such as "2023-01" or "2023K1"), numbered
        on their calendar (:mod:`~evaluate.estimators.did._calendar`).
    cohort : each unit's first treated period (constant within a unit); values in
        ``never_treated`` or missing mark never-treated units.  Units are treated
        from their cohort period on (adoption is absorbing).
    never_treated : cohort values that mark never-treated units.
    horizons : event times ``h >= 0`` to report (default: all observed).  The
        overall ATT averages the treated observations at these event times; treated
        observations at other event times are still kept out of the first stage.
    pretrends : number of leads ``1..pretrends`` for the pre-trend test (0 = none).
    cluster : column to cluster the standard errors on (``"unit"`` = the unit
        column); BJS assume clusters that contain whole units.
    alpha : 1 - confidence level.
    weights : column of analytic (regression) weights, e.g. population (positive;
        may vary over time).  As Stata ``did_imputation [aw=]``: the first stage is
        weighted least squares on the untreated rows, and every effect is the
        weighted mean of the imputed effects over its treated observations; the
        variance is BJS Theorem 3 with those weights in ``v``.
    name : label of the result (default: ``outcome``).
    outcome_unit : what the outcome counts ("persons", "full-time persons", "share",
        ...); the effect is in this unit, and a benefit rate prices it when it is
        persons or full-time persons.

    Returns
    -------
    ImputationResult
        Headline = overall ATT; ``periods`` = event-time effects (and the pre-trend
        leads, ``kind == "pre-trend"``); ``vcov`` = covariance of the event-time effects.

    Examples
    --------
    >>> from evaluate.datasets import mpdta
    >>> res = imputation_did(mpdta(), outcome="lemp", unit="countyreal", time="year",
    ...                      cohort="first.treat")
    >>> res.periods["period"].tolist()
    [0, 1, 2, 3]
    """
    check_frame(data)
    spec = _make_spec(
        outcome=outcome,
        unit=unit,
        time=time,
        cohort=cohort,
        never_treated=never_treated,
        horizons=horizons,
        pretrends=pretrends,
        cluster=cluster,
        alpha=alpha,
        weights=weights,
    )
    frame, calendar = calendar_frame(data, time, cohort, spec.never_treated)  # a copy, if any
    if calendar is None:
        return replace(_fit(data, spec, name or outcome), unit=outcome_unit)
    result = _fit(frame, replace(spec, never_treated=(0,)), name or outcome, calendar)  # never: 0
    note = calendar.note(frame[time].min(), frame[time].max())
    return replace(result, unit=outcome_unit, notes=(note, *result.notes))


def _make_spec(**kw: Any) -> ImputationSpec:
    if not 0 < kw["alpha"] < 1:
        raise SpecError(f"alpha must lie strictly between 0 and 1, got {kw['alpha']!r}.")
    pre = kw["pretrends"]
    if isinstance(pre, bool) or not isinstance(pre, (int, np.integer)) or pre < 0:
        raise SpecError(f"pretrends must be a non-negative integer, got {pre!r}.")
    kw["pretrends"] = int(pre)
    if isinstance(kw["never_treated"], (str, int, float)):
        kw["never_treated"] = (kw["never_treated"],)
    kw["never_treated"] = tuple(kw["never_treated"])
    h = kw["horizons"]
    if h is not None:
        if isinstance(h, (str, int)) or not len(h):
            raise SpecError(f"horizons must be a non-empty list of event times, got {h!r}.")
        if any(isinstance(v, bool) or int(v) != v or v < 0 for v in h):
            raise SpecError(f"horizons must be whole event times >= 0, got {list(h)!r}.")
        kw["horizons"] = tuple(sorted({int(v) for v in h}))
    return ImputationSpec(**kw)


# --------------------------------------------------------------------------- fit
def _prepare(
    data: pd.DataFrame, spec: ImputationSpec, calendar: Calendar | None = None
) -> tuple[pd.DataFrame, int, list[str]]:
    """Validated rows with columns ``_y, _t, _g (nan = never), _treated, _e``.

    ``calendar``: messages name periods and cohorts by the user's labels."""
    cols = [spec.outcome, spec.unit, spec.time, spec.cohort]
    if spec.cluster not in (None, "unit", spec.unit):
        cols.append(spec.cluster)
    if spec.weights is not None:
        cols.append(spec.weights)
    used = list(dict.fromkeys(cols))
    check_columns(data, used)
    if len(set(cols[:4])) != 4:
        raise SpecError(f"outcome, unit, time and cohort must be different columns: {cols[:4]}.")
    for c in (spec.outcome, spec.time, spec.cohort):
        check_numeric(data, c, allow_inf=c == spec.cohort)  # inf: never treated
    frame = data[used]
    frame, n_dropped = drop_missing(
        frame, [c for c in used if c != spec.cohort], allow=True, stacklevel=5
    )
    g = frame[spec.cohort].to_numpy(dtype=float)
    g = np.where(np.isin(g, np.asarray(spec.never_treated, dtype=float)) | np.isinf(g), np.nan, g)
    by_unit = pd.Series(g, index=frame.index).groupby(frame[spec.unit].to_numpy(), sort=False)
    varies = by_unit.nunique(dropna=False) > 1
    if varies.any():
        bad = varies.index[varies][0]
        mine = (frame[spec.unit] == bad).to_numpy()
        order = np.argsort(frame[spec.time].to_numpy()[mine], kind="stable")
        gs, ts = g[mine][order], frame[spec.time].to_numpy()[mine][order]
        k = int(np.flatnonzero(~((gs == gs[0]) | (np.isnan(gs) & np.isnan(gs[0]))))[0])
        shown = [
            "never treated"
            if np.isnan(v)
            else f"{v:g}"
            if calendar is None
            else label_of(calendar, v)
            for v in (gs[0], gs[k])
        ]
        when = _item(ts[k]) if calendar is None else label_of(calendar, ts[k])
        raise DataError(
            f"Column {spec.cohort!r} varies within unit {_item(bad)!r}: {shown[0]} before "
            f"period {when!r}, {shown[1]} from then on "
            f"({int(varies.sum())} unit(s) in all). It must hold each unit's first treated "
            "period (treatment that switches off is not a staggered adoption design: "
            "recode to the first adoption or drop such units)."
        )
    t = frame[spec.time].to_numpy(dtype=float)
    out = pd.DataFrame(
        {
            "_unit": frame[spec.unit].to_numpy(),
            "_y": frame[spec.outcome].to_numpy(dtype=float),
            "_t": t,
            "_g": g,
            "_treated": ~np.isnan(g) & (t >= g),
            "_e": t - g,
        },
        index=frame.index,
    )
    if spec.cluster not in (None, "unit", spec.unit):
        out["_cluster"] = frame[spec.cluster].to_numpy()
    w = analytic_weights(frame, spec.weights)
    # Scaled to mean 1: every estimate is invariant to the scale of the weights.
    out["_w"] = 1.0 if w is None else w / w.mean()
    notes: list[str] = []
    # Units treated in every observed period have no untreated outcome to fix a_i.
    always = out.groupby("_unit", sort=False)["_treated"].transform("all").to_numpy()
    if always.any():
        k = int(out.loc[always, "_unit"].nunique())
        warnings.warn(
            f"Dropped {k} units treated in every period they are observed: their unit "
            "effect cannot be estimated from untreated outcomes.",
            DroppedRowsWarning,
            stacklevel=4,
        )
        notes.append(
            Text(
                "imputation.note_always_treated",
                "{n} units treated throughout the data were dropped.",
                n=k,
            )
        )
        n_dropped += int(always.sum())
        out = out.loc[~always]
    # Periods in which every unit is treated give no untreated outcome for l_t.
    untreated_t = set(out.loc[~out["_treated"], "_t"])
    lost = out["_treated"].to_numpy() & ~out["_t"].isin(untreated_t).to_numpy()
    if lost.any():
        lost_t = sorted(set(out.loc[lost, "_t"]))
        periods = [label_of(calendar, p) if calendar else p for p in lost_t]
        warnings.warn(
            f"Dropped {int(lost.sum())} treated observations in periods {periods[:5]} with no "
            "untreated unit: their counterfactual cannot be imputed.",
            DroppedRowsWarning,
            stacklevel=4,
        )
        notes.append(
            Text(
                "imputation.note_no_untreated",
                "{n} treated observations in periods without untreated units were dropped "
                "(no counterfactual).",
                n=int(lost.sum()),
            )
        )
        n_dropped += int(lost.sum())
        out = out.loc[~lost]
    if not out["_treated"].any():
        raise DesignError(
            f"No treated observation with an untreated comparison remains: check {spec.cohort!r} "
            f"(never-treated codes {list(spec.never_treated)})."
        )
    return out, n_dropped, notes


def _fit(
    data: pd.DataFrame, spec: ImputationSpec, name: str, calendar: Calendar | None = None
) -> ImputationResult:
    frame, n_dropped, notes = _prepare(data, spec, calendar)
    index = panel_index(frame["_unit"], frame["_t"])  # duplicate unit-periods -> DataError
    treated = frame["_treated"].to_numpy()
    y = frame["_y"].to_numpy()
    e = frame["_e"].to_numpy()
    u0, t0 = index.unit[~treated], index.time[~treated]
    u1, t1 = index.unit[treated], index.time[treated]
    wt = frame["_w"].to_numpy(dtype=float)  # analytic weights (mean 1), or ones
    w0 = wt[~treated]
    solver = TwoWaySolver(u0, t0, index.n_units, index.n_times, w0)
    if solver.n_components > 1:
        raise DesignError(
            "The untreated observations split into groups of units and periods that share "
            "no untreated data, so the unit and period effects are not identified. Add "
            "never-treated units or drop the disconnected cohorts."
        )
    a, lam = solver.solve(*solver.sums(w0 * y[~treated]))
    resid0 = y[~treated] - a[u0, 0] - lam[t0, 0]
    tau = y[treated] - a[u1, 0] - lam[t1, 0]
    e1 = e[treated].astype(np.int64) if np.all(e[treated] == np.round(e[treated])) else e[treated]

    observed = np.unique(e1)
    horizons = observed if spec.horizons is None else np.asarray(spec.horizons)
    missing = sorted(set(horizons.tolist()) - set(observed.tolist()))
    if missing:
        raise DesignError(
            f"No treated observation at event time(s) {missing}; observed event times are "
            f"{observed.tolist()}. Choose horizons among them."
        )
    # Estimand weights on the treated observations: overall ATT, then each horizon.
    in_h = np.isin(e1, horizons)
    w1 = np.column_stack([in_h, *(e1 == h for h in horizons)]) * wt[treated][:, None]
    w1 /= w1.sum(axis=0)
    cu, ct = solver.sums(w1, u1, t1)
    gu, gt = solver.solve(cu, ct)
    v0 = -w0[:, None] * (gu[u0] + gt[t0])  # implied weights of the untreated outcomes
    estimates = w1.T @ tau

    # Conservative BJS residuals of treated observations: deviation from the
    # cohort x event-time mean of tau (did_imputation's smartweights mean).
    group = pd.factorize(pd.MultiIndex.from_arrays([frame["_g"].to_numpy()[treated], e1]))[0]
    clusters = _clusters(frame, spec, index)
    n_g = int(clusters.max()) + 1
    tau_bar = _smart_mean(tau, group, clusters[treated], wt[treated])
    resid1 = tau - tau_bar[group]
    scores = np.zeros((n_g, w1.shape[1]))
    np.add.at(scores, clusters[~treated], v0 * resid0[:, None])
    np.add.at(scores, clusters[treated], w1 * resid1[:, None])
    vcov = scores.T @ scores
    se = np.sqrt(np.diag(vcov))

    if n_g < FEW_CLUSTERS:
        warnings.warn(
            f"Only {n_g} clusters: the BJS standard errors are asymptotic and may be too small.",
            SmallSampleWarning,
            stacklevel=3,
        )
        notes.append(
            Text(
                "imputation.note_few_clusters",
                "Only {n} clusters: the asymptotic standard errors may be too small.",
                n=n_g,
            )
        )
    if (np.bincount(group) == 1).any():
        notes.append(
            Text(
                "imputation.note_singletons",
                "Some cohort x event-time groups hold a single observation; their residual is "
                "0, so the conservative SE may understate (BJS suggest the leave-out variant).",
            )
        )
    periods = _periods_frame(horizons, estimates[1:], se[1:], w1[:, 1:], e1, spec.alpha)
    diagnostics: dict[str, Diagnostic | NotApplicable] = {}
    if spec.pretrends:
        leads, diag = _pretrend_test(frame, index, treated, spec)
        periods = pd.concat([leads, periods], ignore_index=True)
        diagnostics[_PRE_TREND] = diag
        if isinstance(diag, Diagnostic) and diag.passed is False:
            warnings.warn(
                f"Pre-trend test rejects parallel trends: {diag}", PreTrendWarning, stacklevel=3
            )
            notes.append(
                Text(
                    "imputation.note_pretrend",
                    "The pre-trend test rejects: the leads are not jointly zero.",
                )
            )
    else:
        diagnostics[_PRE_TREND] = NotApplicable(
            Text("imputation.no_pretrends", "pretrends=0 (no leads requested)")
        )
    used = frame.drop(columns=["_treated", "_e", *([] if spec.weights else ["_w"])])
    n_obs = int(in_h.sum())
    return ImputationResult(
        name=name,
        estimand=_estimand(spec, n_obs),
        distribution=Normal(float(estimates[0]), float(se[0])),
        method=Text("imputation.method", "Imputation DiD (Borusyak, Jaravel & Spiess 2024)"),
        inference=Text(
            "imputation.inference",
            "BJS conservative variance (Theorem 3), clustered by {cluster} ({n} clusters)",
            cluster=spec.cluster,
            n=n_g,
        )
        if spec.cluster
        else Text(
            "imputation.inference_obs",
            "BJS conservative variance (Theorem 3), clustered by observation ({n} clusters)",
            n=n_g,
        ),
        unit="outcome units",
        population=Text(
            "imputation.population",
            "{treated} treated units (of {units}), {n} treated unit-periods",
            treated=int(np.unique(index.unit[treated]).size),
            units=int(index.n_units),
            n=n_obs,
        ),
        alpha=spec.alpha,
        periods=periods,
        diagnostics=diagnostics,
        provenance=Provenance(
            spec=asdict(spec),
            data_hash=hash_frame(used),
            n_rows=len(frame),
            n_dropped=n_dropped,
        ),
        notes=tuple(notes),
        spec=spec,
        vcov=pd.DataFrame(vcov[1:, 1:], index=horizons, columns=horizons),
        n_treated_obs=n_obs,
        n_untreated_obs=int((~treated).sum()),
        n_clusters=n_g,
    )


_PRE_TREND = Text("imputation.pre_trend", "pre-trend test")


def _estimand(spec: ImputationSpec, n_obs: int) -> Text:
    """``ATT: [weighted ]mean effect on y over the n treated observations[ at ...][ (...)]``."""
    text = Text(
        "imputation.estimand_weighted" if spec.weights else "imputation.estimand",
        "ATT: weighted mean effect on {outcome} over the {n} treated observations"
        if spec.weights
        else "ATT: mean effect on {outcome} over the {n} treated observations",
        outcome=spec.outcome,
        n=n_obs,
    )
    if spec.horizons is not None:
        text = Text(
            "imputation.estimand_horizons",
            "{what} at event times {horizons}",
            what=text,
            horizons=", ".join(str(h) for h in spec.horizons),
        )
    if spec.weights is not None:
        text = Text(
            "imputation.estimand_weights",
            "{what} (weights {weights})",
            what=text,
            weights=spec.weights,
        )
    return text


def _item(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else value


def _smart_mean(
    tau: np.ndarray, group: np.ndarray, clusters: np.ndarray, w: np.ndarray
) -> np.ndarray:
    """Mean of ``tau`` in each cohort x event-time group as Stata ``did_imputation``
    weighs it (its "smartweights"): observation ``j`` by ``v_j`` times the sum of ``v``
    over ``j``'s cluster within the group, with ``v`` proportional to the analytic
    weight ``w`` (equal in a group for every estimand here).  With clusters = units
    (one observation per unit and group) this is the ``v^2``-weighted mean of BJS
    Theorem 3; it makes integer weights equivalent to copies of a unit kept in one
    cluster.
    """
    key = pd.factorize(pd.MultiIndex.from_arrays([clusters, group]))[0]
    smart = np.bincount(key, w)[key] * w
    return np.bincount(group, smart * tau) / np.bincount(group, smart)


def _clusters(frame: pd.DataFrame, spec: ImputationSpec, index) -> np.ndarray:
    if spec.cluster is None:  # every observation its own cluster
        return np.arange(len(frame))
    if "_cluster" in frame.columns:
        return pd.factorize(frame["_cluster"])[0].astype(np.intp)
    return index.unit


def _periods_frame(horizons, est, se, w1, e1, alpha) -> pd.DataFrame:
    z = stats.norm.ppf(1 - alpha / 2)
    return pd.DataFrame(
        {
            "period": horizons,
            "estimate": est,
            "std_error": se,
            "ci_low": est - z * se,
            "ci_high": est + z * se,
            "p_value": 2 * stats.norm.sf(np.abs(est / np.where(se > 0, se, np.nan))),
            "n_obs": [int((e1 == h).sum()) for h in horizons],
            "kind": "effect",
        }
    )


# --------------------------------------------------------------------------- result
@dataclass(frozen=True, kw_only=True, eq=False)
class ImputationResult(EffectResult):
    """Result of :func:`imputation_did`.

    ``periods`` has one row per event time (``period, estimate, std_error, ci_low,
    ci_high, p_value, n_obs, kind``; ``kind`` is ``"effect"`` or ``"pre-trend"`` for
    the leads of the pre-trend regression).  ``vcov`` is the conservative BJS
    covariance of the event-time effects (rows and columns = event times).
    """

    spec: ImputationSpec
    vcov: pd.DataFrame = field(default_factory=pd.DataFrame)
    n_treated_obs: int = 0
    n_untreated_obs: int = 0
    n_clusters: int = 0

    def _extra_terms(self) -> list[dict[str, Any]]:
        return [
            {
                "term": Text("imputation.term_lead", "lead {k}", k=str(int(r.period)))
                if r.kind == "pre-trend"
                else Text("term.event_time", "event time {k}", k=str(int(r.period))),
                "estimate": r.estimate,
                "std_error": r.std_error,
                "ci_low": r.ci_low,
                "ci_high": r.ci_high,
                "p_value": r.p_value,
                "unit": self.unit,
            }
            for r in self.periods.itertuples()  # type: ignore[union-attr]
        ]

    def _summary_header(self) -> list[tuple[str, object]]:
        return super()._summary_header() + [
            ("Treated / untreated obs", f"{self.n_treated_obs} / {self.n_untreated_obs}"),
        ]

    def _summary_tables(self) -> list[tuple[str, pd.DataFrame]]:
        tables = super()._summary_tables()
        tables.insert(1, ("Effects by event time", self.periods.set_index("period")))  # type: ignore[union-attr]
        return tables

    def plot(self, ax: Axes | None = None) -> Axes:
        """Event-time effects (and pre-trend leads) with pointwise confidence intervals."""
        return plot_bands(
            self.periods,  # type: ignore[arg-type]
            xlabel=Text("plot.event_time", "event time (periods since adoption)"),
            unit=self.unit,
            title=self.name,
            event_time=True,
            ax=ax,
        )


__all__ = ["ImputationResult", "ImputationSpec", "TwoWaySolver", "imputation_did"]
