"""The numba kernel equals the numpy reference kernel column for column, and the
summarising kernel equals pandas aggregation of the per person-week rows.

The whole of tests/data/test_derive.py also runs on either backend:
``EVALUATE_KERNEL=numpy python -m pytest tests/data`` (default: numba).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from evaluate.data.derive import (
    ResetRule,
    derive_register,
    person_week_kernel,
    summary_kernel,
)
from evaluate.data.register import iso_week_label, prepare_records
from evaluate.errors import SpecError
from evaluate.money.refusion import RefusionSchedule
from evaluate.simulate_register import register_histories


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


def _rows_summarised(rows: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """The partial tables by pandas from the per person-week rows: an independent
    statement of what spells, full-time-person cells and flows are."""
    ends = rows[rows["spell_end"]]
    spells = pd.DataFrame(
        {
            "person": ends["person"].to_numpy("int64"),
            "benefit": ends["benefit"].to_numpy("int64"),
            "start_week": ends["spell_start"].to_numpy("int64"),
            "end_week": ends["week"].to_numpy("int64"),
        }
    )
    ftp = (
        rows.groupby(["municipality", "month", "benefit"])
        .agg(person_weeks=("week", "size"), refusion_ppm=("refusion_ppm", "sum"))
        .reset_index()
        .astype("int64")
    )
    moved = rows[(rows["prev_benefit"] >= 0) & (rows["prev_benefit"] != rows["benefit"])]
    flows = (
        moved.rename(columns={"prev_benefit": "from_benefit", "benefit": "to_benefit"})
        .groupby(["municipality", "month", "from_benefit", "to_benefit"])
        .size()
        .rename("flows")
        .reset_index()
        .astype("int64")
    )
    return {"spells": spells, "ftp_cells": ftp, "flow_cells": flows}


@pytest.mark.parametrize("backend", ["numpy", "numba"])
@pytest.mark.parametrize("source", ["simulated", "adversarial"])
def test_summary_kernel_equals_aggregated_rows(backend, source):
    if source == "simulated":
        data = register_histories(n_persons=1500, n_weeks=200, n_municipalities=7, seed=4)
    else:
        data = _adversarial(seed=6)
    records = prepare_records(data)
    frame = _frame(records)
    args = (records.codes.benefits, RefusionSchedule.danish(), ResetRule())
    window = (int(frame["week"].min()), int(frame["week"].max()))
    # Chunked into many small spans over two workers: partials must still add up.
    import evaluate.data.kernel as kernel_module

    old = kernel_module.CHUNK_ROWS
    kernel_module.CHUNK_ROWS = 997
    try:
        got = summary_kernel(*args, window=window, workers=2, backend=backend)(frame)
    finally:
        kernel_module.CHUNK_ROWS = old
    want = _rows_summarised(person_week_kernel(*args, backend="numpy")(frame))
    pd.testing.assert_frame_equal(got["spells"], want["spells"])
    keys = {"ftp_cells": ["municipality", "month", "benefit"],
            "flow_cells": ["municipality", "month", "from_benefit", "to_benefit"]}  # fmt: skip
    for name, by in keys.items():
        pd.testing.assert_frame_equal(
            got[name].sort_values(by).reset_index(drop=True).astype("int64"), want[name]
        )
    assert len(want["flow_cells"]) > 10 and want["ftp_cells"]["refusion_ppm"].sum() > 0


def test_too_many_cells_is_a_clear_error(monkeypatch):
    import evaluate.data.kernel as kernel_module
    from evaluate.errors import DataError

    records = prepare_records(register_histories(n_persons=50, n_weeks=30, seed=2))
    frame = _frame(records)
    monkeypatch.setattr(kernel_module, "MAX_CELLS", 10)
    kernel = summary_kernel(
        records.codes.benefits, RefusionSchedule.danish(), window=records.window
    )
    with pytest.raises(DataError, match="cells exceed"):
        kernel(frame)
