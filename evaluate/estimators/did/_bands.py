"""The coefficient plot of the staggered designs: effects by event time, cohort or
period with pointwise intervals and, with the bootstrap, a uniform (sup-t) band.

Callaway-Sant'Anna, its aggregations and the imputation estimator draw with it.
Every label passes through :func:`evaluate.text.say`, so a Danish report's figure
is Danish; periods show in the user's calendar labels when they have them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from evaluate.text import Text, Unit, say

if TYPE_CHECKING:
    from matplotlib.axes import Axes


def period_label(value: Any) -> str:  # a number, or a calendar label (cohort "2022-11")
    return value if isinstance(value, str) else f"{value:g}" if value % 1 else str(int(value))


def plot_bands(
    frame: pd.DataFrame,
    *,
    xlabel: str | Text,
    unit: str,
    title: str | Text = "",
    event_time: bool = False,
    ax: Axes | None = None,
) -> Axes:
    """Coefficient plot: pointwise CI as error bars, the sup-t band as a shaded bar.

    With ``event_time``, pre-treatment effects (``period < 0``) are drawn in a
    second colour and a dashed line marks treatment onset.  Every label is said
    in the language being spoken (:func:`evaluate.text.say`), so the figure of a
    Danish report is Danish.
    """
    import matplotlib.pyplot as plt
    import seaborn as sns

    if ax is None:
        _, ax = plt.subplots(figsize=(7.0, 4.0))
    palette = sns.color_palette("deep")
    named = not pd.api.types.is_numeric_dtype(frame["period"])  # calendar labels, in order
    x = np.arange(len(frame), dtype=float) if named else frame["period"].to_numpy(dtype=float)
    est = frame["estimate"].to_numpy(dtype=float)
    pre = x < 0 if event_time else np.zeros(len(x), dtype=bool)
    if "ci_low_uniform" in frame.columns:
        low_u = frame["ci_low_uniform"].to_numpy(dtype=float)
        high_u = frame["ci_high_uniform"].to_numpy(dtype=float)
        ax.bar(
            x,
            high_u - low_u,
            bottom=low_u,
            width=0.35,
            color=palette[7],
            alpha=0.35,
            label=say(Text("plot.band_uniform", "uniform (sup-t) band")),
        )
    labels = (
        (_BAND_LABELS["post"], _BAND_LABELS["pre"])
        if event_time
        else (_BAND_LABELS["pointwise"],) * 2
    )
    for mask, colour, label in ((~pre, palette[0], labels[0]), (pre, palette[1], labels[1])):
        if not mask.any():
            continue
        low = frame["ci_low"].to_numpy(dtype=float)[mask]
        high = frame["ci_high"].to_numpy(dtype=float)[mask]
        err = np.nan_to_num(np.vstack([est[mask] - low, high - est[mask]]))
        ax.errorbar(
            x[mask],
            est[mask],
            yerr=err,
            fmt="o",
            color=colour,
            capsize=4,
            label=say(label),
        )
    ax.axhline(0.0, color="0.4", linewidth=0.8, linestyle="--")
    if event_time:
        ax.axvline(-0.5, color="0.6", linewidth=0.8, linestyle=":")
    ax.set_xticks(x)
    ax.set_xticklabels([period_label(v) for v in (frame["period"] if named else x)])
    ax.set_xlabel(say(xlabel))
    ax.set_ylabel(say(Text("plot.effect_axis", "effect ({unit})", unit=Unit(unit))))
    if title:
        ax.set_title(say(title))
    ax.legend(frameon=False, fontsize="small")
    return ax


_BAND_LABELS = {
    "post": Text("plot.band_post", "post: pointwise CI"),
    "pre": Text("plot.band_pre", "pre: pointwise CI"),
    "pointwise": Text("plot.band_pointwise", "pointwise CI"),
}


__all__ = ["period_label", "plot_bands"]
