"""Identification assumptions priced in kroner: the switching value of each.

A business case pays at the estimated effect.  Every design rests on assumptions
(parallel trends, no unmeasured confounding, a donor pool that reproduces the
treated unit), and every case on attribution inputs (how long the effect lasts,
how much would have happened anyway).  The *switching value* of an assumption is
how far it may be violated before the net gain (present value) turns negative:

* **event study / Callaway-Sant'Anna** (HonestDiD, relative magnitudes,
  :mod:`evaluate.inference.honest_did`): the ``Mbar`` at which the bound of the robust
  interval on the break-even side reaches the break-even effect.  For the
  Bonferroni projection the interval is ``theta +- (c sd + Mbar c_l m_U)`` for
  ``Mbar > 0``, so ``Mbar* = (|theta - b| - c sd) / (c_l m_U)``; ``0`` when the usual
  interval (``Mbar = 0``) already reaches ``b``.  The *point* switch (no sampling
  error: the identified set ``theta +- Mbar c_l m``, ``m`` the largest estimated
  pre-period change) is ``|theta - b| / (c_l m)``, given beside it.  When HonestDiD's
  target (the average of the event-time effects) is not the priced effect (the
  Callaway-Sant'Anna simple ATT), the break-even is carried over as the same share
  of the target's estimate, and the note says so.
* **observational**: the E-value (VanderWeele & Ding 2017) of the confounding that
  would move the estimate to the break-even effect ``b``: the bias factor
  ``B = RR(estimate) / RR(b)`` on the risk-ratio scale of
  :func:`~evaluate.sensitivity_observational.e_value_scale`, ``E = B + sqrt(B (B - 1))``
  (``B`` inverted below 1); the same for the interval limit nearer ``b``.
* **synthetic control**: the placebo test of "the effect is only ``b``": the treated
  unit's rank among the placebos by post/pre RMSPE ratio after removing ``b`` from
  its gaps, its p-value, and how many placebo units show an effect at least as
  favourable as ``b`` without any intervention.
* **every case with effect-linked lines**: the persistence (effect years, counted
  in the order they come, the last one fractionally) and the deadweight share at
  which the case breaks even: ``d* = 1 - k (1 - d)`` with ``k`` the break-even share.

A design without such an assumption gets :class:`~evaluate.effect.NotApplicable`
with the reason.  This module reads the Effect contract and the case; it imports
no business case (the case imports it), no report.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np
import pandas as pd

from evaluate._display import ResultDisplay
from evaluate.effect import Effect, NotApplicable
from evaluate.errors import EvaluateError
from evaluate.text import Num, Pct, Text, Unit

if TYPE_CHECKING:
    from matplotlib.axes import Axes

    from evaluate.headline import BreakEven
    from evaluate.inference.honest_did import HonestDiDResult
    from evaluate.money.cashflow import CashFlowLine


class PricedCase(Protocol):
    """What the switching values read of a business case."""

    title: str
    lines: tuple[CashFlowLine, ...]
    deadweight: float
    alpha: float

    @property
    def years(self) -> list[int]: ...

    @property
    def gross(self) -> bool: ...

    @property
    def break_even(self) -> float: ...

    @property
    def break_even_against(self) -> BreakEven | None: ...

    @property
    def present_value(self) -> float: ...

    def _factors(self) -> np.ndarray: ...

    def adjustment(self, line: CashFlowLine) -> float: ...


@dataclass(frozen=True)
class Switch:
    """One assumption: its switching value, what the case assumes, and the sentence."""

    assumption: Text
    parameter: str
    value: float | NotApplicable
    assumed: float
    sentence: Text | str
    detail: float = math.nan
    """A second figure: the point switch (HonestDiD), the E-value of the interval
    limit (observational), the p-value at break-even (synthetic control)."""


@dataclass(frozen=True, eq=False)
class SwitchingValues(ResultDisplay):
    """Switching values of one business case, one row per assumption."""

    title: str
    effect: str
    unit: str
    break_even: float
    rows: tuple[Switch, ...]

    def row(self, parameter: str) -> Switch:
        """The row of one parameter ("Mbar", "E-value", "placebo p", "years", "deadweight")."""
        for r in self.rows:
            if r.parameter == parameter:
                return r
        raise KeyError(parameter)

    def to_frame(self) -> pd.DataFrame:
        """One row per assumption: ``assumption, parameter, switching_value, assumed,
        detail, note`` (``switching_value`` NaN where not applicable, ``note`` the reason)."""
        rows = [
            {
                "assumption": r.assumption,
                "parameter": r.parameter,
                "switching_value": math.nan if isinstance(r.value, NotApplicable) else r.value,
                "assumed": r.assumed,
                "detail": r.detail,
                "note": str(r.value) if isinstance(r.value, NotApplicable) else str(r.sentence),
            }
            for r in self.rows
        ]
        frame = pd.DataFrame(rows)
        frame["assumption"] = pd.Series([r.assumption for r in self.rows], dtype=object)
        return frame

    def _summary_title(self) -> str:
        return f"Switching values: {self.title}"

    def _summary_header(self) -> list[tuple[str, object]]:
        head: list[tuple[str, object]] = [("Effect", self.effect or "several")]
        if math.isfinite(self.break_even):
            head.append((f"Break-even effect ({self.unit})", self.break_even))
        return head

    def _summary_tables(self) -> list[tuple[str, pd.DataFrame]]:
        shown = self.to_frame().drop(columns="note").set_index("assumption")
        return [("Switching values", shown)]

    def _summary_notes(self) -> list[str]:
        return [str(r.sentence) if r.sentence else str(r.value) for r in self.rows]

    def plot(self, ax: Axes | None = None) -> Axes:
        """Each applicable switching value against what the case assumes (dot and bar)."""
        from evaluate.plotting import _axes

        ax = _axes(ax, figsize=(7.0, 0.5 * len(self.rows) + 1.5))
        shown = [r for r in self.rows if not isinstance(r.value, NotApplicable)]
        for i, r in enumerate(shown):
            ax.plot([r.assumed, float(r.value)], [i, i], color="0.6")
            ax.plot([r.assumed], [i], "o", color="0.3")
            ax.plot([float(r.value)], [i], "D", color="C3")
        ax.set_yticks(range(len(shown)), [f"{r.parameter}" for r in shown])
        ax.set_xlabel("assumed (circle) and switching value (diamond)")
        ax.set_title(f"Switching values: {self.title}", fontsize="medium")
        return ax


# --------------------------------------------------------------------------- HonestDiD
def honest_for(
    effect: Effect, alpha: float | None = None
) -> HonestDiDResult | NotApplicable | None:
    """HonestDiD (relative magnitudes, average of the post effects) for an event study
    or a Callaway-Sant'Anna fit; NotApplicable when that fit cannot take it; None for
    designs without event-time effects."""
    from evaluate.estimators.did.event_study import EventStudyResult
    from evaluate.estimators.did.staggered import StaggeredResult
    from evaluate.estimators.did.staggered_aggregate import StaggeredAggregate
    from evaluate.inference.honest_did import honest_did

    level = effect.alpha if alpha is None else alpha
    source: Any
    if isinstance(effect, EventStudyResult):
        source = effect
    elif isinstance(effect, StaggeredResult):
        if effect.spec.base_period != "universal":
            return NotApplicable(
                Text(
                    "switch.cs_varying",
                    "HonestDiD needs the Callaway-Sant'Anna fit with base_period = "
                    "'universal' (event time -1 as the reference); this fit uses 'varying'",
                )
            )
        source = effect.aggregate("dynamic")
    elif isinstance(effect, StaggeredAggregate):
        source = effect
    else:
        return None
    try:
        return honest_did(source, restriction="relative_magnitudes", target="average", alpha=level)
    except EvaluateError as err:
        return NotApplicable(Text("switch.honest_failed", "HonestDiD: {error}", error=str(err)))


def _honest_switch(effect: Effect, even: BreakEven, alpha: float) -> Switch | None:
    from scipy import stats

    assumption = Text("switch.parallel_trends", "parallel trends (HonestDiD, relative magnitudes)")
    hd = honest_for(effect, alpha)
    if hd is None:
        return None
    if isinstance(hd, NotApplicable):
        return Switch(assumption, "Mbar", hd, 0.0, "")
    theta = hd.estimate
    same = math.isclose(theta, effect.estimate, rel_tol=1e-9, abs_tol=1e-12)
    target = even.value if same or effect.estimate == 0 else theta * even.value / effect.estimate
    side = 1.0 if even.pays_above else -1.0
    gap = side * (theta - target)
    if gap <= 0:
        return Switch(assumption, "Mbar", _not_paying(), 0.0, "")
    d = hd.details
    c, m_upper, c_l = d["critical_value"], d["m_upper"], d["c_l"]
    m_hat = float(np.max(np.abs(d["d_hat"])))
    point = gap / (c_l * m_hat) if m_hat > 0 else math.inf
    z = float(stats.norm.ppf(1 - alpha / 2))
    level = Pct(1 - alpha)
    if gap <= z * hd.std_error:
        value, sentence = (
            0.0,
            Text(
                "switch.honest_usual",
                "The case does not pay with {level} confidence even under exact parallel trends: "
                "the usual interval already reaches the break-even effect (M̄ = 0).",
                level=level,
            ),
        )
    elif gap <= c * hd.std_error:
        value, sentence = (
            0.0,
            Text(
                "switch.honest_any",
                "Any violation of parallel trends (M̄ > 0) lets the robust {level} interval reach "
                "the break-even effect; on the point estimates alone the case stops paying at "
                "M̄ = {point}.",
                level=level,
                point=Num(point, sig=3),
            ),
        )
    else:
        value = (gap - c * hd.std_error) / (c_l * m_upper)
        sentence = Text(
            "switch.honest",
            "The case stops paying if parallel trends may be violated by more than M̄ = {m}: "
            "post-period changes in the trend gap up to {m} times the largest pre-period "
            "change let the robust {level} interval reach the break-even effect. On the point "
            "estimates alone (no sampling error) the switch is at M̄ = {point}.",
            m=Num(value, sig=3),
            level=level,
            point=Num(point, sig=3),
        )
    if not same:
        sentence = Text(
            "switch.honest_target",
            "{sentence} (HonestDiD bounds the average of the event-time effects, {theta}; the "
            "break-even is carried over as the same share of it.)",
            sentence=sentence,
            theta=Num(theta, sig=3),
        )
    return Switch(assumption, "Mbar", float(value), 0.0, sentence, detail=float(point))


# --------------------------------------------------------------------------- E-value
def _e(ratio: float) -> float:
    rr = 1 / ratio if ratio < 1 else ratio
    return rr + math.sqrt(rr * (rr - 1))


def _risk_ratio(value: float, scale: tuple[str, float]) -> float:
    kind, v = scale
    if kind == "risk_ratio":
        return v / (v - value) if v - value > 0 else math.inf
    return math.exp(0.91 * value / v)


def _e_value_switch(effect: Effect, even: BreakEven, alpha: float) -> Switch | None:
    from evaluate.estimators.observational.design import ObservationalResult

    if not isinstance(effect, ObservationalResult):
        return None
    assumption = Text("switch.confounding", "no unmeasured confounding (E-value)")
    scale = effect.e_value_scale
    if scale is None:
        reason = NotApplicable(
            Text("switch.no_scale", "the outcome gives no risk-ratio scale for an E-value")
        )
        return Switch(assumption, "E-value", reason, 1.0, "")
    side = 1.0 if even.pays_above else -1.0
    if side * (effect.estimate - even.value) <= 0:
        return Switch(assumption, "E-value", _not_paying(), 1.0, "")
    rr_b = _risk_ratio(even.value, scale)
    point = _e(_risk_ratio(effect.estimate, scale) / rr_b)
    limit = even.unfavourable
    e_limit = (
        _e(_risk_ratio(limit, scale) / rr_b)
        if math.isfinite(limit) and side * (limit - even.value) > 0
        else 1.0
    )
    sentence = Text(
        "switch.e_value",
        "The case stops paying if an unmeasured confounder is associated with both treatment "
        "and outcome by a risk ratio of {e} each (E-value of the break-even effect); for the "
        "limit of the {level} interval nearer the break-even it takes {e_limit}.",
        e=Num(point, 2),
        level=Pct(1 - alpha),
        e_limit=Num(e_limit, 2),
    )
    return Switch(assumption, "E-value", float(point), 1.0, sentence, detail=float(e_limit))


# --------------------------------------------------------------------------- synth
def _placebo_switch(effect: Effect, even: BreakEven, alpha: float) -> Switch | None:
    from evaluate.estimators.synthetic._synth_placebo import PlaceboDistribution
    from evaluate.estimators.synthetic._synth_pooled import PooledPlaceboDistribution

    dist = effect.distribution
    if isinstance(dist, PlaceboDistribution):
        stats_ = dist.placebo_ratios
    elif isinstance(dist, PooledPlaceboDistribution):
        stats_ = dist.placebo_stats
    else:
        return None
    assumption = Text("switch.donor_pool", "the donor pool reproduces the treated unit (placebos)")
    n = int(stats_.shape[0])
    b = even.value
    if (1.0 if even.pays_above else -1.0) * (effect.estimate - b) <= 0:
        return Switch(assumption, "placebo p", _not_paying(), math.nan, "")
    p = float(dist.p_value(b))
    rank = int(round(p * (n + 1)))
    side = 1.0 if even.pays_above else -1.0
    beyond = int(np.sum(side * (dist.placebo_effects - b) >= 0))
    key, english = (
        ("switch.placebo_rejects", "so an effect as small as the break-even is rejected")
        if p <= alpha
        else ("switch.placebo_keeps", "so an effect as small as the break-even is not rejected")
    )
    sentence = Text(
        "switch.placebo",
        "If the effect were only the break-even effect ({value} {unit}), the treated unit "
        "would rank {rank} of {total} by post/pre RMSPE ratio (p = {p}), {verdict} at the "
        "{level} level; {beyond} of {n} placebos show an effect at least that large "
        "without any intervention.",
        value=Num(b, sig=3),
        unit=Unit(effect.unit),
        rank=rank,
        total=n + 1,
        p=Num(p, sig=2),
        verdict=Text(key, english),
        level=Pct(1 - alpha),
        beyond=beyond,
        n=n,
    )
    return Switch(assumption, "placebo p", p, math.nan, sentence, detail=float(beyond) / max(n, 1))


# --------------------------------------------------------------------------- attribution
def _not_paying() -> NotApplicable:
    return NotApplicable(
        Text(
            "switch.not_paying",
            "the case does not pay at the estimated effect, so there is nothing to switch",
        )
    )


def _linked_fixed_by_year(case: PricedCase) -> tuple[list[float], float]:
    """Present value of the effect-linked gain per year (years with linked amounts,
    in order), and of the fixed lines, both plus = gain."""
    factors = dict(zip(case.years, case._factors(), strict=True))
    linked: dict[int, float] = {}
    fixed = 0.0
    for line in case.lines:
        scale = case.adjustment(line)
        for year, amount in line.amounts.items():
            pv = -amount * factors[year] * scale
            if line.linked:
                linked[year] = linked.get(year, 0.0) + pv
            else:
                fixed += pv
    return [linked[y] for y in sorted(linked)], fixed


def persistence_switch(case: PricedCase) -> Switch:
    """How many of the effect years the case needs before it breaks even."""
    assumption = Text("switch.persistence", "persistence of the effect (effect years)")
    none = ""
    linked, fixed = _linked_fixed_by_year(case)
    if not linked:
        return Switch(assumption, "years", _no_linked(), math.nan, none)
    assumed = float(len(linked))
    if fixed >= 0:
        return Switch(assumption, "years", _no_costs(), assumed, none)
    if fixed + sum(linked) < 0:
        return Switch(assumption, "years", _not_paying(), assumed, none)
    cumulative = fixed
    for k, gain in enumerate(linked):
        if gain > 0 and cumulative + gain >= 0:
            years = k + (-cumulative) / gain
            break
        cumulative += gain
    else:  # pragma: no cover - the total is non-negative, so some year crosses
        years = assumed
    sentence = Text(
        "switch.persistence_sentence",
        "The case stops paying if the effect lasts less than {years} of the {assumed} effect "
        "years the lines assume.",
        years=Num(years, sig=3),
        assumed=Num(assumed, 0),
    )
    return Switch(assumption, "years", float(years), assumed, sentence)


def deadweight_switch(case: PricedCase) -> Switch:
    """The deadweight share at which the case breaks even: ``1 - k (1 - d)``."""
    assumption = Text("switch.deadweight", "deadweight (share that would have happened anyway)")
    none = ""
    linked, fixed = _linked_fixed_by_year(case)
    if not linked:
        return Switch(assumption, "deadweight", _no_linked(), case.deadweight, none)
    if fixed >= 0:
        return Switch(assumption, "deadweight", _no_costs(), case.deadweight, none)
    total = sum(linked)
    if total <= 0 or fixed + total < 0:
        return Switch(assumption, "deadweight", _not_paying(), case.deadweight, none)
    share = -fixed / total
    value = 1.0 - share * (1.0 - case.deadweight)
    sentence = Text(
        "switch.deadweight_sentence",
        "The case stops paying if more than {share} of the effect would have happened anyway "
        "(deadweight; the case assumes {assumed}).",
        share=Pct(value, 0),
        assumed=Pct(case.deadweight, 0),
    )
    return Switch(assumption, "deadweight", float(value), case.deadweight, sentence)


def _no_linked() -> NotApplicable:
    return NotApplicable(Text("switch.no_linked", "no line scales with an effect"))


def _no_costs() -> NotApplicable:
    return NotApplicable(Text("switch.no_costs", "no costs to recoup: the case cannot stop paying"))


# --------------------------------------------------------------------------- front door
def switching_values(case: PricedCase, effect: Effect | None = None) -> SwitchingValues:
    """Switching values of ``case`` for each identification assumption of the design of
    ``effect`` (default: the one effect the case is priced with), plus persistence and
    deadweight.

    Examples
    --------
    >>> import evaluate as ev
    >>> from evaluate.money import cost, monetize
    >>> effect = ev.stated_effect(estimate=10.0, name="off benefit", outcome_unit="persons")
    >>> case = ev.BusinessCase(title="demo", price_level="2024", lines=(
    ...     monetize(effect, dkk_per_unit=100_000, sign=-1, years=[2024, 2025], name="benefit"),
    ...     cost("staff", {2024: 600_000, 2025: 600_000})))
    >>> round(switching_values(case).row("deadweight").value, 2)
    0.4
    """
    effects = {id(line.effect): line.effect for line in case.lines if line.effect is not None}
    if effect is None and len(effects) == 1:
        (effect,) = effects.values()
    even = case.break_even_against
    alpha = case.alpha
    rows: list[Switch] = []
    if effect is not None and (even is None or len(effects) != 1):
        why = (
            Text("switch.several", "several effects drive the money: no single break-even effect")
            if len(effects) > 1
            else Text("switch.no_break_even", "the case has no break-even effect")
        )
        rows.append(
            Switch(
                Text("switch.identification", "identification"),
                "identification",
                NotApplicable(why),
                math.nan,
                "",
            )
        )
    elif effect is not None and even is not None:
        for make in (_honest_switch, _e_value_switch, _placebo_switch):
            row = make(effect, even, alpha)
            if row is not None:
                rows.append(row)
                break
        else:
            rows.append(
                Switch(
                    Text("switch.identification", "identification"),
                    "identification",
                    NotApplicable(_no_identification(effect)),
                    math.nan,
                    "",
                )
            )
    rows += [persistence_switch(case), deadweight_switch(case)]
    return SwitchingValues(
        title=case.title,
        effect="" if effect is None else effect.name,
        unit="" if effect is None else effect.unit,
        break_even=math.nan if even is None else even.value,
        rows=tuple(rows),
    )


def _no_identification(effect: Effect) -> Text:
    """Why a design gets no identification switching value."""
    kind = effect.uncertainty
    if kind in ("point", "stated_range", "target", "prior"):
        return Text(
            "switch.stated",
            "a stated figure, not estimated against a counterfactual: no identification "
            "assumption to price; the break-even effect is its switching value",
        )
    from evaluate.estimators.trials.trial import TrialResult

    if isinstance(effect, TrialResult):
        return Text(
            "switch.randomized",
            "randomized assignment identifies the effect; attrition and balance are graded "
            "in the evidence grade",
        )
    return Text(
        "switch.no_bound",
        "this design has no sensitivity parameter to price (no pre-period event-time "
        "coefficients, E-value or placebo distribution); the break-even effect against the "
        "interval is its switching value",
    )


__all__ = [
    "PricedCase",
    "Switch",
    "SwitchingValues",
    "deadweight_switch",
    "honest_for",
    "persistence_switch",
    "switching_values",
]
