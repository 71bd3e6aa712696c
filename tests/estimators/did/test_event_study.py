"""Event study: mpdta coefficients against linearmodels PanelOLS with the same
event-time dummies (independent implementation), binning, the reference period,
the pre-trend Wald test, known truth, bad input and the result contract."""

from __future__ import annotations

import warnings

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
from linearmodels import PanelOLS  # noqa: E402

from evaluate.datasets import mpdta  # noqa: E402
from evaluate.effect import TIDY_COLUMNS, Diagnostic, Effect, NotApplicable  # noqa: E402
from evaluate.errors import DataError, DesignError, PreTrendWarning, SpecError  # noqa: E402
from evaluate.estimators.did.event_study import EventStudyResult, event_study  # noqa: E402

KW = {"outcome": "lemp", "unit": "countyreal", "time": "year", "cohort": "first.treat"}


def _linearmodels(df: pd.DataFrame, event_times, lo, hi, reference=-1):
    e = np.where(df["first.treat"] > 0, df.year - df["first.treat"], np.nan)
    e = np.clip(e, lo, hi)
    cols = {f"e{k}": (e == k).astype(float) for k in event_times if k != reference}
    panel = df.assign(**cols).set_index(["countyreal", "year"])
    return PanelOLS(panel.lemp, panel[list(cols)], entity_effects=True, time_effects=True).fit(
        cov_type="clustered", cluster_entity=True
    )


def test_mpdta_full_window_matches_linearmodels():
    """mpdta event times run -4..3, so leads=4, lags=3 bins nothing."""
    res = event_study(mpdta(), leads=4, lags=3, **KW)
    ref = _linearmodels(mpdta(), range(-4, 4), -4, 3)
    est = res.periods.set_index("period").estimate.drop(-1)
    np.testing.assert_allclose(est.to_numpy(), ref.params.to_numpy(), rtol=1e-8)
    # the headline is the mean of the post-adoption coefficients
    assert res.estimate == pytest.approx(est.loc[[0, 1, 2, 3]].mean(), rel=1e-12)


def test_binned_endpoints_match_linearmodels_with_binned_dummies():
    res = event_study(mpdta(), leads=2, lags=1, **KW)
    ref = _linearmodels(mpdta(), range(-2, 2), -2, 1)
    est = res.periods.set_index("period").estimate.drop(-1)
    np.testing.assert_allclose(est.to_numpy(), ref.params.to_numpy(), rtol=1e-8)
    assert res.periods.binned.tolist() == [True, False, False, True]


def test_trimmed_window_counts_dropped_observations():
    res = event_study(mpdta(), leads=2, lags=1, bin_endpoints=False, **KW)
    outside = mpdta().pipe(
        lambda d: d[
            (d["first.treat"] > 0)
            & (((d.year - d["first.treat"]) < -2) | ((d.year - d["first.treat"]) > 1))
        ]
    )
    assert res.provenance.n_dropped == len(outside)
    assert any("outside the window" in n for n in res.notes)


def test_reference_period_choice():
    res = event_study(mpdta(), leads=3, lags=2, reference=-2, **KW)
    row = res.periods.set_index("period").loc[-2]
    assert row.estimate == 0.0 and row.reference and np.isnan(row.std_error)
    assert -1 in res.vcov.index and -2 not in res.vcov.index


def test_pretest_on_mpdta_is_a_diagnostic():
    res = event_study(mpdta(), leads=3, lags=3, **KW)
    diag = res.diagnostics["pre-trend"]
    assert isinstance(diag, Diagnostic) and 0 <= diag.p_value <= 1
    # Wald statistic recomputed from the stored covariance of the two leads
    b = res.periods.set_index("period").estimate.loc[[-3, -2]].to_numpy()
    v = res.vcov.loc[[-3, -2], [-3, -2]].to_numpy()
    assert diag.value == pytest.approx(b @ np.linalg.solve(v, b) / 2, rel=1e-10)


