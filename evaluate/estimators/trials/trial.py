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

import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pandas as pd

from evaluate.data.validate import check_columns, check_frame, check_numeric
from evaluate.data.validate import drop_missing as _drop_missing
from evaluate.effect import (
    DesignTable,
    Diagnostic,
    EffectResult,
    NotApplicable,
    Provenance,
    hash_frame,
    tidy_row,
)
from evaluate.errors import DesignError, DroppedRowsWarning, SpecError
from evaluate.estimators._renamed import renamed_options
from evaluate.estimators.trials._trial_design import (
    _NO_CONTROL,
    _check_assignment,
    _check_estimable,
    _design_arrays,
    _resolve_arms,
)
from evaluate.estimators.trials._trial_inference import (
    _estimate,
    _pair_design,
    _permuted_tstats,
    _tstats,
    _westfall_young,
    benjamini_hochberg,
    holm,
    randomization_test,
)
from evaluate.estimators.trials._trial_report import _attrition, _balance, _labels, _notes
from evaluate.inference.distributions import Distribution, StudentT
from evaluate.text import Num, Pct, Text

if TYPE_CHECKING:
    from matplotlib.axes import Axes

Adjust = Literal["none", "lin"]


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

    def design_tables(self) -> tuple[DesignTable, ...]:
        """Balance: each covariate's mean by arm and the standardized difference."""
        if self.balance.empty:
            return ()
        several = self.balance["arm"].nunique() > 1
        labels = [
            f"{arm}: {cov}" if several else str(cov)
            for arm, cov in zip(self.balance["arm"], self.balance["covariate"], strict=True)
        ]
        return (
            DesignTable(
                title=Text("trial.balance_title", "Balance of the arms before treatment"),
                frame=self.balance.set_index(pd.Index(labels)),
                columns=(
                    ("mean_arm", Text("trial.mean_arm", "mean, treated arm"), "number"),
                    ("mean_control", Text("trial.mean_control", "mean, control"), "number"),
                    ("smd", Text("trial.smd", "standardized difference"), "weight"),
                ),
                row_header=Text("trial.covariate", "covariate"),
                note=Text(
                    "trial.balance_note",
                    "A standardized difference beyond ±0.1 is a visible imbalance.",
                ),
            ),
        )

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


@renamed_options("unit")
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
    outcome_unit: str = "outcome units",
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
    name, outcome_unit, population : labels for the report.
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
    _check_assignment(work, arm, len(others) + 1, blocks, cluster)
    balance, diagnostics = _balance(work, arm, control, others, covariates)
    attrition, diagnostics[Text("trial.attrition", "attrition")] = _attrition(
        work, outcome, arm, control, others
    )
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
    _check_estimable(work, codes, unit_ids, spec)
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
            diagnostics[Text("trial.ri_arm", "randomization test: {arm}", arm=str(label))] = (
                Diagnostic(
                    Text("trial.ri", "randomization test"),
                    float(p_ri),
                    float(p_ri),
                    note=Text(
                        "trial.ri_note",
                        "{n} permutations (seed {seed}); {level} CI by test inversion "
                        "[{low}, {high}]",
                        n=int(permutations),
                        seed=str(seed),
                        level=Pct(1 - alpha),
                        low=Num(lo, sig=4),
                        high=Num(hi, sig=4),
                    ),
                )
            )
        if len(others) > 1:
            t_obs = _tstats(codes, y[:, None], len(others) + 1, Z)[:, 0]
            t_perm = _permuted_tstats(
                codes, y[:, None], len(others) + 1, Z, unit_ids, block_ids, int(permutations), seed
            )[:, :, 0]
            rows["p_wy"] = _westfall_young(t_obs, t_perm)
    else:
        diagnostics[Text("trial.ri", "randomization test")] = NotApplicable(
            Text("trial.ri_off", "not requested (permutations=0)")
        )
    notes = _notes(spec, attrition, codes, unit_ids, n_missing, len(others))
    method, inference = _labels(spec)
    first = others[0]
    return TrialResult(
        name=name or outcome,
        estimand=Text(
            "trial.estimand",
            "average effect of arm {arm} vs control {control} on {outcome}",
            arm=repr(first),
            control=repr(control),
            outcome=outcome,
        ),
        distribution=dists[0][1],
        method=method,
        inference=inference,
        unit=outcome_unit,
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
        notes=tuple(notes)
        + ((Text("note.simulated_short", "The data are SIMULATED."),) if simulated else ()),
        control=str(control),
        arm_distributions=dists,
        arm_table=pd.DataFrame(rows),
        balance=balance,
        attrition=attrition,
    )


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
