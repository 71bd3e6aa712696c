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
from evaluate.estimators.forecast import trend_forecast  # noqa: E402
from evaluate.estimators.stated import stated_effect, stated_expectation  # noqa: E402
from evaluate.money import monetize  # noqa: E402
from evaluate.study import run_study  # noqa: E402

__all__ += [
    "BusinessCase",
    "money",
    "monetize",
    "run_study",
    "stated_effect",
    "stated_expectation",
    "trend_forecast",
]
