"""The front door of the renamed-option designs (:mod:`evaluate.estimators._renamed`).

An old option name is a SpecError that names the new one; a warning a design raises
points at the caller's line (the user's call), not at the decorator's, and obeys the
caller's warning filters.
"""

from __future__ import annotations

import inspect
import warnings

import numpy as np
import pandas as pd
import pytest

import evaluate as ev
from evaluate.errors import DroppedRowsWarning, SmallSampleWarning, SpecError


def _trial(n_per_arm: int = 20) -> pd.DataFrame:
    rng = np.random.default_rng(3)
    arm = np.repeat([0, 1], n_per_arm)
    return pd.DataFrame({"arm": arm, "y": rng.normal(size=2 * n_per_arm) + arm})


def _people() -> pd.DataFrame:
    rng = np.random.default_rng(4)
    x = rng.normal(size=200)
    d = (x + rng.normal(size=200) > 0).astype(float)
    y = 1.0 + x + d + rng.normal(size=200)
    y[:3] = np.nan
    return pd.DataFrame({"y": y, "d": d, "x": x})


def _line_of(marker: str) -> int:
    source, first = inspect.getsourcelines(inspect.currentframe().f_back.f_code)
    return first + next(i for i, line in enumerate(source) if marker in line)


def test_a_design_warning_points_at_the_callers_line():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        ev.trial(_trial(), outcome="y", arm="arm", permutations=0)  # call: trial
    small = [w for w in caught if issubclass(w.category, SmallSampleWarning)]
    assert small, [str(w.message) for w in caught]
    assert {w.filename for w in small} == {__file__}
    assert {w.lineno for w in small} == {_line_of("# call: trial")}


def test_a_warning_from_validation_points_at_the_callers_line_too():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        ev.observational(
            _people(), outcome="y", treatment="d", covariates=["x"], drop_missing=True
        )  # call: observational
    dropped = [w for w in caught if issubclass(w.category, DroppedRowsWarning)]
    assert len(dropped) == 1 and "3" in str(dropped[0].message)
    assert dropped[0].filename == __file__
    assert _line_of("ev.observational(") <= dropped[0].lineno <= _line_of("# call: observ")


def test_the_callers_filters_still_apply():
    with warnings.catch_warnings():
        warnings.simplefilter("error", SmallSampleWarning)
        with pytest.raises(SmallSampleWarning, match="Small arms"):
            ev.trial(_trial(), outcome="y", arm="arm", permutations=0)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        warnings.filterwarnings("ignore", category=SmallSampleWarning)
        ev.trial(_trial(), outcome="y", arm="arm", permutations=0)
    assert not [w for w in caught if issubclass(w.category, SmallSampleWarning)]


def test_an_old_option_name_says_the_new_one():
    with pytest.raises(SpecError, match="outcome_unit"):
        ev.trial(_trial(50), outcome="y", arm="arm", unit="persons")
