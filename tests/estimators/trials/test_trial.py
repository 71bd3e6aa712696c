"""Tests of evaluate.estimators.trials.trial against R estimatr, statsmodels and known truth."""

from __future__ import annotations

import warnings

import matplotlib
import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from scipy import stats

from evaluate.datasets import nsw_experimental, nsw_lalonde
from evaluate.effect import TIDY_COLUMNS, Effect, NotApplicable
from evaluate.errors import (
    DataError,
    DesignError,
    DroppedRowsWarning,
    SmallSampleWarning,
    SpecError,
)
from evaluate.estimators.trials._trial_inference import benjamini_hochberg, holm
from evaluate.estimators.trials.trial import TrialResult, trial, trial_family

matplotlib.use("Agg")

COVS = ["age", "educ", "black", "hisp", "marr", "nodegree", "re74", "re75"]


def _three_arm(seed: int, n: int = 503, effects=(0.15, 0.05), missing: int = 0) -> pd.DataFrame:
    """Vordingborg-like trial: 135 in arm1, the rest split between arm2 and control."""
    rng = np.random.default_rng(seed)
    n1 = round(n * 135 / 503)
    n2 = (n - n1) // 2
    arm = np.array(["arm1"] * n1 + ["arm2"] * n2 + ["control"] * (n - n1 - n2))
    rng.shuffle(arm)
    x = rng.normal(size=n)
    y = 0.3 + effects[0] * (arm == "arm1") + effects[1] * (arm == "arm2") + 0.2 * x
    y = y + rng.normal(0, 0.4, n)
    frame = pd.DataFrame({"arm": arm, "y": y, "x": x, "block": rng.integers(0, 4, n)})
    if missing:
        frame.loc[frame.index[:missing], "y"] = np.nan
    return frame


# --------------------------------------------------------------------------- reference values
def test_difference_in_means_matches_estimatr():
    # R estimatr 1.0.0 difference_in_means(re78 ~ treat) (tests/reference/R_output.txt);
    # printed to 8 significant digits, so rel 1e-7.
    res = trial(nsw_experimental(), outcome="re78", arm="treat", permutations=0)
    assert res.estimate == pytest.approx(1794.3424, rel=1e-7)
    assert res.std_error == pytest.approx(670.99655, rel=1e-7)
    assert res.distribution.df == pytest.approx(307.13249, rel=1e-7)
    assert res.ci[0] == pytest.approx(474.01047, rel=1e-7)
    assert res.ci[1] == pytest.approx(3114.6743, rel=1e-7)
    assert res.p_value == pytest.approx(0.0078929777, rel=1e-6)


def test_neyman_se_equals_statsmodels_hc2():
    # lm_robust HC2 SE 670.99655 (R) and statsmodels OLS cov_type="HC2" (independent code).
    d = nsw_experimental()
    fit = sm.OLS(d["re78"], sm.add_constant(d["treat"])).fit(cov_type="HC2")
    res = trial(d, outcome="re78", arm="treat", permutations=0)
    assert res.std_error == pytest.approx(fit.bse["treat"], rel=1e-10)
    assert res.std_error == pytest.approx(670.99655, rel=1e-7)


def test_lin_matches_estimatr_lm_lin():
    # R estimatr lm_lin(re78 ~ treat, ~age+...+re75), HC2 (R_output.txt); rel 1e-7.
    res = trial(
        nsw_experimental(),
        outcome="re78",
        arm="treat",
        covariates=COVS,
        adjust="lin",
        permutations=0,
    )
    assert res.estimate == pytest.approx(1621.5831, rel=1e-7)
    assert res.std_error == pytest.approx(694.72157, rel=1e-7)
    assert res.distribution.df == 427
    assert res.ci == pytest.approx((256.08342, 2987.0828), rel=1e-7)
    assert res.p_value == pytest.approx(0.020050944, rel=1e-6)


def test_lalonde_722_difference():
    # LaLonde (1986) 722-obs sample: 886.30373; lm_robust HC2 SE 488.20453 (R); rel 1e-7.
    res = trial(nsw_lalonde(), outcome="re78", arm="treat", permutations=0)
    assert res.estimate == pytest.approx(886.30373, rel=1e-7)
    assert res.std_error == pytest.approx(488.20453, rel=1e-7)


