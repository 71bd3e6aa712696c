"""The fast paths of Callaway-Sant'Anna equal the paths they replaced
(evaluate/estimators/did/_influence.py, staggered_drdid.py, _cohorts.sorted_codes).

* Without covariates the influence function is held per cohort as an affine map
  of the outcomes and every standard error comes from one Gram matrix; checked
  against the dense ``n x K`` array (R's ``inffunc``) written out cell by cell
  here from its definition, and against aggregating that dense array.
* With covariates, cells sharing units and covariates are fitted together by a
  rearranged DRDID; checked against the previous cell-by-cell code (kept below
  verbatim as ``_old_drdid``, itself checked against R ``did`` / csdid in
  test_staggered.py) and, where installed, csdid 0.4.3 with a time-varying covariate.
* Row order and unit labels do not change any number (the wide panel is built by
  a linear scatter, with a shortcut for sorted rows), balanced or unbalanced.

Tolerances: 1e-10 relative for the same quantity computed in another order
(rounding only); 1e-8 absolute / 1e-6 relative against csdid, as in test_staggered.
"""

from __future__ import annotations

import dataclasses
import warnings

import numpy as np
import pandas as pd
import pytest
from scipy.special import expit

from evaluate.estimators.did._cohorts import sorted_codes
from evaluate.estimators.did._influence import DenseInfluence
from evaluate.estimators.did.staggered import callaway_santanna

SIM = dict(outcome="y", unit="id", time="t", group="g")
RTOL = 1e-10


def _panel(n=240, periods=7, seed=0, weights=False):
    rng = np.random.default_rng(seed)
    g = rng.choice(np.array([0, 3, 5, 6]), size=n, p=[0.4, 0.2, 0.2, 0.2])
    x1 = rng.normal(size=n)
    t = np.arange(1, periods + 1)
    x2 = rng.normal(size=(n, periods)) + 0.2 * t
    y = 5 + x1[:, None] * (1 + 0.1 * t) + 0.5 * x2 + rng.normal(size=(n, periods))
    y += np.where((g[:, None] > 0) & (t >= g[:, None]), 1.0 + 0.2 * (t - g[:, None]), 0.0)
    frame = pd.DataFrame(
        {
            "id": np.repeat(np.arange(n), periods),
            "t": np.tile(t, n),
            "y": y.ravel(),
            "g": np.repeat(g, periods),
            "x1": np.repeat(x1, periods),
            "x2": x2.ravel(),
        }
    )
    if weights:
        frame["w"] = np.repeat(rng.uniform(0.5, 2.0, size=n), periods)
    return frame


