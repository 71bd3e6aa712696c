"""Two-group, two-period difference-in-differences (2x2 DiD).

The estimate is the change in the treated group's mean minus the change in the
comparison group's mean,

    DiD = (ybar_T,post - ybar_T,pre) - (ybar_C,post - ybar_C,pre),

which equals the interaction coefficient of ``y ~ 1 + treated + post + treated:post``
(plus covariates, when given, which change the estimate).  The regression form
carries the inference (heteroskedasticity- or cluster-robust, see
:mod:`evaluate.inference.covariance`, or a wild cluster bootstrap); the means
table is kept in the result and shown in its summary.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from evaluate.data.validate import check_columns, check_frame, check_numeric
from evaluate.data.validate import drop_missing as _drop_missing
from evaluate.effect import EffectResult, Provenance, hash_frame
from evaluate.errors import DataError, DesignError, SpecError
from evaluate.estimators.did._placebo import did_placebo
from evaluate.estimators.did._treatment import binary_treatment
from evaluate.estimators.did._within import analytic_weights
from evaluate.estimators.did.twfe import (
    Inference,
    coefficient_distribution,
    inference_label,
    placebo_or_refusal,
    resolve_inference,
    wild_note,
)
from evaluate.inference.bootstrap import wild_cluster_bootstrap
from evaluate.inference.covariance import (
    AUTO_RULE,
    CovarianceEstimate,
    RegressionDesign,
    covariance,
)
from evaluate.inference.distributions import Distribution
from evaluate.inference.randomization import Randomization, placebo_assignments
from evaluate.text import Text

if TYPE_CHECKING:
    from matplotlib.axes import Axes


@dataclass(frozen=True, kw_only=True, eq=False)
class DiDResult(EffectResult):
    """Result of :func:`did`.

    ``means`` is the 2x2 table of group x period means (rows ``control``,
    ``treated``, ``difference``; columns ``pre``, ``post``, ``change`` and the cell
    counts ``n_pre``, ``n_post``); ``coefficients`` the regression form.
    """

    means: pd.DataFrame = field(default_factory=pd.DataFrame)
    coefficients: pd.DataFrame = field(default_factory=pd.DataFrame)
    covariance_method: str = ""
    inference_rule: str = ""
    n_clusters: int | None = None

    def _summary_tables(self) -> list[tuple[str, pd.DataFrame]]:
        tables = super()._summary_tables()
        tables.insert(1, ("Group x period means", self.means))
        tables.insert(2, ("Regression form", self.coefficients.set_index("term")))
        return tables

    def plot(self, ax: Axes | None = None) -> Axes:
        """Group means before and after, with the treated group's counterfactual path."""
        import seaborn as sns

        from evaluate.plotting import _axes

        ax = _axes(ax)
        palette = sns.color_palette("deep")
        x = [0, 1]
        control = self.means.loc["control", ["pre", "post"]].to_numpy(dtype=float)
        treated = self.means.loc["treated", ["pre", "post"]].to_numpy(dtype=float)
        ax.plot(x, control, marker="o", color=palette[0], label="comparison group")
        ax.plot(x, treated, marker="o", color=palette[1], label="treated group")
        counterfactual = [treated[0], treated[0] + control[1] - control[0]]
        ax.plot(
            x,
            counterfactual,
            linestyle="--",
            color=palette[1],
            alpha=0.6,
            label="treated without treatment (parallel trends)",
        )
        ax.annotate(
            f"DiD = {self.estimate:.3g}",
            xy=(1, (treated[1] + counterfactual[1]) / 2),
            xytext=(6, 0),
            textcoords="offset points",
            va="center",
        )
        ax.set_xticks(x, ["pre", "post"])
        ax.set_xlim(-0.3, 1.5)
        ax.set_ylabel(f"mean {self.name}")
        ax.set_title(f"{self.name}: group means")
        ax.legend(frameon=False)
        return ax