def test_multi_arm_equals_pairwise_and_statsmodels_hc2():
    data = _three_arm(1)
    res = trial(data, outcome="y", arm="arm", control="control", permutations=0)
    pair = data[data["arm"].isin(["arm2", "control"])]
    alone = trial(pair, outcome="y", arm="arm", control="control", permutations=0)
    row = res.by_arm.set_index("arm").loc["arm2"]
    assert row["estimate"] == pytest.approx(alone.estimate, rel=1e-12)
    assert row["std_error"] == pytest.approx(alone.std_error, rel=1e-12)
    dummies = pd.get_dummies(data["arm"])[["arm1", "arm2"]].astype(float)
    fit = sm.OLS(data["y"], sm.add_constant(dummies)).fit(cov_type="HC2")
    assert list(res.by_arm["std_error"]) == pytest.approx(
        list(fit.bse[["arm1", "arm2"]]), rel=1e-10
    )
    assert res.to_frame()["term"].tolist() == ["y", "y [arm2 vs control]"]


def test_multi_arm_lin_equals_statsmodels_interacted_hc2():
    data = _three_arm(2)
    res = trial(
        data,
        outcome="y",
        arm="arm",
        control="control",
        covariates=["x"],
        adjust="lin",
        permutations=0,
    )
    xc = data["x"] - data["x"].mean()
    X = pd.DataFrame(
        {
            "const": 1.0,
            "arm1": (data["arm"] == "arm1") * 1.0,
            "arm2": (data["arm"] == "arm2") * 1.0,
            "xc": xc,
        }
    )
    X["arm1_x"], X["arm2_x"] = X["arm1"] * xc, X["arm2"] * xc
    fit = sm.OLS(data["y"], X).fit(cov_type="HC2")
    assert list(res.by_arm["estimate"]) == pytest.approx(list(fit.params[["arm1", "arm2"]]))
    assert list(res.by_arm["std_error"]) == pytest.approx(list(fit.bse[["arm1", "arm2"]]))
    assert set(res.by_arm["df"]) == {len(data) - 6}


def test_blocked_estimate_and_matched_pairs():
    data = _three_arm(3).query("arm != 'arm2'")
    res = trial(data, outcome="y", arm="arm", control="control", blocks="block", permutations=0)
    taus, sizes = [], []
    for _, g in data.groupby("block"):
        taus.append(g.loc[g.arm == "arm1", "y"].mean() - g.loc[g.arm == "control", "y"].mean())
        sizes.append(len(g))
    assert res.estimate == pytest.approx(np.average(taus, weights=sizes), rel=1e-12)
    # the Lin estimator with interacted block dummies gives the same point estimate
    lin = trial(
        data,
        outcome="y",
        arm="arm",
        control="control",
        blocks="block",
        adjust="lin",
        permutations=0,
    )
    assert lin.estimate == pytest.approx(res.estimate, rel=1e-10)
    # matched pairs: the Imai (2008) variance equals the paired-t standard error
    rng = np.random.default_rng(4)
    y1, y0 = rng.normal(1, 1, 20), rng.normal(0, 1, 20)
    pairs = pd.DataFrame(
        {
            "y": np.r_[y1, y0],
            "d": np.r_[np.ones(20), np.zeros(20)],
            "pair": np.r_[np.arange(20), np.arange(20)],
        }
    )
    with pytest.warns(SmallSampleWarning):  # 20 per arm: flagged as small
        pr = trial(pairs, outcome="y", arm="d", blocks="pair", permutations=0)
    t = stats.ttest_rel(y1, y0)
    assert pr.std_error == pytest.approx((y1 - y0).mean() / t.statistic, rel=1e-10)
    assert pr.distribution.df == 19


def test_cluster_with_singletons_equals_hc2():
    d = nsw_experimental().assign(cid=lambda f: np.arange(len(f)))
    res = trial(d, outcome="re78", arm="treat", cluster="cid", permutations=0)
    assert res.std_error == pytest.approx(670.99655, rel=1e-7)
    assert "CR2" in res.inference


# --- randomization inference
def test_randomization_inference_close_to_welch_and_seeded():
    d = nsw_experimental()
    res = trial(d, outcome="re78", arm="treat", permutations=2000, seed=11)
    row = res.by_arm.iloc[0]
    # Monte Carlo SE of the RI p-value ≈ 0.002 at p ≈ 0.008: tolerance 0.006 (3 SE)
    assert row["p_ri"] == pytest.approx(0.0079, abs=0.006)
    # the inverted-test CI is close to the Welch CI (within 10 % of its width)
    width = res.ci[1] - res.ci[0]
    assert row["ri_ci_low"] == pytest.approx(res.ci[0], abs=0.1 * width)
    assert row["ri_ci_high"] == pytest.approx(res.ci[1], abs=0.1 * width)
    again = trial(d, outcome="re78", arm="treat", permutations=2000, seed=11)
    assert again.by_arm.iloc[0]["p_ri"] == row["p_ri"]


