"""2x2 DiD: Card & Krueger (1994) reference values from R estimatr 1.0.0
(tests/reference/r/02_card_krueger.R, R_output.txt) and the published Table 3
means (REFERENCES.md), a known-truth simulation, bad input and the result contract."""

from __future__ import annotations

import warnings

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from evaluate.datasets import card_krueger  # noqa: E402
from evaluate.effect import TIDY_COLUMNS, Effect  # noqa: E402
from evaluate.errors import DataError, DesignError, DroppedRowsWarning, SpecError  # noqa: E402
from evaluate.estimators.did import DiDResult, did  # noqa: E402

RTOL = 1e-6  # R printed 8 significant digits


def ck_long() -> pd.DataFrame:
    """Two waves per store; stores keyed on (sheet, state) because sheet 407 repeats."""
    ck = card_krueger()
    waves = [
        pd.DataFrame({"sheet": ck.sheet, "nj": ck.state, "wave": w, "fte": ck[col]})
        for w, col in ((0, "fte"), (1, "fte2"))
    ]
    long = pd.concat(waves, ignore_index=True)
    long["store"] = long.sheet.astype(str) + "_" + long.nj.astype(str)
    return long


def _fit(data, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DroppedRowsWarning)
        return did(data, outcome="fte", unit="store", time="wave", treated="nj", **kw)


def test_card_krueger_point_estimate_and_dropped_rows():
    with pytest.warns(DroppedRowsWarning, match="26"):
        res = did(ck_long(), outcome="fte", unit="store", time="wave", treated="nj")
    assert res.estimate == pytest.approx(2.7536058, rel=RTOL)
    assert res.provenance.n_rows == 794 and res.provenance.n_dropped == 26
    # 410 clusters and treated/control both plentiful: the default is CR1 (no note).
    assert res.covariance_method == "CR1" and res.notes == ()
    assert res.std_error == pytest.approx(1.306607, rel=RTOL)  # estimatr "stata", df 409


@pytest.mark.parametrize(
    ("inference", "cluster", "se", "df"),
    [
        ("HC1", None, 1.7954508, 790),
        ("HC2", None, 1.8011997, 790),
        ("CR2", "unit", 1.3102334, 116.92867),
    ],
)
def test_card_krueger_standard_errors(inference, cluster, se, df):
    res = _fit(ck_long(), inference=inference, cluster=cluster)
    assert res.std_error == pytest.approx(se, rel=RTOL)
    assert res.distribution.df == pytest.approx(df, rel=RTOL)


def test_card_krueger_balanced_sample():
    long = ck_long().dropna(subset=["fte"])
    bal = long[long.groupby("store").fte.transform("size") == 2]
    res = _fit(bal, inference="CR2")
    assert res.provenance.n_rows == 768
    assert res.estimate == pytest.approx(2.75, rel=RTOL)
    assert res.std_error == pytest.approx(1.342341, rel=RTOL)
    assert res.distribution.df == pytest.approx(112.68684, rel=RTOL)
    assert res.ci == pytest.approx((0.090500435, 5.4094996), rel=RTOL)
    stata = _fit(bal, inference="CR1-stata")
    assert stata.std_error == pytest.approx(1.3385982, rel=RTOL)
    assert stata.distribution.df == pytest.approx(383)


def test_card_krueger_means_table_matches_table3():
    """Card & Krueger (1994) Table 3 rows 1-3 (REFERENCES.md), to the printed 4 decimals."""
    m = _fit(ck_long()).means
    assert m.loc["control", "pre"] == pytest.approx(23.3312, abs=1e-4)
    assert m.loc["treated", "pre"] == pytest.approx(20.4394, abs=1e-4)
    assert m.loc["control", "post"] == pytest.approx(21.1656, abs=1e-4)
    assert m.loc["treated", "post"] == pytest.approx(21.0274, abs=1e-4)
    assert m.loc["difference", "change"] == pytest.approx(2.7536, abs=1e-4)
    assert (m.loc["control", "n_pre"], m.loc["treated", "n_pre"]) == (77, 321)


def test_post_column_and_covariates():
    long = ck_long().dropna()
    long["after"] = long.wave
    a = did(long, outcome="fte", unit="store", time="wave", treated="nj", post="after")
    assert a.estimate == pytest.approx(2.7536058, rel=RTOL)
    long["chain"] = np.random.default_rng(0).integers(0, 4, len(long))
    b = did(long, outcome="fte", unit="store", time="wave", treated="nj", covariates=["chain"])
    assert "chain" in b.coefficients.term.tolist()
    assert any("covariates" in n for n in b.notes)


