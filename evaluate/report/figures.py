"""Figures for reports: rendered with matplotlib's Agg backend to byte-stable PNGs."""

from __future__ import annotations

import io
from collections.abc import Callable

import matplotlib

matplotlib.use("Agg", force=False)

import matplotlib.pyplot as plt  # noqa: E402
import seaborn as sns  # noqa: E402


def render_png(
    draw: Callable[[object], object], *, size: tuple[float, float] = (7.5, 4.0)
) -> bytes:
    """Call ``draw(ax)`` on a fresh figure and return the PNG bytes.

    The PNG carries no software or date metadata, so the same inputs give the same
    bytes on every run (with the same matplotlib and fonts).
    """
    with sns.axes_style("whitegrid"), plt.rc_context({"font.size": 9, "svg.hashsalt": "evaluate"}):
        fig, ax = plt.subplots(figsize=size)
        try:
            draw(ax)
            fig.tight_layout()
            buffer = io.BytesIO()
            fig.savefig(buffer, format="png", dpi=110, metadata={"Software": None})
        finally:
            plt.close(fig)
    return buffer.getvalue()
