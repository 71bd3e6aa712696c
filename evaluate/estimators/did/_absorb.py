"""Residuals of columns on any number of fixed effects (the within transformation).

The fixed effect with the most levels (the unit, usually) is absorbed exactly by
demeaning; the others enter through the normal equations of their effects after
that demeaning (FWL), ``S g = C' M_U x`` with the Schur complement

    S = Z'Z - C' diag(1 / n_unit) C,   Z = dummies of the other effects, C = unit x level
    incidence (``Z'Z`` is diagonal, the level counts, with a single other effect).

With few levels in all (``m <= _EXACT_LIMIT``, e.g. 50 periods) ``S`` is built
densely and solved by a pseudo-inverse: exact, no iteration.  With more (periods
and region x year) ``S g = b`` is solved by conjugate gradients preconditioned by
``diag(S)``, each step two passes over the rows; a fixed effect that another one
refines (year, given region x year) or that is constant within units adds no
column to the span and is left out of ``S``.  Either way every column is handled
in the same passes (:mod:`evaluate.estimators.did._fe_kernels`).
"""

from __future__ import annotations

import warnings
from functools import cache

import numpy as np
from threadpoolctl import ThreadpoolController

from evaluate.estimators.did._fe_kernels import (
    cross_counts,
    demean_and_project,
    group_sums,
    incidence_times,
    nested_in,
    project_back,
    remove_fitted,
    schur_diagonal,
    subtract_effects,
    sums_and_incidence,
    weighted_incidence_gram,
)

_EXACT_LIMIT = 500  # largest number of non-absorbed levels solved densely
_CG_TOL = 1e-13  # relative residual norm at which conjugate gradients stop
_CG_MAX_ITER = 5_000


def absorb(
    fes: list[tuple[np.ndarray, int]], x: np.ndarray, exact_limit: int | None = None
) -> np.ndarray:
    """Columns of ``x`` (n, q) minus their projection on the fixed effects ``fes``
    (each ``(codes 0..L-1, L)``); returns a new (n, q) array in ``x``'s memory order
    (C or Fortran: a Fortran ``x`` gives contiguous columns)."""
    limit = _EXACT_LIMIT if exact_limit is None else exact_limit
    x = np.asarray(x, dtype=float)
    if not (x.flags.c_contiguous or x.flags.f_contiguous):
        x = np.ascontiguousarray(x)
    order = sorted(range(len(fes)), key=lambda j: -fes[j][1])
    big, n_big = fes[order[0]]
    others = _spanning(big, n_big, [fes[j] for j in order[1:]])
    out = np.empty_like(x)
    if others:
        if len(others) == 1:
            other = others[0][0][:, None]  # a view, no copy
        else:
            offsets = np.cumsum([0] + [lv for _, lv in others[:-1]])
            other = np.empty((len(big), len(others)), dtype=np.intp)
            for k, ((codes, _), off) in enumerate(zip(others, offsets, strict=True)):
                np.add(codes, off, out=other[:, k])
        m = sum(lv for _, lv in others)
        if m <= limit and n_big * m <= max(2 * len(big), 1 << 22):
            return _absorb_dense(big, n_big, other, m, x, out)
    big_counts = np.bincount(big, minlength=n_big).astype(float)
    unit_mean = group_sums(big, x, n_big) / big_counts[:, None]
    if not others:
        demean_and_project(big, np.zeros((len(big), 0), np.intp), x, unit_mean, out, 0)
        return out
    level_counts = np.concatenate([np.bincount(c, minlength=lv) for c, lv in others]).astype(float)
    b = demean_and_project(big, other, x, unit_mean, out, m)
    # Rounding leaves ~1e-16 ||x|| in b (a column constant within units has
    # nothing else): a hundred times that is solved enough.
    floor = 1e-14 * np.sqrt(np.einsum("ij,ij->j", x, x))  # column norms, no n x q temporary
    gamma = _cg_solve(big, n_big, big_counts, other, m, level_counts, b, floor)
    gamma_mean = incidence_times(big, other, gamma, n_big) / big_counts[:, None]
    remove_fitted(big, other, gamma, gamma_mean, out)
    return out


