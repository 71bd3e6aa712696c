"""Figures for reports: rendered with matplotlib's Agg backend to byte-stable PNGs.

A figure is drawn in the report's language: labels pass through
:func:`evaluate.text.say`, which speaks the report's language while the figure is
drawn; tick numbers and month names on the axes are then set by the report's
locale, and long titles and labels are wrapped rather than clipped.
"""

from __future__ import annotations

import io
import textwrap
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

import matplotlib

matplotlib.use("Agg", force=False)

import matplotlib.dates as mdates  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import seaborn as sns  # noqa: E402
from matplotlib.ticker import FuncFormatter, PercentFormatter, ScalarFormatter  # noqa: E402

from evaluate.text import speaking  # noqa: E402

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from evaluate.report.fmt import Formatter

_RECORDERS: list[list[tuple[str, str]]] = []

_WRAP = {"title": 70, "ylabel": 45, "xlabel": 90}
"""Characters per line before a title or axis label wraps (at 7.5 x 4 inches, 9 pt)."""


def figure_name(key: str) -> str:
    """A file-name part for ``key``, unique by construction: ``a``-``z`` and ``0``-``9``
    stay, ``_`` becomes ``-``, and every other character becomes ``.<hex code>.``.
    No two keys give the same name, even on a case-insensitive file system
    (``effekt_ø`` -> ``effekt-.f8.``, ``effekt_å`` -> ``effekt-.e5.``)."""
    return "".join(
        c if "a" <= c <= "z" or "0" <= c <= "9" else "-" if c == "_" else f".{ord(c):x}."
        for c in key
    )


@contextmanager
def recording_text() -> Iterator[list[tuple[str, str]]]:
    """Within the block, collect ``(language, text)`` for every text each figure a
    report renders shows: title, axis labels, tick labels, legend, annotations."""
    texts: list[tuple[str, str]] = []
    _RECORDERS.append(texts)
    try:
        yield texts
    finally:
        _RECORDERS.remove(texts)


def render_png(
    draw: Callable[[object], object],
    f: Formatter | None = None,
    *,
    size: tuple[float, float] = (7.5, 4.0),
) -> bytes:
    """Call ``draw(ax)`` on a fresh figure and return the PNG bytes.

    With a :class:`~evaluate.report.fmt.Formatter` the figure speaks its language:
    labels, tick numbers and month names.  The PNG carries no software or date
    metadata, so the same inputs give the same bytes on every run (with the same
    matplotlib and fonts).
    """
    with sns.axes_style("whitegrid"), plt.rc_context({"font.size": 9, "svg.hashsalt": "evaluate"}):
        fig, ax = plt.subplots(figsize=size)
        try:
            if f is None:
                draw(ax)
            else:
                with speaking(f.say):
                    draw(ax)
            for each in fig.axes:
                _wrap_labels(each)
                if f is not None:
                    _localize_ticks(each, f)
            fig.tight_layout()
            buffer = io.BytesIO()
            fig.savefig(buffer, format="png", dpi=110, metadata={"Software": None})
            for texts in _RECORDERS:
                texts.extend((f.language if f else "", text) for text in _shown_text(fig))
        finally:
            plt.close(fig)
    return buffer.getvalue()


def _wrap_labels(ax: Axes) -> None:
    title = ax.title
    if len(max(title.get_text().split("\n"), key=len, default="")) > _WRAP["title"]:
        title.set_text(_wrap(title.get_text(), _WRAP["title"]))
    for which in ("xlabel", "ylabel"):
        label = getattr(ax, f"get_{which}")()
        if len(label) > _WRAP[which]:
            getattr(ax, f"set_{which}")(_wrap(label, _WRAP[which]))


def _wrap(text: str, width: int) -> str:
    return "\n".join(textwrap.fill(line, width) for line in text.split("\n"))


def _localize_ticks(ax: Axes, f: Formatter) -> None:
    """Numbers by the locale (1.234,5) and month names on date axes."""
    for axis in (ax.xaxis, ax.yaxis):
        formatter = axis.get_major_formatter()
        if isinstance(formatter, ScalarFormatter):
            axis.set_major_formatter(FuncFormatter(_number_ticks(axis, f)))
        elif isinstance(formatter, PercentFormatter):
            axis.set_major_formatter(FuncFormatter(_percent_ticks(axis, f, formatter.xmax)))
        elif isinstance(formatter, (mdates.AutoDateFormatter, mdates.ConciseDateFormatter)):
            axis.set_major_locator(_month_locator(axis))
            axis.set_major_formatter(FuncFormatter(_month_ticks(f)))


def _number_ticks(axis: object, f: Formatter, scale: float = 1.0) -> Callable[[float, int], str]:
    """Tick labels with as many decimals as the tick step needs (0,1 0,2 ... or 500 1.000)."""
    ticks = [t * scale for t in axis.get_majorticklocs()]  # type: ignore[attr-defined]
    steps = [abs(b - a) for a, b in zip(ticks, ticks[1:], strict=False) if b != a]
    step = min(steps) if steps else 1.0
    decimals = 0
    while decimals < 4 and abs(round(step, decimals) - step) > 1e-9 * max(1.0, abs(step)):
        decimals += 1

    def label(value: float, _pos: int) -> str:
        return f.number(value, decimals)

    label.decimals = decimals  # type: ignore[attr-defined]
    return label


def _percent_ticks(axis: object, f: Formatter, whole: float) -> Callable[[float, int], str]:
    in_percent = _number_ticks(axis, f, scale=100 / whole)
    decimals = in_percent.decimals  # type: ignore[attr-defined]
    return lambda value, _pos: f.percent(value / whole, decimals)


def _month_locator(axis: object) -> mdates.MonthLocator:
    low, high = axis.get_view_interval()  # type: ignore[attr-defined]
    months = (high - low) / 30.4
    every = next((n for n in (1, 2, 3, 6, 12) if months / n <= 12), 24)
    return mdates.MonthLocator(bymonth=range(1, 13, every) if every <= 12 else [1])


def _month_ticks(f: Formatter) -> Callable[[float, int], str]:
    def label(value: float, _pos: int) -> str:
        date = mdates.num2date(value)
        if date.month == 1:
            return f"{f.month(1, short=True)}\n{date.year}"
        return f.month(date.month, short=True)

    return label


def _shown_text(fig: Figure) -> list[str]:
    shown = []
    for ax in fig.axes:
        shown += [ax.get_title(), ax.get_xlabel(), ax.get_ylabel()]
        shown += [t.get_text() for t in ax.get_xticklabels() + ax.get_yticklabels()]
        shown += [t.get_text() for t in ax.texts]
        legend = ax.get_legend()
        if legend is not None:
            shown += [t.get_text() for t in legend.get_texts()]
    shown += [t.get_text() for t in fig.texts]
    return [s for s in shown if s]
