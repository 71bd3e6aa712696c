"""Callaway-Sant'Anna on repeated cross-sections and unbalanced panels, and the
shared never-treated coding (evaluate/estimators/did/_staggered_rc.py, _cohorts.py).

Reference values: csdid 0.4.3 / drdid 1.1.7 (Python ports of R did 2.5.1 / DRDID),
made by ``tests/reference/make_csdid_rc.py`` and stored with the dropped-row
indices in ``tests/reference/mpdta_csdid_rc.json``.  Coverage of the new intervals
is tested in ``tests/known_truth`` (settings ``cs_unbalanced_200_units`` and
``cs_repeated_cross_sections_200``).
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from evaluate.datasets import mpdta
from evaluate.errors import DataError, DesignError, DroppedRowsWarning, SmallSampleWarning
from evaluate.estimators.did._cohorts import adoption_periods
from evaluate.estimators.did._staggered_rc import rc_did
from evaluate.estimators.did.event_study import event_study
from evaluate.estimators.did.staggered import callaway_santanna

REF = json.loads((Path(__file__).parents[2] / "reference/mpdta_csdid_rc.json").read_text())
KEYS = dict(outcome="lemp", unit="countyreal", time="year", group="first.treat")
SCENARIOS = {
    "rc_dr": dict(panel=False),
    "rc_reg_cov": dict(panel=False, method="reg", covariates=["lpop"]),
    "rc_ipw_cov": dict(panel=False, method="ipw", covariates=["lpop"]),
    "rc_dr_cov": dict(panel=False, method="dr", covariates=["lpop"]),
    "rc_dr_notyet": dict(panel=False, control="notyet"),
    "unbal_dr": dict(allow_unbalanced_panel=True),
    "unbal_dr_cov": dict(allow_unbalanced_panel=True, covariates=["lpop"]),
    "unbal_reg_notyet": dict(allow_unbalanced_panel=True, method="reg", control="notyet"),
}
# We match csdid to ~1e-13; the tolerances leave room for BLAS and logit-iteration
# differences only.
EST_TOL = 1e-9  # absolute (estimates ~0.01-0.1)
SE_RTOL = 1e-7  # relative


def _quiet(fn, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fn(*args, **kwargs)


@pytest.fixture(scope="module")
def unbalanced_mpdta() -> pd.DataFrame:
    data = mpdta()
    return data.drop(index=data.index[REF["dropped_rows"]])


# --------------------------------------------------------------------------- reference
@pytest.mark.parametrize("name", list(SCENARIOS))
def test_matches_csdid(name, unbalanced_mpdta):
    ref = REF["scenarios"][name]
    data = unbalanced_mpdta if name.startswith("unbal") else mpdta()
    res = _quiet(callaway_santanna, data, **KEYS, **SCENARIOS[name])
    table = res.att_gt
    np.testing.assert_array_equal(table["group"], ref["group"])
    np.testing.assert_array_equal(table["time"], ref["time"])
    np.testing.assert_allclose(table["estimate"], ref["att"], rtol=0, atol=EST_TOL)
    np.testing.assert_allclose(table["std_error"], ref["se"], rtol=SE_RTOL)
    for kind in ("simple", "dynamic", "group", "calendar"):
        agg = res.aggregate(kind)
        assert agg.estimate == pytest.approx(ref[f"agg_{kind}"][0], abs=EST_TOL), kind
        assert agg.std_error == pytest.approx(ref[f"agg_{kind}"][1], rel=SE_RTOL), kind


def test_result_says_which_estimators_ran(unbalanced_mpdta):
    data = mpdta()
    balanced = callaway_santanna(data, **KEYS)
    rc = callaway_santanna(data, **KEYS, panel=False)
    unbalanced = _quiet(callaway_santanna, unbalanced_mpdta, **KEYS, allow_unbalanced_panel=True)
    assert balanced.data_structure == "balanced panel"
    assert rc.data_structure == "repeated cross-sections"
    assert unbalanced.data_structure.startswith("unbalanced panel")
    assert "clustered by unit" in unbalanced.data_structure
    assert rc.method.endswith("; repeated cross-sections")
    assert "rows independent" in rc.inference
    assert any("500 units, 2250 rows" in note for note in unbalanced.notes)
    assert any("500 values of 'countyreal' occur in more than one" in n for n in rc.notes)
    assert unbalanced.provenance.n_rows == 2250
    # a balanced panel runs the panel estimators whatever allow_unbalanced_panel says
    same = callaway_santanna(data, **KEYS, allow_unbalanced_panel=True)
    assert same.data_structure == "balanced panel"
    np.testing.assert_array_equal(same.att_gt["std_error"], balanced.att_gt["std_error"])
    # without covariates on a balanced panel the RC point estimates equal the panel ones
    np.testing.assert_allclose(rc.att_gt["estimate"], balanced.att_gt["estimate"], atol=1e-12)
    assert rc.std_error > balanced.std_error  # levels, not within-unit changes


def test_unbalanced_panel_without_permission_drops_units_and_says_so(unbalanced_mpdta):
    n_units = unbalanced_mpdta.groupby("countyreal").size()
    incomplete = int((n_units < 5).sum())
    rows = int(n_units[n_units < 5].sum())
    with pytest.warns(DroppedRowsWarning, match=rf"Dropped {incomplete} units .*\({rows} rows"):
        res = callaway_santanna(unbalanced_mpdta, **KEYS)
    assert res.data_structure == "balanced panel"
    assert res.provenance.n_dropped == rows
    assert any(f"{incomplete} units ({rows} rows)" in note for note in res.notes)


def test_empty_cell_is_a_design_error():
    data = mpdta()
    gone = (data["first.treat"] == 2006) & (data["year"] == 2005)
    with pytest.raises(DesignError, match=r"g=2006, t=2005.*no observation in period 2005"):
        callaway_santanna(data[~gone], **KEYS, panel=False)


@pytest.mark.parametrize("flag", ["panel", "allow_unbalanced_panel"])
def test_structure_flags_must_be_booleans(flag):
    from evaluate.errors import SpecError

    with pytest.raises(SpecError, match=f"{flag} must be True or False"):
        callaway_santanna(mpdta(), **KEYS, **{flag: "yes"})


# --------------------------------------------------------------------------- 2x2 pieces
@pytest.mark.parametrize("method", ["dr", "ipw", "reg"])
def test_rc_influence_function_is_the_derivative_of_the_estimate(method):
    """The influence function is the derivative of the estimate: finite differences.

    This fixes the sign of drdid_rc's pre-period outcome-regression terms, where R
    DRDID 1.2.3 adds what the estimate subtracts (see _staggered_rc._dr_rc)."""
    rng = np.random.default_rng(3)
    n = 160
    x1, x2 = rng.normal(size=n), rng.uniform(size=n)
    d = (rng.uniform(size=n) < 1 / (1 + np.exp(-(0.8 * x1**2 - 0.5)))).astype(float)
    post = (rng.uniform(size=n) < 0.5).astype(float)
    y = 1 + x1 + 2 * x2 + d * (1 + x1) + post * (0.5 + x1) + 1.5 * d * post + rng.normal(size=n)
    x = np.column_stack([np.ones(n), x1, x2])
    w = rng.uniform(0.5, 2.0, size=n)
    att, inf = rc_did(y, post, d, x, w, method)
    eps = 1e-6
    numeric = np.empty(n)
    for i in range(n):
        bumped = w.copy()
        bumped[i] += eps * w.mean()
        numeric[i] = (rc_did(y, post, d, x, bumped, method)[0] - att) / eps
    # adding eps to the normalised weight of row i adds mass eps / n at that row, so
    # d ATT / d eps = psi_i / n, and DRDID's weighted influence function is w_i psi_i
    np.testing.assert_allclose(numeric * n * w / w.mean(), inf, atol=1e-4 * np.abs(inf).max())


def test_rc_estimators_coincide_without_covariates():
    rng = np.random.default_rng(4)
    d, post = np.repeat([0.0, 1.0], 150), np.tile([0.0, 1.0], 150)
    y = d + post + 0.7 * d * post + rng.normal(size=300)
    ones = np.ones((300, 1))
    fits = [rc_did(y, post, d, ones, np.ones(300), m) for m in ("dr", "ipw", "reg")]
    for att, inf in fits[1:]:
        assert att == pytest.approx(fits[0][0], abs=1e-12)
        np.testing.assert_allclose(inf, fits[0][1], atol=1e-10)


# --------------------------------------------------------------------------- known truth
def test_unbalanced_panel_recovers_known_att():
    """Staggered adoption, 3,000 units x 6 periods, a third of the rows missing at
    random: the simple ATT (truth 2.0) is recovered within 4 standard errors."""
    import sys

    sys.path.insert(0, str(Path(__file__).parents[2] / "known_truth"))
    from coverage_settings import _cs_att, _cs_simple_truth

    rng = np.random.default_rng(11)
    n, periods = 3000, 6
    ids = np.repeat(np.arange(n), periods)
    t = np.tile(np.arange(1, periods + 1), n)
    g = np.repeat(rng.choice([0, 3, 5], size=n, p=[0.4, 0.3, 0.3]), periods)
    y = rng.normal(size=n)[ids] + 0.3 * t + _cs_att(g, t - g) + rng.normal(size=len(t))
    df = pd.DataFrame({"id": ids, "t": t, "g": g, "y": y})
    df = df[rng.uniform(size=len(df)) >= 1 / 3]
    res = callaway_santanna(df, outcome="y", unit="id", time="t", group="g",
                            allow_unbalanced_panel=True)  # fmt: skip
    truth = _cs_simple_truth(periods)
    assert truth == pytest.approx(2.0)
    assert abs(res.estimate - truth) < 4 * res.std_error
    assert res.std_error < 0.1
    cells = res.att_gt[res.att_gt["post"]]
    z = (cells["estimate"] - _cs_att(cells["group"], cells["event_time"])) / cells["std_error"]
    assert np.all(np.abs(z) < 4)


# --------------------------------------------------------------------------- never treated
_ZERO = object()  # keep the 0 coding


def _coded(never_code=_ZERO) -> pd.DataFrame:
    rng = np.random.default_rng(5)
    n, periods = 90, 6
    u, t = np.repeat(np.arange(n), periods), np.tile(np.arange(2001, 2001 + periods), n)
    cohort = np.array([0.0, 2003.0, 2005.0])[np.arange(n) % 3][u]
    y = rng.normal(size=n)[u] + ((cohort > 0) & (t >= cohort)) + rng.normal(size=n * periods)
    df = pd.DataFrame({"u": u, "t": t, "y": y, "c": cohort})
    if never_code is not _ZERO:
        df["c"] = df["c"].astype(object).where(df["c"] > 0, never_code)
    return df


@pytest.mark.parametrize("code", [np.nan, None, "", " ", np.inf, 0])
def test_blank_zero_and_inf_mean_never_treated_in_both_designs(code):
    # (event_study used to read inf as a cohort at event time -inf, binned to -leads)
    base = _coded()
    coded = _coded(code)
    keys = dict(outcome="y", unit="u", time="t")
    cs_ref = callaway_santanna(base, **keys, group="c")
    cs = callaway_santanna(coded, **keys, group="c")
    assert cs.estimate == pytest.approx(cs_ref.estimate, abs=1e-12)
    assert cs.std_error == pytest.approx(cs_ref.std_error, rel=1e-12)
    es_ref = _quiet(event_study, base, **keys, cohort="c", leads=2, lags=2, inference="CR2")
    es = _quiet(event_study, coded, **keys, cohort="c", leads=2, lags=2, inference="CR2")
    assert es.estimate == pytest.approx(es_ref.estimate, abs=1e-12)
    blank = code is None or (isinstance(code, str)) or (isinstance(code, float) and np.isnan(code))
    assert any("blank" in note for note in cs.notes) == blank


@pytest.mark.parametrize(
    ("times", "values", "extra", "match"),
    [
        ([-2, -1, 0, 1, 2], [0, 1, -1], (), "uses 0 for never-treated units, but 0 is also"),
        ([2001, 2002], [-1, 2002], (), "negative values"),
        ([2001, 2002], [-np.inf, 2002], (), "-inf"),
        ([2001, 2002], ["never", 2002], (), "must be numeric"),
        ([1, 5, 9], [5, 9], (9,), "uses 9 for never-treated units, but 9 is also"),
    ],
)
def test_ambiguous_never_treated_codes_are_errors(times, values, extra, match):
    with pytest.raises(DataError, match=match):
        adoption_periods(pd.Series(values, dtype=object), "c", np.array(times, float), extra)


def test_zero_as_first_period_is_not_ambiguous():
    # a unit "adopting" in the first period has no untreated period: 0 = never treated
    g, never, _ = adoption_periods(pd.Series([0, 2]), "c", np.arange(0, 4.0))
    assert never.tolist() == [True, False] and g[1] == 2


def test_ambiguous_zero_is_an_error_in_both_designs():
    df = _coded()
    df["t"] = df["t"] - 2002  # periods -1..4: a cohort 0 could adopt in period 0
    df["c"] = np.where(df["c"] > 0, df["c"] - 2002, 0)  # cohorts 1 and 3
    keys = dict(outcome="y", unit="u", time="t")
    with pytest.raises(DataError, match="could be a real adoption period"):
        callaway_santanna(df, **keys, group="c")
    with pytest.raises(DataError, match="could be a real adoption period"):
        event_study(df, **keys, cohort="c", leads=2, lags=2)
    df["c"] = df["c"].where(df["u"] % 3 > 0)  # blank instead: unambiguous
    assert np.isfinite(callaway_santanna(df, **keys, group="c").estimate)


# --------------------------------------------------------------------------- small cohorts
@pytest.mark.parametrize("structure", [{}, {"allow_unbalanced_panel": True}, {"panel": False}])
def test_single_unit_cohort_warns(structure):
    df = _coded()
    df.loc[df["u"] == 1, "c"] = 2004.0  # a cohort of one unit
    if structure:
        df = df.drop(index=df.index[0])  # unbalanced (a never-treated unit's first row)
    with pytest.warns(SmallSampleWarning, match=r"Cohort\(s\) \[2004\] (consist of|have) a single"):
        _ = callaway_santanna(df, outcome="y", unit="u", time="t", group="c", **structure)
