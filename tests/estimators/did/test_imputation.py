"""Imputation DiD (Borusyak, Jaravel & Spiess 2024).

No published mpdta number from R ``didimputation`` / Stata ``did_imputation`` was
available offline, so the reference is an independent computation: statsmodels OLS
of ``lemp ~ C(county) + C(year)`` on the untreated rows, prediction for the treated
rows, and averages of the gaps (tolerance 1e-10: both are exact least squares, the
differences are rounding, ~1e-14).  The conservative SE is checked against a dense
re-implementation of the BJS Theorem 3 formula (explicit dummy matrices and a
pseudo-inverse), and by coverage in a known-truth simulation.
"""

from __future__ import annotations

import warnings

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
import statsmodels.formula.api as smf  # noqa: E402

from evaluate.datasets import mpdta  # noqa: E402
from evaluate.effect import TIDY_COLUMNS, Diagnostic, Effect, NotApplicable  # noqa: E402
from evaluate.errors import (  # noqa: E402
    DataError,
    DesignError,
    DroppedRowsWarning,
    SmallSampleWarning,
    SpecError,
)
from evaluate.estimators.did.imputation import ImputationResult, imputation_did  # noqa: E402
from evaluate.estimators.did.twfe import twfe  # noqa: E402

TOL = 1e-10


def _fit(data, **kw) -> ImputationResult:
    return imputation_did(
        data, outcome="lemp", unit="countyreal", time="year", cohort="first.treat", **kw
    )


@pytest.fixture(scope="module")
def mp() -> pd.DataFrame:
    return mpdta()


@pytest.fixture(scope="module")
def mp_res(mp) -> ImputationResult:
    return _fit(mp)


def _independent(df: pd.DataFrame) -> pd.DataFrame:
    d = df.copy()
    d["D"] = (d["first.treat"] > 0) & (d["year"] >= d["first.treat"])
    model = smf.ols("lemp ~ C(countyreal) + C(year)", data=d.loc[~d["D"]]).fit()
    treated = d.loc[d["D"]].copy()
    treated["tau"] = treated["lemp"] - model.predict(treated)
    treated["e"] = treated["year"] - treated["first.treat"]
    return treated


def test_mpdta_matches_statsmodels_imputation(mp, mp_res):
    treated = _independent(mp)
    assert mp_res.estimate == pytest.approx(treated["tau"].mean(), abs=TOL)
    by_e = treated.groupby("e")["tau"].mean()
    effects = mp_res.periods.query("kind == 'effect'")
    assert effects["period"].tolist() == [0, 1, 2, 3]
    np.testing.assert_allclose(effects["estimate"], by_e.to_numpy(), atol=TOL, rtol=0)
    assert effects["n_obs"].tolist() == treated.groupby("e").size().tolist()
    assert mp_res.provenance.n_rows == 2500 and mp_res.n_treated_obs == 291


def _dense_bjs_se(df: pd.DataFrame, horizon: int | None) -> float:
    """BJS Theorem 3 with explicit matrices: v = -Z0 (Z0'Z0)^+ Z1'w on untreated rows."""
    d = df.reset_index(drop=True)
    treated = ((d["first.treat"] > 0) & (d["year"] >= d["first.treat"])).to_numpy()
    e = (d["year"] - d["first.treat"]).to_numpy()
    u = pd.factorize(d["countyreal"])[0]
    t = pd.factorize(d["year"], sort=True)[0]
    z = np.column_stack([np.eye(u.max() + 1)[u], np.eye(t.max() + 1)[t]])
    z0, z1 = z[~treated], z[treated]
    y = d["lemp"].to_numpy()
    theta = np.linalg.pinv(z0.T @ z0) @ z0.T @ y[~treated]
    tau = y[treated] - z1 @ theta
    w = np.ones(treated.sum()) if horizon is None else (e[treated] == horizon).astype(float)
    w /= w.sum()
    v = np.zeros(len(d))
    v[treated] = w
    v[~treated] = -z0 @ np.linalg.pinv(z0.T @ z0) @ z1.T @ w
    resid = np.zeros(len(d))
    resid[~treated] = y[~treated] - z0 @ theta
    groups = pd.Series(tau).groupby([d["first.treat"].to_numpy()[treated], e[treated]])
    resid[treated] = tau - groups.transform("mean").to_numpy()
    scores = np.bincount(u, weights=v * resid)
    return float(np.sqrt(scores @ scores))


def test_mpdta_se_matches_dense_formula(mp, mp_res):
    # Same formula, independent linear algebra: agreement to rounding (1e-10 relative).
    assert mp_res.std_error == pytest.approx(_dense_bjs_se(mp, None), rel=1e-10)
    effects = mp_res.periods.query("kind == 'effect'").set_index("period")
    for h in (0, 3):
        assert effects.loc[h, "std_error"] == pytest.approx(_dense_bjs_se(mp, h), rel=1e-10)
    np.testing.assert_allclose(np.sqrt(np.diag(mp_res.vcov)), effects["std_error"], rtol=1e-12)


