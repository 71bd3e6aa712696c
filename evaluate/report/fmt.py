"""Locale-aware number formatting for reports (Babel): 1,234.5 or 1.234,5."""

from __future__ import annotations

import decimal
import math
import re
import tomllib
from dataclasses import dataclass
from functools import cache
from importlib.resources import files

import numpy as np
from babel.numbers import format_decimal, format_percent

from evaluate.text import Num, Pct, Period, Text, Unit


@cache
def strings(language: str) -> dict[str, str]:
    """The report's words in ``language`` ("en" or "da"), from ``locale/<language>.toml``."""
    with (files("evaluate.report") / "locale" / f"{language}.toml").open("rb") as handle:
        return tomllib.load(handle)


def _missing(value: float | None) -> bool:
    """None, NaN and +-inf show as a dash: no non-finite number reaches a report."""
    return value is None or not math.isfinite(float(value))


# Babel formats through ``decimal`` with the context's precision (28 digits by
# default), which fails on any float above about 1e25; a float has at most 309
# integer digits, so this precision formats every finite float exactly.
_WIDE = decimal.Context(prec=400)


@dataclass(frozen=True)
class Formatter:
    language: str

    @property
    def locale(self) -> str:
        return strings(self.language)["babel_locale"]

    def number(self, value: float | None, decimals: int = 1) -> str:
        if _missing(value):
            return "–"
        pattern = "#,##0" + ("." + "0" * decimals if decimals else "")
        rounded = round(float(value), decimals) + 0.0  # no "-0" for a value that rounds to zero
        with decimal.localcontext(_WIDE):
            return format_decimal(rounded, format=pattern, locale=self.locale)

    def percent(self, share: float | None, decimals: int = 1) -> str:
        if _missing(share):
            return "–"
        sep = " " if self.language == "da" else ""
        pattern = "#,##0" + ("." + "0" * decimals if decimals else "") + sep + "%"
        with decimal.localcontext(_WIDE):
            return format_percent(share, format=pattern, locale=self.locale)

    def probability(self, p: float) -> str:
        """A Monte Carlo probability: whole percents, and "> 99 %" rather than "100 %"."""
        if p > 0.995:
            return "> " + self.percent(0.99, 0)
        if p < 0.005:
            return "< " + self.percent(0.01, 0)
        return self.percent(p, 0)

    def thousands(self, dkk: float) -> str:
        """DKK shown in 1,000 DKK without decimals."""
        return self.number(dkk / 1_000, 0)

    def value(self, value: float, unit: str) -> str:
        """A number in its unit's natural form: shares as percent, DKK in thousands."""
        if unit == "share":
            return self.percent(value)
        if unit == "DKK":
            return self.number(value, 0)
        magnitude = 0 if _missing(value) else abs(value)
        return self.number(value, 1 if magnitude >= 10 else 2 if magnitude >= 1 else 3)

    def std_error(self, se: float, estimate: float, unit: str) -> str:
        """A standard error with as many decimals as its estimate shows."""
        if se is None or math.isnan(se) or se == 0:
            return "–"
        if unit in ("share", "DKK"):
            return self.value(se, unit)
        magnitude = abs(estimate) if not math.isnan(estimate) else abs(se)
        return self.number(se, 1 if magnitude >= 10 else 2 if magnitude >= 1 else 3)

    def statistic(self, value: float) -> str:
        """A diagnostic's value: a count without decimals, else three decimals."""
        if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
            return self.number(value, 0)
        return self.number(value, 3)

    def p_value(self, p: float) -> str:
        if _missing(p):
            return "–"
        if p < 0.001:
            return "< " + self.number(0.001, 3)
        return self.number(p, 3)

    def say(self, text: object) -> str:
        """``text`` in the report's language: a :class:`~evaluate.text.Text` from the
        ``[text]`` word list with its parameters formatted here; other text verbatim."""
        if isinstance(text, (Num, Pct, Unit, Period)):
            return self._param(text)
        if not isinstance(text, Text):
            return "" if text is None else str(text)
        template = strings(self.language).get("text", {}).get(text.key)
        if template is None:  # English, or a sentence the word list lacks: as said
            return str(text)
        return template.format(**{k: self._param(v) for k, v in text.params.items()})

    def _param(self, value: object) -> str:
        if isinstance(value, Text):
            return self.say(value)
        if isinstance(value, bool):
            return str(value)
        if isinstance(value, int):
            return self.number(value, 0)
        if isinstance(value, float):
            return self.number(value, Num(value, sig=4).places())
        if isinstance(value, Num):
            return self.number(value.value, value.places())
        if isinstance(value, Pct):
            return self.percent(value.share, value.decimals)
        if isinstance(value, Unit):
            return self.unit(value.name)
        if isinstance(value, Period):
            return self.period(value.value)
        return str(value)

    def unit(self, name: str) -> str:
        return strings(self.language)["units"].get(name, name)

    def period(self, value: object) -> str:
        """A calendar period: "May 2018" / "maj 2018" for a month, else as written."""
        import pandas as pd

        try:
            period = value if isinstance(value, pd.Period) else pd.Period(str(value))
        except (ValueError, TypeError):
            return str(value)
        if period.freqstr.startswith("M") and re.fullmatch(r"\d{4}-\d{2}", str(period)):
            return f"{self.month(period.month)} {period.year}"
        return str(value)

    def month(self, month: int, short: bool = False) -> str:
        names = strings(self.language)["months_short" if short else "months"]
        return names[month - 1]

    def interval(self, low: float, high: float, unit: str) -> str:
        if _missing(low) or _missing(high):
            return "–"
        word = " til " if self.language == "da" else " to "
        return self.value(low, unit) + word + self.value(high, unit)
