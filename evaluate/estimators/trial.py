"""Randomized trials: multi-arm difference in means, Lin adjustment, blocks, clusters.

One front door, :func:`trial`, estimates the effect of every arm against the
control arm.  The estimators and standard errors follow R ``estimatr``:

* no covariates, no blocks, no clusters: difference in means with the Neyman
  variance ``s1²/n1 + s0²/n0`` (identical to HC2 in the saturated regression) and
  Welch-Satterthwaite degrees of freedom (``estimatr::difference_in_means``);
* ``blocks``: the block-size weighted difference in means with variance
  ``Σ w_b² V_b`` and ``N - 2B`` degrees of freedom; matched pairs (one unit of
  each arm per block) use the Imai (2008) pair variance with ``J - 1`` df;
* ``adjust="lin"``: Lin (2013) regression of the outcome on arm dummies, the
  covariates centred at their sample mean and all arm x covariate interactions,
  HC2 standard errors, ``n - k`` df (``estimatr::lm_lin``); block dummies join the
  covariates when ``blocks`` is given;
* ``cluster``: the same regression (arm dummies, plus centred block dummies and/or
  Lin covariates, all interacted) with the CR2 (Bell-McCaffrey) cluster-robust
  variance and Bell-McCaffrey / Satterthwaite degrees of freedom, as
  ``estimatr::lm_robust(se_type="CR2")``.  Individual-level analysis with CR2 was
  chosen over a cluster-level analysis because it keeps covariate adjustment and
  unequal cluster sizes in one estimator.

Randomization inference permutes the assignment within blocks and, in cluster
designs, of whole clusters; its confidence interval inverts the test of a
constant effect.  Holm and Benjamini-Hochberg adjust the arms' p-values; with
permutations a Westfall-Young step-down maxT adjustment is added (see
:func:`trial_family` for several outcomes).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pandas as pd
from scipy import stats

from evaluate.data.validate import check_columns, check_frame, check_numeric
from evaluate.data.validate import drop_missing as _drop_missing
from evaluate.effect import (
    Diagnostic,
    EffectResult,
    NotApplicable,
    Provenance,
    hash_frame,
    tidy_row,
)
from evaluate.errors import (
    DataError,
    DesignError,
    DroppedRowsWarning,
    SmallSampleWarning,
    SpecError,
)
from evaluate.estimators._trial_inference import (
    _blocked_dim,
    _joint_design,
    _PairDesign,
    _permuted_tstats,
    _tstats,
    _welch_dim,
    _westfall_young,
    benjamini_hochberg,
    holm,
    ols_fit,
    randomization_test,
)
from evaluate.inference.covariance import RegressionDesign, covariance
from evaluate.inference.distributions import Distribution, StudentT

if TYPE_CHECKING:
    from matplotlib.axes import Axes

Adjust = Literal["none", "lin"]
_NO_CONTROL = object()


# --------------------------------------------------------------------------- result
@dataclass(frozen=True, kw_only=True, eq=False)
class TrialResult(EffectResult):
    """Effects of every arm against control, with balance and attrition.

    The main estimate (``estimate``, ``ci``, ...) is the first arm's; ``by_arm``
    holds every arm with multiplicity-adjusted and randomization p-values;
    ``to_frame()`` has one row per arm.
    """

    control: str = "control"
    arm_distributions: tuple[tuple[str, Distribution], ...] = ()
    arm_table: pd.DataFrame = field(default_factory=pd.DataFrame)
    balance: pd.DataFrame = field(default_factory=pd.DataFrame)
    attrition: pd.DataFrame = field(default_factory=pd.DataFrame)

    @property
    def by_arm(self) -> pd.DataFrame:
        """One row per arm: estimate, SE, df, CI at ``alpha``, raw and adjusted p-values."""
        out = self.arm_table.copy()
        cis = [dist.interval(self.alpha) for _, dist in self.arm_distributions]
        out.insert(out.columns.get_loc("df") + 1, "ci_low", [c[0] for c in cis])
        out.insert(out.columns.get_loc("ci_low") + 1, "ci_high", [c[1] for c in cis])
        return out

    def _extra_terms(self) -> list[dict[str, Any]]:
        return [
            tidy_row(f"{self.name} [{label} vs {self.control}]", dist, self.alpha, self.unit)
            for label, dist in self.arm_distributions[1:]
        ]

    def _summary_tables(self) -> list[tuple[str, pd.DataFrame]]:
        tables = [("Effects by arm", self.by_arm.set_index("arm"))]
        if not self.balance.empty:
            shown = self.balance.set_index(
                self.balance["arm"] + ": " + self.balance["covariate"]
            ).drop(columns=["arm", "covariate"])
            tables.append(("Balance (standardized mean differences)", shown))
        tables.append(("Attrition (missing outcome) by arm", self.attrition.set_index("arm")))
        diag = pd.DataFrame(
            {"result": [str(v) for v in self.diagnostics.values()]},
            index=pd.Index(list(self.diagnostics), name="diagnostic"),
        )
        return tables + [("Diagnostics", diag)]

    def plot(self, ax: Axes | None = None) -> Axes:
        """Each arm's effect against control with its confidence interval."""
        from evaluate.plotting import plot_estimates

        frame = self.by_arm.assign(term=lambda f: f["arm"].astype(str) + f" vs {self.control}")
        return plot_estimates(frame, unit=self.unit, title=self.name, ax=ax)


