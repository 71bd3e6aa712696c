"""Callaway-Sant'Anna on repeated cross-sections and unbalanced panels (private).

When the rows are not one balanced panel, an ATT(g,t) cannot difference each
unit's own outcomes.  R ``did`` (``att_gt(panel = FALSE)``, and ``panel = TRUE``
with ``allow_unbalanced_panel = TRUE`` on a panel that is not balanced) then runs
the repeated-cross-section 2x2 estimators of Sant'Anna & Zhao (2020), R
``DRDID``, on the rows of the two periods of each cell:

* ``reg``: ``reg_did_rc``, outcome regressions of the controls in each period;
* ``ipw``: ``std_ipw_did_rc``, stabilised (Hajek) inverse probability weights;
* ``dr``: ``drdid_rc``, the locally efficient doubly robust estimator (outcome
  regressions of treated and controls in both periods plus the propensity score).

Each returns the ATT and its influence function, one value per row; as in R
``did`` (``compute.att_gt``) the function is scaled by ``n / n1`` (``n`` sampling
units, ``n1`` rows in the cell) and summed over the rows of each unit.  For true
repeated cross-sections every row is its own unit; for an unbalanced panel the
rows of a unit are summed, so standard errors, bootstrap and aggregation are
clustered on the unit.  Covariates are taken in each row's own period (R's RC
path), not in the earlier period as for a balanced panel.  Without covariates the
three estimators coincide: the difference of the four cell means.

``w`` (observation weights, normalised to mean 1 in each cell as DRDID does) is
accepted throughout so that sampling weights plug in unchanged; the front door
passes ones.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
from scipy.special import expit

from evaluate.errors import DesignError
from evaluate.estimators.did._calendar import label_of
from evaluate.estimators.did._staggered_prepare import STRUCTURES
from evaluate.text import Text

if TYPE_CHECKING:
    from evaluate.estimators.did._staggered_prepare import CSSpec, Method, _Cells, _RCPanel

_TRIM = 0.995  # DRDID's trim.level
_EPS = np.finfo(float).eps


def fit_rc(
    panel: _RCPanel, cells: _Cells, spec: CSSpec, w: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Every ATT(g,t) and the ``units x K`` influence function (R's ``inffunc``)."""
    n_units = len(panel.cohort_index)
    k = len(cells.group)
    row_cohort = panel.cohort_index[panel.cluster]
    weights = np.ones(len(panel.y)) if w is None else np.asarray(w, dtype=float)
    att = np.zeros(k)
    influence = np.zeros((n_units, k))
    for j in range(k):
        if cells.reference[j]:
            continue
        ti, bi, gc = cells.t_idx[j], cells.b_idx[j], cells.g_code[j]
        member = cells.control[:, j].copy()
        member[gc] = True
        rows = np.flatnonzero(((panel.t_idx == ti) | (panel.t_idx == bi)) & member[row_cohort])
        d = (row_cohort[rows] == gc).astype(float)
        post = (panel.t_idx[rows] == ti).astype(float)
        # Cohort and period as messages print them: the user's labels on a calendar.
        cal = panel.calendar
        where = (label_of(cal, cells.group[j]), label_of(cal, cells.time[j]))
        pair = [label_of(cal, v) for v in panel.times[[bi, ti]]]
        _check_cell(d, post, where, pair)
        x = np.ones((len(rows), 1))
        if panel.x is not None:
            x = np.column_stack([x, panel.x[rows]])
        est, inf = rc_did(panel.y[rows], post, d, x, weights[rows], spec.method, where)
        att[j] = est
        influence[:, j] = np.bincount(
            panel.cluster[rows], weights=inf * (n_units / len(rows)), minlength=n_units
        )
    return att, influence


