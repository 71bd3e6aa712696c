"""Tests of evaluate.estimators.synthetic.synth (synthetic control, ADH 2010)."""

from __future__ import annotations

import math
import warnings

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
from scipy.optimize import minimize  # noqa: E402

import evaluate.datasets as ds  # noqa: E402
from evaluate.errors import (  # noqa: E402
    DataError,
    DesignError,
    DroppedRowsWarning,
    PreTrendWarning,
    SpecError,
)
from evaluate.estimators.synthetic._synth_core import simplex_least_squares  # noqa: E402
from evaluate.estimators.synthetic._synth_placebo import PlaceboDistribution  # noqa: E402
from evaluate.estimators.synthetic.synth import synthetic_control  # noqa: E402

ADH = {
    "predictors": ["lnincome", "retprice", "age15to24"],
    "predictor_window": (1980, 1988),
    "special_predictors": [
        ("beer", (1984, 1988)),
        ("cigsale", 1975),
        ("cigsale", 1980),
        ("cigsale", 1988),
    ],
}
KEYS = {"outcome": "cigsale", "unit": "state_name", "time": "year"}
# ADH 2010 Table 2 (tests/reference/REFERENCES.md, Prop 99 section).
PUBLISHED = {
    "Utah": 0.334,
    "Nevada": 0.234,
    "Montana": 0.199,
    "Colorado": 0.164,
    "Connecticut": 0.069,
}


@pytest.fixture(scope="module")
def prop99() -> pd.DataFrame:
    return ds.prop99()


@pytest.fixture(scope="module")
def adh(prop99):
    return synthetic_control(prop99, **KEYS, treated_unit="California", start=1989, seed=1, **ADH)


# --- reference values ---------------------------------------------------------------
def test_prop99_weights_match_adh(adh):
    # Source: ADH 2010 Table 2; tolerance 0.02 per weight (the V problem is non-convex,
    # REFERENCES.md: pysyncon's best fit differs from the published weights by ~0.015).
    for state, w in PUBLISHED.items():
        assert adh.weights[state] == pytest.approx(w, abs=0.02), state
    others = adh.weights.drop(list(PUBLISHED))
    assert others.max() < 0.02


def test_prop99_v_loss_no_worse_than_references(adh, prop99):
    # Our V search must reach a pre-period MSPE (1970-88) no worse than pysyncon's best
    # 3.2866 (REFERENCES.md), up to 1e-3, and than the published weights' (3.0892,
    # computed here) up to 0.02: those weights are rounded to 3 decimals and need not be
    # a V optimum; our best known optimum is 3.0767, a local one 3.1023.
    y = prop99.pivot(index="year", columns="state_name", values="cigsale").loc[1970:1988]
    synth = sum(w * y[s] for s, w in PUBLISHED.items())
    published_loss = float(((y["California"] - synth) ** 2).mean())
    assert adh.v_loss <= published_loss + 0.02
    assert adh.v_loss <= 3.2866 + 1e-3
    # and the V search reports the loss of the weights it returns
    gap = adh.trajectory.set_index("period").loc[1970:1988, "gap"]
    assert adh.v_loss == pytest.approx(float((gap**2).mean()), rel=1e-9)


def test_prop99_gaps_match_published(adh):
    # ADH abstract: "about 26 packs" in 2000; REFERENCES.md: -25.63 (pysyncon) to
    # -25.73 (published weights); mean 1989-2000 -18.86 / -18.97.  Tolerance: that range.
    gap2000 = adh.periods.set_index("period").loc[2000, "estimate"]
    assert -25.8 <= gap2000 <= -25.55
    assert -19.05 <= adh.estimate <= -18.8
    assert adh.unit == "outcome units"


def test_prop99_placebo_p_value(adh):
    # ADH 2010 Fig. 8 / text: California has the largest post/pre RMSPE ratio of the 39
    # states, p = 1/39 ~= 0.026 (exact under the permutation test).
    assert adh.p_value == pytest.approx(1 / 39)
    assert len(adh.placebo_table) == 38
    assert adh.distribution.post_ratio() > adh.placebo_table["ratio"].max()
    low, high = adh.ci
    assert low < adh.estimate < high < 0


