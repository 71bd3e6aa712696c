"""Staggered designs on calendar periods (evaluate/estimators/did/_calendar.py).

Kommune panels come monthly or quarterly with the period as a date, a pandas
Period or text ("2023-01", "2023M01", "2023K1").  The reference for every number
here is the same design run on the same panel coded with whole numbers 0..23 (the
path the R/Stata reference tests pin): the calendar only renames the periods, so
estimates and standard errors must agree to rtol 1e-12 (they agree exactly).
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

import evaluate as ev
from evaluate.errors import DataError
from evaluate.estimators.did._calendar import calendar_frame

RTOL = 1e-12
COHORTS = (np.nan, 6.0, 10.0, 15.0)  # never, 2022-07, 2022-11, 2023-04


def _panel(n: int = 60, periods: int = 24, freq: str = "M", seed: int = 3) -> pd.DataFrame:
    """``n`` kommuner x ``periods`` periods: integer ``t``/``g`` and Period ``month``/``cohort``."""
    rng = np.random.default_rng(seed)
    calendar = pd.period_range("2022-01" if freq == "M" else "2018Q1", periods=periods, freq=freq)
    g = np.array(COHORTS)[np.arange(n) % 4]
    unit = np.repeat([f"k{i:02d}" for i in range(n)], periods)
    t = np.tile(np.arange(periods), n)
    gr = np.repeat(g, periods)
    effect = np.where(np.isnan(gr) | (t < gr), 0.0, 1.0 + 0.1 * (t - np.nan_to_num(gr)))
    y = np.repeat(rng.normal(size=n), periods) + 0.05 * t + effect + rng.normal(size=n * periods)
    return pd.DataFrame(
        {
            "kommune": unit,
            "t": t,
            "g": gr,
            "y": y,
            "month": calendar[t],
            "cohort": pd.PeriodIndex(
                [calendar[int(v)] if v == v else pd.NaT for v in gr], freq=calendar.freq
            ),
        }
    )


def _statbank(p: pd.Period) -> str | None:
    if p is pd.NaT or p != p:
        return None
    return f"{p.year}M{p.month:02d}" if p.freqstr == "M" else f"{p.year}K{p.quarter}"


FORMS = {
    "period": lambda s: s,
    "datetime": lambda s: s.dt.to_timestamp(),
    "iso text": lambda s: s.map(lambda p: None if p is pd.NaT else str(p)).astype(object),
    "statbank text": lambda s: s.map(_statbank).astype(object),
}


def _as(frame: pd.DataFrame, form: str) -> pd.DataFrame:
    f = FORMS[form]
    return frame.assign(month=f(frame["month"]), cohort=f(frame["cohort"]))


DESIGNS = {
    "callaway_santanna": (ev.callaway_santanna, "group", {}),
    "event_study": (ev.event_study, "cohort", {"leads": 3, "lags": 3}),
    "imputation_did": (ev.imputation_did, "cohort", {"pretrends": 2}),
}


def _fit(design: str, frame: pd.DataFrame, time: str, cohort: str):
    fn, key, options = DESIGNS[design]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fn(frame, outcome="y", unit="kommune", time=time, **{key: cohort}, **options)


@pytest.fixture(scope="module")
def panel() -> pd.DataFrame:
    return _panel()


@pytest.fixture(scope="module")
def integer_fits(panel):
    return {d: _fit(d, panel, "t", "g") for d in DESIGNS}


def _same_numbers(a, b) -> None:
    np.testing.assert_allclose(b.estimate, a.estimate, rtol=RTOL)
    np.testing.assert_allclose(b.std_error, a.std_error, rtol=RTOL)
    for col in ("estimate", "std_error", "ci_low", "ci_high"):
        np.testing.assert_allclose(b.periods[col], a.periods[col], rtol=RTOL, equal_nan=True)
    assert b.periods["period"].tolist() == a.periods["period"].tolist()  # event times


@pytest.mark.parametrize("form", FORMS)
@pytest.mark.parametrize("design", DESIGNS)
def test_calendar_periods_give_the_integer_numbers(panel, integer_fits, design, form):
    fit = _fit(design, _as(panel, form), "month", "cohort")
    _same_numbers(integer_fits[design], fit)
    assert "monthly periods" in str(fit.notes[0])
    assert "event times count months" in str(fit.notes[0])


@pytest.mark.parametrize("form", ["period", "datetime", "statbank text"])
def test_callaway_santanna_cells_and_aggregates_match_and_show_calendar_labels(
    panel, integer_fits, form
):
    a, b = (
        integer_fits["callaway_santanna"],
        _fit("callaway_santanna", _as(panel, form), "month", "cohort"),
    )
    for col in ("estimate", "std_error", "n_treated", "n_control", "event_time"):
        np.testing.assert_allclose(b.att_gt[col], a.att_gt[col], rtol=RTOL)
    for kind in ("group", "calendar", "dynamic"):
        x, y = a.aggregate(kind), b.aggregate(kind)
        np.testing.assert_allclose([y.estimate, y.std_error], [x.estimate, x.std_error], rtol=RTOL)
        np.testing.assert_allclose(y.periods["std_error"], x.periods["std_error"], rtol=RTOL)
    month = (
        (lambda y, m: f"{y}M{m:02d}") if form == "statbank text" else (lambda y, m: f"{y}-{m:02d}")
    )
    cohorts = [month(2022, 7), month(2022, 11), month(2023, 4)]
    assert list(dict.fromkeys(b.att_gt["group"])) == cohorts
    assert b.att_gt["time"].iloc[0] == month(2022, 2)
    assert b.att_gt["base_period"].iloc[0] == month(2022, 1)
    assert pd.api.types.is_integer_dtype(b.att_gt["event_time"])
    assert b.aggregate("group").periods["period"].tolist() == cohorts
    assert b.aggregate("calendar").periods["period"].iloc[0] == month(2022, 7)
    assert list(b.aggregate("group").vcov.index) == cohorts
    dynamic = b.aggregate("dynamic").periods["period"]
    assert dynamic.tolist() == a.aggregate("dynamic").periods["period"].tolist()
    terms = b.to_frame()["term"].tolist()
    assert f"ATT(g={month(2022, 11)}, t={month(2023, 3)})" in terms
    assert f"cohort {month(2022, 11)}" in b.aggregate("group").to_frame()["term"].tolist()
    assert f"g={month(2022, 11)}" in b.summary()


def test_plots_take_the_calendar_labels(panel):
    import matplotlib

    matplotlib.use("Agg")
    b = _fit("callaway_santanna", panel, "month", "cohort")
    ax = b.aggregate("group").plot()
    assert [t.get_text() for t in ax.get_xticklabels()] == ["2022-07", "2022-11", "2023-04"]
    ax = b.plot()  # event times stay numbers
    assert "-1" in [t.get_text() for t in ax.get_xticklabels()]


@pytest.mark.parametrize("form", ["period", "datetime", "statbank text"])
def test_quarters(form):
    frame = _panel(n=40, periods=16, freq="Q")
    for design in DESIGNS:
        a, b = _fit(design, frame, "t", "g"), _fit(design, _as(frame, form), "month", "cohort")
        _same_numbers(a, b)
        assert "quarterly periods" in str(b.notes[0])
    cs = _fit("callaway_santanna", _as(frame, form), "month", "cohort")
    first = "2019K3" if form == "statbank text" else "2019Q3"
    assert cs.att_gt["group"].iloc[0] == first


def test_never_treated_codes_in_a_text_cohort_column(panel, integer_fits):
    text = _as(panel, "iso text")
    coded = text.assign(cohort=text["cohort"].where(text["cohort"].notna(), "0"))
    _same_numbers(
        integer_fits["callaway_santanna"], _fit("callaway_santanna", coded, "month", "cohort")
    )
    named = text.assign(cohort=text["cohort"].where(text["cohort"].notna(), "aldrig"))
    fit = ev.imputation_did(named, outcome="y", unit="kommune", time="month", cohort="cohort",
                            never_treated=["aldrig"], pretrends=2)  # fmt: skip
    _same_numbers(integer_fits["imputation_did"], fit)
    assert fit.provenance.spec["never_treated"] == (0,)  # coded 0 before the fit


def test_a_missing_month_is_a_missing_period_not_a_shift(panel):
    gap = panel[panel["t"] != 20]  # no row at all in 2023-09
    a, b = _fit("imputation_did", gap, "t", "g"), _fit("imputation_did", gap, "month", "cohort")
    _same_numbers(a, b)  # event times count calendar months across the gap
    out, _ = calendar_frame(gap, "month", "cohort")
    assert sorted(set(out["month"])) == [k + 1 for k in range(24) if k != 20]
    with pytest.raises(DataError, match="unequally spaced"):  # as with whole numbers
        _fit("callaway_santanna", gap, "month", "cohort")


@pytest.mark.parametrize("design", DESIGNS)
def test_the_callers_frame_is_not_modified(panel, design):
    for form in ("period", "datetime", "statbank text"):
        frame = _as(panel, form)
        before = frame.copy(deep=True)
        _fit(design, frame, "month", "cohort")
        pd.testing.assert_frame_equal(frame, before)


# --------------------------------------------------------------------------- detection
def _detect(times, cohorts=None):
    frame = pd.DataFrame({"t": times, "g": cohorts if cohorts is not None else [None] * len(times)})
    return calendar_frame(frame, "t", "g")


@pytest.mark.parametrize(
    ("dates", "kind", "label"),
    [
        (["2023-01-01", "2023-02-01", "2023-04-01"], "monthly", "2023-04"),
        (["2023-01-15", "2023-02-15", "2023-03-15"], "monthly", "2023-03"),
        (["2023-01-31", "2023-02-28", "2023-03-31"], "monthly", "2023-03"),
        (["2023-01-01", "2023-04-01", "2023-07-01"], "quarterly", "2023Q3"),
        (["2023-03-31", "2023-06-30", "2023-09-30"], "quarterly", "2023Q3"),
        (["2021-01-01", "2022-01-01", "2023-01-01"], "yearly", "2023"),
        (["2023-01-02", "2023-01-09", "2023-01-16"], "weekly", "2023-01-16"),
        (["2023-01-02", "2023-01-03", "2023-01-05"], "daily", "2023-01-05"),
    ],
)
def test_dates_are_read_on_the_coarsest_regular_calendar(dates, kind, label):
    for values in (pd.to_datetime(dates), dates):  # dates, and dates as text
        out, cal = _detect(values)
        assert cal.name == kind
        assert cal.label(out["t"].max()) == label


def test_integer_periods_are_returned_untouched(panel):
    out, cal = calendar_frame(panel, "t", "g")
    assert cal is None and out is panel


# --------------------------------------------------------------------------- errors
def test_mixed_kinds_of_value_are_an_error():
    with pytest.raises(DataError, match=r"Column 't' mixes kinds of value: '2023-02'"):
        _detect([pd.Period("2023-01", "M"), "2023-02", pd.Period("2023-03", "M")])


def test_irregular_spacing_is_an_error():
    dates = pd.to_datetime(["2023-01-02", "2023-01-23", "2023-02-27"])  # 3, then 5 weeks
    with pytest.raises(DataError, match=r"Periods in 't' are irregularly spaced"):
        _detect(dates)


def test_a_cohort_off_the_calendar_is_an_error():
    times = pd.to_datetime(["2023-01-01", "2023-02-01", "2023-03-01"])
    cohorts = pd.to_datetime(["2023-02-15", None, None])
    with pytest.raises(DataError, match=r"Column 'g': .*2023-02-15.* not on the monthly calendar"):
        _detect(times, cohorts)
    with pytest.raises(DataError, match=r"Column 'g': '2023K1' is not on the monthly calendar"):
        _detect(["2023-01", "2023-02", "2023-03"], ["2023K1", None, None])


def test_a_numeric_cohort_with_calendar_periods_is_an_error(panel):
    with pytest.raises(DataError, match=r"Column 'g' holds the number 6.0, but 'month' holds"):
        _fit("event_study", panel, "month", "g")


def test_unreadable_period_text_is_an_error_naming_the_value():
    with pytest.raises(DataError, match=r"'03/2019' is not a period"):
        _detect(["2019M01", "03/2019"])
    with pytest.raises(DataError, match=r"Column 'g': '2019/03' is not a period"):
        _detect(["2019M01", "2019M02"], ["2019/03", None])


# --------------------------------------------------------------------------- study spec
SPEC = """
[study]
title = "Indsats i kommuner, månedlige data"
language = "da"
seed = 1

