"""One name for the unit of measure: ``outcome_unit`` in every design (issue 13, item 3).

A benefit rate prices an effect in persons or full-time persons, whatever design
made it; the old names (``unit`` for the measure, ``effect_unit``) raise a
SpecError that names ``outcome_unit``, from Python and from a spec.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

import evaluate as ev
from evaluate.datasets import mpdta
from evaluate.errors import SpecError
from evaluate.simulate import monthly_counts
from evaluate.spec import parse_spec

RATE = ev.money.RateTable.danish().get("ledighedsydelse", 2024)
FTP = "full-time persons"


def _mpdta() -> pd.DataFrame:
    df = mpdta()
    return df.assign(D=((df["first.treat"] > 0) & (df["year"] >= df["first.treat"])).astype(int))


def _small_panel() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    rows = []
    for i in range(12):
        base = 40 + 3 * i
        for t in range(16):
            effect = -3.0 if i < 2 and t >= 10 else 0.0
            rows.append((f"k{i}", t, base + 0.5 * t + np.sin(t + i) + effect + rng.normal(0, 0.3)))
    return pd.DataFrame(rows, columns=["kommune", "t", "y"])


DESIGNS = {
    "twfe": lambda: ev.twfe(
        _mpdta(), outcome="lemp", unit="countyreal", time="year", treatment="D",
        inference="CR1", outcome_unit=FTP,
    ),
    "did": lambda: ev.did(
        _mpdta().query("year in (2003, 2007)"), outcome="lemp", unit="countyreal",
        time="year", treated="treat", inference="CR1", outcome_unit=FTP,
    ),
    "event_study": lambda: ev.event_study(
        mpdta(), outcome="lemp", unit="countyreal", time="year", cohort="first.treat",
        leads=2, lags=2, inference="CR2", outcome_unit=FTP,
    ),
    "callaway_santanna": lambda: ev.callaway_santanna(
        mpdta(), outcome="lemp", unit="countyreal", time="year", group="first.treat",
        outcome_unit=FTP,
    ),
    "imputation_did": lambda: ev.imputation_did(
        mpdta(), outcome="lemp", unit="countyreal", time="year", cohort="first.treat",
        outcome_unit=FTP,
    ),
    "synthetic_control": lambda: ev.synthetic_control(
        _small_panel(), outcome="y", unit="kommune", time="t", treated_unit=["k0", "k1"],
        start=10, leave_one_out=False, placebo_time=None, outcome_unit=FTP,
    ),
    "synthetic_did": lambda: ev.synthetic_did(
        _small_panel(), outcome="y", unit="kommune", time="t", treated_unit=["k0", "k1"],
        start=[10, 11], placebo_reps=20, outcome_unit=FTP,
    ),
    "its": lambda: ev.its(
        monthly_counts(seed=1), outcome="recipients", time="month", start="2018-05",
        outcome_unit=FTP,
    ),
    "trend_forecast": lambda: ev.trend_forecast(
        monthly_counts(seed=1), outcome="recipients", time="month", start="2018-05",
        outcome_unit=FTP,
    ),
    "model_forecast": lambda: ev.model_forecast(
        monthly_counts(seed=1), outcome="recipients", time="month", start="2018-05",
        outcome_unit=FTP,
    ),
}  # fmt: skip


@pytest.mark.parametrize("design", sorted(DESIGNS))
def test_a_benefit_rate_prices_every_design_in_full_time_persons(design):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        effect = DESIGNS[design]()
    assert effect.unit == FTP
    line = ev.monetize(effect, name="ledighedsydelse", years=[2024], rate=RATE, sign=1)
    assert line.amounts[2024] == pytest.approx(effect.estimate * RATE.annual)
    draws = effect.draws(50, seed=1)
    assert np.isfinite(draws).all()


def test_without_a_measure_the_rate_still_refuses():
    effect = ev.twfe(_mpdta(), outcome="lemp", unit="countyreal", time="year", treatment="D")
    assert effect.unit == "outcome units"
    with pytest.raises(ev.EvaluateError, match="persons"):
        ev.monetize(effect, name="x", years=[2024], rate=RATE)


@pytest.mark.parametrize(
    ("call", "old"),
    [
        (lambda: ev.its(monthly_counts(), outcome="recipients", time="month",
                        start="2018-05", unit="persons"), "unit"),
        (lambda: ev.trend_forecast(monthly_counts(), outcome="recipients", time="month",
                                   start="2018-05", unit="persons"), "unit"),
        (lambda: ev.stated_effect(name="x", estimate=1.0, unit="persons"), "unit"),
        (lambda: ev.callaway_santanna(mpdta(), outcome="lemp", unit="countyreal", time="year",
                                      group="first.treat", effect_unit="persons"),
         "effect_unit"),
    ],
)  # fmt: skip
def test_old_names_say_to_use_outcome_unit(call, old):
    with pytest.raises(SpecError, match=f"option '{old}' is now 'outcome_unit'"):
        call()


def test_a_spec_with_the_old_name_is_told_the_new_one():
    text = """
[study]
title = "t"
[[effect]]
design = "stated_effect"
name = "e"
estimate = 1.0
unit = "persons"
"""
    with pytest.raises(SpecError, match="'unit' is now 'outcome_unit'"):
        parse_spec(text)