def test_prop99_outcome_only_matches_independent_solver_and_synthdid(prop99):
    res = synthetic_control(
        prop99,
        **KEYS,
        treated_unit="California",
        start=1989,
        placebo=False,
        leave_one_out=False,
        placebo_time=None,
    )
    assert res.method.startswith("Synthetic control")
    y = prop99.pivot(index="year", columns="state_name", values="cigsale")
    donors = [c for c in y.columns if c != "California"]
    a, b = y.loc[:1988, donors].to_numpy(), y.loc[:1988, "California"].to_numpy()
    n = len(donors)
    ref = minimize(
        lambda w: np.sum((a @ w - b) ** 2),
        np.full(n, 1 / n),
        method="SLSQP",
        jac=lambda w: 2 * a.T @ (a @ w - b),
        bounds=[(0, 1)] * n,
        constraints=[{"type": "eq", "fun": lambda w: w.sum() - 1}],
        options={"ftol": 1e-15, "maxiter": 2000},
    )
    ours = res.weights[donors].to_numpy()
    # exact simplex least squares: objective no worse than SLSQP's (to rounding)
    assert np.sum((a @ ours - b) ** 2) <= ref.fun + 1e-6
    post = y.loc[1989:, "California"] - y.loc[1989:, donors] @ ref.x
    assert res.estimate == pytest.approx(float(post.mean()), abs=2e-3)
    # R synthdid 0.0.9 SC estimate -19.61966 (REFERENCES.md).  synthdid solves the same
    # problem by Frank-Wolfe and then sparsifies the weights (drops weights below max/4
    # and refits), so its weights differ slightly from the exact optimum: tolerance 0.15.
    assert res.estimate == pytest.approx(-19.61966, abs=0.15)


# --- numerics -------------------------------------------------------------------------
def test_simplex_least_squares_is_exact():
    rng = np.random.default_rng(3)
    for _ in range(60):
        k, j = rng.integers(2, 10), rng.integers(2, 40)
        a = rng.normal(size=(k, j))
        b = rng.normal(size=k) * 3 if rng.random() < 0.5 else a @ rng.dirichlet(np.ones(j))
        w = simplex_least_squares(a.T @ a, a.T @ b)
        assert w.min() >= 0 and w.sum() == pytest.approx(1.0, abs=1e-12)
        # KKT: gradient equal on the support and no smaller off it
        grad = a.T @ (a @ w - b)
        scale = 1e-8 * max(1.0, np.abs(grad).max(), np.abs(a.T @ a).max())
        level = grad[w > 0].mean()
        assert np.ptp(grad[w > 0]) <= scale
        assert grad.min() >= level - scale
        # warm start from any simplex point gives the same objective
        w2 = simplex_least_squares(a.T @ a, a.T @ b, rng.dirichlet(np.ones(j)))
        assert np.sum((a @ w2 - b) ** 2) == pytest.approx(np.sum((a @ w - b) ** 2), abs=1e-9)


def _factor_panel(seed: int, effect: float, n_donors: int = 20, periods: int = 30, t0: int = 20):
    """Donors from a two-factor model; the treated unit is an exact convex combination
    of donors, plus ``effect`` from period ``t0`` on."""
    rng = np.random.default_rng(seed)
    f = np.cumsum(rng.normal(size=(periods, 2)), axis=0)
    load = rng.normal(size=(n_donors, 2))
    y = 50 + f @ load.T + rng.normal(scale=0.5, size=(periods, n_donors))
    w = np.zeros(n_donors)
    w[:4] = rng.dirichlet(np.ones(4))
    treated = y @ w + np.where(np.arange(periods) >= t0, effect, 0.0)
    cov = rng.normal(size=n_donors)
    rows = []
    for i in range(n_donors + 1):
        series = treated if i == 0 else y[:, i - 1]
        x = cov @ w if i == 0 else cov[i - 1]
        for t in range(periods):
            rows.append({"unit": f"u{i}", "t": 2000 + t, "y": series[t], "x": x})
    return pd.DataFrame(rows), w


@pytest.mark.parametrize("method", ["outcome-only", "nested"])
def test_known_truth_recovered(method):
    # With predictors, w is pinned down only if they are at least as many as the donors
    # (otherwise many weight vectors match them exactly): 8 donors, 8 predictors.
    n_donors = 20 if method == "outcome-only" else 8
    data, w = _factor_panel(seed=11, effect=-5.0, n_donors=n_donors)
    extra = (
        {}
        if method == "outcome-only"
        else {
            "predictors": ["x"],
            "special_predictors": [("y", 2001 + 3 * i) for i in range(7)],
        }
    )
    res = synthetic_control(
        data,
        outcome="y",
        unit="unit",
        time="t",
        treated_unit="u0",
        start=2020,
        placebo=False,
        leave_one_out=False,
        placebo_time=None,
        seed=0,
        v_method=method,
        **extra,
    )
    # exact convex combination: the pre-fit is perfect and the effect comes back exactly
    assert res.estimate == pytest.approx(-5.0, abs=1e-3)
    assert res.weights.to_numpy() == pytest.approx(w, abs=1e-3)
    assert res.v_loss < 1e-6


