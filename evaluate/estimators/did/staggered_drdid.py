"""Covariate-adjusted ATT(g,t) cells of Callaway-Sant'Anna (private helpers).

The DRDID panel estimators (Sant'Anna & Zhao 2020; R ``DRDID``): outcome
regression (``reg_did_panel``), stabilised IPW (``std_ipw_did_panel``) and the
improved locally efficient doubly robust estimator (``drdid_panel``), each with its
influence function, plus the Newton-Raphson logit they share.  Kept apart from
:mod:`evaluate.estimators.did.staggered`, which only calls :func:`covariate_cells`
when covariates are given (without them every cell is a difference of means).
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING

import numpy as np
from numba import njit
from threadpoolctl import threadpool_limits

from evaluate.errors import DesignError
from evaluate.estimators.did._panel_kernels import centre_scale, first_change
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
    static = first_change(panel.x) < 0  # covariates constant over time
    # Covariates centred and scaled per period, once: every DRDID estimator (and the
    # logit's fitted scores) is invariant to this affine change, and it keeps X'X
    # well conditioned for the normal equations in _drdid.
    # Only the centre and scale of each period used are computed here; each group's
    # design is built from the raw covariates in one compiled pass (_design).
    raw = panel.x[:, :1, :] if static else panel.x
    groups: dict[tuple[int, bytes, int], list[int]] = {}
    for j in range(n_k):
        member = cells.control[:, j].copy()
        member[cells.g_code[j]] = True
        early = 0 if static else min(cells.t_idx[j], cells.b_idx[j])  # as R: earlier period
        groups.setdefault((int(cells.g_code[j]), member.tobytes(), int(early)), []).append(j)
    centre, spread = centre_scale(raw)  # over units, every period at once
    scale = np.where(spread > 0, spread, 1.0)
    design = (raw, {e: (centre[e], scale[e]) for e in range(raw.shape[1])})
    att = np.empty(n_k)
    influence = np.zeros((n, n_k), order="F")  # columns written one group at a time
    by_cohort: dict[int, list[tuple[tuple[int, bytes, int], list[int]]]] = {}
    for key, cols in groups.items():
        by_cohort.setdefault(key[0], []).append((key, cols))
    # Threads take the cohorts with the most separate fits first, so that they end
    # together; errors are raised in cohort order all the same.
    longest_first = sorted(by_cohort, key=lambda c: len(by_cohort[c]), reverse=True)

    def fit_cohort(tasks: list[tuple[tuple[int, bytes, int], list[int]]]) -> None:
        fits: dict[int, np.ndarray] = {}  # the cohort's last logit: the next one's start
        for key, cols in tasks:
            att[cols] = _fit_group(key, cols, influence, design, panel, cells, spec, fits)

    # Cohorts on parallel threads (the compiled passes release the GIL): each writes
    # its own cells' columns and runs its fits in order, so the numbers do not
    # depend on the scheduling.
    workers = min(
        len(by_cohort),
        len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1,
    )
    with threadpool_limits(limits=1):  # skinny products: BLAS threads only add overhead
        if workers > 1:
            with ThreadPoolExecutor(max_workers=workers) as pool:
                done = {c: pool.submit(fit_cohort, by_cohort[c]) for c in longest_first}
                for c in by_cohort:
                    done[c].result()  # re-raises a cohort's error
        else:
            for tasks in by_cohort.values():
                fit_cohort(tasks)
    return att, influence


def _fit_group(
    key: tuple[int, bytes, int],
    cols: list[int],
    influence: np.ndarray,
    design: tuple[np.ndarray, dict[int, tuple[np.ndarray, np.ndarray]]],
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
    rows = np.concatenate([np.arange(a, b) for a, b in runs])
    raw, scaling = design
    x = _design(raw, early, rows, *scaling[early])  # intercept, centred and scaled covariates
    j, n1 = cols[0], len(d)
    if min(d.sum(), n1 - d.sum()) < x.shape[1] + 1:
        raise DesignError(
            f"Cohort {_num(cells.group[j])} at period {_num(cells.time[j])}: "
            f"{int(d.sum())} treated and {int(n1 - d.sum())} control units are too few "
            f"for {x.shape[1]} covariate coefficients. Use fewer covariates or none."
        )
    t_idx, b_idx = cells.t_idx[cols], cells.b_idx[cols]
    where = (cells.group[j], cells.time[j])
    beta_ps = np.zeros(x.shape[1])
    if spec.method != "reg":
        beta_ps = fits[g_code] = _logit(x, d, where, fits.get(g_code))
    fit = (panel.y, rows, t_idx, b_idx)
    att = _drdid(fit, d, x, spec.method, beta_ps, where, influence, cols, n / n1)
    return att


@njit(cache=True, nogil=True)
def _design(raw, early, rows, centre, scale):  # pragma: no cover - compiled
    """``[1, (raw[rows, early] - centre) / scale]``: one group's design, in one pass."""
    m, k = rows.shape[0], raw.shape[2]
    x = np.empty((m, k + 1))
    for i in range(m):
        r = rows[i]
        x[i, 0] = 1.0
        for a in range(k):
            x[i, a + 1] = (raw[r, early, a] - centre[a]) / scale[a]
    return x


