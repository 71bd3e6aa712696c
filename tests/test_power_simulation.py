"""Power of quasi-experimental designs by placebo simulation (issue 14, item 8).

Reference: for a 2x2 DiD on a panel with unit and period effects and iid N(0, 1)
noise, the DiD estimate is the difference in mean changes of n1 treated and n0
control units, each change with SD sqrt(2); its minimum detectable effect at 80 %
power and a two-sided 5 % test is the two-sample t MDE with sd = sqrt(2)
(:func:`evaluate.power.mde`, noncentral t on n - 2 df; cf. Bloom 1995,
MDE ~ (t_{1-a/2} + t_{0.8}) SE).  The simulated MDE must lie within
3 Monte Carlo standard errors (placebo windows are disjoint, so independent; the
s.e. resamples whole placebos) plus 0.02 for the linear interpolation between the
effect sizes tried (curvature of the power curve x spacing²/8 over its slope is
below 0.01 for spacings up to 0.2 here).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from evaluate import power
from evaluate.errors import DesignError, SpecError


def _panel(n_units: int, n_periods: int, seed: int, n_treated: int | None = None) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    u = np.repeat(np.arange(n_units), n_periods)
    t = np.tile(np.arange(n_periods), n_units)
    y = rng.normal(size=n_units)[u] + rng.normal(size=n_periods)[t] + rng.normal(size=u.size)
    n_treated = n_units // 2 if n_treated is None else n_treated
    return pd.DataFrame({"u": u, "t": t, "y": y, "g": (u < n_treated).astype(int)})


DID = dict(outcome="y", unit="u", time="t", treated="g")


def _check_did_mde(n_periods: int, effects, seed: int) -> power.DesignPowerResult:
    data = _panel(40, n_periods, seed)
    before = data.copy()
    res = power.simulate_design(
        data,
        design="did",
        options=DID,
        effects=effects,
        post_periods=1,
        pre_periods=1,
        step=2,
        before=n_periods,
        show_progress=False,
    )
    pd.testing.assert_frame_equal(data, before)  # caller's data untouched
    analytic = power.mde(n_treated=20, n_control=20, sd=math.sqrt(2)).effect  # 1.2857
    assert abs(res.mde - analytic) <= 3 * res.mde_mc_se + 0.02, (res.mde, res.mde_mc_se, analytic)
    size = res.table.iloc[0]
    assert size["effect"] == 0
    assert size["rejection_rate"] <= 0.05 + 3 * math.sqrt(0.05 * 0.95 / size["n_runs"])
    assert (res.table["coverage"] >= 0.95 - 3 * math.sqrt(0.05 * 0.95 / size["n_runs"])).all()
    return res


def test_simulated_mde_matches_analytic_2x2_did_light():
    # 80 disjoint windows x 6 effects = 480 DiD fits (a few seconds)
    res = _check_did_mde(161, [0.0, 0.9, 1.1, 1.3, 1.5, 1.7], seed=3)
    assert res.n_placebos == 80
    assert res.mde_mc_se < 0.15


@pytest.mark.slow
def test_simulated_mde_matches_analytic_2x2_did_heavy():
    res = _check_did_mde(1001, [0.0, 1.0, 1.15, 1.25, 1.35, 1.5], seed=4)
    assert res.mde_mc_se < 0.06


def test_result_face_and_plot():
    data = _panel(10, 13, 0)
    res = power.simulate_design(
        data,
        design="did",
        options=DID,
        effects=[0, 2, 4],
        post_periods=2,
        pre_periods=2,
        step=4,
        before=13,
        show_progress=False,
    )
    assert list(res.to_frame().columns[:4]) == [
        "effect",
        "rejection_rate",
        "rejection_mc_se",
        "coverage",
    ]
    assert "Minimum detectable effect" in res.summary()
    assert res.plot() is not None
    assert len(res.runs) == res.n_placebos * 3


def test_twfe_placebo_units_and_its():
    data = _panel(8, 12, 1)
    data["d"] = 0
    res = power.simulate_design(
        data,
        design="twfe",
        options=dict(outcome="y", unit="u", time="t", treatment="d"),
        effects=[0, 3],
        post_periods=2,
        placebo="units",
        n_treated=2,
        draws=2,
        step=3,
        before=12,
        show_progress=False,
    )
    assert res.placebo == "units" and res.n_placebos == 2 * len(range(1, 11, 3))
    assert res.table["rejection_rate"].iloc[1] >= res.table["rejection_rate"].iloc[0]
    series = data[data["u"] == 0][["t", "y"]]
    res = power.simulate_design(
        series,
        design="its",
        options=dict(outcome="y", time="t", start=12, cov="hac"),
        effects=[0, 5],
        post_periods=3,
        pre_periods=6,
        step=3,
        show_progress=False,
    )
    assert res.n_placebos == 2 and math.isclose(
        res.table["bias"].iloc[1], res.table["bias"].iloc[0]
    )


def test_limits_and_misuse_are_typed_errors():
    data = _panel(10, 30, 0)
    with pytest.raises(SpecError, match="max_fits=10"):
        power.simulate_design(
            data,
            design="did",
            options=DID,
            effects=[0, 1],
            post_periods=1,
            before=30,
            max_fits=10,
            show_progress=False,
        )
    with pytest.raises(DesignError, match="too few"):
        power.simulate_design(
            data,
            design="did",
            options=DID,
            effects=[1],
            post_periods=40,
            before=30,
            show_progress=False,
        )
    with pytest.raises(SpecError, match="n_treated"):
        power.simulate_design(
            data,
            design="did",
            options=DID,
            effects=[1],
            post_periods=1,
            before=30,
            placebo="units",
            n_treated=0,
        )
    with pytest.raises(SpecError, match="supports"):
        power.simulate_design(data, design="trial", options=DID, effects=[1], post_periods=1)
    with pytest.raises(SpecError, match="treated_units"):
        power.simulate_design(
            data,
            design="twfe",
            options=dict(outcome="y", unit="u", time="t", treatment="g"),
            effects=[1],
            post_periods=1,
            before=30,
        )


def test_synthetic_designs_rerun_and_say_when_nothing_is_detectable():
    rng = np.random.default_rng(1)
    n_units, n_periods = 8, 30
    u = np.repeat(np.arange(n_units), n_periods)
    t = np.tile(np.arange(n_periods), n_units)
    y = 10 + rng.normal(size=n_units)[u] + np.sin(t / 4) + rng.normal(0, 0.5, u.size)
    data = pd.DataFrame({"u": u, "t": t, "y": y})
    opts = dict(outcome="y", unit="u", time="t", treated_unit=0, start=24, seed=0)
    res = power.simulate_design(
        data,
        design="synthetic_control",
        options=opts,
        effects=[0, 2],
        post_periods=3,
        pre_periods=8,
        step=4,
        show_progress=False,
    )
    # 8 units: the placebo-in-space p-value is at least 1/8 > 0.05, whatever the effect
    assert (res.table["rejection_rate"] == 0).all()
    assert any("cannot detect any effect" in note for note in res.notes)
    assert res.table["bias"].abs().max() < 1.0  # the estimate still tracks the injected effect
    res = power.simulate_design(
        data,
        design="synthetic_did",
        options={**opts, "placebo_reps": 30},
        effects=[0, 3],
        post_periods=3,
        pre_periods=8,
        step=8,
        show_progress=False,
    )
    assert res.n_placebos == 2 and res.table["n_failed"].sum() == 0
