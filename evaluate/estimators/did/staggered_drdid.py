"""Covariate-adjusted ATT(g,t) cells of Callaway-Sant'Anna (private helpers).

The DRDID panel estimators (Sant'Anna & Zhao 2020; R ``DRDID``): outcome
regression (``reg_did_panel``), stabilised IPW (``std_ipw_did_panel``) and the
improved locally efficient doubly robust estimator (``drdid_panel``), each with its
influence function, plus the Newton-Raphson logit they share.  Kept apart from
:mod:`evaluate.estimators.did.staggered`, which only calls :func:`covariate_cell`
when covariates are given (without them every cell is a difference of means).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from scipy.special import expit

from evaluate.errors import DesignError
from evaluate.estimators.did._staggered_prepare import _num

if TYPE_CHECKING:
    from evaluate.estimators.did._staggered_prepare import CSSpec, Method, _Cells, _Panel

_TRIM = 0.995  # DRDID's trim.level: controls with a propensity score above it get weight 0


def covariate_cell(delta: np.ndarray, j: int, panel: _Panel, cells: _Cells, spec: CSSpec) -> float:
    """One cell with covariates (DRDID panel estimators); writes column ``j`` of the IF."""
    member = cells.control[:, j].copy()
    member[cells.g_code[j]] = True
    rows = np.flatnonzero(member[panel.cohort_index])
    d = (panel.cohort_index[rows] == cells.g_code[j]).astype(float)
    early = min(cells.t_idx[j], cells.b_idx[j])  # covariates of the earlier period, as R
    x = np.column_stack([np.ones(len(rows)), panel.x[rows, early, :]])
    n1, n = len(rows), delta.shape[0]
    if min(d.sum(), n1 - d.sum()) < x.shape[1] + 1:
        raise DesignError(
            f"Cohort {_num(cells.group[j])} at period {_num(cells.time[j])}: "
            f"{int(d.sum())} treated and {int(n1 - d.sum())} control units are too few for "
            f"{x.shape[1]} covariate coefficients. Use fewer covariates or none."
        )
    dy = delta[rows, j]
    att, inf = _drdid(dy, d, x, spec.method, (cells.group[j], cells.time[j]))
    delta[:, j] = 0.0
    delta[rows, j] = (n / n1) * inf
    return att


def _logit(
    x: np.ndarray, d: np.ndarray, where: tuple[float, float]
) -> tuple[np.ndarray, np.ndarray]:
    """Maximum-likelihood logit by Newton-Raphson: fitted scores and ``X'WX``."""
    beta = np.zeros(x.shape[1])
    for _ in range(100):
        p = expit(x @ beta)
        hess = (x * (p * (1 - p))[:, None]).T @ x
        step = np.linalg.lstsq(hess, x.T @ (d - p), rcond=None)[0]
        beta += step
        if np.max(np.abs(step)) < 1e-11:
            break
    else:
        raise DesignError(
            f"Propensity-score logit for cohort {_num(where[0])}, period "
            f"{_num(where[1])} did not converge (separation?); use method='reg'."
        )
    p = expit(x @ beta)
    if p[d == 1].max() >= 0.999 or not np.isfinite(p).all():
        raise DesignError(
            f"Overlap fails for cohort {_num(where[0])} in period {_num(where[1])}: a propensity "
            "score reaches 0.999. Use method='reg' or fewer covariates."
        )
    return p, (x * (p * (1 - p))[:, None]).T @ x


def _drdid(
    dy: np.ndarray, d: np.ndarray, x: np.ndarray, method: Method, where: tuple[float, float]
) -> tuple[float, np.ndarray]:
    """ATT and influence function of DRDID's panel estimators (unit weights).

    ``reg``: ``reg_did_panel``; ``ipw``: ``std_ipw_did_panel``; ``dr``:
    ``drdid_panel`` (Sant'Anna & Zhao 2020, improved locally efficient), each with
    DRDID's trimming of control propensity scores above 0.995.
    """
    n1 = len(d)
    ctrl = d == 0
    if method in ("reg", "dr"):
        beta = np.linalg.lstsq(x[ctrl], dy[ctrl], rcond=None)[0]
        resid_all = dy - x @ beta
        xpx_inv = np.linalg.inv((x[ctrl].T @ x[ctrl]) / n1)
        lin_ols = ((1 - d) * resid_all)[:, None] * x @ xpx_inv  # OLS asymptotic linear rep.
    if method == "reg":
        w = d
        eta_t = np.mean(w * dy) / np.mean(w)
        eta_c = np.mean(w * (dy - resid_all)) / np.mean(w)
        inf_t = (w * dy - w * eta_t) / np.mean(w)
        inf_c = w * (dy - resid_all) - w * eta_c + lin_ols @ np.mean(w[:, None] * x, axis=0)
        return float(eta_t - eta_c), inf_t - inf_c / np.mean(w)
    p, xwx = _logit(x, d, where)
    p = np.minimum(p, 1 - 1e-6)
    trim = np.where(ctrl, p < _TRIM, True)
    lin_ps = ((d - p)[:, None] * x) @ (np.linalg.inv(xwx) * n1)
    w_t = trim * d
    w_c = trim * p * (1 - d) / (1 - p)
    if method == "ipw":
        eta_t = np.mean(w_t * dy) / np.mean(w_t)
        eta_c = np.mean(w_c * dy) / np.mean(w_c)
        inf_t = (w_t * dy - w_t * eta_t) / np.mean(w_t)
        m2 = np.mean((w_c * (dy - eta_c))[:, None] * x, axis=0)
        inf_c = (w_c * dy - w_c * eta_c + lin_ps @ m2) / np.mean(w_c)
        return float(eta_t - eta_c), inf_t - inf_c
    eta_t = np.mean(w_t * resid_all) / np.mean(w_t)
    eta_c = np.mean(w_c * resid_all) / np.mean(w_c)
    inf_t = w_t * resid_all - w_t * eta_t - lin_ols @ np.mean(w_t[:, None] * x, axis=0)
    inf_t /= np.mean(w_t)
    m2 = np.mean((w_c * (resid_all - eta_c))[:, None] * x, axis=0)
    m3 = np.mean(w_c[:, None] * x, axis=0)
    inf_c = (w_c * resid_all - w_c * eta_c + lin_ps @ m2 - lin_ols @ m3) / np.mean(w_c)
    return float(eta_t - eta_c), inf_t - inf_c


__all__ = ["covariate_cell"]
