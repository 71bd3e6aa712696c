"""BJS Test 1 for :func:`~evaluate.estimators.did.imputation.imputation_did`: leads of
the event time added to the regression on untreated observations, tested jointly."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from evaluate.effect import Diagnostic, NotApplicable
from evaluate.errors import DesignError
from evaluate.estimators.did.twfe import (
    cluster_codes,
    fit_within,
    panel_covariance,
    panel_index,
    resolve_inference,
)
from evaluate.text import Num, Text


def _pretrend_test(
    frame: pd.DataFrame, index, treated: np.ndarray, spec: Any
) -> tuple[pd.DataFrame, Diagnostic | NotApplicable]:
    """BJS Test 1: leads added to the untreated-only regression, joint Wald F test.

    ``spec`` is the design's :class:`~evaluate.estimators.did.imputation.ImputationSpec`
    (not imported: the design imports this module)."""
    sub = frame.loc[~treated]
    e0 = sub["_e"].to_numpy()
    ks = list(range(1, spec.pretrends + 1))
    x = np.column_stack([(e0 == -k).astype(float) for k in ks])
    empty = [-k for k, col in zip(ks, x.T, strict=True) if not col.any()]
    if empty:
        raise DesignError(
            f"No untreated observation at event time(s) {empty} for the pre-trend test; "
            f"lower pretrends (now {spec.pretrends})."
        )
    idx0 = panel_index(sub["_unit"], sub["_t"])
    names = [f"event time {-k}" for k in ks]
    w0 = None if spec.weights is None else sub["_w"].to_numpy(dtype=float)
    fit = fit_within(idx0, sub["_y"].to_numpy(), x, names, w0)
    clusters = (
        None if spec.cluster is None else cluster_codes(sub, _cluster_col(sub), "_unit", idx0)
    )
    ever = ~np.isnan(sub["_g"].to_numpy())
    by_cluster = None
    if clusters is not None:
        by_cluster = np.bincount(clusters, weights=ever, minlength=int(clusters.max()) + 1) > 0
    method, _ = resolve_inference("auto", clusters, by_cluster)
    cov = panel_covariance(idx0, fit, x, clusters, method, w0)
    se, df = cov.std_errors, cov.df
    rows = []
    for j, k in enumerate(ks):
        dist = (
            stats.t(df[j], fit.beta[j], se[j])
            if math.isfinite(df[j])
            else stats.norm(fit.beta[j], se[j])
        )
        lo, hi = dist.interval(1 - spec.alpha)
        rows.append(
            {
                "period": -k,
                "estimate": float(fit.beta[j]),
                "std_error": float(se[j]),
                "ci_low": float(lo),
                "ci_high": float(hi),
                "p_value": float(2 * dist.sf(fit.beta[j] + abs(fit.beta[j]))),
                "n_obs": int(x[:, j].sum()),
                "kind": "pre-trend",
            }
        )
    leads = pd.DataFrame(rows).sort_values("period", ignore_index=True)
    try:
        wald = float(fit.beta @ np.linalg.solve(cov.cov, fit.beta))
    except np.linalg.LinAlgError:
        return leads, NotApplicable(
            Text("imputation.singular_leads", "the covariance of the leads is singular")
        )
    q, dfmin = len(ks), float(np.nanmin(df))
    p = float(stats.f.sf(wald / q, q, dfmin)) if math.isfinite(dfmin) else stats.chi2.sf(wald, q)
    return leads, Diagnostic(
        name=Text("imputation.pretrend_name", "Pre-trend test (BJS Test 1)"),
        value=wald / q,
        p_value=float(p),
        passed=bool(p >= spec.alpha),
        note=Text(
            "imputation.pretrend_note",
            "F({q}, {df}) test that the {q} leads are zero ({method})",
            q=q,
            df=Num(dfmin, sig=4),
            method=str(method),
        ),
    )


def _cluster_col(sub: pd.DataFrame) -> str:
    return "_cluster" if "_cluster" in sub.columns else "unit"