# --------------------------------------------------------------------------- helpers
def _resolve_arms(values: pd.Series, control: Any, arms: Sequence[Any] | None):
    present = [v.item() if isinstance(v, np.generic) else v for v in pd.unique(values)]
    if control is _NO_CONTROL:
        if set(present) <= {0, 1} or set(present) <= {False, True}:
            control = 0
        else:
            raise SpecError(
                f"Arm labels are {sorted(map(str, present))}; say which is the control arm "
                "with control=<label>."
            )
    if control not in present:
        raise SpecError(
            f"control={control!r} is not a label of the arm column (labels: "
            f"{sorted(map(str, present))}). Check the spelling and type (0 vs '0')."
        )
    control = next(v for v in present if v == control)  # the data's own label (0 vs 0.0)
    if arms is None:
        others = sorted((v for v in present if v != control), key=lambda v: (str(type(v)), v))
    else:
        others = [a for a in arms if a != control]
        unknown = [v for v in present if v != control and v not in others]
        if unknown:
            raise DataError(
                f"The arm column holds label(s) {unknown} not listed in arms={list(arms)}. "
                "Add them to arms, or remove those rows."
            )
        empty = [a for a in others if a not in present]
        if empty:
            raise DesignError(f"Arm(s) {empty} have no units in the data; remove them from arms.")
    if not others:
        raise DesignError(
            f"Only the control arm {control!r} is present; there is nothing to compare."
        )
    return control, others


def _check_nested(frame: pd.DataFrame, inner: str, outer: str, what: str) -> None:
    counts = frame.groupby(inner)[outer].nunique()
    split = counts[counts > 1]
    if len(split):
        raise DesignError(
            f"{what} {list(split.index[:5])} contain units of more than one {outer!r} value; "
            f"{inner!r} must be nested in {outer!r} (a cluster is assigned as a whole)."
        )


