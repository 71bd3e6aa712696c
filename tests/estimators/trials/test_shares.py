"""Tests of evaluate.estimators.trials.shares against scipy/statsmodels and textbook values."""

from __future__ import annotations

import math

import matplotlib
import numpy as np
import pytest
from scipy import stats
from statsmodels.stats.proportion import confint_proportions_2indep, proportion_confint

from evaluate.datasets import resume_names
from evaluate.effect import TIDY_COLUMNS, Effect
from evaluate.errors import DataError, SpecError
from evaluate.estimators.trials.shares import (
    BinomialShare,
    outcome_distribution,
    share,
    share_difference,
)

matplotlib.use("Agg")

SOLROED = {"work": 106, "education": 14, "internship": 46, "other": 285 - 106 - 14 - 46}


@pytest.mark.parametrize("x,n", [(106, 285), (14, 285), (0, 20), (1, 29), (3, 12), (12, 12)])
def test_intervals_match_scipy_and_statsmodels(x, n):
    # independent implementations: scipy binomtest and statsmodels; tolerance 1e-9
    exact = stats.binomtest(x, n).proportion_ci(0.95, method="exact")
    wilson = stats.binomtest(x, n).proportion_ci(0.95, method="wilson")
    cp = share(x, n, method="clopper-pearson")
    wi = share(x, n)
    assert cp.ci == pytest.approx((exact.low, exact.high), abs=1e-9)
    assert wi.ci == pytest.approx((wilson.low, wilson.high), abs=1e-9)
    assert wi.ci == pytest.approx(proportion_confint(x, n, 0.05, method="wilson"), abs=1e-9)


def test_textbook_closed_forms_for_zero_successes():
    # 0 of n: Clopper-Pearson upper = 1 - (alpha/2)^(1/n); Wilson upper = z²/(n + z²).
    # Newcombe (1998, Stat Med 17:857) example 0/20: CP 0.1684, Wilson 0.1611 (4 dp).
    n, z = 20, stats.norm.ppf(0.975)
    assert share(0, n, method="clopper-pearson").ci[1] == pytest.approx(1 - 0.025 ** (1 / n))
    assert share(0, n).ci[1] == pytest.approx(z**2 / (n + z**2))
    assert share(0, n, method="clopper-pearson").ci[1] == pytest.approx(0.1684, abs=5e-5)
    assert share(0, n).ci[1] == pytest.approx(0.1611, abs=5e-5)


def test_small_numbers_caveat():
    small = share(3, 12, name="into work (Brøndby subgroup)")
    assert small.notes and "Small numbers" in small.notes[0]
    assert small.diagnostics["sample size"].passed is False
    assert not share(106, 285).notes
    assert share(2, 285).notes  # fewer than 5 successes


def test_newcombe_textbook_examples():
    # Newcombe (1998, Stat Med 17:873) Table II, method 10: 56/70 - 48/80 -> 0.0524 to 0.3339;
    # 9/10 - 3/10 -> 0.1705 to 0.8090 (4 dp, abs 5e-5)
    assert share_difference(56, 70, 48, 80).ci == pytest.approx((0.0524, 0.3339), abs=5e-5)
    assert share_difference(9, 10, 3, 10).ci == pytest.approx((0.1705, 0.8090), abs=5e-5)


def test_bertrand_mullainathan_callback_rates():
    # REFERENCES.md: 0.0965092 / 0.0644764 (n = 2435 each); rel 1e-6 (7 digits printed)
    data = resume_names()
    white = data[data["ethnicity"] == "cauc"]
    black = data[data["ethnicity"] == "afam"]
    x1, n1 = int((white["call"] == "yes").sum()), len(white)
    x2, n2 = int((black["call"] == "yes").sum()), len(black)
    assert (n1, n2) == (2435, 2435)
    res = share_difference(x1, n1, x2, n2, groups=("white names", "Black names"))
    frame = res.to_frame().set_index("term")
    assert frame.loc["share white names", "estimate"] == pytest.approx(0.0965092, rel=1e-6)
    assert frame.loc["share Black names", "estimate"] == pytest.approx(0.0644764, rel=1e-6)
    assert res.estimate == pytest.approx(0.0965092 - 0.0644764, abs=2e-7)
    newcomb = confint_proportions_2indep(x1, n1, x2, n2, method="newcomb", compare="diff")
    assert res.ci == pytest.approx(newcomb, abs=1e-10)
    score = share_difference(x1, n1, x2, n2, method="score")
    mn = confint_proportions_2indep(x1, n1, x2, n2, method="score", compare="diff")
    assert score.ci == pytest.approx(mn, abs=1e-10)
    assert res.ratio == pytest.approx(0.0965092 / 0.0644764, rel=1e-6)
    assert res.ratio_ci[0] > 1 and res.p_value < 0.001
    assert res.diagnostics["Fisher exact test"].p_value < 0.001


