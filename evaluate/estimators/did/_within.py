"""The two-way within transformation behind TWFE and its diagnostics.

``x - mean_i(x) - mean_t(x) + mean(x)`` on a balanced panel (a reshape when the
rows are sorted by unit and period); on an unbalanced one, demean by the larger
dimension and solve the smaller one's normal equations exactly (FWL); alternating
projections only when both dimensions exceed a few thousand levels.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import sparse

from evaluate.errors import DataError, DesignError, SpecError

_EXACT_LIMIT = 2000  # largest fixed-effect dimension solved exactly (dense T x T system)


@dataclass(frozen=True, eq=False)
class PanelIndex:
    """Integer codes of the unit and time of each row, and the panel's shape."""

    unit: np.ndarray
    time: np.ndarray
    n_units: int
    n_times: int
    unit_counts: np.ndarray
    time_counts: np.ndarray
    grid: bool = False  # balanced and sorted by unit, then period

    @property
    def n(self) -> int:
        return len(self.unit)

    @property
    def balanced(self) -> bool:
        return self.n == self.n_units * self.n_times


def panel_index(unit: pd.Series, time: pd.Series) -> PanelIndex:
    """Factorize unit and time; duplicated unit-period rows are a :class:`DataError`."""
    u, u_levels = pd.factorize(unit, sort=False)
    t, t_levels = pd.factorize(time, sort=True)
    u = u.astype(np.intp, copy=False)
    t = t.astype(np.intp, copy=False)
    n_u, n_t = len(u_levels), len(t_levels)
    n = len(u)
    # Rows sorted by unit then period with every pair present: no duplicates are
    # possible and the within transformation becomes a reshape.  The check compares
    # against broadcast ranges, so it allocates only boolean temporaries.
    grid = n == n_u * n_t and bool(
        np.array_equal(t.reshape(n_u, n_t), np.broadcast_to(np.arange(n_t), (n_u, n_t)))
        and (u.reshape(n_u, n_t) == np.arange(n_u)[:, None]).all()
    )
    if not grid:
        key = u * n_t
        key += t
        counts = np.bincount(key, minlength=n_u * n_t)
        del key
        if counts.max() > 1:
            first = int(np.flatnonzero(counts > 1)[0])
            raise DataError(
                f"{int((counts > 1).sum())} unit-period pairs occur more than once (first: "
                f"unit {u_levels[first // n_t]!r}, period {t_levels[first % n_t]!r}). A panel "
                "needs one row per unit and period: aggregate or remove the duplicates."
            )
    return PanelIndex(
        unit=u,
        time=t,
        n_units=n_u,
        n_times=n_t,
        unit_counts=np.bincount(u, minlength=n_u),
        time_counts=np.bincount(t, minlength=n_t),
        grid=grid,
    )