def _balance(frame, arm, control, others, covariates):
    rows, diagnostics = [], {}
    ctrl = frame[frame[arm] == control]
    for label in others:
        treat = frame[frame[arm] == label]
        for cov in covariates:
            m1, m0 = treat[cov].mean(), ctrl[cov].mean()
            sd = math.sqrt((treat[cov].var(ddof=1) + ctrl[cov].var(ddof=1)) / 2)
            smd = (m1 - m0) / sd if sd > 0 else math.nan
            rows.append(
                {
                    "arm": str(label),
                    "covariate": cov,
                    "mean_arm": m1,
                    "mean_control": m0,
                    "smd": smd,
                }
            )
        key = f"balance: {label} vs {control}"
        if not covariates:
            diagnostics[key] = NotApplicable("no covariates given")
            continue
        sub = pd.concat([treat, ctrl])
        X = np.column_stack([np.ones(len(sub)), sub[list(covariates)].to_numpy(float)])
        d = (sub[arm] == label).to_numpy(float)
        if np.linalg.matrix_rank(X) < X.shape[1] or len(sub) <= X.shape[1] + 1:
            diagnostics[key] = NotApplicable("covariates are collinear or too many for the sample")
            continue
        try:
            beta, resid, xtx_inv = ols_fit(X, d)
            V = covariance(RegressionDesign(x=X, resid=resid), "HC2").cov[1:, 1:]
            q = len(covariates)
            F = float(beta[1:] @ np.linalg.solve(V, beta[1:]) / q)
        except (DesignError, np.linalg.LinAlgError) as err:
            diagnostics[key] = NotApplicable(f"joint test not computable: {err}")
            continue
        p = float(stats.f.sf(F, q, len(sub) - q - 1))
        diagnostics[key] = Diagnostic(
            key,
            F,
            p,
            passed=p > 0.05,
            note="joint HC2 F-test that the covariates do not predict assignment",
        )
    table = pd.DataFrame(rows, columns=["arm", "covariate", "mean_arm", "mean_control", "smd"])
    return table, diagnostics


def _attrition(frame, outcome, arm, control, others):
    order = [control, *others]
    miss = frame[outcome].isna()
    table = pd.DataFrame(
        {
            "arm": [str(a) for a in order],
            "assigned": [int((frame[arm] == a).sum()) for a in order],
            "missing": [int((miss & (frame[arm] == a)).sum()) for a in order],
        }
    )
    table["share_missing"] = table["missing"] / table["assigned"]
    if table["missing"].sum() == 0:
        return table, Diagnostic("attrition", 0.0, passed=True, note="no outcome is missing")
    observed = table["assigned"] - table["missing"]
    chi2, p, _, _ = stats.chi2_contingency(np.column_stack([table["missing"], observed]))
    note = "chi-square test that attrition does not differ by arm"
    return table, Diagnostic("differential attrition", float(chi2), float(p), p > 0.05, note)


def _design_arrays(work, spec):
    """Arm codes, design-matrix extras (covariates and/or block dummies), units, blocks."""
    codes = np.zeros(len(work), dtype=int)
    for k, label in enumerate(spec["arms"], start=1):
        codes[(work[spec["arm"]] == label).to_numpy()] = k
    parts = []
    if spec["adjust"] == "lin":
        parts.append(work[list(spec["covariates"])].to_numpy(float))
    blocks, cluster = spec["blocks"], spec["cluster"]
    if blocks:  # used by Lin / cluster fits and the Westfall-Young statistic
        parts.append(pd.get_dummies(work[blocks], drop_first=True).to_numpy(float))
    Z = np.hstack(parts) if parts else np.empty((len(work), 0))
    unit = pd.factorize(work[cluster])[0] if cluster else np.arange(len(work))
    block = pd.factorize(work[blocks])[0] if blocks else None
    return codes, Z, unit, block


