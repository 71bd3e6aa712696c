"""ITS models (issue 14 item 6): level, slope or both; where the step sits; the
classic published specification (Poisson/quasi-Poisson step model, offset, Fourier
seasonality) on the Sicily data of Lopez Bernal, Cummins & Gasparrini (2017).

References: tests/reference/its/sicily_reference.py (statsmodels GLM refits of the
tutorial's R models; its docstring holds the printed values and the data's source).
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from evaluate.errors import SpecError
from evaluate.estimators.series.its import its

REF = Path(__file__).parents[2] / "reference" / "its"


def _sicily() -> pd.DataFrame:
    d = pd.read_csv(REF / "sicily.csv")
    d["month_p"] = pd.PeriodIndex.from_fields(year=d["year"], month=d["month"], freq="M")
    return d


@pytest.fixture(scope="module")
def reference():
    import importlib.util

    spec = importlib.util.spec_from_file_location("sicily_reference", REF / "sicily_reference.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.fits()


def _fit(**kw):
    return its(_sicily(), outcome="aces", time="month_p", start="2005-01", exposure="stdpop",
               **kw)  # fmt: skip


def test_sicily_quasipoisson_fourier_step_model_reproduces_the_tutorial(reference):
    # Published (brief, Bernal et al. 2017 model3): RR 0.885 (95 % CI 0.839-0.933),
    # printed to 3 decimals: tolerance 5e-4.
    fit = _fit(family="quasipoisson", change="level", seasonality="fourier", fourier_terms=2,
               cov="classical")  # fmt: skip
    row = fit.to_frame().set_index("term").loc["aces: level change"]
    assert row["unit"] == "rate ratio"
    assert row["estimate"] == pytest.approx(0.885, abs=5e-4)
    assert row["ci_low"] == pytest.approx(0.839, abs=5e-4)
    assert row["ci_high"] == pytest.approx(0.933, abs=5e-4)
    # the same model refitted by statsmodels GLM: every coefficient and SE, 1e-6 relative
    # (statsmodels stops IRLS at a deviance tolerance of 1e-8)
    # (our time is centred at the step, so the intercepts differ; Fourier columns come
    # in another order: compare the step and trend, then the other SEs sorted)
    m3 = reference["model3"]
    coef = fit.coefficients
    assert coef.loc["level change", "estimate"] == pytest.approx(m3.params[1], rel=1e-6)
    assert coef.loc["level change", "std_error"] == pytest.approx(m3.bse[1], rel=1e-6)
    assert coef.loc["trend", "estimate"] == pytest.approx(m3.params[2], rel=1e-6)
    np.testing.assert_allclose(np.sort(coef["std_error"].iloc[1:]), np.sort(m3.bse[1:]),
                               rtol=1e-6)  # fmt: skip
    assert fit.diagnostics["overdispersion"].value == pytest.approx(m3.scale, rel=1e-6)


@pytest.mark.parametrize(("model", "family"), [("model1", "poisson"), ("model2", "quasipoisson")])
def test_sicily_basic_step_model_matches_glm(reference, model, family):
    fit = _fit(family=family, change="level", cov="classical")
    ref = reference[model]
    b, se = fit.coefficients.loc["level change", ["estimate", "std_error"]]
    assert b == pytest.approx(ref.params[1], rel=1e-6)
    assert se == pytest.approx(ref.bse[1], rel=1e-6)
    row = fit.to_frame().set_index("term").loc["aces: level change"]
    z = 1.959963984540054
    np.testing.assert_allclose([row["estimate"], row["ci_low"], row["ci_high"]],
                               np.exp(ref.params[1] + np.array([0, -z, z]) * ref.bse[1]),
                               rtol=1e-6)  # fmt: skip
    assert "slope change" not in fit.coefficients.index and fit.slope_change is None


def test_where_the_step_sits_level_plus_slope_against_the_tutorial(reference):
    # model4 counts its slope from time 36 (the last pre-period), so R's smokban is the
    # level one period before our step: ours (step at 2005-01, slope 0 there) equals
    # R's smokban + slope.  That is what "the step sits at the first post period" means.
    fit = _fit(family="quasipoisson", change="both", seasonality="fourier", cov="classical")
    m4 = reference["model4"]
    assert fit.coefficients.loc["slope change", "estimate"] == pytest.approx(m4.params[3],
                                                                             rel=1e-6)  # fmt: skip
    assert fit.coefficients.loc["level change", "estimate"] == pytest.approx(
        m4.params[1] + m4.params[3], rel=1e-6
    )
    assert str(fit.step_at) == "2005-01"
    text = fit.summary()
    assert "Step at" in text and "2005-01 (first post-intervention period)" in text
    assert any("The step sits at 2005-01" in n for n in fit.notes)


def test_slope_only_model_and_its_table():
    fit = _fit(family="quasipoisson", change="slope", cov="classical")
    assert fit.level_change is None and fit.slope_change is not None
    assert list(fit.coefficients.index[:3]) == ["intercept", "trend", "slope change"]
    terms = list(fit.to_frame()["term"])
    assert "aces: slope change per period" in terms and "aces: level change" not in terms
    assert "slope change" in fit.method and "level" not in str(fit.method)
    # the counterfactual drops the slope change only: effect at the step is 0
    first = fit.series[fit.series["post"]].iloc[0]
    assert first["effect"] == pytest.approx(0.0, abs=1e-9)


def test_counts_default_stays_quasipoisson_with_arma11():
    fit = _fit(family="poisson", change="level")
    assert "quasi-Poisson" in fit.inference and "ARMA(1,1) working correlation" in fit.inference
    assert fit.ar1_rho is not None and not math.isnan(fit.ar1_rho)
    assert fit.working_arma is not None


def test_change_is_checked():
    with pytest.raises(SpecError, match="change must be"):
        _fit(family="poisson", change="step")
