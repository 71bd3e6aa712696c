"""Sentences the toolkit says about a result, in any language a report speaks.

An estimator describes what it did (method, estimand, inference, diagnostics,
notes).  It says so with a :class:`Text`: a key and parameters, plus the English
wording.  A ``Text`` *is* the English string (a ``str`` subclass), so
``summary()``, ``print`` and every test that compares strings see plain English;
a report in another language looks the key up in its word list
(``evaluate/report/locale/<language>.toml``, table ``[text]``) and formats the
parameters by its own locale: numbers, counts, percents, months and units.

>>> t = Text("forecast.rmse", "RMSE {rmse}", rmse=Num(3.3372, sig=4))
>>> str(t), t.key
('RMSE 3.337', 'forecast.rmse')

Parameters are rendered by type: a nested ``Text`` is translated in turn; ``int``
is a count (no decimals); :class:`Num` a measured number; :class:`Pct` a share shown
as a percent; :class:`Unit` a unit name; :class:`Period` a calendar period; a plain
``str`` is verbatim (a column name, a user's label).  Nothing here imports the report:
the report brings the words.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

TEMPLATES: dict[str, str] = {}
"""English template of every key said so far (key -> template), for checks."""


@dataclass(frozen=True)
class Num:
    """A measured number: ``decimals`` fixed decimals, or ``sig`` significant digits."""

    value: float
    decimals: int | None = None
    sig: int | None = None

    @classmethod
    def written(cls, value: float) -> Num:
        """``value`` with the decimals it is written with (0.2, 0.05, 3): an option's value."""
        text = f"{value:g}"
        if "e" in text:
            return cls(value, sig=6)
        return cls(value, decimals=len(text.partition(".")[2]))

    def places(self) -> int:
        """Decimals to show: fixed, or enough for ``sig`` significant digits."""
        if self.decimals is not None:
            return self.decimals
        sig = self.sig or 3
        if not math.isfinite(self.value) or self.value == 0:
            return 0
        return max(0, sig - 1 - math.floor(math.log10(abs(self.value))))

    def __str__(self) -> str:
        if self.decimals is None and self.sig is not None:
            return f"{self.value:.{self.sig}g}"
        return f"{self.value:,.{self.places()}f}"


@dataclass(frozen=True)
class Pct:
    """A share (0.2) shown as a percent with ``decimals`` decimals ("20.0%")."""

    share: float
    decimals: int = 0

    def __str__(self) -> str:
        return f"{self.share:.{self.decimals}%}"


@dataclass(frozen=True)
class Unit:
    """The name of a unit ("full-time persons"), translated by the report's unit list."""

    name: str

    def __str__(self) -> str:
        return self.name


@dataclass(frozen=True)
class Period:
    """A calendar period (a ``pandas.Period`` or its string); months get month names."""

    value: Any

    def __str__(self) -> str:
        return str(self.value)


def _english(value: object) -> str:
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


class Text(str):
    """A sentence with a key and parameters; its ``str`` value is the English wording.

    Parameters
    ----------
    key : dotted name of the sentence ("forecast.inference"); the report's word
        lists translate it under ``[text]``.
    english : the English template, ``str.format`` style ("t({df})").
    **params : the values of the template's fields (see the module docstring).
    """

    key: str
    params: Mapping[str, Any]

    def __new__(cls, key: str, english: str, /, **params: Any) -> Text:
        rendered = english.format(**{k: _english(v) for k, v in params.items()})
        obj = super().__new__(cls, rendered)
        obj.key = key
        obj.params = dict(params)
        TEMPLATES.setdefault(key, english)
        return obj

    def __reduce__(self) -> tuple[Any, ...]:
        return (_rebuild, (self.key, TEMPLATES.get(self.key, str(self)), dict(self.params)))

    def __repr__(self) -> str:
        return f"Text({self.key!r}, {str(self)!r})"


def _rebuild(key: str, english: str, params: dict[str, Any]) -> Text:
    return Text(key, english, **params)


_SPEAKER: ContextVar[Callable[[object], str]] = ContextVar("speaker", default=str)


def say(text: object) -> str:
    """``text`` in the language being spoken: English unless a report set another
    with :func:`speaking`.  Figures pass every label through here."""
    return _SPEAKER.get()(text)


@contextmanager
def speaking(render: Callable[[object], str]) -> Iterator[None]:
    """Within the block, :func:`say` renders with ``render`` (a report's language)."""
    token = _SPEAKER.set(render)
    try:
        yield
    finally:
        _SPEAKER.reset(token)
