"""Shared inference: reference distributions, the covariance registry (classical, HC1, HC2,
CR0, CR1, CR1-stata, CR2) and the wild cluster bootstrap."""

from evaluate.inference.bootstrap import wild_cluster_bootstrap
from evaluate.inference.covariance import (
    COVARIANCE_ESTIMATORS,
    RegressionDesign,
    choose_covariance,
    covariance,
)
from evaluate.inference.distributions import (
    Distribution,
    Empirical,
    Normal,
    PointMass,
    SplitNormal,
    StudentT,
)

__all__ = [
    "COVARIANCE_ESTIMATORS",
    "Distribution",
    "Empirical",
    "Normal",
    "PointMass",
    "RegressionDesign",
    "SplitNormal",
    "StudentT",
    "choose_covariance",
    "covariance",
    "wild_cluster_bootstrap",
]
