"""Estimators: one module per design, each with a function front door.

:data:`DESIGNS` names every design a study spec can use.  A new design plugs
in by adding its module and one entry here; the spec checks option names
against the function's keyword-only parameters, so a typo is an error.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from evaluate.estimators.did import did
from evaluate.estimators.event_study import event_study
from evaluate.estimators.forecast import trend_forecast
from evaluate.estimators.shares import outcome_distribution, share, share_difference
from evaluate.estimators.staggered import callaway_santanna
from evaluate.estimators.stated import stated_effect, stated_expectation
from evaluate.estimators.synth import synthetic_control
from evaluate.estimators.trial import trial
from evaluate.estimators.twfe import twfe


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
    "trial": Design(trial, True, "randomized trial: arms vs control"),
    "share": Design(share, False, "a proportion on a (small) group"),
    "share_difference": Design(share_difference, False, "two proportions compared"),
    "outcome_distribution": Design(outcome_distribution, False, "multinomial outcome shares"),
    "synthetic_control": Design(synthetic_control, True, "synthetic control with placebos"),
    "did": Design(did, True, "2x2 difference-in-differences"),
    "twfe": Design(twfe, True, "two-way fixed effects regression"),
    "event_study": Design(event_study, True, "event study with leads and lags"),
    "callaway_santanna": Design(callaway_santanna, True, "staggered DiD (Callaway-Sant'Anna)"),
}


def register(name: str, function: Callable[..., Any], *, takes_data: bool, doc: str) -> None:
    """Make a design available to study specs under ``name``."""
    DESIGNS[name] = Design(function, takes_data, doc)


__all__ = [
    "DESIGNS",
    "Design",
    "callaway_santanna",
    "did",
    "event_study",
    "outcome_distribution",
    "register",
    "share",
    "share_difference",
    "stated_effect",
    "stated_expectation",
    "synthetic_control",
    "trend_forecast",
    "trial",
    "twfe",
]