def _simulate(rng, n_units=80, n_periods=8, pre_trend=0.0):
    unit = np.repeat(np.arange(n_units), n_periods)
    time = np.tile(np.arange(n_periods), n_units) + 2000
    cohort = np.select(
        [np.arange(n_units) < n_units // 3, np.arange(n_units) < 2 * n_units // 3], [2004, 2005], 0
    )[unit]  # two cohorts, same dynamic effects
    e = np.where(cohort > 0, time - cohort, -99)
    effect = np.where(e >= 0, 0.5 + 0.25 * np.clip(e, 0, 3), 0.0)  # 0.5, 0.75, 1.0, 1.25
    trend = np.where((cohort > 0) & (e < 0), pre_trend * e, 0.0)
    y = (
        rng.normal(size=n_units)[unit]
        + 0.1 * (time - 2000)
        + effect
        + trend
        + rng.normal(size=len(unit))
    )
    return pd.DataFrame({"u": unit, "t": time, "g": cohort, "y": y})


def test_known_truth_recovers_dynamic_effects_and_covers():
    rng = np.random.default_rng(11)
    reps, hits, pre_rejections = 200, 0, 0
    sims = []
    for _ in range(reps):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", PreTrendWarning)
            res = event_study(
                _simulate(rng), outcome="y", unit="u", time="t", cohort="g", leads=3, lags=3
            )
        sims.append(res.periods.set_index("period").estimate.loc[[0, 1, 2, 3]].to_numpy())
        hits += res.ci[0] <= 0.875 <= res.ci[1]  # true mean of 0.5, 0.75, 1.0, 1.25
        pre_rejections += res.diagnostics["pre-trend"].passed is False
    np.testing.assert_allclose(np.mean(sims, axis=0), [0.5, 0.75, 1.0, 1.25], atol=0.05)
    assert 0.91 <= hits / reps <= 0.99  # binomial SE 1.5 pp around 95 %
    assert pre_rejections / reps <= 0.11  # parallel trends hold: size near 5 %


def test_pre_trend_violation_warns():
    df = _simulate(np.random.default_rng(5), n_units=150, pre_trend=0.6)
    with pytest.warns(PreTrendWarning):
        res = event_study(df, outcome="y", unit="u", time="t", cohort="g", leads=3, lags=2)
    assert res.diagnostics["pre-trend"].passed is False
    assert any("pre-trend" in n for n in res.notes)


def test_no_leads_makes_pretest_not_applicable():
    res = event_study(mpdta(), leads=1, lags=2, **KW)
    assert isinstance(res.diagnostics["pre-trend"], NotApplicable)


def test_auto_chooses_by_treated_and_untreated_units():
    # 15 units, 5 never treated: too few untreated units for cluster-robust intervals.
    df = _simulate(np.random.default_rng(1), n_units=15)
    res = event_study(df, outcome="y", unit="u", time="t", cohort="g", leads=2, lags=2)
    assert res.covariance_method == "randomization" and "5 untreated units" in res.notes[0]
    # 45 units, 15 never treated: CR2 because of 15 control clusters (< 30).
    df = _simulate(np.random.default_rng(1), n_units=45)
    res = event_study(df, outcome="y", unit="u", time="t", cohort="g", leads=2, lags=2)
    assert res.covariance_method == "CR2" and "15 control clusters" in res.notes[0]


def test_bad_input():
    df = mpdta()
    with pytest.raises(SpecError, match="reference"):
        event_study(df, leads=2, lags=2, reference=0, **KW)
    with pytest.raises(SpecError, match="wild"):
        event_study(df, inference="wild", **KW)
    varying = df.assign(**{"first.treat": np.where(df.year == 2003, 2004, df["first.treat"])})
    with pytest.raises(DataError, match="varies within unit"):
        event_study(varying, **KW)
    with pytest.raises(DesignError, match="No unit has an adoption"):
        event_study(df.assign(**{"first.treat": 0}), **KW)
    with pytest.raises(DesignError, match="event time"):
        event_study(df, leads=6, lags=3, bin_endpoints=False, **KW)
    with pytest.raises(DataError, match="'nope'"):
        event_study(df, outcome="nope", unit="countyreal", time="year", cohort="first.treat")


def test_result_contract():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PreTrendWarning)
        res = event_study(mpdta(), leads=3, lags=3, **KW)
    assert isinstance(res, EventStudyResult) and isinstance(res, Effect)
    for fmt in ("text", "markdown", "html"):
        assert "Effects by event time" in res.summary(fmt)
    frame = res.to_frame()
    assert list(frame.columns) == TIDY_COLUMNS and len(frame) == 1 + 7
    by = res.by_period
    assert {"period", "estimate", "std_error", "ci_low", "ci_high"} <= set(by.columns)
    assert "<table" in res._repr_html_()
    ax = res.plot()
    assert len(ax.collections) >= 1  # the confidence band
    plt.close("all")


def test_one_treated_unit_headline_is_randomization():
    rng = np.random.default_rng(4)
    n, periods = 20, 10
    u, t = np.repeat(np.arange(n), periods), np.tile(np.arange(periods), n)
    cohort = np.where(np.arange(n) == 0, 5, 0)[u]
    y = rng.normal(size=n)[u] + ((cohort > 0) & (t >= cohort)) + rng.normal(size=n * periods)
    df = pd.DataFrame({"u": u, "t": t, "c": cohort, "y": y})
    res = event_study(df, outcome="y", unit="u", time="t", cohort="c", leads=3, lags=3)
    assert res.covariance_method == "randomization"
    assert res.distribution.n_assignments == 20 and res.distribution.exhaustive
    # the actual assignment reproduces the estimate; CR2 stays reachable by name
    assert res.distribution.stats[0] == pytest.approx(res.estimate, rel=1e-10)
    cr2 = event_study(df, outcome="y", unit="u", time="t", cohort="c", leads=3, lags=3,
                      inference="CR2")  # fmt: skip
    assert cr2.covariance_method == "CR2" and cr2.estimate == pytest.approx(res.estimate)
    assert res.ci[1] - res.ci[0] > cr2.ci[1] - cr2.ci[0]
