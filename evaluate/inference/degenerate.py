"""Refusing inference the design cannot support.

Some designs identify an effect but not its uncertainty: one treated and one
control unit over two periods leave no residual degrees of freedom; two clusters
with unit fixed effects make every cluster score exactly zero; a constant outcome
has zero residuals.  A covariance formula then returns a standard error of 0 (or
rounding noise such as 1e-32), so the interval has zero width and the p-value is
1e-16: numbers that look precise and mean nothing.  Such inference is refused: the
estimate keeps its point value and its distribution becomes :class:`NoInference`,
whose interval and p-value are NaN and whose reason the result shows (an
:class:`~evaluate.effect.NotApplicable` in ``inference``), with a
:class:`~evaluate.errors.DegenerateInferenceWarning`.

Example
-------
>>> degenerate_reason(se=1e-31, scale=3.0) is not None
True
>>> degenerate_reason(se=0.2, scale=3.0) is None
True
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

import numpy as np

from evaluate.errors import DegenerateInferenceWarning, DesignError

ZERO_SE = 1e-7
"""A standard error below this fraction of the outcome's spread (or of the estimate)
is rounding noise around an exact zero (CR2's pseudo-inverse square roots amplify
that noise to ~1e-9 relative; a real standard error this small would need some
1e14 observations)."""


@dataclass(frozen=True)
class NoInference:
    """An estimate whose uncertainty the design cannot estimate.

    ``std_error``, ``interval`` and ``p_value`` are NaN and ``label`` carries the
    reason.  ``draws`` raise a :class:`~evaluate.errors.DesignError`: treating the
    estimate as certain in a business case would be the false precision refused here.
    """

    estimate: float
    reason: str

    @property
    def std_error(self) -> float:
        return math.nan

    @property
    def label(self) -> str:
        return f"not applicable: {self.reason}"

    def interval(self, alpha: float = 0.05) -> tuple[float, float]:
        from evaluate.inference.distributions import _check_alpha

        _check_alpha(alpha)
        return (math.nan, math.nan)

    def p_value(self, null: float = 0.0) -> float:
        return math.nan

    def draws(self, n: int, rng: np.random.Generator) -> np.ndarray:
        raise DesignError(
            f"The estimate {self.estimate:.4g} has no estimable uncertainty ({self.reason}), "
            "so it cannot be carried into money as draws. State a range for the effect "
            "instead (a stated scenario) or add units or periods."
        )

    def scaled(self, factor: float) -> NoInference:
        return NoInference(self.estimate * factor, self.reason)


def degenerate_reason(se: float, scale: float, df: float = math.inf) -> str | None:
    """Why a standard error cannot be reported, or ``None`` when it can.

    ``scale`` is the spread of the outcome (or the size of the estimate): a standard
    error below :data:`ZERO_SE` times it is an exact zero blurred by rounding.
    """
    if not math.isfinite(se):
        return "the standard error is not finite (the design leaves no variation to estimate it)"
    if se <= ZERO_SE * max(abs(scale), 0.0) or se <= 0.0:
        return (
            "the standard error is exactly zero: the residuals carry no information about "
            "the noise (e.g. one treated and one control unit, two clusters with unit fixed "
            "effects, or a constant outcome); more units are needed"
        )
    if not df > 0:
        return "no degrees of freedom are left to estimate the variance"
    return None


def refuse(estimate: float, reason: str, *, stacklevel: int = 3) -> NoInference:
    """Warn that inference is not applicable and return the :class:`NoInference`."""
    warnings.warn(
        f"Inference is not applicable: {reason}. The point estimate {estimate:.4g} is "
        "reported without a standard error, interval or p-value.",
        DegenerateInferenceWarning,
        stacklevel=stacklevel,
    )
    return NoInference(float(estimate), reason)


def randomization_reason(n_assignments: int, alpha: float) -> str | None:
    """Why a randomization test with ``n_assignments`` cannot reach level ``alpha``."""
    if n_assignments * alpha >= 1.0:
        return None
    need = math.ceil(1.0 / alpha)
    return (
        f"only {n_assignments} placebo assignments of the treatment exist, so no "
        f"randomization test can reject at the {alpha:.0%} level (at least {need} "
        "assignments are needed) and the units are too few for any cluster-robust "
        "standard error; more comparison units are needed"
    )


__all__ = ["ZERO_SE", "NoInference", "degenerate_reason", "randomization_reason", "refuse"]