def _binary(frame: pd.DataFrame, column: str) -> np.ndarray:
    values = frame[column]
    if pd.api.types.is_bool_dtype(values):
        return values.to_numpy(dtype=float)
    check_numeric(frame, column)
    arr = values.to_numpy(dtype=float)
    odd = ~np.isin(arr, (0.0, 1.0))
    if odd.any():
        raise DataError(
            f"Column {column!r} must be 0/1 (or boolean) but holds {arr[odd][0]!r}. "
            "Recode it, e.g. data[column] == value."
        )
    return arr


def did(
    data: pd.DataFrame,
    *,
    outcome: str,
    unit: str,
    time: str,
    treated: str,
    post: str | None = None,
    covariates: tuple[str, ...] | list[str] = (),
    cluster: str | None = "unit",
    inference: Inference = "auto",
    weights: str | None = None,
    alpha: float = 0.05,
    drop_missing: bool = True,
    n_boot: int = 999,
    seed: int | None = 0,
    name: str | None = None,
    outcome_unit: str = "outcome units",
) -> DiDResult:
    """Two-group, two-period difference-in-differences.

    Parameters
    ----------
    data : long data, one row per unit and period (never modified).
    outcome : outcome column (numeric).
    unit, time : unit identifier and period columns.
    treated : 0/1 column marking the treated group (constant within a unit).
    post : 0/1 column marking the post period; ``None`` when ``time`` has exactly
        two values (the later one is "post").
    covariates : extra regressors in the regression form (they change the estimate
        away from the plain means contrast).
    cluster : column to cluster on (``"unit"`` = the unit column) or ``None``.
    inference : covariance convention, ``"wild"``, ``"randomization"`` (placebo
        reassignments of the treated group to other units; ``cluster="unit"``) or
        ``"auto"`` (:data:`~evaluate.inference.covariance.AUTO_RULE`; HC2 without
        clusters); ``"classical"`` for iid OLS errors.  A standard error the design
        makes exactly zero (or too few placebo assignments) is refused:
        :mod:`evaluate.inference.degenerate`.
    weights : column of analytic (regression) weights, e.g. population; the means
        table and the regression become weighted (weighted least squares).
    alpha : 1 - confidence level.
    drop_missing : drop, count and warn about rows with missing values.
    n_boot, seed : draws and seed of the wild bootstrap or the random placebo assignments.
    outcome_unit : what the outcome counts ("persons", "full-time persons", "share",
        ...); the effect is in this unit, and a benefit rate prices it when it is
        persons or full-time persons.

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"store": [1, 1, 2, 2, 3, 3, 4, 4], "wave": [0, 1] * 4,
    ...                    "nj": [1, 1, 1, 1, 0, 0, 0, 0],
    ...                    "fte": [20.0, 21.5, 19.0, 20.0, 23.0, 21.0, 22.0, 21.0]})
    >>> res = did(df, outcome="fte", unit="store", time="wave", treated="nj", cluster=None)
    >>> round(res.estimate, 2)
    2.75
    """
    check_frame(data)
    covariates = tuple(covariates)
    cols = [outcome, unit, time, treated, *([post] if post else []), *covariates]
    if cluster not in (None, "unit"):
        cols.append(cluster)
    if weights is not None:
        cols.append(weights)
    used = list(dict.fromkeys(cols))
    check_columns(data, used)
    for c in (outcome, *covariates):
        check_numeric(data, c)
    if not 0 < alpha < 1:
        raise SpecError(f"alpha must lie strictly between 0 and 1, got {alpha!r}.")
    frame, n_dropped = _drop_missing(data[used], used, allow=drop_missing)
    if frame.empty:
        raise DataError("No rows are left after dropping rows with missing values.")
    if frame.duplicated(subset=[unit, time]).any():
        first = frame.loc[frame.duplicated(subset=[unit, time]), [unit, time]].iloc[0].to_dict()
        raise DataError(
            f"Several rows share the same {unit} and {time} (first: {first}); "
            "aggregate them or remove the duplicates."
        )
    g = binary_treatment(frame, treated)
    w = analytic_weights(frame, weights)
    wt = np.ones(len(frame)) if w is None else w
    if post is None:
        periods = np.sort(frame[time].unique())
        if len(periods) != 2:
            raise SpecError(
                f"Column {time!r} has {len(periods)} distinct values; pass post= (a 0/1 column "
                "marking the post period) or keep exactly two periods."
            )
        p = (frame[time] == periods[1]).to_numpy(dtype=float)
    else:
        p = _binary(frame, post)
    varies = pd.Series(g).groupby(frame[unit].to_numpy()).nunique()
    if (varies > 1).any():
        raise DataError(
            f"Column {treated!r} changes within unit {varies.index[varies > 1][0]!r}; it must "
            "mark the treated group (constant per unit). For a treatment that switches on "
            "at different times use twfe() or event_study()."
        )
    y = frame[outcome].to_numpy(dtype=float)
    means = _means_table(y, g, p, wt)

    x = np.column_stack([np.ones(len(y)), g, p, g * p, frame[list(covariates)].to_numpy(float)])
    names = ["(intercept)", treated, "post", f"{treated}:post", *covariates]
    xtx = (x * wt[:, None]).T @ x
    if np.linalg.matrix_rank(xtx) < x.shape[1]:
        raise DesignError(
            "The regressors are collinear (a covariate is constant or duplicates "
            "the group or period indicator); drop it."
        )
    beta = np.linalg.solve(xtx, (x * wt[:, None]).T @ y)
    if not np.all(np.isfinite(beta)):
        raise DataError(
            f"The regression overflowed (values of {outcome!r} near 1e308?): rescale the "
            "outcome, e.g. to thousands, and fit again."
        )
    resid = y - x @ beta
    root = np.sqrt(wt)
    design = RegressionDesign(x=x * root[:, None], resid=resid * root, clusters=None, weights=w)
    scale = float(np.std(y))

    clusters = None
    treated_by_cluster = None
    if cluster is not None:
        col = unit if cluster == "unit" else cluster
        clusters = pd.factorize(frame[col])[0].astype(np.intp)
        n_g = int(clusters.max()) + 1
        treated_by_cluster = np.bincount(clusters, weights=g, minlength=n_g) > 0
    placebo = cluster in ("unit", unit) and w is None
    method, note = resolve_inference(inference, clusters, treated_by_cluster, placebo=placebo)
    if w is not None and method == "wild":
        raise SpecError("inference='wild' is not available with weights; use CR2 or CR1.")
    design = replace(design, clusters=clusters)
    wild = None
    placebo_dist = None
    if method == "randomization":
        perms, exhaustive = placebo_assignments(treated_by_cluster, n_draws=n_boot, seed=seed)
        cov_x = frame[list(covariates)].to_numpy(float)
        u, c = did_placebo(clusters, g, p, y, cov_x, perms)
        placebo_dist = placebo_or_refusal(
            Randomization(float(beta[3]), u, c, exhaustive), alpha, scale
        )
        cov = _covariance_or_nan(design, "CR2")
        if isinstance(placebo_dist, Randomization):
            note = " ".join(filter(None, [note, placebo_dist.note(alpha)]))
    elif method == "wild":
        boot = wild_cluster_bootstrap(x, y, clusters, coef=3, n_boot=n_boot, seed=seed, alpha=alpha)
        cov = covariance(design, "CR1")
        wild = boot.distribution()
        note = wild_note(boot, wild, alpha)
    else:
        cov = covariance(design, method)  # type: ignore[arg-type]
    se = cov.std_errors
    coef_rows = []
    for j, term in enumerate(names):
        dist_j = coefficient_distribution(
            float(beta[j]), float(se[j]), float(cov.df[j]), scale=scale, warn=False
        )
        low, high = dist_j.interval(alpha)
        coef_rows.append(
            {
                "term": term,
                "estimate": float(beta[j]),
                "std_error": float(dist_j.std_error),
                "df": float(cov.df[j]),
                "ci_low": low,
                "ci_high": high,
                "p_value": dist_j.p_value(0.0),
            }
        )
    dist: Distribution
    if placebo_dist is not None or wild is not None:
        # One interval everywhere: the table's row is the headline distribution's.
        dist = placebo_dist if placebo_dist is not None else wild
        low, high = dist.interval(alpha)
        coef_rows[3].update(std_error=dist.std_error, df=np.nan, ci_low=low, ci_high=high,
                            p_value=dist.p_value(0.0))  # fmt: skip
    else:
        dist = coefficient_distribution(
            float(beta[3]), float(se[3]), float(cov.df[3]), scale=scale
        )
    notes = [note] if note else []
    if covariates:
        notes.append(
            Text(
                "did.note_covariates",
                "With covariates the regression estimate differs from the means-table "
                "contrast; the estimate reported is the regression coefficient.",
            )
        )
    where = "" if clusters is None else f" by {cluster}, {cov.n_clusters} clusters"
    label = {
        "wild": "wild cluster bootstrap (bootstrap-t)",
        "randomization": "randomization inference over placebo assignments to units",
    }.get(method, method) + where
    return DiDResult(
        name=name or outcome,
        estimand=Text(
            "did.estimand",
            "Average effect on the treated group's {outcome}: change in {treated}=1 "
            "minus change in {treated}=0 (parallel trends)",
            outcome=outcome,
            treated=treated,
        ),
        distribution=dist,
        method=Text("did.method", "Difference-in-differences (2x2)"),
        inference=inference_label(dist, label),
        unit=outcome_unit,
        population=Text(
            "did.population",
            "{treated} treated and {control} comparison observations",
            treated=int(means.loc["treated", "n_pre"] + means.loc["treated", "n_post"]),
            control=int(means.loc["control", "n_pre"] + means.loc["control", "n_post"]),
        ),
        alpha=alpha,
        provenance=Provenance(
            spec={
                "outcome": outcome,
                "unit": unit,
                "time": time,
                "treated": treated,
                "post": post,
                "covariates": list(covariates),
                "cluster": cluster,
                "inference": inference,
                "weights": weights,
                "method": method,
                "alpha": alpha,
                "n_boot": n_boot,
                "seed": seed,
            },
            data_hash=hash_frame(frame),
            n_rows=len(frame),
            n_dropped=n_dropped,
        ),
        notes=tuple(notes),
        means=means,
        coefficients=pd.DataFrame(coef_rows),
        covariance_method=method,
        inference_rule=AUTO_RULE if inference == "auto" else f"user choice: {inference}",
        n_clusters=cov.n_clusters,
    )