[[data]]
name = "panel"
path = "panel.csv"
simulated = true

[[effect]]
name = "cs"
design = "callaway_santanna"
data = "panel"
outcome = "y"
unit = "kommune"
time = "month"
group = "cohort"

[[effect]]
name = "bjs"
design = "imputation_did"
data = "panel"
outcome = "y"
unit = "kommune"
time = "month"
cohort = "cohort"
"""


@pytest.mark.filterwarnings("ignore::UserWarning")
def test_a_study_spec_runs_staggered_designs_on_monthly_dates(tmp_path, panel, integer_fits):
    from evaluate.cli import main
    from evaluate.study import run_study

    frame = _as(panel, "datetime")[["kommune", "month", "cohort", "y"]]
    frame.to_csv(tmp_path / "panel.csv", index=False, date_format="%Y-%m-%d")
    (tmp_path / "study.toml").write_text(SPEC, encoding="utf-8")
    assert main(["validate", str(tmp_path / "study.toml")]) == 0
    result = run_study(tmp_path / "study.toml", tmp_path / "out")
    cs, bjs = result.effects["cs"], result.effects["bjs"]
    np.testing.assert_allclose(
        [cs.estimate, cs.std_error],
        [integer_fits["callaway_santanna"].estimate, integer_fits["callaway_santanna"].std_error],
        rtol=RTOL,
    )
    direct = ev.imputation_did(panel, outcome="y", unit="kommune", time="t", cohort="g")
    np.testing.assert_allclose([bjs.estimate, bjs.std_error],
                               [direct.estimate, direct.std_error], rtol=RTOL)  # fmt: skip
    assert cs.att_gt["group"].iloc[0] == "2022-07"
    md = (tmp_path / "out" / "report.md").read_text(encoding="utf-8")
    assert "månedlige perioder" in md


def test_a_study_spec_names_a_cohort_off_the_calendar(tmp_path, panel, capsys):
    from evaluate.cli import main

    frame = _as(panel, "datetime")[["kommune", "month", "cohort", "y"]]
    frame["cohort"] = frame["cohort"].mask(frame["kommune"] == "k01", pd.Timestamp("2022-07-15"))
    frame.to_csv(tmp_path / "panel.csv", index=False, date_format="%Y-%m-%d")
    (tmp_path / "study.toml").write_text(SPEC, encoding="utf-8")
    assert main(["validate", str(tmp_path / "study.toml")]) == 2
    said = capsys.readouterr()
    assert "'2022-07-15' is not on the monthly calendar of 'month'" in said.out + said.err


# --------------------------------------------------------------------------- text read once
@pytest.mark.parametrize("dtype", [object, "str"])
def test_text_periods_are_read_per_distinct_label_with_the_same_result(panel, dtype):
    """Text is parsed once per distinct label and mapped back by code: the result is,
    row for row, the one of the same periods given as pandas Periods (the reference
    path, which reads no text), blanks and stray spaces included."""
    text = _as(panel, "statbank text")
    month = text["month"].where(text.index % 7 != 3, "  ")  # blank cells among the rows
    month = month.where(text.index % 5 != 1, " " + month + " ")  # padded labels
    frame = text.assign(month=month.astype(dtype))
    out, cal = calendar_frame(frame, "month", "cohort")
    ref_frame = panel.assign(month=panel["month"].where(text.index % 7 != 3, pd.NaT))
    ref, ref_cal = calendar_frame(ref_frame, "month", "cohort")
    pd.testing.assert_series_equal(out["month"], ref["month"])
    pd.testing.assert_series_equal(out["cohort"], ref["cohort"])
    assert (cal.freq, cal.offset, cal.style) == (ref_cal.freq, ref_cal.offset, "statbank")
    assert out["month"].isna().sum() == (text.index % 7 == 3).sum()


# --------------------------------------------------------------------------- messages
def _cohort_of(frame: pd.DataFrame, unit: str, label: str, rows=None) -> pd.DataFrame:
    """``frame`` with ``unit``'s cohort (all rows, or the rows where ``rows`` holds) set."""
    mine = (frame["kommune"] == unit) & (True if rows is None else rows)
    cohort = frame["cohort"].astype(object).mask(mine, pd.Period(label, "M"))
    return frame.assign(cohort=cohort.astype(frame["cohort"].dtype))


