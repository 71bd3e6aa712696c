"""Figures shared by results and reports (matplotlib + seaborn).

Functions take tidy frames and an optional ``ax`` and return the ``Axes``, so a
researcher can compose them and a report can save them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pandas as pd

if TYPE_CHECKING:
    from matplotlib.axes import Axes


def _axes(ax: Axes | None, figsize: tuple[float, float] = (7.0, 4.0)) -> Axes:
    if ax is not None:
        return ax
    import matplotlib.pyplot as plt

    _, ax = plt.subplots(figsize=figsize)
    return ax


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
    x = frame[label].astype(str).tolist()
    est = frame["estimate"].to_numpy(dtype=float)
    low = frame["ci_low"].to_numpy(dtype=float)
    high = frame["ci_high"].to_numpy(dtype=float)
    color = sns.color_palette("deep")[0]
    ax.errorbar(x, est, yerr=[est - low, high - est], fmt="o", color=color, capsize=4)
    ax.axhline(0.0, color="0.4", linewidth=0.8, linestyle="--")
    ax.set_ylabel(f"effect ({unit})")
    ax.set_xlabel(label)
    if title:
        ax.set_title(title)
    return ax


def plot_counterfactual(
    frame: pd.DataFrame,
    *,
    start: object,
    title: str = "",
    ylabel: str = "",
    observed_label: str = "observed",
    counterfactual_label: str = "counterfactual",
    band_label: str = "95% prediction interval",
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
    ax.plot(x, frame["observed"], color=palette[0], marker="o", markersize=3, label=observed_label)
    ax.plot(
        x, frame["counterfactual"], color=palette[1], linestyle="--", label=counterfactual_label
    )
    band = frame["cf_low"].notna()
    ax.fill_between(
        x[band],
        frame.loc[band, "cf_low"],
        frame.loc[band, "cf_high"],
        color=palette[1],
        alpha=0.2,
        label=band_label,
    )
    marker = start.to_timestamp() if isinstance(start, pd.Period) else start
    ax.axvline(marker, color="0.3", linewidth=1.0, linestyle=":")
    ax.set_ylabel(ylabel)
    if title:
        ax.set_title(title)
    ax.legend(frameon=False)
    return ax
