"""Placebo re-estimation for randomization inference in the panel designs.

Each function returns the placebo statistics ``u_a`` (the design's estimate when
the treatment paths are reassigned by permutation ``a``) and their slopes ``c_a``
(the same estimator applied to the actual treatment), the two arrays
:class:`evaluate.inference.randomization.Randomization` inverts.  Both designs are
linear in the outcome, so each assignment costs one partialling-out, no refit of
anything else.
"""

from __future__ import annotations

import numpy as np

from evaluate.estimators.did._within import PanelIndex, within

_CHUNK = 256  # placebo columns within-transformed at once


def twfe_placebo(
    index: PanelIndex, y: np.ndarray, x: np.ndarray, perms: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """TWFE coefficient of ``x[:, 0]`` under each permutation of the units' paths.

    ``x[:, 1:]`` are covariates kept as they are; the panel must be balanced, so
    every unit has a treatment value in every period to hand on.
    """
    d = x[:, 0]
    paths = np.zeros((index.n_units, index.n_times))
    paths[index.unit, index.time] = d
    covs = within(index, x[:, 1:]) if x.shape[1] > 1 else None
    proj = None if covs is None else np.linalg.pinv(covs)
    u = np.empty(len(perms))
    c = np.empty(len(perms))
    for lo in range(0, len(perms), _CHUNK):
        block = perms[lo : lo + _CHUNK]
        z = within(index, paths[block[:, index.unit], index.time[None, :]].T)
        if covs is not None:
            z -= covs @ (proj @ z)
        zz = np.einsum("ij,ij->j", z, z)
        u[lo : lo + _CHUNK] = (z.T @ y) / zz
        c[lo : lo + _CHUNK] = (z.T @ d) / zz
    return u, c


def did_placebo(
    unit: np.ndarray,
    group: np.ndarray,
    post: np.ndarray,
    y: np.ndarray,
    covariates: np.ndarray,
    perms: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """2x2 DiD interaction coefficient when the treated group is reassigned by unit.

    ``unit`` holds integer unit codes; ``group`` is constant within a unit.
    """
    by_unit = np.zeros(int(unit.max()) + 1)
    by_unit[unit] = group
    rhs = np.column_stack([y, group * post])
    u = np.empty(len(perms))
    c = np.empty(len(perms))
    for a, perm in enumerate(perms):
        g = by_unit[perm[unit]]
        x = np.column_stack([np.ones(len(y)), g, post, g * post, covariates])
        beta = np.linalg.lstsq(x, rhs, rcond=None)[0]
        u[a], c[a] = beta[3]
    return u, c


def event_study_placebo(
    index: PanelIndex,
    y: np.ndarray,
    t: np.ndarray,
    cohort_of_unit: np.ndarray,
    event_times: list[int],
    window: tuple[int, int],
    contrast: np.ndarray,
    perms: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Event-study contrast ``contrast @ beta`` when the units' adoption periods are
    reassigned by each permutation (never-treated units carry NaN).

    Event times are binned into ``window = (-leads, lags)`` as the estimator does.
    The slope is the same contrast estimated on the actual post-adoption indicator.
    """
    e_actual = t - cohort_of_unit[index.unit]
    d = (e_actual >= 0).astype(float)  # NaN (never treated) compares False
    u = np.empty(len(perms))
    c = np.empty(len(perms))
    rhs = np.column_stack([y, d])
    for a, perm in enumerate(perms):
        e = np.clip(t - cohort_of_unit[perm[index.unit]], *window)
        x = within(index, [(e == k).astype(float) for k in event_times])
        beta = np.linalg.lstsq(x, rhs, rcond=None)[0]
        u[a], c[a] = contrast @ beta
    return u, c


__all__ = ["did_placebo", "event_study_placebo", "twfe_placebo"]