def describe_structure(
    structure: str, spec: CSSpec, base: dict[str, Any]
) -> tuple[Text, Text, Text]:
    """Method, inference and data-structure texts of a fit: a balanced panel keeps the
    panel wording; otherwise the method names the structure, and repeated
    cross-sections say that rows are independent."""
    method, inference = base["method"], base["inference"]
    label = Text(*STRUCTURES[structure])
    if structure == "balanced panel":
        return method, inference, label
    method = Text("staggered.method_structure", "{method}; {structure}",
                  method=method, structure=label)  # fmt: skip
    if structure == "repeated cross-sections":
        inference = Text(
            "staggered.inference_rc", "influence function (analytic, rows independent)"
        )
        if spec.bootstrap:
            inference = Text(
                "staggered.inference_rc_boot",
                "influence function (analytic, rows independent); uniform bands from {n} "
                "multiplier-bootstrap draws ({weights})",
                n=int(spec.bootstrap),
                weights=str(spec.bootstrap_weights),
            )
    return method, inference, label


def _check_cell(d: np.ndarray, post: np.ndarray, where: tuple, pair) -> None:
    for treated, label in ((1.0, "treated cohort"), (0.0, "control group")):
        for p, period in ((0.0, pair[0]), (1.0, pair[1])):
            if not np.any((d == treated) & (post == p)):
                raise DesignError(
                    f"ATT(g={where[0]}, t={where[1]}): the {label} has no "
                    f"observation in period {period}, so this comparison cannot be "
                    "made. Drop that cohort or period, or use control='notyet'."
                )


# --------------------------------------------------------------------------- DRDID, RC
def rc_did(
    y: np.ndarray,
    post: np.ndarray,
    d: np.ndarray,
    x: np.ndarray,
    w: np.ndarray,
    method: Method,
    where: tuple = (np.nan, np.nan),
) -> tuple[float, np.ndarray]:
    """ATT and per-row influence function of DRDID's repeated-cross-section estimators.

    ``x`` includes the intercept; ``w`` are observation weights (normalised here to
    mean 1).  ``method``: ``"reg"`` = ``reg_did_rc``, ``"ipw"`` = ``std_ipw_did_rc``,
    ``"dr"`` = ``drdid_rc`` (locally efficient), all as in R DRDID 1.2, including the
    trimming of control propensity scores above 0.995.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> d, post = np.repeat([0.0, 1.0], 200), np.tile([0.0, 1.0], 200)
    >>> y = 1 + d + post + 2 * d * post + rng.normal(size=400)
    >>> att, _ = rc_did(y, post, d, np.ones((400, 1)), np.ones(400), "dr")
    >>> att_means = (y[(d == 1) & (post == 1)].mean() - y[(d == 1) & (post == 0)].mean()
    ...              - y[(d == 0) & (post == 1)].mean() + y[(d == 0) & (post == 0)].mean())
    >>> bool(np.isclose(att, att_means))
    True
    """
    w = w / np.mean(w)
    if method == "reg":
        return _reg_rc(y, post, d, x, w, where)
    if method == "ipw":
        return _ipw_rc(y, post, d, x, w, where)
    return _dr_rc(y, post, d, x, w, where)


def _ols(
    x: np.ndarray, y: np.ndarray, w: np.ndarray, sel: np.ndarray, where, label: str
) -> tuple[np.ndarray, np.ndarray]:
    """Weighted OLS on the rows ``sel``: fitted values for all rows and DRDID's
    asymptotic linear representation ``w 1{sel} e x (X'WX / n)^-1``."""
    ws = w * sel
    xpx = (x * ws[:, None]).T @ x / len(y)
    if sel.sum() < x.shape[1] or 1 / np.linalg.cond(xpx) < _EPS:
        raise DesignError(
            f"ATT(g={where[0]}, t={where[1]}): the outcome regression of the "
            f"{label} is singular ({int(sel.sum())} rows for {x.shape[1]} coefficients). "
            "Use fewer covariates or none."
        )
    xpx_inv = np.linalg.inv(xpx)
    beta = xpx_inv @ ((x * ws[:, None]).T @ y / len(y))
    fitted = x @ beta
    return fitted, (ws * (y - fitted))[:, None] * x @ xpx_inv