def group_mean(codes: np.ndarray, values: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Mean of ``values`` within each code (``counts`` holds each code's size)."""
    return np.bincount(codes, weights=values, minlength=len(counts)) / counts


def within(
    index: PanelIndex,
    columns: np.ndarray | list[np.ndarray],
    weights: np.ndarray | None = None,
) -> np.ndarray:
    """Two-way within transformation of each column; returns a new (n, q) array.

    ``columns`` is an (n, q) array or a list of q arrays of length n.  With
    ``weights`` the projection is the weighted one (:func:`weighted_within`).
    """
    cols = (
        [columns[:, j] for j in range(columns.shape[1])]
        if isinstance(columns, np.ndarray)
        else list(columns)
    )
    if weights is not None:
        stacked = np.column_stack([np.asarray(c, dtype=float) for c in cols])
        return weighted_within(index.unit, index.time, weights, stacked)
    out = np.empty((index.n, len(cols)), dtype=float, order="F")
    if index.grid:
        shape = (index.n_units, index.n_times)
        for j, x in enumerate(cols):
            xg = np.asarray(x, dtype=float).reshape(shape)
            target = out[:, j].reshape(shape)  # a view: F-order columns are contiguous
            np.subtract(xg, xg.mean(axis=1, keepdims=True), out=target)
            target -= xg.mean(axis=0, keepdims=True) - xg.mean()
        return out
    if index.balanced:
        for j, x in enumerate(cols):
            x = np.asarray(x, dtype=float)
            mu = group_mean(index.unit, x, index.unit_counts)
            mt = group_mean(index.time, x, index.time_counts) - x.mean()
            out[:, j] = x - mu[index.unit] - mt[index.time]
        return out
    # Absorb the larger dimension by demeaning, solve the smaller one exactly.
    big, small = (index.unit, index.time)
    n_big, n_small, big_counts = index.n_units, index.n_times, index.unit_counts
    if index.n_times > index.n_units:
        big, small, n_big, n_small = index.time, index.unit, index.n_times, index.n_units
        big_counts = index.time_counts
    if n_small > _EXACT_LIMIT:
        return _alternating_projections(index, np.column_stack(cols))
    incidence = sparse.csr_matrix((np.ones(index.n), (big, small)), shape=(n_big, n_small))
    gram = np.diag(np.bincount(small, minlength=n_small).astype(float))
    gram -= (incidence.T @ sparse.diags(1.0 / big_counts) @ incidence).toarray()
    # Singular (one redundant level per connected set): pseudo-inverse with a
    # tolerance well above rounding noise, which is ~1e-12 relative here.
    vals, vecs = np.linalg.eigh(gram)
    keep = vals > 1e-9 * vals.max()
    gram_pinv = (vecs[:, keep] / vals[keep]) @ vecs[:, keep].T
    for j, x in enumerate(cols):
        x = np.asarray(x, dtype=float)
        x1 = x - group_mean(big, x, big_counts)[big]
        gamma = gram_pinv @ np.bincount(small, weights=x1, minlength=n_small)
        fitted = gamma[small]
        out[:, j] = x1 - (fitted - group_mean(big, fitted, big_counts)[big])
    return out


def weighted_within(
    unit: np.ndarray, time: np.ndarray, weights: np.ndarray, columns: np.ndarray
) -> np.ndarray:
    """Weighted two-way within transformation of the (m, q) ``columns``.

    Absorbs the larger fixed-effect dimension by weighted demeaning and solves
    the smaller one exactly (``(V'W M_U V) g = V'W M_U x``, FWL), as
    :func:`within` does without weights; rows may
    repeat a unit-time pair (sub-cells).
    """
    big, small = unit, time
    if int(time.max()) > int(unit.max()):
        big, small = time, unit
    n_big, n_small = int(big.max()) + 1, int(small.max()) + 1
    if n_small > _EXACT_LIMIT:
        raise DesignError(
            f"Both fixed-effect dimensions have more than {_EXACT_LIMIT} levels; "
            "aggregate the cells further (e.g. months instead of weeks)."
        )
    w_big = np.bincount(big, weights=weights, minlength=n_big)

    def demean_big(x: np.ndarray) -> np.ndarray:
        return x - (np.bincount(big, weights=weights * x, minlength=n_big) / w_big)[big]

    incidence = sparse.csr_matrix((weights, (big, small)), shape=(n_big, n_small))
    gram = np.diag(np.bincount(small, weights=weights, minlength=n_small))
    gram -= (incidence.T @ sparse.diags(1.0 / w_big) @ incidence).toarray()
    # Singular by one level per connected set: pseudo-inverse, tolerance far above
    # rounding noise (as in twfe.within).
    vals, vecs = np.linalg.eigh(gram)
    keep = vals > 1e-9 * vals.max()
    gram_pinv = (vecs[:, keep] / vals[keep]) @ vecs[:, keep].T
    out = np.empty_like(columns, dtype=float)
    for j in range(columns.shape[1]):
        x1 = demean_big(np.asarray(columns[:, j], dtype=float))
        gamma = gram_pinv @ np.bincount(small, weights=weights * x1, minlength=n_small)
        out[:, j] = x1 - demean_big(gamma[small])
    return out


def _alternating_projections(
    index: PanelIndex, columns: np.ndarray, tol: float = 1e-11, max_iter: int = 10_000
) -> np.ndarray:
    out = np.array(columns, dtype=float)
    for j in range(out.shape[1]):
        x = out[:, j]
        scale = max(float(np.abs(x).max()), 1.0)
        for _ in range(max_iter):
            x -= group_mean(index.unit, x, index.unit_counts)[index.unit]
            shift = group_mean(index.time, x, index.time_counts)
            x -= shift[index.time]
            if np.abs(shift).max() < tol * scale:
                break
        else:  # pragma: no cover - pathological designs only
            warnings.warn("Alternating projections did not converge.", RuntimeWarning, 2)
    return out


@dataclass(frozen=True, eq=False)
class WithinFit:
    """Coefficients and residuals of a regression on within-transformed data."""

    beta: np.ndarray
    resid: np.ndarray
    x: np.ndarray  # within-transformed regressors (n, k)
    y: np.ndarray  # within-transformed outcome


def fit_within(
    index: PanelIndex,
    y: np.ndarray,
    x: np.ndarray,
    names: list[str],
    weights: np.ndarray | None = None,
) -> WithinFit:
    """Least squares of within-transformed ``y`` on within-transformed ``x``
    (weighted least squares with weighted demeaning when ``weights`` are given)."""
    yx = within(index, [y, *(x[:, j] for j in range(x.shape[1]))], weights)
    yd, xd = yx[:, 0], yx[:, 1:]
    w = np.ones(len(y)) if weights is None else weights
    xtx = (xd * w[:, None]).T @ xd
    scale = np.sqrt(np.maximum(np.diag(xtx), 1e-300))
    raw = np.average((x - np.average(x, axis=0, weights=w)) ** 2, axis=0, weights=w) * w.sum()
    bad = [n for n, s, r in zip(names, scale, raw, strict=True) if s**2 <= 1e-10 * max(r, 1e-300)]
    if bad or np.linalg.matrix_rank(xtx / np.outer(scale, scale)) < xd.shape[1]:
        raise DesignError(
            f"{', '.join(bad) or 'The regressors'} have no variation left after removing unit "
            "and period effects (e.g. treatment constant within every unit, or collinear "
            "regressors). A TWFE regression needs units whose treatment changes over time."
        )
    beta = np.linalg.solve(xtx, (xd * w[:, None]).T @ yd)
    if not np.all(np.isfinite(beta)):
        raise DataError(
            "The regression overflowed (an outcome or regressor near 1e308?): rescale the "
            "outcome, e.g. to thousands, and fit again."
        )
    return WithinFit(beta=beta, resid=yd - xd @ beta, x=xd, y=yd)


def analytic_weights(frame: pd.DataFrame, column: str | None) -> np.ndarray | None:
    """The regression (analytic) weights in ``column``: finite and positive, or a typed error."""
    if column is None:
        return None
    if not pd.api.types.is_numeric_dtype(frame[column]) or pd.api.types.is_bool_dtype(
        frame[column]
    ):
        raise DataError(f"Weight column {column!r} must be numeric (e.g. population).")
    w = frame[column].to_numpy(dtype=float)
    bad = ~np.isfinite(w) | (w <= 0)
    if bad.any():
        raise DataError(
            f"Weight column {column!r} must hold positive finite numbers; found "
            f"{w[bad][0]!r} in {int(bad.sum())} row(s). Drop rows with zero weight and fix "
            "negative or missing ones."
        )
    if w.max() / w.min() > 1e12:
        raise SpecError(
            f"Weights in {column!r} span more than 12 orders of magnitude; the fit would be "
            "ill-conditioned. Check the column (a population in persons, not a code)."
        )
    return w


__all__ = [
    "PanelIndex",
    "WithinFit",
    "analytic_weights",
    "fit_within",
    "group_mean",
    "panel_index",
    "weighted_within",
    "within",
]