def test_horizons_restrict_the_overall_att(mp):
    res = _fit(mp, horizons=[0, 1])
    treated = _independent(mp)
    assert res.periods["period"].tolist() == [0, 1]
    assert res.estimate == pytest.approx(treated.loc[treated.e <= 1, "tau"].mean(), abs=TOL)


def test_one_cohort_two_periods_equals_2x2_did():
    rng = np.random.default_rng(3)
    n = 40
    g = np.where(np.arange(n) < 15, 2, 0)
    rows = pd.DataFrame(
        {"id": np.repeat(np.arange(n), 2), "t": np.tile([1, 2], n), "g": np.repeat(g, 2)}
    )
    rows["y"] = rng.normal(size=2 * n) + (rows["g"] == 2) * (rows["t"] == 2) * 1.5
    res = imputation_did(rows, outcome="y", unit="id", time="t", cohort="g")
    wide = rows.pivot(index="id", columns="t", values="y")
    change = wide[2] - wide[1]
    did = change[g == 2].mean() - change[g == 0].mean()
    assert res.estimate == pytest.approx(did, abs=1e-12)
    # With one treated cohort the BJS variance is that of the difference of mean
    # changes with the treated units' own variance: sum of squared scores by unit.
    treated_dev = change[g == 2] - change[g == 2].mean()
    ctrl_dev = change[g == 0] - change[g == 0].mean()
    var = (treated_dev**2).sum() / 15**2 + (ctrl_dev**2).sum() / 25**2
    assert res.std_error == pytest.approx(np.sqrt(var), rel=1e-10)


def _simulate(
    rng: np.random.Generator, n: int = 150, periods: int = 6
) -> tuple[pd.DataFrame, float]:
    """Staggered panel whose effects grow with time since adoption (TWFE is biased)."""
    cohort = rng.choice([3, 5, 0], size=n, p=[0.45, 0.45, 0.10])
    unit_fe = rng.normal(size=n)
    rows = pd.DataFrame(
        {
            "id": np.repeat(np.arange(n), periods),
            "t": np.tile(np.arange(1, periods + 1), n),
            "g": np.repeat(cohort, periods),
        }
    )
    e = rows["t"] - rows["g"]
    treated = (rows["g"] > 0) & (e >= 0)
    effect = np.where(treated, 1.0 + 1.0 * e, 0.0)
    rows["y"] = np.repeat(unit_fe, periods) + 0.3 * rows["t"] + effect + rng.normal(size=len(rows))
    return rows, float(effect[treated].mean())


def _coverage(reps: int, seed: int) -> tuple[float, float, float]:
    rng = np.random.default_rng(seed)
    hits, bias, bias_twfe = 0, 0.0, 0.0
    for _ in range(reps):
        data, truth = _simulate(rng)
        res = imputation_did(data, outcome="y", unit="id", time="t", cohort="g")
        lo, hi = res.ci
        hits += lo <= truth <= hi
        bias += (res.estimate - truth) / reps
        data["D"] = ((data["g"] > 0) & (data["t"] >= data["g"])).astype(int)
        tw = twfe(data, outcome="y", unit="id", time="t", treatment="D", inference="CR1")
        bias_twfe += (tw.estimate - truth) / reps
    return hits / reps, bias, bias_twfe


def test_known_truth_recovered_where_twfe_is_biased():
    # 300 replications: the 95 % interval's coverage has a Monte Carlo SE of 1.3 pp,
    # so [0.90, 0.99] fails only for a real miscalibration.  The true ATT is 2.4ish;
    # TWFE's bias here is about -1, the imputation estimator's about 0 (MC SE ~0.01).
    cover, bias, bias_twfe = _coverage(300, seed=11)
    assert 0.90 <= cover <= 0.99
    assert abs(bias) < 0.05
    assert bias_twfe < -0.3


@pytest.mark.slow
def test_known_truth_coverage_heavy():
    cover, bias, _ = _coverage(2000, seed=12)  # MC SE of coverage 0.5 pp
    assert 0.93 <= cover <= 0.97
    assert abs(bias) < 0.02


