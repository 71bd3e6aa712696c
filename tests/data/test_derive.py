"""Derivations from person-week records, checked against a plain-Python reference.

The reference below (``_ref_*``) is written independently of
``evaluate.data.derive``: one loop per person, week by week, following the rule
in the module docstring literally.  Engine results must equal it exactly.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from evaluate.data.derive import (
    ResetRule,
    derive_register,
    outcome_panel,
    support_clock,
)
from evaluate.data.register import StatusCodes, iso_week_label, prepare_records
from evaluate.errors import DataError, SpecError
from evaluate.money.refusion import RefusionSchedule
from evaluate.simulate_register import register_histories


# ----------------------------------------------------------------------------- reference
def _ref_clock(on: list[bool], reset_weeks: int, window_weeks: int) -> list[int]:
    clock, episode_start, out = 0, None, []
    for t, is_on in enumerate(on):
        if is_on:
            if episode_start is None:
                episode_start = t
            clock += 1
        elif episode_start is not None:
            lo = max(t - window_weeks, episode_start)
            if sum(not on[u] for u in range(lo + 1, t + 1)) >= reset_weeks:
                clock, episode_start = 0, None
        out.append(clock)
    return out


def _ref_derive(df: pd.DataFrame, rule: ResetRule) -> dict[str, pd.DataFrame]:
    codes = StatusCodes.danish().frame.set_index("code")
    sched = RefusionSchedule.danish()
    df = df.sort_values(["person", "week"]).reset_index(drop=True)
    df["benefit"] = codes.loc[df["status"], "benefit"].to_numpy()
    on = codes.loc[df["status"], "public_support"].to_numpy(bool)
    refund = codes.loc[df["status"], "refusion"].to_numpy(bool)
    clocks, spells, flows = [], [], []
    first, last = df["week"].min(), df["week"].max()
    for _, g in df.groupby("person", sort=True):
        clocks += _ref_clock(list(on[g.index]), rule.reset_weeks, rule.window_weeks)
        rows = g.to_dict("records")
        start = 0
        for i in range(1, len(rows) + 1):
            if i == len(rows) or rows[i]["benefit"] != rows[start]["benefit"]:
                spells.append(
                    {
                        "person": rows[start]["person"],
                        "benefit": rows[start]["benefit"],
                        "start_week": rows[start]["week"],
                        "end_week": rows[i - 1]["week"],
                        "weeks": i - start,
                        "left_censored": rows[start]["week"] == first,
                        "right_censored": rows[i - 1]["week"] == last,
                    }
                )
                if i < len(rows):
                    flows.append(
                        {
                            "municipality": rows[i]["municipality"],
                            "week": rows[i]["week"],
                            "from_benefit": rows[start]["benefit"],
                            "to_benefit": rows[i]["benefit"],
                        }
                    )
                start = i
    df["clock"] = clocks
    triples = zip(clocks, on, refund, strict=True)
    df["share"] = [float(sched.share(c)) if (o and r) else 0.0 for c, o, r in triples]
    # Month of the week's Thursday via the standard library, independent of the package.
    import datetime as dt

    def month(w: int) -> str:
        return dt.date.fromisocalendar(w // 100, w % 100, 4).strftime("%Y-%m")

    df["month"] = [month(w) for w in df["week"]]
    all_weeks = [month(int(w)) for w in iso_week_label(np.arange(*_window_index(first, last)))]
    wim = pd.Series(all_weeks).value_counts()
    ftp = (
        df.groupby(["municipality", "month", "benefit"])
        .agg(person_weeks=("share", "size"), refusion=("share", "sum"))
        .reset_index()
    )
    ftp["weeks_in_month"] = ftp["month"].map(wim).astype("int64")
    ftp["ftp"] = ftp["person_weeks"] / ftp["weeks_in_month"]
    ftp["refusion_ftp"] = ftp["refusion"] / ftp["weeks_in_month"]
    fl = pd.DataFrame(flows)
    fl["month"] = [month(w) for w in fl["week"]]
    fl = (
        fl.groupby(["municipality", "month", "from_benefit", "to_benefit"])
        .size()
        .rename("flows")
        .reset_index()
    )
    return {"person_weeks": df, "spells": pd.DataFrame(spells), "ftp": ftp, "transitions": fl}


def _window_index(first: int, last: int) -> tuple[int, int]:
    from evaluate.data.register import iso_week_index

    lo, hi = iso_week_index([first, last])
    return int(lo), int(hi) + 1


def _history(*runs: tuple[bool, int]) -> np.ndarray:
    return np.concatenate([np.full(n, flag, dtype=bool) for flag, n in runs])


# ----------------------------------------------------------------------------- the clock
@pytest.mark.parametrize("window", [52, 156])
def test_reset_after_52_weeks_of_self_support(window: int) -> None:
    on = _history((True, 30), (False, 52), (True, 1))
    clock = support_clock(np.zeros(on.size, int), on, ResetRule(52, window))
    assert clock[29] == 30
    assert clock[30 + 50] == 30  # 51st off week: not yet
    assert clock[30 + 51] == 0  # 52nd off week: reset
    assert clock[-1] == 1


@pytest.mark.parametrize("window", [52, 156])
def test_no_reset_after_51_weeks(window: int) -> None:
    on = _history((True, 30), (False, 51), (True, 1))
    clock = support_clock(np.zeros(on.size, int), on, ResetRule(52, window))
    assert clock[-1] == 31


def test_three_year_window_adds_up_interrupted_self_support() -> None:
    on = _history((True, 30), (False, 26), (True, 10), (False, 26), (True, 1))
    person = np.zeros(on.size, int)
    assert support_clock(person, on, ResetRule(52, 156))[-1] == 1
    assert support_clock(person, on, ResetRule(52, 52))[-1] == 41  # consecutive reading


def test_self_support_before_the_first_support_week_does_not_count() -> None:
    # 60 weeks off before support began cannot pay for a later reset.
    on = _history((False, 60), (True, 10), (False, 20), (True, 1))
    assert support_clock(np.zeros(on.size, int), on)[-1] == 11


def test_clock_does_not_leak_between_persons() -> None:
    on = _history((True, 40), (True, 3))
    person = np.r_[np.zeros(40, int), np.ones(3, int)]
    assert support_clock(person, on).tolist()[-4:] == [40, 1, 2, 3]


def test_window_outside_three_years_forgets_old_self_support() -> None:
    # 40 off, 150 on, 12 off: only 12 (+ none before) of the last 156 weeks are off.
    on = _history((True, 5), (False, 40), (True, 150), (False, 12), (True, 1))
    assert support_clock(np.zeros(on.size, int), on)[-1] == 156


@pytest.mark.parametrize("rule", [ResetRule(52, 156), ResetRule(52, 52), ResetRule(4, 10)])
def test_clock_equals_reference_on_random_histories(rule: ResetRule) -> None:
    rng = np.random.default_rng(3)
    person, on = [], []
    for p in range(150):
        n = int(rng.integers(1, 400))
        stay = rng.uniform(0.7, 0.99)
        state, hist = bool(rng.integers(0, 2)), []
        for _ in range(n):
            hist.append(state)
            state = state if rng.random() < stay else not state
        person += [p] * n
        on += hist
    person_a, on_a = np.array(person), np.array(on)
    expected = np.concatenate(
        [
            _ref_clock(list(on_a[person_a == p]), rule.reset_weeks, rule.window_weeks)
            for p in range(150)
        ]
    )
    np.testing.assert_array_equal(support_clock(person_a, on_a, rule), expected)


def test_reset_rule_validates() -> None:
    with pytest.raises(SpecError, match="reset_weeks"):
        ResetRule(60, 52)


# ----------------------------------------------------------------------------- full derivation
@pytest.fixture(scope="module")
def small_register() -> pd.DataFrame:
    return register_histories(n_persons=160, n_municipalities=4, n_weeks=130, seed=11)


@pytest.mark.parametrize("rule", [ResetRule(), ResetRule(8, 20)])
def test_derivation_equals_reference(small_register: pd.DataFrame, rule: ResetRule) -> None:
    d = derive_register(prepare_records(small_register), rule=rule, keep_person_weeks=True)
    ref = _ref_derive(small_register, rule)
    np.testing.assert_array_equal(d.person_weeks["clock"], ref["person_weeks"]["clock"])
    # Shares are exact in ppm; the reference sums floats, hence the 1e-12 tolerance.
    np.testing.assert_allclose(
        d.person_weeks["refusion_ppm"] / 1e6, ref["person_weeks"]["share"], rtol=0, atol=1e-12
    )
    pd.testing.assert_frame_equal(
        d.spells, ref["spells"].astype(d.spells.dtypes.to_dict()), check_dtype=False
    )
    got = d.ftp.sort_values(["municipality", "month", "benefit"]).reset_index(drop=True)
    exp = ref["ftp"].sort_values(["municipality", "month", "benefit"]).reset_index(drop=True)
    np.testing.assert_array_equal(got["person_weeks"], exp["person_weeks"])
    np.testing.assert_array_equal(got["weeks_in_month"], exp["weeks_in_month"])
    np.testing.assert_array_equal(got["month"], exp["month"])
    np.testing.assert_allclose(got["ftp"], exp["ftp"], rtol=1e-15)
    np.testing.assert_allclose(got["refusion_ftp"], exp["refusion_ftp"], rtol=1e-12)
    tr = d.transitions.sort_values(list(d.transitions.columns[:4])).reset_index(drop=True)
    np.testing.assert_array_equal(tr.to_numpy(), ref["transitions"][tr.columns].to_numpy())


def test_refusion_comes_from_the_schedule_data() -> None:
    df = pd.DataFrame({"person": 1, "week": 202001 + np.arange(30), "status": 130})
    rec = prepare_records(df, municipality=None)
    danish = RefusionSchedule.danish()
    d = derive_register(rec, refusion=danish, keep_person_weeks=True)
    shares = d.person_weeks["refusion_ppm"].to_numpy() / 1e6
    np.testing.assert_allclose(shares, danish.share(np.arange(1, 31)))
    changed = danish.frame.copy()
    changed["share"] = [0.5, 0.25, 0.125, 0.0625]
    d2 = derive_register(rec, refusion=RefusionSchedule(changed), keep_person_weeks=True)
    assert d2.person_weeks["refusion_ppm"].iloc[[0, 4, 26]].tolist() == [500000, 250000, 125000]


def test_self_support_and_education_carry_no_refusion() -> None:
    df = pd.DataFrame({"person": 1, "week": [202001, 202002, 202003], "status": [0, 651, 130]})
    d = derive_register(prepare_records(df, municipality=None), keep_person_weeks=True)
    assert d.person_weeks["refusion_ppm"].tolist() == [0, 0, 800000]
    assert d.person_weeks["clock"].tolist() == [0, 0, 1]


def test_week_months_follow_the_thursday() -> None:
    # 2021-W13 runs Mon 29 March - Sun 4 April; its Thursday (1 April) puts it in April.
    df = pd.DataFrame({"person": 1, "week": [202112, 202113], "status": [130, 130]})
    d = derive_register(prepare_records(df, municipality=None))
    assert d.ftp["month"].tolist() == ["2021-03", "2021-04"]
    assert d.ftp["weeks_in_month"].tolist() == [1, 1]  # weeks of the month inside the window


def test_censoring_flags() -> None:
    df = pd.DataFrame({"person": [1, 1, 1, 2, 2], "week": [202001, 202002, 202003, 202002, 202003]})
    df["status"] = [130, 0, 0, 130, 130]
    d = derive_register(prepare_records(df, municipality=None))
    s = d.spells.set_index(["person", "start_week"])
    assert tuple(s.loc[(1, 202001), ["left_censored", "right_censored"]]) == (True, False)
    assert tuple(s.loc[(1, 202002), ["left_censored", "right_censored"]]) == (False, True)
    assert tuple(s.loc[(2, 202002), ["left_censored", "right_censored"]]) == (False, True)


def test_outcome_panel_is_balanced_and_marks_treatment(small_register: pd.DataFrame) -> None:
    d = derive_register(prepare_records(small_register))
    panel = outcome_panel(d, treated={102: "2020-06", 104: "2020-09"})
    n_months = panel["month"].nunique()
    assert len(panel) == 4 * n_months
    assert not panel.duplicated(["municipality", "month"]).any()
    row = panel[(panel["municipality"] == 102) & (panel["month"] == "2020-06")].iloc[0]
    assert (row["treated"], row["post"]) == (1, 1)
    assert panel.loc[panel["municipality"] == 101, "first_treated"].eq(0).all()
    pub = d.ftp[d.ftp["benefit"] != "self_support"]
    pub = pub[pub["benefit"] != "education"]
    assert panel["ftp_public"].sum() == pytest.approx(pub["ftp"].sum())
    with pytest.raises(DataError, match="999"):
        outcome_panel(d, treated={999: "2020-06"})
    with pytest.raises(DataError, match="1990-01"):
        outcome_panel(d, treated={102: "1990-01"})


def test_derive_rejects_raw_frames(small_register: pd.DataFrame) -> None:
    with pytest.raises(DataError, match="prepare_records"):
        derive_register(small_register)  # type: ignore[arg-type]
