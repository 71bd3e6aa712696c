"""The business case: does the intervention pay, for whom, and how sure are we?

A :class:`BusinessCase` is a frozen collection of cash-flow lines with a price
level, a sign convention and (optionally) a discount schedule.  From it follow
the net gain by year and in total, the present value, the payback year, the
break-even effect and the headline (:mod:`evaluate.headline`): the present value
with its interval and probability of a gain where the inputs allow one, or a
scenario table where they are stated ranges or targets.

Internally amounts are expenditure (plus = spent).  The *net gain* is the
negative of net expenditure: plus = the intervention saves money.  A case
without a cost line (a fixed line with no saving in it) is a *gross saving*
(bruttobesparelse): it has no net gain, payback year or benefit-cost ratio.
"""

from __future__ import annotations

import math
import textwrap
from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import TYPE_CHECKING, Literal

import numpy as np
import pandas as pd

from evaluate._display import ResultDisplay
from evaluate.errors import SpecError
from evaluate.headline import BreakEven, Headline, Input, break_even, compute, draws
from evaluate.limits import check_count
from evaluate.money.cashflow import CATEGORIES, CashFlowLine
from evaluate.money.discount import DiscountSchedule
from evaluate.text import Text, say

if TYPE_CHECKING:
    from matplotlib.axes import Axes

    from evaluate.switching import SwitchingValues

Sign = Literal["municipal", "plain"]
SIGN_NOTES = {
    "municipal": "Plus = expenditure, minus = income or saving (mindreudgift).",
    "plain": "Plus = gain (income or saving), minus = cost.",
}


