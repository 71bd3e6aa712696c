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
