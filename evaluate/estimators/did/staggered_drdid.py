"""Covariate-adjusted ATT(g,t) cells of Callaway-Sant'Anna (private helpers).

The DRDID panel estimators (Sant'Anna & Zhao 2020; R ``DRDID``): outcome
regression (``reg_did_panel``), stabilised IPW (``std_ipw_did_panel``) and the
improved locally efficient doubly robust estimator (``drdid_panel``), each with its
influence function, plus the Newton-Raphson logit they share.  Kept apart from
:mod:`evaluate.estimators.did.staggered`, which only calls :func:`covariate_cells`
when covariates are given (without them every cell is a difference of means).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from numba import njit
from threadpoolctl import threadpool_limits

from evaluate.errors import DesignError
from evaluate.estimators.did._staggered_prepare import _num

if TYPE_CHECKING:
    from evaluate.estimators.did._staggered_prepare import CSSpec, Method, _Cells, _Panel

_TRIM = 0.995  # DRDID's trim.level: controls with a propensity score above it get weight 0


def covariate_cells(panel: _Panel, cells: _Cells, spec: CSSpec) -> tuple[np.ndarray, np.ndarray]:
    """Every ATT(g,t) with covariates (DRDID panel estimators) and the ``n x K`` IF.

    Cells that compare the same units on the same covariates share one propensity
    score and one outcome-regression design: the post-treatment cells of a cohort
    (all take covariates from the base period ``g - 1``), and every cell of a
    cohort when the covariates do not change over time.  Such cells are fitted
    together, their outcome changes as the columns of one matrix; the numbers
    are those of fitting each cell alone (R ``did`` fits each cell alone).
    """
    n, n_k = panel.y.shape[0], len(cells.group)
    static = bool(np.all(panel.x == panel.x[:, :1, :]))  # covariates constant over time
    # Covariates centred and scaled per period, once: every DRDID estimator (and the
    # logit's fitted scores) is invariant to this affine change, and it keeps X'X
    # well conditioned for the normal equations in _drdid.
    raw = panel.x[:, :1, :] if static else panel.x
    spread = raw.std(axis=0)
    design = (raw - raw.mean(axis=0)) / np.where(spread > 0, spread, 1.0)
    groups: dict[tuple[int, bytes, int], list[int]] = {}
    for j in range(n_k):
        member = cells.control[:, j].copy()
        member[cells.g_code[j]] = True
        early = 0 if static else min(cells.t_idx[j], cells.b_idx[j])  # as R: earlier period
        groups.setdefault((int(cells.g_code[j]), member.tobytes(), int(early)), []).append(j)
    att = np.empty(n_k)
    influence = np.zeros((n, n_k), order="F")  # columns written one group at a time
    fits: dict[int, np.ndarray] = {}  # a cohort's last logit: the next one's start
    with threadpool_limits(limits=1):  # skinny products: BLAS threads only add overhead
        for key, cols in groups.items():
            att[cols] = _fit_group(key, cols, influence, design, panel, cells, spec, fits)
    return att, influence


def _fit_group(
    key: tuple[int, bytes, int],
    cols: list[int],
    influence: np.ndarray,
    design: np.ndarray,
    panel: _Panel,
    cells: _Cells,
    spec: CSSpec,
    fits: dict[int, np.ndarray],
) -> np.ndarray:
    """ATTs of the cells ``cols`` sharing units and covariates; writes their IF columns.

    ``fits`` holds each cohort's last propensity-score coefficients, the start of
    its next logit (the same units, the covariates of another period).

    Units are sorted by cohort, so the cells' units are a few runs of rows: they
    are read and written by slices, not by index arrays.
    """
    g_code, member_bytes, early = key
    n = influence.shape[0]
    starts = np.searchsorted(panel.cohort_index, np.arange(len(cells.control) + 1))
    runs: list[tuple[int, int]] = []
    for c in np.flatnonzero(np.frombuffer(member_bytes, dtype=bool)):
        if runs and runs[-1][1] == starts[c]:
            runs[-1] = (runs[-1][0], int(starts[c + 1]))
        else:
            runs.append((int(starts[c]), int(starts[c + 1])))

    def take(values: np.ndarray) -> np.ndarray:
        return (
            np.concatenate([values[a:b] for a, b in runs])
            if len(runs) > 1
            else values[runs[0][0] : runs[0][1]]
        )

    d = (take(panel.cohort_index) == g_code).astype(float)
    x = np.column_stack([np.ones(len(d)), take(design[:, early, :])])
    j, n1 = cols[0], len(d)
    if min(d.sum(), n1 - d.sum()) < x.shape[1] + 1:
        raise DesignError(
            f"Cohort {_num(cells.group[j])} at period {_num(cells.time[j])}: "
            f"{int(d.sum())} treated and {int(n1 - d.sum())} control units are too few "
            f"for {x.shape[1]} covariate coefficients. Use fewer covariates or none."
        )
    y = take(panel.y)
    dy = y[:, cells.t_idx[cols]] - y[:, cells.b_idx[cols]]
    logit = None
    if spec.method != "reg":
        where = (cells.group[j], cells.time[j])
        p, xwx, fits[g_code] = _logit(x, d, where, fits.get(g_code))
        logit = (p, xwx)
    att, inf = _drdid(dy, d, x, spec.method, logit)
    inf *= n / n1
    offset = 0
    for a, b in runs:
        influence[a:b, cols] = inf[offset : offset + b - a]
        offset += b - a
    return att


@njit(cache=True, nogil=True)
def _score_pass(x, d, beta):  # pragma: no cover - compiled
    """One pass over the rows: fitted scores ``p``, ``X'WX`` and the score ``X'(d - p)``."""
    m, k = x.shape
    p = np.empty(m)
    xwx = np.zeros((k, k))
    grad = np.zeros(k)
    for i in range(m):
        eta = 0.0
        for a in range(k):
            eta += x[i, a] * beta[a]
        pi = 1.0 / (1.0 + np.exp(-eta))
        p[i] = pi
        w = pi * (1.0 - pi)
        r = d[i] - pi
        for a in range(k):
            xa = x[i, a]
            grad[a] += xa * r
            xaw = xa * w
            for b in range(a + 1):
                xwx[a, b] += xaw * x[i, b]
    for a in range(k):
        for b in range(a):
            xwx[b, a] = xwx[a, b]
    return p, xwx, grad


def _logit(
    x: np.ndarray, d: np.ndarray, where: tuple[float, float], start: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Maximum-likelihood logit by Newton-Raphson: fitted scores, ``X'WX`` and the
    coefficients.

    Each Newton step is one compiled pass (:func:`_score_pass`: scores, Hessian and
    gradient together), started from ``start`` (a neighbouring cell's fit) or the
    intercept-only fit; it stops when a step moves no coefficient by 1e-11, or
    when the quadratic rate predicts the next step below 1e-13 (the coefficients
    then agree with the old 1e-11 stop to about that), and the scores and ``X'WX``
    returned are those of one more pass at the final coefficients.
    """
    if start is None:
        start = np.zeros(x.shape[1])
        share = d.mean()
        start[0] = np.log(share / (1 - share))  # the intercept-only fit: fewer Newton steps
    beta = start.copy()
    x = np.ascontiguousarray(x)
    last = np.inf
    for _ in range(100):
        p, hess, grad = _score_pass(x, d, beta)
        step = np.linalg.lstsq(hess, grad, rcond=None)[0]
        beta += step
        size = float(np.max(np.abs(step)))
        if not np.isfinite(size):
            break
        # Newton converges quadratically (next step ~ size^3 / last^2): stop when
        # the step is below 1e-11 or the next one would be below 1e-13, which
        # saves the pass that only confirms convergence.
        if size < 1e-11 or (size < 1e-4 and size**3 < 1e-13 * last**2):
            p, hess, _ = _score_pass(x, d, beta)
            if p[d == 1].max() >= 0.999 or not np.isfinite(p).all():
                raise DesignError(
                    f"Overlap fails for cohort {_num(where[0])} in period {_num(where[1])}: a "
                    "propensity score reaches 0.999. Use method='reg' or fewer covariates."
                )
            return p, hess, beta
        last = size
    raise DesignError(
        f"Propensity-score logit for cohort {_num(where[0])}, period "
        f"{_num(where[1])} did not converge (separation?); use method='reg'."
    )