def trial(
    data: pd.DataFrame,
    *,
    outcome: str,
    arm: str,
    control: Any = _NO_CONTROL,
    arms: Sequence[Any] | None = None,
    covariates: Sequence[str] = (),
    adjust: Adjust = "none",
    blocks: str | None = None,
    cluster: str | None = None,
    alpha: float = 0.05,
    permutations: int = 1000,
    seed: int | None = 0,
    drop_missing: bool = False,
    name: str | None = None,
    unit: str = "outcome units",
    population: str = "not stated",
    source: str = "",
    simulated: bool = False,
) -> TrialResult:
    """Effect of each arm of a randomized trial against the control arm.

    Parameters
    ----------
    data : one row per randomized unit; never modified.
    outcome, arm : outcome column (numeric; missing values are attrition: counted by
        arm, warned about and excluded) and assignment column.
    control : label of the control arm (default 0 when the arm column is 0/1).
    arms : the non-control arms in the order to report (default: sorted labels);
        the first is the main estimate.  A label in the data but not here is an error.
    covariates : pre-treatment covariates for the balance table and for Lin adjustment.
    adjust : "none" (difference in means) or "lin" (Lin 2013 interacted regression, HC2).
    blocks, cluster : block (stratum) and cluster (unit of assignment) columns.
    alpha : 1 - confidence level.
    permutations, seed : randomization inference draws (0 switches it off) and seed.
    drop_missing : drop rows with a missing arm/covariate/block/cluster (counted) instead
        of raising.
    name, unit, population : labels for the report.
    source, simulated : where the data come from, and whether they are simulated.

    Examples
    --------
    >>> from evaluate.datasets import nsw_experimental
    >>> res = trial(nsw_experimental(), outcome="re78", arm="treat", permutations=0)
    >>> round(res.estimate, 4), round(res.std_error, 5)
    (1794.3424, 670.99655)
    """
    frame = check_frame(data)
    if adjust not in ("none", "lin"):
        raise SpecError(f"adjust must be 'none' or 'lin', got {adjust!r}.")
    covariates = (covariates,) if isinstance(covariates, str) else tuple(covariates)
    if adjust == "lin" and not covariates and blocks is None:
        raise SpecError("adjust='lin' needs covariates=[...] (or blocks) to adjust for.")
    if not 0 < alpha < 1:
        raise SpecError(f"alpha must lie strictly between 0 and 1, got {alpha!r}.")
    if not isinstance(permutations, (int, np.integer)) or permutations < 0:
        raise SpecError(f"permutations must be a non-negative integer, got {permutations!r}.")
    design_cols = [arm, *covariates] + [c for c in (blocks, cluster) if c]
    columns = [outcome, *design_cols]
    if len(set(columns)) != len(columns):
        raise SpecError(
            f"A column is used twice among outcome, arm, covariates, blocks, cluster: {columns}."
        )
    check_columns(frame, columns)
    for column in [outcome, *covariates]:
        check_numeric(frame, column)
    work, n_dropped = _drop_missing(frame[columns], design_cols, allow=drop_missing, stacklevel=3)
    control, others = _resolve_arms(work[arm], control, arms)
    if cluster:
        _check_nested(work, cluster, arm, "Clusters")
        if blocks:
            _check_nested(work, cluster, blocks, "Clusters")
    if blocks:
        per_block = work.groupby(blocks)[arm].nunique()
        short = per_block[per_block < len(others) + 1]
        if len(short):
            raise DesignError(
                f"Block(s) {list(short.index[:5])} lack units of some arm; every block must "
                "contain every arm. Merge those blocks or drop the blocks option."
            )
    balance, diagnostics = _balance(work, arm, control, others, covariates)
    attrition, diagnostics["attrition"] = _attrition(work, outcome, arm, control, others)
    n_missing = int(attrition["missing"].sum())
    if n_missing:
        by_arm = dict(zip(attrition["arm"], attrition["missing"], strict=True))
        warnings.warn(
            f"Outcome {outcome!r} is missing for {n_missing} of {len(work)} randomized units "
            f"(by arm: {by_arm}); they are excluded from the estimate (attrition).",
            DroppedRowsWarning,
            stacklevel=2,
        )
        work = work[work[outcome].notna()]
    y = work[outcome].to_numpy(float)
    if np.ptp(y) == 0:
        raise DesignError(
            f"Every observed value of {outcome!r} equals {y[0]!r}; nothing to compare."
        )
    spec = {
        "outcome": outcome,
        "arm": arm,
        "control": control,
        "arms": others,
        "covariates": covariates,
        "adjust": adjust,
        "blocks": blocks,
        "cluster": cluster,
    }
    codes, Z, unit_ids, block_ids = _design_arrays(work, spec)
    what = "clusters" if cluster else "units"
    for k, label in enumerate([control, *others]):
        n_k = len(np.unique(unit_ids[codes == k]))
        if n_k < 2:
            raise DesignError(
                f"Arm {label!r} has {n_k} {what} with an observed outcome; at least 2 are "
                "needed for a standard error."
            )
    if adjust == "lin":
        for cov in covariates:
            spread = work.groupby(arm)[cov].std(ddof=0)
            flat = [a for a in spread.index if spread[a] == 0]
            if flat:
                raise DesignError(
                    f"Covariate {cov!r} is constant within arm(s) {flat}, so its Lin "
                    "interaction is collinear with the arm dummy. Drop it from covariates."
                )
    estimates = _estimate(y, codes, Z, unit_ids, work, spec)
    n_units = len(work)
    dists = tuple(
        (str(label), StudentT(est, se, df))
        for label, (est, se, df) in zip(others, estimates, strict=True)
    )
    pvals = np.array([dist.p_value(0.0) for _, dist in dists])
    rows = {
        "arm": [str(a) for a in others],
        "n_arm": [int((codes == k).sum()) for k in range(1, len(others) + 1)],
        "n_control": int((codes == 0).sum()),
        "mean_arm": [float(y[codes == k].mean()) for k in range(1, len(others) + 1)],
        "mean_control": float(y[codes == 0].mean()),
        "estimate": [d.estimate for _, d in dists],
        "std_error": [d.std_error for _, d in dists],
        "df": [d.df for _, d in dists],
        "p_value": pvals,
        "p_holm": holm(pvals),
        "p_bh": benjamini_hochberg(pvals),
    }
    if permutations:
        ri = [
            randomization_test(
                _pair_design(y, codes, k, Z, unit_ids, block_ids, work, spec),
                permutations=int(permutations),
                alpha=alpha,
                scale=dists[k - 1][1].std_error,
                seed=None if seed is None else seed + k,
            )
            for k in range(1, len(others) + 1)
        ]
        rows["p_ri"] = [r[0] for r in ri]
        rows["ri_ci_low"] = [r[1][0] for r in ri]
        rows["ri_ci_high"] = [r[1][1] for r in ri]
        for label, (p_ri, (lo, hi)) in zip(others, ri, strict=True):
            diagnostics[f"randomization test: {label}"] = Diagnostic(
                "randomization test",
                float(p_ri),
                float(p_ri),
                note=(
                    f"{permutations} permutations (seed {seed}); {1 - alpha:.0%} CI by test "
                    f"inversion [{lo:.4g}, {hi:.4g}]"
                ),
            )
        if len(others) > 1:
            t_obs = _tstats(codes, y[:, None], len(others) + 1, Z)[:, 0]
            t_perm = _permuted_tstats(
                codes, y[:, None], len(others) + 1, Z, unit_ids, block_ids, int(permutations), seed
            )[:, :, 0]
            rows["p_wy"] = _westfall_young(t_obs, t_perm)
    else:
        diagnostics["randomization test"] = NotApplicable("not requested (permutations=0)")
    notes = _notes(spec, attrition, codes, unit_ids, n_missing, len(others))
    method, inference = _labels(spec)
    first = others[0]
    return TrialResult(
        name=name or outcome,
        estimand=f"average effect of arm {first!r} vs control {control!r} on {outcome}",
        distribution=dists[0][1],
        method=method,
        inference=inference,
        unit=unit,
        population=population,
        alpha=alpha,
        diagnostics=diagnostics,
        provenance=Provenance(
            spec={
                **spec,
                "control": str(control),
                "arms": [str(a) for a in others],
                "covariates": list(covariates),
                "alpha": alpha,
                "permutations": int(permutations),
                "seed": seed,
            },
            data_hash=hash_frame(work),
            n_rows=n_units,
            n_dropped=n_dropped + n_missing,
            source=source,
            simulated=simulated,
        ),
        notes=tuple(notes) + (("The data are SIMULATED.",) if simulated else ()),
        control=str(control),
        arm_distributions=dists,
        arm_table=pd.DataFrame(rows),
        balance=balance,
        attrition=attrition,
    )


