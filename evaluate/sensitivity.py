"""Sensitivity of a business case: one assumption at a time, and the tornado chart.

Each effect is moved to the ends of its confidence interval, a stated range or a
target to the ends of its range as stated (or by ``spread`` when it has none);
each fixed line, and each attribution adjustment in use, is moved by ``spread``
either way.  The net gain (present value) at both ends shows
which assumption the conclusion hangs on.
"""

from __future__ import annotations

import math
import textwrap
from dataclasses import replace
from typing import TYPE_CHECKING

import pandas as pd

from evaluate.business_case import BusinessCase
from evaluate.errors import SpecError
from evaluate.inference.kinds import SCENARIO
from evaluate.money.cashflow import CashFlowLine
from evaluate.text import Pct, Text, say

if TYPE_CHECKING:
    from matplotlib.axes import Axes


def _scaled_line(line: CashFlowLine, factor: float) -> CashFlowLine:
    return replace(line, amounts={y: a * factor for y, a in line.amounts.items()})


def _at_effect(line: CashFlowLine, value: float) -> CashFlowLine:
    """The line as it would be if its effect were ``value``."""
    return replace(line, amounts={y: value * p for y, p in line.per_unit.items()})


def _with_lines(case: BusinessCase, lines: list[CashFlowLine]) -> BusinessCase:
    return replace(case, lines=tuple(lines))


def _spread(name: str, spread: float) -> Text:
    return Text("sensitivity.spread", "{name} ±{spread}", name=name, spread=Pct(spread))


def sensitivity(case: BusinessCase, *, spread: float = 0.2) -> pd.DataFrame:
    """Net gain (PV, DKK) when one assumption moves to its low and its high value.

    Returns a frame with ``assumption, low, high, npv_low, npv_high, swing``, sorted
    by ``swing = |npv_high - npv_low|``, the largest first.
    """
    if not 0 < spread < 1:
        raise SpecError(f"spread must be a share in (0, 1), got {spread!r}.")
    rows = []
    effects = {}
    for line in case.lines:
        if line.effect is not None:
            effects.setdefault(id(line.effect), line.effect)
    for effect in effects.values():
        low, high = effect.ci
        if effect.uncertainty in SCENARIO:  # the range as stated, whatever the report's level
            low, high = effect.distribution.interval(0.05)
            label = (
                Text("sensitivity.target", "{name} (target range)", name=effect.name)
                if effect.uncertainty == "target"
                else Text("sensitivity.range", "{name} (stated range)", name=effect.name)
            )
        elif math.isnan(low):
            low, high = effect.estimate * (1 - spread), effect.estimate * (1 + spread)
            label = _spread(effect.name, spread)
        else:
            label = Text(
                "sensitivity.ci",
                "{name} ({level} CI)",
                name=effect.name,
                level=Pct(1 - effect.alpha),
            )
        npv = []
        for value in (low, high):
            lines = [_at_effect(x, value) if x.effect is effect else x for x in case.lines]
            npv.append(_with_lines(case, lines).present_value)
        rows.append((label, low, high, *npv))
    for line in case.lines:
        if line.linked:
            continue
        npv = [
            _with_lines(
                case, [_scaled_line(x, f) if x is line else x for x in case.lines]
            ).present_value
            for f in (1 - spread, 1 + spread)
        ]
        rows.append(
            (
                _spread(line.name, spread),
                line.total * (1 - spread),
                line.total * (1 + spread),
                *npv,
            )
        )
    for name in ("deadweight", "displacement", "optimism_bias"):
        value = getattr(case, name)
        if value:
            bounds = (value * (1 - spread), min(value * (1 + spread), 0.99))
            npv = [replace(case, **{name: b}).present_value for b in bounds]
            label = _spread(Text(f"adjustment.{name}", name.replace("_", " ")), spread)
            rows.append((label, *bounds, *npv))
    frame = pd.DataFrame(rows, columns=["assumption", "low", "high", "npv_low", "npv_high"])
    frame["assumption"] = pd.Series([row[0] for row in rows], dtype=object)  # keeps Text
    frame["swing"] = (frame["npv_high"] - frame["npv_low"]).abs()
    return frame.sort_values("swing", ascending=False, kind="stable").reset_index(drop=True)


def plot_tornado(case: BusinessCase, *, spread: float = 0.2, ax: Axes | None = None) -> Axes:
    """Tornado chart: the net gain's range under each assumption, widest on top."""
    import matplotlib.pyplot as plt
    import seaborn as sns

    table = sensitivity(case, spread=spread).iloc[::-1]
    if ax is None:
        _, ax = plt.subplots(figsize=(7.0, 0.5 * len(table) + 1.5))
    palette = sns.color_palette("deep")
    base = case.present_value / 1_000
    for i, row in enumerate(table.itertuples(index=False)):
        for end in (row.npv_low / 1_000, row.npv_high / 1_000):
            color = palette[2] if end >= base else palette[3]
            ax.barh(i, end - base, left=base, color=color, height=0.6)
    ax.set_yticks(
        range(len(table)),
        [textwrap.fill(say(a).replace(" %", "\u00a0%"), 32) for a in table["assumption"]],
    )
    ax.axvline(base, color="0.2", linewidth=1)
    ax.axvline(0, color="0.5", linewidth=0.8, linestyle="--")
    ax.set_xlabel(
        say(
            Text(
                "plot.tornado_x",
                "net gain (present value), 1,000 DKK: green above, red below the estimate",
            )
        )
    )
    ax.set_title(say(Text("plot.tornado_title", "Sensitivity: one assumption at a time")))
    return ax