def _drdid(
    dy: np.ndarray,
    d: np.ndarray,
    x: np.ndarray,
    method: Method,
    logit: tuple[np.ndarray, np.ndarray] | None,
) -> tuple[np.ndarray, np.ndarray]:
    """ATTs and influence functions of DRDID's panel estimators (unit weights).

    ``dy`` holds one outcome change per column (cells sharing units ``d`` and
    covariates ``x``, first column the intercept; ``logit`` their propensity-score
    fit from :func:`_logit`, None for ``reg``); returns the ``J`` ATTs and the
    ``m x J`` influence functions.  ``reg``: ``reg_did_panel``; ``ipw``:
    ``std_ipw_did_panel``; ``dr``: ``drdid_panel`` (Sant'Anna & Zhao 2020, improved
    locally efficient), each with DRDID's trimming of control propensity scores
    above 0.995.

    DRDID's formulas, rearranged so that ``dy`` is read three times whatever the
    method: every weighted mean and moment of it comes from one product
    ``A' dy``, and the influence function is ``dy * s + G @ H``, with ``s`` (``m``),
    ``G`` (``m x q``) and ``H`` (``q x J``) built from small matrices.  With the
    control-outcome regression ``r = dy - x beta`` and its linear representation
    ``lin_ols @ v = (1 - d) r (x (X'X/m)^-1 v)``:

    * ``reg``: ``IF = [r (d - (1 - d) q) - d ATT] / mean(d)``, ``q = x (X'X/m)^-1 mean(d x)``;
    * ``ipw``: ``IF = dy (w_t/mean(w_t) - w_c/mean(w_c)) - w_t eta_t/mean(w_t)
      + w_c eta_c/mean(w_c) - lin_ps m2 / mean(w_c)``;
    * ``dr``: as ``ipw`` with ``r`` for ``dy`` and the OLS terms
      ``(1 - d) r (q_c/mean(w_c) - q_t/mean(w_t))`` added to the multiplier of ``r``.
    """
    m, k = x.shape
    ctrl = 1.0 - d
    if method == "reg":
        w_t = w_c = d
    else:
        p, xwx = logit  # the propensity-score fit (_logit)
        p = np.minimum(p, 1 - 1e-6)
        trim = np.where(ctrl > 0, p < _TRIM, True)
        w_t, w_c = trim * d, trim * p * ctrl / (1 - p)
    moments = np.column_stack([x * ctrl[:, None], w_t, w_c, x * w_c[:, None]]).T @ dy
    sum_t, sum_c = w_t.sum(), w_c.sum()
    beta = np.zeros((k, dy.shape[1]))
    if method != "ipw":
        xtx = (x * ctrl[:, None]).T @ x
        beta = np.linalg.solve(xtx, moments[:k])  # OLS of dy on x among the controls
        ols = x @ np.linalg.inv(xtx / m)  # its asymptotic linear representation
    eta_t = (moments[k] - (w_t @ x) @ beta) / sum_t  # weighted means of r (or dy)
    if method == "reg":
        q = ols @ (d @ x / m)
        scale = (d - ctrl * q) / (sum_t / m)
        att = eta_t  # mean of the treated's r: their change minus its prediction
        g_mat = np.column_stack([x * scale[:, None], d / (sum_t / m)])
        return att, dy * scale[:, None] - g_mat @ np.vstack([beta, att])
    eta_c = (moments[k + 1] - (w_c @ x) @ beta) / sum_c
    m2 = (moments[k + 2 :] - ((x * w_c[:, None]).T @ x) @ beta - np.outer(w_c @ x, eta_c)) / m
    lin_ps = ((d - p)[:, None] * x) @ (np.linalg.inv(xwx) * m)
    mean_t, mean_c = sum_t / m, sum_c / m
    scale = w_t / mean_t - w_c / mean_c
    if method == "dr":
        scale += ctrl * (ols @ (w_c @ x / m) / mean_c - ols @ (w_t @ x / m) / mean_t)
    g_mat = np.column_stack([x * scale[:, None], w_t / mean_t, w_c / mean_c, lin_ps / mean_c])
    h_mat = np.vstack([-beta, -eta_t, eta_c, -m2])
    return eta_t - eta_c, dy * scale[:, None] + g_mat @ h_mat


__all__ = ["covariate_cells"]
