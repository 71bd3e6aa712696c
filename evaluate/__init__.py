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
from evaluate.estimators import DESIGNS  # noqa: E402
from evaluate.estimators.did import did  # noqa: E402
from evaluate.estimators.event_study import event_study  # noqa: E402
from evaluate.estimators.forecast import trend_forecast  # noqa: E402
from evaluate.estimators.shares import outcome_distribution, share, share_difference  # noqa: E402
from evaluate.estimators.staggered import callaway_santanna  # noqa: E402
from evaluate.estimators.stated import stated_effect, stated_expectation  # noqa: E402
from evaluate.estimators.synth import synthetic_control  # noqa: E402
from evaluate.estimators.trial import trial  # noqa: E402
from evaluate.estimators.twfe import twfe  # noqa: E402
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
