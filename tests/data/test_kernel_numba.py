"""The numba kernel equals the numpy reference kernel column for column.

The whole of tests/data/test_derive.py also runs on either backend:
``EVALUATE_KERNEL=numpy python -m pytest tests/data`` (default: numba when installed).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from evaluate.data.derive import ResetRule, derive_register, person_week_kernel
from evaluate.data.register import iso_week_label, prepare_records
from evaluate.errors import SpecError
from evaluate.money.refusion import RefusionSchedule
from evaluate.simulate_register import register_histories

pytest.importorskip("numba")


def _frame(records) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "person": records.person,
            "week": records.week,
            "benefit": records.benefit,
            "municipality": records.municipality,
        }
    )


def _adversarial(seed: int, n_persons: int = 300, n_weeks: int = 400) -> pd.DataFrame:
    """Short alternating spells around the reset thresholds, persons of varying length."""
    rng = np.random.default_rng(seed)
    codes = np.array([0, 130, 111, 651, 890])
    rows = []
    for p in range(n_persons):
        length = int(rng.integers(1, n_weeks))
        status, left = [], length
        while left > 0:
            run = int(min(left, rng.choice([1, 3, 25, 51, 52, 53, 104, 160])))
            status += [int(rng.choice(codes, p=[0.45, 0.3, 0.1, 0.05, 0.1]))] * run
            left -= run
        rows.append(pd.DataFrame({"person": p, "k": np.arange(length), "status": status}))
    df = pd.concat(rows, ignore_index=True)
    first = 2514  # week index of 2018-W09; persons start on different weeks
    df["week"] = iso_week_label(first + df["k"].to_numpy() + df["person"].to_numpy() % 17)
    df["municipality"] = "A"
    return df.drop(columns="k")


@pytest.mark.parametrize("rule", [ResetRule(), ResetRule(52, 52), ResetRule(3, 10)])
@pytest.mark.parametrize("source", ["simulated", "adversarial"])
def test_numba_equals_numpy(rule, source):
    if source == "simulated":
        data = register_histories(n_persons=2000, n_weeks=260, seed=3)
    else:
        data = _adversarial(seed=5)
    records = prepare_records(data)
    frame = _frame(records)
    schedule = RefusionSchedule.danish()
    args = (records.codes.benefits, schedule, rule)
    ref = person_week_kernel(*args, backend="numpy")(frame)
    fast = person_week_kernel(*args, backend="numba")(frame)
    pd.testing.assert_frame_equal(fast, ref)
    assert ref["clock"].max() > 0  # the comparison covers non-trivial clocks


def test_derive_register_same_on_both_backends(monkeypatch):
    records = prepare_records(_adversarial(seed=9, n_persons=100))
    out = {}
    for backend in ("numpy", "numba"):
        monkeypatch.setenv("EVALUATE_KERNEL", backend)
        out[backend] = derive_register(records)
    for table in ("spells", "ftp", "transitions"):
        pd.testing.assert_frame_equal(getattr(out["numba"], table), getattr(out["numpy"], table))


def test_unknown_backend():
    records = prepare_records(register_histories(n_persons=5, n_weeks=10, seed=1))
    with pytest.raises(SpecError, match="backend"):
        person_week_kernel(records.codes.benefits, RefusionSchedule.danish(), backend="gpu")
