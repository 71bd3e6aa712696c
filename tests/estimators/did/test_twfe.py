"""TWFE: mpdta reference values from R (tests/reference/r/03_mpdta_twfe.R, R_output.txt:
plm, estimatr 1.0.0, clubSandwich 0.5.8, fixest/pyfixest), linearmodels PanelOLS and a
statsmodels dummy-variable regression as independent implementations, known truth,
bad input and the result contract."""

from __future__ import annotations

import warnings

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
import statsmodels.api as sm  # noqa: E402
from linearmodels import PanelOLS  # noqa: E402

import evaluate.estimators.did._within as within_module  # noqa: E402
import evaluate.estimators.did.twfe as twfe_module  # noqa: E402
from evaluate.datasets import mpdta  # noqa: E402
from evaluate.effect import TIDY_COLUMNS, Effect  # noqa: E402
from evaluate.errors import (  # noqa: E402
    DataError,
    DesignError,
    NegativeWeightsWarning,
    SpecError,
)
from evaluate.estimators.did.twfe import TWFEResult, panel_index, twfe, within  # noqa: E402

RTOL = 1e-6  # R printed 8 significant digits
BETA = -0.036548937


def mp() -> pd.DataFrame:
    df = mpdta()
    df["D"] = ((df["first.treat"] > 0) & (df["year"] >= df["first.treat"])).astype(int)
    return df


def _dummy_ols(df: pd.DataFrame, **fit_kw):
    """OLS with explicit county and year dummies (numpy design; patsy is slow here)."""
    u = pd.factorize(df.countyreal)[0]
    t = pd.factorize(df.year, sort=True)[0]
    x = np.column_stack([df.D, np.eye(u.max() + 1)[u], np.eye(t.max() + 1)[t][:, 1:]])
    return sm.OLS(df.lemp.to_numpy(), x).fit(**fit_kw)


def _fit(data, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NegativeWeightsWarning)
        return twfe(data, outcome="lemp", unit="countyreal", time="year", treatment="D", **kw)


@pytest.mark.parametrize(
    ("inference", "se", "df", "ci"),
    [
        ("CR0", 0.01323862, 499, None),  # plm vcovHC(arellano, HC0)
        ("CR1", 0.013265155, 499, None),  # fixest / pyfixest default, K = 6
        ("CR1-stata", 0.014831638, 499, (-0.065689092, -0.0074087815)),  # estimatr "stata"
        ("CR2", 0.01327043, 279.82622, (-0.062671484, -0.01042639)),  # estimatr/clubSandwich
    ],
)
def test_mpdta_reference(inference, se, df, ci):
    res = _fit(mp(), inference=inference)
    assert res.estimate == pytest.approx(BETA, rel=RTOL)
    assert res.std_error == pytest.approx(se, rel=RTOL)
    assert res.distribution.df == pytest.approx(df, rel=RTOL)
    if ci is not None:
        assert res.ci == pytest.approx(ci, rel=RTOL)


def test_mpdta_default_is_cr1_and_flags_negative_weights():
    # Staggered adoption: one treated cell (cohort 2004 in 2007) gets a negative
    # TWFE weight (de Chaisemartin-D'Haultfoeuille); the result says so and warns.
    with pytest.warns(NegativeWeightsWarning):
        res = twfe(mp(), outcome="lemp", unit="countyreal", time="year", treatment="D")
    assert res.covariance_method == "CR1" and res.balanced
    assert res.n_units == 500 and res.n_periods == 5 and res.n_clusters == 500
    assert res.diagnostics["negative weights"].passed is False


def _counties(n: int, seed: int = 0) -> pd.DataFrame:
    """A subset of counties (statsmodels with 500 dummies is slow on a shared machine)."""
    df = mp()
    keep = np.random.default_rng(seed).choice(df.countyreal.unique(), n, replace=False)
    return df[df.countyreal.isin(keep)]


