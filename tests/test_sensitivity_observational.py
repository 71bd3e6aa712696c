"""Sensitivity of observational estimates to unmeasured confounding (issue 14, item 9).

Reference numbers and their sources:

* E-value: VanderWeele, T. J. & Ding, P. (2017), "Sensitivity analysis in
  observational research: introducing the E-value", Ann. Intern. Med. 167(4),
  268-274, worked examples, which R EValue's vignette "unmeasured-confounding" reruns
  (evalues.RR(10.73, 8.02, 14.36); evalues.OR(3.9, 1.8, 8.7, rare = TRUE);
  evalues.RR(0.80, 0.71, 0.91)): smoking and lung cancer (Hammond & Horn 1958) RR
  10.73 (8.02 to 14.36): E-value 20.95, CI 15.52; breastfeeding and infant death, odds
  ratio of a rare outcome 3.9 (1.8 to 8.7), read as a risk ratio: 7.26, CI 3.0;
  leukemia (protective) RR 0.80 (0.71 to 0.91): 1.81, CI 1.43.  Printed to 2
  decimals: tolerance 0.005.  (E-values as recalled from the paper; the vignette's
  printed output was not available offline.)
* Robustness value: R sensemakr, tests/testthat/test-02-darfur.R (GitHub
  carloscinelli/sensemakr@0cf7529d), Darfur example of Cinelli & Hazlett (2020,
  JRSS-B 82(1), sec. 5): estimate 0.09731582, se 0.02325654, dof 783 give partial R²
  0.02187309, RV_q=1 0.1387764, RV_{q=1,alpha=0.05} 0.07625797 (tolerance 1e-5 as
  there), and for the "1x female" bound (r2dz.x 0.00916428667504862, r2yz.dx
  0.12464092303637) adjusted estimate 0.0752202698486415, SE 0.0218733298036818.
* Rosenbaum bounds: the lead example of Rosenbaum (2002, Observational Studies, ch. 4;
  Morton et al. 1982), 33 pairs as in R rbounds::psens's example.  No printed
  Gamma table was found offline, so the checks are (a) Gamma = 1 equals the usual
  signed-rank normal-approximation p-value (scipy), and (b) the normal bound agrees
  with the exact mid-p bound (distribution of sum rank_i B_i, B_i ~ Bernoulli(Gamma/(1+Gamma)),
  by convolution, as DOS2::senWilcoxExact) on tie-free pairs within 0.01.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from evaluate.effect import Diagnostic, NotApplicable
from evaluate.errors import DataError, SpecError
from evaluate.estimators.observational.design import (
    observational,
    placebo_outcome,
    placebo_treatment,
)
from evaluate.sensitivity_observational import (
    adjusted_estimate,
    e_value,
    e_value_difference,
    partial_r2,
    robustness_value,
    rosenbaum_bounds,
    rosenbaum_gamma,
)

LEAD_EXPOSED = [
    38,
    23,
    41,
    18,
    37,
    36,
    23,
    62,
    31,
    34,
    24,
    14,
    21,
    17,
    16,
    20,
    15,
    10,
    45,
    39,
    22,
    35,
    49,
    48,
    44,
    35,
    43,
    39,
    34,
    13,
    73,
    25,
    27,
]
LEAD_CONTROL = [
    16,
    18,
    18,
    24,
    19,
    11,
    10,
    15,
    16,
    18,
    18,
    13,
    19,
    10,
    16,
    16,
    24,
    13,
    9,
    14,
    21,
    19,
    7,
    18,
    19,
    12,
    11,
    22,
    25,
    16,
    13,
    11,
    13,
]


@pytest.mark.parametrize(
    ("rr", "ci", "point", "limit"),
    [
        (3.9, (1.8, 8.7), 7.26, 3.0),
        (10.73, (8.02, 14.36), 20.95, 15.52),
        (0.80, (0.71, 0.91), 1.81, 1.43),
    ],
)
def test_e_value_matches_vanderweele_ding(rr, ci, point, limit):
    ev = e_value(rr, ci)
    assert ev.point == pytest.approx(point, abs=0.005)
    assert ev.limit == pytest.approx(limit, abs=0.005)
    # a protective effect is the same evidence upside down
    inv = e_value(1 / rr, (1 / ci[1], 1 / ci[0]))
    assert inv.point == pytest.approx(ev.point) and inv.limit == pytest.approx(ev.limit)


def test_e_value_interval_through_null_and_difference_scale():
    assert e_value(1.5, (0.9, 2.5)).limit == 1.0
    ev = e_value_difference(0.5, sd=2.0, se=0.2)  # d = 0.25, se_d = 0.1
    assert ev.rr == pytest.approx(math.exp(0.91 * 0.25))
    assert ev.rr_limit == pytest.approx(math.exp(0.91 * 0.25 - 1.78 * 0.1))
    assert "0.91" in ev.approximation
    with pytest.raises(SpecError, match="positive"):
        e_value(-1.0)


def test_robustness_value_matches_sensemakr_darfur():
    t, dof = 0.09731582 / 0.02325654, 783
    assert partial_r2(t, dof) == pytest.approx(0.02187309, abs=1e-5)
    assert robustness_value(t, dof) == pytest.approx(0.1387764, abs=1e-5)
    assert robustness_value(t, dof, alpha=0.05) == pytest.approx(0.07625797, abs=1e-5)
    est, se = adjusted_estimate(
        0.09731582, 0.02325654, dof, r2dz_x=0.00916428667504862, r2yz_dx=0.12464092303637
    )
    assert est == pytest.approx(0.0752202698486415, abs=1e-9)
    assert se == pytest.approx(0.0218733298036818, abs=1e-9)


def test_robustness_value_definitions_hold():
    # A confounder at RV with both explains the estimate away; at RV_alpha it leaves t at the
    # critical value (the identities sensemakr's own tests check).
    est, se, dof = 0.3, 0.1, 50
    rv = robustness_value(est / se, dof)
    assert adjusted_estimate(est, se, dof, r2dz_x=rv, r2yz_dx=rv)[0] == pytest.approx(0, abs=1e-12)
    rva = robustness_value(est / se, dof, alpha=0.05)
    a_est, a_se = adjusted_estimate(est, se, dof, r2dz_x=rva, r2yz_dx=rva)
    assert a_est / a_se == pytest.approx(stats.t.ppf(0.975, dof - 1), rel=1e-9)
    assert robustness_value(1.0, dof, alpha=0.05) == 0.0  # already insignificant


def test_rosenbaum_gamma_one_is_the_signed_rank_test():
    d = np.subtract(LEAD_EXPOSED, LEAD_CONTROL)
    table = rosenbaum_bounds(d, [1, 2, 3, 4, 5])
    reference = stats.wilcoxon(d, alternative="greater", method="approx", correction=False)
    assert table["p_upper"].iloc[0] == pytest.approx(reference.pvalue, rel=1e-9)
    assert table["p_lower"].iloc[0] == pytest.approx(reference.pvalue, rel=1e-9)
    assert table["p_upper"].is_monotonic_increasing
    gamma = rosenbaum_gamma(d)
    assert float(rosenbaum_bounds(d, [gamma])["p_upper"].iloc[0]) == pytest.approx(0.05, abs=1e-6)


def _exact_upper(d: np.ndarray, gamma: float) -> float:
    ranks = stats.rankdata(np.abs(d)).astype(int)
    p = gamma / (1 + gamma)
    dist = np.zeros(ranks.sum() + 1)
    dist[0] = 1.0
    for r in ranks:  # convolution with rank x Bernoulli(p)
        dist = (1 - p) * dist + p * np.concatenate([np.zeros(r), dist[:-r]])
    t_obs = ranks[d > 0].sum()
    # mid-p: rbounds' normal approximation has no continuity correction
    return float(dist[t_obs + 1 :].sum() + 0.5 * dist[t_obs])


def test_rosenbaum_normal_bound_agrees_with_exact_bound():
    rng = np.random.default_rng(5)
    d = rng.normal(0.6, 1.0, 40)  # continuous: no ties
    table = rosenbaum_bounds(d, [1.0, 1.5, 2.0, 3.0])
    for gamma, upper in zip(table["gamma"], table["p_upper"], strict=True):
        assert upper == pytest.approx(_exact_upper(d, gamma), abs=0.01)
    with pytest.raises(DataError, match="too few"):
        rosenbaum_bounds([0.0, 0.0, 1.0])
    with pytest.raises(SpecError, match="Gamma"):
        rosenbaum_bounds(d, [0.5])


def _confounded(n: int, seed: int, hidden: float) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n)
    u = rng.normal(size=n)  # unmeasured
    d = (rng.uniform(size=n) < 1 / (1 + np.exp(-(x + hidden * u)))).astype(int)
    before = x + hidden * u + rng.normal(size=n)  # measured before treatment: no effect
    after = 2.0 * d + x + hidden * u + rng.normal(size=n)
    pseudo = (rng.uniform(size=n) < 0.5).astype(int)
    return pd.DataFrame({"y": after, "y_before": before, "d": d, "x": x, "g": pseudo})


def test_placebo_checks_pass_without_and_fail_with_hidden_confounding():
    options = dict(treatment="d", covariates=["x"], method="regression")
    clean = _confounded(3000, 1, hidden=0.0)
    check = placebo_outcome(clean, placebo="y_before", outcome="y", **options)
    assert isinstance(check, Diagnostic) and check.passed
    biased = _confounded(3000, 1, hidden=1.5)
    assert not placebo_outcome(biased, placebo="y_before", outcome="y", **options).passed
    pseudo = placebo_treatment(
        clean,
        pseudo_treatment="g",
        treatment="d",
        outcome="y",
        covariates=["x"],
        method="regression",
    )
    assert pseudo.passed
    res = observational(
        biased, outcome="y", placebo_outcomes=["y_before"], pseudo_treatment="g", **options
    )
    assert not res.diagnostics["placebo outcome y_before"].passed
    assert res.diagnostics["pseudo-treatment g among the untreated"].passed
    with pytest.raises(SpecError, match="must differ"):
        placebo_outcome(clean, placebo="x", outcome="y", **options)


def test_diagnostics_on_the_observational_result():
    data = _confounded(800, 2, hidden=0.0)
    res = observational(data, outcome="y", treatment="d", covariates=["x"], method="regression")
    diag = res.diagnostics
    assert diag["E-value (estimate)"].value > diag["E-value (CI limit nearer null)"].value > 1
    assert (
        0
        < diag["robustness value RV (q = 1, alpha = 0.05)"].value
        < diag["robustness value RV (q = 1)"].value
    )
    assert "Rosenbaum bounds" not in diag  # only for matched designs
    matched = observational(data, outcome="y", treatment="d", covariates=["x"], method="matching")
    assert isinstance(matched.diagnostics["Rosenbaum bounds"], NotApplicable)  # controls reused
    assert "E-value" in res.summary()


def test_rosenbaum_diagnostic_on_one_to_one_matches():
    # every treated has its own nearest control, so the matched pairs are disjoint
    x_t = np.arange(20.0)
    x_c = np.concatenate([x_t + 0.1, x_t + 0.45])
    rng = np.random.default_rng(3)
    y_t = 1.0 + x_t + rng.normal(0, 0.5, 20)
    y_c = x_c + rng.normal(0, 0.5, 40)
    data = pd.DataFrame(
        {"y": np.r_[y_t, y_c], "d": np.r_[np.ones(20), np.zeros(40)], "x": np.r_[x_t, x_c]}
    )
    res = observational(
        data, outcome="y", treatment="d", covariates=["x"], method="matching", match_on="covariates"
    )
    gamma = res.diagnostics["Rosenbaum sensitivity Gamma"]
    y_matched = y_c[:20]  # the x + 0.1 controls
    assert gamma.value == pytest.approx(rosenbaum_gamma(y_t - y_matched), rel=1e-6)
    assert gamma.value > 1


def test_binary_outcome_e_value_uses_the_risk_ratio():
    # unadjusted: treated share 0.6, control share 0.3 -> RR 2, E-value 2 + sqrt(2) = 3.414
    data = pd.DataFrame({"d": [1] * 10 + [0] * 10, "y": [1] * 6 + [0] * 4 + [1] * 3 + [0] * 7})
    res = observational(data, outcome="y", treatment="d", method="difference")
    ev = res.diagnostics["E-value (estimate)"]
    assert ev.value == pytest.approx(2 + math.sqrt(2))
    assert "risk ratio 2" in ev.note
    low, high = res.ci
    assert low < 0  # the interval includes no effect ...
    assert res.diagnostics["E-value (CI limit nearer null)"].value == 1.0  # ... so E = 1


def test_degenerate_outcomes_give_not_applicable_not_a_crash():
    # outcome = treatment exactly: no within-group variation, a perfect OLS fit
    data = pd.DataFrame(
        {"d": [1, 1, 1, 0, 0, 0], "y": [1.0, 1, 1, 0, 0, 0], "x": [1, 2, 3, 1, 2, 4]}
    )
    diag = observational(data, outcome="y", treatment="d", method="difference").diagnostics
    assert isinstance(diag["robustness value"], NotApplicable)
    assert isinstance(diag["E-value"], NotApplicable)
