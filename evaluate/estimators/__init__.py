"""Estimators: one module per design, each with a function front door.

:data:`DESIGNS` names every design a study spec can use.  A new design plugs
in by adding its module and one entry here; the spec checks option names
against the function's keyword-only parameters, so a typo is an error.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from evaluate.estimators.forecast import trend_forecast
from evaluate.estimators.stated import stated_effect, stated_expectation


@dataclass(frozen=True)
class Design:
    """A design a study can name: its front door and whether it takes a data frame."""

    function: Callable[..., Any]
    takes_data: bool
    doc: str


DESIGNS: dict[str, Design] = {
    "stated_expectation": Design(stated_expectation, False, "observed vs a stated expected change"),
    "stated_effect": Design(stated_effect, False, "an effect reported by a source"),
    "trend_forecast": Design(trend_forecast, True, "pre-period trend projected past the start"),
}


def register(name: str, function: Callable[..., Any], *, takes_data: bool, doc: str) -> None:
    """Make a design available to study specs under ``name``."""
    DESIGNS[name] = Design(function, takes_data, doc)


__all__ = ["DESIGNS", "Design", "register", "stated_effect", "stated_expectation", "trend_forecast"]
