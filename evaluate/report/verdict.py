"""The verdict at the top of a report: what the numbers say, in the report's language.

Generated from the same numbers the report shows, never written by hand:

* each effect and how sure we are of it, in words that fit its kind of uncertainty
  (an estimate from data, a stated number, a stated range, a target, a prior);
* whether several designs that estimate the same quantity agree (a value that lies
  in every interval) or not;
* each business case's conclusion: a net gain with its interval and probability,
  a scenario range and why no probability is given, or a gross saving and what is
  missing; and the break-even effect set against the effect's interval ("the case
  pays if the effect is at least X; the 95 % interval reaches down to Y") and the
  smallest effect the design could detect;
* which effects are priced in a business case and which are not.

Every word comes from ``[verdict]`` in ``locale/<language>.toml``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from evaluate.effect import Effect
from evaluate.inference.kinds import SCENARIO
from evaluate.report.fmt import Formatter

if TYPE_CHECKING:
    from evaluate.business_case import BusinessCase
    from evaluate.headline import BreakEven, Headline


def _quantity(case: BusinessCase, words: Mapping[str, str]) -> str:
    kind = "gross" if case.gross else "net"
    timing = "pv" if case.discount is not None else "plain"
    return words[f"quantity_{kind}_{timing}"]


def effect_range(effect: Effect, f: Formatter) -> tuple[str, str]:
    """The effect's low and high as shown: a stated range as stated, else its interval."""
    if effect.uncertainty in SCENARIO:
        low, high = effect.distribution.interval(0.05)
    else:
        low, high = effect.ci
    return f.value(low, effect.unit), f.value(high, effect.unit)


def effect_sentence(effect: Effect, f: Formatter, t: Mapping[str, Any], level: str) -> str:
    """One sentence: the effect, and how sure we are of it."""
    words = t["verdict"]
    unit = f.unit(effect.unit)
    estimate = f.value(effect.estimate, effect.unit)
    name = f.say(effect.name)
    kind = effect.uncertainty
    if kind == "point":
        return words["effect_point"].format(name=name, estimate=estimate, unit=unit)
    low, high = effect_range(effect, f)
    if kind == "target":
        return words["effect_target"].format(
            name=name, estimate=estimate, unit=unit, low=low, high=high
        )
    if kind == "stated_range":
        return words["effect_stated_range"].format(
            name=name, estimate=estimate, unit=unit, low=low, high=high
        )
    if kind == "prior":
        return words["effect_prior"].format(
            name=name,
            estimate=estimate,
            unit=unit,
            low=low,
            high=high,
            source=f.say(effect.provenance.source),
        )
    lo, hi = effect.ci
    p = effect.p_value
    if math.isnan(lo):
        sure = words["sure_unknown"]
    else:
        side = "excludes" if lo > 0 or hi < 0 else "includes"
        shown = f.p_value(p)
        shown = f"p {shown}" if shown.startswith("<") else f"p = {shown}"
        sure = words[f"sure_{side}"].format(p=shown) if p == p else words[f"sure_{side}_nop"]
    return words["effect_sampling"].format(
        name=name, estimate=estimate, unit=unit, level=level, low=low, high=high, sure=sure
    )


def agreement_sentence(
    quantity: str, effects: Sequence[Effect], f: Formatter, t: Mapping[str, Any]
) -> str:
    """Whether several estimates of one quantity agree: a value inside every interval."""
    words = t["verdict"]
    lows, highs = [], []
    for effect in effects:
        low, high = effect.ci
        if math.isnan(low):
            low = high = effect.estimate
        lows.append(low)
        highs.append(high)
    unit = effects[0].unit
    estimates = [e.estimate for e in effects]
    common_low, common_high = max(lows), min(highs)
    if common_low <= common_high:
        return words["agree"].format(
            n=len(effects),
            quantity=f.say(quantity),
            low=f.value(common_low, unit),
            high=f.value(common_high, unit),
            unit=f.unit(unit),
        )
    return words["disagree"].format(
        n=len(effects),
        quantity=f.say(quantity),
        low=f.value(min(estimates), unit),
        high=f.value(max(estimates), unit),
        unit=f.unit(unit),
    )


def _why(head: Headline, f: Formatter, words: Mapping[str, str]) -> str:
    reasons = [
        words[f"why_{kind}"].format(name=f.say(name)) for name, kind in head.scenario_effects
    ]
    return "; ".join(reasons)