def _logit(x: np.ndarray, d: np.ndarray, w: np.ndarray, where) -> tuple[np.ndarray, np.ndarray]:
    """Weighted logit by Newton-Raphson: scores (capped at 1 - 1e-6, as DRDID) and the
    asymptotic linear representation of the coefficients."""
    beta = np.zeros(x.shape[1])
    for _ in range(100):
        p = expit(x @ beta)
        hess = (x * (w * p * (1 - p))[:, None]).T @ x
        step = np.linalg.lstsq(hess, x.T @ (w * (d - p)), rcond=None)[0]
        beta += step
        if np.max(np.abs(step)) < 1e-11:
            break
    else:
        raise DesignError(
            f"Propensity-score logit for cohort {where[0]}, period {where[1]} "
            "did not converge (separation?); use method='reg'."
        )
    p = expit(x @ beta)
    if not np.isfinite(p).all() or p[d == 1].max() >= 0.999:
        raise DesignError(
            f"Overlap fails for cohort {where[0]} in period {where[1]}: a "
            "propensity score reaches 0.999. Use method='reg' or fewer covariates."
        )
    p = np.minimum(p, 1 - 1e-6)
    hess = (x * (w * p * (1 - p))[:, None]).T @ x
    lin = (w * (d - p))[:, None] * x @ (np.linalg.inv(hess) * len(d))
    return p, lin


def _mean_part(weight: np.ndarray, value: np.ndarray) -> tuple[float, np.ndarray]:
    """Hajek mean ``sum(w v) / sum(w)`` and its leading influence term."""
    m = np.mean(weight)
    est = float(np.mean(weight * value) / m)
    return est, weight * (value - est) / m


def _reg_rc(y, post, d, x, w, where) -> tuple[float, np.ndarray]:
    """``reg_did_rc``: controls' outcome regressions in each period."""
    out_pre, lin_pre = _ols(x, y, w, (d == 0) & (post == 0), where, "controls before")
    out_post, lin_post = _ols(x, y, w, (d == 0) & (post == 1), where, "controls after")
    t_pre, inf_t_pre = _mean_part(w * d * (1 - post), y)
    t_post, inf_t_post = _mean_part(w * d * post, y)
    w_c = w * d
    c, inf_c = _mean_part(w_c, out_post - out_pre)
    m1 = np.mean(w_c[:, None] * x, axis=0) / np.mean(w_c)
    inf_control = inf_c + (lin_post - lin_pre) @ m1
    return (t_post - t_pre) - c, (inf_t_post - inf_t_pre) - inf_control


def _ipw_weights(x, d, post, w, where):
    p, lin_ps = _logit(x, d, w, where)
    trim = np.where(d == 0, p < _TRIM, True)
    odds = p * (1 - d) / (1 - p)
    return (
        trim * w * d * (1 - post),
        trim * w * d * post,
        trim * w * odds * (1 - post),
        trim * w * odds * post,
        lin_ps,
    )


def _ipw_rc(y, post, d, x, w, where) -> tuple[float, np.ndarray]:
    """``std_ipw_did_rc``: stabilised IPW, with the logit's estimation effect."""
    w_tp, w_t1, w_cp, w_c1, lin_ps = _ipw_weights(x, d, post, w, where)
    t_pre, inf_t_pre = _mean_part(w_tp, y)
    t_post, inf_t_post = _mean_part(w_t1, y)
    c_pre, inf_c_pre = _mean_part(w_cp, y)
    c_post, inf_c_post = _mean_part(w_c1, y)
    m2_pre = np.mean((w_cp * (y - c_pre))[:, None] * x, axis=0) / np.mean(w_cp)
    m2_post = np.mean((w_c1 * (y - c_post))[:, None] * x, axis=0) / np.mean(w_c1)
    inf_cont = inf_c_post - inf_c_pre + lin_ps @ (m2_post - m2_pre)
    att = (t_post - t_pre) - (c_post - c_pre)
    return att, (inf_t_post - inf_t_pre) - inf_cont


