"""Shared inference: reference distributions (and, as designs arrive, covariance
estimators, bootstraps and randomization inference)."""

from evaluate.inference.distributions import (
    Distribution,
    Empirical,
    Normal,
    PointMass,
    SplitNormal,
    StudentT,
)

__all__ = ["Distribution", "Empirical", "Normal", "PointMass", "SplitNormal", "StudentT"]
