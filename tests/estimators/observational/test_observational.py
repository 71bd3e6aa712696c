"""Tests of evaluate.estimators.observational: LaLonde/Dehejia-Wahba references,
statsmodels' TreatmentEffect (GMM, as Stata teffects), hand computations, known truth."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from matplotlib.axes import Axes
from scipy.special import expit
from statsmodels.treatment.treatment_effects import TreatmentEffect

from evaluate.datasets import nsw_experimental, nsw_nonexperimental
from evaluate.effect import TIDY_COLUMNS, Effect
from evaluate.errors import DataError, DesignError, DroppedRowsWarning, SpecError
from evaluate.estimators.observational import ObservationalResult, observational
from evaluate.inference.distributions import Empirical

COVS = ["age", "educ", "black", "hisp", "marr", "nodegree", "re74", "re75"]


def _lalonde(sample: str) -> pd.DataFrame:
    treated = nsw_experimental().query("treat == 1")
    controls = nsw_nonexperimental().query("sample == @sample").drop(columns="sample")
    return pd.concat([treated, controls], ignore_index=True)


def _confounded(seed: int, n: int = 1000, effect: float = 2.0) -> pd.DataFrame:
    """x1 raises both treatment and outcome: the naive difference is biased upwards.
    Heterogeneous effect 2 + x1 among everyone; the true ATT is computed from the
    population (E[x1 | d=1] is known only by simulation, so truth comes with the data)."""
    rng = np.random.default_rng(seed)
    x1 = rng.normal(size=n)
    x2 = rng.binomial(1, 0.4, n)
    d = rng.binomial(1, expit(-0.5 + 0.8 * x1 + 0.5 * x2))
    y = 1 + effect * d + 1.5 * x1 + 0.5 * x2 + 0.5 * d * x1 + rng.normal(size=n)
    return pd.DataFrame({"y": y, "d": d, "x1": x1, "x2": x2})


# population ATT of _confounded: 2 + 0.5 E[x1 | d=1], E[x1 | d=1] by a 4e6 draw (MC SE 1e-3)
_RNG = np.random.default_rng(99)
_X1 = _RNG.normal(size=4_000_000)
_X2 = _RNG.binomial(1, 0.4, 4_000_000)
_P = expit(-0.5 + 0.8 * _X1 + 0.5 * _X2)
TRUE_ATT = 2.0 + 0.5 * float(np.sum(_P * _X1) / np.sum(_P))
TRUE_ATE = 2.0
del _RNG, _X1, _X2, _P


# --------------------------------------------------------------------------- references
@pytest.mark.parametrize(
    ("sample", "estimate", "classical_se"),
    [("psid1", -15204.777, 1154.6143), ("cps1", -8497.5161, 712.02072)],
)
def test_unadjusted_difference_reproduces_dehejia_wahba(sample, estimate, classical_se):
    # R oracle tests/reference/R_output.txt (lm_robust classical), = DW 1999 Table 3 col. 1
    # (-15,205 (1,155) and -8,498 (712)).  Tolerance: the 8 printed digits.
    res = observational(_lalonde(sample), outcome="re78", treatment="treat", method="difference")
    assert res.estimate == pytest.approx(estimate, abs=1e-3)
    se = res.diagnostics["classical (pooled-variance) SE"].value
    assert se == pytest.approx(classical_se, abs=1e-4)


def test_regression_att_equals_statsmodels_ols_on_lalonde():
    # Regression imputation = mean over the treated of y - (OLS fit on controls), and
    # = the treatment coefficient of the fully interacted OLS with covariates centred at
    # the treated means.  statsmodels OLS; tolerance 1e-6 (US$).
    df = _lalonde("psid1")
    res = observational(df, outcome="re78", treatment="treat", covariates=COVS)
    ctrl, tr = df[df.treat == 0], df[df.treat == 1]
    ols = sm.OLS(ctrl["re78"], sm.add_constant(ctrl[COVS])).fit()
    imputed = tr["re78"] - ols.predict(sm.add_constant(tr[COVS]))
    assert res.estimate == pytest.approx(imputed.mean(), abs=1e-6)
    centred = df[COVS] - tr[COVS].mean()
    X = pd.concat([df["treat"], centred, centred.mul(df["treat"], axis=0).add_suffix("_x")], axis=1)
    inter = sm.OLS(df["re78"], sm.add_constant(X)).fit()
    assert res.estimate == pytest.approx(inter.params["treat"], abs=1e-6)


def _teffects(df: pd.DataFrame):
    X = sm.add_constant(df[["x1", "x2"]])
    select = sm.Logit(df["d"], X).fit(disp=0)
    return TreatmentEffect(sm.OLS(df["y"], X), df["d"].to_numpy(), results_select=select)


@pytest.mark.parametrize(
    ("method", "estimand", "call"),
    [
        ("regression", "att", lambda te: te.ra(effect_group=1)),
        ("regression", "ate", lambda te: te.ra()),
        ("ipw", "att", lambda te: te.ipw(effect_group=1)),
        ("ipw", "ate", lambda te: te.ipw()),
        ("aipw", "ate", lambda te: te.aipw()),
    ],
)
def test_against_statsmodels_treatment_effect(method, estimand, call):
    # statsmodels TreatmentEffect: joint GMM of propensity, outcome and effect with HC0
    # (the Stata teffects construction).  Estimates to 1e-6; our Jacobian is numerical,
    # theirs analytic: SEs to 1e-4 relative.
    df = _confounded(3, n=400)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = call(_teffects(df))
    res = observational(
        df, outcome="y", treatment="d", covariates=["x1", "x2"], method=method, estimand=estimand
    )
    assert res.estimate == pytest.approx(ref.effect[0], rel=1e-6)
    assert res.std_error == pytest.approx(ref.sd[0], rel=1e-4)


def test_ipw_att_against_hand_written_analytic_sandwich():
    # Independent computation: Hájek IPW-ATT with the analytic Jacobian of the stacked
    # equations (logit score, treated mean, odds-weighted control mean).  Tolerance 1e-6.
    df = _confounded(7, n=120)
    y, d = df["y"].to_numpy(), df["d"].to_numpy(float)
    X = np.column_stack([np.ones(len(df)), df[["x1", "x2"]].to_numpy()])
    gamma = sm.Logit(d, X).fit(disp=0).params
    e = expit(X @ gamma)
    odds = e / (1 - e)
    mu1 = y[d == 1].mean()
    mu0 = np.sum((1 - d) * odds * y) / np.sum((1 - d) * odds)
    n, p = X.shape
    psi = np.column_stack([(d - e)[:, None] * X, d * (y - mu1), (1 - d) * odds * (y - mu0)])
    J = np.zeros((p + 2, p + 2))
    J[:p, :p] = -(X * (e * (1 - e))[:, None]).T @ X / n
    J[p, p] = -d.mean()
    J[p + 1, :p] = ((1 - d) * odds * (y - mu0)) @ X / n
    J[p + 1, p + 1] = -np.mean((1 - d) * odds)
    Ji = np.linalg.inv(J)
    V = Ji @ (psi.T @ psi / n) @ Ji.T / n
    se = math.sqrt(V[p, p] + V[p + 1, p + 1] - 2 * V[p, p + 1])
    res = observational(df, outcome="y", treatment="d", covariates=["x1", "x2"], method="ipw")
    assert res.estimate == pytest.approx(mu1 - mu0, rel=1e-8)
    assert res.std_error == pytest.approx(se, rel=1e-6)


def test_aipw_att_point_estimate_by_hand():
    # DR-ATT (Sant'Anna & Zhao 2020, Hájek form): mean_t(y - m0) - Σ_c w (y - m0) / Σ_c w
    # with w = e/(1-e), m0 = OLS on controls.  Tolerance 1e-8.
    df = _confounded(8, n=150)
    y, d = df["y"].to_numpy(), df["d"].to_numpy(float)
    X = np.column_stack([np.ones(len(df)), df[["x1", "x2"]].to_numpy()])
    odds = np.exp(X @ sm.Logit(d, X).fit(disp=0).params)
    r = y - X @ sm.OLS(y[d == 0], X[d == 0]).fit().params
    expected = r[d == 1].mean() - np.sum((1 - d) * odds * r) / np.sum((1 - d) * odds)
    res = observational(df, outcome="y", treatment="d", covariates=["x1", "x2"], method="aipw")
    assert res.estimate == pytest.approx(expected, rel=1e-8)


def _matching_by_hand(y, d, points, k, caliper_abs=None):
    """Brute-force k-NN matching (with replacement) and the Abadie-Imbens PATT variance."""
    t, c = np.flatnonzero(d == 1), np.flatnonzero(d == 0)
    used, diffs = {j: [] for j in c}, []
    for i in t:
        dist = np.linalg.norm(points[c] - points[i], axis=1)
        order = np.argsort(dist, kind="stable")[:k]
        chosen = [c[o] for o in order if caliper_abs is None or dist[o] <= caliper_abs]
        if not chosen:
            continue
        for j in chosen:
            used[j].append(len(chosen))
        diffs.append(y[i] - np.mean(y[chosen]))
    n1, est = len(diffs), float(np.mean(diffs))
    var = np.sum((np.array(diffs) - est) ** 2)
    for j in c:
        others = [o for o in c if o != j]
        nearest = others[int(np.argmin(np.linalg.norm(points[others] - points[j], axis=1)))]
        sigma2 = 0.5 * (y[j] - y[nearest]) ** 2
        w = sum(1 / m for m in used[j])
        var += (w**2 - sum(1 / m**2 for m in used[j])) * sigma2
    return est, math.sqrt(var) / n1, n1


@pytest.mark.parametrize(("k", "caliper"), [(1, None), (3, None), (2, 0.05)])
def test_matching_against_brute_force_abadie_imbens(k, caliper):
    # Independent brute-force implementation of k-NN matching on the logit score and the
    # Abadie-Imbens (2006) population-ATT variance.  Tolerance 1e-10.
    df = _confounded(11, n=90)
    res = observational(
        df,
        outcome="y",
        treatment="d",
        covariates=["x1", "x2"],
        method="matching",
        neighbours=k,
        caliper=caliper,
    )
    X = np.column_stack([np.ones(len(df)), df[["x1", "x2"]].to_numpy()])
    d = df["d"].to_numpy(float)
    q = X @ sm.Logit(d, X).fit(disp=0).params  # logit of the score
    cal = None if caliper is None else caliper * np.std(q, ddof=1)
    est, se, n1 = _matching_by_hand(df["y"].to_numpy(), d, q[:, None], k, cal)
    assert res.estimate == pytest.approx(est, rel=1e-10)
    assert res.std_error == pytest.approx(se, rel=1e-10)
    assert res.counts.loc[0, "used"] == n1


def test_mahalanobis_matching_against_brute_force():
    df = _confounded(12, n=80)
    res = observational(
        df, outcome="y", treatment="d", covariates=["x1", "x2"], method="matching",
        match_on="covariates",
    )  # fmt: skip
    Z = df[["x1", "x2"]].to_numpy()
    Z = (Z - Z.mean(axis=0)) / Z.std(axis=0)
    points = Z @ np.linalg.cholesky(np.linalg.inv(np.cov(Z, rowvar=False)))
    est, se, _ = _matching_by_hand(df["y"].to_numpy(), df["d"].to_numpy(), points, 1)
    assert res.estimate == pytest.approx(est, rel=1e-10)
    assert res.std_error == pytest.approx(se, rel=1e-10)


# --------------------------------------------------------------------------- known truth
def test_known_truth_confounding_naive_biased_adjusted_recover():
    # n = 20000: SEs ≈ 0.02-0.05; the naive bias is ≈ +1.9.  Tolerance 0.15 (> 3 SE).
    df = _confounded(21, n=20_000)
    kw = dict(outcome="y", treatment="d", covariates=["x1", "x2"])
    naive = observational(df, outcome="y", treatment="d", method="difference")
    assert naive.estimate - TRUE_ATT > 1.0
    for method in ("regression", "ipw", "aipw", "matching"):
        res = observational(df, method=method, **kw)
        assert res.estimate == pytest.approx(TRUE_ATT, abs=0.15), method
    for method in ("regression", "ipw", "aipw"):
        res = observational(df, method=method, estimand="ate", **kw)
        assert res.estimate == pytest.approx(TRUE_ATE, abs=0.15), method


def test_aipw_is_doubly_robust():
    # Outcome model misspecified (x² omitted) but the propensity model right: AIPW stays
    # near the truth where regression on the same covariates is biased.  n = 20000.
    # (Both models use the same covariates here, so the converse is not separable.)
    rng = np.random.default_rng(5)
    n = 20_000
    x = rng.normal(size=n)
    d = rng.binomial(1, expit(0.3 + 0.7 * x))
    y = 1 + 1.0 * d + x + 1.5 * x**2 + rng.normal(size=n)  # constant effect 1
    df = pd.DataFrame({"y": y, "d": d, "x": x, "x2": x**2})
    wrong_outcome = observational(df, outcome="y", treatment="d", covariates=["x"], method="aipw")
    reg = observational(df, outcome="y", treatment="d", covariates=["x"], method="regression")
    assert abs(reg.estimate - 1) > 0.3
    assert wrong_outcome.estimate == pytest.approx(1.0, abs=0.12)
    # with x² both models contain the truth (the score gains an irrelevant term)
    both = observational(df, outcome="y", treatment="d", covariates=["x", "x2"], method="aipw")
    assert both.estimate == pytest.approx(1.0, abs=0.08)


def _coverage(method: str, reps: int, n: int) -> float:
    hits = 0
    for seed in range(reps):
        df = _confounded(1000 + seed, n=n)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # occasional small effective sample sizes
            res = observational(
                df, outcome="y", treatment="d", covariates=["x1", "x2"], method=method
            )
        low, high = res.ci
        hits += low <= TRUE_ATT <= high
    return hits / reps


@pytest.mark.parametrize("method", ["ipw", "aipw"])
def test_att_interval_coverage_light(method):
    # 250 replications: coverage SE ≈ 1.4 pp, 91-98.5 % is a ≈ 2.5-SE band.
    assert 0.91 <= _coverage(method, 250, 400) <= 0.985


@pytest.mark.slow
@pytest.mark.parametrize("method", ["regression", "ipw", "aipw", "matching"])
def test_att_interval_coverage_heavy(method):
    # 2000 replications (coverage SE ≈ 0.5 pp).  Matching's AI SE treats the score as
    # known, so it is allowed to be somewhat conservative.
    coverage = _coverage(method, 2000, 600)
    upper = 0.985 if method == "matching" else 0.965
    assert 0.935 <= coverage <= upper


def test_bootstrap_is_seeded_and_close_to_analytic():
    df = _confounded(4, n=400)
    kw = dict(outcome="y", treatment="d", covariates=["x1", "x2"], method="aipw")
    a = observational(df, bootstrap=300, seed=1, **kw)
    b = observational(df, bootstrap=300, seed=1, **kw)
    analytic = observational(df, **kw)
    assert isinstance(a.distribution, Empirical)
    assert np.array_equal(a.distribution.samples, b.distribution.samples)
    assert a.estimate == analytic.estimate
    # 300 draws: the bootstrap SE has ≈ 4 % Monte Carlo error; allow 20 %.
    assert a.std_error == pytest.approx(analytic.std_error, rel=0.2)
    assert a.diagnostics["analytic SE"].value == pytest.approx(analytic.std_error)


def test_trimming_counts_and_overlap_diagnostics():
    df = _lalonde("psid1")
    res = observational(
        df, outcome="re78", treatment="treat", covariates=COVS, method="ipw", trim=0.01
    )
    counts = res.counts.set_index("group")
    assert counts.loc["control", "trimmed"] > 1000  # most PSID-1 controls have scores < 1 %
    assert counts["trimmed"].sum() == (~((res.scores["score"] >= 0.01)
                                         & (res.scores["score"] <= 0.99))).sum()  # fmt: skip
    assert any("trimmed" in note for note in res.notes)
    assert set(res.overlap["group"]) == {"treated", "control"}
    assert 0 <= res.diagnostics["treated outside common support"].value <= 1
    assert "smd_after" in res.balance
    # weighting improves balance on the strongest confounder
    row = res.balance.set_index("covariate").loc["re75"]
    assert abs(row["smd_after"]) < abs(row["smd_before"])


# --------------------------------------------------------------------------- bad input
def test_bad_inputs():
    df = _confounded(0, n=100)
    kw = dict(outcome="y", treatment="d", covariates=["x1", "x2"])
    with pytest.raises(DataError, match="1 .treated"):
        observational(df.assign(d=df["d"] * 2), **kw)
    with pytest.raises(SpecError, match="method"):
        observational(df, method="psm", **kw)
    with pytest.raises(SpecError, match="ATT only"):
        observational(df, method="matching", estimand="ate", **kw)
    with pytest.raises(SpecError, match="needs covariates"):
        observational(df, outcome="y", treatment="d", method="ipw")
    with pytest.raises(SpecError, match="trim applies"):
        observational(df, method="regression", trim=0.05, **kw)
    with pytest.raises(SpecError, match="caliper"):
        observational(df, method="ipw", caliper=0.2, **kw)
    with pytest.raises(SpecError, match="bootstrap"):
        observational(df, bootstrap=10, **kw)
    with pytest.raises(DesignError, match="constant"):
        observational(df.assign(x2=1.0), **kw)
    with pytest.raises(DesignError, match="nothing to compare"):
        observational(df.assign(y=3.0), **kw)
    with pytest.raises(DesignError, match="at least 2 treated"):
        observational(df.assign(d=0), **kw)
    with pytest.raises(DataError, match="not found"):
        observational(df, outcome="y", treatment="d", covariates=["x3"])
    # perfect separation: x1 > 0 decides treatment -> scores of 0 and 1
    separated = df.assign(d=(df["x1"] > 0).astype(int))
    with pytest.raises(DesignError, match="separates"):
        observational(separated, method="ipw", **kw)
    with pytest.raises(DesignError, match="caliper"):
        observational(df, method="matching", caliper=1e-9, **kw)


def test_missing_values_counted_and_caller_frame_untouched():
    df = _confounded(0, n=100)
    df.loc[[1, 2, 3], "x1"] = np.nan
    before = df.copy()
    with pytest.raises(DataError, match="Missing"):
        observational(df, outcome="y", treatment="d", covariates=["x1", "x2"])
    with pytest.warns(DroppedRowsWarning):
        res = observational(
            df, outcome="y", treatment="d", covariates=["x1", "x2"], drop_missing=True
        )
    assert res.provenance.n_dropped == 3 and res.provenance.n_rows == 97
    pd.testing.assert_frame_equal(df, before)


# --------------------------------------------------------------------------- contract
@pytest.mark.parametrize("method", ["difference", "regression", "ipw", "aipw", "matching"])
def test_result_contract(method):
    df = _confounded(2, n=300)
    covs = [] if method == "difference" else ["x1", "x2"]
    res = observational(df, outcome="y", treatment="d", covariates=covs, method=method, name="pay")
    assert isinstance(res, ObservationalResult) and isinstance(res, Effect)
    frame = res.to_frame()
    assert list(frame.columns) == TIDY_COLUMNS and frame.loc[0, "estimate"] == res.estimate
    for fmt in ("text", "markdown", "html"):
        assert "pay" in res.summary(fmt)
    assert res._repr_html_().startswith("<div")
    assert isinstance(res.plot(), Axes)
    assert "ATT" in res.estimand
    with pytest.raises(AttributeError):
        res.alpha = 0.1
    draws = res.draws(50, seed=1)
    assert np.array_equal(draws, res.draws(50, seed=1))
