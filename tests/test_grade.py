"""Evidence grade rules, each on both sides of its threshold, and the discount by grade."""

from __future__ import annotations

import math
from dataclasses import replace
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

import evaluate as ev
from evaluate.effect import Diagnostic, EffectResult, NotApplicable
from evaluate.errors import SpecError
from evaluate.estimators.synthetic._synth_placebo import PlaceboDistribution
from evaluate.grade import EvidenceDiscount, evidence_discount, evidence_grade
from evaluate.money import cost, monetize


@pytest.fixture(scope="module")
def trial_result():
    rng = np.random.default_rng(7)
    n = 400
    frame = pd.DataFrame(
        {"arm": np.repeat(["control", "treated"], n // 2), "age": rng.normal(40, 10, n)}
    )
    frame["y"] = rng.normal(size=n) + (frame["arm"] == "treated")
    return ev.trial(frame, outcome="y", arm="arm", control="control", covariates=["age"])


def _with(result, *, balance_p=0.5, missing=(0, 0), differential_p=0.5):
    diags = {}
    for key, value in result.diagnostics.items():
        if "balance" in str(key):
            value = Diagnostic("F", 1.0, balance_p, passed=balance_p > 0.05)
        elif "attrition" in str(key):
            value = Diagnostic("chi2", 1.0, differential_p, passed=differential_p > 0.05)
        diags[key] = value
    attrition = pd.DataFrame(
        {"arm": ["control", "treated"], "assigned": [100, 100], "missing": list(missing)}
    )
    return replace(result, diagnostics=diags, attrition=attrition)


def test_trial_grades_on_both_sides_of_each_threshold(trial_result):
    assert any("balance" in str(k) for k in trial_result.diagnostics)
    assert evidence_grade(_with(trial_result)).grade == "A"
    assert evidence_grade(_with(trial_result, balance_p=0.04)).grade == "C"
    assert evidence_grade(_with(trial_result, balance_p=0.06)).grade == "A"
    assert evidence_grade(_with(trial_result, missing=(20, 20))).grade == "A"  # 20 %: low
    assert evidence_grade(_with(trial_result, missing=(21, 20))).grade == "C"  # 20.5 %
    assert evidence_grade(_with(trial_result, differential_p=0.04)).grade == "C"
    unchecked = replace(
        _with(trial_result),
        diagnostics={
            k: (NotApplicable("no covariates") if "balance" in str(k) else v)
            for k, v in _with(trial_result).diagnostics.items()
        },
    )
    assert evidence_grade(unchecked).grade == "B"


def _fake_honest(breakdown):
    return SimpleNamespace(breakdown=breakdown)


@pytest.mark.parametrize(("breakdown", "pre_passed", "grade"), [
    (1.0, True, "B"), (0.99, True, "C"), (5.0, False, "C"), (1.0, None, "C"),
])  # fmt: skip
def test_did_grade_needs_passing_pre_trends_and_breakdown_at_least_one(
    monkeypatch, breakdown, pre_passed, grade
):
    import evaluate.switching

    monkeypatch.setattr(evaluate.switching, "honest_for", lambda e, a=None: _fake_honest(breakdown))
    effect = EffectResult(
        name="es", estimand="x", distribution=ev.inference.distributions.Normal(1.0, 0.1),
        method="event study", inference="CR1", unit="persons",
        diagnostics={"pre-trend": Diagnostic("F", 1.0, 0.5, passed=pre_passed)},
    )  # fmt: skip
    assert evidence_grade(effect).grade == grade


def test_did_grade_on_mpdta_event_study_reads_honest_did():
    import warnings

    from evaluate.datasets import mpdta
    from evaluate.inference.honest_did import honest_did

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        es = ev.event_study(
            mpdta(), outcome="lemp", unit="countyreal", time="year", cohort="first.treat",
            leads=3, lags=3,
        )  # fmt: skip
    breakdown = honest_did(es, restriction="relative_magnitudes").breakdown
    assert breakdown < 1  # 0.215: the grade must be C with the pre-trend test passing
    g = evidence_grade(es)
    assert g.grade == "C"
    assert any("0.215" in str(r) for r in g.reasons)


def _synth(p_target, fit_passed):
    # 19 placebo ratios; the treated ratio (10 / 1) ranks so that p = (1 + above) / 20
    above = round(p_target * 20) - 1
    ratios = np.r_[np.full(above, 50.0), np.full(19 - above, 1.0)]
    dist = PlaceboDistribution(
        estimate=10.0, post_gaps=np.array([10.0, 10.0]), pre_rmspe=1.0,
        placebo_ratios=ratios, placebo_effects=np.linspace(-2, 2, 19),
    )  # fmt: skip
    return EffectResult(
        name="synth", estimand="x", distribution=dist, method="synth", inference="placebo",
        unit="persons",
        diagnostics={"pre-period fit": Diagnostic("RMSPE", 1.0, passed=fit_passed)},
    )  # fmt: skip


def test_synth_grade_needs_good_fit_and_low_rank():
    assert _synth(0.10, True).distribution.p_value(0.0) == pytest.approx(0.10)
    assert evidence_grade(_synth(0.10, True)).grade == "B"
    assert evidence_grade(_synth(0.15, True)).grade == "C"
    assert evidence_grade(_synth(0.05, False)).grade == "C"


def test_stated_figure_is_d_and_other_estimates_are_c():
    stated = ev.stated_effect(estimate=5.0, name="x", outcome_unit="persons")
    assert evidence_grade(stated).grade == "D"
    ranged = ev.stated_effect(
        estimate=5.0, estimate_range=(3.0, 7.0), name="x", outcome_unit="persons"
    )
    assert evidence_grade(ranged).grade == "D"
    estimated = EffectResult(
        name="x", estimand="x", distribution=ev.inference.distributions.Normal(1.0, 0.1),
        method="regression", inference="HC1", unit="persons",
    )  # fmt: skip
    assert evidence_grade(estimated).grade == "C"


def test_the_one_line_reason_names_what_decided_the_grade(trial_result, monkeypatch):
    """``headline`` (shown beside the letter in the report's effects table) is the check
    that failed for a C, a summary of the checks passed for A and B, and what the number
    is instead of an estimate for a D."""
    assert evidence_grade(_with(trial_result)).headline == "randomized, balanced, low attrition"
    high = evidence_grade(_with(trial_result, missing=(30, 20)))
    assert high.headline == "randomized, but attrition 25.0% (above 20 %)"
    assert high.headline.key == "grade.short_randomized_but"
    unbalanced = evidence_grade(_with(trial_result, balance_p=0.01))
    assert unbalanced.headline == "randomized, but a joint balance test fails (p ≤ 0.05)"
    assert evidence_grade(_synth(0.15, True)).headline.key == "grade.placebo_rank"
    assert evidence_grade(_synth(0.05, False)).headline.key == "grade.fit_poor"

    import evaluate.switching

    monkeypatch.setattr(evaluate.switching, "honest_for", lambda e, a=None: _fake_honest(0.5))
    effect = EffectResult(
        name="es", estimand="x", distribution=ev.inference.distributions.Normal(1.0, 0.1),
        method="event study", inference="CR1", unit="persons",
        diagnostics={"pre-trend": Diagnostic("F", 1.0, 0.5, passed=True)},
    )  # fmt: skip
    assert evidence_grade(effect).headline == "HonestDiD breakdown M̄ = 0.5 (below 1)"

    for kind, key in [("point", "grade.stated"), ("stated_range", "grade.stated_range"),
                      ("target", "grade.target")]:  # fmt: skip
        stated = ev.stated_effect(
            estimate=5.0, estimate_range=None if kind == "point" else (3.0, 7.0), name="x",
            outcome_unit="persons", kind=kind,
        )  # fmt: skip
        g = evidence_grade(stated)
        assert (g.grade, g.headline.key, g.reasons) == ("D", key, (g.headline,))


def test_discount_lowers_benefit_lines_by_grade_and_keeps_costs():
    stated = ev.stated_effect(estimate=10.0, name="off", outcome_unit="persons")
    case = ev.BusinessCase(
        title="t",
        price_level="2024",
        lines=(
            monetize(stated, dkk_per_unit=100_000, sign=-1, years=[2024], name="benefit"),
            cost("staff", {2024: 600_000}),
        ),
    )
    shares = {"A": 0.0, "B": 0.1, "C": 0.2, "D": 0.3}
    discounted = evidence_discount(case, EvidenceDiscount(shares, "test table"))
    assert discounted.evidence_discounts == (("benefit", "D", 0.3),)
    assert discounted.net_gain == pytest.approx(1_000_000 * 0.7 - 600_000)
    assert case.net_gain == pytest.approx(400_000)
    text = discounted.summary()
    assert "test table" in text and "Evidence grade: off" in text
    with pytest.raises(SpecError):
        EvidenceDiscount(shares, "  ")
    with pytest.raises(SpecError):
        EvidenceDiscount({"A": 0.0, "B": 0.1, "C": 0.2}, "x")
    with pytest.raises(SpecError):
        EvidenceDiscount({**shares, "D": 1.0}, "x")
    assert math.isfinite(discounted.break_even)


_SPEC = """
[study]
title = "t"
[[effect]]
name = "e"
design = "stated_effect"
estimate = 10.0
outcome_unit = "persons"
[[business_case]]
name = "c"
title = "c"
price_level = "2024"
{discount}
[[business_case.line]]
kind = "effect"
name = "benefit"
effect = "e"
years = [2024]
dkk_per_unit = 100000
sign = -1
[[business_case.line]]
kind = "cost"
name = "staff"
amounts_dkk = {{ 2024 = 600000 }}
"""


def test_spec_key_is_strict_and_needs_a_source():
    from evaluate.spec import parse_spec

    good = 'evidence_discount = { A = 0, B = 0.1, C = 0.2, D = 0.3, source = "table 3" }'
    spec = parse_spec(_SPEC.format(discount=good))
    assert spec.business_case[0].evidence_discount.source == "table 3"
    for bad in (
        'evidence_discount = { A = 0, B = 0.1, C = 0.2, D = 0.3 }',
        'evidence_discount = { A = 0, B = 0.1, C = 0.2, D = 0.3, source = "" }',
        'evidence_discount = { A = 0, B = 0.1, C = 0.2, source = "x" }',
        'evidence_discount = { A = 0, B = 0.1, C = 0.2, D = 0.3, E = 0.4, source = "x" }',
        'evidence_discount = { A = 0, B = 0.1, C = 0.2, D = 1.5, source = "x" }',
    ):
        with pytest.raises(SpecError):
            parse_spec(_SPEC.format(discount=bad))


def test_study_applies_the_discount_from_the_spec(tmp_path):
    from evaluate.spec import parse_spec
    from evaluate.study import run

    good = 'evidence_discount = { A = 0, B = 0.1, C = 0.2, D = 0.3, source = "table 3" }'
    result = run(parse_spec(_SPEC.format(discount=good)), base=tmp_path)
    case = result.business_cases["c"]
    assert case.evidence_discounts == (("benefit", "D", 0.3),)
    assert case.evidence_discount_source == "table 3"
    assert case.net_gain == pytest.approx(100_000)
