"""Register records: one benefit status per person per ISO week.

The record format is DREAM style: a person id, an ISO year-week, a status code
and optionally the municipality responsible that week.  This module turns such
records into sorted, validated numpy columns (:class:`RegisterRecords`) that the
derivations in :mod:`evaluate.data.derive` consume.

Weeks
    An ISO week is given as an integer ``yyyyww`` (``201905``) or a string
    ``"2019-W05"`` / ``"2019W05"``.  Internally it becomes a *week index*: the
    number of weeks since ISO week 1970-W01 (Monday 29 December 1969), so week
    arithmetic is integer arithmetic.  A week belongs to the calendar month of
    its **Thursday**, the same rule ISO 8601 uses to give a week its year.

Status codes
    Codes map to benefit types through a table with columns ``code, benefit,
    public_support, refusion, label``.  The default
    (``evaluate/data/status_codes_dk.csv``, :meth:`StatusCodes.danish`) is an
    *illustrative* DREAM-style list, not the official DREAM code book: map your
    register's codes with :meth:`StatusCodes.from_frame` or
    :meth:`StatusCodes.with_overrides`.  ``public_support`` marks the benefits
    whose weeks count on the refusion clock; ``refusion`` marks those the state
    reimburses by the duration schedule.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib.resources import files
from typing import Literal

import numpy as np
import pandas as pd

from evaluate.data import _validate_numba as _fast
from evaluate.data.validate import check_columns, check_frame
from evaluate.errors import DataError, SpecError
from evaluate.limits import check_memory

SELF_SUPPORT = "self_support"
_EPOCH = np.datetime64("1970-01-01", "D")  # a Thursday: the Thursday of week index 0


# ----------------------------------------------------------------------------- weeks
def _week1_index(years: np.ndarray) -> np.ndarray:
    """Week index of ISO week 1 of each year (the week holding 4 January)."""
    jan4 = (years.astype("int64") - 1970).astype("datetime64[Y]").astype("datetime64[D]") + 3
    days = (jan4 - _EPOCH).astype("int64")
    monday = days - (days + 3) % 7  # 1970-01-01 is a Thursday (weekday 3)
    return (monday + 3) // 7


def iso_week_index(values: object, *, column: str = "week") -> np.ndarray:
    """Week index (weeks since 1970-W01) of ISO year-weeks.

    Parameters
    ----------
    values
        Integers ``yyyyww`` or strings ``"yyyy-Www"``, ``"yyyyWww"`` or ``"yyyy-ww"``.
    column
        Name used in error messages.

    Examples
    --------
    >>> iso_week_index([197001, 202053, 202101]).tolist()
    [0, 2661, 2662]
    """
    arr = np.asarray(values)
    if arr.dtype.kind in "OUS":
        text = pd.Series(arr.ravel()).astype(str).str.strip().str.upper()
        parts = text.str.extract(r"^(\d{4})-?W?(\d{1,2})$")
        bad = parts[0].isna().to_numpy()
        if bad.any():
            raise DataError(
                f"Column {column!r} holds {int(bad.sum())} value(s) that are not ISO weeks "
                f"(first: {text[bad].iloc[0]!r}); write weeks as 'YYYY-Www' or YYYYWW."
            )
        year = parts[0].astype("int64").to_numpy()
        week = parts[1].astype("int64").to_numpy()
    elif arr.dtype.kind == "f" and not np.all(np.isfinite(arr) & (arr == np.floor(arr))):
        i = int(np.flatnonzero(~(np.isfinite(arr) & (arr == np.floor(arr))))[0])
        raise DataError(
            f"Column {column!r} holds week {float(arr.ravel()[i])!r} at row {i} (counting "
            "from 0); weeks are whole ISO year-weeks such as 201905 (2019-W05)."
        )
    elif arr.dtype.kind in "iuf":
        code = arr.astype("int64").ravel()
        if code.size > 100_000 and 0 <= code.min() and code.max() - code.min() < 1_000_000:
            return _dense_week_index(code, column)
        year, week = code // 100, code % 100
        neg = code < 0
        if neg.any():
            raise DataError(
                f"Column {column!r} holds negative week {int(code[neg][0])}; weeks are "
                "ISO year-weeks such as 201905 (2019-W05)."
            )
    else:
        raise DataError(
            f"Column {column!r} has dtype {arr.dtype}; give weeks as integers YYYYWW "
            "or strings 'YYYY-Www'."
        )
    if year.size == 0:
        return year
    y_lo, y_hi = int(year.min()), int(year.max())
    if 0 <= y_lo and y_hi - y_lo < 2000:  # few distinct years: index a dense table
        uniq = np.arange(y_lo, y_hi + 1)
        inverse = year - y_lo
    else:
        uniq, inverse = np.unique(year, return_inverse=True)
    if uniq[0] < 1900 or uniq[-1] > 2999:
        bad_year = uniq[0] if uniq[0] < 1900 else uniq[-1]
        raise DataError(
            f"Column {column!r} holds a week in year {int(bad_year)}; expected YYYYWW with "
            "a year between 1900 and 2999 (is the column a week number without the year?)."
        )
    first = _week1_index(uniq)
    n_weeks = _week1_index(uniq + 1) - first
    out_of_range = (week < 1) | (week > n_weeks[inverse])
    if out_of_range.any():
        i = int(np.flatnonzero(out_of_range)[0])
        raise DataError(
            f"Column {column!r} holds week {int(year[i])}-W{int(week[i]):02d}, but ISO year "
            f"{int(year[i])} has weeks 1..{int(n_weeks[inverse[i]])}."
        )
    return first[inverse] + week - 1


def _dense_week_index(code: np.ndarray, column: str) -> np.ndarray:
    """Week index of many ``yyyyww`` codes via a lookup table over their range: O(n)."""
    lo, hi = int(code.min()), int(code.max())
    span = np.arange(lo, hi + 1)
    year, week = span // 100, span % 100
    valid = (year >= 1900) & (year <= 2999) & (week >= 1)
    first = _week1_index(np.clip(year, 1900, 2999))
    valid &= week <= _week1_index(np.clip(year, 1900, 2999) + 1) - first
    lut = np.where(valid, first + week - 1, -1)
    out, n_bad = _fast.lookup(code, lut, lo)
    if n_bad:
        iso_week_index(code[out < 0][:1], column=column)  # raises the specific error
    return out


def iso_week_label(index: np.ndarray | int) -> np.ndarray:
    """Integer ``yyyyww`` of week indices (the inverse of :func:`iso_week_index`)."""
    idx = np.asarray(index, dtype="int64")
    thursday = _EPOCH + idx * 7
    year = thursday.astype("datetime64[Y]").astype("int64") + 1970
    return year * 100 + (idx - _week1_index(year)) + 1


def week_month(index: np.ndarray) -> np.ndarray:
    """Month of each week index as months since 1970-01, by the week's Thursday."""
    idx = np.asarray(index, dtype="int64")
    return (_EPOCH + idx * 7).astype("datetime64[M]").astype("int64")


