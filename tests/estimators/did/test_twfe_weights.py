"""TWFE weights (de Chaisemartin & D'Haultfœuille 2020) and the Goodman-Bacon (2021)
decomposition.

The identities are exact, so the tests are too: on noiseless simulated panels the
TWFE coefficient equals the weighted sum of the cell effects, and on mpdta (balanced)
the weighted 2x2 DiDs sum to the TWFE coefficient (tolerance 1e-10, rounding only),
which is itself R's ``lemp ~ D | countyreal + year`` = -0.036548937 (R_output.txt).
"""

from __future__ import annotations

import warnings

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from evaluate.datasets import mpdta  # noqa: E402
from evaluate.effect import Diagnostic, NotApplicable  # noqa: E402
from evaluate.errors import DataError, DesignError, EvaluateWarning  # noqa: E402
from evaluate.estimators.did.twfe import panel_index, twfe  # noqa: E402
from evaluate.estimators.did.twfe_weights import (  # noqa: E402
    NegativeWeightsWarning,
    bacon_decomposition,
    negative_weights_diagnostic,
    twfe_weights,
)

TOL = 1e-10
R_BETA = -0.036548937  # R fixest/estimatr, tests/reference/R_output.txt


def _staggered(rng, n=120, periods=7, cohorts=(2, 4, 6, 0), drop=0):
    g = rng.choice(cohorts, size=n)
    rows = pd.DataFrame(
        {"id": np.repeat(np.arange(n), periods), "t": np.tile(np.arange(1, periods + 1), n)}
    )
    rows["g"] = np.repeat(g, periods)
    rows["D"] = ((rows["g"] > 0) & (rows["t"] >= rows["g"])).astype(int)
    # effect by cohort and period, growing with exposure: TWFE's bad case
    tau = np.where(rows["D"] == 1, 1.0 + 0.8 * (rows["t"] - rows["g"]) + 0.1 * rows["g"], 0.0)
    rows["tau"] = tau
    rows["y"] = np.repeat(rng.normal(size=n), periods) + np.sin(rows["t"]) + tau
    if drop:
        rows = rows.drop(rng.choice(rows.index, size=drop, replace=False))
    return rows


def _cell_effects(rows):
    return rows.loc[rows.D == 1].groupby(["g", "t"])["tau"].first()


@pytest.mark.parametrize("drop", [0, 40])  # balanced, then unbalanced
def test_weights_reproduce_twfe_beta(drop):
    rows = _staggered(np.random.default_rng(1), drop=drop)
    # cells by the true cohort: with rows missing, the first observed treated period
    # can be later than the adoption
    w = twfe_weights(rows, unit="id", time="t", treatment="D", cohort="g")
    assert w.cells["weight"].sum() == pytest.approx(1.0, abs=1e-12)
    beta = twfe(rows, outcome="y", unit="id", time="t", treatment="D", inference="CR1").estimate
    tau = _cell_effects(rows)
    cells = w.cells.set_index(["cohort", "time"])
    assert float((cells["weight"] * tau.reindex(cells.index)).sum()) == pytest.approx(beta, abs=TOL)
    # exposure-growing effects with early adopters as controls: some weight is negative
    assert w.n_negative >= 1 and w.sum_negative < 0


def test_weights_with_one_cohort_are_positive():
    rows = _staggered(np.random.default_rng(2), cohorts=(4, 0))
    w = twfe_weights(rows, unit="id", time="t", treatment="D", outcome="y")
    assert w.n_negative == 0
    # one cohort, balanced: every treated cell gets weight N_gt / N_1
    np.testing.assert_allclose(w.cells["weight_per_obs"], 1.0, atol=1e-12)
    assert np.isinf(w.sigma_fe)


def test_mpdta_weights_and_sigma():
    df = mpdta()
    w = twfe_weights(df, unit="countyreal", time="year", treatment="post_treated", outcome="lemp")
    assert w.cells["weight"].sum() == pytest.approx(1.0, abs=1e-12)
    assert w.n_negative == 1  # cohort 2004 in 2007
    row = w.cells.query("weight < 0").iloc[0]
    assert (row["cohort"], row["time"]) == (2004, 2007)
    # sigma_fe = |b| / sd(w), computed directly from the cells
    share = w.cells["n_obs"] / w.cells["n_obs"].sum()
    sd = np.sqrt((share * (w.cells["weight_per_obs"] - 1) ** 2).sum())
    assert w.sigma_fe == pytest.approx(abs(R_BETA) / sd, rel=1e-6)