def _fit(frame, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return callaway_santanna(frame, **SIM, **kw)


# --------------------------------------------------------------------------- no covariates
@pytest.mark.parametrize(
    "options",
    [
        {},
        {"control": "notyet"},
        {"base_period": "universal"},
        {"control": "notyet", "base_period": "universal", "anticipation": 1},
        {"weights": "w"},
    ],
)
def test_compact_influence_equals_dense(options):
    frame = _panel(weights="weights" in options)
    res = _fit(frame, **options)
    gt = res.group_time
    dense = DenseInfluence(gt.influence, gt.cohort_index, len(gt.cohort_values), gt.unit_weights)
    scale = np.abs(dense.gram).max()
    np.testing.assert_allclose(gt.influence_function.gram, dense.gram, rtol=0, atol=RTOL * scale)
    as_dense = dataclasses.replace(
        res, group_time=dataclasses.replace(gt, influence_function=dense)
    )
    for kind in ("simple", "group", "dynamic", "calendar"):
        a, b = res.aggregate(kind), as_dense.aggregate(kind)
        assert a.estimate == pytest.approx(b.estimate, rel=RTOL)
        assert a.std_error == pytest.approx(b.std_error, rel=RTOL)
        np.testing.assert_allclose(a.influence, b.influence, rtol=0, atol=RTOL * scale)
        if kind != "simple":  # per-period effects and their covariance
            pd.testing.assert_frame_equal(a.vcov, b.vcov, rtol=RTOL, atol=RTOL * scale / gt.n**2)
            pd.testing.assert_frame_equal(a.periods, b.periods, rtol=RTOL)


def test_compact_influence_is_the_did_influence_function():
    """Column k of the dense IF from its definition: ``n/n_g (dY - mean_g dY)`` for the
    cohort, ``-n/n_C (dY - mean_C dY)`` for the never-treated controls, 0 elsewhere."""
    frame = _panel(seed=3)
    res = _fit(frame)
    gt = res.group_time
    wide = frame.pivot(index="id", columns="t", values="y")
    cohort = frame.groupby("id")["g"].first().loc[wide.index].to_numpy()
    order = np.lexsort((wide.index.to_numpy(), cohort))  # units sorted by cohort, then id
    y, cohort = wide.to_numpy()[order], cohort[order]
    n = len(y)
    for k, row in enumerate(res.att_gt.itertuples()):
        dy = y[:, row.time - 1] - y[:, row.base_period - 1]
        treated, control = cohort == row.group, cohort == 0
        expected = np.zeros(n)
        expected[treated] = n / treated.sum() * (dy[treated] - dy[treated].mean())
        expected[control] = -n / control.sum() * (dy[control] - dy[control].mean())
        np.testing.assert_allclose(gt.influence[:, k], expected, rtol=0, atol=1e-10)
        assert row.estimate == pytest.approx(dy[treated].mean() - dy[control].mean(), abs=1e-12)
        se = np.sqrt(np.sum(expected**2)) / n
        assert row.std_error == pytest.approx(se, rel=RTOL)


# --------------------------------------------------------------------------- covariates
def _old_logit(x, d):
    beta = np.zeros(x.shape[1])
    for _ in range(100):
        p = expit(x @ beta)
        hess = (x * (p * (1 - p))[:, None]).T @ x
        step = np.linalg.lstsq(hess, x.T @ (d - p), rcond=None)[0]
        beta += step
        if np.max(np.abs(step)) < 1e-11:
            break
    p = expit(x @ beta)
    return p, (x * (p * (1 - p))[:, None]).T @ x


def _old_drdid(dy, d, x, method):
    """The cell-by-cell DRDID of evaluate before the grouped fit (verbatim)."""
    n1 = len(d)
    ctrl = d == 0
    if method in ("reg", "dr"):
        beta = np.linalg.lstsq(x[ctrl], dy[ctrl], rcond=None)[0]
        resid_all = dy - x @ beta
        xpx_inv = np.linalg.inv((x[ctrl].T @ x[ctrl]) / n1)
        lin_ols = ((1 - d) * resid_all)[:, None] * x @ xpx_inv
    if method == "reg":
        w = d
        eta_t = np.mean(w * dy) / np.mean(w)
        eta_c = np.mean(w * (dy - resid_all)) / np.mean(w)
        inf_t = (w * dy - w * eta_t) / np.mean(w)
        inf_c = w * (dy - resid_all) - w * eta_c + lin_ols @ np.mean(w[:, None] * x, axis=0)
        return float(eta_t - eta_c), inf_t - inf_c / np.mean(w)
    p, xwx = _old_logit(x, d)
    p = np.minimum(p, 1 - 1e-6)
    trim = np.where(ctrl, p < 0.995, True)
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


@pytest.mark.parametrize("method", ["dr", "ipw", "reg"])
@pytest.mark.parametrize("control", ["never", "notyet"])
@pytest.mark.parametrize("covariates", [["x1"], ["x1", "x2"]])
def test_grouped_covariate_cells_equal_the_cell_by_cell_fit(method, control, covariates):
    frame = _panel(seed=5)
    res = _fit(frame, method=method, control=control, covariates=covariates)
    gt = res.group_time
    units = np.sort(frame["id"].unique())
    cohort = frame.groupby("id")["g"].first().loc[units].to_numpy()
    order = np.lexsort((units, cohort))
    long = frame.set_index(["id", "t"])
    n = len(units)
    for k, row in enumerate(res.att_gt.itertuples()):
        if row.time == row.base_period:
            continue
        early = min(row.time, row.base_period)
        ctrl = cohort == 0
        if control == "notyet":
            ctrl |= (cohort > max(row.time, row.base_period)) & (cohort != row.group)
        member = order[(cohort[order] == row.group) | ctrl[order]]  # rows in sorted order
        ids = units[member]
        dy = long.loc[list(zip(ids, [row.time] * len(ids), strict=True)), "y"].to_numpy()
        dy = (
            dy - long.loc[list(zip(ids, [row.base_period] * len(ids), strict=True)), "y"].to_numpy()
        )
        cov = long.loc[list(zip(ids, [early] * len(ids), strict=True)), covariates].to_numpy()
        x = np.column_stack([np.ones(len(ids)), cov])
        d = (cohort[member] == row.group).astype(float)
        att, inf = _old_drdid(dy, d, x, method)
        assert row.estimate == pytest.approx(att, abs=1e-10)
        positions = np.flatnonzero(np.isin(order, member))
        got = gt.influence[positions, k]
        np.testing.assert_allclose(got, n / len(ids) * inf, rtol=0, atol=1e-8)
        assert row.std_error == pytest.approx(np.sqrt(np.sum((n / len(ids) * inf) ** 2)) / n,
                                              rel=1e-9)  # fmt: skip


def test_time_varying_covariates_match_csdid():
    csdid = pytest.importorskip("csdid.att_gt")
    frame = _panel(seed=7)
    res = _fit(frame, covariates=["x1", "x2"], control="notyet")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = csdid.ATTgt(
            yname="y", tname="t", idname="id", gname="g", data=frame,
            xformla="y ~ x1 + x2", control_group="notyettreated",
        ).fit(est_method="dr", bstrap=False)  # fmt: skip
    np.testing.assert_allclose(res.att_gt["estimate"], fit.results["att"], rtol=0, atol=1e-8)
    np.testing.assert_allclose(res.att_gt["std_error"], fit.results["se"], rtol=1e-6)


# --------------------------------------------------------------------------- input shape
@pytest.mark.parametrize(
    "options",
    [{}, {"covariates": ["x1", "x2"]}, {"weights": "w"}, {"allow_unbalanced_panel": True}],
)
def test_row_order_and_unit_labels_do_not_change_the_numbers(options):
    frame = _panel(seed=11, weights=True)
    frame = frame.drop(index=[5, 40, 41])  # two units miss periods: dropped or kept
    shuffled = frame.sample(frac=1.0, random_state=1)
    shuffled["id"] = "unit-" + shuffled["id"].astype(str).str.zfill(4)  # labels sort the same
    a, b = _fit(frame, **options), _fit(shuffled, **options)
    pd.testing.assert_frame_equal(a.att_gt, b.att_gt, rtol=RTOL, atol=1e-12)
    assert a.provenance.n_dropped == b.provenance.n_dropped
    assert a.aggregate("dynamic").std_error == pytest.approx(
        b.aggregate("dynamic").std_error, rel=RTOL
    )


@pytest.mark.parametrize(
    "values",
    [
        np.array([2004.0, 2006.0, 2004.0, 0.0]),
        np.array([3.5, 1.5, 3.5]),
        np.array([7, -3, 7, 120], dtype=np.int8),
        np.array([10**12, 5, 10**12]),
        np.array(["b", "a", "b"], dtype=object),
        np.random.default_rng(0).integers(0, 50, 1000).astype(float),
    ],
)
def test_sorted_codes_is_np_unique(values):
    uniques, codes = sorted_codes(values)
    expected, inverse = np.unique(values, return_inverse=True)
    np.testing.assert_array_equal(uniques, expected)
    assert uniques.dtype == expected.dtype
    np.testing.assert_array_equal(codes, inverse)
