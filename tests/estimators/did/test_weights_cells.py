"""Weights in compressed_twfe and imputation_did; 0/1 and absorbing treatment checks.

References (issue 14 items 1 and 4):
* compressed TWFE with weights is the weighted person-level TWFE on compressed
  cells: :func:`evaluate.twfe` with ``weights=`` on the person rows (one person per
  cell, and a person panel with person effects), and statsmodels WLS with explicit
  dummies (``cov_type="cluster"`` = CR1-stata, ``"HC1"``); estimate and every SE
  compressed_twfe offers to 1e-8 relative (exact algebra; 1e-10 where both sides are
  ours).  Convention: a cell's weight is every person's analytic weight, so the
  cell mean enters with ``n * w``; N in the small-sample factors counts persons.
* imputation DiD with weights (Stata ``did_imputation [aw=]`` convention): the
  estimate is the weighted mean of imputed effects from a weighted FE regression on
  untreated rows; checked against statsmodels WLS with unit and period dummies to
  1e-8, the SE against a dense BJS Theorem 3 with explicit matrices (1e-10), and
  integer weights against copies of each unit kept in one cluster (estimate and SE,
  1e-10).
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
import statsmodels.formula.api as smf

import evaluate as ev
from evaluate.datasets import mpdta
from evaluate.errors import DataError, SpecError
from evaluate.estimators.did.compressed import cell_statistics


def close(a: float, b: float, tol: float) -> bool:
    return abs(a - b) <= tol * max(abs(b), 1e-300)


# --------------------------------------------------------------------------- compressed
def persons(seed: int = 5, g: int = 12, t: int = 7) -> pd.DataFrame:
    """Repeated cross-section of persons in municipality x period cells, staggered
    treatment, a cell covariate and a population weight per municipality and period."""
    rng = np.random.default_rng(seed)
    rows = []
    a, lam = rng.normal(size=g), rng.normal(size=t)
    pop = rng.uniform(5, 80, size=g)
    start = np.where(np.arange(g) % 3 == 0, 3, np.where(np.arange(g) % 3 == 1, 5, 99))
    for m in range(g):
        for p in range(t):
            k = max(1, rng.poisson(15))
            d = int(p >= start[m])
            x = rng.normal()
            y = a[m] + lam[p] - 0.4 * d + 0.3 * x + rng.normal(scale=0.5)
            y = y + rng.normal(scale=1 + d, size=k)
            w = pop[m] * (1 + 0.05 * p)
            rows.append(pd.DataFrame({"mun": m, "t": p, "D": d, "x": x, "w": w, "y": y}))
    return pd.concat(rows, ignore_index=True)


def test_weighted_compressed_matches_statsmodels_wls():
    df = persons()
    cells = cell_statistics(df, unit="mun", time="t", outcome="y", by=["D", "x", "w"])
    u = pd.get_dummies(df["mun"], prefix="m", dtype=float)
    tt = pd.get_dummies(df["t"], prefix="t", drop_first=True, dtype=float)
    wls = sm.WLS(df["y"], pd.concat([df[["D", "x"]], u, tt], axis=1), weights=df["w"])
    stata = wls.fit(cov_type="cluster", cov_kwds={"groups": df["mun"]})
    hc1 = wls.fit(cov_type="HC1")
    kw = {"unit": "mun", "time": "t", "treatment": "D", "covariates": ["x"], "weights": "w"}
    res = ev.compressed_twfe(cells, inference="CR1-stata", **kw)
    res_hc1 = ev.compressed_twfe(cells, inference="HC1", cluster=None, **kw)
    for j, term in enumerate(["D", "x"]):
        assert close(res.coefficients["estimate"].iloc[j], stata.params[term], 1e-8)
        assert close(res.coefficients["std_error"].iloc[j], stata.bse[term], 1e-8)
        assert close(res_hc1.coefficients["std_error"].iloc[j], hc1.bse[term], 1e-8)
    unweighted = ev.compressed_twfe(cells, inference="CR1-stata", **{**kw, "weights": None})
    assert abs(unweighted.estimate - res.estimate) > 1e-4  # the weights matter here
    assert "weights w" in res.inference


@pytest.mark.parametrize("method", ["CR0", "CR1", "CR1-stata", "HC1"])
def test_weighted_compressed_equals_weighted_twfe_one_person_per_cell(method):
    df = persons(seed=6)
    one = df.groupby(["mun", "t"], as_index=False).first().drop(index=[4, 30])  # unbalanced
    cluster = None if method == "HC1" else "unit"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ev.errors.NegativeWeightsWarning)
        ref = ev.twfe(one, outcome="y", unit="mun", time="t", treatment="D", covariates=["x"],
                      weights="w", inference=method, cluster=cluster)  # fmt: skip
    cells = one.assign(n=1.0, sum_y=one["y"], sum_y2=one["y"] ** 2)
    res = ev.compressed_twfe(cells, unit="mun", time="t", treatment="D", covariates=["x"],
                             weights="w", inference=method, cluster=cluster)  # fmt: skip
    for j in range(2):
        assert close(res.coefficients["estimate"].iloc[j], ref.coefficients["estimate"].iloc[j],
                     1e-10)  # fmt: skip
        assert close(res.coefficients["std_error"].iloc[j],
                     ref.coefficients["std_error"].iloc[j], 1e-10)  # fmt: skip
    assert res.distribution.df == ref.distribution.df


@pytest.mark.parametrize("method", ["CR0", "CR1"])
def test_weighted_compressed_equals_weighted_twfe_on_person_panel(method):
    """Person panel without movers, weights constant per municipality (population):
    municipality effects on cells = person effects on persons, clustered by municipality."""
    rng = np.random.default_rng(8)
    sizes = rng.integers(3, 30, size=10)
    mun = np.repeat(np.arange(10), sizes)
    person = np.repeat(np.arange(mun.size), 6)
    period = np.tile(np.arange(6), mun.size)
    m = mun[person]
    d = ((m % 3 == 0) & (period >= 3)).astype(int)
    y = rng.normal(size=mun.size)[person] + 0.3 * period - 0.5 * d + rng.normal(size=person.size)
    w = rng.uniform(1, 9, size=10)[m]
    df = pd.DataFrame({"person": person, "mun": m, "t": period, "D": d, "y": y, "w": w})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ev.errors.NegativeWeightsWarning)
        ref = ev.twfe(df, outcome="y", unit="person", time="t", treatment="D", cluster="mun",
                      weights="w", inference=method)  # fmt: skip
    cells = cell_statistics(df, unit="mun", time="t", outcome="y", by=["D", "w"])
    res = ev.compressed_twfe(cells, unit="mun", time="t", treatment="D", weights="w",
                             inference=method)  # fmt: skip
    assert close(res.estimate, ref.estimate, 1e-10)
    assert close(res.std_error, ref.std_error, 1e-10)


def test_compressed_constant_weights_change_nothing():
    cells = cell_statistics(persons(), unit="mun", time="t", outcome="y", by=["D"])
    kw = {"unit": "mun", "time": "t", "treatment": "D"}
    plain = ev.compressed_twfe(cells, **kw)
    same = ev.compressed_twfe(cells.assign(c=7.5), weights="c", **kw)
    assert close(same.estimate, plain.estimate, 1e-12)
    assert close(same.std_error, plain.std_error, 1e-10)


def test_compressed_bad_weights_and_treatment_coding():
    cells = cell_statistics(persons(), unit="mun", time="t", outcome="y", by=["D", "w"])
    kw = {"unit": "mun", "time": "t"}
    with pytest.raises(DataError, match="'w'.*positive"):
        ev.compressed_twfe(cells.assign(w=-cells["w"]), treatment="D", weights="w", **kw)
    with pytest.raises(DataError, match=r"'dose' must be 0/1.*but holds 2"):
        ev.compressed_twfe(cells.assign(dose=cells["D"] * 2), treatment="dose", **kw)
    # switches off: municipality 0 is treated from period 3; turn it off in period 6
    off = cells.assign(D=np.where((cells["mun"] == 0) & (cells["t"] == 6), 0, cells["D"]))
    with pytest.raises(DataError, match=r"switches off in unit 0 at period 6.*compressed_twfe"):
        ev.compressed_twfe(off, treatment="D", **kw)
    assert np.isfinite(ev.compressed_twfe(off, treatment="D", allow_switching=True, **kw).estimate)
    # booleans are 0/1; sub-cells split by treatment within a period are not switching
    ok = ev.compressed_twfe(cells.assign(B=cells["D"].astype(bool)), treatment="B", **kw)
    assert np.isfinite(ok.estimate)
    split = pd.concat([cells, cells.assign(D=0, n=1.0, sum_y=0.0, sum_y2=0.0)])
    assert np.isfinite(ev.compressed_twfe(split, treatment="D", **kw).estimate)


# --------------------------------------------------------------------------- imputation
@pytest.fixture(scope="module")
def wmp() -> pd.DataFrame:
    df = mpdta()
    df["w"] = np.exp(df["lpop"])
    df["wt"] = df["w"] * (1 + 0.2 * (df["year"] - 2003))  # varies over time too
    return df


def _imp(df, **kw):
    return ev.imputation_did(df, outcome="lemp", unit="countyreal", time="year",
                             cohort="first.treat", **kw)  # fmt: skip


def _wls_imputation(df: pd.DataFrame, w: str) -> pd.DataFrame:
    d = df.copy()
    d["D"] = (d["first.treat"] > 0) & (d["year"] >= d["first.treat"])
    model = smf.wls("lemp ~ C(countyreal) + C(year)", data=d.loc[~d["D"]],
                    weights=d.loc[~d["D"], w]).fit()  # fmt: skip
    treated = d.loc[d["D"]].copy()
    treated["tau"] = treated["lemp"] - model.predict(treated)
    treated["e"] = treated["year"] - treated["first.treat"]
    return treated


@pytest.mark.parametrize("w", ["w", "wt"])
def test_weighted_imputation_matches_statsmodels_wls(wmp, w):
    res = _imp(wmp, weights=w)
    treated = _wls_imputation(wmp, w)
    assert close(res.estimate, np.average(treated["tau"], weights=treated[w]), 1e-8)
    effects = res.periods.set_index("period")["estimate"]
    for h, grp in treated.groupby("e"):
        assert close(effects.loc[h], np.average(grp["tau"], weights=grp[w]), 1e-8)
    assert abs(res.estimate - _imp(wmp).estimate) > 1e-3  # the weights matter here
    assert "weighted mean" in res.estimand


def _dense_weighted_bjs_se(df: pd.DataFrame, w: str, horizon: int | None) -> float:
    """BJS Theorem 3 with explicit matrices and weights (clusters = units):
    v1 = w1 / sum(w1), v0 = -W0 Z0 (Z0'W0 Z0)^+ Z1' v1, tau-bar v^2-weighted."""
    d = df.reset_index(drop=True)
    treated = ((d["first.treat"] > 0) & (d["year"] >= d["first.treat"])).to_numpy()
    e = (d["year"] - d["first.treat"]).to_numpy()
    u = pd.factorize(d["countyreal"])[0]
    t = pd.factorize(d["year"], sort=True)[0]
    z = np.column_stack([np.eye(u.max() + 1)[u], np.eye(t.max() + 1)[t]])
    z0, z1 = z[~treated], z[treated]
    wt = d[w].to_numpy()
    w0 = wt[~treated]
    y = d["lemp"].to_numpy()
    inv = np.linalg.pinv(z0.T @ (z0 * w0[:, None]))
    theta = inv @ z0.T @ (w0 * y[~treated])
    tau = y[treated] - z1 @ theta
    v1 = wt[treated] * (1.0 if horizon is None else (e[treated] == horizon))
    v1 = v1 / v1.sum()
    v = np.zeros(len(d))
    v[treated] = v1
    v[~treated] = -w0 * (z0 @ inv @ z1.T @ v1)
    resid = np.zeros(len(d))
    resid[~treated] = y[~treated] - z0 @ theta
    keys = [d["first.treat"].to_numpy()[treated], e[treated]]
    sw = pd.Series(wt[treated] ** 2)
    num = (sw * tau).groupby(keys).transform("sum")
    resid[treated] = tau - (num / sw.groupby(keys).transform("sum")).to_numpy()
    scores = np.bincount(u, weights=v * resid)
    return float(np.sqrt(scores @ scores))


def test_weighted_imputation_se_matches_dense_formula(wmp):
    res = _imp(wmp, weights="wt")
    assert close(res.std_error, _dense_weighted_bjs_se(wmp, "wt", None), 1e-10)
    effects = res.periods.set_index("period")
    for h in (0, 2):
        assert close(effects.loc[h, "std_error"], _dense_weighted_bjs_se(wmp, "wt", h), 1e-10)


def _staggered(seed: int = 11, n: int = 40, periods: int = 7) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    cohort = rng.choice([0, 3, 4, 6], size=n)
    rows = pd.DataFrame({"id": np.repeat(np.arange(n), periods),
                         "t": np.tile(np.arange(1, periods + 1), n),
                         "g": np.repeat(cohort, periods)})  # fmt: skip
    on = (rows["g"] > 0) & (rows["t"] >= rows["g"])
    effect = on * (1 + 0.3 * (rows["t"] - rows["g"]))
    rows["y"] = rng.normal(size=n)[rows["id"]] + 0.2 * rows["t"] + effect
    rows["y"] += rng.normal(size=len(rows))
    rows["f"] = rng.integers(1, 4, size=n)[rows["id"]]  # integer frequency weights
    rows["region"] = rows["id"] // 5
    return rows


@pytest.mark.parametrize("cluster", ["unit", "region"])
def test_integer_weights_equal_duplicated_units(cluster):
    df = _staggered()
    kw = {"outcome": "y", "time": "t", "cohort": "g", "pretrends": 2}
    weighted = ev.imputation_did(df, unit="id", weights="f", **kw,
                                 cluster="id" if cluster == "unit" else cluster)  # fmt: skip
    copies = df.loc[df.index.repeat(df["f"])].copy()
    copies["copy"] = copies.groupby(["id", "t"]).cumcount()
    copies["uid"] = copies["id"] * 10 + copies["copy"]
    # Copies of a unit stay in the unit's cluster: they are one unit counted f times.
    dup = ev.imputation_did(copies, unit="uid", **kw,
                            cluster="id" if cluster == "unit" else cluster)  # fmt: skip
    assert close(weighted.estimate, dup.estimate, 1e-10)
    assert close(weighted.std_error, dup.std_error, 1e-10)
    eff_w = weighted.periods.query("kind == 'effect'")
    eff_d = dup.periods.query("kind == 'effect'")
    np.testing.assert_allclose(eff_w["estimate"], eff_d["estimate"], rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(eff_w["std_error"], eff_d["std_error"], rtol=1e-10)
    # the leads of the pre-trend regression are weighted least squares too
    leads_w = weighted.periods.query("kind == 'pre-trend'")["estimate"].to_numpy()
    leads_d = dup.periods.query("kind == 'pre-trend'")["estimate"].to_numpy()
    np.testing.assert_allclose(leads_w, leads_d, rtol=1e-9, atol=1e-12)


def test_imputation_constant_weights_and_bad_weights(wmp):
    plain = _imp(wmp)
    same = _imp(wmp.assign(c=3.0), weights="c")
    assert close(same.estimate, plain.estimate, 1e-12)
    assert close(same.std_error, plain.std_error, 1e-10)
    with pytest.raises(DataError, match="'w'.*positive"):
        _imp(wmp.assign(w=wmp["w"].where(wmp.index != 5, 0.0)), weights="w")
    with pytest.raises(DataError, match="numeric"):
        _imp(wmp.assign(w="a"), weights="w")
    with pytest.raises(DataError, match="not found|nope"):
        _imp(wmp, weights="nope")
    with pytest.raises(SpecError):
        _imp(wmp.assign(w=np.where(wmp.index < 10, 1e-9, 1e9)), weights="w")


def test_imputation_cohort_switching_names_unit_and_period(wmp):
    df = wmp.copy()
    unit = df.loc[df["first.treat"] == 2006, "countyreal"].iloc[0]
    df.loc[(df["countyreal"] == unit) & (df["year"] >= 2005), "first.treat"] = 2007
    with pytest.raises(DataError, match=rf"unit {unit}: 2006 before period 2005, 2007"):
        _imp(df)