def test_bacon_sums_to_twfe_on_mpdta():
    b = bacon_decomposition(
        mpdta(), outcome="lemp", unit="countyreal", time="year", treatment="post_treated"
    )
    c = b.comparisons
    assert c["weight"].sum() == pytest.approx(1.0, abs=1e-12)
    assert float((c["weight"] * c["estimate"]).sum()) == pytest.approx(b.beta, abs=TOL)
    assert b.beta == pytest.approx(R_BETA, rel=1e-6)  # R printed 8 significant digits
    assert len(c) == 9 and set(c["type"]) == {
        "treated vs never treated",
        "earlier vs later treated",
        "later vs earlier treated",
    }
    # a 2x2 by hand: cohort 2007 vs never treated, 2003-2006 vs 2007
    df = mpdta()
    m = df.groupby([df["first.treat"], df["year"] == 2007])["lemp"].mean()
    by_hand = (m[2007, True] - m[2007, False]) - (m[0, True] - m[0, False])
    got = c.query("treated == 2007 and control == 'never'")["estimate"].item()
    assert got == pytest.approx(by_hand, abs=1e-12)
    by_type = b.by_type()
    assert (by_type["weight"] * by_type["estimate"]).sum() == pytest.approx(b.beta, abs=TOL)
    assert "TWFE coefficient" in b.summary()


def test_bacon_with_always_treated_units():
    rows = _staggered(np.random.default_rng(4), cohorts=(1, 3, 5, 0))  # cohort 1 = always
    b = bacon_decomposition(rows, outcome="y", unit="id", time="t", treatment="D")
    c = b.comparisons
    assert "later vs always treated" in set(c["type"])
    beta = twfe(rows, outcome="y", unit="id", time="t", treatment="D", inference="CR1").estimate
    assert float((c["weight"] * c["estimate"]).sum()) == pytest.approx(beta, abs=TOL)


def test_negative_weights_diagnostic():
    df = mpdta()
    index = panel_index(df["countyreal"], df["year"])
    d = df["post_treated"].to_numpy()
    with pytest.warns(NegativeWeightsWarning, match="negative weight"):
        diag = negative_weights_diagnostic(index, d, warn=True)
    assert isinstance(diag, Diagnostic) and diag.passed is False and diag.value == 1
    assert issubclass(NegativeWeightsWarning, EvaluateWarning)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert negative_weights_diagnostic(index, d).passed is False  # no warning by default
    assert isinstance(negative_weights_diagnostic(index, d * 2.0), NotApplicable)
    assert isinstance(negative_weights_diagnostic(index, np.zeros(len(d))), NotApplicable)
    # covariates change eps (FWL): weights still sum to one, diagnostic computed
    x = np.random.default_rng(0).normal(size=(len(d), 1))
    assert isinstance(negative_weights_diagnostic(index, d, covariates=x), Diagnostic)


def test_bad_input():
    df = mpdta()
    with pytest.raises(DataError, match="binary"):
        twfe_weights(
            df.assign(D=df["post_treated"] * 2), unit="countyreal", time="year", treatment="D"
        )
    with pytest.raises(DesignError, match="balanced"):
        bacon_decomposition(
            df.iloc[1:], outcome="lemp", unit="countyreal", time="year", treatment="post_treated"
        )
    off = df.copy()
    off.loc[(off["first.treat"] == 2004) & (off["year"] == 2007), "post_treated"] = 0
    with pytest.raises(DesignError, match="switches off"):
        bacon_decomposition(
            off, outcome="lemp", unit="countyreal", time="year", treatment="post_treated"
        )
    w = twfe_weights(off, unit="countyreal", time="year", treatment="post_treated")
    assert "event_time" not in w.cells  # cells are units when treatment switches off
    assert w.cells["weight"].sum() == pytest.approx(1.0, abs=1e-12)


def test_plots():
    df = mpdta()
    w = twfe_weights(df, unit="countyreal", time="year", treatment="post_treated")
    b = bacon_decomposition(
        df, outcome="lemp", unit="countyreal", time="year", treatment="post_treated"
    )
    assert w.plot().get_ylabel().startswith("weight")
    assert b.plot().get_xlabel() == "weight"
    assert "negative" in w.summary()
    plt.close("all")
