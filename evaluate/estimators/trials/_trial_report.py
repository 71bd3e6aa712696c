"""Read-out of a randomized trial: balance and attrition tables, method labels, notes.

Kept apart from :mod:`evaluate.estimators.trials.trial` (front door and result class) so
each file holds one idea: this one builds what a reader sees beside the estimates,
the covariate balance table with its joint test, the attrition table with its test
of differential attrition, the method / inference labels and the report notes.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pandas as pd
from scipy import stats

from evaluate.effect import Diagnostic, NotApplicable
from evaluate.errors import DesignError, SmallSampleWarning
from evaluate.estimators.trials._trial_inference import ols_fit
from evaluate.inference.covariance import RegressionDesign, covariance
from evaluate.text import Text


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
        key = Text(
            "trial.balance_key", "balance: {arm} vs {control}", arm=str(label), control=str(control)
        )
        if not covariates:
            diagnostics[key] = NotApplicable(Text("trial.no_covariates", "no covariates given"))
            continue
        sub = pd.concat([treat, ctrl])
        X = np.column_stack([np.ones(len(sub)), sub[list(covariates)].to_numpy(float)])
        d = (sub[arm] == label).to_numpy(float)
        if np.linalg.matrix_rank(X) < X.shape[1] or len(sub) <= X.shape[1] + 1:
            diagnostics[key] = NotApplicable(
                Text("trial.collinear", "covariates are collinear or too many for the sample")
            )
            continue
        try:
            beta, resid, xtx_inv = ols_fit(X, d)
            V = covariance(RegressionDesign(x=X, resid=resid), "HC2").cov[1:, 1:]
            q = len(covariates)
            F = float(beta[1:] @ np.linalg.solve(V, beta[1:]) / q)
        except (DesignError, np.linalg.LinAlgError) as err:
            diagnostics[key] = NotApplicable(
                Text("trial.joint_failed", "joint test not computable: {error}", error=str(err))
            )
            continue
        p = float(stats.f.sf(F, q, len(sub) - q - 1))
        diagnostics[key] = Diagnostic(
            key,
            F,
            p,
            passed=p > 0.05,
            note=Text(
                "trial.joint_note",
                "joint HC2 F-test that the covariates do not predict assignment",
            ),
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
        return table, Diagnostic(
            Text("trial.attrition", "attrition"),
            0.0,
            passed=True,
            note=Text("trial.no_missing", "no outcome is missing"),
        )
    observed = table["assigned"] - table["missing"]
    chi2, p, _, _ = stats.chi2_contingency(np.column_stack([table["missing"], observed]))
    note = Text("trial.attrition_note", "chi-square test that attrition does not differ by arm")
    name = Text("trial.differential_attrition", "differential attrition")
    return table, Diagnostic(name, float(chi2), float(p), p > 0.05, note)


def _labels(spec) -> tuple[str, str]:
    lin = " with Lin (2013) covariate adjustment" if spec["adjust"] == "lin" else ""
    blocks = " and interacted block dummies" if spec["blocks"] else ""
    key = ("_lin" if lin else "") + ("_blocks" if blocks else "")
    if spec["cluster"]:
        return (
            Text(
                f"trial.method_cluster{key}",
                f"Cluster-randomized trial, regression on arm dummies{lin}{blocks}",
            ),
            Text(
                "trial.inference_cr2", "CR2 cluster-robust SE (Bell-McCaffrey), Bell-McCaffrey df"
            ),
        )
    if lin:
        return (
            Text(f"trial.method_lin{key}", f"Lin (2013) regression adjustment{blocks}"),
            Text("trial.inference_hc2", "HC2 robust SE, n - k df"),
        )
    if spec["blocks"]:
        return (
            Text("trial.method_blocks", "Block-weighted difference in means"),
            Text("trial.inference_blocks", "Neyman variance by block (estimatr)"),
        )
    return (
        Text("trial.method_difference", "Difference in means"),
        Text("trial.inference_neyman", "Neyman (= HC2) SE, Welch-Satterthwaite df"),
    )


def _notes(spec, attrition, codes, unit_ids, n_missing, n_others) -> list[str]:
    notes = []
    if n_missing:
        notes.append(
            Text(
                "trial.note_missing",
                "{n} randomized units have no outcome and are excluded; the estimate is "
                "unbiased only if attrition is unrelated to potential outcomes (see the "
                "attrition table and test).",
                n=int(n_missing),
            )
        )
    small = [str(a) for a, n in zip(attrition["arm"], attrition["assigned"], strict=True) if n < 30]
    if small:
        notes.append(
            Text(
                "trial.note_small",
                "Arm(s) {arms} have fewer than 30 units: intervals rely on small-sample t "
                "approximations; compare with the randomization-inference results.",
                arms=", ".join(small),
            )
        )
        warnings.warn(f"Small arms {small} (< 30 units).", SmallSampleWarning, stacklevel=3)
    if spec["cluster"]:
        n_clusters = len(np.unique(unit_ids))
        if n_clusters < 30:
            notes.append(
                Text(
                    "trial.note_clusters",
                    "Only {n} clusters: cluster-robust inference is approximate.",
                    n=int(n_clusters),
                )
            )
    if n_others > 1:
        notes.append(
            Text(
                "trial.note_multiple",
                "Arms' p-values are per comparison; p_holm (family-wise) and p_bh (false "
                "discovery rate) adjust for comparing several arms with the same control.",
            )
        )
    return notes
