"""Switching values of the net gain, each checked by re-running the case around it.

References: the HonestDiD switch against honest_did's own robust interval at
M +- eps (the net gain priced at the interval's bound changes sign); the E-value
against the VanderWeele-Ding formula E = RR + sqrt(RR (RR - 1)) computed here,
independently, from the risk-ratio scale; the placebo switch against the
placebo distribution counted by hand; persistence and deadweight by re-pricing.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

import evaluate as ev
from evaluate.effect import NotApplicable
from evaluate.inference.honest_did import honest_did
from evaluate.money import cost, monetize
from evaluate.switching import switching_values

EPS = 1e-6


def _case(effect, dkk_per_unit, fixed, years=(2024,), sign=1):
    return ev.BusinessCase(
        title="known truth",
        price_level="2024",
        lines=(
            monetize(effect, dkk_per_unit=dkk_per_unit, sign=sign, years=list(years), name="gain"),
            cost("cost", {y: fixed for y in years}),
        ),
    )


def _priced_at(case, value):
    """The case's net gain (PV) with the effect set to ``value``."""
    lines = [
        replace(line, amounts={y: value * p for y, p in line.per_unit.items()})
        if line.effect is not None
        else line
        for line in case.lines
    ]
    return replace(case, lines=tuple(lines)).present_value


@pytest.fixture(scope="module")
def event_study():
    from evaluate.datasets import mpdta

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return ev.event_study(
            mpdta(), outcome="lemp", unit="countyreal", time="year", cohort="first.treat",
            leads=3, lags=3,
        )  # fmt: skip


def test_honest_switch_flips_the_net_gain_at_m(event_study):
    # effect -0.073 (log employment): a fall saves 1 mDKK per unit; cost 10,000 DKK,
    # so the case breaks even at -0.01.
    case = _case(event_study, 1e6, 10_000)
    assert case.break_even_against.value == pytest.approx(-0.01)
    row = switching_values(case).row("Mbar")
    m = row.value
    assert 0 < m < 2
    gains = []
    for mm in (m - EPS, m + EPS):
        table = honest_did(event_study, restriction="relative_magnitudes", grid=[mm]).table
        bound = float(table["ci_high"].iloc[0])  # the case pays below break-even: upper end
        gains.append(_priced_at(case, bound))
    assert gains[0] > 0 > gains[1]
    # the point switch: the identified set theta + Mbar c_l m_hat reaches -0.01
    hd = honest_did(event_study, restriction="relative_magnitudes")
    m_hat = float(np.max(np.abs(hd.details["d_hat"])))
    reach = hd.estimate + row.detail * hd.details["c_l"] * m_hat
    assert reach == pytest.approx(-0.01, abs=1e-12)
    assert "M̄ = " in str(row.sentence)


def test_honest_switch_is_zero_when_the_usual_interval_reaches_break_even(event_study):
    low, high = event_study.ci  # both negative; break-even just below the upper end
    case = _case(event_study, 1e6, -1e6 * (high - 1e-4))
    row = switching_values(case).row("Mbar")
    assert row.value == 0.0
    assert str(row.sentence).startswith("The case does not pay")


def test_switch_not_applicable_when_the_case_does_not_pay(event_study):
    case = _case(event_study, 1e6, 100_000)  # break-even -0.1, beyond the estimate
    sv = switching_values(case)
    assert all(isinstance(r.value, NotApplicable) for r in sv.rows)


def _observational_binary():
    rng = np.random.default_rng(3)
    n = 4000
    x = rng.normal(size=n)
    d = (rng.uniform(size=n) < 1 / (1 + np.exp(-x))).astype(int)
    y = (rng.uniform(size=n) < 0.3 + 0.15 * d + 0.05 * (x > 0)).astype(float)
    frame = pd.DataFrame({"y": y, "d": d, "x": x})
    return ev.observational(frame, outcome="y", treatment="d", covariates=["x"], method="ipw")


def test_e_value_switch_matches_vanderweele_ding():
    effect = _observational_binary()
    kind, p1 = effect.e_value_scale
    assert kind == "risk_ratio"
    # each person moved saves 10,000 DKK; cost 40 % of the gain at the estimate
    fixed = 0.4 * effect.estimate * 10_000
    case = _case(effect, 10_000, fixed, sign=-1)
    b = case.break_even_against.value
    assert b == pytest.approx(0.4 * effect.estimate)
    ratio = (p1 - b) / (p1 - effect.estimate)  # RR(estimate) / RR(break-even)
    expected = ratio + math.sqrt(ratio * (ratio - 1))
    row = switching_values(case).row("E-value")
    assert row.value == pytest.approx(expected, rel=1e-12)
    low = effect.ci[0]
    ratio_low = (p1 - b) / (p1 - low)
    assert row.detail == pytest.approx(ratio_low + math.sqrt(ratio_low * (ratio_low - 1)))
    # the E-value of zero (the diagnostic) is larger: break-even needs less confounding
    assert row.value < effect.diagnostics["E-value (estimate)"].value