def _estimate(y, codes, Z, unit_ids, work, spec) -> list[tuple[float, float, float]]:
    n_arms = len(spec["arms"]) + 1
    if spec["cluster"] is None and spec["adjust"] == "none":
        out = []
        for k, label in enumerate(spec["arms"], start=1):
            mask = (codes == 0) | (codes == k)
            if spec["blocks"]:
                block = work[spec["blocks"]].to_numpy()[mask]
                out.append(
                    _blocked_dim(y[mask], (codes[mask] == k).astype(int), block, repr(label))
                )
            else:
                out.append(_welch_dim(y[codes == k], y[codes == 0]))
        return out
    X = _joint_design(codes, n_arms, Z - Z.mean(axis=0))
    if np.linalg.matrix_rank(X) < X.shape[1]:
        raise DesignError(
            "The regression design is collinear (a covariate is a linear combination of "
            "others, or of arm x block cells). Drop redundant covariates."
        )
    beta, resid, xtx_inv = ols_fit(X, y)
    if spec["cluster"] is None:
        V = covariance(RegressionDesign(x=X, resid=resid), "HC2").cov
        df = float(len(y) - X.shape[1])
        if df < 1:
            raise DesignError(
                f"{X.shape[1]} coefficients for {len(y)} units: use fewer covariates."
            )
        return [(float(beta[k]), float(math.sqrt(V[k, k])), df) for k in range(1, n_arms)]
    cr2 = covariance(
        RegressionDesign(x=X, resid=resid, clusters=pd.factorize(unit_ids)[0]),
        "CR2",
        n_interest=n_arms,
    )
    return [
        (float(beta[k]), float(math.sqrt(cr2.cov[k, k])), float(cr2.df[k]))
        for k in range(1, n_arms)
    ]


