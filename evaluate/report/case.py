"""A business case as the report shows it: one headline quantity, its interval and
probability (or its scenarios), the table, figures, sensitivity and sources.

The box shows one quantity (:mod:`evaluate.headline`): the present value at the
case's discounting, or the plain sum when it is undiscounted, labelled so; a gross
saving is labelled as one and gets no net gain, payback year or benefit-cost ratio.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from evaluate.report.figures import figure_name as _slug
from evaluate.report.figures import render_png
from evaluate.report.fmt import Formatter
from evaluate.report.payers import payer_context, shortcut_context
from evaluate.sensitivity import plot_tornado, sensitivity
from evaluate.switching import switching_values

if TYPE_CHECKING:
    from evaluate.business_case import BusinessCase
    from evaluate.effect import Effect
    from evaluate.headline import Headline


def _headline_detail(case: BusinessCase, f: Formatter, t: dict[str, Any]) -> str:
    if case.discount is None:
        return t["headline_plain"]
    base = case.years[0] if case.base_year is None else case.base_year
    return t["headline_pv"].format(discounting=f.say(case.discount.source), year=base)


def _precision_note(head: Headline, f: Formatter, t: dict[str, Any]) -> str:
    if head.method == "exact":
        return t["exact_note"]
    if head.method == "monte_carlo":
        error = f.number(head.mc_error / 1_000, 1)
        if head.rounding > 1_000:
            return t["mc_note"].format(
                draws=f.number(head.draws, 0),
                error=error,
                rounding=f.number(head.rounding / 1_000, 0),
            )
        return t["mc_note_stable"].format(draws=f.number(head.draws, 0), error=error)
    return ""


def _no_probability(case: BusinessCase, f: Formatter, t: dict[str, Any]) -> list[str]:
    head = case.headline
    words = t["verdict"]
    reasons = []
    for reason in head.no_probability:
        if reason.startswith("scenario:"):
            _, kind, name = reason.split(":", 2)
            reasons.append(words[f"why_{kind}"].format(name=f.say(name)))
        else:
            reasons.append(t[f"no_probability_{reason}"])
    return reasons


def _scenario_rows(case: BusinessCase, f: Formatter, t: dict[str, Any]) -> list[dict[str, str]]:
    units = {line.effect.name: line.effect.unit for line in case.lines if line.effect is not None}
    rows = []
    for s in case.headline.scenarios:
        if s.case in ("central", "worst"):
            label = t[f"scenario_{s.case}"]
        else:
            label = t[f"scenario_{s.case}"].format(
                name=f.say(s.effect), value=f.value(s.effect_value, units.get(s.effect, ""))
            )
        rows.append({"label": label, "value": f.thousands(s.value)})
    return rows


def switching_lines(case: BusinessCase, f: Formatter, t: dict[str, Any]) -> list[str]:
    """Each assumption's switching value as a sentence, or why it has none."""
    from evaluate.effect import NotApplicable

    out = []
    for row in switching_values(case).rows:
        said = (
            t["switch_none"].format(reason=f.say(row.value.reason))
            if isinstance(row.value, NotApplicable)
            else f.say(row.sentence)
        )
        out.append(t["switch_row"].format(assumption=f.say(row.assumption), text=said))
    return out


def grade_context(effect: Effect, f: Formatter) -> dict[str, str]:
    """The effect's evidence grade as the report shows it: the letter, the one-line
    reason (beside the effect wherever it is listed) and every reason (where its
    detail is shown, and in the business case's grade lines, so the two never
    disagree)."""
    from evaluate.grade import evidence_grade

    g = evidence_grade(effect)
    return {
        "letter": g.grade,
        "short": f.say(g.headline),
        "reasons": "; ".join(f.say(r) for r in g.reasons),
    }


def grade_lines(case: BusinessCase, f: Formatter, t: dict[str, Any]) -> list[str]:
    """The evidence grade of each priced effect, with its reasons."""
    effects = {id(line.effect): line.effect for line in case.lines if line.effect is not None}
    out = []
    for effect in effects.values():
        g = grade_context(effect, f)
        out.append(
            t["grade_sentence"].format(
                effect=f.say(effect.name), grade=g["letter"], reasons=g["reasons"]
            )
        )
    return out


def _discount(case: BusinessCase, f: Formatter, t: dict[str, Any]) -> str | None:
    """Which optimism-bias discount was applied to which lines, from what source, and
    the headline quantity before and after."""
    from dataclasses import replace

    if not case.evidence_discounts:
        return None
    lines = "; ".join(
        t["discount_line"].format(line=f.say(name), grade=grade, share=f.percent(share, 0))
        for name, grade, share in case.evidence_discounts
    )
    before = replace(case, evidence_discounts=()).present_value
    return t["discount_sentence"].format(
        source=f.say(case.evidence_discount_source),
        lines=lines,
        before=f.thousands(before),
        after=f.thousands(case.present_value),
    )


