"""Covariance registry: reference values from R (estimatr 1.0.0, clubSandwich 0.5.8,
sandwich 3.0.2, fixest/pyfixest), see tests/reference/R_output.txt and the scripts
tests/reference/r/02_card_krueger.R and 03_mpdta_twfe.R.

R printed 8 significant digits, so reference comparisons use rtol=1e-6.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm

from evaluate.datasets import card_krueger, mpdta
from evaluate.errors import SpecError
from evaluate.inference.covariance import (
    COVARIANCE_ESTIMATORS,
    FEW_CLUSTERS,
    RegressionDesign,
    choose_covariance,
    covariance,
    is_nested,
)

RTOL = 1e-6  # R output has 8 significant digits


def _ck_long(balanced: bool = False) -> pd.DataFrame:
    ck = card_krueger()
    waves = [
        pd.DataFrame({"sheet": ck.sheet, "nj": ck.state, "post": post, "fte": ck[col]})
        for post, col in ((0, "fte"), (1, "fte2"))
    ]
    long = pd.concat(waves, ignore_index=True).dropna(subset=["fte"])
    long["store"] = long.sheet.astype(str) + "_" + long.nj.astype(str)
    if balanced:
        long = long[long.groupby("store").fte.transform("size") == 2]
    return long


def _ck_design(balanced: bool = False) -> RegressionDesign:
    a = _ck_long(balanced)
    x = np.column_stack([np.ones(len(a)), a.nj, a.post, a.nj * a.post]).astype(float)
    y = a.fte.to_numpy()
    beta = np.linalg.lstsq(x, y, rcond=None)[0]
    return RegressionDesign(x=x, resid=y - x @ beta, clusters=pd.factorize(a.store)[0])


def _mpdta_design() -> RegressionDesign:
    """TWFE lemp ~ D | county + year: time dummies explicit, county effects absorbed."""
    mp = mpdta()
    d = ((mp["first.treat"] > 0) & (mp.year >= mp["first.treat"])).astype(float)
    u = pd.factorize(mp.countyreal)[0]
    t = pd.factorize(mp.year, sort=True)[0]
    z = np.column_stack([d, np.eye(5)[t][:, 1:], mp.lemp])
    counts = np.bincount(u)
    means = np.stack([np.bincount(u, weights=z[:, j]) / counts for j in range(z.shape[1])], 1)
    z = z - means[u]
    x, y = z[:, :-1], z[:, -1]
    beta = np.linalg.lstsq(x, y, rcond=None)[0]
    assert beta[0] == pytest.approx(-0.036548937, rel=RTOL)
    return RegressionDesign(
        x=x, resid=y - x @ beta, clusters=u, fe_levels=(500,), fe_nested=(True,), absorbed_groups=u
    )


# estimatr lm_robust(fte ~ nj * post), 794 store-waves (R_output.txt, 02_card_krueger.R)
@pytest.mark.parametrize(
    ("method", "se", "df"),
    [
        ("HC1", 1.7954508, 790),
        ("HC2", 1.8011997, 790),
        ("CR2", 1.3102334, 116.92867),
        ("CR1", 1.306607, 409),  # estimatr se_type="stata"; equals fixest without FE
        ("CR1-stata", 1.306607, 409),
    ],
)
def test_card_krueger_all_store_waves(method, se, df):
    est = covariance(_ck_design(), method)
    assert est.std_errors[3] == pytest.approx(se, rel=RTOL)
    assert est.df[3] == pytest.approx(df, rel=RTOL)


# balanced sample, 768 store-waves (R_output.txt)
@pytest.mark.parametrize(
    ("method", "se", "df"),
    [
        ("HC1", 1.8428278, 764),
        ("HC2", 1.8488521, 764),
        ("CR2", 1.342341, 112.68684),
        ("CR1-stata", 1.3385982, 383),
    ],
)
def test_card_krueger_balanced(method, se, df):
    est = covariance(_ck_design(balanced=True), method)
    assert est.std_errors[3] == pytest.approx(se, rel=RTOL)
    assert est.df[3] == pytest.approx(df, rel=RTOL)


# mpdta TWFE clustered by county (03_mpdta_twfe.R): plm HC0, fixest K=6, estimatr
# stata (all 505 dummies), estimatr/clubSandwich CR2 with Satterthwaite df.
@pytest.mark.parametrize(
    ("method", "se", "df"),
    [
        ("CR0", 0.01323862, 499),
        ("CR1", 0.013265155, 499),
        ("CR1-stata", 0.014831638, 499),
        ("CR2", 0.01327043, 279.82622),
    ],
)
def test_mpdta_twfe_conventions(method, se, df):
    est = covariance(_mpdta_design(), method, n_interest=1)
    assert est.std_errors[0] == pytest.approx(se, rel=RTOL)
    assert est.df[0] == pytest.approx(df, rel=RTOL)


def _small_problem(seed=0, g=7, unbalanced=True):
    rng = np.random.default_rng(seed)
    sizes = rng.integers(2, 9, size=g) if unbalanced else np.full(g, 5)
    cl = np.repeat(np.arange(g), sizes)
    n = len(cl)
    x = np.column_stack([np.ones(n), rng.normal(size=n), (cl < 2).astype(float)])
    y = x @ [1.0, 0.3, 0.5] + rng.normal(size=g)[cl] + rng.normal(size=n)
    beta = np.linalg.lstsq(x, y, rcond=None)[0]
    return x, y - x @ beta, cl


def test_cr2_equals_brute_force_formula():
    """Dense (I - H_gg)^(-1/2) and the n x G matrix U of Bell-McCaffrey, written out."""
    x, e, cl = _small_problem()
    m = np.linalg.inv(x.T @ x)
    h = x @ m @ x.T
    n, g = len(e), cl.max() + 1
    meat = np.zeros((3, 3))
    a_mats = []
    for c in range(g):
        idx = np.flatnonzero(cl == c)
        vals, vecs = np.linalg.eigh(np.eye(len(idx)) - h[np.ix_(idx, idx)])
        f = np.where(vals > 1e-12, 1 / np.sqrt(np.clip(vals, 1e-300, None)), 0.0)
        a_g = (vecs * f) @ vecs.T
        a_mats.append((idx, a_g))
        s = x[idx].T @ a_g @ e[idx]
        meat += np.outer(s, s)
    cov = m @ meat @ m
    est = covariance(RegressionDesign(x=x, resid=e, clusters=cl), "CR2")
    np.testing.assert_allclose(est.cov, cov, rtol=1e-10)
    for j in range(3):
        u = np.zeros((n, g))
        for c, (idx, a_g) in enumerate(a_mats):
            w = np.zeros(n)
            w[idx] = a_g @ x[idx] @ m[:, j]
            u[:, c] = (np.eye(n) - h) @ w
        uu = u.T @ u
        assert est.df[j] == pytest.approx(np.trace(uu) ** 2 / np.sum(uu**2), rel=1e-10)


def test_hc_and_cr1_match_statsmodels():
    x, e, cl = _small_problem(seed=3, g=15)
    y = x @ [1.0, 0.3, 0.5] + e  # any y with these residuals has the same OLS residuals
    d = RegressionDesign(x=x, resid=e, clusters=cl)
    for ours, theirs in (("HC1", "HC1"), ("HC2", "HC2")):
        ref = sm.OLS(y, x).fit(cov_type=theirs).cov_params()
        np.testing.assert_allclose(covariance(d, ours).cov, ref, rtol=1e-10)
    ref = sm.OLS(y, x).fit(cov_type="cluster", cov_kwds={"groups": cl}).cov_params()
    np.testing.assert_allclose(covariance(d, "CR1").cov, ref, rtol=1e-10)


def test_fixest_and_stata_parameter_counts():
    d = RegressionDesign(
        x=np.ones((10, 1)), resid=np.zeros(10), fe_levels=(500, 5), fe_nested=(True, False)
    )
    assert d.k_full == 505  # slope + 504 dummies (estimatr "stata" / areg)
    assert d.k_fixest == 6  # slope + 5 year effects (fixest, pyfixest)


def test_choose_covariance_few_clusters_and_single_treated():
    method, note = choose_covariance(FEW_CLUSTERS - 1, 5, n_control_clusters=20)
    assert method == "CR2" and "29 clusters" in note
    method, note = choose_covariance(200, 1, n_control_clusters=199)
    assert method == "CR2" and "1 treated cluster" in note and "randomization" in note
    assert choose_covariance(200, 50, n_control_clusters=150) == ("CR1", "")
    assert choose_covariance(None)[0] == "HC2"


def test_bad_input():
    x, e, cl = _small_problem()
    with pytest.raises(SpecError, match="Unknown covariance"):
        covariance(RegressionDesign(x=x, resid=e, clusters=cl), "CR3")  # type: ignore[arg-type]
    with pytest.raises(SpecError, match="cluster"):
        covariance(RegressionDesign(x=x, resid=e), "CR1")
    with pytest.raises(SpecError, match="nested"):
        covariance(
            RegressionDesign(x=x, resid=e, clusters=cl, fe_levels=(3,), fe_nested=(False,)), "CR2"
        )
    with pytest.raises(SpecError, match="at least 2 clusters"):
        covariance(RegressionDesign(x=x, resid=e, clusters=np.zeros(len(e), int)), "CR0")


def test_is_nested():
    unit = np.array([0, 0, 1, 1, 2, 2])
    assert is_nested(unit, np.array([0, 0, 0, 0, 1, 1]))
    assert not is_nested(unit, np.array([0, 1, 0, 0, 1, 1]))


def test_registry_names():
    assert set(COVARIANCE_ESTIMATORS) == {
        "classical", "HC1", "HC2", "CR0", "CR1", "CR1-stata", "CR2"
    }


def test_cr2_coverage_with_few_clusters():
    """Known truth: 12 clusters, a cluster-level regressor; CR2 + Satterthwaite covers
    about 95 % (CR1 with t(G-1) tends to under-cover here)."""
    rng = np.random.default_rng(42)
    g, size, reps = 12, 10, 300
    cl = np.repeat(np.arange(g), size)
    hits = 0
    from scipy import stats

    for _ in range(reps):
        xc = rng.normal(size=g)
        x = np.column_stack([np.ones(g * size), xc[cl] + 0.5 * rng.normal(size=g * size)])
        y = 1.0 + 0.5 * x[:, 1] + rng.normal(size=g)[cl] + rng.normal(size=g * size)
        beta = np.linalg.lstsq(x, y, rcond=None)[0]
        est = covariance(RegressionDesign(x=x, resid=y - x @ beta, clusters=cl), "CR2")
        half = stats.t.ppf(0.975, est.df[1]) * est.std_errors[1]
        hits += abs(beta[1] - 0.5) <= half
    # 300 draws: binomial SE of a 95 % rate is 1.3 pp; accept 90-99 %.
    assert 0.90 <= hits / reps <= 0.99


@pytest.mark.slow
def test_cr2_coverage_heavy():
    """Heavy version: 3000 draws, 8 clusters with one regressor varying at cluster level.
    CR2 + Satterthwaite should stay within 93-97 %."""
    from scipy import stats

    rng = np.random.default_rng(7)
    g, size, reps, hits = 8, 15, 3000, 0
    cl = np.repeat(np.arange(g), size)
    for _ in range(reps):
        x = np.column_stack([np.ones(g * size), rng.normal(size=g)[cl] + rng.normal(size=g * size)])
        y = 0.5 * x[:, 1] + rng.normal(size=g)[cl] + rng.normal(size=g * size)
        beta = np.linalg.lstsq(x, y, rcond=None)[0]
        est = covariance(RegressionDesign(x=x, resid=y - x @ beta, clusters=cl), "CR2")
        hits += abs(beta[1] - 0.5) <= stats.t.ppf(0.975, est.df[1]) * est.std_errors[1]
    assert 0.93 <= hits / reps <= 0.97
