"""Locale-aware number formatting for reports (Babel): 1,234.5 or 1.234,5."""

from __future__ import annotations

import math
import tomllib
from dataclasses import dataclass
from functools import cache
from importlib.resources import files

from babel.numbers import format_decimal, format_percent


@cache
def strings(language: str) -> dict[str, str]:
    """The report's words in ``language`` ("en" or "da"), from ``locale/<language>.toml``."""
    with (files("evaluate.report") / "locale" / f"{language}.toml").open("rb") as handle:
        return tomllib.load(handle)


@dataclass(frozen=True)
class Formatter:
    language: str

    @property
    def locale(self) -> str:
        return strings(self.language)["babel_locale"]

    def number(self, value: float | None, decimals: int = 1) -> str:
        if value is None or (isinstance(value, float) and math.isnan(value)):
            return "–"
        pattern = "#,##0" + ("." + "0" * decimals if decimals else "")
        rounded = round(float(value), decimals) + 0.0  # no "-0" for a value that rounds to zero
        return format_decimal(rounded, format=pattern, locale=self.locale)

    def percent(self, share: float | None, decimals: int = 1) -> str:
        if share is None or math.isnan(share):
            return "–"
        sep = " " if self.language == "da" else ""
        pattern = "#,##0" + ("." + "0" * decimals if decimals else "") + sep + "%"
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
        magnitude = abs(value) if not math.isnan(value) else 0
        return self.number(value, 1 if magnitude >= 10 else 2 if magnitude >= 1 else 3)

    def p_value(self, p: float) -> str:
        if math.isnan(p):
            return "–"
        if p < 0.001:
            return "< " + self.number(0.001, 3)
        return self.number(p, 3)

    def interval(self, low: float, high: float, unit: str) -> str:
        if math.isnan(low) or math.isnan(high):
            return "–"
        word = " til " if self.language == "da" else " to "
        return self.value(low, unit) + word + self.value(high, unit)