@njit(cache=True, nogil=True, inline="always")
def _score_row(x, i, beta, xwx):  # pragma: no cover - compiled
    """Row ``i``'s logit score ``p = 1 / (1 + exp(-x_i beta))``, with
    ``p (1 - p) x_i x_i'`` added to the lower triangle of ``xwx``."""
    eta = 0.0
    for a in range(x.shape[1]):
        eta += x[i, a] * beta[a]
    pi = 1.0 / (1.0 + np.exp(-eta))
    w = pi * (1.0 - pi)
    for a in range(x.shape[1]):
        xaw = x[i, a] * w
        for b in range(a + 1):
            xwx[a, b] += xaw * x[i, b]
    return pi


@njit(cache=True, nogil=True)
def _score_pass(x, d, beta):  # pragma: no cover - compiled
    """One pass over the rows: fitted scores ``p``, ``X'WX`` and the score ``X'(d - p)``."""
    m, k = x.shape
    p = np.empty(m)
    xwx = np.zeros((k, k))
    grad = np.zeros(k)
    for i in range(m):
        pi = _score_row(x, i, beta, xwx)
        p[i] = pi
        r = d[i] - pi
        for a in range(k):
            grad[a] += x[i, a] * r
    for a in range(k):
        for b in range(a):
            xwx[b, a] = xwx[a, b]
    return p, xwx, grad


