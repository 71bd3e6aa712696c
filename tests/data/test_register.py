"""Record format, ISO weeks, status codes, readers and bad input."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from evaluate.data.readers import iter_register, read_register
from evaluate.data.register import (
    StatusCodes,
    iso_week_index,
    iso_week_label,
    month_label,
    prepare_records,
    week_month,
    weeks_in_month,
)
from evaluate.errors import DataError, SpecError
from evaluate.simulate_register import register_histories


def _records(**cols: object) -> pd.DataFrame:
    base = {"person": [1, 1, 2], "week": [202001, 202002, 202001], "status": [130, 0, 111]}
    base.update(cols)
    return pd.DataFrame(base)


# ----------------------------------------------------------------------------- weeks
def test_week_index_round_trips_against_the_standard_library() -> None:
    days = [dt.date(1995, 1, 1) + dt.timedelta(days=int(d)) for d in range(0, 12000, 5)]
    labels = [d.isocalendar()[0] * 100 + d.isocalendar()[1] for d in days]
    idx = iso_week_index(labels)
    np.testing.assert_array_equal(iso_week_label(idx), labels)
    mondays = [dt.date.fromisocalendar(w // 100, w % 100, 1) for w in labels]
    np.testing.assert_array_equal(
        idx, [(m - dt.date(1969, 12, 29)).days // 7 for m in mondays]
    )  # weeks since Monday of 1970-W01
    thursdays = [dt.date.fromisocalendar(w // 100, w % 100, 4).strftime("%Y-%m") for w in labels]
    np.testing.assert_array_equal(month_label(week_month(idx)), thursdays)


def test_week_strings() -> None:
    assert iso_week_index(["2020-W53", "2021W01", "2021-02"]).tolist() == [2661, 2662, 2663]


@pytest.mark.parametrize(
    ("value", "match"),
    [
        (202154, "2021-W54"),
        (202153, "2021-W53"),  # 2021 has 52 ISO weeks
        (202000, "2020-W00"),
        (-201901, "negative week -201901"),
        (19, "year 0"),
        ("2020-X5", "2020-X5"),
    ],
)
def test_bad_weeks_are_named(value: object, match: str) -> None:
    with pytest.raises(DataError, match=match):
        iso_week_index([value])


def test_large_inputs_use_the_lookup_table_path_with_the_same_result() -> None:
    labels = np.repeat(iso_week_label(np.arange(2600, 2900)), 400)  # 120,000 values
    np.testing.assert_array_equal(iso_week_index(labels), np.repeat(np.arange(2600, 2900), 400))
    labels[-1] = 202153  # invalid: 2021 has 52 weeks
    with pytest.raises(DataError, match="2021-W53"):
        iso_week_index(labels)


def test_weeks_in_month() -> None:
    months = week_month(iso_week_index([202001, 202006]))  # January and February 2020
    assert weeks_in_month(months).tolist() == [5, 4]


# ----------------------------------------------------------------------------- codes
def test_status_codes_table_and_overrides() -> None:
    codes = StatusCodes.danish()
    assert codes.benefit_of(130) == "kontanthjaelp"
    b = codes.benefits.set_index("benefit")
    assert b.loc["self_support", "public_support"] == 0
    assert b.loc["sygedagpenge", "public_support"] == 1
    over = codes.with_overrides({999: "fleksjob", 130: "uddannelseshjaelp"})
    assert over.benefit_of(999) == "fleksjob"
    assert over.benefit_of(130) == "uddannelseshjaelp"
    assert codes.benefit_of(130) == "kontanthjaelp"  # the original is untouched
    with pytest.raises(SpecError, match="'pension'"):
        codes.with_overrides({1: "pension"})


def test_custom_code_table() -> None:
    table = pd.DataFrame(
        {"code": [0, 1], "benefit": ["self_support", "aid"], "public_support": [0, 1]}
    )
    table["refusion"] = [0, 1]
    codes = StatusCodes.from_frame(table)
    rec = prepare_records(_records(status=[1, 0, 1]), municipality=None, codes=codes)
    assert rec.to_frame()["benefit"].tolist() == ["aid", "self_support", "aid"]
    with pytest.raises(SpecError, match="self_support"):
        StatusCodes.from_frame(table.assign(benefit=["none", "aid"]))
    with pytest.raises(SpecError, match="mapped twice"):
        StatusCodes.from_frame(pd.concat([table, table]))


def test_unknown_status_codes_are_named_with_counts() -> None:
    with pytest.raises(DataError, match=r"777 \(2 rows\)"):
        prepare_records(_records(status=[777, 0, 777]), municipality=None)


# ----------------------------------------------------------------------------- bad input
def test_duplicate_person_weeks() -> None:
    df = _records(week=[202001, 202001, 202001])
    with pytest.raises(DataError, match="duplicate person-weeks.*person 1, week 202001"):
        prepare_records(df, municipality=None)


def test_unsorted_rows_are_reordered_and_counted() -> None:
    df = _records(week=[202002, 202001, 202001])
    rec = prepare_records(df, municipality=None)
    assert rec.repairs == {"rows_reordered": 3}
    assert rec.to_frame()["week"].tolist() == [202001, 202002, 202001]
    assert df["week"].tolist() == [202002, 202001, 202001]  # caller's frame untouched


def test_gaps_error_or_fill() -> None:
    df = pd.DataFrame(
        {
            "person": [1, 1, 1],
            "week": [202001, 202004, 202005],
            "status": [130, 130, 130],
            "municipality": ["A", "B", "B"],
        }
    )
    with pytest.raises(DataError, match="2 missing weeks.*person 1 after week 202001"):
        prepare_records(df)
    rec = prepare_records(df, gaps="fill")
    out = rec.to_frame()
    assert rec.repairs == {"gap_weeks_filled": 2}
    assert out["week"].tolist() == [202001, 202002, 202003, 202004, 202005]
    assert out["benefit"].tolist()[1:3] == ["self_support", "self_support"]
    assert out["municipality"].tolist() == ["A", "A", "A", "B", "B"]
    with pytest.raises(SpecError, match="gaps must be"):
        prepare_records(df, gaps="drop")  # type: ignore[arg-type]


def test_future_weeks_and_window() -> None:
    with pytest.raises(DataError, match="future week 203001"):
        prepare_records(_records(week=[202001, 203001, 202001]), municipality=None)
    with pytest.raises(DataError, match="future week"):
        prepare_records(_records(), municipality=None, last_valid_week=201952)
    with pytest.raises(DataError, match="outside the window"):
        prepare_records(_records(), municipality=None, window=(202002, 202010))


def test_mixed_id_types() -> None:
    df = _records(person=pd.Series([1, "1", 2], dtype=object))
    with pytest.raises(DataError, match="mixes id types"):
        prepare_records(df, municipality=None)


def test_missing_values_and_columns() -> None:
    with pytest.raises(DataError, match="'status' has 1 missing"):
        prepare_records(_records(status=[130, None, 0]), municipality=None)
    with pytest.raises(DataError, match="'municipality'"):
        prepare_records(_records())
    with pytest.raises(DataError, match="non-empty|no rows"):
        prepare_records(_records().iloc[:0], municipality=None)


# ----------------------------------------------------------------------------- readers
@pytest.fixture(scope="module")
def register() -> pd.DataFrame:
    return register_histories(n_persons=40, n_weeks=30, seed=2)


def test_parquet_and_csv_readers(tmp_path, register: pd.DataFrame) -> None:
    pq_path, csv_path = tmp_path / "r.parquet", tmp_path / "r.csv"
    register.to_parquet(pq_path)
    register.to_csv(csv_path, index=False)
    for path in (pq_path, csv_path):
        got = read_register(path)
        pd.testing.assert_frame_equal(got, register, check_dtype=False)
        chunks = list(iter_register(path, chunk_rows=500))
        assert [len(c) for c in chunks] == [500, 500, 200]


def test_stata_reader(tmp_path, register: pd.DataFrame) -> None:
    pyreadstat = pytest.importorskip("pyreadstat")
    path = tmp_path / "r.dta"
    pyreadstat.write_dta(register, str(path))
    got = read_register(path)
    np.testing.assert_array_equal(got["status"].to_numpy(), register["status"].to_numpy())
    rec = prepare_records(got)
    assert rec.n_rows == len(register)


def test_reader_errors(tmp_path) -> None:
    with pytest.raises(DataError, match="does not exist"):
        read_register(tmp_path / "missing.parquet")
    odd = tmp_path / "r.xyz"
    odd.write_text("x")
    with pytest.raises(DataError, match="format="):
        read_register(odd)


# ----------------------------------------------------------------------------- simulator
def test_simulator_is_seeded_and_sorted() -> None:
    a = register_histories(n_persons=50, n_weeks=20, seed=5)
    b = register_histories(n_persons=50, n_weeks=20, seed=5)
    pd.testing.assert_frame_equal(a, b)
    assert prepare_records(a).repairs == {}  # sorted, complete, known codes
    assert a.attrs["truth"]["simulated"] is True


def test_simulator_puts_in_the_exit_effect() -> None:
    # Known truth: the kontanthjaelp -> self-support hazard is 1.5x in treated
    # municipalities after the start.  Ratio of (treated/control) hazard ratios
    # post vs pre; frailty selection biases it slightly towards 1, hence the
    # wide band (a null effect gives ~1.0, outside it).
    df = register_histories(
        n_persons=12_000, n_weeks=104, n_municipalities=4, exit_effect=0.5, seed=4
    )
    t0 = df.attrs["truth"]["intervention_week"]
    df = df.sort_values(["person", "week"])
    nxt = df.groupby("person")["status"].shift(-1)
    kh = df[(df["status"] == 130) & nxt.notna()].assign(exit=lambda x: nxt[x.index] == 0)
    kh["treated"] = kh["municipality"].isin(df.attrs["truth"]["treated"])
    kh["post"] = kh["week"] >= t0
    h = kh.groupby(["treated", "post"])["exit"].mean()
    ratio = (h[(True, True)] / h[(False, True)]) / (h[(True, False)] / h[(False, False)])
    assert 1.25 < ratio < 1.75


def test_compiled_validation_passes_equal_numpy():
    """The one-pass helpers behind prepare_records against plain NumPy statements."""
    from evaluate.data import _validate_numba as fast

    rng = np.random.default_rng(11)
    for trial in range(40):
        n = int(rng.integers(1, 300))
        person = np.sort(rng.integers(0, 25, n))
        week = rng.integers(0, 12, n)
        order = np.lexsort((week, person))
        person, week = person[order], week[order]
        if trial % 4 == 0 and n > 2:  # some unordered inputs
            swap = rng.permutation(n)
            person, week = person[swap], week[swap]
        dp, dw = np.diff(person), np.diff(week)
        is_ordered = bool(np.all((dp > 0) | ((dp == 0) & (dw >= 0))))
        assert fast.ordered(person, week) == is_ordered
        ok, codes, distinct = fast.sorted_codes(person)
        assert ok == bool(np.all(np.diff(person) >= 0))
        if ok:
            uniq, inverse = np.unique(person, return_inverse=True)
            np.testing.assert_array_equal(codes, inverse)
            np.testing.assert_array_equal(distinct, uniq)
        if is_ordered:
            same = person[1:] == person[:-1]
            step = np.diff(week)
            dup = np.flatnonzero(same & (step == 0))
            gap = np.flatnonzero(same & (step > 1))
            got = fast.duplicates_and_gaps(person, week)
            want = (dup.size, dup[0] if dup.size else -1, gap.size,
                    int((step[gap] - 1).sum()), gap[0] if gap.size else -1)  # fmt: skip
            assert tuple(int(v) for v in got) == want
    table = np.array([5, -1, 7])
    out, bad = fast.lookup(np.array([10, 12, 11, 10]), table, 10)
    assert out.tolist() == [5, 7, -1, 5] and bad == 1
