"""Covariance of TWFE coefficients with unit and period effects (and any further
fixed effects) absorbed, for :func:`evaluate.estimators.did.twfe.twfe` and the
designs built on it."""

from __future__ import annotations

import numpy as np

from evaluate.errors import SpecError
from evaluate.estimators.did._absorb import one_blas_thread
from evaluate.estimators.did._fe_kernels import nested_in
from evaluate.estimators.did._within import PanelIndex, WithinFit, group_mean
from evaluate.inference.covariance import (
    CovarianceEstimate,
    RegressionDesign,
    covariance,
    is_nested,
)

_MAX_EXPLICIT = 500  # largest number of explicit time dummies for HC2 / CR2


def panel_covariance(
    index: PanelIndex,
    fit: WithinFit,
    x_raw: np.ndarray,
    clusters: np.ndarray | None,
    method: str,
    weights: np.ndarray | None = None,
) -> CovarianceEstimate:
    """Covariance of the within coefficients under ``method`` (unit + time FE absorbed).

    With analytic ``weights`` the rows enter scaled by ``sqrt(w)`` after weighted
    demeaning (see :class:`~evaluate.inference.covariance.RegressionDesign`).
    """
    k = fit.x.shape[1]
    root = None if weights is None else np.sqrt(weights)
    if index.extra and (method in ("HC2", "CR2") or weights is not None):
        raise SpecError(
            f"inference={method!r}{' with weights' if weights is not None else ''} is not "
            "available with further fixed_effects; use CR1 (or CR0, CR1-stata, HC1, wild)."
        )
    if method in ("HC2", "CR2"):
        if clusters is not None and not is_nested(index.unit, clusters) and method == "CR2":
            raise SpecError(
                "CR2 here needs clusters that contain whole units (cluster by unit or by a "
                "group of units); use CR1 or inference='wild' for other clusterings."
            )
        if index.n_times - 1 > _MAX_EXPLICIT or index.n * index.n_times > 2e8:
            raise SpecError(
                f"{method} needs the {index.n_times} period effects as explicit columns of "
                f"an {index.n} x {index.n_times} matrix, too large here. Use CR1 (or HC1); "
                "with this many clusters the small-sample refinement matters little."
            )
        if weights is not None and method == "CR2":
            return _weighted_cr2(index, fit, x_raw, clusters, weights)
        # Time effects explicit, unit effects absorbed (FWL): same coefficients and
        # residuals, and the leverage the estimators need is now computable.
        dummies = np.zeros((index.n, index.n_times - 1))
        rows = np.flatnonzero(index.time > 0)
        dummies[rows, index.time[rows] - 1] = 1.0
        z = np.column_stack([x_raw, dummies])
        if weights is None:
            means = np.stack(
                [group_mean(index.unit, z[:, j], index.unit_counts) for j in range(z.shape[1])], 1
            )
        else:
            w_unit = np.bincount(index.unit, weights=weights, minlength=index.n_units)
            means = np.stack(
                [
                    np.bincount(index.unit, weights=weights * z[:, j], minlength=index.n_units)
                    / w_unit
                    for j in range(z.shape[1])
                ],
                1,
            )
        z -= means[index.unit]
        design = RegressionDesign(
            x=z if root is None else z * root[:, None],
            resid=fit.resid if root is None else fit.resid * root,
            clusters=clusters if method == "CR2" else None,
            fe_levels=(index.n_units,),
            fe_nested=(True,) if method == "CR2" else (False,),
            absorbed_groups=index.unit,
            weights=weights,
        )
        est = covariance(design, method, n_interest=k)  # type: ignore[arg-type]
        return CovarianceEstimate(est.cov[:k, :k], est.df[:k], est.method, est.n_clusters)
    if clusters is None:
        nested = (False,) * (2 + len(index.extra))
    else:
        if clusters is index.unit:  # the common case: skip two O(n) passes
            nested = (True, index.n_units == 1)
        else:
            nested = (
                bool(nested_in(index.unit, clusters, index.n_units)),
                bool(nested_in(index.time, clusters, index.n_times)),
            )
        # One compiled pass each that stops at the first level seen in two clusters.
        nested += tuple(
            bool(nested_in(e, clusters, lv))
            for e, lv in zip(index.extra, index.extra_levels, strict=True)
        )
    design = RegressionDesign(
        x=fit.x if root is None else fit.x * root[:, None],
        resid=fit.resid if root is None else fit.resid * root,
        clusters=clusters,
        fe_levels=(index.n_units, index.n_times, *index.extra_levels),
        fe_nested=nested,
        weights=weights,
    )
    with one_blas_thread():  # skinny products: BLAS threads only add overhead
        return covariance(design, method)  # type: ignore[arg-type]


def _weighted_cr2(
    index: PanelIndex,
    fit: WithinFit,
    x_raw: np.ndarray,
    clusters: np.ndarray,
    weights: np.ndarray,
) -> CovarianceEstimate:
    """Weighted CR2 (clubSandwich's convention) with unit and period dummies explicit."""
    if index.n_units + index.n_times > _MAX_EXPLICIT * 4 or index.n * index.n_units > 5e7:
        raise SpecError(
            f"Weighted CR2 needs all {index.n_units} unit and {index.n_times} period effects as "
            "explicit columns, too large here; use CR1 (or CR1-stata) with weights."
        )
    k = x_raw.shape[1]
    z = np.zeros((index.n, k + index.n_units + index.n_times - 1))
    z[:, :k] = x_raw
    z[np.arange(index.n), k + index.unit] = 1.0
    rows = np.flatnonzero(index.time > 0)
    z[rows, k + index.n_units + index.time[rows] - 1] = 1.0
    root = np.sqrt(weights)
    design = RegressionDesign(
        x=z * root[:, None], resid=fit.resid * root, clusters=clusters, weights=weights
    )
    est = covariance(design, "CR2", n_interest=k)
    return CovarianceEstimate(est.cov[:k, :k], est.df[:k], est.method, est.n_clusters)


__all__ = ["panel_covariance"]
