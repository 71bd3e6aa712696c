"""Tests of evaluate.power against statsmodels' power functions and simulation."""

from __future__ import annotations

import matplotlib
import pytest
from statsmodels.stats.power import TTestIndPower
from statsmodels.stats.proportion import power_proportions_2indep

from evaluate.errors import SpecError
from evaluate.power import mde, power, power_curve, sample_size, simulate_power

matplotlib.use("Agg")

VORDINGBORG = {
    "n_treated": 135,
    "n_control": 503 - 135 - 184,
    "outcome": "binary",
    "baseline": 0.30,
    "arms": 3,
}


def test_continuous_power_and_mde_match_statsmodels():
    # statsmodels TTestIndPower (noncentral t, n1 + n2 - 2 df); tolerance 1e-6
    sm = TTestIndPower()
    assert power(0.4, n_treated=80, n_control=120).power == pytest.approx(
        sm.power(0.4, 80, 0.05, ratio=120 / 80), abs=1e-6
    )
    res = mde(n_treated=80, n_control=120, sd=2.0)
    d = sm.solve_power(effect_size=None, nobs1=80, alpha=0.05, power=0.8, ratio=1.5)
    assert res.effect / 2.0 == pytest.approx(d, rel=1e-5)


def test_binary_power_matches_statsmodels_two_proportions():
    # statsmodels power_proportions_2indep (pooled null, unpooled alternative); tol 1e-8
    ours = power(0.15, n_treated=135, n_control=184, outcome="binary", baseline=0.3, arms=3)
    ref = power_proportions_2indep(0.15, 0.30, 135, ratio=184 / 135, alpha=0.025)
    assert ours.power == pytest.approx(ref.power, abs=1e-8)


def test_textbook_sample_size():
    # Cohen (1988): d = 0.5, alpha 0.05 two-sided, power 0.8 -> 64 per group
    res = sample_size(0.5)
    assert (res.n_treated, res.n_control) == (64, 64)
    assert power(0.5, n_treated=63, n_control=63).power < 0.8 <= res.power


def test_vordingborg_detectable_effect_checked_by_simulation():
    """503 citizens, arm 1 = 135, arm 2 = control = 184; employment share ~30 %;
    80 % power at 5 % Bonferroni-adjusted for two comparisons (2.5 % each)."""
    res = mde(**VORDINGBORG)
    assert res.design.test_alpha == pytest.approx(0.025)
    assert 0.15 < res.effect < 0.19  # about 17 percentage points: 30 % -> 47 %
    assert "percentage points" in res.notes[0]
    sim = simulate_power(res.effect, n_sims=4000, seed=1, **VORDINGBORG)
    # 4000 simulated Welch t-tests: MC SE 0.0063; the normal approximation is ~1 pp
    # optimistic against the t-test, so accept |sim - 0.80| <= 0.03
    assert sim == pytest.approx(0.80, abs=0.03)
    unadjusted = mde(**{**VORDINGBORG, "adjust": "none"})
    assert unadjusted.effect < res.effect


@pytest.mark.parametrize(
    "kw",
    [
        {"n_treated": 200, "n_control": 200, "r2": 0.5},
        {"n_treated": 200, "n_control": 200, "icc": 0.05, "cluster_size": 10},
        {
            "n_treated": 200,
            "n_control": 200,
            "icc": 0.05,
            "cluster_size": 10,
            "outcome": "binary",
            "baseline": 0.3,
        },
    ],
)
def test_cluster_and_covariate_mde_by_simulation(kw):
    res = mde(**kw)
    # 3000 simulations: MC SE 0.0073; tolerance 0.035 covers that and the approximation
    assert simulate_power(res.effect, n_sims=3000, seed=7, **kw) == pytest.approx(0.8, abs=0.035)


def test_design_effect_and_r2_scale_the_mde():
    base = mde(n_treated=2000, n_control=2000)
    clustered = mde(n_treated=2000, n_control=2000, icc=0.1, cluster_size=11)
    assert clustered.design.design_effect == pytest.approx(2.0)
    # with many clusters the MDE scales by sqrt(design effect); rel 1 % (t vs normal)
    assert clustered.effect / base.effect == pytest.approx(2**0.5, rel=0.01)
    adjusted = mde(n_treated=2000, n_control=2000, r2=0.75)
    assert adjusted.effect / base.effect == pytest.approx(0.5, rel=1e-3)
    clusters = sample_size(0.2, icc=0.05, cluster_size=20)
    assert clusters.n_treated % 20 == 0 and clusters.power >= 0.8


def test_bad_input():
    with pytest.raises(SpecError, match="baseline"):
        mde(n_treated=100, n_control=100, outcome="binary")
    with pytest.raises(SpecError, match="icc"):
        mde(n_treated=100, n_control=100, icc=1.2)
    with pytest.raises(SpecError, match="arms"):
        mde(n_treated=100, n_control=100, arms=1)
    with pytest.raises(SpecError, match="power"):
        mde(n_treated=100, n_control=100, power=1.0)
    with pytest.raises(SpecError, match="fewer than two"):
        mde(n_treated=10, n_control=10, cluster_size=10)
    with pytest.raises(SpecError, match="r2"):
        simulate_power(0.1, n_treated=50, n_control=50, outcome="binary", baseline=0.3, r2=0.2)
    tiny = mde(n_treated=3, n_control=3, outcome="binary", baseline=0.5)
    assert tiny.effect != tiny.effect and "too small" in tiny.notes[0]  # NaN, explained


def test_display_and_plot():
    import matplotlib.pyplot as plt

    res = mde(**VORDINGBORG)
    for fmt in ("text", "markdown", "html"):
        assert "minimum detectable effect" in res.summary(fmt)
    assert res.to_frame().loc[0, "effect"] == res.effect
    ax = res.plot()
    assert ax.get_ylabel() == "power"
    power_curve(res.design)
    plt.close("all")
