"""Typed errors and warnings.

Every error a user can trigger with bad input is an :class:`EvaluateError`, a
``ValueError`` subclass, so ``except ValueError`` keeps working.  The message names
the column, key or value at fault and says how to fix it.
"""

from __future__ import annotations


class EvaluateError(ValueError):
    """Base class of every error raised for bad input to ``evaluate``."""


class DataError(EvaluateError):
    """The data cannot be used as given (missing column, NaN, duplicates, ...)."""


class SpecError(EvaluateError):
    """A study spec or an option is invalid (unknown key, wrong type, bad value)."""


class DesignError(EvaluateError):
    """The data do not support the design (no pre-period, no control group, ...)."""


class OutputError(EvaluateError):
    """The report cannot be written where asked (``--out`` is a file, another run
    is writing there, a link points out of the folder, ...)."""


class LimitError(SpecError):
    """An option asks for more work or memory than the configured limit allows."""


class RateError(SpecError):
    """No rate for the benefit, year or category asked; the message lists what exists."""


class ReformError(RateError):
    """A rate asked across a reform that changed the benefit's categories (e.g. a
    pre-reform kontanthjælp category after 1 July 2025); the message says what exists."""


class SourceError(EvaluateError):
    """A public data source (StatBank, Jobindsats) could not deliver what was asked:
    the message names the source, the table or option, and what to do."""


class UnknownTableError(SourceError):
    """The source has no table with the id asked for."""


class MissingTokenError(SourceError):
    """The source needs an access token and the environment variable holding it is unset."""


class SourceHTTPError(SourceError):
    """The source answered with an HTTP error (``status`` holds the code)."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status


class RateLimitError(SourceHTTPError):
    """The source kept answering 429 (too many requests) after the bounded retries."""


class EvaluateWarning(UserWarning):
    """Base class of the warnings ``evaluate`` emits."""


class DroppedRowsWarning(EvaluateWarning):
    """Rows were left out of an estimate; the result records how many and why."""


class PreTrendWarning(EvaluateWarning):
    """A diagnostic of the identifying assumption (pre-trend, pre-fit) failed."""


class NegativeWeightsWarning(EvaluateWarning):
    """A TWFE coefficient puts negative weight on some treated cells
    (de Chaisemartin & D'Haultfœuille 2020): with heterogeneous effects it can
    have the wrong sign.  Compare with a heterogeneity-robust estimator."""


class SmallSampleWarning(EvaluateWarning):
    """Too few observations for the chosen inference to be reliable."""


class DegenerateInferenceWarning(EvaluateWarning):
    """The design identifies the estimate but not its uncertainty (a standard error
    of exactly 0, no residual degrees of freedom, too few placebo assignments): the
    result reports the estimate with inference ``NotApplicable``."""


__all__ = [
    "DataError",
    "DegenerateInferenceWarning",
    "DesignError",
    "DroppedRowsWarning",
    "EvaluateError",
    "EvaluateWarning",
    "LimitError",
    "MissingTokenError",
    "NegativeWeightsWarning",
    "OutputError",
    "PreTrendWarning",
    "RateError",
    "RateLimitError",
    "ReformError",
    "SmallSampleWarning",
    "SourceError",
    "SourceHTTPError",
    "SpecError",
    "UnknownTableError",
]
