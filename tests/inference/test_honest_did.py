"""Rambachan-Roth sensitivity (relative magnitudes by Bonferroni projection,
smoothness by FLCI).

No published HonestDiD numbers for a dataset available offline were at hand, so the
checks are exact identities and hand computations: at Mbar = 0 the RM set is the
usual CI (equality to 1e-12); at M = 0 the FLCI is the minimum-variance
linear-trend-adjusted CI (closed form by hand); for 2 pre-periods and 1 post-period
the FLCI equals a brute-force minimisation of the half-length written out by hand,
with the folded-normal critical value from scipy's ``foldnorm`` (tolerance 1e-7,
the optimiser's); sets widen monotonically; a simulation under a violation inside
Delta^RM checks coverage.
"""

from __future__ import annotations

import math

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from scipy import optimize, stats  # noqa: E402

from evaluate.datasets import mpdta  # noqa: E402
from evaluate.errors import SpecError  # noqa: E402
from evaluate.estimators.did.event_study import event_study  # noqa: E402
from evaluate.inference.honest_did import HonestDiDResult, cv_alpha, honest_did  # noqa: E402

Z = stats.norm.ppf(0.975)
BETA = np.array([0.02, -0.01, -0.15])  # event times -3, -2 | 0 (reference -1)
SIGMA = np.array([[4.0e-4, 1.0e-4, 0.5e-4], [1.0e-4, 3.0e-4, 0.8e-4], [0.5e-4, 0.8e-4, 5.0e-4]])


def _hd(**kw) -> HonestDiDResult:
    return honest_did(beta=BETA, sigma=SIGMA, num_pre=2, num_post=1, **kw)


@pytest.fixture(scope="module")
def es():
    return event_study(
        mpdta(),
        outcome="lemp",
        unit="countyreal",
        time="year",
        cohort="first.treat",
        leads=3,
        lags=3,
    )


def test_cv_alpha_is_folded_normal_quantile():
    for r in (0.0, 0.3, 1.0, 4.0):
        assert cv_alpha(r, 0.05) == pytest.approx(stats.foldnorm.ppf(0.95, r), abs=1e-10)


def test_rm_at_zero_is_usual_ci():
    res = _hd(restriction="relative_magnitudes", grid=[0.0, 0.5, 1.0])
    row = res.table.iloc[0]
    se = math.sqrt(SIGMA[2, 2])
    assert row["ci_low"] == pytest.approx(BETA[2] - Z * se, abs=1e-12)
    assert row["ci_high"] == pytest.approx(BETA[2] + Z * se, abs=1e-12)
    assert res.original_ci == pytest.approx((row["ci_low"], row["ci_high"]), abs=1e-15)


def test_rm_hand_computation_two_pre_one_post():
    res = _hd(restriction="relative_magnitudes", grid=[0.5, 1.0])
    c = stats.norm.ppf(1 - 0.05 / 6)  # Bonferroni over theta and 2 pre differences
    d1, d2 = BETA[1] - BETA[0], 0.0 - BETA[1]
    sd1 = math.sqrt(SIGMA[0, 0] + SIGMA[1, 1] - 2 * SIGMA[0, 1])
    sd2 = math.sqrt(SIGMA[1, 1])
    m_u = max(abs(d1) + c * sd1, abs(d2) + c * sd2)
    for mbar, row in zip((0.5, 1.0), res.table.itertuples(), strict=True):
        half = c * math.sqrt(SIGMA[2, 2]) + mbar * m_u  # c_l = 1 for one post period
        assert row.ci_low == pytest.approx(BETA[2] - half, abs=1e-12)
        assert row.ci_high == pytest.approx(BETA[2] + half, abs=1e-12)
    # breakdown: the upper end reaches 0 exactly there
    b = res.breakdown
    assert BETA[2] + c * math.sqrt(SIGMA[2, 2]) + b * m_u == pytest.approx(0.0, abs=1e-12)


def test_rm_monotone_and_nested():
    res = _hd(restriction="relative_magnitudes", grid=np.linspace(0, 3, 13))
    assert res.table["ci_low"].is_monotonic_decreasing
    assert res.table["ci_high"].is_monotonic_increasing
    first_zero = res.table.loc[res.table["includes_zero"], "m"].iloc[0]
    assert first_zero >= res.breakdown