def _dr_rc(y, post, d, x, w, where) -> tuple[float, np.ndarray]:
    """``drdid_rc``: locally efficient doubly robust DiD for repeated cross-sections."""
    w_tp, w_t1, w_cp, w_c1, lin_ps = _ipw_weights(x, d, post, w, where)
    oc_pre, lin_c_pre = _ols(x, y, w, (d == 0) & (post == 0), where, "controls before")
    oc_post, lin_c_post = _ols(x, y, w, (d == 0) & (post == 1), where, "controls after")
    ot_pre, lin_t_pre = _ols(x, y, w, (d == 1) & (post == 0), where, "treated before")
    ot_post, lin_t_post = _ols(x, y, w, (d == 1) & (post == 1), where, "treated after")
    oc = post * oc_post + (1 - post) * oc_pre
    resid = y - oc
    # trimmed treated weights: the trim flag is 1 for treated rows, so w*d suffices
    w_d, w_dt1, w_dt0 = w * d, w_t1, w_tp
    a_tp, inf_tp = _mean_part(w_tp, resid)
    a_t1, inf_t1 = _mean_part(w_t1, resid)
    a_cp, inf_cp = _mean_part(w_cp, resid)
    a_c1, inf_c1 = _mean_part(w_c1, resid)
    gap_post, gap_pre = ot_post - oc_post, ot_pre - oc_pre
    a_d1, inf_e1 = _mean_part(w_d, gap_post)
    a_dt1, inf_e2 = _mean_part(w_dt1, gap_post)
    a_d0, inf_e3 = _mean_part(w_d, gap_pre)
    a_dt0, inf_e4 = _mean_part(w_dt0, gap_pre)
    att = (a_t1 - a_tp) - (a_c1 - a_cp) + (a_d1 - a_dt1) - (a_d0 - a_dt0)

    def colmean(weight: np.ndarray) -> np.ndarray:
        return np.mean(weight[:, None] * x, axis=0)

    # Estimation effect of the control regressions on the treated and control parts.
    # The pre-period terms enter with a minus: the att.*.pre parts are subtracted.  R
    # DRDID 1.2.3 (drdid_rc.R, ``inf.treat.or <- inf.treat.or.post + inf.treat.or.pre``
    # and the same for ``inf.cont.or``) adds them; the numerical derivative of the
    # estimate agrees with the minus (tests), as do the Python drdid 1.1.7 and csdid
    # 0.4.3 ports.  The estimate is unaffected; standard errors with covariates differ
    # slightly (the terms vanish without covariates and, asymptotically, with a
    # correct propensity score).
    m1_post = -colmean(w_t1 * post) / np.mean(w_t1)
    m1_pre = -colmean(w_tp * (1 - post)) / np.mean(w_tp)
    inf_treat = inf_t1 - inf_tp + lin_c_post @ m1_post - lin_c_pre @ m1_pre
    m2_pre = colmean(w_cp * (resid - a_cp)) / np.mean(w_cp)
    m2_post = colmean(w_c1 * (resid - a_c1)) / np.mean(w_c1)
    m3_post = -colmean(w_c1 * post) / np.mean(w_c1)
    m3_pre = -colmean(w_cp * (1 - post)) / np.mean(w_cp)
    inf_cont = (
        inf_c1 - inf_cp + lin_ps @ (m2_post - m2_pre) + lin_c_post @ m3_post - lin_c_pre @ m3_pre
    )
    inf_eff = (inf_e1 - inf_e2) - (inf_e3 - inf_e4)
    mom_post = colmean(w_d / np.mean(w_d) - w_dt1 / np.mean(w_dt1))
    mom_pre = colmean(w_d / np.mean(w_d) - w_dt0 / np.mean(w_dt0))
    inf_or = (lin_t_post - lin_c_post) @ mom_post - (lin_t_pre - lin_c_pre) @ mom_pre
    return att, inf_treat - inf_cont + inf_eff + inf_or


__all__ = ["fit_rc", "rc_did"]
