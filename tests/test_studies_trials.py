"""The trial, observational, duration and share studies: key numbers of each StudyResult.

References: tests/reference/R_output.txt (R estimatr) and REFERENCES.md (Dehejia &
Wahba 1999); the simulated Vordingborg data are checked against their generator.
"""

from __future__ import annotations

import importlib.util
import re
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm

from evaluate.power import mde
from evaluate.study import run_study

STUDIES = Path(__file__).resolve().parents[1] / "studies"


def _run(name: str):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # small effective sample sizes are expected here
        return run_study(STUDIES / f"{name}.toml")


def _generator(name: str):
    spec = importlib.util.spec_from_file_location(name, STUDIES / "data" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_nsw_trial_matches_estimatr():
    # R estimatr (tests/reference/R_output.txt lines (c), (d)); tolerance: printed digits.
    result = _run("nsw_trial")
    dim, lin = result.effects["difference"], result.effects["lin"]
    assert dim.estimate == pytest.approx(1794.3424, abs=1e-4)
    assert dim.std_error == pytest.approx(670.99655, abs=1e-5)
    assert dim.ci == pytest.approx((474.01047, 3114.6743), abs=1e-4)
    assert lin.estimate == pytest.approx(1621.5831, abs=1e-4)
    assert lin.std_error == pytest.approx(694.72157, abs=1e-5)
    assert lin.ci == pytest.approx((256.08342, 2987.0828), abs=1e-4)
    assert result.data["nsw"].rows == 445


def test_lalonde_observational_study():
    result = _run("lalonde_observational")
    effects = result.effects
    # DW 1999 Table 3 / R lm_robust classical: -15204.777 (1154.6143); printed digits.
    naive = effects["naive"]
    assert naive.estimate == pytest.approx(-15204.777, abs=1e-3)
    assert naive.diagnostics["classical (pooled-variance) SE"].value == pytest.approx(
        1154.6143, abs=1e-4
    )
    assert effects["benchmark"].estimate == pytest.approx(1794.3424, abs=1e-4)
    # regression adjustment = statsmodels OLS imputation from the controls (1e-6 US$)
    df = result.data["psid"].frame
    covs = result.spec.effect[1].options["covariates"]
    ctrl, tr = df[df.treat == 0], df[df.treat == 1]
    ols = sm.OLS(ctrl["re78"], sm.add_constant(ctrl[covs])).fit()
    expected = (tr["re78"] - ols.predict(sm.add_constant(tr[covs]))).mean()
    assert effects["regression"].estimate == pytest.approx(expected, abs=1e-6)
    # every adjusted estimate is far closer to the benchmark than the naive one
    for key in ("regression", "ipw", "aipw", "matching"):
        assert abs(effects[key].estimate - 1794.3424) < 2500, key
        assert "ATT" in effects[key].estimand
    counts = effects["matching"].counts.set_index("group")
    assert counts.loc["treated", "n"] == 185 and counts.loc["control", "n"] == 2490
    assert "1,794" in result.spec.study.description


def test_lalonde_csv_is_reproduced_by_its_script():
    built = _generator("make_lalonde_psid").build()
    stored = pd.read_csv(STUDIES / "data" / "lalonde_psid1.csv")
    pd.testing.assert_frame_equal(built.reset_index(drop=True), stored, check_dtype=False)


def test_vordingborg_study():
    result = _run("vordingborg_trial")
    data = result.data["trial"]
    assert data.source.simulated and data.rows == 503
    sizes = data.frame["arm"].value_counts().to_dict()
    assert sizes == {"arm1": 135, "arm2": 184, "control": 184}
    generator = _generator("make_vordingborg")
    regenerated = generator.simulate(generator.SIZES, np.random.default_rng(generator.SEED))
    pd.testing.assert_frame_equal(regenerated, data.frame, check_dtype=False)

    employment = result.effects["employment"]
    table = employment.by_arm.set_index("arm")
    assert list(table.index) == ["arm1", "arm2"]
    assert employment.estimate == pytest.approx(table.loc["arm1", "estimate"])
    assert {"p_holm", "p_bh", "p_ri", "p_wy"} <= set(table.columns)
    # the truth (+0.116 for arm 1) lies in the interval of this draw
    low, high = employment.ci
    assert low < 0.116 < high

    weeks = result.effects["weeks"]
    assert weeks.horizon == 78 and weeks.unit == "weeks"
    rmst = weeks.rmst_table.set_index("arm")
    assert rmst["n"].to_dict() == {"control": 184, "arm1": 135, "arm2": 184}
    assert weeks.estimate == pytest.approx(rmst.loc["arm1", "rmst"] - rmst.loc["control", "rmst"])
    low, high = weeks.ci
    assert low < -6.9 < high  # true RMST difference of arm 1

    # the detectable-effect answer in the description is the power module's
    text = result.spec.study.description
    first = mde(n_treated=135, n_control=184, outcome="binary", baseline=0.30, arms=3).effect
    second = mde(n_treated=184, n_control=184, outcome="binary", baseline=0.30, arms=3).effect
    assert "about 17 percentage points" in text and round(first * 100) == 17
    assert re.search(r"15\.5 points", text) and round(second * 100, 1) == 15.5


def test_solroed_shares_study():
    result = _run("solroed_shares")
    dist = result.effects["distribution"]
    assert dict(dist.counts) == {"work": 106, "education": 14, "internship": 46, "other": 119}
    assert sum(dist.counts.values()) == 285
    assert dist.estimate == pytest.approx(106 / 285)
    employment = result.effects["employment"]
    # Clopper-Pearson 95 % for 106/285 (shares.py doctest; scipy beta quantiles): 4 decimals
    assert employment.ci == pytest.approx((0.3157, 0.4309), abs=5e-5)
    education = result.effects["education"]
    assert education.estimate == pytest.approx(14 / 285)
    low, high = education.ci
    assert 0.02 < low < 0.03 and 0.08 < high < 0.09  # "3 % or 8 %" in the description
    assert "små tal" in result.spec.study.description