def _flci_by_hand(m: float) -> tuple[float, float]:
    """2 pre, 1 post: v = (a, 1 - 2a, 1) removes a linear trend; bias M (|a| + 1)."""

    def parts(a):
        w = np.array([a, 1 - 2 * a, 1.0])
        return w, math.sqrt(w @ SIGMA @ w)

    def half(a):
        w, sd = parts(a)
        return sd * stats.foldnorm.ppf(0.95, m * (abs(a) + 1) / sd)

    grid = np.linspace(-2, 2, 401)
    a0 = grid[np.argmin([half(a) for a in grid])]
    a = optimize.minimize_scalar(
        half, bounds=(a0 - 0.01, a0 + 0.01), method="bounded", options={"xatol": 1e-12}
    ).x
    w, _ = parts(a)
    return float(w @ BETA), float(half(a))


def test_flci_at_zero_is_trend_adjusted_ci():
    res = _hd(restriction="smoothness", grid=[0.0])
    w0, u = np.array([0.0, 1.0, 1.0]), np.array([1.0, -2.0, 0.0])
    a = -(u @ SIGMA @ w0) / (u @ SIGMA @ u)  # minimum variance within the trend-free class
    w = w0 + a * u
    centre, half = w @ BETA, Z * math.sqrt(w @ SIGMA @ w)
    assert res.table["ci_low"].iloc[0] == pytest.approx(centre - half, abs=1e-12)
    assert res.table["ci_high"].iloc[0] == pytest.approx(centre + half, abs=1e-12)


@pytest.mark.parametrize("m", [0.005, 0.02, 0.1])
def test_flci_hand_computation_two_pre_one_post(m):
    res = _hd(restriction="smoothness", grid=[m])
    centre, half = _flci_by_hand(m)
    row = res.table.iloc[0]
    assert (row["ci_high"] - row["ci_low"]) / 2 == pytest.approx(half, rel=1e-7)
    assert (row["ci_high"] + row["ci_low"]) / 2 == pytest.approx(centre, abs=1e-6)


def test_flci_with_one_pre_period_is_closed_form():
    beta, sigma = np.array([0.03, -0.1]), np.array([[1e-3, 2e-4], [2e-4, 2e-3]])
    res = honest_did(
        beta=beta, sigma=sigma, num_pre=1, num_post=1, restriction="smoothness", grid=[0.0, 0.05]
    )
    w = np.array([1.0, 1.0])  # beta_0 + beta_{-2}: removes the trend through the reference
    sd = math.sqrt(w @ sigma @ w)
    assert res.table["ci_low"].iloc[0] == pytest.approx(w @ beta - Z * sd, abs=1e-12)
    # one second difference, s_0 = delta_1 + delta_{-1}, and the bias of w is exactly s_0
    half = sd * stats.foldnorm.ppf(0.95, 0.05 / sd)
    assert res.table["ci_low"].iloc[1] == pytest.approx(w @ beta - half, abs=1e-12)


def test_smoothness_length_monotone(es):
    res = honest_did(es, restriction="smoothness", target="average", grid=np.linspace(0, 0.05, 11))
    length = (res.table["ci_high"] - res.table["ci_low"]).to_numpy()
    assert np.all(np.diff(length) >= -1e-10)


def test_event_study_input_equals_arrays(es):
    pre = [-3, -2]
    order = pre + [0, 1, 2, 3]
    beta = es.periods.set_index("period").loc[order, "estimate"].to_numpy()
    sigma = es.vcov.loc[order, order].to_numpy()
    a = honest_did(es, target=1, grid=[0.0, 1.0])
    b = honest_did(beta=beta, sigma=sigma, num_pre=2, num_post=4, target=1, grid=[0.0, 1.0])
    np.testing.assert_allclose(a.table[["ci_low", "ci_high"]], b.table[["ci_low", "ci_high"]])
    assert a.estimate == pytest.approx(es.periods.set_index("period").loc[1, "estimate"])
    assert any("bins" in n for n in a.notes)
    avg = honest_did(es, grid=[0.0])
    assert avg.estimate == pytest.approx(es.estimate, abs=1e-12)  # average of post effects
    assert avg.original_ci[0] == pytest.approx(avg.estimate - Z * es.std_error, abs=1e-12)


