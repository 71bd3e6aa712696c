"""A declared count (ITS with family="poisson" / "quasipoisson") cannot be negative.

Issue 14 item 4: the error names the column, the first offending period and row
(in time order, whatever the order of the caller's rows) and how many there are.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from evaluate.errors import DataError
from evaluate.estimators.series.its import its


def _monthly(n: int = 48) -> pd.DataFrame:
    rng = np.random.default_rng(4)
    months = pd.period_range("2018-01", periods=n, freq="M")
    return pd.DataFrame({"month": months, "cases": rng.poisson(40, size=n).astype(float)})


@pytest.mark.parametrize("family", ["poisson", "quasipoisson"])
def test_negative_count_names_column_period_and_row(family):
    df = _monthly()
    df.loc[[30, 7], "cases"] = [-2.0, -5.0]
    shuffled = df.sample(frac=1.0, random_state=1)  # row order must not matter
    with pytest.raises(DataError) as err:
        its(shuffled, outcome="cases", time="month", start="2020-01", family=family)
    msg = str(err.value)
    assert "'cases'" in msg and family in msg
    assert "2 negative value(s), the first -5 in period 2018-08 (row 7)" in msg
    assert "family='gaussian'" in msg
    assert (shuffled["cases"] < 0).sum() == 2  # caller's data untouched


def test_negative_values_are_fine_for_a_gaussian_outcome():
    df = _monthly()
    df.loc[7, "cases"] = -5.0
    res = its(df, outcome="cases", time="month", start="2020-01")
    assert np.isfinite(res.estimate)
