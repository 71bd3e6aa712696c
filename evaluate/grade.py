"""An evidence grade from the design's own diagnostics, and the optimism-bias discount.

The grade says how much the design, as its own diagnostics show it, supports
reading the estimate as the intervention's effect.  Each rule uses only what the
result already carries:

* **A** — a randomized trial whose covariates are balanced (every joint balance
  test passes, p > 0.05) and whose attrition is low: at most 20 % of outcomes
  missing overall, and not differential by arm (chi-square p > 0.05).
* **B** — a randomized trial without covariates to check balance (attrition as
  for A); a difference-in-differences with event-time effects whose pre-trend
  tests pass and whose HonestDiD breakdown (relative magnitudes) is at least 1
  (the effect survives post-period trend changes as large as the largest
  pre-period one); a synthetic control with a good pre-period fit (the
  estimator's own rule: pre-RMSPE small against the treated outcome's
  pre-period variation, R² at least 0.9, for every treated unit) and a low
  placebo rank (permutation p at most 0.10).
* **C** — any other estimate from data: a design whose checks fail or cannot be
  run (a DiD without leads, a trial with imbalance or high attrition, a
  synthetic control with a poor fit or a high rank), selection on observables,
  interrupted time series and forecasts, benchmarks.
* **D** — a stated figure from a source (a stated effect or expectation, a
  stated range, a target, a declared belief): no design of ours behind it.

The optimism-bias discount (:func:`evidence_discount`) lowers the benefit lines
(effect-linked lines that save money) of a business case by a share per grade.
The shares are the user's, with their source: the Green Book (2022, para 5.45)
gives no generic benefit values and points to the local guidance ("Supporting
public service transformation: cost benefit analysis for local partnerships");
this toolkit ships no percentages it cannot cite.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, Literal

from evaluate.effect import Diagnostic, Effect, NotApplicable
from evaluate.errors import SpecError
from evaluate.text import Num, Pct, Text

if TYPE_CHECKING:
    from evaluate.switching import PricedCase

Grade = Literal["A", "B", "C", "D"]
GRADES: tuple[Grade, ...] = ("A", "B", "C", "D")
MAX_ATTRITION = 0.20
MIN_BREAKDOWN = 1.0
MAX_PLACEBO_P = 0.10

RULES: dict[Grade, Text] = {
    "A": Text(
        "grade.rule_a",
        "A: randomized, covariates balanced (joint tests p > 0.05) and attrition low (at "
        "most 20 % missing, not differential by arm)",
    ),
    "B": Text(
        "grade.rule_b",
        "B: randomized without covariates to check balance; difference-in-differences whose "
        "pre-trend tests pass and whose HonestDiD breakdown M̄ is at least 1; synthetic "
        "control with a good pre-period fit (R² at least 0.9) and a placebo p-value at most 0.10",
    ),
    "C": Text(
        "grade.rule_c",
        "C: any other estimate from data, or a design whose checks fail or cannot be run",
    ),
    "D": Text("grade.rule_d", "D: a stated figure from a source, not estimated here"),
}


@dataclass(frozen=True)
class EvidenceGrade:
    """The grade of one effect and the reasons, each a sentence.

    ``short`` is the reason in one line (what decided the grade), for a table beside
    the letter; it defaults to the first reason.
    """

    effect: str
    grade: Grade
    reasons: tuple[Text, ...]
    short: Text | None = None

    @property
    def rule(self) -> Text:
        return RULES[self.grade]

    @property
    def headline(self) -> Text:
        """The one-line reason: ``short``, or the first reason."""
        return self.short if self.short is not None else self.reasons[0]

    def __str__(self) -> str:
        return f"{self.grade} ({'; '.join(self.reasons)})"


def _passed(diag: Diagnostic | NotApplicable | None) -> bool | None:
    """True / False for a computed test with a verdict, None when it has none."""
    if isinstance(diag, Diagnostic) and diag.passed is not None:
        return bool(diag.passed)
    return None


def _matching(effect: Effect, words: tuple[str, ...]) -> list[Diagnostic | NotApplicable]:
    return [v for k, v in effect.diagnostics.items() if any(w in str(k).lower() for w in words)]


def evidence_grade(effect: Effect) -> EvidenceGrade:
    """Grade ``effect`` by the rules of this module (see its docstring).

    >>> import evaluate as ev
    >>> evidence_grade(ev.stated_effect(estimate=5.0, name="x", outcome_unit="persons")).grade
    'D'
    """
    from evaluate.estimators.series.stated import StatedExpectationResult

    if effect.uncertainty in _NOT_ESTIMATED or isinstance(effect, StatedExpectationResult):
        reason = _NOT_ESTIMATED.get(effect.uncertainty, _NOT_ESTIMATED["point"])
        return EvidenceGrade(effect.name, "D", (reason,))
    for rule in (_trial, _did, _synth):
        found = rule(effect)
        if found is not None:
            grade, reasons, short = found
            return EvidenceGrade(effect.name, grade, tuple(reasons), short)
    reason = Text(
        "grade.other",
        "an estimate from data whose design has no checks this grade can read "
        "(selection on observables, a time series, a benchmark, a DiD without leads)",
    )
    short = Text("grade.short_other", "estimated from data, no design checks to read")
    return EvidenceGrade(effect.name, "C", (reason,), short)


_NOT_ESTIMATED: dict[str, Text] = {
    "point": Text("grade.stated", "a stated figure from a source, not estimated here"),
    "stated_range": Text(
        "grade.stated_range", "a stated range from a source (scenarios), not estimated here"
    ),
    "target": Text("grade.target", "a target, not an estimate of an effect"),
    "prior": Text("grade.prior", "a belief the study declares, not estimated here"),
}
"""Why a number that is not an estimate is graded D: what it is instead."""


def _trial(effect: Effect) -> tuple[Grade, list[Text], Text] | None:
    from evaluate.estimators.trials.trial import TrialResult

    if not isinstance(effect, TrialResult):
        return None
    balance = _matching(effect, ("balance",))
    verdicts = [_passed(d) for d in balance]
    reasons: list[Text] = []
    ok = True
    if any(v is False for v in verdicts):
        ok = False
        reasons.append(Text("grade.imbalance", "a joint balance test fails (p ≤ 0.05)"))
    checked = bool(verdicts) and all(v is True for v in verdicts)
    if checked:
        reasons.append(Text("grade.balanced", "covariates balanced (joint tests p > 0.05)"))
    table = effect.attrition
    share = float(table["missing"].sum() / table["assigned"].sum()) if not table.empty else math.nan
    differential = [_passed(d) for d in _matching(effect, ("attrition",))]
    if math.isfinite(share) and share > MAX_ATTRITION:
        ok = False
        reasons.append(
            Text("grade.attrition_high", "attrition {share} (above 20 %)", share=Pct(share, 1))
        )
    elif any(v is False for v in differential):
        ok = False
        reasons.append(Text("grade.attrition_differential", "attrition differs by arm"))
    else:
        reasons.append(
            Text(
                "grade.attrition_low",
                "attrition {share}, not differential",
                share=Pct(0.0 if math.isnan(share) else share, 1),
            )
        )
    randomized = Text("grade.randomized", "randomized")
    if not ok:
        failed = next(r for r in reasons if r.key != "grade.balanced")
        short = Text("grade.short_randomized_but", "randomized, but {why}", why=failed)
        return "C", [randomized, *reasons], short
    if not checked:
        reasons.insert(0, Text("grade.balance_unchecked", "no covariates to check balance"))
        short = Text("grade.short_trial_b", "randomized, no covariates to check balance")
        return "B", [randomized, *reasons], short
    short = Text("grade.short_trial_a", "randomized, balanced, low attrition")
    return "A", [randomized, *reasons], short


def _did(effect: Effect) -> tuple[Grade, list[Text], Text] | None:
    from evaluate.switching import honest_for

    hd = honest_for(effect)
    if hd is None:
        return None
    pre = [_passed(d) for d in _matching(effect, ("pre-trend",))]
    reasons: list[Text] = []
    failed: list[Text] = []  # the one-line reason of a C: the first check that failed
    if any(v is True for v in pre) and not any(v is False for v in pre):
        reasons.append(Text("grade.pretrend_pass", "pre-trend test passes"))
    else:
        reasons.append(Text("grade.pretrend_fail", "pre-trend test fails or cannot be run"))
        failed.append(reasons[-1])
    if isinstance(hd, NotApplicable):
        reasons.append(Text("grade.no_honest", "no HonestDiD breakdown: {why}", why=hd.reason))
        failed.append(Text("grade.short_no_honest", "no HonestDiD breakdown"))
    else:
        passed = hd.breakdown >= MIN_BREAKDOWN
        reasons.append(
            Text(
                "grade.breakdown",
                "HonestDiD breakdown M̄ = {m} ({verdict})",
                m=Num(hd.breakdown, sig=3),
                verdict=Text("grade.at_least_1", "at least 1")
                if passed
                else Text("grade.below_1", "below 1"),
            )
        )
        if not passed:
            failed.append(reasons[-1])
    if failed:
        return "C", reasons, failed[0]
    short = Text("grade.short_did_b", "pre-trend test passes, HonestDiD breakdown at least 1")
    return "B", reasons, short


def _synth(effect: Effect) -> tuple[Grade, list[Text], Text] | None:
    from evaluate.estimators.synthetic._synth_placebo import PlaceboDistribution
    from evaluate.estimators.synthetic._synth_pooled import PooledPlaceboDistribution

    if not isinstance(effect.distribution, PlaceboDistribution | PooledPlaceboDistribution):
        return None
    fits = [_passed(d) for d in _matching(effect, ("pre-period fit",))]
    reasons: list[Text] = []
    good_fit = bool(fits) and all(v is True for v in fits)
    reasons.append(
        Text("grade.fit_good", "good pre-period fit (R² at least 0.9)")
        if good_fit
        else Text("grade.fit_poor", "poor or unchecked pre-period fit")
    )
    p = float(effect.distribution.p_value(0.0))
    low_rank = p <= MAX_PLACEBO_P
    reasons.append(
        Text(
            "grade.placebo_rank",
            "placebo p-value {p} ({verdict})",
            p=Num(p, sig=2),
            verdict=Text("grade.rank_low", "at most 0.10")
            if low_rank
            else Text("grade.rank_high", "above 0.10"),
        )
    )
    if good_fit and low_rank:
        short = Text("grade.short_synth_b", "good pre-period fit, placebo p-value at most 0.10")
        return "B", reasons, short
    return "C", reasons, reasons[0] if not good_fit else reasons[1]


# --------------------------------------------------------------------------- discount
@dataclass(frozen=True)
class EvidenceDiscount:
    """Optimism-bias discount of benefit lines by evidence grade, with its source.

    ``by_grade`` maps every grade A-D to a share in [0, 1) (0.15 = benefits 15 % lower);
    ``source`` names the table the shares come from; a report prints it.
    """

    by_grade: Mapping[str, float]
    source: str

    def __post_init__(self) -> None:
        if not self.source.strip():
            raise SpecError(
                "An optimism-bias discount needs its source: name the guidance table the "
                "percentages come from (source = '...')."
            )
        missing = [g for g in GRADES if g not in self.by_grade]
        extra = [g for g in self.by_grade if g not in GRADES]
        if missing or extra:
            raise SpecError(
                f"Give a discount for each grade A, B, C and D (missing {missing}, unknown "
                f"{extra})."
            )
        for g, v in self.by_grade.items():
            if not (isinstance(v, int | float) and 0.0 <= v < 1.0):
                raise SpecError(
                    f"The discount for grade {g} must be a share in [0, 1), got {v!r}; give "
                    "0.15 for 15 %."
                )


def benefit_lines(case: PricedCase) -> list[Any]:
    """The effect-linked lines that save money (plus = gain over their years)."""
    return [line for line in case.lines if line.linked and line.total < 0]


def evidence_discount(case: Any, discount: EvidenceDiscount) -> Any:
    """The case with each benefit line lowered by the discount of its effect's grade.

    Returns a new :class:`~evaluate.business_case.BusinessCase` (``dataclasses.replace``)
    whose ``evidence_discounts`` hold ``(line, grade, share)`` for every benefit line.
    """
    grades: dict[int, EvidenceGrade] = {}
    applied = []
    for line in benefit_lines(case):
        key = id(line.effect)
        if key not in grades:
            grades[key] = evidence_grade(line.effect)
        grade = grades[key].grade
        applied.append((line.name, grade, float(discount.by_grade[grade])))
    return replace(
        case, evidence_discounts=tuple(applied), evidence_discount_source=discount.source
    )


__all__ = [
    "GRADES",
    "RULES",
    "EvidenceDiscount",
    "EvidenceGrade",
    "benefit_lines",
    "evidence_discount",
    "evidence_grade",
]
