"""Estimators: one module per design, each with a function front door.

:data:`DESIGNS` names every design a study spec can use.  A new design plugs
in by adding its module and one entry here; the spec checks option names
against the function's keyword-only parameters, so a typo is an error.

Entries name their function as ``"module:function"`` and are imported on first
use.  The package deliberately does not re-export the functions: ``did`` is the
module ``evaluate.estimators.did``, and ``evaluate.did`` is the function.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Design:
    """A design a study can name: its front door and whether it takes a data frame."""

    target: str | Callable[..., Any]
    takes_data: bool
    doc: str

    @property
    def function(self) -> Callable[..., Any]:
        if callable(self.target):
            return self.target
        module, _, name = self.target.partition(":")
        return getattr(importlib.import_module(module), name)


_E = "evaluate.estimators."

DESIGNS: dict[str, Design] = {
    "stated_expectation": Design(
        _E + "stated:stated_expectation", False, "observed vs a stated expected change"
    ),
    "stated_effect": Design(_E + "stated:stated_effect", False, "an effect reported by a source"),
    "trend_forecast": Design(
        _E + "forecast:trend_forecast", True, "pre-period trend projected past the start"
    ),
    "trial": Design(_E + "trial:trial", True, "randomized trial: arms vs control"),
    "duration": Design(_E + "duration:duration", True, "time to an event (RMST, Kaplan-Meier)"),
    "observational": Design(
        _E + "observational:observational", True, "no randomization: regression/IPW/AIPW/matching"
    ),
    "share": Design(_E + "shares:share", False, "a proportion on a (small) group"),
    "share_difference": Design(_E + "shares:share_difference", False, "two proportions compared"),
    "outcome_distribution": Design(
        _E + "shares:outcome_distribution", False, "multinomial outcome shares"
    ),
    "synthetic_control": Design(
        _E + "synth:synthetic_control", True, "synthetic control with placebos"
    ),
    "synthetic_did": Design(_E + "sdid:synthetic_did", True, "synthetic difference-in-differences"),
    "its": Design(_E + "its:its", True, "interrupted time series: level and slope change"),
    "peer_benchmark": Design(_E + "peers:peer_benchmark", True, "a unit vs its peers on a rate"),
    "model_forecast": Design(
        _E + "forecast_models:model_forecast", True, "ETS or SARIMAX forecast from the pre-period"
    ),
    "did": Design(_E + "did:did", True, "2x2 difference-in-differences"),
    "twfe": Design(_E + "twfe:twfe", True, "two-way fixed effects regression"),
    "compressed_twfe": Design(
        _E + "compressed:compressed_twfe", True, "person-level TWFE from cell statistics"
    ),
    "event_study": Design(_E + "event_study:event_study", True, "event study with leads and lags"),
    "callaway_santanna": Design(
        _E + "staggered:callaway_santanna", True, "staggered DiD (Callaway-Sant'Anna)"
    ),
    "imputation_did": Design(
        _E + "imputation:imputation_did", True, "staggered DiD (Borusyak-Jaravel-Spiess imputation)"
    ),
}


def register(name: str, function: str | Callable[..., Any], *, takes_data: bool, doc: str) -> None:
    """Make a design available to study specs under ``name``."""
    DESIGNS[name] = Design(function, takes_data, doc)


__all__ = ["DESIGNS", "Design", "register"]
