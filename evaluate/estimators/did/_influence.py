"""Influence functions of Callaway-Sant'Anna group-time effects, kept compact.

Every analytic standard error, covariance and Wald test of the ATT(g,t) and of
their aggregations is a quadratic form in one ``(K + C) x (K + C)`` matrix: the
Gram matrix of the ``n x K`` influence function next to the ``n x C`` (weighted)
cohort indicators, which carry the influence of the estimated cohort shares
(R ``did``'s ``wif``).  With it in hand, an aggregation ``IF @ W + w * alpha[cohort]``
has covariance ``M' G M / n^2`` with ``M = [W; alpha]``; no ``n x P`` matrix is
formed, only the one ``n``-vector of each overall estimate.

Two shapes of influence function are held:

* :class:`DenseInfluence`, an ``n x K`` array (covariate cells, repeated
  cross-sections, unbalanced panels);
* :class:`CohortAffineInfluence`, for the balanced panel without covariates, where
  a unit's influence on every cell is affine in its outcomes ``y_i`` (``T``
  periods) with coefficients shared by its cohort:
  ``IF_i = w_i (y_i A_c + a_c)``.  Its Gram matrix comes from each cohort's
  centred second moments of ``y`` (``T x T``), so the cost is one pass over the
  ``n x T`` outcomes instead of several over ``n x K`` (``K`` is about three
  times ``T``), and the dense array is built only for the bootstrap.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Protocol

import numpy as np
from threadpoolctl import threadpool_limits

if TYPE_CHECKING:
    from collections.abc import Iterator


class _Cells(Protocol):
    """What :func:`difference_in_means` reads of ``_staggered_prepare._Cells`` (not
    imported: that module sits above this one)."""

    t_idx: np.ndarray
    b_idx: np.ndarray
    g_code: np.ndarray
    control: np.ndarray
    reference: np.ndarray


@dataclass(frozen=True, eq=False)
class DenseInfluence:
    """``n x K`` influence function as an array (R's ``inffunc``)."""

    matrix: np.ndarray  # n x K
    cohort_index: np.ndarray  # n
    n_cohorts: int
    unit_weights: np.ndarray | None = None

    def combine(self, weights: np.ndarray, alpha: np.ndarray) -> np.ndarray:
        """``IF @ weights + w * alpha[cohort]`` (``n x P``)."""
        out = self.matrix @ weights
        extra = alpha[self.cohort_index]
        if self.unit_weights is not None:
            extra *= self.unit_weights[:, None]
        return out + extra

    @cached_property
    def gram(self) -> np.ndarray:
        """``[IF, D]' [IF, D]`` with ``D_ic = w_i 1{cohort_i = c}``."""
        k, c = self.matrix.shape[1], self.n_cohorts
        w = np.ones(len(self.cohort_index)) if self.unit_weights is None else self.unit_weights
        onehot = np.zeros((len(w), c))
        onehot[np.arange(len(w)), self.cohort_index] = w
        out = np.empty((k + c, k + c))
        out[:k, :k] = self.matrix.T @ self.matrix
        out[k:, :k] = onehot.T @ self.matrix
        out[:k, k:] = out[k:, :k].T
        out[k:, k:] = np.diag(np.bincount(self.cohort_index, weights=w * w, minlength=c))
        return out


@dataclass(frozen=True, eq=False)
class CohortAffineInfluence:
    """``IF_i = w_i (y_i @ slope[c_i] + offset[c_i])``, rows sorted by cohort.

    ``slope`` is ``C x T x K`` and ``offset`` ``C x K``; ``starts`` (``C + 1``) bound
    each cohort's rows of ``y``.
    """

    y: np.ndarray  # n x T
    slope: np.ndarray  # C x T x K
    offset: np.ndarray  # C x K
    starts: np.ndarray  # C + 1
    unit_weights: np.ndarray | None = None

    def _blocks(self) -> Iterator[tuple[int, slice, np.ndarray | None]]:
        for c in range(len(self.starts) - 1):
            rows = slice(self.starts[c], self.starts[c + 1])
            w = None if self.unit_weights is None else self.unit_weights[rows]
            yield c, rows, w

    @property
    def matrix(self) -> np.ndarray:
        """The dense ``n x K`` array (built on demand: the bootstrap needs it)."""
        k = self.slope.shape[2]
        return self.combine(np.eye(k), np.zeros((len(self.starts) - 1, k)))

    def combine(self, weights: np.ndarray, alpha: np.ndarray) -> np.ndarray:
        """``IF @ weights + w * alpha[cohort]`` (``n x P``), cohort by cohort."""
        out = np.empty((self.y.shape[0], weights.shape[1]))
        with threadpool_limits(limits=1):  # skinny products: BLAS threads only add overhead
            for c, rows, w in self._blocks():
                block = self.y[rows] @ (self.slope[c] @ weights)
                block += self.offset[c] @ weights + alpha[c]
                out[rows] = block if w is None else block * w[:, None]
        return out

    @cached_property
    def gram(self) -> np.ndarray:
        """``[IF, D]' [IF, D]`` from each cohort's centred moments of ``y``.

        Within cohort ``c`` write ``y_i = m + u_i`` (``m`` the cohort mean, for
        accuracy), so ``IF_i = w_i (u_i A + b)`` with ``b = m A + a``.  With
        ``v_i = w_i^2``: ``sum IF'IF = A' (sum v u'u) A + A' (sum v u)' b + b' (sum v u) A
        + (sum v) b'b``, and the cohort-indicator column gives ``(sum v u) A + (sum v) b``.
        """
        n_c, _, k = self.slope.shape
        out = np.zeros((k + n_c, k + n_c))
        with threadpool_limits(limits=1):
            self._add_moments(out)
        return out

    def _add_moments(self, out: np.ndarray) -> None:
        n_c, _, k = self.slope.shape
        for c, rows, w in self._blocks():
            y = self.y[rows]
            if y.shape[0] == 0:
                continue
            a = self.slope[c]
            u = y - y.mean(axis=0)
            b = y.mean(axis=0) @ a + self.offset[c]
            if w is None:
                uu, su, sv = u.T @ u, u.sum(axis=0), float(y.shape[0])
            else:
                v = w * w
                uu, su, sv = (u * v[:, None]).T @ u, v @ u, float(v.sum())
            su_a = su @ a
            cross = np.outer(su_a, b)
            out[:k, :k] += a.T @ uu @ a + cross + cross.T + sv * np.outer(b, b)
            out[k + c, :k] = su_a + sv * b
            out[:k, k + c] = out[k + c, :k]
            out[k + c, k + c] = sv


Influence = DenseInfluence | CohortAffineInfluence


def difference_in_means(
    y: np.ndarray, cohort_index: np.ndarray, cells: _Cells, w: np.ndarray | None = None
) -> tuple[np.ndarray, CohortAffineInfluence]:
    """Every ATT(g,t) of a balanced panel without covariates, and its influence function.

    ATT = mean change of the cohort - mean change of the controls, from cohort sums
    of ``y`` (``C x T``).  The influence function is ``n/n_g (dY - m_g)`` for the
    cohort's units, ``-n/n_C (dY - m_C)`` for the controls and 0 otherwise:
    DRDID's IF with an intercept only (dr, ipw and reg coincide), rescaled by
    ``n/n1`` as in R did.  With weights ``w`` the means are weighted and a unit's IF
    is ``n w_i / W_g (dY - m_g)`` (DRDID's ``reg_did_panel`` with ``i.weights``;
    ``W_g`` the cohort's weight).  ``dY = y_t - y_b`` is linear in ``y``, so the IF is
    returned as a :class:`CohortAffineInfluence`; rows of ``y`` sorted by cohort.
    """
    n, n_t = y.shape
    n_c, n_k = cells.control.shape
    starts = np.searchsorted(cohort_index, np.arange(n_c + 1))
    if w is None:
        counts = np.diff(starts).astype(float)
        sums_y = np.add.reduceat(y, starts[:-1], axis=0)  # C x T
    else:
        counts = np.add.reduceat(w, starts[:-1])
        sums_y = np.add.reduceat(y * w[:, None], starts[:-1], axis=0)
    sums = sums_y[:, cells.t_idx] - sums_y[:, cells.b_idx]  # C x K
    k = np.arange(n_k)
    n_g = counts[cells.g_code]
    mean_g = sums[cells.g_code, k] / n_g
    ctrl = cells.control.astype(float)
    n_ctrl = counts @ ctrl
    mean_c = np.einsum("ck,ck->k", sums, ctrl) / n_ctrl
    treated = np.arange(n_c)[:, None] == cells.g_code[None, :]  # C x K
    shift = np.where(treated, mean_g, mean_c)
    scale = np.where(treated, n / n_g, np.where(cells.control, -n / n_ctrl, 0.0))
    scale[:, cells.reference] = 0.0  # cells fixed at 0 (universal base period, t = base)
    slope = np.zeros((n_c, n_t, n_k))
    slope[:, cells.t_idx, k] += scale
    slope[:, cells.b_idx, k] -= scale
    influence = CohortAffineInfluence(y, slope, -scale * shift, starts, w)
    return mean_g - mean_c, influence


__all__ = ["CohortAffineInfluence", "DenseInfluence", "Influence", "difference_in_means"]
