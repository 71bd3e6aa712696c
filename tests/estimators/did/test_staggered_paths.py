"""Callaway-Sant'Anna input paths: the compiled route for a balanced panel sorted by
unit and period must give what the general route (sorting codes, scatter into a
table) gives for the same rows in another order.

The numbers themselves are checked against R ``did`` in test_staggered.py on
``mpdta``, which is stored sorted and so takes the compiled route (asserted below).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from evaluate.datasets import mpdta
from evaluate.errors import DataError
from evaluate.estimators.did._panel_kernels import (
    centre_scale,
    first_change,
    first_fraction,
    sorted_panel,
    wide_columns,
)
from evaluate.estimators.did.staggered import callaway_santanna

KEYS = dict(outcome="y", unit="id", time="t", group="g")


def _panel(n_units: int = 300, seed: int = 3) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    t = np.arange(1, 7)
    g = rng.choice(np.array([0, 3, 5]), size=n_units, p=[0.4, 0.3, 0.3])
    x1 = rng.normal(size=n_units)
    x2 = rng.normal(size=(n_units, len(t)))
    y = rng.normal(size=n_units)[:, None] + (0.1 + 0.2 * x1[:, None]) * t + 0.3 * x2
    y = y + rng.normal(size=y.shape) + np.where((g[:, None] > 0) & (t >= g[:, None]), 1.0, 0.0)
    return pd.DataFrame(
        {
            "id": np.repeat(np.arange(10, 10 + 3 * n_units, 3), len(t)),  # gaps in the ids
            "t": np.tile(t, n_units),
            "y": y.ravel(),
            "g": np.repeat(g, len(t)),
            "x1": np.repeat(x1, len(t)),
            "x2": x2.ravel(),
        }
    )


def test_sorted_panel_recognises_only_sorted_balanced_panels():
    d = _panel(20)
    u, t = d["id"].to_numpy(), d["t"].to_numpy()
    assert sorted_panel(u, t) == 6
    assert sorted_panel(u.astype(float), t.astype(np.int32)) == 6
    assert sorted_panel(u[::-1].copy(), t[::-1].copy()) == 0  # units descending
    assert sorted_panel(u[:-1], t[:-1]) == 0  # last unit lacks a period
    t_dup = t.copy()
    t_dup[7] = t_dup[6]  # a repeated period within a unit
    assert sorted_panel(u, t_dup) == 0
    t_other = t.copy()
    t_other[6:12] += 1  # the second unit has other periods
    assert sorted_panel(u, t_other) == 0
    assert sorted_panel(np.zeros(5, dtype=int), np.arange(5)) == 5  # one unit: still a panel
    assert sorted_panel(np.arange(5), np.zeros(5, dtype=int)) == 0  # one period only
    assert sorted_panel(u.astype(str).astype(object), t) == 0  # labels: general route


def test_compiled_helpers():
    table = np.zeros((4, 3, 2))
    assert first_change(table) == -1
    table[2, 1, 1] = 1.0
    assert first_change(table) == 2
    assert first_change(table[:, :, 0]) == -1
    assert first_fraction(np.array([1.0, np.nan, np.inf, 2.5, 3.5])) == 3
    assert first_fraction(np.array([1.0, 2.0])) == -1
    a = np.arange(12.0).reshape(4, 3)
    b = np.repeat(np.arange(4.0)[:, None], 3, axis=1)
    out = wide_columns([a, b], np.array([3, 1]), np.array([0, 2]))
    np.testing.assert_array_equal(out[:, :, 0], a[[3, 1]][:, [0, 2]])
    np.testing.assert_array_equal(out[:, :, 1], b[[3, 1]][:, [0, 2]])
    assert wide_columns([b], np.array([3, 1]), np.array([0, 2]), static=True).shape == (2, 1, 1)
    kept = wide_columns([a, b], np.array([3]), np.arange(3), static=True)
    assert kept.shape == (1, 3, 2)  # a changes over time in unit 3
    a[:, 1:] = a[:, :1]
    a[0, 1] = -1.0  # a change in unit 0 only, which is not gathered: static
    assert wide_columns([a, b], np.array([3]), np.arange(3), static=True).shape == (1, 1, 2)


@pytest.mark.parametrize("shape", [(1000, 6, 2), (1000, 1, 3), (1000, 1, 1), (7, 4, 1)])
def test_centre_scale_is_numpys_mean_and_std(shape):
    raw = np.random.default_rng(5).normal(size=shape) * 4.0 + 1e3
    centre, spread = centre_scale(raw)
    np.testing.assert_allclose(centre, raw.mean(axis=0), rtol=1e-15, atol=0)
    np.testing.assert_allclose(spread, raw.std(axis=0), rtol=1e-12, atol=0)


def test_mpdta_takes_the_compiled_route():
    d = mpdta()
    assert sorted_panel(d["countyreal"].to_numpy(), d["year"].to_numpy()) == 5


@pytest.mark.parametrize(
    ("covariates", "method"),
    [((), "dr"), (("x1",), "dr"), (("x1", "x2"), "dr"), (("x1", "x2"), "ipw"), (("x2",), "reg")],
)
def test_sorted_and_shuffled_rows_agree(covariates, method):
    d = _panel()
    assert sorted_panel(d["id"].to_numpy(), d["t"].to_numpy()) == 6
    shuffled = d.sample(frac=1.0, random_state=0)
    a = callaway_santanna(d, **KEYS, covariates=list(covariates), method=method)
    b = callaway_santanna(shuffled, **KEYS, covariates=list(covariates), method=method)
    for col in ("estimate", "std_error"):
        np.testing.assert_allclose(a.att_gt[col], b.att_gt[col], rtol=0, atol=1e-12)
    assert a.provenance.n_rows == b.provenance.n_rows == len(d)


def test_sorted_panel_with_a_dropped_unit_agrees_with_shuffled():
    d = _panel()
    d.loc[3, "y"] = np.nan  # unit 0 loses a period: dropped (balanced panel required)
    with pytest.warns(Warning):
        a = callaway_santanna(d, **KEYS, covariates=["x1", "x2"])
    with pytest.warns(Warning):
        b = callaway_santanna(d.iloc[::-1], **KEYS, covariates=["x1", "x2"])
    np.testing.assert_allclose(a.att_gt["estimate"], b.att_gt["estimate"], rtol=0, atol=1e-12)
    assert a.provenance.n_dropped == b.provenance.n_dropped == 6


def test_sorted_panel_errors_name_the_problem():
    d = _panel(30)
    bad = d.copy()
    bad.loc[bad["id"] == 13, "g"] = [0, 0, 0, 5, 5, 5]  # cohort changes within unit 13
    with pytest.raises(DataError, match="not constant within unit 13"):
        callaway_santanna(bad, **KEYS)
    frac = d.copy()
    frac["g"] = frac["g"].astype(float)
    frac.loc[frac["g"] == 3, "g"] = 3.5
    with pytest.raises(DataError, match="whole periods.*3.5"):
        callaway_santanna(frac, **KEYS)
