"""Compress, then estimate: cell statistics reproduce the person-level TWFE exactly.

References (person-level rows, no compression):
* :func:`evaluate.twfe` on a person panel (person and period effects, clustered by
  municipality) and on one person per cell (unbalanced cells): estimate, CR0 and CR1
  equal to 1e-10 (relative);
* explicit-dummy OLS with the registry's covariance on person-level residuals (CR0,
  CR1, CR1-stata, HC1), 1e-10;
* statsmodels OLS with dummies (``cov_type="cluster"`` = CR1-stata, ``"HC1"``) and
  pyfixest ``feols(... | mun + t, vcov={"CRV1": "mun"})`` (fixest's CR1): independent
  implementations, 1e-8 (their solvers use pinv / iterative demeaning).
"""

from __future__ import annotations

import warnings

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
import statsmodels.api as sm  # noqa: E402

from evaluate.effect import TIDY_COLUMNS, Effect  # noqa: E402
from evaluate.errors import DataError, DesignError, SpecError  # noqa: E402
from evaluate.estimators.did.compressed import (  # noqa: E402
    CompressedTWFEResult,
    cell_statistics,
    compressed_twfe,
)
from evaluate.estimators.did.twfe import twfe  # noqa: E402
from evaluate.inference.covariance import RegressionDesign, covariance  # noqa: E402

TOL = 1e-10  # exact algebra: only floating-point rounding separates the two routes


def close(a: float, b: float, tol: float = TOL) -> bool:
    return abs(a - b) <= tol * max(abs(b), 1e-300)


def persons_rcs(seed: int = 1, g: int = 14, t: int = 9, effect: float = 0.5) -> pd.DataFrame:
    """Repeated cross-section: persons in municipality x period cells of unequal size,
    some cells empty; treatment on in even municipalities from period 5; a cell-level
    covariate; municipality shocks (so clustering matters) and heteroskedastic noise."""
    rng = np.random.default_rng(seed)
    size = rng.integers(5, 60, size=g)
    rows = []
    a = rng.normal(size=g)
    lam = rng.normal(size=t)
    shock = rng.normal(scale=0.5, size=(g, t))
    for m in range(g):
        for p in range(t):
            k = rng.poisson(size[m])
            if rng.random() < 0.08:
                k = 0  # an empty cell: unbalanced
            d = int(m % 2 == 0 and p >= 5)
            x = rng.normal()  # cell-level covariate
            y = a[m] + lam[p] + effect * d + 0.3 * x + shock[m, p]
            y = y + rng.normal(scale=1 + 0.5 * d, size=k)
            rows.append(pd.DataFrame({"mun": m, "t": p, "D": d, "x": x, "y": y}))
    return pd.concat(rows, ignore_index=True)


def cells_of(df: pd.DataFrame, by=("D", "x")) -> pd.DataFrame:
    return cell_statistics(df, unit="mun", time="t", outcome="y", by=list(by))


def dummy_ols(df: pd.DataFrame, regressors: list[str]) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Person-level OLS with explicit dummies and the registry's covariances."""
    u = pd.factorize(df["mun"], sort=True)[0]
    tt = pd.factorize(df["t"], sort=True)[0]
    g, t = u.max() + 1, tt.max() + 1
    fe = np.column_stack([np.eye(g)[u], np.eye(t)[tt][:, 1:]])
    x = df[regressors].to_numpy(float)
    y = df["y"].to_numpy(float)
    coef = np.linalg.lstsq(np.column_stack([x, fe]), y, rcond=None)[0]
    resid = y - np.column_stack([x, fe]) @ coef
    xd = x - fe @ np.linalg.lstsq(fe, x, rcond=None)[0]  # FWL: partial out the dummies
    out = {}
    for method in ("CR0", "CR1", "CR1-stata", "HC1"):
        design = RegressionDesign(
            x=xd,
            resid=resid,
            clusters=None if method == "HC1" else u,
            fe_levels=(g, t),
            fe_nested=(True, False),
        )
        out[method] = covariance(design, method).std_errors
    return coef[: len(regressors)], out


@pytest.mark.parametrize("method", ["CR0", "CR1", "CR1-stata", "HC1"])
def test_equals_person_level_dummy_ols(method):
    df = persons_rcs()
    beta, se = dummy_ols(df, ["D", "x"])
    res = compressed_twfe(
        cells_of(df),
        unit="mun",
        time="t",
        treatment="D",
        covariates=["x"],
        inference=method,
        cluster=None if method == "HC1" else "unit",
    )
    assert not res.balanced  # empty and unequal cells
    assert res.n_obs == len(df)
    for j in range(2):
        assert close(res.coefficients["estimate"].iloc[j], beta[j])
        assert close(res.coefficients["std_error"].iloc[j], se[method][j])