def test_callaway_santanna_dynamic_input():
    """The dynamic aggregation with a universal base carries the event-time covariance
    (from the influence functions) that honest_did needs; the same numbers as arrays."""
    from evaluate.estimators.did.staggered import callaway_santanna

    keys = {"outcome": "lemp", "unit": "countyreal", "time": "year", "group": "first.treat"}
    cs = callaway_santanna(mpdta(), **keys, base_period="universal")
    dyn = cs.aggregate("dynamic")
    assert dyn.reference == -1
    order = [-4.0, -3.0, -2.0, 0.0, 1.0, 2.0, 3.0]
    se = dyn.periods.set_index("period")["std_error"]
    np.testing.assert_allclose(np.sqrt(np.diag(dyn.vcov.loc[order, order])), se.loc[order])
    assert dyn.vcov.loc[-1.0, -1.0] == 0.0  # the reference period is fixed at 0 (SE NaN)
    beta = dyn.periods.set_index("period").loc[order, "estimate"].to_numpy()
    sigma = dyn.vcov.loc[order, order].to_numpy()
    a = honest_did(dyn, target=0, grid=[0.0, 0.5, 1.0])
    b = honest_did(beta=beta, sigma=sigma, num_pre=3, num_post=4, target=0, grid=[0.0, 0.5, 1.0])
    np.testing.assert_allclose(a.table[["ci_low", "ci_high"]], b.table[["ci_low", "ci_high"]])
    # At Mbar = 0 the set is the usual interval of the e = 0 effect.
    e0 = dyn.periods.set_index("period").loc[0.0]
    assert a.table["ci_low"].iloc[0] == pytest.approx(e0.estimate - Z * e0.std_error, abs=1e-10)
    with pytest.raises(SpecError, match="universal"):
        honest_did(callaway_santanna(mpdta(), **keys).aggregate("dynamic"))
    with pytest.raises(SpecError, match="dynamic"):
        honest_did(cs.aggregate("group"))


def test_rm_coverage_under_a_violation():
    # Pre-trend with first differences 0.02; post violation at the Mbar = 1 bound.
    rng = np.random.default_rng(5)
    tau, delta = -0.05, np.array([-0.04, -0.02, 0.02])
    truth_beta = delta + np.array([0.0, 0.0, tau])
    chol = np.linalg.cholesky(SIGMA)
    hits = 0
    for _ in range(400):
        draw = truth_beta + chol @ rng.normal(size=3)
        res = honest_did(beta=draw, sigma=SIGMA, num_pre=2, num_post=1, grid=[1.0])
        hits += res.table["ci_low"].iloc[0] <= tau <= res.table["ci_high"].iloc[0]
    assert hits / 400 >= 0.95  # conservative by construction (MC SE ~1 pp)


@pytest.mark.parametrize(
    "kw",
    [
        {"beta": BETA[:2], "sigma": SIGMA, "num_pre": 2, "num_post": 1},
        {"beta": BETA, "sigma": SIGMA, "num_pre": 0, "num_post": 3},
        {"beta": BETA, "sigma": SIGMA, "num_pre": 2, "num_post": 1, "target": 5},
        {"beta": BETA, "sigma": SIGMA, "num_pre": 2, "num_post": 1, "alpha": 0},
        {"beta": BETA, "sigma": SIGMA, "num_pre": 2, "num_post": 1, "restriction": "x"},
        {"beta": BETA, "sigma": SIGMA, "num_pre": 2, "num_post": 1, "grid": [-1.0]},
        {"beta": BETA, "sigma": -SIGMA, "num_pre": 2, "num_post": 1},
        {"beta": BETA},
    ],
)
def test_bad_input(kw):
    with pytest.raises(SpecError):
        honest_did(**kw)


def test_bad_result_input(es):
    with pytest.raises(SpecError, match="either"):
        honest_did(es, beta=BETA)
    with pytest.raises(SpecError, match="covariance"):
        honest_did(object())


def test_result_contract(es):
    res = honest_did(es, target=0)
    for fmt in ("text", "markdown", "html"):
        assert "Breakdown" in res.summary(fmt)
    assert "<table" in res._repr_html_()
    assert list(res.to_frame().columns) == ["m", "ci_low", "ci_high", "includes_zero"]
    assert res.plot().get_xlabel() == "Mbar"
    assert honest_did(es, restriction="smoothness").plot().get_xlabel() == "M"
    plt.close("all")
