"""Two-way fixed effects (TWFE) regression: ``y_it = a_i + l_t + b * D_it + e_it``.

A lean numpy engine rather than a general fixed-effects solver, because the
designs here have exactly two fixed-effect dimensions (unit and time):

* balanced panel: the within transformation is closed-form,
  ``x - mean_i(x) - mean_t(x) + mean(x)``, four ``bincount`` passes, no iteration;
* unbalanced panel: demean by unit, then solve the small ``T x T`` normal equations
  of the time effects exactly (``(V' M_U V) g = V' M_U x``, FWL), again no iteration.
  Only when both dimensions exceed a few thousand levels do we fall back to
  alternating projections.

Memory stays at a few arrays of length n (5M rows ~ 40 MB each).  Inference comes
from :mod:`evaluate.inference.covariance` (CR0/CR1/CR1-stata/CR2, HC1/HC2) or the
wild cluster bootstrap.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd

from evaluate.data.validate import check_columns, check_frame, check_numeric
from evaluate.data.validate import drop_missing as _drop_missing
from evaluate.effect import EffectResult, FrameHash, NotApplicable, Provenance, hash_frame
from evaluate.errors import DesignError, SpecError
from evaluate.estimators.did._fe_kernels import any_nonzero_by_group, pair_codes, treatment_timing
from evaluate.estimators.did._fe_kernels import std as fe_std
from evaluate.estimators.did._panel_covariance import panel_covariance
from evaluate.estimators.did._treatment import binary_treatment, check_absorbing
from evaluate.estimators.did._within import (
    PanelIndex,
    analytic_weights,
    factorize,
    fit_within,
    panel_index,
    within,
)
from evaluate.inference.bootstrap import (
    WildBootstrapResult,
    WildBootstrapT,
    wild_cluster_bootstrap,
)
from evaluate.inference.covariance import (
    AUTO_RULE,
    COVARIANCE_ESTIMATORS,
    CovarianceEstimate,
    choose_covariance,
    choose_inference,
)
from evaluate.inference.degenerate import (
    NoInference,
    degenerate_reason,
    randomization_reason,
    refuse,
)
from evaluate.inference.distributions import DF_FLOOR, Distribution, Normal, StudentT
from evaluate.inference.randomization import Randomization, placebo_assignments
from evaluate.text import Num, Text

Inference = Literal[
    "auto", "classical", "HC1", "HC2", "CR0", "CR1", "CR1-stata", "CR2", "wild", "randomization"
]


def resolve_inference(
    inference: str,
    clusters: np.ndarray | None,
    treated_by_cluster: np.ndarray | None,
    *,
    placebo: bool = False,
) -> tuple[str, str]:
    """The inference to use (:data:`~evaluate.inference.covariance.AUTO_RULE` for
    ``"auto"``) and a note when ``"auto"`` did not pick CR1.

    ``placebo`` says whether the design can re-estimate under placebo assignments
    (clusters are the units and the panel is balanced).
    """
    allowed = ("auto", "wild", "randomization", *COVARIANCE_ESTIMATORS)
    if inference not in allowed:
        raise SpecError(f"inference={inference!r} is not one of {', '.join(allowed)}.")
    if inference == "randomization" and not placebo:
        raise SpecError(
            "inference='randomization' reassigns the treatment across units: it needs "
            "cluster='unit' and a balanced panel (one row per unit and period)."
        )
    if inference != "auto":
        if (
            clusters is None
            and inference.startswith("CR")
            or (clusters is None and inference == "wild")
        ):
            raise SpecError(f"inference={inference!r} is cluster-robust; pass cluster=.")
        if inference == "wild" and treated_by_cluster is not None:
            lone = min(int(treated_by_cluster.sum()), int((~treated_by_cluster).sum()))
            if lone <= 1:
                # MacKinnon & Webb (2017): with one treated (or one control) cluster the
                # restricted wild bootstrap cannot mimic the treated cluster's noise.
                raise DesignError(
                    "inference='wild' needs at least 2 treated and 2 control clusters; "
                    f"this design has {int(treated_by_cluster.sum())} treated of "
                    f"{len(treated_by_cluster)}. Use inference='randomization' (placebo "
                    "assignments to the control units, cluster='unit') or 'auto'."
                )
        return inference, ""
    if clusters is None:
        return choose_covariance(None)
    n_g = int(clusters.max()) + 1
    n_treated = None if treated_by_cluster is None else int(treated_by_cluster.sum())
    n_control = None if treated_by_cluster is None else int((~treated_by_cluster).sum())
    return choose_inference(n_g, n_treated, n_control_clusters=n_control, placebo=placebo)


def coefficient_distribution(
    estimate: float,
    se: float,
    df: float,
    *,
    scale: float | None = None,
    warn: bool = True,
) -> Distribution:
    """Student-t (finite df) or normal (infinite df) reference of a coefficient.

    With ``scale`` (the outcome's spread) a standard error that is exactly zero, or
    not finite, gives :class:`~evaluate.inference.degenerate.NoInference` (and a
    warning when ``warn``): :mod:`evaluate.inference.degenerate`.
    """
    if scale is not None:
        reason = degenerate_reason(se, max(scale, abs(estimate)), df)
        if reason is not None:
            return refuse(estimate, reason, stacklevel=4) if warn else NoInference(estimate, reason)
    if math.isfinite(df):
        return StudentT(estimate, se, max(float(df), DF_FLOOR))
    return Normal(estimate, se)


# --------------------------------------------------------------------------- result
@dataclass(frozen=True, kw_only=True, eq=False)
class TWFEResult(EffectResult):
    """Result of :func:`twfe`: the treatment coefficient and the panel's description.

    ``coefficients`` holds every regressor (treatment first) with its standard
    error, reference df and interval; ``covariance_method`` the convention used.
    """

    coefficients: pd.DataFrame = field(default_factory=pd.DataFrame)
    covariance_method: str = ""
    inference_rule: str = ""
    n_units: int = 0
    n_periods: int = 0
    n_clusters: int | None = None
    balanced: bool = True

    def _extra_terms(self) -> list[dict[str, Any]]:
        rows = []
        for _, row in self.coefficients.iloc[1:].iterrows():
            rows.append(
                {
                    **{c: row[c] for c in ("term", "estimate", "std_error")},
                    "ci_low": row["ci_low"],
                    "ci_high": row["ci_high"],
                    "p_value": row["p_value"],
                    "unit": "outcome units",
                }
            )
        return rows

    def _summary_header(self) -> list[tuple[str, object]]:
        panel = "balanced" if self.balanced else "unbalanced"
        return super()._summary_header() + [
            ("Panel", f"{self.n_units} units x {self.n_periods} periods ({panel})"),
            ("Clusters", "none" if self.n_clusters is None else self.n_clusters),
        ]


def coefficient_table(
    names: list[str],
    beta: np.ndarray,
    cov: CovarianceEstimate,
    alpha: float,
    scale: float | None = None,
) -> pd.DataFrame:
    """One row per coefficient: estimate, SE, df, CI and p-value under ``cov``
    (NaN where the SE is degenerate, given the outcome's ``scale``)."""
    se = cov.std_errors
    rows = []
    for j, name in enumerate(names):
        dist = coefficient_distribution(
            float(beta[j]), float(se[j]), float(cov.df[j]), scale=scale, warn=False
        )
        low, high = dist.interval(alpha)
        rows.append(
            {
                "term": name,
                "estimate": float(beta[j]),
                "std_error": float(dist.std_error),
                "df": float(cov.df[j]),
                "ci_low": low,
                "ci_high": high,
                "p_value": dist.p_value(0.0),
            }
        )
    return pd.DataFrame(rows)


def cluster_codes(frame: pd.DataFrame, cluster: str | None, unit: str, index: PanelIndex):
    """Integer cluster codes (``"unit"`` or the unit column means the unit codes)."""
    if cluster is None:
        return None
    if cluster in ("unit", unit):
        return index.unit
    return pd.factorize(frame[cluster])[0].astype(np.intp)


# --------------------------------------------------------------------------- front door
def twfe(
    data: pd.DataFrame,
    *,
    outcome: str,
    unit: str,
    time: str,
    treatment: str,
    covariates: tuple[str, ...] | list[str] = (),
    fixed_effects: tuple[str, ...] | list[str] = (),
    cluster: str | None = "unit",
    inference: Inference = "auto",
    weights: str | None = None,
    allow_switching: bool = False,
    alpha: float = 0.05,
    drop_missing: bool = True,
    n_boot: int = 999,
    seed: int | None = 0,
    name: str | None = None,
    outcome_unit: str = "outcome units",
) -> TWFEResult:
    """Two-way fixed-effects regression of ``outcome`` on ``treatment`` (+ covariates).

    Parameters
    ----------
    data : long panel, one row per unit and period (never modified).
    outcome, unit, time, treatment : column names; ``treatment`` holds 0/1 (or
        True/False): any other value is a :class:`~evaluate.errors.DataError`.
    covariates : further time-varying regressors.
    fixed_effects : further fixed effects to absorb beside unit and period, each a
        column (``"month"``) or an interaction of columns joined by ``^``
        (``"region^year"``: one effect per region and year, as in pyfixest/fixest).
        Inference is then CR1, CR0, CR1-stata, HC1, classical or wild (no weights);
        the negative-weights diagnostic is not computed.
    cluster : column to cluster on (``"unit"`` = the unit column) or ``None`` for
        heteroskedasticity-robust errors.
    inference : a covariance from :data:`~evaluate.inference.covariance.COVARIANCE_ESTIMATORS`,
        ``"wild"`` (wild cluster bootstrap, restricted), ``"randomization"`` (placebo
        assignments of the treatment paths to other units; balanced panel clustered
        by unit) or ``"auto"``: randomization with fewer than 10 treated (or untreated)
        units, else CR2 with fewer than 30 clusters, treated or control clusters, else
        CR1; HC2 without clusters (``inference_rule`` and the notes say which and why).
        ``"classical"`` gives iid OLS standard errors.  A standard error the design
        makes exactly zero is refused (:mod:`evaluate.inference.degenerate`).
    weights : column of analytic (regression) weights, e.g. population: weighted
        least squares with weighted fixed effects; every covariance is the weighted
        one (estimatr / clubSandwich), ``n`` in small-sample factors counts rows.
    allow_switching : ``False`` (default) requires an absorbing treatment (once on,
        on for good) and names the first unit and period where it switches off;
        ``True`` admits treatments that end.
    alpha : 1 - confidence level.
    drop_missing : drop (and count, and warn about) rows with missing values;
        ``False`` raises instead.
    n_boot, seed : draws and seed of the wild bootstrap or of the random placebo
        assignments (with one treated unit every assignment is used).
    outcome_unit : what the outcome counts ("persons", "full-time persons", "share",
        ...); the effect is in this unit, and a benefit rate prices it when it is
        persons or full-time persons.

    Examples
    --------
    >>> from evaluate.datasets import mpdta
    >>> df = mpdta()
    >>> df["D"] = ((df["first.treat"] > 0) & (df["year"] >= df["first.treat"])).astype(int)
    >>> res = twfe(df, outcome="lemp", unit="countyreal", time="year", treatment="D")
    >>> round(res.estimate, 6)
    -0.036549
    """
    check_frame(data)
    covariates = tuple(covariates)
    absorbed = tuple(fixed_effects)
    fe_columns = [c for spec in absorbed for c in _fe_columns(spec)]
    cols = [outcome, unit, time, treatment, *covariates, *fe_columns]
    if cluster not in (None, "unit"):
        cols.append(cluster)
    if weights is not None:
        cols.append(weights)
    check_columns(data, dict.fromkeys(cols))
    for c in (outcome, treatment, *covariates):
        check_numeric(data, c)
    if not 0 < alpha < 1:
        raise SpecError(f"alpha must lie strictly between 0 and 1, got {alpha!r}.")
    if absorbed and weights is not None:
        raise SpecError("fixed_effects cannot yet be combined with weights; drop one of them.")
    used = list(dict.fromkeys(cols))
    frame, n_dropped = _drop_missing(data[used], used, allow=drop_missing)
    hashing = FrameHash(frame)  # hash_frame(used), on a thread beside the fit
    extra = tuple(_fe_codes(frame, spec) for spec in absorbed)
    index = panel_index(frame[unit], frame[time], extra)
    if index.n_times < 2 or index.n_units < 2:
        raise DesignError(
            f"TWFE needs at least 2 units and 2 periods; found {index.n_units} units and "
            f"{index.n_times} periods."
        )
    # Outcome, treatment and covariates side by side in one Fortran array: contiguous
    # columns, and the within transformation reads them in place.
    yx = np.empty((index.n, 2 + len(covariates)), order="F")
    yx[:, 0] = frame[outcome].to_numpy(dtype=float)
    y = yx[:, 0]
    d = binary_treatment(frame, treatment, out=yx[:, 1])
    timing = treatment_timing(index.unit, index.time, d, index.n_units, index.n_times)
    if not allow_switching and timing[1]:  # some unit's treatment switches off
        check_absorbing(frame, d, treatment, unit, time)  # names the unit and period
    w = analytic_weights(frame, weights)
    x = yx[:, 1:]  # the treatment is in place
    for j, c in enumerate(covariates, start=1):
        x[:, j] = frame[c].to_numpy(dtype=float)
    names = [treatment, *covariates]
    fit = fit_within(index, y, x, names, w, yx=yx)
    scale = float(fe_std(y))  # rounding scale of the outcome
    clusters = cluster_codes(frame, cluster, unit, index)
    treated_by_cluster = None
    if clusters is not None:
        n_g = int(clusters.max()) + 1
        treated_by_cluster = any_nonzero_by_group(clusters, x[:, 0], n_g)  # one pass
    placebo = clusters is index.unit and index.balanced and w is None and not absorbed
    method, note = resolve_inference(inference, clusters, treated_by_cluster, placebo=placebo)
    if w is not None and method == "wild":
        raise SpecError("inference='wild' is not available with weights; use CR2 or CR1.")
    wild = None
    if method == "randomization":
        from evaluate.estimators.did._placebo import twfe_placebo  # builds on this module

        perms, exhaustive = placebo_assignments(treated_by_cluster, n_draws=n_boot, seed=seed)
        u, c = twfe_placebo(index, y, x, perms)
        placebo_dist = Randomization(float(fit.beta[0]), u, c, exhaustive)
        cov = panel_covariance(index, fit, x, clusters, "CR2")
        placebo_note = placebo_dist.note(alpha)
    elif method == "wild":
        boot = wild_cluster_bootstrap(
            fit.x, fit.y, clusters, coef=0, n_boot=n_boot, seed=seed, alpha=alpha
        )
        cov = panel_covariance(index, fit, x, clusters, "CR1")
        wild = boot.distribution()
        note = wild_note(boot, wild, alpha)
    else:
        cov = panel_covariance(index, fit, x, clusters, method, w)
    table = coefficient_table(names, fit.beta, cov, alpha, scale)
    if method in ("randomization", "wild"):
        # One interval everywhere: the table's row is the headline distribution's.
        dist: Distribution = (
            placebo_or_refusal(placebo_dist, alpha, scale) if method == "randomization" else wild
        )
        table.loc[0, ["std_error", "df", "ci_low", "ci_high", "p_value"]] = [
            dist.std_error, math.nan, *dist.interval(alpha), dist.p_value(0.0)
        ]  # fmt: skip
    else:
        dist = coefficient_distribution(
            float(fit.beta[0]), float(cov.std_errors[0]), float(cov.df[0]), scale=scale
        )
    notes = [note] if note else []
    if method == "randomization":
        notes.append(placebo_note)
    singletons = int((index.unit_counts == 1).sum())
    if singletons:
        notes.append(
            f"{singletons} units are observed once: they do not inform the estimate but count "
            "in n (Stata reghdfe and pyfixest drop them by default, which changes CR1 slightly)."
        )
    # Local import: twfe_weights builds on this module's within engine.
    from evaluate.estimators.did.twfe_weights import negative_weights_diagnostic

    if absorbed:
        weights_diagnostic: Any = NotApplicable(
            Text(
                "twfe_weights.more_effects",
                "computed for unit and period effects only, not with further fixed effects",
            )
        )
    else:
        weights_diagnostic = negative_weights_diagnostic(
            index,
            x[:, 0],
            covariates=x[:, 1:] if covariates else None,
            tilde=fit.x if w is None else None,
            warn=True,
            timing=timing,
        )
    data_hash = hashing.result()
    return TWFEResult(
        name=name or outcome,
        estimand=Text(
            "twfe.estimand",
            "Effect of {treatment} on {outcome} (two-way fixed effects: {unit} and {time})",
            treatment=treatment,
            outcome=outcome,
            unit=unit,
            time=time,
        ),
        distribution=dist,
        method=Text("twfe.method", "Two-way fixed effects regression"),
        inference=inference_label(
            dist, _inference_label(cov, method, clusters is not None, cluster)
        ),
        unit=outcome_unit,
        population=Text(
            "twfe.population",
            "{units} units observed over {periods} periods",
            units=int(index.n_units),
            periods=int(index.n_times),
        ),
        alpha=alpha,
        diagnostics={Text("diag.negative_weights", "negative weights"): weights_diagnostic},
        provenance=Provenance(
            spec={
                "outcome": outcome,
                "unit": unit,
                "time": time,
                "treatment": treatment,
                "covariates": list(covariates),
                **({"fixed_effects": list(absorbed)} if absorbed else {}),
                "cluster": cluster,
                "inference": inference,
                "weights": weights,
                "allow_switching": allow_switching,
                "method": method,
                "alpha": alpha,
                "n_boot": n_boot,
                "seed": seed,
            },
            data_hash=data_hash,
            n_rows=index.n,
            n_dropped=n_dropped,
        ),
        notes=tuple(notes),
        coefficients=table,
        covariance_method=method,
        inference_rule=AUTO_RULE if inference == "auto" else f"user choice: {inference}",
        n_units=index.n_units,
        n_periods=index.n_times,
        n_clusters=cov.n_clusters,
        balanced=index.balanced,
    )


def placebo_or_refusal(dist: Randomization, alpha: float, scale: float) -> Distribution:
    """The randomization distribution, or :class:`NoInference` when too few placebo
    assignments exist for any test at level ``alpha`` (e.g. one treated, one control
    unit) or every placebo estimate equals the actual one (a constant outcome)."""
    reason = randomization_reason(dist.n_assignments, alpha) or degenerate_reason(
        dist.std_error, max(scale, abs(dist.estimate))
    )
    return dist if reason is None else refuse(dist.estimate, reason, stacklevel=4)


def inference_label(dist: Distribution, label: Any) -> Any:
    """``label``, or a :class:`~evaluate.effect.NotApplicable` saying why inference was refused."""
    return NotApplicable(dist.reason) if isinstance(dist, NoInference) else label


def _fe_columns(spec: str) -> list[str]:
    """The columns of a fixed-effect entry (``"region^year"`` -> region, year)."""
    if not isinstance(spec, str) or not all(part.strip() for part in spec.split("^")):
        raise SpecError(
            f"fixed_effects entries are column names or interactions such as "
            f"'region^year'; got {spec!r}."
        )
    return [part.strip() for part in spec.split("^")]


def _fe_codes(frame: pd.DataFrame, spec: str) -> np.ndarray:
    """Integer codes ``0..L-1`` of a fixed effect (one level per combination, in order
    of first appearance)."""
    codes, n_codes = None, 0
    for column in _fe_columns(spec):
        part, levels = factorize(frame[column], sort=False)
        if codes is None:
            codes, n_codes = part, len(levels)
        elif n_codes * len(levels) <= 4 * len(part) + 1024:
            codes, n_codes = pair_codes(codes, part, n_codes, len(levels))  # dense table
        else:
            codes, pairs = factorize(codes * len(levels) + part, sort=False)
            n_codes = len(pairs)
    return codes


def data_fingerprint(frame: pd.DataFrame, columns: list[str]) -> tuple[str, str]:
    """SHA-256 of the data used (:func:`evaluate.effect.hash_frame`), and its method."""
    return hash_frame(frame[columns]), "hash_frame"


def wild_note(boot: WildBootstrapResult, dist: WildBootstrapT, alpha: float) -> Text:
    """The wild bootstrap's note, with the same interval and p-value as the result."""
    low, high = dist.interval(alpha)
    return Text(
        "wild.note",
        "Wild cluster bootstrap ({weights}, {draws} draws, null imposed): p = {p}, "
        "test-inversion interval [{low}, {high}].",
        weights=boot.weights,
        draws=int(boot.n_boot),
        p=Num(dist.p_value(0.0), sig=4),
        low=Num(low, sig=4),
        high=Num(high, sig=4),
    )


def _inference_label(cov: CovarianceEstimate, method: str, clustered: bool, cluster) -> str:
    if method == "wild":
        return f"wild cluster bootstrap by {cluster} (bootstrap-t)"
    if method == "randomization":
        return Text(
            "twfe.inference_randomization",
            "randomization inference over placebo assignments to units",
        )
    where = f" by {cluster}, {cov.n_clusters} clusters" if clustered and cov.n_clusters else ""
    return f"{method}{where}"


__all__ = ["PanelIndex", "TWFEResult", "fit_within", "panel_index", "twfe", "within"]