def test_matches_pyfixest_when_installed():
    """pyfixest 0.60 feols default CRV1 (R_output.txt: pyfixest gives 0.013265155)."""
    pf = pytest.importorskip("pyfixest")
    df = mp().sample(frac=0.85, random_state=2)  # unbalanced: the exact T x T solve
    # pyfixest drops singleton units (changing n in (n-1)/(n-K)); we keep them.
    df = df[df.groupby("countyreal").year.transform("size") > 1]
    ref = pf.feols("lemp ~ D | countyreal + year", data=df, vcov={"CRV1": "countyreal"})
    res = _fit(df, inference="CR1")
    assert res.estimate == pytest.approx(float(ref.coef()["D"]), rel=1e-8)
    assert res.std_error == pytest.approx(float(ref.se()["D"]), rel=1e-8)


def test_heteroskedastic_matches_statsmodels_dummies():
    df = _counties(120)
    ref = _dummy_ols(df, cov_type="HC1")
    res = _fit(df, cluster=None, inference="HC1")
    assert res.std_error == pytest.approx(ref.bse[0], rel=1e-8)
    assert res.distribution.df == 600 - 125


@pytest.mark.parametrize("frac", [1.0, 0.8])
def test_against_linearmodels_panelols(frac):
    """Balanced (closed-form within) and unbalanced (exact T x T solve) panels."""
    df = mp().sample(frac=frac, random_state=3)
    ref = PanelOLS.from_formula(
        "lemp ~ D + lpop_t + EntityEffects + TimeEffects",
        df.assign(lpop_t=df.lpop * (df.year - 2005)).set_index(["countyreal", "year"]),
    ).fit()
    res = twfe(
        df.assign(lpop_t=df.lpop * (df.year - 2005)),
        outcome="lemp",
        unit="countyreal",
        time="year",
        treatment="D",
        covariates=["lpop_t"],
    )
    np.testing.assert_allclose(res.coefficients.estimate, ref.params[["D", "lpop_t"]], rtol=1e-8)
    assert res.balanced == (frac == 1.0)


def test_unbalanced_clustered_se_matches_statsmodels_dummies():
    """statsmodels' cluster covariance on the full dummy model = Stata areg convention."""
    df = _counties(120, seed=1).sample(frac=0.8, random_state=1)
    ref = _dummy_ols(df, cov_type="cluster", cov_kwds={"groups": df.countyreal.to_numpy()})
    res = _fit(df, inference="CR1-stata")
    assert res.estimate == pytest.approx(ref.params[0], rel=1e-9)
    assert res.std_error == pytest.approx(ref.bse[0], rel=1e-9)


def test_alternating_projections_agree_with_exact_solve(monkeypatch):
    df = mp().sample(frac=0.7, random_state=5)
    index = panel_index(df.countyreal, df.year)
    cols = df[["lemp", "lpop"]].to_numpy()
    exact = within(index, cols)
    monkeypatch.setattr(within_module, "_EXACT_LIMIT", 0)
    iterative = within(index, cols)
    np.testing.assert_allclose(iterative, exact, atol=1e-8)