def test_known_truth_placebo_inference_and_null():
    with_effect, _ = _factor_panel(seed=5, effect=-8.0)
    res = synthetic_control(
        with_effect,
        outcome="y",
        unit="unit",
        time="t",
        treated_unit="u0",
        start=2020,
        leave_one_out=False,
        placebo_time=None,
    )
    assert res.p_value == pytest.approx(1 / 21)
    low, high = res.ci
    assert low <= -8.0 <= high
    # the true effect is not rejected
    assert res.distribution.p_value(-8.0) > 0.05


def test_placebo_distribution_inverts_its_test():
    rng = np.random.default_rng(0)
    dist = PlaceboDistribution(
        estimate=-3.0,
        post_gaps=-3.0 + rng.normal(size=8),
        pre_rmspe=1.0,
        placebo_ratios=rng.gamma(2.0, 1.0, size=39),
        placebo_effects=rng.normal(size=39),
    )
    low, high = dist.interval(0.1)
    assert dist.p_value(low + 1e-6) > 0.1 >= dist.p_value(low - 1e-3)
    assert dist.p_value(high - 1e-6) > 0.1 >= dist.p_value(high + 1e-3)
    scaled = dist.scaled(-2.0)
    assert scaled.estimate == 6.0
    assert scaled.interval(0.1) == pytest.approx((-2 * high, -2 * low))
    assert scaled.p_value(0.0) == pytest.approx(dist.p_value(0.0))
    assert dist.draws(500, np.random.default_rng(1)).mean() == pytest.approx(-3.0, abs=0.3)
    # too few placebos for the level (p >= 1/3 always): nothing is rejected
    few = PlaceboDistribution(-3.0, np.array([-3.0]), 1.0, np.array([1.0, 2.0]), np.zeros(2))
    assert few.interval(0.05) == (-math.inf, math.inf)


# --- warnings and options --------------------------------------------------------------
def test_outside_hull_and_poor_fit_warn():
    data, _ = _factor_panel(seed=2, effect=0.0)
    data.loc[data["unit"] == "u0", "y"] += 1000.0  # above every donor
    with pytest.warns(PreTrendWarning) as record:
        res = synthetic_control(
            data,
            outcome="y",
            unit="unit",
            time="t",
            treated_unit="u0",
            start=2020,
            placebo=False,
            leave_one_out=False,
            placebo_time=None,
        )
    messages = " ".join(str(r.message) for r in record)
    assert "outside the donors' range" in messages and "Poor pre-period fit" in messages
    assert res.diagnostics["donor pool brackets treated"].passed is False
    assert np.isnan(res.std_error)  # no placebos: a point estimate only


def test_exclusion_of_poorly_fitted_placebos(adh, prop99):
    res = synthetic_control(
        prop99,
        **KEYS,
        treated_unit="California",
        start=1989,
        seed=1,
        exclude_placebos_above=2.0,
        **ADH,
        leave_one_out=False,
        placebo_time=None,
    )
    kept = res.placebo_table["included"]
    assert 0 < kept.sum() < 38
    ratio = res.placebo_table["pre_rmspe"] / res.distribution.pre_rmspe
    assert (ratio[kept] <= 2.0).all() and (ratio[~kept] > 2.0).all()
    assert res.p_value == pytest.approx(1 / (kept.sum() + 1))


def test_diagnostics_present(adh):
    for name in (
        "pre-period fit",
        "donor pool brackets treated",
        "leave-one-out range",
        "placebo in time",
    ):
        assert name in adh.diagnostics
    assert adh.diagnostics["pre-period fit"].passed
    assert set(adh.leave_one_out["left_out"]) == set(adh.weights[adh.weights > 1e-6].index)