def test_cluster_randomization_inference_and_lin():
    rng = np.random.default_rng(5)
    clusters = np.repeat(np.arange(30), 8)
    treat_c = rng.permutation(np.r_[np.ones(15), np.zeros(15)])
    d = pd.DataFrame({"c": clusters, "t": treat_c[clusters], "x": rng.normal(size=240)})
    d["y"] = 0.5 * d["t"] + rng.normal(0, 0.5, 30)[clusters] + d["x"] + rng.normal(size=240)
    res = trial(
        d,
        outcome="y",
        arm="t",
        cluster="c",
        covariates=["x"],
        adjust="lin",
        permutations=300,
        seed=1,
    )
    row = res.by_arm.iloc[0]
    assert row["ri_ci_low"] < res.estimate < row["ri_ci_high"]
    assert 5 < res.distribution.df < 30  # Bell-McCaffrey df are near the 28 cluster df


# --------------------------------------------------------------------------- multiplicity
def test_holm_bh_and_westfall_young():
    data = _three_arm(6)
    res = trial(data, outcome="y", arm="arm", control="control", permutations=400, seed=2)
    table = res.by_arm
    p = table["p_value"].to_numpy()
    holm_first = min(1.0, 2 * p.min())
    assert table.loc[table["p_value"].idxmin(), "p_holm"] == pytest.approx(holm_first)
    assert (table["p_bh"] >= table["p_value"] - 1e-15).all()
    assert ((0 < table["p_wy"]) & (table["p_wy"] <= 1)).all()
    # two identical outcomes: Westfall-Young gives them equal p-values, no Holm doubling
    data["y_copy"] = data["y"]
    fam = trial_family(
        data, outcomes=["y", "y_copy"], arm="arm", control="control", permutations=400, seed=3
    )
    first = fam[fam["arm"] == "arm2"]
    assert first["p_wy"].nunique() == 1
    assert len(fam) == 4 and set(fam.columns) >= {"p_holm", "p_bh", "p_wy"}


def test_holm_and_bh_match_statsmodels():
    from statsmodels.stats.multitest import multipletests

    p = np.array([0.01, 0.04, 0.03, 0.2, 0.001, 0.04])
    assert holm(p) == pytest.approx(multipletests(p, method="holm")[1], rel=1e-12)
    bh = multipletests(p, method="fdr_bh")[1]
    assert benjamini_hochberg(p) == pytest.approx(bh, rel=1e-12)


# --------------------------------------------------------------------------- balance, attrition
def test_balance_table_and_joint_test():
    d = nsw_experimental()
    res = trial(d, outcome="re78", arm="treat", covariates=["age", "nodegree"], permutations=0)
    row = res.balance.set_index("covariate").loc["nodegree"]
    t, c = d.loc[d.treat == 1, "nodegree"], d.loc[d.treat == 0, "nodegree"]
    smd = (t.mean() - c.mean()) / np.sqrt((t.var() + c.var()) / 2)
    assert row["smd"] == pytest.approx(smd, rel=1e-12)
    diag = res.diagnostics["balance: 1 vs 0"]
    assert 0 < diag.p_value < 1
    none = trial(d, outcome="re78", arm="treat", permutations=0)
    assert isinstance(none.diagnostics["balance: 1 vs 0"], NotApplicable)


def test_attrition_is_counted_and_warned():
    data = _three_arm(7, missing=12)
    before = data.copy()
    with pytest.warns(DroppedRowsWarning, match="missing for 12"):
        res = trial(data, outcome="y", arm="arm", control="control", permutations=0)
    pd.testing.assert_frame_equal(data, before)  # the caller's frame is untouched
    assert res.attrition["missing"].sum() == 12
    assert res.provenance.n_dropped == 12 and res.provenance.n_rows == len(data) - 12
    assert res.diagnostics["attrition"].name == "differential attrition"
    assert any("no outcome" in note for note in res.notes)


# --------------------------------------------------------------------------- known truth
def _coverage(reps: int, adjust: str, seed: int) -> float:
    hits = 0
    for r in range(reps):
        data = _three_arm(seed + r, n=120, effects=(0.25, 0.0)).query("arm != 'arm2'")
        res = trial(
            data,
            outcome="y",
            arm="arm",
            control="control",
            permutations=0,
            covariates=["x"],
            adjust=adjust,
        )
        lo, hi = res.ci
        hits += lo <= 0.25 <= hi
    return hits / reps