def test_e_value_switch_on_the_difference_scale():
    rng = np.random.default_rng(5)
    n = 2000
    x = rng.normal(size=n)
    d = (rng.uniform(size=n) < 0.5).astype(int)
    y = 2.0 * d + x + rng.normal(size=n)
    frame = pd.DataFrame({"y": y, "d": d, "x": x})
    effect = ev.observational(frame, outcome="y", treatment="d", covariates=["x"])
    kind, sd = effect.e_value_scale
    assert kind == "difference"
    case = _case(effect, 1_000, 0.5 * effect.estimate * 1_000, sign=-1)
    b = case.break_even_against.value
    rr = math.exp(0.91 * (effect.estimate - b) / sd)
    row = switching_values(case).row("E-value")
    assert row.value == pytest.approx(rr + math.sqrt(rr * (rr - 1)), rel=1e-12)


def test_placebo_switch_counts_the_placebos_by_hand():
    from evaluate.effect import EffectResult
    from evaluate.estimators.synthetic._synth_placebo import PlaceboDistribution

    gaps = np.array([-9.0, -10.0, -11.0])
    dist = PlaceboDistribution(
        estimate=-10.0,
        post_gaps=gaps,
        pre_rmspe=1.0,
        placebo_ratios=np.array([0.5, 1.5, 2.5, 3.5, 4.5, 6.0, 8.0, 12.0, 20.0]),
        placebo_effects=np.array([-1.0, 2.0, -3.0, -4.5, 0.5, -6.0, 3.0, -2.0, 1.0]),
    )
    effect = EffectResult(
        name="gap", estimand="x", distribution=dist, method="synth", inference="placebo",
        unit="persons",
    )  # fmt: skip
    case = _case(effect, 100, 400)  # a fall saves 100 DKK per unit: break-even -4
    assert case.break_even_against.value == pytest.approx(-4.0)
    row = switching_values(case).row("placebo p")
    # by hand: gaps minus -4 are -5, -6, -7: RMSPE sqrt((25+36+49)/3) = 6.055; placebo
    # ratios at or above it: 6.0? no; 8, 12, 20 -> 3 of 9, p = (1 + 3) / 10
    ratio = math.sqrt((25 + 36 + 49) / 3)
    above = sum(r >= ratio for r in dist.placebo_ratios)
    assert above == 3
    assert row.value == pytest.approx((1 + above) / 10)
    # placebo effects at least as favourable as -4 (i.e. <= -4): -4.5 and -6
    assert row.detail == pytest.approx(2 / 9)
    assert "rank 4 of 10" in str(row.sentence)


def test_persistence_and_deadweight_flip_the_case():
    effect = ev.stated_effect(estimate=10.0, name="off benefit", outcome_unit="persons")
    case = _case(effect, 100_000, 600_000, years=(2024, 2025, 2026), sign=-1)
    sv = switching_values(case)
    years = sv.row("years").value
    assert years == pytest.approx(1.8)  # 1.8 mDKK of cost over 1 mDKK a year
    d = sv.row("deadweight").value
    assert d == pytest.approx(0.4)
    assert replace(case, deadweight=d - EPS).present_value > 0
    assert replace(case, deadweight=d + EPS).present_value < 0
    # an existing deadweight: d* = 1 - k (1 - d)
    with_dw = replace(case, deadweight=0.2)
    d2 = switching_values(with_dw).row("deadweight").value
    assert replace(case, deadweight=d2 + EPS).present_value < 0 < replace(
        case, deadweight=d2 - EPS
    ).present_value
    # the stated effect has no identification assumption to price
    ident = sv.row("identification").value
    assert isinstance(ident, NotApplicable) and "stated figure" in str(ident)


def test_persistence_with_discounting_re_prices_truncated_lines():
    effect = ev.stated_effect(estimate=10.0, name="off benefit", outcome_unit="persons")
    case = replace(
        _case(effect, 100_000, 600_000, years=(2024, 2025, 2026), sign=-1),
        discount=ev.money.DiscountSchedule.constant(0.05),
    )
    years = switching_values(case).row("years").value
    whole = int(years)
    frac = years - whole

    def truncated(share_last):
        lines = []
        for line in case.lines:
            if line.effect is None:
                lines.append(line)
                continue
            keep = {}
            for k, (y, a) in enumerate(sorted(line.amounts.items())):
                keep[y] = a if k < whole else a * share_last if k == whole else 0.0
            lines.append(replace(line, amounts=keep))
        return replace(case, lines=tuple(lines)).present_value

    assert truncated(frac) == pytest.approx(0.0, abs=1e-6)
    assert truncated(frac + 0.01) > 0 > truncated(frac - 0.01)


def test_switching_values_result_contract():
    effect = ev.stated_effect(estimate=10.0, name="off benefit", outcome_unit="persons")
    sv = switching_values(_case(effect, 100_000, 600_000, years=(2024, 2025), sign=-1))
    frame = sv.to_frame()
    assert list(frame.columns) == [
        "assumption", "parameter", "switching_value", "assumed", "detail", "note",
    ]  # fmt: skip
    assert "Switching values" in sv.summary()
    import matplotlib

    matplotlib.use("Agg")
    assert sv.plot() is not None
