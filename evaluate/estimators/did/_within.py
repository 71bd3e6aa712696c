"""The two-way within transformation behind TWFE and its diagnostics.

``x - mean_i(x) - mean_t(x) + mean(x)`` on a balanced panel (a reshape when the
rows are sorted by unit and period); on an unbalanced one, or with further
absorbed fixed effects, :func:`evaluate.estimators.did._absorb.absorb` demeans by
the largest dimension and solves the others' normal equations (FWL): exactly
when they have few levels, by conjugate gradients otherwise.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import sparse

from evaluate.errors import DataError, DesignError, SpecError
from evaluate.estimators.did._absorb import absorb, one_blas_thread
from evaluate.estimators.did._fe_kernels import std as fe_std

_EXACT_LIMIT = 500  # most levels of the non-absorbed fixed effects solved densely (m x m)
_WEIGHTED_LIMIT = 2000  # largest fixed-effect dimension solved exactly with weights


@dataclass(frozen=True, eq=False)
class PanelIndex:
    """Integer codes of the unit and time of each row, and the panel's shape.

    ``extra`` holds the codes of further absorbed fixed effects (e.g. region x year),
    ``extra_levels`` their numbers of levels.
    """

    unit: np.ndarray
    time: np.ndarray
    n_units: int
    n_times: int
    unit_counts: np.ndarray
    time_counts: np.ndarray
    grid: bool = False  # balanced and sorted by unit, then period
    extra: tuple[np.ndarray, ...] = ()
    extra_levels: tuple[int, ...] = ()

    @property
    def n(self) -> int:
        return len(self.unit)

    @property
    def balanced(self) -> bool:
        return self.n == self.n_units * self.n_times


def factorize(values: pd.Series | np.ndarray, *, sort: bool) -> tuple[np.ndarray, pd.Index]:
    """Integer codes (``intp``) and levels, as ``pd.factorize(values, sort=sort)``.

    Integer columns whose range is not much wider than their length take one
    compiled pass over a dense table (no hashing); other types go to pandas.
    """
    arr = values.to_numpy() if isinstance(values, pd.Series) else np.asarray(values)
    n = len(arr)
    if n and arr.dtype.kind in "iu" and arr.dtype.itemsize <= 8:
        lo, hi = int(arr.min()), int(arr.max())
        span = hi - lo + 1
        if span <= 4 * n + 1024:
            from evaluate.estimators.did._fe_kernels import dense_codes

            codes, levels = dense_codes(arr.astype(np.int64, copy=False), lo, span, sort)
            return codes, pd.Index(levels.astype(arr.dtype, copy=False))
    codes, levels = pd.factorize(values, sort=sort)
    return codes.astype(np.intp, copy=False), pd.Index(levels)


def panel_index(
    unit: pd.Series, time: pd.Series, extra: tuple[np.ndarray, ...] = ()
) -> PanelIndex:
    """Factorize unit and time; duplicated unit-period rows are a :class:`DataError`.

    ``extra``: codes (``0..L-1``) of further fixed effects to absorb.
    """
    from evaluate.estimators.did._fe_kernels import first_duplicate, is_grid

    u, u_levels = factorize(unit, sort=False)
    t, t_levels = factorize(time, sort=True)
    n_u, n_t = len(u_levels), len(t_levels)
    n = len(u)
    # Rows sorted by unit then period with every pair present: no duplicates are
    # possible and the within transformation becomes a reshape.
    grid = n == n_u * n_t and bool(is_grid(u, t, n_t))
    if not grid:
        if n_u * n_t <= 8 * n + (1 << 22):
            n_dup, first = first_duplicate(u, t, n_u, n_t)
        else:  # sparse panel: hash the keys instead of a dense table
            dup = pd.Series(u * n_t + t).duplicated().to_numpy()
            n_dup = int(pd.unique((u * n_t + t)[dup]).size)
            first = int((u * n_t + t)[dup].min()) if n_dup else -1
        if n_dup:
            raise DataError(
                f"{n_dup} unit-period pairs occur more than once (first: "
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
        extra=tuple(extra),
        extra_levels=tuple(int(e.max()) + 1 for e in extra),
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
    if index.grid and not index.extra:
        shape = (index.n_units, index.n_times)
        for j, x in enumerate(cols):
            xg = np.asarray(x, dtype=float).reshape(shape)
            target = out[:, j].reshape(shape)  # a view: F-order columns are contiguous
            np.subtract(xg, xg.mean(axis=1, keepdims=True), out=target)
            target -= xg.mean(axis=0, keepdims=True) - xg.mean()
        return out
    if index.balanced and not index.extra:
        for j, x in enumerate(cols):
            x = np.asarray(x, dtype=float)
            mu = group_mean(index.unit, x, index.unit_counts)
            mt = group_mean(index.time, x, index.time_counts) - x.mean()
            out[:, j] = x - mu[index.unit] - mt[index.time]
        return out
    fes = [(index.unit, index.n_units), (index.time, index.n_times)]
    fes += list(zip(index.extra, index.extra_levels, strict=True))
    if _fortran_floats(columns):
        return absorb(fes, columns, _EXACT_LIMIT)  # read in place: absorb never writes x
    x = np.empty((index.n, len(cols)), order="F")  # contiguous columns in and out
    for j, c in enumerate(cols):
        x[:, j] = c
    return absorb(fes, x, _EXACT_LIMIT)


def _fortran_floats(columns: object) -> bool:
    return (
        isinstance(columns, np.ndarray)
        and columns.ndim == 2
        and columns.dtype == np.float64
        and columns.flags.f_contiguous
    )


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
    if n_small > _WEIGHTED_LIMIT:
        raise DesignError(
            f"Both fixed-effect dimensions have more than {_WEIGHTED_LIMIT} levels; "
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
    yx: np.ndarray | None = None,
) -> WithinFit:
    """Least squares of within-transformed ``y`` on within-transformed ``x``
    (weighted least squares with weighted demeaning when ``weights`` are given).

    ``yx``: ``[y, x]`` already stacked in one Fortran-ordered float array (``y`` and
    ``x`` its views), which saves a copy of the data on large panels.
    """
    stacked = yx if yx is not None else [y, *(x[:, j] for j in range(x.shape[1]))]
    yx = within(index, stacked, weights)
    yd, xd = yx[:, 0], yx[:, 1:]
    if weights is None:  # the same numbers as with unit weights, fewer passes
        xw = xd
        # Sums of squares about the mean, column by column (no n x k temporaries).
        raw = np.array([x.shape[0] * fe_std(x[:, j]) ** 2 for j in range(x.shape[1])])
    else:
        xw = xd * weights[:, None]
        raw = np.average(
            (x - np.average(x, axis=0, weights=weights)) ** 2, axis=0, weights=weights
        ) * weights.sum()
    with one_blas_thread():  # skinny products: BLAS threads only add overhead
        xtx = xw.T @ xd
        xty = xw.T @ yd
    scale = np.sqrt(np.maximum(np.diag(xtx), 1e-300))
    bad = [n for n, s, r in zip(names, scale, raw, strict=True) if s**2 <= 1e-10 * max(r, 1e-300)]
    if bad or np.linalg.matrix_rank(xtx / np.outer(scale, scale)) < xd.shape[1]:
        raise DesignError(
            f"{', '.join(bad) or 'The regressors'} have no variation left after removing unit "
            "and period effects (e.g. treatment constant within every unit, or collinear "
            "regressors). A TWFE regression needs units whose treatment changes over time."
        )
    beta = np.linalg.solve(xtx, xty)
    if not np.all(np.isfinite(beta)):
        raise DataError(
            "The regression overflowed (an outcome or regressor near 1e308?): rescale the "
            "outcome, e.g. to thousands, and fit again."
        )
    resid = yd.copy()
    for j in range(xd.shape[1]):  # column by column: no (n, k) temporaries, no BLAS threads
        resid -= beta[j] * xd[:, j]
    return WithinFit(beta=beta, resid=resid, x=xd, y=yd)


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
