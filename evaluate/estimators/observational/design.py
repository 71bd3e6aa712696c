"""Observational comparisons: treated vs untreated without randomization.

One front door, :func:`observational`, estimates the effect on the treated (ATT,
the default: "what did the programme do for those who got it?") or the average
effect (ATE) by one of five methods:

* ``"difference"`` — the unadjusted difference in means (Welch SE): the naive
  comparison every adjusted estimate should be read against;
* ``"regression"`` — regression imputation: a linear outcome model fitted on the
  controls predicts the treated's untreated outcome (ATT; for the ATE one model per
  group).  The ATT equals the treatment coefficient of OLS with all treatment x
  covariate interactions and covariates centred at the treated means;
* ``"ipw"`` — inverse probability weighting with a logit propensity score:
  controls weighted by ``e/(1-e)`` (ATT) or everybody by ``1/e`` and ``1/(1-e)``
  (ATE), weights normalized within group (Hájek);
* ``"aipw"`` — doubly robust augmented IPW: the weighted residuals of the linear
  outcome model correct the regression estimate (ATT as in Moodie et al. 2018 /
  Sant'Anna & Zhao 2020; ATE as Robins, Rotnitzky & Zhao 1994);
* ``"matching"`` — nearest-neighbour matching with replacement on the logit of the
  propensity score or on the covariates (Mahalanobis), with an optional caliper.

Standard errors.  Regression, IPW and AIPW are M-estimators: the propensity
model, the outcome model and the effect are stacked and the sandwich variance
``J⁻¹ B J⁻ᵀ / n`` is computed from the stacked estimating equations (``J`` by
central differences), so the estimation of the propensity score and of the
outcome model is included (Lunceford & Davidian 2004).  Matching uses the
Abadie-Imbens (2006) variance for the population ATT with the conditional
variances estimated by matching controls to controls; it treats the propensity
score as known (Abadie & Imbens 2016 show the correction is small and, for the
ATE, that ignoring it is conservative).  ``bootstrap=B`` replaces any of these by a
seeded bootstrap (resampling within treatment groups, refitting everything); for
matching the bootstrap is not valid in theory (Abadie & Imbens 2008) and the
result says so.

Overlap diagnostics accompany every adjusted estimate: propensity score ranges by
group, the shares outside the common support, the effective sample size of the
weights, and covariate balance (standardized mean differences) before and after
weighting or matching.  ``trim`` drops units with scores outside
``[trim, 1 - trim]`` (counted) and refits the score; the estimand is then the
effect in the trimmed population, which the result states.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pandas as pd

from evaluate.data.validate import check_columns, check_frame, check_numeric
from evaluate.data.validate import drop_missing as _drop_missing
from evaluate.effect import Diagnostic, EffectResult, NotApplicable, Provenance, hash_frame
from evaluate.errors import DataError, DesignError, SpecError
from evaluate.estimators._renamed import renamed_options
from evaluate.estimators.observational._methods import (
    _bootstrap,
    _Fit,
    _fit,
    logit_fit,
    sandwich,
)
from evaluate.estimators.observational._words import (
    _ESS,
    _ESTIMATE,
    _GROUPS,
    _LABELS,
    _OUT_CONTROLS,
    _OUT_TREATED,
    _SE,
    _SHARE,
    estimand_text,
    matching_label,
    notes_for,
)
from evaluate.estimators.trials._trial_inference import _welch_dim
from evaluate.inference.distributions import Empirical, Normal, StudentT
from evaluate.limits import check_count
from evaluate.sensitivity_observational import (
    e_value_scale,
    observational_sensitivity,
)
from evaluate.text import Num, Text, say

if TYPE_CHECKING:
    from matplotlib.axes import Axes

Method = Literal["difference", "regression", "ipw", "aipw", "matching"]
Estimand = Literal["att", "ate"]
MatchOn = Literal["propensity", "covariates"]
_METHODS = ("difference", "regression", "ipw", "aipw", "matching")


# --------------------------------------------------------------------------- result
@dataclass(frozen=True, kw_only=True, eq=False)
class ObservationalResult(EffectResult):
    """An adjusted comparison with its overlap and balance diagnostics.

    ``balance`` has the standardized mean differences of every covariate before and
    after adjustment (weighting or matching), ``overlap`` the propensity score
    distribution by group.
    """

    estimand_short: str = "att"
    balance: pd.DataFrame = field(default_factory=pd.DataFrame)
    overlap: pd.DataFrame = field(default_factory=pd.DataFrame)
    counts: pd.DataFrame = field(default_factory=pd.DataFrame)
    scores: pd.DataFrame = field(default_factory=pd.DataFrame)
    e_value_scale: tuple[str, float] | None = None
    """How the E-values turn the effect into a risk ratio (see
    :func:`~evaluate.sensitivity_observational.e_value_scale`)."""

    def _summary_tables(self) -> list[tuple[str, pd.DataFrame]]:
        tables = [("Effect", self.to_frame().set_index("term"))]
        tables.append(("Units used", self.counts.set_index("group")))
        if not self.overlap.empty:
            tables.append(("Propensity score by group", self.overlap.set_index("group")))
        if not self.balance.empty:
            tables.append(("Covariate balance", self.balance.set_index("covariate")))
        diag = pd.DataFrame(
            {"result": [str(v) for v in self.diagnostics.values()]},
            index=pd.Index(list(self.diagnostics), name="diagnostic"),
        )
        return tables + [("Diagnostics", diag)]

    def plot(self, ax: Axes | None = None) -> Axes:
        """Propensity score distributions by group (overlap); the estimate without covariates."""
        if self.scores.empty:
            return super().plot(ax)
        import seaborn as sns

        from evaluate.plotting import _axes

        ax = _axes(ax)
        palette = sns.color_palette("deep")
        bins = np.linspace(0, 1, 41)
        for k, (label, group) in enumerate(self.scores.groupby("group", sort=False)):
            ax.hist(
                group["score"],
                bins=bins,
                density=True,
                alpha=0.5,
                color=palette[k],
                label=say(_GROUPS.get(label, label)),
            )
        ax.set_xlabel(say(Text("observational.plot_score", "propensity score")))
        ax.set_ylabel(say(Text("observational.plot_density", "density")))
        ax.set_title(
            say(
                Text(
                    "observational.plot_title",
                    "{name}: overlap of propensity scores",
                    name=self.name,
                )
            )
        )
        ax.legend(frameon=False)
        return ax


# --------------------------------------------------------------------------- diagnostics
def _smd_table(X, d, fit: _Fit, names, method) -> pd.DataFrame:
    t, c = d == 1, d == 0
    sd = np.sqrt((X[t].var(axis=0, ddof=1) + X[c].var(axis=0, ddof=1)) / 2)
    sd = np.where(sd > 0, sd, np.nan)
    m1, m0 = X[t].mean(axis=0), X[c].mean(axis=0)
    table = pd.DataFrame(
        {"covariate": names, "mean_treated": m1, "mean_control": m0, "smd_before": (m1 - m0) / sd}
    )
    if method in ("ipw", "aipw", "matching"):
        Xk, dk = X[fit.keep], d[fit.keep]
        a1 = fit.w_treated @ Xk[dk == 1]
        a0 = fit.w_control @ Xk[dk == 0]
        table["mean_treated_after"] = a1
        table["mean_control_after"] = a0
        table["smd_after"] = (a1 - a0) / sd
    return table


def _overlap(score, d, keep, weights) -> tuple[pd.DataFrame, dict[str, Diagnostic]]:
    n0 = int((d == 0).sum())
    rows = []
    for label, mask in (("treated", d == 1), ("control", d == 0)):
        s = score[mask]
        rows.append(
            {
                "group": label,
                "n": int(mask.sum()),
                "min": s.min(),
                "p05": np.quantile(s, 0.05),
                "median": np.median(s),
                "p95": np.quantile(s, 0.95),
                "max": s.max(),
                "trimmed": int((mask & ~keep).sum()),
            }
        )
    s1, s0 = score[d == 1], score[d == 0]
    out_t = float(np.mean((s1 > s0.max()) | (s1 < s0.min())))
    out_c = float(np.mean((s0 > s1.max()) | (s0 < s1.min())))
    # ESS of the weights the method used (ATT odds weights of the score otherwise)
    w = weights if weights is not None else s0 / (1 - s0)
    ess = float(w.sum() ** 2 / np.sum(w**2))
    diags = {
        _OUT_TREATED: Diagnostic(
            _SHARE,
            out_t,
            passed=out_t == 0,
            note=Text(
                "observational.treated_outside_note", "treated with a score beyond every control's"
            ),
        ),
        _OUT_CONTROLS: Diagnostic(
            _SHARE,
            out_c,
            note=Text(
                "observational.controls_outside_note",
                "controls with a score beyond every treated's (weight ~0 for ATT)",
            ),
        ),
        _ESS: Diagnostic(
            "ESS",
            ess,
            passed=ess >= 30,
            note=Text(
                "observational.ess_note",
                "(Σw)²/Σw² of the control weights; of {n} controls",
                n=n0,
            ),
        ),
    }
    return pd.DataFrame(rows), diags


# --------------------------------------------------------------------------- front door
@renamed_options("unit")
def observational(
    data: pd.DataFrame,
    *,
    outcome: str,
    treatment: str,
    covariates: Sequence[str] = (),
    method: Method = "regression",
    estimand: Estimand = "att",
    trim: float = 0.0,
    match_on: MatchOn = "propensity",
    neighbours: int = 1,
    caliper: float | None = None,
    bootstrap: int = 0,
    seed: int | None = 0,
    alpha: float = 0.05,
    drop_missing: bool = False,
    name: str | None = None,
    outcome_unit: str = "outcome units",
    population: str = "not stated",
    source: str = "",
    simulated: bool = False,
    placebo_outcomes: Sequence[str] = (),
    pseudo_treatment: str | None = None,
) -> ObservationalResult:
    """Effect of a treatment estimated without randomization.

    Parameters
    ----------
    data : one row per person; never modified.
    outcome, treatment : numeric outcome and a 0/1 treatment column.
    covariates : pre-treatment covariates for the propensity score and outcome model.
    method : "difference", "regression", "ipw", "aipw" or "matching" (see module doc).
    estimand : "att" (effect on the treated; default) or "ate" (not for matching).
    trim : drop units with propensity scores outside ``[trim, 1 - trim]`` (ipw, aipw,
        matching; counted); the score is refitted on the rest.
    match_on, neighbours, caliper : matching on the logit propensity score or the
        covariates (Mahalanobis), the number of neighbours, and the caliper (in SDs of
        the logit score, or Mahalanobis units).  Treated without a control within the
        caliper are dropped and counted.
    bootstrap, seed : number of bootstrap replications (0: analytic SE) and seed.
    alpha : 1 - confidence level.
    drop_missing : drop rows with missing values (counted) instead of raising.
    name, outcome_unit, population, source, simulated : labels for the report.
    placebo_outcomes : outcomes treatment cannot have changed (measured before it); each
        is re-estimated with the same options and shown as a diagnostic (should be 0).
    pseudo_treatment : a 0/1 column splitting the untreated into two groups; their
        comparison with the same options is shown as a diagnostic (should be 0).

    Examples
    --------
    >>> from evaluate.datasets import nsw_experimental, nsw_nonexperimental
    >>> treated = nsw_experimental().query("treat == 1")
    >>> psid = nsw_nonexperimental().query("sample == 'psid1'").drop(columns="sample")
    >>> res = observational(pd.concat([treated, psid]), outcome="re78", treatment="treat",
    ...                     method="difference")
    >>> round(res.estimate, 3)
    -15204.777
    """
    frame = check_frame(data)
    covariates = (covariates,) if isinstance(covariates, str) else tuple(covariates)
    _check_options(method, estimand, covariates, trim, neighbours, caliper, bootstrap, alpha)
    if match_on not in ("propensity", "covariates"):
        raise SpecError(f"match_on must be 'propensity' or 'covariates', got {match_on!r}.")
    columns = [outcome, treatment, *covariates]
    if len(set(columns)) != len(columns):
        raise SpecError(f"A column is used twice among outcome, treatment, covariates: {columns}.")
    check_columns(frame, columns)
    for column in columns:
        check_numeric(frame, column)
    work, n_dropped = _drop_missing(frame[columns], columns, allow=drop_missing, stacklevel=3)
    d = work[treatment].to_numpy(float)
    if not np.all(np.isin(d, (0.0, 1.0))):
        odd = sorted(set(d[~np.isin(d, (0.0, 1.0))].tolist()))[:5]
        raise DataError(
            f"Column {treatment!r} must be 1 (treated) or 0 (comparison); found {odd}. Recode it."
        )
    n1, n0 = int(d.sum()), int((1 - d).sum())
    if n1 < 2 or n0 < 2:
        raise DesignError(f"Need at least 2 treated and 2 comparison units; got {n1} and {n0}.")
    y = work[outcome].to_numpy(float)
    if np.ptp(y) == 0:
        raise DesignError(f"Every value of {outcome!r} equals {y[0]!r}; nothing to compare.")
    raw = work[list(covariates)].to_numpy(float)
    sd = raw.std(axis=0) if covariates else np.empty(0)
    flat = [cov for cov, s in zip(covariates, sd, strict=True) if s == 0]
    if flat:
        raise DesignError(f"Covariate(s) {flat} are constant in the data; drop them.")
    X = (raw - raw.mean(axis=0)) / sd if covariates else np.empty((len(y), 0))
    spec = {
        "outcome": outcome,
        "treatment": treatment,
        "covariates": list(covariates),
        "method": method,
        "estimand": estimand,
        "trim": float(trim),
        "match_on": match_on,
        "neighbours": int(neighbours),
        "caliper": caliper,
        "bootstrap": int(bootstrap),
        "seed": seed,
        "alpha": alpha,
    }
    fit = _fit(y, d, X, spec)
    diagnostics: dict[str, Diagnostic | NotApplicable] = {}
    notes: list[str] = []
    if method == "difference":
        v1, v0 = y[d == 1].var(ddof=1), y[d == 0].var(ddof=1)
        pooled = ((n1 - 1) * v1 + (n0 - 1) * v0) / (n1 + n0 - 2)
        diagnostics[Text("observational.pooled_se", "classical (pooled-variance) SE")] = Diagnostic(
            _SE,
            math.sqrt(pooled * (1 / n1 + 1 / n0)),
            note=Text("observational.pooled_se_note", "as printed in older studies"),
        )
        _, _, welch_df = _welch_dim(y[d == 1], y[d == 0])
        dist: Any = StudentT(fit.estimate, fit.se, welch_df)
        inference: Any = Text(
            "observational.inference_welch", "Welch (unequal-variance) SE, Welch-Satterthwaite df"
        )
    elif method == "matching":
        dist = Normal(fit.estimate, fit.se)
        inference = Text(
            "observational.inference_matching",
            "Abadie-Imbens (2006) SE (propensity score treated as known)",
        )
    else:
        dist = Normal(fit.estimate, fit.se)
        inference = Text(
            "observational.inference_sandwich",
            "sandwich SE of the stacked estimating equations (nuisance models included)",
        )
    if bootstrap:
        samples = _bootstrap(y, d, X, spec)
        diagnostics[Text("observational.analytic_se", "analytic SE")] = Diagnostic(
            _SE, fit.se, note=inference
        )
        dist = Empirical(fit.estimate, samples)
        inference = Text(
            "observational.inference_bootstrap",
            "bootstrap, {n} replications resampled within groups (seed {seed}), "
            "percentile interval",
            n=int(bootstrap),
            seed=str(seed),
        )
        if method == "matching":
            notes.append(
                Text(
                    "observational.note_bootstrap_matching",
                    "The bootstrap is not valid for nearest-neighbour matching (Abadie & "
                    "Imbens 2008); prefer the analytic Abadie-Imbens SE (bootstrap=0).",
                )
            )
    keep = fit.keep
    overlap = pd.DataFrame()
    scores = pd.DataFrame()
    if fit.score is not None:
        used = fit.w_control if method in ("ipw", "aipw", "matching") else None
        overlap, overlap_diags = _overlap(fit.score, d, keep, used)
        diagnostics.update(overlap_diags)
        scores = pd.DataFrame({"group": np.where(d == 1, "treated", "control"), "score": fit.score})
    else:
        diagnostics[Text("observational.overlap", "overlap")] = NotApplicable(
            Text("observational.no_score", "no covariates: no propensity score")
        )
    balance = _smd_table(raw, d, fit, list(covariates), method) if covariates else pd.DataFrame()
    if "smd_after" in balance:
        worst = float(np.nanmax(np.abs(balance["smd_after"])))
        diagnostics[Text("observational.largest_smd", "largest |SMD| after adjustment")] = (
            Diagnostic(
                "SMD",
                worst,
                passed=worst < 0.1,
                note=Text(
                    "observational.largest_smd_note",
                    "below {limit} is conventionally balanced",
                    limit=Num(0.1, decimals=1),
                ),
            )
        )
    diagnostics.update(
        observational_sensitivity(
            y,
            d,
            X,
            estimate=fit.estimate,
            se=float(dist.std_error),
            alpha=alpha,
            pair_differences=fit.pair_differences,
            controls_reused=fit.controls_reused,
            matched=method == "matching",
            ci=dist.interval(alpha),
            att=estimand == "att",
        )
    )
    diagnostics.update(
        _placebo_checks(data, spec, placebo_outcomes, pseudo_treatment, drop_missing)
    )
    n_trim = int((~keep).sum())
    counts = pd.DataFrame(
        {
            "group": ["treated", "control"],
            "n": [n1, n0],
            "trimmed": [int((~keep & (d == 1)).sum()), int((~keep & (d == 0)).sum())],
            "unmatched": [fit.n_unmatched, fit.n_controls_unused],
        }
    )
    counts["used"] = counts["n"] - counts["trimmed"] - counts["unmatched"]
    notes += notes_for(spec, n_trim, fit, diagnostics, n1)
    what = estimand_text(
        method, estimand, treatment, outcome, trimmed=bool(n_trim or fit.n_unmatched)
    )
    label = (
        _LABELS[method] if method != "matching" else matching_label(match_on, neighbours, caliper)
    )
    return ObservationalResult(
        name=name or outcome,
        estimand=what,
        distribution=dist,
        method=label,
        inference=inference,
        unit=outcome_unit,
        population=population,
        alpha=alpha,
        diagnostics=diagnostics,
        provenance=Provenance(
            spec=spec,
            data_hash=hash_frame(work),
            n_rows=len(work),
            n_dropped=n_dropped,
            source=source,
            simulated=simulated,
        ),
        notes=tuple(notes),
        estimand_short=estimand,
        balance=balance,
        overlap=overlap,
        counts=counts,
        scores=scores,
        e_value_scale=e_value_scale(y, d, fit.estimate, dist.interval(alpha), estimand == "att"),
    )


def _placebo_checks(
    data, spec, outcomes, pseudo, drop_missing
) -> dict[str, Diagnostic | NotApplicable]:
    """Re-estimate with a placebo outcome or among the untreated (see the docstring)."""
    outcomes = (outcomes,) if isinstance(outcomes, str) else tuple(outcomes)
    if not outcomes and pseudo is None:
        return {}
    options = {k: v for k, v in spec.items() if k not in ("outcome", "treatment")}
    options["covariates"] = tuple(options["covariates"])
    options["drop_missing"] = drop_missing
    out: dict[str, Diagnostic | NotApplicable] = {}
    for column in outcomes:
        out[Text("observational.placebo_outcome", "placebo outcome {column}", column=column)] = (
            placebo_outcome(
                data,
                placebo=column,
                outcome=spec["outcome"],
                treatment=spec["treatment"],
                **options,
            )
        )
    if pseudo is not None:
        key = Text(
            "observational.pseudo_treatment",
            "pseudo-treatment {column} among the untreated",
            column=pseudo,
        )
        out[key] = placebo_treatment(
            data,
            pseudo_treatment=pseudo,
            outcome=spec["outcome"],
            treatment=spec["treatment"],
            **options,
        )
    return out


def _check_options(method, estimand, covariates, trim, neighbours, caliper, bootstrap, alpha):
    if method not in _METHODS:
        raise SpecError(f"method must be one of {list(_METHODS)}, got {method!r}.")
    if estimand not in ("att", "ate"):
        raise SpecError(f"estimand must be 'att' or 'ate', got {estimand!r}.")
    if method == "matching" and estimand == "ate":
        raise SpecError("Matching estimates the ATT only here; use estimand='att' or aipw.")
    if method != "difference" and not covariates:
        raise SpecError(f"method={method!r} needs covariates=[...] to adjust for.")
    if not (isinstance(trim, (int, float)) and 0 <= trim < 0.5):
        raise SpecError(f"trim must lie in [0, 0.5), got {trim!r}.")
    if trim and method in ("difference", "regression"):
        raise SpecError("trim applies to the propensity methods (ipw, aipw, matching).")
    if method != "matching" and (caliper is not None or neighbours != 1):
        raise SpecError("caliper and neighbours apply to method='matching' only.")
    if caliper is not None and not (isinstance(caliper, (int, float)) and caliper > 0):
        raise SpecError(f"caliper must be a positive number, got {caliper!r}.")
    if not isinstance(neighbours, (int, np.integer)) or neighbours < 1:
        raise SpecError(f"neighbours must be a positive integer, got {neighbours!r}.")
    if not isinstance(bootstrap, (int, np.integer)) or bootstrap < 0 or 0 < bootstrap < 100:
        raise SpecError(f"bootstrap must be 0 or at least 100 replications, got {bootstrap!r}.")
    check_count("bootstrap", int(bootstrap))
    if not 0 < alpha < 1:
        raise SpecError(f"alpha must lie strictly between 0 and 1, got {alpha!r}.")


# --------------------------------------------------------------------------- placebo checks
def placebo_outcome(
    data: pd.DataFrame, *, placebo: str, outcome: str, **options: Any
) -> Diagnostic:
    """Rerun :func:`~evaluate.estimators.observational.design.observational` on an outcome
    the treatment cannot have changed (``placebo``, measured before treatment)."""
    if placebo == outcome or placebo in options.get("covariates", ()):
        raise SpecError(
            f"placebo outcome {placebo!r} must differ from the outcome and the covariates."
        )
    res = observational(data, outcome=placebo, **options)
    return Diagnostic(
        _ESTIMATE,
        res.estimate,
        p_value=res.p_value,
        passed=res.p_value >= res.alpha,
        note=Text(
            "observational.placebo_outcome_note",
            "effect on '{column}', which treatment cannot have changed: should be 0",
            column=placebo,
        ),
    )


def placebo_treatment(
    data: pd.DataFrame, *, pseudo_treatment: str, treatment: str, **options: Any
) -> Diagnostic:
    """Compare two untreated groups (``pseudo_treatment`` 1 vs 0 among ``treatment == 0``)."""
    for column in (pseudo_treatment, treatment):
        if column not in data.columns:
            raise DataError(f"column {column!r} is not in the data.")
    untreated = data[data[treatment] == 0]
    res = observational(untreated, treatment=pseudo_treatment, **options)
    return Diagnostic(
        _ESTIMATE,
        res.estimate,
        p_value=res.p_value,
        passed=res.p_value >= res.alpha,
        note=Text(
            "observational.pseudo_treatment_note",
            "'{column}' = 1 vs 0 among the untreated: both untreated, should be 0",
            column=pseudo_treatment,
        ),
    )


__all__ = [
    "ObservationalResult",
    "logit_fit",
    "observational",
    "placebo_outcome",
    "placebo_treatment",
    "sandwich",
]
