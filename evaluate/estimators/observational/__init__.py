"""Observational designs: no randomization, selection on observed covariates.

:mod:`.design` holds the front door (regression adjustment, IPW, AIPW, matching);
:mod:`._methods` their estimating equations and the matching.  The package
re-exports what the module ``evaluate.estimators.observational`` offered before
the designs were grouped by family.
"""

from evaluate.estimators.observational.design import (
    ObservationalResult,
    logit_fit,
    observational,
    sandwich,
)

__all__ = ["ObservationalResult", "logit_fit", "observational", "sandwich"]