# --- bad input -------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"treated_unit": "Atlantis"}, DataError, "Atlantis"),
        ({"donors": ["California", "Utah"]}, SpecError, "contains the treated unit"),
        ({"start": 1971}, DesignError, "pre-period"),
        ({"start": 2001}, DesignError, "post-period"),
        ({"v_method": "bogus"}, SpecError, "v_method"),
        ({"v_method": "outcome-only", "predictors": ["beer"]}, SpecError, "outcome-only"),
        ({"special_predictors": [("beer",)]}, SpecError, "special predictor"),
        ({"special_predictors": [("cigsale", 1990)]}, SpecError, "pre-period"),
        ({"predictors": ["nope"]}, DataError, "nope"),
        ({"n_starts": 0}, SpecError, "n_starts"),
        ({"donors": ["Utah"]}, DesignError, "donor"),
    ],
)
def test_bad_input(prop99, kwargs, error, match):
    args = {
        **KEYS,
        "treated_unit": "California",
        "start": 1989,
        "placebo": False,
        "leave_one_out": False,
        "placebo_time": None,
    } | kwargs
    with pytest.raises(error, match=match):
        synthetic_control(prop99, **args)


def test_missing_years(prop99):
    data = prop99.copy()
    data = data.loc[~((data["state_name"] == "Utah") & (data["year"] == 1975))]
    with pytest.warns(DroppedRowsWarning, match="Utah"):
        res = synthetic_control(
            data,
            **KEYS,
            treated_unit="California",
            start=1989,
            placebo=False,
            leave_one_out=False,
            placebo_time=None,
        )
    assert "Utah" not in res.weights.index
    assert res.provenance.n_dropped == 30
    gone = prop99.loc[~((prop99["state_name"] == "California") & (prop99["year"] == 1980))]
    with pytest.raises(DataError, match="treated unit"):
        synthetic_control(gone, **KEYS, treated_unit="California", start=1989)


def test_constant_predictor_and_caller_frame_untouched(prop99):
    data = prop99.assign(flat=1.0)
    before = data.copy()
    with pytest.raises(DataError, match="same value"):
        synthetic_control(
            data, **KEYS, treated_unit="California", start=1989, predictors=["flat"], placebo=False
        )
    pd.testing.assert_frame_equal(data, before)


# --- contract --------------------------------------------------------------------------
def test_result_contract(adh):
    for fmt in ("text", "markdown", "html"):
        text = adh.summary(fmt)
        assert "Donor weights" in text and "Utah" in text and "placebo" in text.lower()
    assert "<table" in adh._repr_html_()
    frame = adh.to_frame()
    assert list(frame.columns) == [
        "term",
        "estimate",
        "std_error",
        "ci_low",
        "ci_high",
        "p_value",
        "unit",
    ]
    assert frame.loc[0, "estimate"] == pytest.approx(adh.estimate)
    assert {"period", "estimate", "std_error", "ci_low", "ci_high"} <= set(adh.periods.columns)
    assert adh.periods["period"].tolist() == list(range(1989, 2001))
    for method in (adh.plot, adh.plot_gaps, adh.plot_weights):
        ax = method()
        assert ax.has_data()
        plt.close(ax.figure)
    _, ax = plt.subplots()
    assert adh.plot(ax=ax) is ax
    plt.close("all")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert adh.with_alpha(0.1).ci[0] >= adh.ci[0]


def test_labels_reach_the_result(prop99):
    quick = {**KEYS, **ADH, "treated_unit": "California", "start": 1989, "placebo": False,
             "leave_one_out": False, "placebo_time": None}  # fmt: skip
    fit = synthetic_control(
        prop99, **quick, name="cigarette sales", population="California", source="ADH (2010)"
    )
    assert fit.name == "cigarette sales" and fit.population == "California"
    assert fit.provenance.source == "ADH (2010)" and not fit.provenance.simulated
    default = synthetic_control(prop99, **quick)
    assert default.name == "cigsale" and "donor pool of 38" in default.population


def test_empty_confidence_set_is_explained_in_words():
    from evaluate.estimators.synthetic._synth_placebo import PlaceboDistribution

    # Post-period gaps that swing +-10 around a zero mean with a pre-RMSPE of 1: no
    # constant effect brings the ratio below the placebos' (all 1-2), so the set is empty.
    gaps = np.array([-10.0, 10.0, -10.0, 10.0])
    dist = PlaceboDistribution(0.0, gaps, 1.0, np.linspace(1, 2, 19), np.zeros(19))
    assert all(np.isnan(dist.interval(0.05)))
    note = dist.empty_set_note(0.05)
    assert "confidence set is empty" in note and "p = 0.05" in note
    calm = PlaceboDistribution(0.5, np.array([0.4, 0.6]), 1.0, np.linspace(1, 2, 19), np.zeros(19))
    assert calm.empty_set_note(0.05) == ""
