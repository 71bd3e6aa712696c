"""Event study: effects by time relative to adoption, with a pre-trend test.

    y_it = a_i + l_t + sum_{k != ref} b_k 1{t - G_i = k} + e_it

with unit and period fixed effects (the lean engine of :mod:`evaluate.estimators.did.twfe`),
``G_i`` the unit's adoption period (never-treated units have no event dummies),
endpoints ``k <= -leads`` and ``k >= lags`` binned (or trimmed), and one reference
period (default ``-1``) left out.  The leads ``b_k, k < 0`` are tested jointly
(Wald F test) as a diagnostic of parallel pre-trends; a rejection raises a
:class:`~evaluate.errors.PreTrendWarning`.  The headline estimate is the simple
average of the post-adoption coefficients ``b_0..b_lags``.

With staggered adoption and heterogeneous effects these TWFE event-study
coefficients can be contaminated by other periods' effects (Sun & Abraham 2021);
the result says so, and a heterogeneity-robust estimator is the remedy.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from scipy import stats

from evaluate.data.validate import check_columns, check_frame, check_numeric
from evaluate.data.validate import drop_missing as _drop_missing
from evaluate.effect import Diagnostic, EffectResult, NotApplicable, Provenance
from evaluate.errors import DataError, DesignError, PreTrendWarning, SpecError
from evaluate.estimators.did._calendar import calendar_frame
from evaluate.estimators.did._cohorts import adoption_periods
from evaluate.estimators.did._placebo import event_study_placebo
from evaluate.estimators.did._within import analytic_weights
from evaluate.estimators.did.twfe import (
    Inference,
    cluster_codes,
    coefficient_distribution,
    data_fingerprint,
    fit_within,
    panel_covariance,
    panel_index,
    placebo_or_refusal,
    resolve_inference,
)
from evaluate.inference.covariance import AUTO_RULE
from evaluate.inference.degenerate import NoInference
from evaluate.inference.distributions import Distribution
from evaluate.inference.randomization import Randomization, placebo_assignments
from evaluate.text import Num, Text

if TYPE_CHECKING:
    from matplotlib.axes import Axes


@dataclass(frozen=True, kw_only=True, eq=False)
class EventStudyResult(EffectResult):
    """Result of :func:`event_study`.

    ``periods`` has one row per event time (``period`` = periods since adoption)
    with ``estimate, std_error, ci_low, ci_high, p_value, df, n_treated_obs,
    binned, reference``; the reference period has estimate 0 and no SE.
    ``vcov`` is the covariance of the event-time coefficients (reference excluded).
    """

    vcov: pd.DataFrame = field(default_factory=pd.DataFrame)
    covariance_method: str = ""
    inference_rule: str = ""
    reference: int = -1
    n_clusters: int | None = None

    def _extra_terms(self) -> list[dict[str, object]]:
        rows = []
        for _, r in self.periods.iterrows():  # type: ignore[union-attr]
            rows.append(
                {
                    "term": Text("term.event_time", "event time {k}", k=str(int(r["period"]))),
                    "estimate": r["estimate"],
                    "std_error": r["std_error"],
                    "ci_low": r["ci_low"],
                    "ci_high": r["ci_high"],
                    "p_value": r["p_value"],
                    "unit": self.unit,
                }
            )
        return rows

    def _summary_tables(self) -> list[tuple[str, pd.DataFrame]]:
        tables = super()._summary_tables()
        shown = self.periods.drop(columns=["df"]).set_index("period")  # type: ignore[union-attr]
        tables.insert(1, ("Effects by event time", shown))
        return tables

    def plot(self, ax: Axes | None = None) -> Axes:
        """Coefficients by event time with confidence bands; the reference is marked."""
        import seaborn as sns

        from evaluate.plotting import _axes

        ax = _axes(ax)
        color = sns.color_palette("deep")[0]
        f = self.periods.sort_values("period")  # type: ignore[union-attr]
        k = f["period"].to_numpy(dtype=float)
        est = f["estimate"].to_numpy(dtype=float)
        lo = np.where(f["reference"], est, f["ci_low"].to_numpy(dtype=float))
        hi = np.where(f["reference"], est, f["ci_high"].to_numpy(dtype=float))
        ax.fill_between(
            k, lo, hi, color=color, alpha=0.2, label=f"{1 - self.alpha:.0%} confidence band"
        )
        ax.plot(k, est, marker="o", color=color, label="estimate")
        ref = f["reference"].to_numpy(dtype=bool)
        ax.plot(
            k[ref],
            est[ref],
            marker="o",
            linestyle="none",
            markerfacecolor="white",
            color=color,
            label=f"reference ({self.reference}, set to 0)",
        )
        ax.axhline(0.0, color="0.4", linewidth=0.8, linestyle="--")
        ax.axvline(-0.5, color="0.3", linewidth=1.0, linestyle=":")
        ax.set_xlabel(
            "periods since adoption (endpoints binned)"
            if f["binned"].any()
            else "periods since adoption"
        )
        ax.set_ylabel(f"effect ({self.unit})")
        ax.set_title(f"{self.name}: event study")
        ax.legend(frameon=False)
        return ax


def event_study(
    data: pd.DataFrame,
    *,
    outcome: str,
    unit: str,
    time: str,
    cohort: str,
    leads: int = 4,
    lags: int = 4,
    reference: int = -1,
    bin_endpoints: bool = True,
    never_treated: Sequence[float] = (0,),
    cluster: str | None = "unit",
    inference: Inference = "auto",
    weights: str | None = None,
    alpha: float = 0.05,
    drop_missing: bool = True,
    n_boot: int = 999,
    seed: int | None = 0,
    name: str | None = None,
    outcome_unit: str = "outcome units",
) -> EventStudyResult:
    """Event-study regression with unit and period fixed effects.

    Parameters
    ----------
    data : long panel, one row per unit and period (never modified).
    outcome, unit, time : column names; ``time`` is numeric and evenly spaced
        (years, month numbers), so that ``time - cohort`` counts periods, or holds
        calendar periods (dates, pandas Periods, text such as "2023-01" or "2023K1"),
        numbered on their calendar (:mod:`~evaluate.estimators.did._calendar`).
    cohort : the unit's adoption period (first treated period); blank (missing),
        ``0``, ``inf`` and values in ``never_treated`` mark never-treated units, the
        same rule as :func:`~evaluate.estimators.did.staggered.callaway_santanna`
        (:mod:`evaluate.estimators.did._cohorts`; ambiguous codes are an error).
    leads, lags : event window ``-leads..lags``.
    reference : event time left out (its effect is normalised to 0); must lie in
        the window and be negative.
    never_treated : further cohort values that mark never-treated units (besides
        blank, 0 and inf).
    bin_endpoints : ``True`` pools event times beyond the window into the end
        points; ``False`` drops those treated observations (counted in the notes).
    cluster, inference, alpha : as :func:`~evaluate.estimators.did.twfe.twfe`
        (``"wild"`` is not offered here).  With ``"randomization"`` (``auto`` with
        fewer than 10 treated or untreated units) the headline average comes from
        placebo reassignments of the adoption periods to other units under a constant
        effect; the event-time rows keep CR2 intervals.
    weights : column of analytic (regression) weights (weighted least squares, as
        :func:`~evaluate.estimators.did.twfe.twfe`; no randomization inference).
    n_boot, seed : number of random placebo assignments and their seed.
    outcome_unit : what the outcome counts ("persons", "full-time persons", "share",
        ...); the effect is in this unit, and a benefit rate prices it when it is
        persons or full-time persons.

    Examples
    --------
    >>> from evaluate.datasets import mpdta
    >>> res = event_study(mpdta(), outcome="lemp", unit="countyreal", time="year",
    ...                   cohort="first.treat", leads=3, lags=3)
    >>> res.periods["period"].tolist()
    [-3, -2, -1, 0, 1, 2, 3]
    """
    check_frame(data)
    if leads < 0 or lags < 0:
        raise SpecError(f"leads and lags must be >= 0, got leads={leads}, lags={lags}.")
    if not -leads <= reference <= lags or reference >= 0:
        raise SpecError(
            f"reference={reference} must be a pre-adoption event time within "
            f"-{leads}..-1 (e.g. -1)."
        )
    if inference == "wild":
        raise SpecError(
            "inference='wild' is not available for the event study; use 'CR2' or "
            "'randomization'."
        )
    cols = [outcome, unit, time, cohort]
    if cluster not in (None, "unit"):
        cols.append(cluster)
    if weights is not None:
        cols.append(weights)
    used = list(dict.fromkeys(cols))
    check_columns(data, used)
    given_never = list(never_treated)
    data, calendar = calendar_frame(data, time, cohort, never_treated)  # a copy, if any
    if calendar is not None:
        never_treated = (0,)  # the calendar coded them 0
    for c in (outcome, time):
        check_numeric(data, c)
    frame = data[used]
    frame, n_dropped = _drop_missing(frame, [c for c in used if c != cohort], allow=drop_missing)
    t = frame[time].to_numpy(dtype=float)
    # blank, 0, inf and the never_treated codes: the rule callaway_santanna shares
    g, never, _ = adoption_periods(frame[cohort], cohort, t, never_treated)
    code = pd.Series(np.where(never, np.inf, g), index=frame.index)
    by_unit = code.groupby(frame[unit], sort=False).nunique()
    if (by_unit > 1).any():
        raise DataError(
            f"Column {cohort!r} varies within unit {by_unit.index[by_unit > 1][0]!r}; "
            "it must hold each unit's single adoption period."
        )
    e = np.where(never, np.nan, t - g)
    if np.all(never):
        raise DesignError(f"No unit has an adoption period in {cohort!r}: nothing to study.")
    n_outside = 0
    if bin_endpoints:
        e = np.clip(e, -leads, lags)
    else:
        outside = ~never & ((e < -leads) | (e > lags))
        n_outside = int(outside.sum())
        if n_outside:
            frame, e, never, g = frame.loc[~outside], e[~outside], never[~outside], g[~outside]
    event_times = [k for k in range(-leads, lags + 1) if k != reference]
    if not np.any(e == reference):
        raise DesignError(
            f"No treated observation at the reference event time {reference}; "
            "choose another reference period."
        )
    x = np.column_stack([(e == k).astype(float) for k in event_times])
    present = x.sum(axis=0) > 0
    if not present.all():
        missing = [k for k, ok in zip(event_times, present, strict=True) if not ok]
        raise DesignError(
            f"No treated observations at event time(s) {missing}; narrow the window (leads / lags)."
        )
    index = panel_index(frame[unit], frame[time])
    y = frame[outcome].to_numpy(dtype=float)
    w = analytic_weights(frame, weights)
    scale = float(np.std(y))
    names = [f"event time {k}" for k in event_times]
    try:
        fit = fit_within(index, y, x, names, w)
    except DesignError as err:
        hint = (
            ""
            if never.any()
            else (
                " There are no never-treated units: leave out a second "
                "event time or shorten the window."
            )
        )
        raise DesignError(str(err) + hint) from None
    clusters = cluster_codes(frame, cluster, unit, index)
    treated_by_cluster = None
    if clusters is not None:
        n_g = int(clusters.max()) + 1
        treated_by_cluster = np.bincount(clusters, weights=~never, minlength=n_g) > 0
    placebo = clusters is index.unit and index.balanced and bin_endpoints and w is None
    method, note = resolve_inference(inference, clusters, treated_by_cluster, placebo=placebo)
    cov = panel_covariance(
        index, fit, x, clusters, "CR2" if method == "randomization" else method, w
    )
    se, df = cov.std_errors, cov.df

    rows = []
    for j, k in enumerate(event_times):
        dist = coefficient_distribution(
            float(fit.beta[j]), float(se[j]), float(df[j]), scale=scale, warn=False
        )
        lo, hi = dist.interval(alpha)
        rows.append(
            {
                "period": k,
                "estimate": float(fit.beta[j]),
                "std_error": float(dist.std_error),
                "ci_low": lo,
                "ci_high": hi,
                "p_value": dist.p_value(0.0),
                "df": float(df[j]),
                "n_treated_obs": int(x[:, j].sum()),
            }
        )
    rows.append(
        {
            "period": reference,
            "estimate": 0.0,
            "std_error": math.nan,
            "ci_low": math.nan,
            "ci_high": math.nan,
            "p_value": math.nan,
            "df": math.nan,
            "n_treated_obs": int(np.sum(e == reference)),
        }
    )
    periods = pd.DataFrame(rows).sort_values("period", ignore_index=True)
    periods["binned"] = bin_endpoints & periods["period"].isin([-leads, lags])
    periods["reference"] = periods["period"] == reference

    post = [j for j, k in enumerate(event_times) if k >= 0]
    c = np.zeros(len(event_times))
    c[post] = 1.0 / len(post)
    avg = float(c @ fit.beta)
    avg_se = float(np.sqrt(c @ cov.cov @ c))
    avg_df = float(np.nanmin(df[post])) if cov.method == "CR2" else float(df[post[0]])
    distribution: Distribution = coefficient_distribution(avg, avg_se, avg_df, scale=scale)
    if method == "randomization":
        perms, exhaustive = placebo_assignments(treated_by_cluster, n_draws=n_boot, seed=seed)
        cohort_of_unit = np.full(index.n_units, np.nan)
        cohort_of_unit[index.unit] = np.where(never, np.nan, g)
        u, c_slope = event_study_placebo(
            index, y, t, cohort_of_unit, event_times, (-leads, lags), c, perms
        )
        distribution = placebo_or_refusal(
            Randomization(avg, u, c_slope, exhaustive), alpha, scale
        )
        if isinstance(distribution, Randomization):
            note = " ".join([note, distribution.note(alpha),
                             "The event-time rows keep CR2 intervals (optimistic here)."])

    pre = (
        _pretrend_test(fit.beta, cov, event_times, alpha)
        if method != "randomization"
        else NotApplicable(
            "with this few treated (or untreated) units a cluster-robust test of the leads "
            "raises false alarms far above its level; judge the leads from the event-time plot"
        )
    )
    diagnostics = {Text("diag.pre_trend", "pre-trend"): pre}
    notes = [note] if note else []
    if calendar is not None:
        notes.insert(0, calendar.note(t.min(), t.max()))
    if isinstance(pre, Diagnostic) and pre.passed is False:
        warnings.warn(
            f"Pre-trend test rejects parallel pre-trends: {pre}", PreTrendWarning, stacklevel=2
        )
        notes.append(
            Text(
                "event_study.note_pretrend",
                "The joint pre-trend test rejects: the leads are not jointly zero, so "
                "parallel trends is in doubt; see the event-time plot.",
            )
        )
    if n_outside:
        notes.append(
            Text(
                "event_study.note_outside",
                "{n} treated observations outside the window -{leads}..{lags} were left "
                "out (bin_endpoints=False).",
                n=int(n_outside),
                leads=str(leads),
                lags=str(lags),
            )
        )
    adoption = np.unique(g[~never])
    if len(adoption) > 1:
        notes.append(
            Text(
                "event_study.note_staggered",
                "Adoption is staggered: with effects that differ by cohort, TWFE "
                "event-study coefficients can mix in other periods' effects (Sun & "
                "Abraham 2021); compare with a heterogeneity-robust estimator.",
            )
        )
    data_hash, hash_method = data_fingerprint(frame, used)
    return EventStudyResult(
        name=name or outcome,
        estimand=Text(
            "event_study.estimand",
            "Average effect on {outcome} over event times 0..{lags} after adoption "
            "(relative to event time {reference})",
            outcome=outcome,
            lags=str(lags),
            reference=str(reference),
        ),
        distribution=distribution,
        method=Text("event_study.method", "Event study (two-way fixed effects)"),
        inference=NotApplicable(distribution.reason)
        if isinstance(distribution, NoInference)
        else "randomization inference over placebo adoption dates (headline); CR2 by period"
        if method == "randomization"
        else method
        if clusters is None
        else Text(
            "inference.clustered",
            "{method} by {cluster}, {n} clusters",
            method=method,
            cluster=cluster,
            n=cov.n_clusters if cov.n_clusters is None else int(cov.n_clusters),
        ),
        unit=outcome_unit,
        population=Text(
            "event_study.population",
            "{treated} treated and {never} never-treated units, {periods} periods",
            treated=int(len(np.unique(index.unit[~never]))),
            never=int(len(np.unique(index.unit[never]))),
            periods=int(index.n_times),
        ),
        alpha=alpha,
        periods=periods,
        diagnostics=diagnostics,
        provenance=Provenance(
            spec={
                "outcome": outcome,
                "unit": unit,
                "time": time,
                "cohort": cohort,
                "leads": leads,
                "lags": lags,
                "reference": reference,
                "bin_endpoints": bin_endpoints,
                "never_treated": given_never,
                "cluster": cluster,
                "inference": inference,
                "weights": weights,
                "method": method,
                "alpha": alpha,
            },
            data_hash=data_hash,
            n_rows=index.n,
            n_dropped=n_dropped + n_outside,
        ),
        notes=tuple(notes),
        vcov=pd.DataFrame(cov.cov, index=event_times, columns=event_times),
        covariance_method=method,
        inference_rule=AUTO_RULE if inference == "auto" else f"user choice: {inference}",
        reference=reference,
        n_clusters=cov.n_clusters,
    )


def _pretrend_test(beta, cov, event_times, alpha) -> Diagnostic | NotApplicable:
    """Joint Wald test that all lead coefficients are 0, as ``F(q, df)``.

    ``df`` is the clusters' ``G - 1`` (CR0/CR1) or the smallest Satterthwaite df of the
    leads (CR2, conservative; the HTZ test of Pustejovsky & Tipton 2018 would refine it).
    """
    lead = [j for j, k in enumerate(event_times) if k < 0]
    if not lead:
        return NotApplicable(
            Text(
                "event_study.no_leads",
                "no pre-adoption event times besides the reference (leads < 2)",
            )
        )
    b = beta[lead]
    v = cov.cov[np.ix_(lead, lead)]
    try:
        w = float(b @ np.linalg.solve(v, b))
    except np.linalg.LinAlgError:
        return NotApplicable(Text("diag.singular_leads", "the covariance of the leads is singular"))
    q = len(lead)
    df = float(np.nanmin(cov.df[lead]))
    f = w / q
    p = float(stats.f.sf(f, q, df)) if math.isfinite(df) else float(stats.chi2.sf(w, q))
    return Diagnostic(
        name=Text("diag.pretrend_wald", "Pre-trend Wald test"),
        value=f,
        p_value=p,
        passed=p >= alpha,
        note=Text(
            "diag.pretrend_f",
            "F({q}, {df}) test that the {q} lead coefficients are all zero",
            q=q,
            df=Num(df, sig=4),
        ),
    )


__all__ = ["EventStudyResult", "event_study"]
