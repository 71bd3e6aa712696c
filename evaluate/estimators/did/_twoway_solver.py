"""Normal equations of a two-way fixed-effects design, solved without an N x N system.

Used by the imputation estimator (:mod:`evaluate.estimators.did.imputation`) for its
first stage on the untreated rows and for the implied weights of those rows.
"""

from __future__ import annotations

import numpy as np
from scipy import sparse


class TwoWaySolver:
    """Minimum-norm solutions of the normal equations ``(Z'WZ) g = c`` of a two-way
    fixed-effects design ``Z = [unit dummies, period dummies]`` on given rows, with
    row weights ``W`` (analytic weights; ones when ``weights`` is None).

    Eliminates the unit block (diagonal) and solves the small ``T x T`` Schur
    complement by an eigen-decomposition, so no ``N x N`` system is formed.  Fitted
    values ``g_unit[i] + g_time[t]`` are unique whenever ``c`` lies in the column
    space of ``Z'``, which holds when the rows connect all units and periods.
    The right-hand side is the caller's: for weighted least squares of ``y`` pass
    ``sums(weights * y)``.
    """

    def __init__(
        self,
        unit: np.ndarray,
        time: np.ndarray,
        n_units: int,
        n_times: int,
        weights: np.ndarray | None = None,
    ):
        self.unit, self.time = unit, time
        self.n_units, self.n_times = n_units, n_times
        w = np.ones(len(unit)) if weights is None else np.asarray(weights, dtype=float)
        self.unit_counts = np.bincount(unit, w, minlength=n_units)  # weighted counts
        time_counts = np.bincount(time, w, minlength=n_times)
        self.incidence = sparse.csr_matrix((w, (unit, time)), shape=(n_units, n_times))
        schur = (
            np.diag(time_counts)
            - (self.incidence.T @ sparse.diags(1.0 / self.unit_counts) @ self.incidence).toarray()
        )
        vals, vecs = np.linalg.eigh(schur)
        # One zero eigenvalue (the common level of unit and period effects) per
        # connected set of units and periods; more than one means that some
        # effects are compared across groups that share no untreated data.
        # (Weights are scaled to mean 1 by the caller, so the floor of 1 keeps its
        # meaning.)
        keep = vals > 1e-9 * max(vals.max(), 1.0)
        self.n_components = int(n_times - keep.sum())
        self.schur_pinv = (vecs[:, keep] / vals[keep]) @ vecs[:, keep].T

    def sums(
        self, values: np.ndarray, unit: np.ndarray | None = None, time: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """``Z'values`` split into unit and period parts (``values`` is (n,) or (n, m)).

        ``Z`` is the design of the solver's rows, or of the rows with codes
        ``unit, time`` when given (e.g. the treated observations).  No weights are
        applied here.
        """
        unit = self.unit if unit is None else unit
        time = self.time if time is None else time
        v = values.reshape(len(values), -1)
        cu = np.stack([np.bincount(unit, v[:, j], self.n_units) for j in range(v.shape[1])], 1)
        ct = np.stack([np.bincount(time, v[:, j], self.n_times) for j in range(v.shape[1])], 1)
        return cu, ct

    def solve(self, cu: np.ndarray, ct: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Unit and period parts of ``g`` with ``(Z'WZ) g = (cu, ct)``."""
        g_time = self.schur_pinv @ (ct - self.incidence.T @ (cu / self.unit_counts[:, None]))
        g_unit = (cu - self.incidence @ g_time) / self.unit_counts[:, None]
        return g_unit, g_time


__all__ = ["TwoWaySolver"]