def test_statsmodels_and_pyfixest_references():
    df = persons_rcs(seed=2)
    cells = cells_of(df)
    u = pd.get_dummies(df["mun"], prefix="m", dtype=float)
    tt = pd.get_dummies(df["t"], prefix="t", drop_first=True, dtype=float)
    exog = pd.concat([df[["D", "x"]], u, tt], axis=1)
    ols = sm.OLS(df["y"], exog)
    stata = ols.fit(cov_type="cluster", cov_kwds={"groups": df["mun"]})
    hc1 = ols.fit(cov_type="HC1")
    kw = {"unit": "mun", "time": "t", "treatment": "D", "covariates": ["x"]}
    res_stata = compressed_twfe(cells, inference="CR1-stata", **kw)
    res_hc1 = compressed_twfe(cells, inference="HC1", cluster=None, **kw)
    assert close(res_stata.estimate, stata.params["D"], 1e-8)
    assert close(res_stata.std_error, stata.bse["D"], 1e-8)
    assert close(res_hc1.std_error, hc1.bse["D"], 1e-8)
    pf = pytest.importorskip("pyfixest")
    fit = pf.feols("y ~ D + x | mun + t", data=df, vcov={"CRV1": "mun"})
    res = compressed_twfe(cells, inference="CR1", **kw)
    assert close(res.estimate, float(fit.coef()["D"]), 1e-8)
    assert close(res.std_error, float(fit.se()["D"]), 1e-8)


def person_panel(seed: int = 3, g: int = 12, t: int = 7) -> pd.DataFrame:
    """Balanced person panel without movers; municipalities of different sizes."""
    rng = np.random.default_rng(seed)
    sizes = rng.integers(3, 40, size=g)
    mun = np.repeat(np.arange(g), sizes)
    n_p = mun.size
    person = np.repeat(np.arange(n_p), t)
    period = np.tile(np.arange(t), n_p)
    m = mun[person]
    d = ((m % 3 == 0) & (period >= 4)).astype(int)
    y = (
        rng.normal(size=n_p)[person]
        + rng.normal(size=t)[period]
        + rng.normal(scale=0.4, size=(g, t))[m, period]
        - 0.4 * d
        + rng.normal(size=person.size)
    )
    return pd.DataFrame({"person": person, "mun": m, "t": period, "D": d, "y": y})


@pytest.mark.parametrize("method", ["CR0", "CR1"])
def test_equals_twfe_on_person_panel(method):
    df = person_panel()
    ref = twfe(
        df, outcome="y", unit="person", time="t", treatment="D", cluster="mun", inference=method
    )
    cells = cell_statistics(df, unit="mun", time="t", outcome="y", by=["D"])
    res = compressed_twfe(cells, unit="mun", time="t", treatment="D", inference=method)
    assert len(cells) < len(df) / 10  # compressed
    assert close(res.estimate, ref.estimate)
    assert close(res.std_error, ref.std_error)
    assert res.distribution.df == ref.distribution.df


@pytest.mark.parametrize("method", ["CR0", "CR1"])
def test_equals_twfe_one_person_per_cell_unbalanced(method):
    df = persons_rcs(seed=4)
    one = df.groupby(["mun", "t"], as_index=False).first()  # one person per cell
    one = one.drop(index=[3, 17, 40])  # and some cells missing
    ref = twfe(one, outcome="y", unit="mun", time="t", treatment="D", inference=method)
    cells = one.assign(n=1.0, sum_y=one["y"], sum_y2=one["y"] ** 2)
    res = compressed_twfe(cells, unit="mun", time="t", treatment="D", inference=method)
    assert close(res.estimate, ref.estimate)
    assert close(res.std_error, ref.std_error)


def test_cell_statistics_parquet_and_missing(tmp_path):
    df = persons_rcs(seed=5)
    df.loc[[0, 5, 9], "y"] = np.nan
    path = tmp_path / "persons.parquet"
    df.to_parquet(path)
    from_frame = cells_of(df)
    from_disk = cell_statistics(path, unit="mun", time="t", outcome="y", by=["D", "x"])
    pd.testing.assert_frame_equal(from_frame, from_disk)
    assert from_frame.attrs["n_missing"] == 3
    assert from_frame["n"].sum() == len(df) - 3
    grouped = df.dropna().groupby(["mun", "t"])["y"]
    assert np.allclose(from_frame["sum_y"], grouped.sum().to_numpy())
    assert np.allclose(from_frame["sum_y2"], grouped.apply(lambda v: (v**2).sum()).to_numpy())
    assert df.loc[0, "y"] != df.loc[0, "y"]  # the caller's frame is untouched (still NaN)