def test_wild_bootstrap_inference():
    res = _fit(ck_long(), inference="wild", n_boot=999, seed=1)
    assert res.estimate == pytest.approx(2.7536058, rel=RTOL)
    low, high = res.ci
    assert low < res.estimate < high
    assert "Wild cluster bootstrap" in res.notes[0]
    # The symmetric bootstrap-t p-value stays close to the CR1 p-value (0.0357).
    assert 0.01 < res.p_value < 0.08


def _simulate(rng, n_units=40, effect=1.5, icc=1.0):
    unit = np.repeat(np.arange(n_units), 2)
    wave = np.tile([0, 1], n_units)
    treated = (unit < n_units // 2).astype(int)
    y = (
        2.0
        + 0.7 * treated
        + 0.4 * wave
        + effect * treated * wave
        + icc * rng.normal(size=n_units)[unit]
        + rng.normal(size=2 * n_units)
    )
    return pd.DataFrame({"u": unit, "t": wave, "g": treated, "y": y})


def test_known_truth_and_coverage():
    rng = np.random.default_rng(2024)
    reps, hits, estimates = 300, 0, []
    for _ in range(reps):
        res = did(_simulate(rng), outcome="y", unit="u", time="t", treated="g")
        estimates.append(res.estimate)
        low, high = res.ci
        hits += low <= 1.5 <= high
    assert np.mean(estimates) == pytest.approx(1.5, abs=0.05)  # MC SE ~ 0.02
    assert 0.92 <= hits / reps <= 0.98  # binomial SE 1.3 pp around 95 %


def test_few_clusters_default_is_randomization_and_cr2_reachable():
    data = _simulate(np.random.default_rng(1), n_units=10)
    res = did(data, outcome="y", unit="u", time="t", treated="g")
    assert res.covariance_method == "randomization"
    assert "treated units" in res.notes[0] and "placebo" in res.notes[0]
    cr2 = did(data, outcome="y", unit="u", time="t", treated="g", inference="CR2")
    assert cr2.covariance_method == "CR2" and cr2.estimate == res.estimate


def test_bad_input():
    base = _simulate(np.random.default_rng(0))
    with pytest.raises(DataError, match="'nope'"):
        did(base, outcome="nope", unit="u", time="t", treated="g")
    bad = base.assign(g=base.g * 2)
    with pytest.raises(DataError, match="0/1"):
        did(bad, outcome="y", unit="u", time="t", treated="g")
    switch = base.assign(g=base.t)
    with pytest.raises(DataError, match="changes within unit"):
        did(switch, outcome="y", unit="u", time="t", treated="g")
    three = pd.concat([base, base[base.t == 0].assign(t=2)], ignore_index=True)
    with pytest.raises(SpecError, match="3 distinct"):
        did(three, outcome="y", unit="u", time="t", treated="g")
    empty_cell = base[~((base.g == 1) & (base.t == 1))]
    with pytest.raises(DesignError, match="treated observations in the post"):
        did(empty_cell, outcome="y", unit="u", time="t", treated="g")
    dup = pd.concat([base, base.iloc[:1]], ignore_index=True)
    with pytest.raises(DataError, match="share the same"):
        did(dup, outcome="y", unit="u", time="t", treated="g")
    holes = base.assign(y=base.y.where(base.index != 3))
    with pytest.raises(DataError, match="Missing values"):
        did(holes, outcome="y", unit="u", time="t", treated="g", drop_missing=False)
    with pytest.raises(SpecError, match="inference"):
        did(base, outcome="y", unit="u", time="t", treated="g", inference="CR9")  # type: ignore[arg-type]
    with pytest.raises(SpecError, match="cluster"):
        did(base, outcome="y", unit="u", time="t", treated="g", cluster=None, inference="CR1")


def test_does_not_modify_input():
    data = ck_long()
    before = data.copy()
    _fit(data)
    pd.testing.assert_frame_equal(data, before)


def test_result_contract():
    res = _fit(ck_long())
    assert isinstance(res, DiDResult) and isinstance(res, Effect)
    for fmt in ("text", "markdown", "html"):
        text = res.summary(fmt)
        assert "Group x period means" in text and "2.754" in text
    frame = res.to_frame()
    assert list(frame.columns) == TIDY_COLUMNS
    assert frame.loc[0, "estimate"] == pytest.approx(2.7536058, rel=RTOL)
    assert "<table" in res._repr_html_()
    ax = res.plot()
    assert len(ax.lines) == 3
    plt.close("all")
    assert res.with_alpha(0.1).ci[1] < res.ci[1]


@pytest.mark.slow
def test_coverage_heavy():
    """Heavy version: 2000 draws with 40 stores (CR1 default), coverage 93-97 %."""
    rng = np.random.default_rng(99)
    reps, hits = 2000, 0
    for _ in range(reps):
        low, high = did(_simulate(rng), outcome="y", unit="u", time="t", treated="g").ci
        hits += low <= 1.5 <= high
    assert 0.93 <= hits / reps <= 0.97