def test_pretrends_and_diagnostics(mp):
    res = _fit(mp, pretrends=3)
    leads = res.periods.query("kind == 'pre-trend'")
    assert leads["period"].tolist() == [-3, -2, -1]
    assert isinstance(res.diagnostics["pre-trend test"], Diagnostic)
    # The leads' regression is separate: effects are unchanged.
    np.testing.assert_allclose(
        res.periods.query("kind == 'effect'")["estimate"],
        _fit(mp).periods["estimate"],
        rtol=0,
        atol=1e-14,
    )
    # Lead coefficients equal OLS with explicit dummies on the untreated rows.
    d = mp.copy()
    d["D"] = (d["first.treat"] > 0) & (d["year"] >= d["first.treat"])
    d = d.loc[~d["D"]].copy()
    for k in (1, 2, 3):
        d[f"lead{k}"] = ((d["first.treat"] > 0) & (d["year"] - d["first.treat"] == -k)) * 1.0
    ols = smf.ols("lemp ~ lead1 + lead2 + lead3 + C(countyreal) + C(year)", data=d).fit()
    np.testing.assert_allclose(
        leads.set_index("period").loc[[-1, -2, -3], "estimate"],
        ols.params[["lead1", "lead2", "lead3"]],
        atol=1e-10,
    )
    assert isinstance(_fit(mp).diagnostics["pre-trend test"], NotApplicable)


def test_unbalanced_panel_and_missing_rows(mp):
    data = mp.copy()
    data.loc[data.index[[3, 10, 57]], "lemp"] = np.nan
    with pytest.warns(DroppedRowsWarning):
        res = _fit(data)
    kept = data.dropna(subset=["lemp"])
    assert res.provenance.n_dropped == 3
    assert res.estimate == pytest.approx(_independent(kept)["tau"].mean(), abs=TOL)


def test_units_treated_throughout_are_dropped(mp):
    data = mp.copy()
    data.loc[data["countyreal"] == data["countyreal"].iloc[0], "first.treat"] = 2003
    with pytest.warns(DroppedRowsWarning, match="treated in every period"):
        res = _fit(data)
    assert res.provenance.n_dropped == 5


def test_few_clusters_warn():
    rng = np.random.default_rng(0)
    data, _ = _simulate(rng, n=20)
    with pytest.warns(SmallSampleWarning):
        res = imputation_did(data, outcome="y", unit="id", time="t", cohort="g")
    assert any("clusters" in note for note in res.notes)


def test_input_frame_not_modified(mp):
    before = mp.copy()
    _fit(mp, pretrends=2)
    pd.testing.assert_frame_equal(mp, before)


@pytest.mark.parametrize(
    ("kw", "error", "match"),
    [
        ({"alpha": 1.5}, SpecError, "alpha"),
        ({"pretrends": -1}, SpecError, "pretrends"),
        ({"horizons": [-1]}, SpecError, "horizons"),
        ({"horizons": [7]}, DesignError, "event time"),
        ({"pretrends": 9}, DesignError, "pre-trend"),
    ],
)
def test_bad_options(mp, kw, error, match):
    with pytest.raises(error, match=match):
        _fit(mp, **kw)


def test_bad_data(mp):
    with pytest.raises(DataError, match="missing_col|not found|column"):
        imputation_did(
            mp, outcome="missing_col", unit="countyreal", time="year", cohort="first.treat"
        )
    dup = pd.concat([mp, mp.iloc[:1]])
    with pytest.raises(DataError, match="more than once"):
        _fit(dup)
    varying = mp.copy()
    varying.loc[varying.index[0], "first.treat"] = 2006
    with pytest.raises(DataError, match="varies within unit"):
        _fit(varying)
    never = mp.assign(**{"first.treat": 0})
    with pytest.raises(DesignError, match="No treated observation"):
        _fit(never)


def test_result_contract(mp_res):
    res = mp_res
    assert isinstance(res, Effect)
    for fmt in ("text", "markdown", "html"):
        text = res.summary(fmt)
        assert "Imputation DiD" in text and "event time" in text.lower()
    frame = res.to_frame()
    assert list(frame.columns) == TIDY_COLUMNS
    assert frame["term"].tolist()[1:] == [f"event time {h}" for h in range(4)]
    assert "<table" in res._repr_html_()
    ax = res.plot()
    assert ax.get_xlabel().startswith("event time")
    plt.close("all")
    narrow = res.with_alpha(0.1)
    assert narrow.ci[1] - narrow.ci[0] < res.ci[1] - res.ci[0]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert res.by_period is not None


def test_never_treated_codes_and_cluster_column(mp, mp_res):
    for code in (np.nan, np.inf):
        data = mp.assign(g=mp["first.treat"].replace(0, code))
        res = imputation_did(data, outcome="lemp", unit="countyreal", time="year", cohort="g")
        assert res.estimate == mp_res.estimate and res.std_error == mp_res.std_error
    # clustering on the unit column by name is clustering by unit
    same = _fit(mp, cluster="countyreal")
    assert same.std_error == pytest.approx(mp_res.std_error, rel=1e-14)
    with pytest.warns(SmallSampleWarning, match="29 clusters"):
        coarse = _fit(mp.assign(region=mp["countyreal"] // 1000), cluster="region")
    assert coarse.n_clusters < 500 and coarse.estimate == mp_res.estimate
