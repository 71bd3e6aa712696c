"""evaluate: statistical impact evaluation of public interventions.

data -> estimator -> Effect -> money -> BusinessCase -> report

A researcher needs only ``import evaluate as ev``: every design's front door
(``ev.twfe``, ``ev.synthetic_control``, ``ev.its``, ...), the Effect contract, the
money layer and the study runner are attributes of the package.  They are
imported on first use (PEP 562), so ``import evaluate`` and the console command's
``--help`` do not pay for scipy, statsmodels, matplotlib and numba.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from evaluate._lazy import lazy_exports
from evaluate.errors import (
    DataError,
    DesignError,
    DroppedRowsWarning,
    EvaluateError,
    EvaluateWarning,
    PreTrendWarning,
    SpecError,
)

__version__ = "0.1.0"

_E = "evaluate.estimators."

#: public name -> the module that defines it, imported on first access
_LAZY: dict[str, str] = {
    # the Effect contract
    "Diagnostic": "evaluate.effect",
    "Effect": "evaluate.effect",
    "EffectResult": "evaluate.effect",
    "NotApplicable": "evaluate.effect",
    "Provenance": "evaluate.effect",
    # designs, by family
    "did": _E + "did.two_by_two",
    "twfe": _E + "did.twfe",
    "event_study": _E + "did.event_study",
    "callaway_santanna": _E + "did.staggered",
    "imputation_did": _E + "did.imputation",
    "compressed_twfe": _E + "did.compressed",
    "synthetic_control": _E + "synthetic.synth",
    "synthetic_did": _E + "synthetic.sdid",
    "stated_expectation": _E + "series.stated",
    "stated_effect": _E + "series.stated",
    "trend_forecast": _E + "series.forecast",
    "model_forecast": _E + "series.forecast_models",
    "its": _E + "series.its",
    "peer_benchmark": _E + "series.peers",
    "trial": _E + "trials.trial",
    "share": _E + "trials.shares",
    "share_difference": _E + "trials.shares",
    "outcome_distribution": _E + "trials.shares",
    "duration": _E + "trials.duration",
    "observational": _E + "observational.design",
    "DESIGNS": "evaluate.estimators",
    # money, the business case and the runner
    "monetize": "evaluate.money",
    "BusinessCase": "evaluate.business_case",
    "run_study": "evaluate.study",
}
_LAZY.update(
    {
        name: f"evaluate.{name}"
        for name in ("money", "data", "datasets", "estimators", "inference", "power", "report")
    }
)
__getattr__, __dir__ = lazy_exports("evaluate", _LAZY, globals())


if TYPE_CHECKING:  # what the lazy names are, for type checkers and editors
    from evaluate import money
    from evaluate.business_case import BusinessCase
    from evaluate.effect import Diagnostic, Effect, EffectResult, NotApplicable, Provenance
    from evaluate.estimators import DESIGNS
    from evaluate.estimators.did.compressed import compressed_twfe
    from evaluate.estimators.did.event_study import event_study
    from evaluate.estimators.did.imputation import imputation_did
    from evaluate.estimators.did.staggered import callaway_santanna
    from evaluate.estimators.did.twfe import twfe
    from evaluate.estimators.did.two_by_two import did
    from evaluate.estimators.observational.design import observational
    from evaluate.estimators.series.forecast import trend_forecast
    from evaluate.estimators.series.forecast_models import model_forecast
    from evaluate.estimators.series.its import its
    from evaluate.estimators.series.peers import peer_benchmark
    from evaluate.estimators.series.stated import stated_effect, stated_expectation
    from evaluate.estimators.synthetic.sdid import synthetic_did
    from evaluate.estimators.synthetic.synth import synthetic_control
    from evaluate.estimators.trials.duration import duration
    from evaluate.estimators.trials.shares import outcome_distribution, share, share_difference
    from evaluate.estimators.trials.trial import trial
    from evaluate.money import monetize
    from evaluate.study import run_study

__all__ = [
    "BusinessCase",
    "DESIGNS",
    "DataError",
    "DesignError",
    "Diagnostic",
    "DroppedRowsWarning",
    "Effect",
    "EffectResult",
    "EvaluateError",
    "EvaluateWarning",
    "NotApplicable",
    "PreTrendWarning",
    "Provenance",
    "SpecError",
    "callaway_santanna",
    "compressed_twfe",
    "did",
    "duration",
    "event_study",
    "imputation_did",
    "its",
    "model_forecast",
    "monetize",
    "money",
    "observational",
    "outcome_distribution",
    "peer_benchmark",
    "run_study",
    "share",
    "share_difference",
    "stated_effect",
    "stated_expectation",
    "synthetic_control",
    "synthetic_did",
    "trend_forecast",
    "trial",
    "twfe",
]
