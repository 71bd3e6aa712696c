"""TWFE with further absorbed fixed effects (``fixed_effects=``) and the compiled
within engine (evaluate/estimators/did/_absorb.py, _fe_kernels.py).

References: pyfixest 0.60 ``feols("y ~ d | unit + time + region^time", vcov={"CRV1": "unit"})``
with its default small-sample correction (``ssc(k_adj=True, k_fixef="nonnested",
G_adj=True)``), demeaning tolerance tightened to 1e-12 so that its own error stays
below ours; linearmodels ``AbsorbingLS`` (absorbs any categoricals) and ``PanelOLS``
(unit + time + one other effect) for the coefficient.  Tolerance 1e-8 relative.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from evaluate.errors import NegativeWeightsWarning, SpecError
from evaluate.estimators.did import _absorb
from evaluate.estimators.did._within import factorize, panel_index, within
from evaluate.estimators.did.twfe import twfe

RTOL = 1e-8


def _panel(n_units=400, n_periods=12, missing=0.0, n_regions=9, seed=0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    unit = np.repeat(np.arange(n_units), n_periods)
    period = np.tile(np.arange(n_periods), n_units) + 2000
    region = (np.arange(n_units) % n_regions)[unit]
    adopt = rng.integers(n_periods // 4, 2 * n_periods, n_units)[unit] + 2000
    d = (period >= adopt).astype(int)
    shock = rng.normal(size=(n_regions, n_periods))[region, period - 2000]
    y = rng.normal(size=n_units)[unit] + 0.05 * period + shock + 0.5 * d
    df = pd.DataFrame(
        {
            "unit": unit * 7 + 3,  # ids not 0..N-1
            "time": period,
            "region": np.char.add("r", region.astype(str)),
            "month": rng.integers(0, 4, len(unit)),
            "d": d,
            "x1": rng.normal(size=len(unit)),
            "y": y + rng.normal(size=len(unit)),
        }
    )
    if missing:
        df = df[rng.random(len(df)) >= missing]
        df = df[df.groupby("unit").time.transform("size") > 1]  # pyfixest drops singletons
    return df


def _fit(df, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NegativeWeightsWarning)
        return twfe(df, outcome="y", unit="unit", time="time", treatment="d", **kw)


@pytest.mark.parametrize("missing", [0.0, 0.1])
@pytest.mark.parametrize(
    ("ours", "theirs"),
    [
        ((), ""),
        (("region^time",), " + region^time"),
        (("region^time", "month"), " + region^time + month"),
    ],
)
def test_matches_pyfixest(missing, ours, theirs):
    pf = pytest.importorskip("pyfixest")
    df = _panel(missing=missing)
    ref = pf.feols(
        f"y ~ d + x1 | unit + time{theirs}", data=df, vcov={"CRV1": "unit"}, fixef_tol=1e-12
    )
    res = _fit(df, covariates=["x1"], fixed_effects=ours, inference="CR1")
    np.testing.assert_allclose(res.coefficients.estimate, ref.coef()[["d", "x1"]], rtol=RTOL)
    np.testing.assert_allclose(res.coefficients.std_error, ref.se()[["d", "x1"]], rtol=RTOL)
    assert res.balanced == (missing == 0.0)


def test_cluster_by_region_counts_nested_effects_as_pyfixest():
    """Unit and region x time nested in region clusters: pyfixest's k_fixef='nonnested'."""
    pf = pytest.importorskip("pyfixest")
    df = _panel(missing=0.1, n_regions=40)
    ref = pf.feols(
        "y ~ d | unit + time + region^time", data=df, vcov={"CRV1": "region"}, fixef_tol=1e-12
    )
    res = _fit(df, fixed_effects=("region^time",), cluster="region", inference="CR1")
    assert res.estimate == pytest.approx(float(ref.coef()["d"]), rel=RTOL)
    assert res.std_error == pytest.approx(float(ref.se()["d"]), rel=RTOL)


def test_coefficient_matches_linearmodels_absorbing_ls():
    linearmodels = pytest.importorskip("linearmodels")
    df = _panel(missing=0.1)
    absorb = pd.DataFrame(
        {
            "unit": pd.Categorical(df.unit),
            "time": pd.Categorical(df.time),
            "rt": pd.Categorical(df.region + df.time.astype(str)),
        }
    )
    ref = linearmodels.iv.absorbing.AbsorbingLS(
        df.y, df[["d", "x1"]].astype(float), absorb=absorb
    ).fit(lsmr_options={"atol": 1e-14, "btol": 1e-14})
    res = _fit(df, covariates=["x1"], fixed_effects=("region^time",), inference="CR1")
    np.testing.assert_allclose(res.coefficients.estimate, ref.params[["d", "x1"]], rtol=RTOL)


def test_coefficient_matches_linearmodels_panelols_other_effect():
    from linearmodels import PanelOLS

    df = _panel(missing=0.1)
    panel = df.set_index(["unit", "time"])
    ref = PanelOLS(
        panel.y,
        panel[["d"]].astype(float),
        entity_effects=True,
        other_effects=panel[["month"]],
    ).fit()
    # PanelOLS allows two effects: unit + month (time would be the third).
    res = _fit(df.assign(one=0), fixed_effects=("month",), inference="CR1")
    both = _fit(df, fixed_effects=("month",), inference="CR1")
    assert both.estimate == pytest.approx(res.estimate, rel=1e-12)
    unit_month = _absorb.absorb(
        [(factorize(df.unit, sort=False)[0], df.unit.nunique()), (df.month.to_numpy(), 4)],
        df[["y", "d"]].to_numpy(float),
    )
    beta = unit_month[:, 0] @ unit_month[:, 1] / (unit_month[:, 1] @ unit_month[:, 1])
    assert beta == pytest.approx(float(ref.params["d"]), rel=RTOL)