def _pair_design(y, codes, k, Z, unit_ids, block_ids, work, spec) -> _PairDesign:
    mask = (codes == 0) | (codes == k)
    d = (codes[mask] == k).astype(float)
    unit = pd.factorize(unit_ids[mask])[0]
    unit_d = pd.Series(d).groupby(unit).first().to_numpy()
    block = None if block_ids is None else block_ids[mask]
    unit_block = None if block is None else pd.Series(block).groupby(unit).first().to_numpy()
    lin = spec["adjust"] == "lin"
    if not lin and spec["cluster"] and spec["blocks"]:
        lin = True  # the cluster estimate adjusts for interacted block dummies
    return _PairDesign(
        y=y[mask],
        d=d,
        unit=unit,
        unit_d=unit_d,
        unit_block=unit_block,
        block=block,
        Z=Z[mask],
        lin=lin,
    )


def _labels(spec) -> tuple[str, str]:
    if spec["cluster"]:
        method = "Cluster-randomized trial, regression on arm dummies"
        method += " with Lin (2013) covariate adjustment" if spec["adjust"] == "lin" else ""
        method += " and interacted block dummies" if spec["blocks"] else ""
        return method, "CR2 cluster-robust SE (Bell-McCaffrey), Bell-McCaffrey df"
    if spec["adjust"] == "lin":
        extra = " and interacted block dummies" if spec["blocks"] else ""
        return f"Lin (2013) regression adjustment{extra}", "HC2 robust SE, n - k df"
    if spec["blocks"]:
        return "Block-weighted difference in means", "Neyman variance by block (estimatr)"
    return "Difference in means", "Neyman (= HC2) SE, Welch-Satterthwaite df"


