"""Tests of evaluate.estimators.trials.duration.

Against statsmodels, hand calculation and known truth.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pandas as pd
import pytest
from matplotlib.axes import Axes
from statsmodels.duration.hazard_regression import PHReg
from statsmodels.duration.survfunc import SurvfuncRight, survdiff

from evaluate.effect import TIDY_COLUMNS, Effect, NotApplicable
from evaluate.errors import DataError, DesignError, DroppedRowsWarning, SpecError
from evaluate.estimators.trials.duration import (
    DurationResult,
    duration,
    kaplan_meier,
    logrank,
    rmst,
)


def _exp_trial(seed: int, n: int = 200, hazards=(1 / 30, 1 / 20), follow_up: float = 52.0):
    """Two arms with exponential exit times; administrative censoring at ``follow_up``
    and random censoring (exponential, mean 150 weeks)."""
    rng = np.random.default_rng(seed)
    arm = np.repeat([0, 1], n // 2)
    t = rng.exponential(1 / np.where(arm == 1, hazards[1], hazards[0]))
    c = np.minimum(rng.exponential(150.0, n), follow_up)
    return pd.DataFrame({"weeks": np.minimum(t, c), "left": (t <= c).astype(int), "arm": arm})


def _true_rmst(hazard: float, horizon: float) -> float:
    return (1 - math.exp(-hazard * horizon)) / hazard


def _tied_data(seed: int = 0, n: int = 300) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "weeks": np.round(rng.exponential(12, n)),  # rounding creates many ties
            "left": rng.integers(0, 2, n),
            "arm": rng.choice(["a1", "a2", "control"], n),
        }
    )


# --------------------------------------------------------------------------- references
def test_kaplan_meier_matches_statsmodels_survfuncright():
    # Independent implementation: statsmodels SurvfuncRight; tolerance 1e-12 (same formula).
    df = _tied_data()
    for _, g in df.groupby("arm"):
        km = kaplan_meier(g["weeks"].to_numpy(), g["left"].to_numpy())
        ref = SurvfuncRight(g["weeks"].to_numpy(), g["left"].to_numpy())
        np.testing.assert_allclose(km["time"], ref.surv_times)
        np.testing.assert_allclose(km["survival"], ref.surv_prob, atol=1e-12)
        np.testing.assert_allclose(km["std_error"], ref.surv_prob_se, atol=1e-12)
        np.testing.assert_array_equal(km["n_risk"], ref.n_risk)
        np.testing.assert_array_equal(km["events"], ref.n_events)


def test_kaplan_meier_log_log_interval_by_hand():
    # Hand calculation at t = 1 of the doctest data: S = 0.8, Greenwood Σ = 1/20,
    # log-log SE = sqrt(0.05)/|log 0.8|; bounds S^exp(±z se).  Tolerance 1e-12.
    km = kaplan_meier(np.array([1.0, 2, 3, 4, 5]), np.array([1, 0, 1, 1, 0]))
    se = math.sqrt(0.05) / abs(math.log(0.8))
    z = 1.959963984540054
    assert km["ci_low"].iloc[0] == pytest.approx(0.8 ** math.exp(z * se), abs=1e-12)
    assert km["ci_high"].iloc[0] == pytest.approx(0.8 ** math.exp(-z * se), abs=1e-12)


@pytest.mark.parametrize("arms", [("a1", "control"), ("a1", "a2", "control")])
def test_logrank_matches_statsmodels_survdiff(arms):
    # statsmodels survdiff (Mantel log-rank); tolerance 1e-10.
    df = _tied_data(seed=2)
    sub = df[df["arm"].isin(arms)]
    chi2, p, dof = logrank(sub["weeks"].to_numpy(), sub["left"].to_numpy(), sub["arm"].to_numpy())
    ref_chi2, ref_p = survdiff(
        sub["weeks"].to_numpy(), sub["left"].to_numpy(), sub["arm"].to_numpy()
    )
    assert chi2 == pytest.approx(ref_chi2, rel=1e-10)
    assert p == pytest.approx(ref_p, rel=1e-10)
    assert dof == len(arms) - 1


def test_rmst_by_hand():
    # Hand calculation: S = 1 on [0,1), .8 on [1,3), .5333 on [3,4), .2667 on [4,5];
    # area to 5 = 1 + 1.6 + 0.5333 + 0.2667 = 3.4.  A_j = 2.4, 0.8, 0.2667 and
    # Var = 2.4²/20 + 0.8²/6 + 0.2667²/2 = 0.4302222.  Tolerance 1e-12.
    km = kaplan_meier(np.array([1.0, 2, 3, 4, 5]), np.array([1, 0, 1, 1, 0]))
    area, se = rmst(km, 5.0)
    assert area == pytest.approx(3.4, abs=1e-12)
    assert se**2 == pytest.approx(2.4**2 / 20 + 0.8**2 / 6 + (0.8 / 3) ** 2 / 2, abs=1e-12)


def test_rmst_equals_numeric_integral_of_statsmodels_curve():
    # Independent check: integrate statsmodels' KM step function on a fine grid
    # (midpoint rule, 200k points over 40 weeks: error < 40 * 1/200k * jumps ≈ 1e-4).
    df = _tied_data(seed=4)
    res = duration(df, time="weeks", event="left", arm="arm", control="control", horizon=40)
    grid = np.linspace(0, 40, 200_001)
    mid = (grid[:-1] + grid[1:]) / 2
    for label, row in res.rmst_table.set_index("arm").iterrows():
        g = df[df["arm"] == label]
        ref = SurvfuncRight(g["weeks"].to_numpy(), g["left"].to_numpy())
        idx = np.searchsorted(ref.surv_times, mid, side="right") - 1
        surv = np.where(idx >= 0, ref.surv_prob[np.clip(idx, 0, None)], 1.0)
        assert row["rmst"] == pytest.approx(np.sum(surv * np.diff(grid)), abs=1e-3)
    first = res.by_arm.iloc[0]
    assert res.estimate == pytest.approx(first["rmst_arm"] - first["rmst_control"])


def test_cox_hazard_ratio_matches_phreg_efron():
    # statsmodels PHReg with Efron ties (R coxph's default), the arm dummy alone.
    df = _tied_data(seed=5)
    sub = df[df["arm"].isin(["a1", "control"])]
    res = duration(sub, time="weeks", event="left", arm="arm", control="control")
    fit = PHReg(
        sub["weeks"].to_numpy(),
        (sub["arm"] == "a1").to_numpy(float)[:, None],
        status=sub["left"].to_numpy(),
        ties="efron",
    ).fit()
    hr = res.by_arm["hazard_ratio"].iloc[0]
    assert hr == pytest.approx(math.exp(fit.params[0]), rel=1e-8)
    assert res.diagnostics["Cox hazard ratio: a1"].value == pytest.approx(hr)


# --------------------------------------------------------------------------- known truth
def test_known_truth_rmst_difference_and_hazard_ratio():
    # Exponential exits, hazards 1/30 vs 1/20 per week: true RMST(52) difference
    # = (1-e^{-52/20})*20 - (1-e^{-52/30})*30 = -6.64 weeks; HR = 1.5.  n = 4000:
    # SE ≈ 0.55, so |error| < 2 is a > 3.5-SE margin.
    res = duration(_exp_trial(1, n=4000), time="weeks", event="left", arm="arm", horizon=52)
    truth = _true_rmst(1 / 20, 52) - _true_rmst(1 / 30, 52)
    assert res.estimate == pytest.approx(truth, abs=2.0)
    assert res.by_arm["hazard_ratio"].iloc[0] == pytest.approx(1.5, abs=0.12)
    assert res.horizon == 52


def _coverage(reps: int, n: int) -> tuple[float, float]:
    truth = _true_rmst(1 / 20, 40) - _true_rmst(1 / 30, 40)
    hits, estimates, ses = 0, [], []
    for seed in range(reps):
        data = _exp_trial(seed, n=n)
        t, e, arm = (data[c].to_numpy() for c in ("weeks", "left", "arm"))
        a1, se1 = rmst(kaplan_meier(t[arm == 1], e[arm == 1]), 40)
        a0, se0 = rmst(kaplan_meier(t[arm == 0], e[arm == 0]), 40)
        se = math.hypot(se1, se0)
        hits += abs(a1 - a0 - truth) <= 1.959964 * se
        estimates.append(a1 - a0)
        ses.append(se)
    return hits / reps, float(np.std(estimates, ddof=1) / np.mean(ses))


def test_rmst_interval_coverage_light():
    # 400 replications: coverage SE ≈ 1.1 pp, so 92-98 % is a ≈ 2.7-SE band.  The
    # Monte Carlo SD of the estimates must match the mean analytic SE within 12 %.
    coverage, ratio = _coverage(400, 200)
    assert 0.92 <= coverage <= 0.98
    assert ratio == pytest.approx(1.0, abs=0.12)


@pytest.mark.slow
def test_rmst_interval_coverage_heavy():
    coverage, ratio = _coverage(3000, 200)  # coverage SE ≈ 0.4 pp
    assert 0.935 <= coverage <= 0.965
    assert ratio == pytest.approx(1.0, abs=0.05)


def test_front_door_interval_uses_normal_reference():
    res = duration(_exp_trial(3), time="weeks", event="left", arm="arm", horizon=40)
    low, high = res.ci
    assert low == pytest.approx(res.estimate - 1.959964 * res.std_error, rel=1e-6)
    assert high == pytest.approx(res.estimate + 1.959964 * res.std_error, rel=1e-6)


# --------------------------------------------------------------------------- bad input
def test_bad_inputs():
    df = _exp_trial(0, n=40)
    with pytest.raises(DataError, match="non-negative"):
        duration(df.assign(weeks=df["weeks"] - 100), time="weeks", event="left", arm="arm")
    with pytest.raises(DataError, match="1 .left"):
        duration(df.assign(left=df["left"] * 2), time="weeks", event="left", arm="arm")
    with pytest.raises(DesignError, match="No events"):
        duration(df.assign(left=0), time="weeks", event="left", arm="arm")
    with pytest.raises(DesignError, match="exceeds the follow-up"):
        duration(df, time="weeks", event="left", arm="arm", horizon=1000)
    with pytest.raises(SpecError, match="horizon"):
        duration(df, time="weeks", event="left", arm="arm", horizon=-1)
    with pytest.raises(DataError, match="not found"):
        duration(df, time="weks", event="left", arm="arm")
    with pytest.raises(DataError, match="numeric"):
        duration(df.assign(weeks="x"), time="weeks", event="left", arm="arm")
    with pytest.raises(SpecError, match="control"):
        duration(
            df.assign(arm=np.where(df["arm"] == 1, "a", "b")), time="weeks", event="left", arm="arm"
        )
    three = df.assign(arm=np.resize([0, 1, 2], len(df)))
    with pytest.raises(DataError, match="not listed"):
        duration(three, time="weeks", event="left", arm="arm", control=0, arms=[1])
    with pytest.raises(DesignError, match="no units"):
        duration(df, time="weeks", event="left", arm="arm", control=0, arms=[1, 5])


def test_missing_values_are_counted_or_refused():
    df = _exp_trial(0, n=60)
    df.loc[[3, 7], "weeks"] = np.nan
    with pytest.raises(DataError, match="Missing"):
        duration(df, time="weeks", event="left", arm="arm")
    with pytest.warns(DroppedRowsWarning):
        res = duration(df, time="weeks", event="left", arm="arm", drop_missing=True)
    assert res.provenance.n_dropped == 2 and res.provenance.n_rows == 58
    assert df["weeks"].isna().sum() == 2  # caller's frame untouched


def test_arm_without_exits_gives_not_applicable_cox():
    df = _exp_trial(0, n=80)
    df.loc[df["arm"] == 1, "left"] = 0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = duration(df, time="weeks", event="left", arm="arm")
    assert isinstance(res.diagnostics["Cox model"], NotApplicable)
    assert math.isfinite(res.estimate) and res.estimate > 0  # nobody leaves: more weeks


# --------------------------------------------------------------------------- contract
def test_result_contract():
    res = duration(
        _tied_data(seed=1),
        time="weeks",
        event="left",
        arm="arm",
        control="control",
        name="weeks to self-support",
    )
    assert isinstance(res, DurationResult) and isinstance(res, Effect)
    frame = res.to_frame()
    assert list(frame.columns) == TIDY_COLUMNS
    assert frame["term"].tolist()[:2] == [
        "weeks to self-support",
        "weeks to self-support [a2 vs control]",
    ]
    assert "hazard ratio of leaving [a1 vs control]" in frame["term"].tolist()
    for fmt in ("text", "markdown", "html"):
        text = res.summary(fmt)
        assert "weeks to self-support" in text and "Kaplan-Meier" in text
    assert res._repr_html_().startswith("<div")
    ax = res.plot()
    assert isinstance(ax, Axes) and len(ax.get_lines()) >= 3
    assert set(res.curves["arm"]) == {"a1", "a2", "control"}
    with pytest.raises(AttributeError):
        res.horizon = 3
    wider = res.with_alpha(0.1)
    assert wider.ci[1] - wider.ci[0] < res.ci[1] - res.ci[0]
    at = res.survival_at([1, 5, 10])
    for _, g in at.groupby("arm"):
        assert np.all(np.diff(g["survival"]) <= 0) and (g["ci_low"] <= g["survival"]).all()
