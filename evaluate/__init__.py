"""evaluate: statistical impact evaluation of public interventions.

data -> estimator -> Effect -> money -> BusinessCase -> report
"""

from evaluate.effect import Diagnostic, Effect, EffectResult, NotApplicable, Provenance
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

__all__ = [
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
]

# Front doors: a researcher needs only `import evaluate as ev`.
from evaluate import money  # noqa: E402
from evaluate.business_case import BusinessCase  # noqa: E402
from evaluate.estimators import (  # noqa: E402
    DESIGNS,
    callaway_santanna,
    did,
    event_study,
    outcome_distribution,
    share,
    share_difference,
    stated_effect,
    stated_expectation,
    synthetic_control,
    trend_forecast,
    trial,
    twfe,
)
from evaluate.money import monetize  # noqa: E402
from evaluate.study import run_study  # noqa: E402

__all__ += [
    "DESIGNS",
    "BusinessCase",
    "callaway_santanna",
    "did",
    "event_study",
    "outcome_distribution",
    "share",
    "share_difference",
    "synthetic_control",
    "trial",
    "twfe",
    "money",
    "monetize",
    "run_study",
    "stated_effect",
    "stated_expectation",
    "trend_forecast",
]
