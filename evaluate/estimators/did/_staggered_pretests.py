"""Pre-trend tests of a Callaway-Sant'Anna fit.

:func:`pretest_wald` is R did's cell-level Wald test (reported, comparable with
R); :func:`pretest_leads` is the F test on the event-time leads that decides the
warning (its false-alarm rate is near its level: ``benchmarks/results/coverage.md``).
"""

from __future__ import annotations

import math

import numpy as np
from scipy import stats

from evaluate.effect import Diagnostic, NotApplicable
from evaluate.estimators.did.staggered_aggregate import (
    GroupTimeEffects,
    _weighted,
    evaluate_parts,
    small_sample_df,
)
from evaluate.text import Text


def pretest_wald(gt: GroupTimeEffects) -> Diagnostic | NotApplicable:
    """Wald test that every pre-treatment ATT(g,t) (``g > t``) is zero (R did's ``W``).

    ``W = att_pre' V_pre^{-1} att_pre`` with ``V = IF'IF / n^2``, chi-squared with as
    many degrees of freedom as pre-period cells; cells fixed at 0 are left out.
    """
    se = gt.cell_std_errors()
    pre = np.flatnonzero((gt.group > gt.time) & np.isfinite(se))
    if pre.size == 0:
        return NotApplicable(
            Text(
                "staggered.no_pre",
                "no pre-treatment ATT(g,t) to test (no cohort has two pre-periods)",
            )
        )
    cov = gt.covariance(np.eye(len(gt.att))[:, pre])
    if np.linalg.cond(cov) > 1 / np.finfo(float).eps:
        return NotApplicable(
            Text("staggered.singular", "covariance of the pre-treatment ATT(g,t) is singular")
        )
    att = gt.att[pre]
    w = float(att @ np.linalg.solve(cov, att))
    p = float(stats.chi2.sf(w, pre.size))
    return Diagnostic(
        name=Text("diag.pretrend_wald_lower", "pre-trend Wald test"),
        value=w,
        p_value=p,
        passed=None,
        note=f"chi2({pre.size}); H0: all {pre.size} pre-treatment ATT(g,t) are zero (as R "
        "did; over-rejects with small cohorts, so the F test on the leads decides the warning)",
    )


def pretest_leads(gt: GroupTimeEffects) -> Diagnostic | NotApplicable:
    """Joint test that the pre-period event-time effects ATT(e), e < 0, are zero.

    ``F = b' V^-1 b / K`` over the ``K`` leads of the dynamic aggregation
    (``V`` from their influence functions), referred to ``F(K, m - 1)`` with ``m``
    the smallest treated cohort (:func:`small_sample_df`).  The cell-level Wald test
    (R did's ``W``, chi-squared) tests many noisy cells with an estimated covariance
    and raised a false alarm in 30 % of simulated panels with 60 units in three
    treated cohorts where parallel trends held exactly (400 draws); for this test
    see ``benchmarks/results/coverage.md`` (nominal 5 %).
    """
    e = gt.time - gt.group
    parts = [
        (float(event), _weighted(gt, np.flatnonzero(e == event))) for event in np.unique(e[e < 0])
    ]
    if not parts:
        return NotApplicable("no pre-period event time to test (no cohort has two pre-periods)")
    est, cov, se = evaluate_parts(gt, [p for _, p in parts])
    keep = np.isfinite(se)
    if not keep.any():
        return NotApplicable("every pre-period event-time effect is fixed at 0")
    cov = cov[np.ix_(keep, keep)]
    if np.linalg.cond(cov) > 1 / np.finfo(float).eps:
        return NotApplicable("covariance of the pre-period event-time effects is singular")
    k, df = int(keep.sum()), small_sample_df(gt)
    f = float(est[keep] @ np.linalg.solve(cov, est[keep])) / k
    p = float(stats.f.sf(f, k, df)) if math.isfinite(df) else float(stats.chi2.sf(f * k, k))
    return Diagnostic(
        name="pre-trend F test (event-time leads)",
        value=f,
        p_value=p,
        passed=p >= 0.05,
        note=f"F({k}, {df:.0f}); H0: the {k} pre-period event-time effects are all zero",
    )


# --------------------------------------------------------------------------- result


__all__ = ["pretest_leads", "pretest_wald"]