def month_label(month: np.ndarray) -> np.ndarray:
    """``'YYYY-MM'`` strings of months since 1970-01."""
    return np.asarray(month, dtype="int64").astype("datetime64[M]").astype(str)


def weeks_in_month(months: np.ndarray) -> np.ndarray:
    """Number of ISO weeks whose Thursday falls in each month (4 or 5)."""
    m = np.asarray(months, dtype="int64")
    first = m.astype("datetime64[M]").astype("datetime64[D]")
    nxt = (m + 1).astype("datetime64[M]").astype("datetime64[D]")
    # Thursdays in [first, nxt): count via the week index of the first Thursday >= day.
    first_thu = (first - _EPOCH).astype("int64")
    next_thu = (nxt - _EPOCH).astype("int64")
    return (-(-next_thu // 7)) - (-(-first_thu // 7))


# ----------------------------------------------------------------------------- codes
@dataclass(frozen=True, eq=False)
class StatusCodes:
    """Mapping from register status codes to benefit types.

    ``frame`` has columns ``code`` (int), ``benefit`` (str), ``public_support``
    (0/1: counts on the refusion clock), ``refusion`` (0/1: reimbursed by the
    duration schedule) and ``label``.  Benefits are numbered in order of first
    appearance; exactly one benefit must be ``self_support``.

    Examples
    --------
    >>> codes = StatusCodes.danish().with_overrides({999: "kontanthjaelp"})
    >>> codes.benefit_of(999)
    'kontanthjaelp'
    """

    frame: pd.DataFrame

    def __post_init__(self) -> None:
        check_columns(self.frame, ["code", "benefit", "public_support", "refusion"], "codes")
        dup = self.frame["code"].duplicated()
        if dup.any():
            raise SpecError(f"Status code {self.frame['code'][dup].iloc[0]!r} is mapped twice.")
        if SELF_SUPPORT not in set(self.frame["benefit"]):
            raise SpecError("The status-code table needs a 'self_support' benefit.")
        for col in ("public_support", "refusion"):
            per = self.frame.groupby("benefit", sort=False)[col].nunique()
            if (per > 1).any():
                raise SpecError(f"Benefit {per[per > 1].index[0]!r} has mixed {col} flags.")

    @classmethod
    def danish(cls) -> StatusCodes:
        """The illustrative DREAM-style code list in ``status_codes_dk.csv``."""
        with (files("evaluate.data") / "status_codes_dk.csv").open("rb") as handle:
            return cls(pd.read_csv(handle))

    @classmethod
    def from_frame(cls, frame: pd.DataFrame) -> StatusCodes:
        """A user table with columns ``code, benefit, public_support, refusion``."""
        out = frame.copy()
        if "label" not in out:
            out["label"] = out["benefit"]
        return cls(out.reset_index(drop=True))

    def with_overrides(self, mapping: Mapping[int, str]) -> StatusCodes:
        """Map (or re-map) codes to existing benefit types."""
        flags = self.benefits.set_index("benefit")
        unknown = [b for b in mapping.values() if b not in flags.index]
        if unknown:
            raise SpecError(
                f"Unknown benefit {unknown[0]!r}; known: {', '.join(flags.index)}. "
                "Use StatusCodes.from_frame to add a new benefit type."
            )
        keep = self.frame[~self.frame["code"].isin(list(mapping))]
        extra = pd.DataFrame(
            {
                "code": list(mapping),
                "benefit": list(mapping.values()),
                "public_support": [int(flags.loc[b, "public_support"]) for b in mapping.values()],
                "refusion": [int(flags.loc[b, "refusion"]) for b in mapping.values()],
                "label": "override",
            }
        )
        return StatusCodes(pd.concat([keep, extra], ignore_index=True))

    @property
    def benefits(self) -> pd.DataFrame:
        """One row per benefit: ``benefit_id, benefit, public_support, refusion``."""
        out = self.frame.drop_duplicates("benefit")[["benefit", "public_support", "refusion"]]
        out = out.reset_index(drop=True)
        out.insert(0, "benefit_id", np.arange(len(out), dtype="int16"))
        return out

    def benefit_of(self, code: int) -> str:
        hit = self.frame.loc[self.frame["code"] == code, "benefit"]
        if hit.empty:
            raise DataError(f"Status code {code!r} is not in the code table.")
        return str(hit.iloc[0])

    def encode(self, codes: np.ndarray, *, column: str = "status") -> np.ndarray:
        """Benefit ids of status codes; unknown codes raise a :class:`DataError`."""
        arr = np.asarray(codes)
        if arr.dtype.kind == "f":
            if np.isnan(arr).any():
                raise DataError(
                    f"Column {column!r} has {int(np.isnan(arr).sum())} missing status codes; "
                    "code weeks without a benefit as self-support (0)."
                )
            whole = np.isfinite(arr) & (arr == np.floor(arr)) & (np.abs(arr) < 2**53)
            if not whole.all():
                i = int(np.flatnonzero(~whole)[0])
                raise DataError(
                    f"Column {column!r} holds status code {float(arr[i])!r} at row {i} "
                    f"(counting from 0; {int((~whole).sum())} rows are not whole numbers); "
                    "status codes are "
                    "integers, so a fraction is a corrupted value: fix it at the source."
                )
            arr = arr.astype("int64")
        if arr.dtype.kind not in "iu":
            raise DataError(f"Column {column!r} must hold integer status codes, got {arr.dtype}.")
        table = self.frame["code"].to_numpy("int64")
        ids = self.benefits.set_index("benefit")["benefit_id"]
        table_ids = ids.loc[self.frame["benefit"]].to_numpy("int16")
        lo = int(min(table.min(), arr.min()))
        hi = int(max(table.max(), arr.max()))
        if hi - lo < 10_000_000:  # a dense lookup table is O(n) and avoids a sort
            lut = np.full(hi - lo + 1, -1, dtype="int16")
            lut[table - lo] = table_ids
            out = lut[arr.astype("int64") - lo]
        else:
            order = np.argsort(table)
            pos = np.clip(np.searchsorted(table[order], arr), 0, len(table) - 1)
            out = np.where(table[order][pos] == arr, table_ids[order][pos], -1).astype("int16")
        unknown = out < 0
        if unknown.any():
            vals, counts = np.unique(arr[unknown], return_counts=True)
            pairs = zip(vals[:10], counts[:10], strict=True)
            listing = ", ".join(f"{v} ({c} rows)" for v, c in pairs)
            raise DataError(
                f"Column {column!r} holds status codes not in the code table: {listing}. "
                "Map them with StatusCodes.danish().with_overrides({code: benefit})."
            )
        return out


# ----------------------------------------------------------------------------- records
@dataclass(frozen=True, eq=False)
class RegisterRecords:
    """Validated person-week records as numpy columns sorted by person, then week.

    ``person`` and ``municipality`` are integer codes into ``person_ids`` and
    ``municipalities`` (int64 and int32); ``week`` is a week index
    (:func:`iso_week_index`, int32);
    ``benefit`` a benefit id of ``codes.benefits``.  ``window`` is the first and
    last week index of the data window (spells touching it are censored).
    ``repairs`` counts what was repaired (e.g. rows re-sorted, gap weeks filled).
    """

    person: np.ndarray
    week: np.ndarray
    benefit: np.ndarray
    municipality: np.ndarray
    person_ids: np.ndarray
    municipalities: np.ndarray
    codes: StatusCodes
    window: tuple[int, int]
    repairs: dict[str, int] = field(default_factory=dict)

    @property
    def n_rows(self) -> int:
        return int(self.week.size)

    def kernel_frame(self) -> pd.DataFrame:
        """The coded columns the kernels read (``person, week, benefit, municipality``),
        without copying them."""
        return pd.DataFrame(
            {
                "person": self.person,
                "week": self.week,
                "benefit": self.benefit,
                "municipality": self.municipality,
            },
            copy=False,
        )

    def to_frame(self) -> pd.DataFrame:
        """Records as a frame with original ids, ``yyyyww`` weeks and benefit names."""
        names = self.codes.benefits["benefit"].to_numpy()
        return pd.DataFrame(
            {
                "person": self.person_ids[self.person],
                "week": iso_week_label(self.week),
                "benefit": names[self.benefit],
                "municipality": self.municipalities[self.municipality],
            }
        )


def _factorize_ids(values: pd.Series, column: str) -> tuple[np.ndarray, np.ndarray]:
    if values.dtype == object or pd.api.types.is_string_dtype(values):
        kinds = values.map(type).value_counts()
        if len(kinds) > 1:
            examples = {k.__name__: values[values.map(type) == k].iloc[0] for k in kinds.index[:3]}
            raise DataError(
                f"Column {column!r} mixes id types {examples}; ids 123 and '123' would be "
                "different people. Convert the column to one type (e.g. .astype(str))."
            )
    arr = values.to_numpy()
    if arr.dtype.kind in "iu" and arr.size:
        ok, codes, distinct = _fast.sorted_codes(arr)
        if ok:  # sorted ids (as a register sorted by person is): one pass, no hashing
            return codes, distinct
        lo, hi = int(arr.min()), int(arr.max())
        if hi - lo < 50_000_000:  # small range: a dense lookup table, no sort of n values
            present = np.zeros(hi - lo + 1, dtype=bool)
            present[arr - lo] = True
            uniques = np.flatnonzero(present) + lo
            lut = np.cumsum(present, dtype="int64") - 1
            return lut[arr - lo], uniques.astype(arr.dtype)
    codes, uniques = pd.factorize(values, sort=True)
    if (codes < 0).any():
        raise DataError(f"Column {column!r} has {int((codes < 0).sum())} missing values.")
    return codes.astype("int64"), np.asarray(uniques)


_BYTES_PER_ROW = 64
"""Estimated peak bytes per row of :func:`prepare_records` (not counting the input
frame): person, week and status as int64 while they are checked, a sort key and
order, and the int32/int16 output columns."""


def prepare_records(
    data: pd.DataFrame,
    *,
    person: str = "person",
    week: str = "week",
    status: str = "status",
    municipality: str | None = "municipality",
    codes: StatusCodes | None = None,
    window: tuple[object, object] | None = None,
    last_valid_week: object | None = None,
    gaps: Literal["error", "fill"] = "error",
) -> RegisterRecords:
    """Validate person-week records and return them as sorted numpy columns.

    Parameters
    ----------
    data
        One row per person and ISO week.  Not modified.
    person, week, status, municipality
        Column names; ``municipality=None`` puts everybody in one unit ``"all"``.
    codes
        Status-code table (default :meth:`StatusCodes.danish`).
    window
        First and last ISO week of the data window (default: the data's range).
        Rows outside it are an error.
    last_valid_week
        Weeks after this ISO week are an error (default: the current week).
    gaps
        A person missing weeks between their first and last record: ``"error"``
        (default) or ``"fill"``: insert the missing weeks as self-support in the
        municipality of the week before, counted in ``repairs["gap_weeks_filled"]``.

    Raises
    ------
    DataError
        Duplicate person-weeks, unknown status codes, invalid/negative/future weeks,
        mixed id types, missing values, person gaps (``gaps="error"``).

    Examples
    --------
    >>> df = pd.DataFrame({"person": [1, 1], "week": [202001, 202002], "status": [130, 0]})
    >>> prepare_records(df, municipality=None).n_rows
    2
    """
    check_frame(data)
    check_memory(
        _BYTES_PER_ROW * len(data),
        f"Validating {len(data):,} register rows in memory (stream larger registers "
        "from Parquet with derive_parquet)",
    )
    if gaps not in ("error", "fill"):
        raise SpecError(f"gaps must be 'error' or 'fill', got {gaps!r}.")
    cols = [person, week, status] + ([municipality] if municipality else [])
    check_columns(data, cols)
    codes = codes or StatusCodes.danish()
    limit_code = last_valid_week if last_valid_week is not None else _current_week()
    fast = _prepare_clean(data, cols, codes, window, limit_code)
    if fast is not None:  # clean integer records: one compiled pass, same result
        return fast
    for col in cols:
        n_missing = int(data[col].isna().sum())
        if n_missing:
            raise DataError(f"Column {col!r} has {n_missing} missing values; fill or remove them.")
    pid, person_ids = _factorize_ids(data[person], person)
    wk = iso_week_index(data[week].to_numpy(), column=week)
    ben = codes.encode(data[status].to_numpy(), column=status)
    if municipality:
        mun, municipalities = _factorize_ids(data[municipality], municipality)
    else:
        mun, municipalities = np.zeros(len(data), dtype="int64"), np.array(["all"], dtype=object)

    limit = iso_week_index([limit_code], column="last")[0]
    if wk.max() > limit:
        raise future_week_error(week, int(wk.max()), int(limit))
    if window is None:
        lo, hi = int(wk.min()), int(wk.max())
    else:
        lo, hi = (int(v) for v in iso_week_index(list(window), column="window"))
        outside = (wk < lo) | (wk > hi)
        if outside.any():
            raise DataError(
                f"{int(outside.sum())} rows lie outside the window {window} "
                f"(first: week {int(iso_week_label(wk[outside][0]))}); filter them first."
            )

    repairs: dict[str, int] = {}
    if not _fast.ordered(pid, wk):
        key = pid * (hi - lo + 2) + (wk - lo)
        order = np.argsort(key, kind="stable")
        pid, wk, ben, mun = pid[order], wk[order], ben[order], mun[order]
        repairs["rows_reordered"] = int(len(key))
    n_dup, i_dup, n_gaps, n_missing, i_gap = _fast.duplicates_and_gaps(pid, wk)
    if n_dup:
        raise DataError(
            f"{n_dup} duplicate person-weeks (first: person "
            f"{_plain(person_ids[pid[i_dup]])!r}, week {int(iso_week_label(wk[i_dup]))}); keep "
            "one status per person and week."
        )
    if n_gaps:
        if gaps == "error":
            raise DataError(
                f"{n_gaps} gaps ({n_missing} missing weeks) inside person histories "
                f"(first: person {_plain(person_ids[pid[i_gap]])!r} after week "
                f"{int(iso_week_label(wk[i_gap]))}); pass gaps='fill' to count them as "
                "self-support."
            )
        pid, wk, ben, mun = _fill_gaps(pid, wk, ben, mun, codes)
        repairs["gap_weeks_filled"] = int(n_missing)
    return RegisterRecords(
        person=pid,
        week=wk.astype("int32"),  # week indices and municipality codes fit in 32 bits
        benefit=ben,
        municipality=mun.astype("int32"),
        person_ids=person_ids,
        municipalities=municipalities,
        codes=codes,
        window=(lo, hi),
        repairs=repairs,
    )


def future_week_error(column: str, latest: int, limit: int) -> DataError:
    """The error for week index ``latest`` after the last valid week ``limit``."""
    return DataError(
        f"Column {column!r} holds future week {int(iso_week_label(latest))} (after "
        f"{int(iso_week_label(limit))}); fix the week or pass last_valid_week=."
    )


def week_table(lo: int, hi: int) -> np.ndarray:
    """Week index of every ``yyyyww`` code in ``lo..hi`` (int32), -1 where not an ISO week."""
    span = np.arange(lo, hi + 1)
    year, week = span // 100, span % 100
    valid = (year >= 1900) & (year <= 2999) & (week >= 1)
    first = _week1_index(np.clip(year, 1900, 2999))
    valid &= week <= _week1_index(np.clip(year, 1900, 2999) + 1) - first
    return np.where(valid, first + week - 1, -1).astype("int32")


def _prepare_clean(data, cols, codes, window, limit_code):  # noqa: ANN001, ANN202
    """Records of clean integer columns in one compiled pass, or None (the caller then
    runs the step-by-step checks, which name any problem).  Clean: NumPy integer
    columns, rows sorted by person, each person's weeks consecutive, every week and
    status code valid; exactly the inputs the checks pass unrepaired, so same result."""
    arrays = [_fast.int_column(data, c) for c in cols]
    if any(a is None for a in arrays):
        return None
    person, week, status = arrays[:3]
    mun = arrays[3] if len(arrays) == 4 else person[:1]
    wlo, whi, slo, shi = int(week.min()), int(week.max()), int(status.min()), int(status.max())
    mlo, mhi = int(mun.min()), int(mun.max())
    if wlo < 0 or whi - wlo >= 1_000_000 or mhi - mlo >= 10_000_000:
        return None
    stable = _fast.status_table(codes, slo, shi)
    if stable is None:
        return None
    wlut = week_table(wlo, whi)
    try:
        limit = int(iso_week_index([limit_code], column="last")[0])
        bounds = None if window is None else iso_week_index(list(window), column="window")
    except DataError:
        return None
    wlut[wlut > limit] = -1
    if bounds is not None:
        wlut[(wlut < bounds[0]) | (wlut > bounds[1])] = -1
    n = person.size
    pid, wk = np.empty(n, "int64"), np.empty(n, "int32")
    ben, mcode = np.empty(n, "int16"), np.empty(n, "int32")
    present = np.zeros(mhi - mlo + 1, dtype=bool)
    distinct = np.empty(n, person.dtype)
    ok, k = _fast.encode_clean(person, week, status, mun, wlut, wlo, stable[0], stable[1], mlo,
                               len(cols) == 4, pid, wk, ben, mcode, present, distinct)  # fmt: skip
    if not ok:
        return None
    if len(cols) == 4:
        municipalities = (np.flatnonzero(present) + mlo).astype(mun.dtype)
        if municipalities.size < present.size:  # codes are ranks among the labels present
            _fast.remap(mcode, (np.cumsum(present, dtype="int64") - 1).astype("int32"))
    else:
        municipalities = np.array(["all"], dtype=object)
    lo, hi = (int(wlut[0]), int(wlut[-1])) if bounds is None else (int(bounds[0]), int(bounds[1]))
    return RegisterRecords(
        person=pid, week=wk, benefit=ben, municipality=mcode, person_ids=distinct[:k].copy(),
        municipalities=municipalities, codes=codes, window=(lo, hi), repairs={},
    )  # fmt: skip


def _fill_gaps(pid, wk, ben, mun, codes):  # noqa: ANN001, ANN202 - internal arrays
    self_id = int(codes.benefits.set_index("benefit").loc[SELF_SUPPORT, "benefit_id"])
    step = np.ones(wk.size, dtype="int64")
    same = pid[1:] == pid[:-1]
    step[1:] = np.where(same, np.diff(wk), 1)
    src = np.repeat(np.arange(wk.size), step)  # each output row points at the next record
    offset = np.arange(src.size) - np.repeat(np.cumsum(step) - step, step)
    new_wk = wk[src] - (step[src] - 1) + offset
    filled = new_wk != wk[src]
    prev = np.maximum(src - 1, 0)
    return (
        pid[src],
        new_wk,
        np.where(filled, self_id, ben[src]).astype(ben.dtype),
        np.where(filled, mun[prev], mun[src]),
    )


def _plain(value: object) -> object:
    """A numpy scalar as the Python value, so messages read 1 rather than np.int64(1)."""
    return value.item() if isinstance(value, np.generic) else value


def _current_week() -> int:
    year, week, _ = _dt.date.today().isocalendar()
    return year * 100 + week