def _absorb_dense(big, n_big, other, m, x, out) -> np.ndarray:
    """The exact path in two passes over the rows: sums by unit and by level and the
    dense unit x level incidence ``C`` in one, the residuals in the other; between
    them only small products (``C' means``, ``C gamma``) and the ``m x m`` solve."""
    c = np.zeros((n_big, m))
    unit_sums, level_sums, big_counts, level_counts, shift = sums_and_incidence(
        big, other, x, n_big, m, c
    )
    unit_mean = unit_sums / big_counts[:, None]
    # Skinny products: BLAS threads only add overhead, and under load (the data
    # hash runs in a thread beside the fit) their spin-waits cost seconds.
    with one_blas_thread():
        b = level_sums - c.T @ unit_mean  # Z' M_U x, with x shifted by its first row
        gamma = _dense_pinv(c, big_counts, other, m, level_counts) @ b
        unit_part = unit_mean - (c @ gamma) / big_counts[:, None]
    del c
    subtract_effects(big, other, x, shift, unit_part, gamma, out)
    return out


@cache
def _controller() -> ThreadpoolController:
    return ThreadpoolController()  # scans the loaded libraries once, not per call


def one_blas_thread():
    """Context limiting BLAS to one thread, for skinny products (n x k, k small):
    threads only add overhead there, and under load their spin-waits cost seconds.
    A cached controller makes entering it ~0.03 ms instead of ~4 ms."""
    return _controller().limit(limits=1, user_api="blas")


def _spanning(
    big: np.ndarray, n_big: int, others: list[tuple[np.ndarray, int]]
) -> list[tuple[np.ndarray, int]]:
    """The fixed effects that add columns to the span of ``big`` and each other:
    drop one constant within ``big``'s levels, or refined by another one kept."""
    kept = [fe for fe in others if not nested_in(big, fe[0], n_big)]
    j = 0
    while j < len(kept):
        codes, _ = kept[j]
        if any(nested_in(a, codes, lv) for i, (a, lv) in enumerate(kept) if i != j):
            del kept[j]
        else:
            j += 1
    return kept


def _dense_pinv(c, big_counts, other, m, level_counts) -> np.ndarray:
    """Pseudo-inverse of the dense Schur complement ``S = Z'Z - C' diag(1/n) C`` (m x m)."""
    gram = np.diag(level_counts) if other.shape[1] == 1 else cross_counts(other, m)
    gram -= weighted_incidence_gram(c, big_counts)
    # Singular (one redundant level per connected set): pseudo-inverse with a
    # tolerance well above rounding noise, which is ~1e-12 relative here.
    vals, vecs = np.linalg.eigh(gram)
    keep = vals > 1e-9 * vals.max()
    return (vecs[:, keep] / vals[keep]) @ vecs[:, keep].T


def _cg_solve(big, n_big, big_counts, other, m, level_counts, b, floor) -> np.ndarray:
    """Solve ``S g = b`` column by column (shared passes) by Jacobi-preconditioned CG.

    ``S`` is singular (redundant levels) but ``b`` lies in its range, so CG from
    zero converges to a solution; any null-space part of ``g`` is constant within
    units and drops out when the fitted values are demeaned by unit.
    """

    def times_s(p: np.ndarray) -> np.ndarray:
        z = incidence_times(big, other, p, n_big) / big_counts[:, None]
        return project_back(big, other, p, z, m)

    diag = schur_diagonal(big, other, big_counts, m)
    inv_diag = 1.0 / np.where(diag > 1e-9 * level_counts, diag, np.maximum(level_counts, 1.0))
    g = np.zeros_like(b)
    r = b.copy()
    target = np.maximum(_CG_TOL * np.sqrt((b * b).sum(axis=0)), floor)
    active = np.sqrt((b * b).sum(axis=0)) > target
    z = r * inv_diag[:, None]
    p = z.copy()
    rz = (r * z).sum(axis=0)
    for _ in range(_CG_MAX_ITER):
        if not active.any():
            return g
        sp = times_s(p)
        psp = (p * sp).sum(axis=0)
        alpha = np.where(active & (psp > 0), rz / np.where(psp > 0, psp, 1.0), 0.0)
        g += alpha * p
        r -= alpha * sp
        active &= np.sqrt((r * r).sum(axis=0)) > target
        z = r * inv_diag[:, None]
        rz_new = (r * z).sum(axis=0)
        beta = np.where(active, rz_new / np.where(rz > 0, rz, 1.0), 0.0)
        p = np.where(active, z + beta * p, 0.0)
        rz = rz_new
    warnings.warn(
        f"Absorbing the fixed effects did not converge in {_CG_MAX_ITER} conjugate-gradient "
        "steps; the estimates may be inaccurate.",
        RuntimeWarning,
        stacklevel=3,
    )
    return g


__all__ = ["absorb", "one_blas_thread"]