def _logit(
    x: np.ndarray, d: np.ndarray, where: tuple[float, float], start: np.ndarray | None = None
) -> np.ndarray:
    """Maximum-likelihood logit by Newton-Raphson: the coefficients.

    Each Newton step is one compiled pass (:func:`_score_pass`: scores, Hessian and
    gradient together), started from ``start`` (a neighbouring cell's fit) or the
    intercept-only fit; it stops when a step moves no coefficient by 1e-11, or
    when the quadratic rate predicts the next step below 1e-13 (the coefficients
    then agree with the old 1e-11 stop to about that).  The scores and ``X'WX`` at
    the final coefficients come from the first pass of :func:`_moments`.
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
            return beta
        last = size
    raise DesignError(
        f"Propensity-score logit for cohort {_num(where[0])}, period "
        f"{_num(where[1])} did not converge (separation?); use method='reg'."
    )


@njit(cache=True, nogil=True)
def _moments(y, rows, t_idx, b_idx, d, x, beta_ps, ipw):  # pragma: no cover - compiled
    """One pass: the weights, ``[x (1-d), w_t, w_c, x w_c]' dy`` and small matrices.

    With ``ipw`` the propensity scores ``p`` at the logit's coefficients ``beta_ps``
    and their ``X'WX`` are computed here (the logit's last pass), and the weights
    are DRDID's: ``w_t = d``, ``w_c = p/(1-p)`` for the controls, scores capped at
    ``1 - 1e-6`` and controls above 0.995 trimmed; without, ``w_c = 0``.
    ``dy[i, j] = y[rows[i], t_idx[j]] - y[rows[i], b_idx[j]]`` is read from ``y``,
    not copied.  Returns that ``(2k+2) x J`` product, ``(x (1-d))' x``,
    ``(x w_c)' x``, the ``3 x k`` rows ``d' x``, ``w_t' x``, ``w_c' x``, then
    ``p``, ``X'WX``, ``w_t`` and ``w_c``.
    """
    m, k = x.shape
    n_j = t_idx.shape[0]
    p = np.zeros(m)
    xwx_ps = np.zeros((k, k))
    w_t = d.copy()
    w_c = np.zeros(m)
    mom = np.zeros((2 * k + 2, n_j))
    xtx = np.zeros((k, k))
    xwx = np.zeros((k, k))
    sums = np.zeros((3, k))
    dy = np.empty(n_j)
    for i in range(m):
        r = rows[i]
        for jj in range(n_j):
            dy[jj] = y[r, t_idx[jj]] - y[r, b_idx[jj]]
        di = d[i]
        c = 1.0 - di
        wc = 0.0
        if ipw:
            pi = _score_row(x, i, beta_ps, xwx_ps)
            p[i] = pi
            pi = min(pi, 1.0 - 1e-6)
            if di == 0.0 and pi < _TRIM:
                wc = pi / (1.0 - pi)
                w_c[i] = wc
        for a in range(k):  # w_t = d: its sums are those of d; matrices by lower triangle
            xa = x[i, a]
            xc, xw = xa * c, xa * wc
            sums[0, a] += di * xa
            sums[2, a] += xw
            for b in range(a + 1):
                xtx[a, b] += xc * x[i, b]
                xwx[a, b] += xw * x[i, b]
            for jj in range(n_j):
                mom[a, jj] += xc * dy[jj]
                mom[k + 2 + a, jj] += xw * dy[jj]
        for jj in range(n_j):
            mom[k, jj] += di * dy[jj]
            mom[k + 1, jj] += wc * dy[jj]
    for a in range(k):
        sums[1, a] = sums[0, a]
        for b in range(a):
            xwx_ps[b, a] = xwx_ps[a, b]
            xtx[b, a] = xtx[a, b]
            xwx[b, a] = xwx[a, b]
    return mom, xtx, xwx, sums, p, xwx_ps, w_t, w_c


@njit(cache=True, nogil=True)
def _write_influence(
    out, cols, factor, y, rows, t_idx, b_idx, d, x, w_t, w_c, e, s_t, s_c, v, beta, c_t, c_c, q
):  # pragma: no cover - compiled
    """``out[rows[i], cols[j]] = factor * IF[i, j]`` with, per row,
    ``IF = scale (dy - x beta) + w_t c_t + w_c c_c + e (x q)`` and
    ``scale = s_t w_t + s_c w_c + (1 - d) (x v)``."""
    m, k = x.shape
    n_j = t_idx.shape[0]
    for i in range(m):
        r = rows[i]
        xv = 0.0
        for a in range(k):
            xv += x[i, a] * v[a]
        scale = s_t * w_t[i] + s_c * w_c[i] + (1.0 - d[i]) * xv
        for jj in range(n_j):
            fit = 0.0
            lin = 0.0
            for a in range(k):
                fit += x[i, a] * beta[a, jj]
                lin += x[i, a] * q[a, jj]
            dy = y[r, t_idx[jj]] - y[r, b_idx[jj]]
            val = scale * (dy - fit) + w_t[i] * c_t[jj] + w_c[i] * c_c[jj] + e[i] * lin
            out[r, cols[jj]] = factor * val


def _drdid(
    fit: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray],
    d: np.ndarray,
    x: np.ndarray,
    method: Method,
    beta_ps: np.ndarray,
    where: tuple[float, float],
    out: np.ndarray,
    cols: list[int],
    factor: float,
) -> np.ndarray:
    """ATTs of DRDID's panel estimators (unit weights); writes ``factor`` times their
    influence functions into ``out[rows, cols]``.

    ``fit`` is ``(y, rows, t_idx, b_idx)``: the cells share units ``rows`` (treated
    ``d``) and covariates ``x`` (first column the intercept); cell ``j``'s outcome
    change is ``y[rows, t_idx[j]] - y[rows, b_idx[j]]``.  ``beta_ps`` are the
    propensity-score coefficients of :func:`_logit` (unused for ``reg``); ``where``
    (cohort, period) names the cell in errors.  ``reg``: ``reg_did_panel``; ``ipw``:
    ``std_ipw_did_panel``;
    ``dr``: ``drdid_panel`` (Sant'Anna & Zhao 2020, improved locally efficient), each
    with DRDID's trimming of control propensity scores above 0.995.

    DRDID's formulas, rearranged so that the outcomes are read twice whatever the
    method (two compiled passes, :func:`_moments` and :func:`_write_influence`):
    every weighted mean and moment of ``dy`` comes from one product ``A' dy``, and
    the influence function is ``scale (dy - x beta) + w_t c_t + w_c c_c + (d - p)
    x q`` with small vectors and matrices.  With the control-outcome regression
    ``r = dy - x beta`` and its linear representation ``(1 - d) r (x (X'X/m)^-1 v)``:

    * ``reg``: ``IF = [r (d - (1 - d) q) - d ATT] / mean(d)``, ``q = x (X'X/m)^-1 mean(d x)``;
    * ``ipw``: ``IF = dy (w_t/mean(w_t) - w_c/mean(w_c)) - w_t eta_t/mean(w_t)
      + w_c eta_c/mean(w_c) - lin_ps m2 / mean(w_c)``, ``lin_ps = (d - p) x (X'WX/m)^-1``;
    * ``dr``: as ``ipw`` with ``r`` for ``dy`` and the OLS terms
      ``(1 - d) r (q_c/mean(w_c) - q_t/mean(w_t))`` added to the multiplier of ``r``.
    """
    y, rows, t_idx, b_idx = fit
    m, k = x.shape
    n_j = len(t_idx)
    ipw = method != "reg"
    mom, xtx, xwcx, sums, p, xwx_ps, w_t, w_c = _moments(y, rows, t_idx, b_idx, d, x, beta_ps, ipw)
    if ipw and (p[d == 1].max() >= 0.999 or not np.isfinite(p).all()):
        raise DesignError(
            f"Overlap fails for cohort {_num(where[0])} in period {_num(where[1])}: a "
            "propensity score reaches 0.999. Use method='reg' or fewer covariates."
        )
    d_x, wt_x, wc_x = sums
    sum_t, sum_c = w_t.sum(), w_c.sum()
    mean_t, mean_c = sum_t / m, sum_c / m
    beta = np.zeros((k, n_j))
    v = np.zeros(k)
    if method != "ipw":
        beta = np.linalg.solve(xtx, mom[:k])  # OLS of dy on x among the controls
        ols = np.linalg.inv(xtx / m)  # its asymptotic linear representation: x @ ols
    eta_t = (mom[k] - wt_x @ beta) / sum_t  # weighted means of r (or dy)
    zeros = np.zeros(n_j)
    if method == "reg":
        v = -(ols @ (d_x / m)) / mean_t
        args = (1.0 / mean_t, 0.0, v, beta, -eta_t / mean_t, zeros, np.zeros((k, n_j)))
        _write_influence(
            out, np.asarray(cols), factor, y, rows, t_idx, b_idx, d, x, w_t, w_c, np.zeros(m), *args
        )
        return eta_t  # mean of the treated's r: their change minus its prediction
    eta_c = (mom[k + 1] - wc_x @ beta) / sum_c
    m2 = (mom[k + 2 :] - xwcx @ beta - np.outer(wc_x, eta_c)) / m
    q = -(np.linalg.inv(xwx_ps) * m) @ m2 / mean_c
    if method == "dr":
        v = ols @ (wc_x / m) / mean_c - ols @ (wt_x / m) / mean_t
    args = (1.0 / mean_t, -1.0 / mean_c, v, beta, -eta_t / mean_t, eta_c / mean_c, q)
    _write_influence(
        out, np.asarray(cols), factor, y, rows, t_idx, b_idx, d, x, w_t, w_c, d - p, *args
    )
    return eta_t - eta_c


__all__ = ["covariate_cells"]