def _covariance_or_nan(design: RegressionDesign, method: str):
    """The covariance, or NaN standard errors when the design leaves none to estimate."""
    try:
        return covariance(design, method)  # type: ignore[arg-type]
    except DesignError:
        nan = np.full(design.p, np.nan)
        return CovarianceEstimate(np.diag(nan), nan, method, design.n_clusters)


def _means_table(y: np.ndarray, g: np.ndarray, p: np.ndarray, w: np.ndarray) -> pd.DataFrame:
    rows: dict[str, dict[str, Any]] = {}
    for label, gv in (("control", 0.0), ("treated", 1.0)):
        cell = {}
        for period, pv in (("pre", 0.0), ("post", 1.0)):
            mask = (g == gv) & (p == pv)
            if not mask.any():
                raise DesignError(
                    f"No {label} observations in the {period} period: a 2x2 DiD needs all "
                    "four group x period cells."
                )
            cell[period] = float(np.average(y[mask], weights=w[mask]))
            cell[f"n_{period}"] = int(mask.sum())
        cell["change"] = cell["post"] - cell["pre"]
        rows[label] = cell
    diff = {k: rows["treated"][k] - rows["control"][k] for k in ("pre", "post", "change")}
    diff.update(
        n_pre=rows["treated"]["n_pre"] + rows["control"]["n_pre"],
        n_post=rows["treated"]["n_post"] + rows["control"]["n_post"],
    )
    rows["difference"] = diff
    table = pd.DataFrame.from_dict(rows, orient="index")[
        ["pre", "post", "change", "n_pre", "n_post"]
    ]
    table.index.name = "group"
    return table


__all__ = ["DiDResult", "did"]