@dataclass(frozen=True, eq=False)
class BusinessCase(ResultDisplay):
    """Cash-flow lines -> net gain, NPV, payback, break-even and probability of a gain.

    Parameters
    ----------
    title : what the case is about.
    lines : the cash-flow lines (see :func:`evaluate.money.monetize`, :func:`~evaluate.money.cost`).
    price_level : the stated price level of all amounts, e.g. "2019 p/l".
    sign : how tables show amounts: "municipal" (plus = expenditure) or "plain" (plus = gain).
    discount : a :class:`DiscountSchedule`, or None for undiscounted sums.
    base_year : the year amounts are discounted to (default: the first year).
    n_draws, seed : Monte Carlo size and seed for the uncertainty of effect-linked lines.
    alpha : 1 - level of the reported interval of the net gain.
    deadweight, displacement : shares of the effect-linked amounts that would have
        happened anyway, or are offset elsewhere (Green Book / GMCA).  Leave them at 0
        when the effect is estimated against a counterfactual: deadweight is then
        already netted out.
    optimism_bias : uplift of fixed costs (0.2 = costs 20 % above the plan).
    horizon : the last year the case counts; every line must end by then (a horizon
        shorter than the investment or the effects is an error, not a silent cut).
    years_assumed : the years of the lines are the study's assumption, not the
        source's (a source that gives totals without years): no payback year is given.
    evidence_discounts, evidence_discount_source : ``(line, grade, share)`` per benefit
        line lowered by an optimism-bias discount for its effect's evidence grade, and
        where the shares come from; set by :func:`evaluate.grade.evidence_discount`.
    """

    title: str
    lines: tuple[CashFlowLine, ...]
    price_level: str
    sign: Sign = "municipal"
    discount: DiscountSchedule | None = None
    base_year: int | None = None
    n_draws: int = 10_000
    seed: int = 0
    alpha: float = 0.05
    notes: tuple[str, ...] = field(default_factory=tuple)
    deadweight: float = 0.0
    displacement: float = 0.0
    optimism_bias: float = 0.0
    horizon: int | None = None
    years_assumed: bool = False
    evidence_discounts: tuple[tuple[str, str, float], ...] = ()
    evidence_discount_source: str = ""

    def __post_init__(self) -> None:
        if not self.lines:
            raise SpecError(f"Business case {self.title!r} has no cash-flow lines.")
        if self.sign not in SIGN_NOTES:
            raise SpecError(f"sign must be 'municipal' or 'plain', got {self.sign!r}.")
        names = [line.name for line in self.lines]
        if len(set(names)) != len(names):
            raise SpecError(f"Business case {self.title!r} has duplicate line names: {names}.")
        if self.n_draws < 100:
            raise SpecError(f"n_draws must be at least 100, got {self.n_draws}.")
        check_count("n_draws", self.n_draws, "draws")
        for name in ("deadweight", "displacement"):
            if not 0.0 <= getattr(self, name) < 1.0:
                raise SpecError(
                    f"{name} is a share in [0, 1), got {getattr(self, name)!r}; "
                    "give 0.1 for 10 %, not 10."
                )
        if not 0.0 <= self.optimism_bias <= 2.0:
            raise SpecError(
                f"optimism_bias is a share between 0 and 2, got {self.optimism_bias!r}; "
                "give 0.2 for 20 %."
            )
        if self.horizon is not None and self.years[-1] > self.horizon:
            late = sorted({line.name for line in self.lines if max(line.amounts) > self.horizon})
            raise SpecError(
                f"Horizon {self.horizon} is shorter than the lines {late}, which run to "
                f"{self.years[-1]}. Extend the horizon or end those lines (effect_years) by it."
            )
        for line_name, _, share in self.evidence_discounts:
            if line_name not in names or not 0.0 <= share < 1.0:
                raise SpecError(
                    f"Evidence discount {share!r} on line {line_name!r}: the line must exist "
                    "and the share lie in [0, 1)."
                )
        if self.base_year is not None and self.base_year > self.years[0]:
            raise SpecError(f"base_year {self.base_year} is after the first year {self.years[0]}.")

    # --- the deterministic case ------------------------------------------------
    @property
    def years(self) -> list[int]:
        return sorted({y for line in self.lines for y in line.amounts})

    def _factors(self) -> np.ndarray:
        if self.discount is None:
            return np.ones(len(self.years))
        base = self.years[0] if self.base_year is None else self.base_year
        return np.array([self.discount.factor(y - base) for y in self.years])

    def adjustment(self, line: CashFlowLine) -> float:
        """The factor attribution adjustments apply to ``line``: effect-linked lines lose
        deadweight and displacement, fixed costs gain the optimism-bias uplift."""
        if line.linked:
            cut = {name: share for name, _, share in self.evidence_discounts}.get(line.name, 0.0)
            return (1.0 - self.deadweight) * (1.0 - self.displacement) * (1.0 - cut)
        return 1.0 + self.optimism_bias if line.total > 0 else 1.0

    def expenditure(self) -> pd.DataFrame:
        """Lines x years of expenditure in DKK (plus = spent), undiscounted and adjusted."""
        rows = {
            line.name: [line.amounts.get(y, 0.0) * self.adjustment(line) for y in self.years]
            for line in self.lines
        }
        return pd.DataFrame.from_dict(rows, orient="index", columns=self.years)

    @property
    def net_gain_by_year(self) -> pd.Series:
        """Net gain per year in DKK (plus = saving), undiscounted."""
        return -self.expenditure().sum(axis=0)

    @property
    def gross(self) -> bool:
        """True when no line is a cost of the intervention: a gross saving.

        A cost line is a fixed line (not linked to an effect) without a saving in it;
        a stated zero cost counts (a source that says the intervention costs nothing
        extra), a missing one does not.
        """
        return not any(
            not line.linked and all(a >= 0 for a in line.amounts.values()) for line in self.lines
        )

    @property
    def total(self) -> float:
        """Undiscounted sum over all lines and years in DKK (plus = saving), gross or net."""
        return float(self.net_gain_by_year.sum())

    @property
    def present_value(self) -> float:
        """The lines' sum discounted to the base year (the plain sum without discounting)."""
        return float(self.net_gain_by_year.to_numpy() @ self._factors())

    @property
    def net_gain(self) -> float | None:
        """Undiscounted net gain over all years in DKK (plus = saving); None for a gross saving."""
        return None if self.gross else self.total

    @property
    def npv(self) -> float | None:
        """Net gain discounted to the base year (equals ``net_gain`` without discounting);
        None for a gross saving."""
        return None if self.gross else self.present_value

    @property
    def payback_year(self) -> int | None:
        """First year in which the cumulative (discounted) net gain is no longer negative;
        None for a gross saving and when the years are assumed (see :attr:`payback_reason`)."""
        if self.payback_reason is not None:
            return None
        cumulative = np.cumsum(self.net_gain_by_year.to_numpy() * self._factors())
        reached = np.nonzero(cumulative >= 0)[0]
        return None if len(reached) == 0 else self.years[int(reached[0])]

    @property
    def payback_reason(self) -> Literal["gross", "years_assumed"] | None:
        """Why no payback year can be given, or None when it can."""
        if self.gross:
            return "gross"
        if self.years_assumed:
            return "years_assumed"
        return None

    def _linked_and_fixed(self) -> tuple[float, float]:
        """Present value of the gain from effect-linked lines, and from fixed lines."""
        factors = dict(zip(self.years, self._factors(), strict=True))
        linked = fixed = 0.0
        for line in self.lines:
            pv = -sum(a * factors[y] for y, a in line.amounts.items()) * self.adjustment(line)
            if line.linked:
                linked += pv
            else:
                fixed += pv
        return linked, fixed

    @property
    def break_even(self) -> float:
        """The share of the estimated effects at which the case breaks even.

        All effect-linked lines are scaled by one factor ``k``; the case pays when
        ``k * linked + fixed >= 0``.  ``0.44`` means the investment pays as long as
        the effects are at least 44 % of their estimates; NaN when no line is linked.
        """
        linked, fixed = self._linked_and_fixed()
        if linked == 0 or fixed == 0:
            return math.nan
        return -fixed / linked

    def present_values(self) -> pd.Series:
        """Each line's present value as expenditure (plus = spent), adjusted."""
        factors = self._factors()
        return self.expenditure() @ pd.Series(factors, index=self.years)

    @property
    def benefit_cost_ratio(self) -> float | None:
        """Present value of savings over present value of expenditure (lines by sign);
        None for a gross saving, NaN when the costs are zero."""
        if self.gross:
            return None
        pv = self.present_values()
        costs = float(pv[pv > 0].sum())
        return math.nan if costs == 0 else float(-pv[pv < 0].sum()) / costs

    def by_perspective(self) -> pd.Series:
        """Net gain (present value, plus = saving) for each perspective with lines."""
        pv = -self.present_values()
        perspective = pd.Series({line.name: line.perspective for line in self.lines})
        return pv.groupby(perspective).sum()

    @property
    def break_even_effect(self) -> tuple[float, str] | None:
        """The effect at which the case breaks even, in the effect's unit, when exactly
        one effect drives the money (the switching value); otherwise None."""
        effects = {id(line.effect): line.effect for line in self.lines if line.effect is not None}
        if len(effects) != 1 or math.isnan(self.break_even):
            return None
        (effect,) = effects.values()
        return self.break_even * effect.estimate, effect.unit

    # --- uncertainty -----------------------------------------------------------
    def inputs(self) -> tuple[float, tuple[Input, ...]]:
        """The case as :mod:`evaluate.headline` sees it: the present value of the fixed
        lines, and per distinct effect the present value of the gain per unit."""
        factors = dict(zip(self.years, self._factors(), strict=True))
        fixed = 0.0
        coefficients: dict[int, float] = {}
        effects = {}
        for line in self.lines:
            scale = self.adjustment(line)
            if line.effect is None:
                fixed -= sum(a * factors[y] for y, a in line.amounts.items()) * scale
                continue
            key = id(line.effect)
            effects.setdefault(key, line.effect)
            per_unit = sum(p * factors[y] for y, p in line.per_unit.items()) * scale
            coefficients[key] = coefficients.get(key, 0.0) - per_unit
        return fixed, tuple(Input(effects[k], coefficients[k]) for k in effects)

    @cached_property
    def headline(self) -> Headline:
        """The headline quantity (present value, plus = gain) with its interval and
        probability, or its scenarios; see :mod:`evaluate.headline`."""
        fixed, inputs = self.inputs()
        return compute(
            fixed,
            inputs,
            gross=self.gross,
            discounted=self.discount is not None,
            alpha=self.alpha,
            n_draws=self.n_draws,
            seed=self.seed,
        )

    @property
    def break_even_against(self) -> BreakEven | None:
        """The break-even effect set against the effect's interval and detectable size,
        when exactly one effect drives the money and the case has fixed lines."""
        fixed, inputs = self.inputs()
        if len(inputs) != 1 or self.gross:
            return None
        return break_even(fixed, inputs[0], self.alpha)

    @cached_property
    def simulation(self) -> np.ndarray:
        """``n_draws`` Monte Carlo draws of the (discounted) net gain.

        Each distinct effect is drawn once, so lines that share an effect move
        together; fixed lines are constants.
        """
        fixed, inputs = self.inputs()
        total = draws(fixed, inputs, self.n_draws, self.seed)
        total.setflags(write=False)
        return total

    @property
    def probability_of_gain(self) -> float:
        """Probability that the net gain (present value) is positive: exact or Monte
        Carlo (:attr:`headline`); NaN where no probability may be given (a gross
        saving, an input that is a stated range or a target, or no uncertainty)."""
        p = self.headline.probability
        return math.nan if p is None else p

    @property
    def net_gain_interval(self) -> tuple[float, float]:
        """Interval of the headline present value; NaN where none may be given."""
        interval = self.headline.interval
        return (math.nan, math.nan) if interval is None else interval

    @property
    def uncertain(self) -> bool:
        """True when some linked effect carries uncertainty (draws that vary)."""
        return bool(np.ptp(self.simulation) > 0)

    def for_perspective(self, perspective: str) -> BusinessCase:
        """The same case with only the lines of one perspective."""
        lines = tuple(line for line in self.lines if line.perspective == perspective)
        if not lines:
            raise SpecError(f"No lines for perspective {perspective!r} in {self.title!r}.")
        return replace(self, lines=lines, title=f"{self.title} ({perspective})")

    # --- tables ----------------------------------------------------------------
    def table(self, scale: float = 1_000.0, *, by_category: bool = False) -> pd.DataFrame:
        """The business-case table in ``scale`` DKK (default 1,000 DKK) with the sign
        convention applied: one row per line plus the net, one column per year plus total.

        With ``by_category`` the lines are grouped as in a Danish business case (service,
        overførsler, anlæg), each group followed by a subtotal row named
        ``"<category> total"``; ``frame.attrs["kinds"]`` says which rows are lines,
        subtotals and the net.
        """
        expenditure = self.expenditure() / scale
        shown = expenditure if self.sign == "municipal" else -expenditure
        kinds = ["line"] * len(shown)
        if by_category:
            category = {line.name: line.category for line in self.lines}
            parts, kinds = [], []
            for name in CATEGORIES:
                group = shown[[category[line] == name for line in shown.index]]
                if group.empty:
                    continue
                subtotal = group.sum(axis=0).rename(f"{name} total").to_frame().T
                parts += [group, subtotal]
                kinds += ["line"] * len(group) + ["subtotal"]
            shown = pd.concat(parts)
            lines_only = shown[[k == "line" for k in kinds]]
        else:
            lines_only = shown
        shown.loc["Net"] = lines_only.sum(axis=0)
        shown["Total"] = shown.sum(axis=1)
        shown.columns = [str(c) for c in shown.columns]
        shown.index.name = "line"
        shown.attrs["kinds"] = [*kinds, "net"]
        return shown

    def to_frame(self) -> pd.DataFrame:
        """Tidy: one row per line and year with ``expenditure_dkk`` (plus = spent)."""
        rows = [
            {
                "line": line.name,
                "perspective": line.perspective,
                "year": year,
                "expenditure_dkk": amount,
                "linked_to_effect": line.effect.name if line.effect is not None else "",
                "source": line.source,
            }
            for line in self.lines
            for year, amount in sorted(line.amounts.items())
        ]
        return pd.DataFrame(rows)

    def key_figures(self) -> dict[str, float | int | None]:
        """The figures of the summary; the interval and probability belong to the
        present value (``npv``, the plain sum when undiscounted), not to ``net_gain``.
        A gross saving has ``net_gain``, ``npv`` and ``benefit_cost_ratio`` None and
        its present value in ``gross_saving``."""
        lo, hi = self.net_gain_interval
        return {
            "net_gain": self.net_gain,
            "npv": self.npv,
            "gross_saving": self.present_value if self.gross else None,
            "net_gain_ci_low": lo,
            "net_gain_ci_high": hi,
            "probability_of_gain": self.probability_of_gain,
            "break_even_share_of_effect": self.break_even,
            "benefit_cost_ratio": self.benefit_cost_ratio,
            "payback_year": self.payback_year,
        }

    # --- display ---------------------------------------------------------------
    def _summary_title(self) -> str:
        return f"Business case: {self.title}"

    def _summary_header(self) -> list[tuple[str, object]]:
        k = self.key_figures()
        header: list[tuple[str, object]] = [("Price level", self.price_level)]
        if self.gross:
            header.append(("Gross saving (DKK; no costs stated, so no net gain)", self.total))
        else:
            header.append(("Net gain (DKK, plus = saving)", k["net_gain"]))
        if self.discount is not None:
            what = "Gross saving" if self.gross else "Net gain"
            header.append((f"{what}, present value (DKK)", self.present_value))
            header.append(("Discounting", self.discount.source))
        head = self.headline
        if head.interval is not None:
            header.append(
                (
                    f"{1 - self.alpha:.0%} interval of the present value",
                    f"{head.interval[0]:,.0f} to {head.interval[1]:,.0f}",
                )
            )
        if head.probability is not None:
            header.append(("Probability of a gain", head.probability))
        if head.method == "scenarios":
            values = [s.value for s in head.scenarios]
            header.append(
                ("Scenarios (no probability)", f"{min(values):,.0f} to {max(values):,.0f}")
            )
        header.append(("Break-even: share of estimated effect", k["break_even_share_of_effect"]))
        if not self.gross:
            header.append(("Benefit-cost ratio", k["benefit_cost_ratio"]))
        adjustments = {
            "deadweight": self.deadweight,
            "displacement": self.displacement,
            "optimism bias": self.optimism_bias,
        }
        if any(adjustments.values()):
            header.append(
                ("Adjustments", ", ".join(f"{k} {v:.0%}" for k, v in adjustments.items()))
            )
        if self.payback_reason is None:
            header.append(
                ("Payback year", "never" if k["payback_year"] is None else str(k["payback_year"]))
            )
        header += self._grade_header()
        return header

    def _grade_header(self) -> list[tuple[str, object]]:
        """Evidence grade of each priced effect, and the optimism-bias discount applied."""
        from evaluate.grade import evidence_grade

        effects = {id(line.effect): line.effect for line in self.lines if line.effect is not None}
        header: list[tuple[str, object]] = [
            (f"Evidence grade: {e.name}", str(evidence_grade(e))) for e in effects.values()
        ]
        if self.evidence_discounts:
            before = replace(self, evidence_discounts=()).present_value
            header.append(
                (
                    "Optimism-bias discount",
                    "; ".join(f"{n} ({g}) -{s:.0%}" for n, g, s in self.evidence_discounts)
                    + f"; source: {self.evidence_discount_source}",
                )
            )
            header.append(
                ("Before / after the discount (DKK)", f"{before:,.0f} / {self.present_value:,.0f}")
            )
        return header

    def switching_values(self) -> SwitchingValues:
        """Switching values of the net gain per identification assumption
        (:func:`evaluate.switching.switching_values`)."""
        from evaluate.switching import switching_values

        return switching_values(self)

    def _summary_tables(self) -> list[tuple[str, pd.DataFrame]]:
        return [(f"Cash flows, 1,000 DKK, {self.price_level}", self.table())]

    def _summary_notes(self) -> list[str]:
        switching = [
            f"Switching value, {r.assumption}: {r.sentence or r.value}"
            for r in self.switching_values().rows
        ]
        return [SIGN_NOTES[self.sign], *switching, *self.notes]

    def plot(self, ax: Axes | None = None) -> Axes:
        """Net gain by year (bars) and its cumulative sum (line), in 1,000 DKK."""
        import matplotlib.pyplot as plt
        import seaborn as sns

        if ax is None:
            _, ax = plt.subplots(figsize=(7.0, 4.0))
        palette = sns.color_palette("deep")
        gain = self.net_gain_by_year / 1_000
        labels = [str(y) for y in gain.index]
        ax.bar(labels, gain.to_numpy(), color=[palette[2] if g >= 0 else palette[3] for g in gain])
        if len(labels) > 1:
            ax.plot(
                labels,
                np.cumsum(gain.to_numpy()),
                color="0.2",
                marker="o",
                label=say(Text("plot.cumulative", "cumulative")),
            )
            ax.legend(frameon=False)
        ax.axhline(0, color="0.4", linewidth=0.8)
        ax.set_ylabel(say(Text("plot.net_gain_axis", "net gain, 1,000 DKK (plus = saving)")))
        ax.set_title(f"{say(self.title)}\n{say(self.price_level)}", fontsize="medium")
        return ax

    def plot_waterfall(self, ax: Axes | None = None) -> Axes:
        """Waterfall of the net gain: each line's total gain (green) or cost (red),
        stacked from zero to the net, in 1,000 DKK (undiscounted, adjusted).

        The bars carry the table's sign: with the municipal convention a cost points
        up and a saving down, as in the table; otherwise a gain points up."""
        import matplotlib.pyplot as plt
        import seaborn as sns

        if ax is None:
            _, ax = plt.subplots(figsize=(7.0, 4.0))
        palette = sns.color_palette("deep")
        municipal = self.sign == "municipal"
        gains = -self.expenditure().sum(axis=1) / 1_000
        order = gains.sort_values(ascending=False, kind="stable")
        shown = -order if municipal else order
        level = 0.0
        labels = [textwrap.fill(say(name), 16) for name in order.index]
        for i, (gain, value) in enumerate(zip(order.to_numpy(), shown.to_numpy(), strict=True)):
            ax.bar(i, value, bottom=level, color=palette[2] if gain >= 0 else palette[3])
            level += value
        ax.bar(len(order), level, color="0.35")
        net = (
            Text("plot.net_expenditure", "net expenditure")
            if municipal
            else Text("plot.net", "net")
        )
        ax.set_xticks(range(len(order) + 1), [*labels, say(net)], fontsize="small")
        ax.axhline(0, color="0.4", linewidth=0.8)
        axis = (
            Text("plot.expenditure_axis", "expenditure, 1,000 DKK (minus = saving)")
            if municipal
            else Text("plot.gain_axis", "gain, 1,000 DKK (plus = saving)")
        )
        ax.set_ylabel(say(axis))
        title = say(Text("plot.waterfall_title", "Where the net gain comes from"))
        ax.set_title(f"{title}\n{say(self.price_level)}", fontsize="medium")
        return ax