def _simulate(rng, n_units=60, n_periods=6, effect=0.8):
    unit = np.repeat(np.arange(n_units), n_periods)
    time = np.tile(np.arange(n_periods), n_units)
    adopt = np.where(np.arange(n_units) < n_units // 2, 3, 99)[unit]
    d = (time >= adopt).astype(int)
    y = (
        rng.normal(size=n_units)[unit]
        + 0.3 * time
        + effect * d
        + rng.normal(scale=0.5, size=n_units)[unit] * 0
        + rng.normal(size=len(unit))
    )
    return pd.DataFrame({"u": unit, "t": time, "d": d, "y": y})


def test_known_truth_and_coverage():
    rng = np.random.default_rng(7)
    reps, hits, est = 250, 0, []
    for _ in range(reps):
        res = twfe(_simulate(rng), outcome="y", unit="u", time="t", treatment="d")
        est.append(res.estimate)
        hits += res.ci[0] <= 0.8 <= res.ci[1]
    assert np.mean(est) == pytest.approx(0.8, abs=0.03)  # MC SE ~ 0.008
    assert 0.91 <= hits / reps <= 0.985  # binomial SE 1.4 pp around 95 %


def test_auto_chooses_by_treated_clusters_and_wild_runs():
    # 10 units, 5 treated: too few treated units for any cluster-robust interval.
    df = _simulate(np.random.default_rng(3), n_units=10)
    res = twfe(df, outcome="y", unit="u", time="t", treatment="d")
    assert res.covariance_method == "randomization" and "5 treated units" in res.notes[0]
    assert res.inference_rule.startswith("auto: randomization")
    # 40 units, 20 treated: CR2 because 20 treated clusters (< 30), not the 40 in all.
    mid = twfe(_simulate(np.random.default_rng(3), n_units=40), outcome="y", unit="u",
               time="t", treatment="d")  # fmt: skip
    assert mid.covariance_method == "CR2" and "20 treated clusters" in mid.notes[0]
    cr2 = twfe(df, outcome="y", unit="u", time="t", treatment="d", inference="CR2")
    assert cr2.covariance_method == "CR2" and cr2.inference_rule == "user choice: CR2"
    wild = twfe(df, outcome="y", unit="u", time="t", treatment="d", inference="wild", n_boot=999)
    assert wild.estimate == res.estimate
    assert "Wild cluster bootstrap (webb" in wild.notes[0]


def test_bad_input():
    df = _simulate(np.random.default_rng(0))
    with pytest.raises(DataError, match="more than once"):
        twfe(pd.concat([df, df.iloc[:1]]), outcome="y", unit="u", time="t", treatment="d")
    with pytest.raises(DesignError, match="no variation"):
        twfe(df.assign(d=(df.u < 30).astype(int)), outcome="y", unit="u", time="t", treatment="d")
    with pytest.raises(DataError, match="numeric"):
        twfe(df.assign(y="a"), outcome="y", unit="u", time="t", treatment="d")
    with pytest.raises(DesignError, match="2 periods"):
        twfe(df[df.t == 0], outcome="y", unit="u", time="t", treatment="d")
    with pytest.raises(SpecError, match="inference"):
        twfe(df, outcome="y", unit="u", time="t", treatment="d", inference="HC3")  # type: ignore[arg-type]
    with pytest.raises(SpecError, match="whole units"):
        twfe(df, outcome="y", unit="u", time="t", treatment="d", cluster="t", inference="CR2")
    holes = df.assign(y=df.y.where(df.index % 50 != 0))
    with pytest.warns(Warning, match="Dropped"):
        res = twfe(holes, outcome="y", unit="u", time="t", treatment="d")
    assert res.provenance.n_dropped == int(holes.y.isna().sum())


def test_does_not_modify_input():
    df = mp()
    before = df.copy()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        _fit(df, inference="CR2")
    pd.testing.assert_frame_equal(df, before)


def test_result_contract():
    res = _fit(mp())
    assert isinstance(res, TWFEResult) and isinstance(res, Effect)
    for fmt in ("text", "markdown", "html"):
        assert "Two-way fixed effects" in res.summary(fmt)
    frame = res.to_frame()
    assert list(frame.columns) == TIDY_COLUMNS
    assert frame.loc[0, "estimate"] == pytest.approx(BETA, rel=RTOL)
    assert "<table" in res._repr_html_()
    res.plot()
    plt.close("all")


def test_degrees_of_freedom_below_one_are_floored():
    # CR2's Bell-McCaffrey df can fall below 1 with one or two treated clusters; an
    # interval from t(0.3) would be +-10^4 standard errors wide, so df is floored at 1.
    dist = twfe_module.coefficient_distribution(1.0, 0.5, 0.3)
    assert dist.df == 1.0
    assert dist.interval(0.05)[1] == pytest.approx(1.0 + 12.7062047 * 0.5, rel=1e-6)