def test_cluster_coarser_than_unit():
    df = persons_rcs(seed=6, g=20).assign(region=lambda d: d["mun"] // 4)
    cells = cell_statistics(df, unit="mun", time="t", outcome="y", by=["D", "region"])
    res = compressed_twfe(cells, unit="mun", time="t", treatment="D", cluster="region")
    u = df["mun"].to_numpy()
    tt = df["t"].to_numpy()
    fe = np.column_stack([np.eye(20)[u], np.eye(9)[tt][:, 1:]])
    xmat = np.column_stack([df["D"], fe])
    resid = df["y"] - xmat @ np.linalg.lstsq(xmat, df["y"], rcond=None)[0]
    xd = df[["D"]].to_numpy(float) - fe @ np.linalg.lstsq(fe, df[["D"]].to_numpy(float))[0]
    design = RegressionDesign(
        x=xd,
        resid=resid.to_numpy(),
        clusters=df["region"].to_numpy(),
        fe_levels=(20, 9),
        fe_nested=(True, False),
    )
    assert res.n_clusters == 5
    assert close(res.std_error, covariance(design, "CR1").std_errors[0])


def test_total_by_scales_to_treated_total():
    df = persons_rcs(seed=7)
    cells = cells_of(df)
    per = compressed_twfe(cells, unit="mun", time="t", treatment="D")
    tot = compressed_twfe(cells, unit="mun", time="t", treatment="D", total_by="n")
    on = cells["D"] == 1
    factor = cells.loc[on, "n"].sum() / cells.loc[on, "t"].nunique()
    assert close(tot.estimate, per.estimate * factor)
    assert close(tot.std_error, per.std_error * factor)
    assert tot.per_person == (per.estimate, per.std_error)
    assert "times" in " ".join(tot.notes)


def test_known_truth_coverage():
    # Light Monte Carlo: 200 draws, 40 clusters; CR1 95 % CI should cover the truth
    # about 95 % of the time (binomial sd ~1.5 pp; accept 88-99 %).
    rng = np.random.default_rng(11)
    hits, estimates = 0, []
    g, t = 40, 6
    mun, per = np.meshgrid(np.arange(g), np.arange(t), indexing="ij")
    mun, per = mun.ravel(), per.ravel()
    d = ((mun % 2 == 0) & (per >= 3)).astype(float)
    n = rng.integers(5, 30, size=mun.size).astype(float)
    for _ in range(200):
        mean = rng.normal(size=g)[mun] + 0.2 * per + 0.7 * d + rng.normal(scale=0.3, size=mun.size)
        # Cell sums of n_c normal persons (sd 1): exact sufficient statistics.
        dev = rng.normal(size=mun.size) * np.sqrt(n)
        within = rng.chisquare(n - 1)
        s = n * mean + dev
        q = within + s**2 / n
        cells = pd.DataFrame({"m": mun, "t": per, "D": d, "n": n, "sum_y": s, "sum_y2": q})
        res = compressed_twfe(cells, unit="m", time="t", treatment="D")
        low, high = res.ci
        hits += low <= 0.7 <= high
        estimates.append(res.estimate)
    assert abs(np.mean(estimates) - 0.7) < 0.03
    assert 0.88 <= hits / 200 <= 0.99


def test_bad_input():
    cells = cells_of(persons_rcs())
    kw = {"unit": "mun", "time": "t", "treatment": "D"}
    with pytest.raises(SpecError, match="CR2"):
        compressed_twfe(cells, inference="CR2", **kw)
    with pytest.raises(SpecError, match="cluster"):
        compressed_twfe(cells, cluster=None, **kw)
    with pytest.raises(DataError, match="sum_y2"):
        compressed_twfe(cells.assign(sum_y2=cells["sum_y2"] / 100), **kw)
    with pytest.raises(DataError, match="whole numbers"):
        compressed_twfe(cells.assign(n=-cells["n"]), **kw)
    with pytest.raises(DataError, match="nope"):
        compressed_twfe(cells, unit="mun", time="t", treatment="nope")
    with pytest.raises(DesignError, match="no variation"):
        compressed_twfe(cells.assign(D=(cells["mun"] % 2 == 0).astype(int)), **kw)
    with pytest.raises(SpecError, match="duckdb"):
        cell_statistics(cells, unit="mun", time="t", outcome="sum_y", engine="spark")
    with pytest.raises(DataError, match="Parquet"):
        cell_statistics("cells.csv", unit="mun", time="t", outcome="y")
    with_nan = cells.copy()
    with_nan.loc[0, "sum_y"] = np.nan
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        res = compressed_twfe(with_nan, **kw)
    assert res.provenance.n_dropped == 1 and caught
    with pytest.raises(DataError, match="Missing"):
        compressed_twfe(with_nan, drop_missing=False, **kw)


def test_result_contract():
    df = persons_rcs()
    res = compressed_twfe(
        cells_of(df), unit="mun", time="t", treatment="D", covariates=["x"], name="y"
    )
    assert isinstance(res, CompressedTWFEResult) and isinstance(res, Effect)
    for fmt in ("text", "markdown", "html"):
        assert "cell statistics" in res.summary(fmt)
    frame = res.to_frame()
    assert list(frame.columns) == TIDY_COLUMNS
    assert list(frame["term"]) == ["y", "x"]
    assert "<" in res._repr_html_()
    ax = res.plot()
    assert ax is not None
    plt.close("all")