def _notes(spec, attrition, codes, unit_ids, n_missing, n_others) -> list[str]:
    notes = []
    if n_missing:
        notes.append(
            f"{n_missing} randomized units have no outcome and are excluded; the estimate "
            "is unbiased only if attrition is unrelated to potential outcomes (see the "
            "attrition table and test)."
        )
    small = [str(a) for a, n in zip(attrition["arm"], attrition["assigned"], strict=True) if n < 30]
    if small:
        notes.append(
            f"Arm(s) {small} have fewer than 30 units: intervals rely on small-sample t "
            "approximations; compare with the randomization-inference results."
        )
        warnings.warn(f"Small arms {small} (< 30 units).", SmallSampleWarning, stacklevel=3)
    if spec["cluster"]:
        n_clusters = len(np.unique(unit_ids))
        if n_clusters < 30:
            notes.append(f"Only {n_clusters} clusters: cluster-robust inference is approximate.")
    if n_others > 1:
        notes.append(
            "Arms' p-values are per comparison; p_holm (family-wise) and p_bh (false "
            "discovery rate) adjust for comparing several arms with the same control."
        )
    return notes


def trial_family(
    data: pd.DataFrame,
    *,
    outcomes: Sequence[str],
    arm: str,
    control: Any = _NO_CONTROL,
    arms: Sequence[Any] | None = None,
    covariates: Sequence[str] = (),
    adjust: Adjust = "none",
    blocks: str | None = None,
    cluster: str | None = None,
    alpha: float = 0.05,
    permutations: int = 1000,
    seed: int | None = 0,
) -> pd.DataFrame:
    """Every arm on every outcome, with p-values adjusted over the whole family.

    Columns: ``outcome, arm, estimate, std_error, ci_low, ci_high, p_value, p_holm,
    p_bh`` and, with ``permutations > 0``, ``p_wy``: Westfall-Young (1993) step-down
    maxT p-values from joint permutations of the assignment (within blocks, of whole
    clusters), which keep the family-wise error rate while using the correlation
    between outcomes.  The Westfall-Young statistics are the |t| of the difference
    in means (of Lin's regression with ``adjust="lin"`` or blocks) on the units with
    every outcome observed.

    Examples
    --------
    >>> from evaluate.datasets import nsw_experimental
    >>> fam = trial_family(nsw_experimental(), outcomes=["re78", "re75"], arm="treat",
    ...                    permutations=200)
    >>> list(fam["outcome"])
    ['re78', 're75']
    """
    if isinstance(outcomes, str) or len(outcomes) < 1:
        raise SpecError("outcomes must be a list of outcome columns, e.g. ['work', 'earnings'].")
    options = dict(
        arm=arm,
        control=control,
        arms=arms,
        covariates=covariates,
        adjust=adjust,
        blocks=blocks,
        cluster=cluster,
        alpha=alpha,
    )
    rows = []
    for outcome in outcomes:
        res = trial(data, outcome=outcome, permutations=0, **options)
        table = res.by_arm
        for row in table.itertuples():
            rows.append(
                {
                    "outcome": outcome,
                    "arm": row.arm,
                    "estimate": row.estimate,
                    "std_error": row.std_error,
                    "ci_low": row.ci_low,
                    "ci_high": row.ci_high,
                    "p_value": row.p_value,
                }
            )
    family = pd.DataFrame(rows)
    p = family["p_value"].to_numpy()
    family["p_holm"] = holm(p)
    family["p_bh"] = benjamini_hochberg(p)
    if permutations:
        columns = [*outcomes, arm, *covariates] + [c for c in (blocks, cluster) if c]
        work = data[list(dict.fromkeys(columns))].dropna()
        control, others = _resolve_arms(work[arm], control, arms)
        spec = {
            "arm": arm,
            "arms": others,
            "covariates": tuple(covariates),
            "adjust": adjust,
            "blocks": blocks,
            "cluster": cluster,
        }
        codes, Z, unit_ids, block_ids = _design_arrays(work, spec)
        Y = work[list(outcomes)].to_numpy(float)
        n_arms = len(others) + 1
        t_obs = _tstats(codes, Y, n_arms, Z)
        t_perm = _permuted_tstats(codes, Y, n_arms, Z, unit_ids, block_ids, int(permutations), seed)
        # rows are outcome-major, arm-minor: transpose (arm, outcome) before flattening
        family["p_wy"] = _westfall_young(
            t_obs.T.ravel(), t_perm.transpose(0, 2, 1).reshape(int(permutations), -1)
        )
    return family