def case_context(key: str, case: BusinessCase, f: Formatter, t: dict[str, Any]) -> dict[str, Any]:
    """Everything the templates show of one business case, formatted."""
    grouped = len({line.category for line in case.lines}) > 1
    table = case.table(by_category=grouped)
    columns = [t["total"] if c == "Total" else c for c in table.columns]
    net_label = t["net_municipal"] if case.sign == "municipal" else t["net"]

    def label(name: str, kind: str) -> str:
        if kind == "net":
            return net_label
        if kind == "subtotal":
            category = name.removesuffix(" total")
            return t["subtotal"].format(category=t[f"category_{category}"])
        return f.say(name)

    body = [
        {
            "line": label(name, kind),
            "cells": [f.thousands(v * 1_000) for v in row],
            "net": kind == "net",
            "subtotal": kind == "subtotal",
        }
        for name, kind, row in zip(table.index, table.attrs["kinds"], table.to_numpy(), strict=True)
    ]
    head = case.headline
    break_even = case.break_even
    quantity = t["verdict"][
        f"quantity_{'gross' if case.gross else 'net'}_{'pv' if case.discount else 'plain'}"
    ]
    even = case.break_even_effect
    bcr = case.benefit_cost_ratio
    payback = (
        t[f"payback_none_{case.payback_reason}"]
        if case.payback_reason is not None
        else t["never"]
        if case.payback_year is None
        else str(case.payback_year)
    )
    return {
        "key": key,
        "title": case.title,
        "gross": case.gross,
        "price_level": case.price_level,
        "columns": columns,
        "body": body,
        "sign_note": t["sign_municipal"] if case.sign == "municipal" else t["sign_plain"],
        "quantity": quantity[:1].upper() + quantity[1:],
        "box_label": t["gross_saving"] if case.gross else t["net_gain"],
        "headline": f.thousands(head.value),
        "headline_detail": _headline_detail(case, f, t),
        "net_gain": None if case.net_gain is None else f.thousands(case.net_gain),
        "total": f.thousands(case.total),
        "npv": None if case.discount is None else f.thousands(case.present_value),
        "discounting": t["undiscounted"] if case.discount is None else f.say(case.discount.source),
        "interval": None
        if head.interval is None
        else f.interval(head.interval[0] / 1_000, head.interval[1] / 1_000, "DKK"),
        "probability": None if head.probability is None else f.probability(head.probability),
        "precision": _precision_note(head, f, t),
        "no_probability": _no_probability(case, f, t) if head.probability is None else [],
        "scenarios": _scenario_rows(case, f, t) if head.method == "scenarios" else [],
        "break_even": t["break_even"].format(share=f.percent(break_even, 0))
        if break_even == break_even
        else t["break_even_none"],
        "payback": payback,
        "lines": [
            {
                "name": f.say(line.name),
                "source": f.say(line.source),
                "note": f.say(line.note),
                "effect": "" if line.effect is None else f.say(line.effect.name),
            }
            for line in case.lines
        ],
        "notes": [f.say(n) for n in case.notes],
        "figure": f"figures/case-{_slug(key)}.png",
        "png": render_png(case.plot, f),
        "bcr": t["bcr_none_gross"] if bcr is None else f.number(bcr, 2),
        "break_even_effect": None
        if even is None
        else t["break_even_effect"].format(
            value=f.value(even[0], even[1]), unit=t["units"].get(even[1], even[1])
        ),
        "adjustments": [
            (t[name], f.percent(getattr(case, name), 0))
            for name in ("deadweight", "displacement", "optimism_bias")
            if getattr(case, name)
        ],
        "perspectives": [
            (t.get(f"perspective_{p}", p), f.thousands(v)) for p, v in case.by_perspective().items()
        ],
        "payers": payer_context(case, f, t),
        "shortcuts": shortcut_context(case, f, t),
        "sensitivity_title": t["sensitivity_gross"] if case.gross else t["sensitivity"],
        "sensitivity": [
            {
                "assumption": f.say(row.assumption),
                "low": f.thousands(row.npv_low),
                "high": f.thousands(row.npv_high),
            }
            for row in sensitivity(case).itertuples(index=False)
        ],
        "waterfall": f"figures/waterfall-{_slug(key)}.png",
        "waterfall_png": render_png(case.plot_waterfall, f),
        "tornado": f"figures/tornado-{_slug(key)}.png",
        "tornado_png": render_png(lambda ax: plot_tornado(case, ax=ax), f),
        "switching": switching_lines(case, f, t),
        "grades": grade_lines(case, f, t),
        "grade_rules": t["grade_rules"],
        "discount": _discount(case, f, t),
        "n_draws": case.n_draws,
        "seed": case.seed,
    }


__all__ = ["case_context"]