def case_sentence(case: BusinessCase, f: Formatter, t: Mapping[str, Any], level: str) -> str:
    """The business case's conclusion in one or two sentences."""
    words = t["verdict"]
    head = case.headline
    title = f.say(case.title)
    quantity = _quantity(case, words)
    value = f.thousands(head.value)
    if head.method == "scenarios":
        values = [s.value for s in head.scenarios]
        text = words["case_scenarios"].format(
            title=title,
            quantity=quantity,
            value=value,
            worst=f.thousands(min(values)),
            best=f.thousands(max(values)),
            why=_why(head, f, words),
        )
        return text + (" " + words["gross_missing"] if case.gross else "")
    if case.gross:
        interval = (
            ""
            if head.interval is None
            else words["gross_interval"].format(
                level=level, low=f.thousands(head.interval[0]), high=f.thousands(head.interval[1])
            )
        )
        return words["case_gross"].format(
            title=title, quantity=quantity, value=value, interval=interval
        )
    if head.method == "none":
        return words["case_certain"].format(title=title, quantity=quantity, value=value)
    assert head.interval is not None and head.probability is not None
    return words["case_net"].format(
        title=title,
        quantity=quantity,
        value=value,
        level=level,
        low=f.thousands(head.interval[0]),
        high=f.thousands(head.interval[1]),
        p=f.probability(head.probability),
    )


def break_even_sentence(even: BreakEven, f: Formatter, t: Mapping[str, Any], level: str) -> str:
    """'The case pays if the effect is at least X; the 95 % interval reaches down to Y.'"""
    words = t["verdict"]
    bound = f.value(even.unfavourable, even.unit)
    side = "low" if even.pays_above else "high"
    if even.kind == "point":
        against = words["against_point"].format(bound=bound)
    elif even.kind in SCENARIO:
        against = words[f"against_{even.kind}_{side}"].format(bound=bound)
    else:
        against = words[f"against_interval_{side}"].format(level=level, bound=bound)
    if even.mde == even.mde:  # an estimate from data: what could the design detect?
        against += words["mde"].format(mde=f.value(even.mde, even.unit))
    key = "pays_above" if even.pays_above else "pays_below"
    return words[key].format(
        name=f.say(even.effect),
        value=f.value(even.value, even.unit),
        unit=f.unit(even.unit),
        against=against,
    )


def assumption_sentences(case: BusinessCase, f: Formatter, t: Mapping[str, Any]) -> list[str]:
    """The identification assumption's switching value (when the design has one) and the
    evidence grade of each priced effect, next to the case's conclusion."""
    from evaluate.effect import NotApplicable
    from evaluate.report.case import grade_lines
    from evaluate.switching import switching_values

    said = [
        f.say(row.sentence)
        for row in switching_values(case).rows
        if row.parameter in ("Mbar", "E-value", "placebo p")
        and not isinstance(row.value, NotApplicable)
    ]
    return said + grade_lines(case, f, dict(t))


def priced_sentence(
    effects: Mapping[str, Effect], cases: Mapping[str, BusinessCase], f: Formatter, t: Mapping
) -> str:
    words = t["verdict"]
    if not cases:
        return words["none_priced"]
    priced_ids = {id(line.effect) for c in cases.values() for line in c.lines if line.effect}
    priced = [f.say(e.name) for e in effects.values() if id(e) in priced_ids]
    unpriced = [f.say(e.name) for e in effects.values() if id(e) not in priced_ids]
    text = words["priced"].format(priced="; ".join(priced) or words["nothing"])
    if unpriced:
        text += " " + words["not_priced"].format(unpriced="; ".join(unpriced))
    return text


def build_verdict(
    effects: Mapping[str, Effect],
    cases: Mapping[str, BusinessCase],
    groups: Sequence[tuple[str, Sequence[Effect]]],
    f: Formatter,
    t: Mapping[str, Any],
    level: str,
) -> dict[str, list[str]]:
    """The verdict's paragraphs: effects, agreement, business cases, pricing."""
    case_lines = []
    for case in cases.values():
        case_lines.append(case_sentence(case, f, t, level))
        even = case.break_even_against
        if even is not None:
            case_lines.append(break_even_sentence(even, f, t, level))
        case_lines += assumption_sentences(case, f, t)
    return {
        "effects": [effect_sentence(e, f, t, level) for e in effects.values()],
        "agreement": [agreement_sentence(q, es, f, t) for q, es in groups],
        "cases": case_lines,
        "priced": [priced_sentence(effects, cases, f, t)],
    }


__all__ = [
    "agreement_sentence",
    "break_even_sentence",
    "build_verdict",
    "case_sentence",
    "effect_range",
    "effect_sentence",
    "priced_sentence",
]