def test_solroed_outcome_distribution_goodman():
    res = outcome_distribution(SOLROED, population="Solrød, 285 citizens")
    table = res.table.set_index("category")
    assert table["share"].sum() == pytest.approx(1.0)
    assert res.estimate == pytest.approx(106 / 285)
    # Goodman (1965) closed form with chi2(1) quantile at alpha / k, written out here
    n, k = 285, 4
    a = stats.chi2.ppf(1 - 0.05 / k, 1)
    for cat, x in SOLROED.items():
        half = math.sqrt(a * (a + 4 * x * (n - x) / n))
        low, high = (a + 2 * x - half) / (2 * (n + a)), (a + 2 * x + half) / (2 * (n + a))
        assert table.loc[cat, "ci_low"] == pytest.approx(low, rel=1e-10)
        assert table.loc[cat, "ci_high"] == pytest.approx(high, rel=1e-10)
    # simultaneous intervals are wider than the marginal Wilson ones
    assert (
        table["ci_high"] - table["ci_low"] > table["marginal_high"] - table["marginal_low"]
    ).all()
    assert not res.notes
    sg = outcome_distribution(SOLROED, method="sison-glaz")
    assert any("7 or more" in note for note in sg.notes)
    few = outcome_distribution({"work": 3, "education": 1, "other": 8})
    assert len(few.notes) == 2


def test_wilson_coverage_known_truth():
    # 400 binomial samples with p = 0.3, n = 50: Wilson covers ~95 %; MC SE 0.011 -> [0.91, 0.99]
    rng = np.random.default_rng(3)
    xs = rng.binomial(50, 0.3, 400)
    cover = np.mean([lo <= 0.3 <= hi for lo, hi in (share(int(x), 50).ci for x in xs)])
    assert 0.91 <= cover <= 0.99
    cp_cover = np.mean(
        [lo <= 0.3 <= hi for lo, hi in (share(int(x), 50, method="clopper-pearson").ci for x in xs)]
    )
    assert cp_cover >= cover  # exact intervals are conservative


def test_distribution_draws_scaled_and_pvalues():
    dist = BinomialShare(30, 100)
    assert dist.scaled(100).interval() == pytest.approx(tuple(100 * v for v in dist.interval()))
    draws = share(30, 100).draws(20000, seed=1)
    assert draws.mean() == pytest.approx(0.3, abs=0.005)
    assert share(30, 100).draws(5, seed=2).tolist() == share(30, 100).draws(5, seed=2).tolist()
    exact = BinomialShare(30, 100, "clopper-pearson").p_value(0.4)
    assert exact == pytest.approx(stats.binomtest(30, 100, 0.4).pvalue)


def test_bad_input():
    with pytest.raises(DataError, match="exceeds"):
        share(5, 3)
    with pytest.raises(DataError, match="n is 0"):
        share(0, 0)
    with pytest.raises(DataError, match="whole number"):
        share(2.5, 10)
    with pytest.raises(DataError, match="non-negative"):
        share_difference(-1, 10, 2, 10)
    with pytest.raises(SpecError, match="method"):
        share(3, 10, method="agresti")
    with pytest.raises(DataError, match="mapping"):
        outcome_distribution([1, 2, 3])
    with pytest.raises(DataError, match="All counts"):
        outcome_distribution({"a": 0, "b": 0})


def test_result_contract():
    import matplotlib.pyplot as plt

    results = [share(3, 12), share_difference(235, 2435, 157, 2435), outcome_distribution(SOLROED)]
    for res in results:
        assert isinstance(res, Effect)
        for fmt in ("text", "markdown", "html"):
            assert res.name in res.summary(fmt)
        assert "<div" in res._repr_html_()
        frame = res.to_frame()
        assert list(frame.columns) == TIDY_COLUMNS and len(frame) >= 2
        res.plot()
        plt.close("all")
    assert len(results[2].to_frame()) == 4
