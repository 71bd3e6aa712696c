"""Figures shared by results and reports (matplotlib + seaborn).

Functions take tidy frames and an optional ``ax`` and return the ``Axes``, so a
researcher can compose them and a report can save them.
"""

from __future__ import annotations

import textwrap
from typing import TYPE_CHECKING

import pandas as pd

from evaluate.text import Pct, Text, Unit, say

if TYPE_CHECKING:
    from matplotlib.axes import Axes


def _axes(ax: Axes | None, figsize: tuple[float, float] = (7.0, 4.0)) -> Axes:
    if ax is not None:
        return ax
    import matplotlib.pyplot as plt

    _, ax = plt.subplots(figsize=figsize)
    return ax


_CROWDED = 16
"""More categorical tick labels than this overlap (48 months do not fit) ..."""
_SHOWN = 8
"""... so only every k-th is shown, at most this many."""


def _thin_labels(ax: Axes, labels: list[str]) -> None:
    """Label every k-th categorical tick, so that at most :data:`_SHOWN` show."""
    n = len(labels)
    step = -(-n // _SHOWN)
    keep = list(range(0, n, step))
    ax.set_xticks(keep, [labels[i] for i in keep])


def plot_estimates(
    frame: pd.DataFrame, *, unit: str, title: str = "", ax: Axes | None = None
) -> Axes:
    """Estimates with confidence intervals: a coefficient plot.

    ``frame`` has ``estimate, ci_low, ci_high`` and either ``period`` (plotted
    along the x axis) or ``term`` (one row per term).
    """
    import seaborn as sns

    ax = _axes(ax)
    label = "period" if "period" in frame.columns else "term"
    values = frame[label]
    calendar = isinstance(values.dtype, pd.PeriodDtype)
    x = (
        values.dt.to_timestamp()  # a date axis: ticks a reader can count
        if calendar
        else [textwrap.fill(say(v), 28) for v in values.tolist()]
    )
    est = frame["estimate"].to_numpy(dtype=float)
    low = frame["ci_low"].to_numpy(dtype=float)
    high = frame["ci_high"].to_numpy(dtype=float)
    color = sns.color_palette("deep")[0]
    ax.errorbar(x, est, yerr=[est - low, high - est], fmt="o", color=color, capsize=4)
    if len(frame) > _CROWDED and not calendar:
        _thin_labels(ax, x)
    ax.axhline(0.0, color="0.4", linewidth=0.8, linestyle="--")
    ax.set_ylabel(say(Text("plot.effect_axis", "effect ({unit})", unit=Unit(unit))))
    if unit == "share":
        from matplotlib.ticker import PercentFormatter

        ax.yaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
    ax.set_xlabel(say(Text(f"plot.{label}", label)) if label == "period" else "")
    if title:
        ax.set_title(say(title))
    return ax


def plot_counterfactual(
    frame: pd.DataFrame,
    *,
    start: object,
    title: str = "",
    ylabel: str = "",
    observed_label: str = Text("plot.observed", "observed"),
    counterfactual_label: str = Text("plot.counterfactual", "counterfactual"),
    band_label: str = Text("plot.band", "{level} prediction interval", level=Pct(0.95)),
    ax: Axes | None = None,
) -> Axes:
    """Observed series against its counterfactual with a band.

    ``frame`` has ``time, observed, counterfactual, cf_low, cf_high``; the band is
    drawn where ``cf_low`` is known and a vertical line marks ``start``.
    """
    import seaborn as sns

    ax = _axes(ax, figsize=(8.0, 4.2))
    palette = sns.color_palette("deep")
    time = frame["time"]
    x = time.dt.to_timestamp() if isinstance(time.dtype, pd.PeriodDtype) else time
    ax.plot(
        x, frame["observed"], color=palette[0], marker="o", markersize=3, label=say(observed_label)
    )
    ax.plot(
        x,
        frame["counterfactual"],
        color=palette[1],
        linestyle="--",
        label=say(counterfactual_label),
    )
    band = frame["cf_low"].notna()
    ax.fill_between(
        x[band],
        frame.loc[band, "cf_low"],
        frame.loc[band, "cf_high"],
        color=palette[1],
        alpha=0.2,
        label=say(band_label),
    )
    marker = start.to_timestamp() if isinstance(start, pd.Period) else start
    ax.axvline(marker, color="0.3", linewidth=1.0, linestyle=":")
    ax.set_ylabel(say(ylabel))
    if title:
        ax.set_title(say(title))
    ax.legend(frameon=False)
    return ax


def plot_forest(
    frame: pd.DataFrame,
    *,
    unit: str,
    benchmark: str | None = None,
    title: str = "",
    ax: Axes | None = None,
) -> Axes:
    """Several estimates of one quantity, one row each, with their intervals.

    ``frame`` has ``label, estimate, ci_low, ci_high``; the row whose label is
    ``benchmark`` (say the experiment that the observational estimates try to
    recover) is drawn in black with its interval shaded across the plot.
    """
    import seaborn as sns

    ax = _axes(ax, figsize=(7.5, 0.45 * len(frame) + 1.6))
    color = sns.color_palette("deep")[0]
    rows = frame.iloc[::-1].reset_index(drop=True)
    for y, row in rows.iterrows():
        is_benchmark = row["label"] == benchmark
        est, low, high = (float(row[c]) for c in ("estimate", "ci_low", "ci_high"))
        if is_benchmark and low == low:
            ax.axvspan(low, high, color="0.85", zorder=0)
            ax.axvline(est, color="0.2", linewidth=1.0, linestyle="--", zorder=1)
        err = None if low != low else [[est - low], [high - est]]
        ax.errorbar(
            [est],
            [y],
            xerr=err,
            fmt="s" if is_benchmark else "o",
            color="black" if is_benchmark else color,
            capsize=4,
            zorder=2,
        )
    ax.set_yticks(range(len(rows)), [textwrap.fill(say(v), 40) for v in rows["label"]])
    ax.axvline(0.0, color="0.5", linewidth=0.8)
    ax.set_xlabel(say(Text("plot.effect_axis", "effect ({unit})", unit=Unit(unit))))
    if title:
        ax.set_title(say(title))
    return ax