def _said(design: str, frame: pd.DataFrame, **options) -> str:
    """Every warning, note and error message one fit on the Period columns produces."""
    fn, key, _ = DESIGNS[design]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            fit = fn(frame, outcome="y", unit="kommune", time="month", **{key: "cohort"}, **options)
            said = [str(n) for n in fit.notes]
        except (DataError, ev.errors.DesignError) as err:
            said = [str(err)]
    return " | ".join([*said, *(str(w.message) for w in caught)])


MESSAGES = {  # case: (design, change to the panel, options, label said, number not said)
    "treated at the first period": (
        "callaway_santanna", lambda f: _cohort_of(f, "k01", "2022-01"), {},
        "first period 2022-01 (", "first period 1 (",
    ),
    "treated after the last period": (
        "callaway_santanna", lambda f: _cohort_of(f, "k03", "2024-03"), {},
        "first treated after the last period 2023-12 are", "period 24",
    ),
    "a month with no rows": (
        "callaway_santanna", lambda f: f[f["t"] != 20], {},
        "no rows at all for ['2023-09']", "[21]",
    ),
    "cohort not constant": (
        "callaway_santanna", lambda f: _cohort_of(f, "k01", "2022-11", f["t"] == 12), {},
        "(values 2022-07 and 2022-11;", "values 7 and 11",
    ),
    "cohort off the time grid": (
        "callaway_santanna", lambda f: f[f["t"] % 2 == 0], {},
        "Cohort 2023-04 in 'cohort' is not one of the periods", "Cohort 16 ",
    ),
    "no never-treated units": (
        "callaway_santanna", lambda f: f[f["g"].notna()], {"control": "notyet"},
        "cohort 2023-04 serves as control and periods >= 2023-04", "cohort 16 ",
    ),
    "a cohort of one unit": (
        "callaway_santanna", lambda f: _cohort_of(f, "k00", "2023-06"), {},
        "Cohort(s) ['2023-06'] consist of a single unit", "[18]",
    ),
    "a cohort of one observation (cross-sections)": (
        "callaway_santanna", lambda f: _cohort_of(f, "k00", "2023-06"), {"panel": False},
        "Cohort(s) ['2023-06'] have a single observation", "[18]",
    ),
    "cross-sections: a cohort unobserved in its base period": (
        "callaway_santanna", lambda f: f[~((f["g"] == 10) & (f["t"] == 9))], {"panel": False},
        "ATT(g=2022-11, t=", "ATT(g=11,",
    ),
    "imputation: cohort not constant": (
        "imputation_did", lambda f: _cohort_of(f, "k01", "2022-11", f["t"] >= 12), {},
        "2022-07 before period '2023-01', 2022-11 from then on", "period 13",
    ),
    "imputation: periods with no untreated unit": (
        "imputation_did", lambda f: f[f["g"].notna()], {},
        "in periods ['2023-04', '2023-05', '2023-06', '2023-07', '2023-08'] with no untreated",
        "[16, 17",
    ),
}


@pytest.mark.parametrize("case", MESSAGES)
def test_messages_name_calendar_periods_by_their_labels(panel, case):
    design, change, options, label, number = MESSAGES[case]
    said = _said(design, change(panel), **options)
    assert label in said
    assert number not in said
