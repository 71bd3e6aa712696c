"""One face for every result: ``summary()`` as text, Markdown or HTML.

A result describes itself as a title, a list of (label, value) header items, a
list of titled tables and a list of notes; this module renders those four parts
in each format.  Results therefore never build strings themselves, and a
notebook, a terminal and a report show the same content.
"""

from __future__ import annotations

import math
from typing import Literal

import jinja2
import numpy as np
import pandas as pd
from tabulate import tabulate

from evaluate.errors import SpecError

Format = Literal["text", "markdown", "html"]

_HTML = jinja2.Environment(autoescape=True).from_string(
    """<div class="evaluate-result">
<h4>{{ title }}</h4>
<table class="evaluate-header">
{%- for key, value in header %}
<tr><th style="text-align:left">{{ key }}</th><td style="text-align:left">{{ value }}</td></tr>
{%- endfor %}
</table>
{%- for caption, table in tables %}
<p><b>{{ caption }}</b></p>
{{ table }}
{%- endfor %}
{%- for note in notes %}
<p><small>{{ note }}</small></p>
{%- endfor %}
</div>"""
)


def format_number(value: object, digits: int = 4) -> str:
    """Format a number for a summary: ``digits`` significant digits, NaN as a dash."""
    if value is None:
        return "—"
    if isinstance(value, (bool, np.bool_)):
        return str(bool(value))
    if isinstance(value, (int, np.integer)):
        return f"{int(value):,}"
    if isinstance(value, (float, np.floating)):
        if math.isnan(value):
            return "—"
        if value != 0 and (abs(value) >= 1e7 or abs(value) < 1e-4):
            return f"{value:.{digits}e}"
        if abs(value) >= 10**digits:
            return f"{value:,.0f}"
        return f"{value:.{digits}g}" if abs(value) < 1 else f"{value:,.{digits}g}"
    return str(value)


def _formatted(table: pd.DataFrame) -> pd.DataFrame:
    out = table.copy()
    for column in out.columns:
        out[column] = [format_number(v) for v in out[column]]
    return out


def render_summary(
    title: str,
    header: list[tuple[str, object]],
    tables: list[tuple[str, pd.DataFrame]],
    notes: list[str],
    fmt: Format,
) -> str:
    """Render the four parts of a summary in ``fmt`` ("text", "markdown" or "html")."""
    head = [(key, format_number(value)) for key, value in header]
    shown = [(caption, _formatted(table)) for caption, table in tables]
    if fmt == "html":
        html_tables = [
            (caption, jinja2.utils.markupsafe.Markup(t.to_html(escape=True, border=0)))
            for caption, t in shown
        ]
        return _HTML.render(title=title, header=head, tables=html_tables, notes=notes)
    if fmt == "markdown":
        parts = [f"**{title}**", "", tabulate(head, headers=["", ""], tablefmt="pipe")]
        for caption, t in shown:
            parts += ["", f"*{caption}*", "", tabulate(t, headers="keys", tablefmt="pipe")]
        parts += [""] + [f"> {note}" for note in notes] if notes else []
        return "\n".join(parts)
    if fmt == "text":
        rule = "=" * max(len(title), 60)
        parts = [title, rule, tabulate(head, tablefmt="plain")]
        for caption, t in shown:
            parts += [
                "",
                caption,
                "-" * len(caption),
                tabulate(t, headers="keys", tablefmt="simple"),
            ]
        parts += [""] + [f"Note: {note}" for note in notes] if notes else []
        return "\n".join(parts)
    raise SpecError(f"Unknown summary format {fmt!r}; use 'text', 'markdown' or 'html'.")


class ResultDisplay:
    """Mixin: ``summary()``, ``__str__`` and ``_repr_html_`` from four small hooks."""

    def _summary_title(self) -> str:
        raise NotImplementedError

    def _summary_header(self) -> list[tuple[str, object]]:
        raise NotImplementedError

    def _summary_tables(self) -> list[tuple[str, pd.DataFrame]]:
        return []

    def _summary_notes(self) -> list[str]:
        return []

    def summary(self, fmt: Format = "text") -> str:
        """The result as a readable summary in ``fmt``: "text", "markdown" or "html"."""
        return render_summary(
            self._summary_title(),
            self._summary_header(),
            self._summary_tables(),
            self._summary_notes(),
            fmt,
        )

    def __str__(self) -> str:
        return self.summary("text")

    def _repr_html_(self) -> str:
        return self.summary("html")

    def _repr_markdown_(self) -> str:
        return self.summary("markdown")
