"""Estimators: one package per family of designs, one module per design.

==================  =====================================================
family              designs
==================  =====================================================
:mod:`.did`         2x2 DiD, TWFE, event study, Callaway-Sant'Anna,
                    imputation, TWFE from cell sums
:mod:`.synthetic`   synthetic control, synthetic DiD
:mod:`.series`      stated figures, trend and model forecasts, ITS, peers
:mod:`.trials`      randomized trials, shares on small groups, durations
:mod:`.observational`  regression adjustment, IPW, AIPW, matching
==================  =====================================================

Each family's private helpers live inside it.  :data:`DESIGNS` names every
design a study spec can use.  A new design plugs in by adding its module and one
entry here; the spec checks option names against the function's keyword-only
parameters, so a typo is an error.  Entries name their function as
``"module:function"`` and are imported on first use, so naming a design does
not import every family.

The flat paths of earlier releases (``evaluate.estimators.twfe``, ...) still
import, with a :class:`DeprecationWarning` (:mod:`._moved`).
"""

from __future__ import annotations

import importlib
import inspect
import typing
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from evaluate.estimators import _moved
from evaluate.estimators._signature import OPTIONAL, REQUIRED, Option, read_options

_moved.install()


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

    def options(self) -> list[Option]:
        """The keyword options: name, annotation, default (``"required"`` if none).

        Read from the module's source without importing it (:mod:`._signature`),
        so checking a spec does not load the statistics stack; a design registered
        as a function object is asked directly.
        """
        if isinstance(self.target, str):
            return read_options(self.target)
        hints = typing.get_type_hints(self.target)
        found = []
        for name, p in inspect.signature(self.target).parameters.items():
            if name == "data" or p.kind not in (p.KEYWORD_ONLY, p.POSITIONAL_OR_KEYWORD):
                continue
            if p.default is p.empty:
                default = REQUIRED
            elif type(p.default) is object:  # a private "not given" sentinel
                default = OPTIONAL
            else:
                default = repr(p.default)
            annotation = p.annotation if isinstance(p.annotation, str) else str(p.annotation)
            positional = p.kind is p.POSITIONAL_OR_KEYWORD
            found.append(Option(name, annotation, default, hints.get(name), positional))
        return found


_E = "evaluate.estimators."

DESIGNS: dict[str, Design] = {
    "stated_expectation": Design(
        _E + "series.stated:stated_expectation", False, "observed vs a stated expected change"
    ),
    "stated_effect": Design(
        _E + "series.stated:stated_effect", False, "an effect reported by a source"
    ),
    "trend_forecast": Design(
        _E + "series.forecast:trend_forecast", True, "pre-period trend projected past the start"
    ),
    "trial": Design(_E + "trials.trial:trial", True, "randomized trial: arms vs control"),
    "duration": Design(
        _E + "trials.duration:duration", True, "time to an event (RMST, Kaplan-Meier)"
    ),
    "observational": Design(
        _E + "observational.design:observational",
        True,
        "no randomization: regression/IPW/AIPW/matching",
    ),
    "share": Design(_E + "trials.shares:share", False, "a proportion on a (small) group"),
    "share_difference": Design(
        _E + "trials.shares:share_difference", False, "two proportions compared"
    ),
    "outcome_distribution": Design(
        _E + "trials.shares:outcome_distribution", False, "multinomial outcome shares"
    ),
    "synthetic_control": Design(
        _E + "synthetic.synth:synthetic_control", True, "synthetic control with placebos"
    ),
    "synthetic_did": Design(
        _E + "synthetic.sdid:synthetic_did", True, "synthetic difference-in-differences"
    ),
    "its": Design(_E + "series.its:its", True, "interrupted time series: level and slope change"),
    "peer_benchmark": Design(
        _E + "series.peers:peer_benchmark", True, "a unit vs its peers on a rate"
    ),
    "model_forecast": Design(
        _E + "series.forecast_models:model_forecast",
        True,
        "ETS or SARIMAX forecast from the pre-period",
    ),
    "did": Design(_E + "did.two_by_two:did", True, "2x2 difference-in-differences"),
    "twfe": Design(_E + "did.twfe:twfe", True, "two-way fixed effects regression"),
    "compressed_twfe": Design(
        _E + "did.compressed:compressed_twfe", True, "person-level TWFE from cell statistics"
    ),
    "event_study": Design(
        _E + "did.event_study:event_study", True, "event study with leads and lags"
    ),
    "callaway_santanna": Design(
        _E + "did.staggered:callaway_santanna", True, "staggered DiD (Callaway-Sant'Anna)"
    ),
    "imputation_did": Design(
        _E + "did.imputation:imputation_did",
        True,
        "staggered DiD (Borusyak-Jaravel-Spiess imputation)",
    ),
}


def register(name: str, function: str | Callable[..., Any], *, takes_data: bool, doc: str) -> None:
    """Make a design available to study specs under ``name``."""
    DESIGNS[name] = Design(function, takes_data, doc)


__all__ = ["DESIGNS", "Design", "register"]