def test_iterative_solve_equals_exact_solve():
    """Conjugate gradients (forced) against the dense pseudo-inverse, 2 and 3 effects."""
    df = _panel(missing=0.15, seed=3)
    cols = df[["y", "d", "x1"]].to_numpy(float)
    extra = (factorize(df.region + "-" + df.time.astype(str), sort=False)[0],)
    for index in (panel_index(df.unit, df.time), panel_index(df.unit, df.time, extra)):
        fes = [(index.unit, index.n_units), (index.time, index.n_times)]
        fes += list(zip(index.extra, index.extra_levels, strict=True))
        exact = _absorb.absorb(fes, cols, exact_limit=10_000)
        iterative = _absorb.absorb(fes, cols, exact_limit=0)
        np.testing.assert_allclose(iterative, exact, atol=1e-10)


def test_within_unbalanced_matches_dummy_regression():
    """The compiled exact path against least squares on explicit dummies (numpy)."""
    df = _panel(n_units=60, n_periods=8, missing=0.2, seed=4)
    index = panel_index(df.unit, df.time)
    z = np.column_stack(
        [np.eye(index.n_units)[index.unit], np.eye(index.n_times)[index.time][:, 1:]]
    )
    x = df[["y", "d"]].to_numpy(float)
    resid = x - z @ np.linalg.lstsq(z, x, rcond=None)[0]
    np.testing.assert_allclose(within(index, x), resid, atol=1e-10)


def test_factorize_matches_pandas():
    rng = np.random.default_rng(1)
    values = pd.Series(rng.integers(-50, 400, 5000))
    for sort in (False, True):
        codes, levels = factorize(values, sort=sort)
        ref_codes, ref_levels = pd.factorize(values, sort=sort)
        np.testing.assert_array_equal(codes, ref_codes)
        np.testing.assert_array_equal(levels, ref_levels)


def test_bad_fixed_effects_are_typed_errors():
    df = _panel(n_units=30, n_periods=4)
    with pytest.raises(SpecError, match="region\\^"):
        _fit(df, fixed_effects=("region^",))
    with pytest.raises(SpecError, match="CR2"):
        _fit(df, fixed_effects=("region^time",), inference="CR2")
    with pytest.raises(SpecError, match="weights"):
        _fit(df.assign(w=1.0), fixed_effects=("month",), weights="w")


def test_fixed_effects_recorded_and_diagnostic_not_applicable():
    df = _panel(n_units=50, n_periods=6)
    res = _fit(df, fixed_effects=["region^time"], inference="CR1")
    assert res.provenance.spec["fixed_effects"] == ["region^time"]
    assert "fixed_effects" not in _fit(df, inference="CR1").provenance.spec
    (diag,) = res.diagnostics.values()
    assert "not with further fixed effects" in str(diag.reason)


def test_unbalanced_large_level_outcome_matches_pyfixest():
    """An outcome around 1e7 (counts, money): the exact path sums shifted values, so
    the level does not cancel in the normal equations.  pyfixest at 1e-8 relative."""
    pf = pytest.importorskip("pyfixest")
    df = _panel(missing=0.15, seed=5).assign(y=lambda f: f.y + 1e7, x1=lambda f: f.x1 + 1e5)
    res = _fit(df, covariates=("x1",), inference="CR1")
    ref = pf.feols(
        "y ~ d + x1 | unit + time", data=df, vcov={"CRV1": "unit"}, fixef_tol=1e-12
    )
    assert res.estimate == pytest.approx(float(ref.coef()["d"]), rel=RTOL)
    assert res.std_error == pytest.approx(float(ref.se()["d"]), rel=RTOL)


def test_schur_gram_equals_dense_product():
    # The compiled C' diag(1/n) C takes a unit by its levels or by the levels it
    # misses, whichever are fewer: both branches (and counts above 1) against numpy.
    from evaluate.estimators.did._fe_kernels import weighted_incidence_gram

    rng = np.random.default_rng(3)
    c = (rng.random((400, 30)) < np.linspace(0.05, 0.98, 400)[:, None]).astype(float)
    c[c.sum(axis=1) == 0, 0] = 1.0
    c[:7] *= 2.0  # a unit met twice at a level
    n = c.sum(axis=1)
    np.testing.assert_allclose(
        weighted_incidence_gram(c, n), (c / n[:, None]).T @ c, rtol=0, atol=1e-12
    )


def test_pair_codes_match_pandas_factorize_of_the_combination():
    from evaluate.estimators.did._fe_kernels import pair_codes

    rng = np.random.default_rng(4)
    a, b = rng.integers(0, 9, 5000), rng.integers(0, 13, 5000)
    codes, n = pair_codes(a, b, 9, 13)
    np.testing.assert_array_equal(codes, pd.factorize(a * 13 + b)[0])
    assert n == len(np.unique(a * 13 + b))