def test_known_effect_recovered_and_ci_coverage_light():
    big = _three_arm(8, n=20000)
    res = trial(big, outcome="y", arm="arm", control="control", permutations=0)
    assert res.by_arm["estimate"].tolist() == pytest.approx([0.15, 0.05], abs=4 * res.std_error)
    # 300 replications: MC SE ≈ 0.0126, so 95 % coverage lies in [0.91, 0.99] (3 SE)
    assert 0.91 <= _coverage(300, "none", 1000) <= 0.99


@pytest.mark.slow
def test_ci_coverage_heavy():
    # 2000 replications: MC SE ≈ 0.0049; accept [0.935, 0.965]
    assert 0.935 <= _coverage(2000, "none", 50_000) <= 0.965
    assert 0.935 <= _coverage(2000, "lin", 60_000) <= 0.965


@pytest.mark.slow
def test_randomization_ci_coverage_heavy():
    hits = 0
    for r in range(400):
        data = _three_arm(70_000 + r, n=60, effects=(0.25, 0.0)).query("arm != 'arm2'")
        res = trial(data, outcome="y", arm="arm", control="control", permutations=400, seed=r)
        hits += res.by_arm.iloc[0]["ri_ci_low"] <= 0.25 <= res.by_arm.iloc[0]["ri_ci_high"]
    assert 0.92 <= hits / 400 <= 0.98  # MC SE ≈ 0.011


# --------------------------------------------------------------------------- bad input
def test_bad_input_raises_typed_errors():
    data = _three_arm(9)
    kw = {"outcome": "y", "arm": "arm"}
    with pytest.raises(SpecError, match="control"):
        trial(data, permutations=0, **kw)
    with pytest.raises(SpecError, match="not a label"):
        trial(data, control="Control", permutations=0, **kw)
    with pytest.raises(DataError, match="not listed"):
        trial(data, control="control", arms=["arm1"], permutations=0, **kw)
    with pytest.raises(DesignError, match="no units"):
        trial(data, control="control", arms=["arm1", "arm2", "arm3"], permutations=0, **kw)
    with pytest.raises(DataError, match="not found"):
        trial(data, outcome="nope", arm="arm", control="control")
    with pytest.raises(SpecError, match="adjust"):
        trial(data, control="control", adjust="ols", **kw)
    flat = data.assign(z=np.where(data["arm"] == "arm1", 1.0, data["x"]))
    with pytest.raises(DesignError, match="constant within arm"):
        trial(flat, control="control", covariates=["z"], adjust="lin", permutations=0, **kw)
    with pytest.raises(DesignError, match="nothing to compare"):
        trial(data.assign(y=1.0), control="control", permutations=0, **kw)
    split = data.assign(c=np.arange(len(data)) % 7)
    with pytest.raises(DesignError, match="nested"):
        trial(split, control="control", cluster="c", permutations=0, **kw)
    holes = data.copy()
    holes.loc[3, "x"] = np.nan
    with pytest.raises(DataError, match="Missing"):
        trial(holes, control="control", covariates=["x"], permutations=0, **kw)
    with pytest.warns(DroppedRowsWarning):
        trial(holes, control="control", covariates=["x"], drop_missing=True, permutations=0, **kw)
    tiny = pd.DataFrame({"y": [1.0, 2.0, 3.0], "arm": ["a", "b", "b"]})
    with pytest.raises(DesignError, match="at least 2"):
        trial(tiny, outcome="y", arm="arm", control="b", permutations=0)
    with pytest.raises(DataError, match="numeric"):
        trial(data.assign(y="x"), control="control", permutations=0, **kw)


# --------------------------------------------------------------------------- contract
def test_result_contract():
    import matplotlib.pyplot as plt

    data = _three_arm(10)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = trial(
            data, outcome="y", arm="arm", control="control", covariates=["x"], permutations=50
        )
    assert isinstance(res, TrialResult) and isinstance(res, Effect)
    for fmt in ("text", "markdown", "html"):
        text = res.summary(fmt)
        assert "arm2" in text and "Balance" in text
    assert "<table" in res._repr_html_()
    frame = res.to_frame()
    assert list(frame.columns) == TIDY_COLUMNS and len(frame) == 2
    ax = res.plot()
    assert len(ax.get_xticklabels()) == 2
    plt.close("all")
    wider = res.with_alpha(0.01)
    assert wider.by_arm["ci_low"].iloc[0] < res.by_arm["ci_low"].iloc[0]
    assert res.provenance.data_hash and res.provenance.spec["arms"] == ["arm1", "arm2"]
