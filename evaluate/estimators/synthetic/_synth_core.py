"""Numerical core of the synthetic control: simplex weights and the nested V search.

Kept apart from :mod:`evaluate.estimators.synthetic.synth` (the front door and the result)
because placebo, leave-one-out and placebo-in-time loops call it hundreds of
times: everything here works on plain NumPy arrays and is pure.

The inner problem, for a fixed diagonal ``V``, is a least-squares problem on the
unit simplex,

    min_w (x1 - X0 w)' V (x1 - X0 w)   subject to  w >= 0, sum(w) = 1,

solved exactly by a primal active-set method (Lawson-Hanson adapted to the
simplex): it ends at a point that satisfies the KKT conditions to rounding
error, in a few small linear solves (compiled by numba in
:mod:`evaluate.estimators.synthetic._synth_kernel`, with the gradient of the outer loss).
The outer problem chooses ``V`` to minimise the mean squared pre-period outcome
gap; it is not convex, so it is started from several points (equal weights, a
regression-based ``V`` and random draws) and the best loss is kept.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import minimize

from evaluate.estimators.synthetic import _synth_kernel as kernel


def simplex_least_squares(
    gram: np.ndarray, cross: np.ndarray, start: np.ndarray | None = None
) -> np.ndarray:
    """Minimise ``w' gram w - 2 cross' w`` over the unit simplex (exact active set).

    ``gram = A'A`` and ``cross = A'b`` for the least-squares form ``||A w - b||^2``.
    ``start`` is any point of the simplex (say, the solution at a neighbouring
    ``V``); the search starts on its support, which is what makes the nested V
    search fast: neighbouring ``V`` usually share the support, and then one small
    linear solve confirms the optimum.  The result satisfies the KKT conditions
    (gradient equal on the support, not smaller off it) up to rounding.
    """
    gram = np.ascontiguousarray(gram, dtype=float)
    cross = np.ascontiguousarray(cross, dtype=float)
    w = np.zeros(cross.shape[0]) if start is None else np.array(start, dtype=float)
    return kernel.simplex_ls(gram, cross, w)


@dataclass(frozen=True)
class VFit:
    """Outcome of the nested V search for one treated unit."""

    weights: np.ndarray  # donor weights, on the simplex
    v: np.ndarray  # predictor importances, sum to one
    loss: float  # mean squared pre-period outcome gap (fit window) at the optimum
    starts: tuple[tuple[str, float], ...]  # (start label, loss reached) per start


def scale_predictors(x1: np.ndarray, x0: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Divide each predictor by its standard deviation over all units (as R ``Synth``)."""
    allx = np.column_stack([x1, x0])
    sd = allx.std(axis=1, ddof=1)
    sd = np.where(sd > 0, sd, 1.0)
    return x1 / sd, x0 / sd[:, None]


class _Nested:
    """Closure over one problem: the outer loss as a function of V.

    The inner solve (compiled, :mod:`evaluate.estimators.synthetic._synth_kernel`) is
    warm-started from the previous solution during the search; where the inner
    problem has several minimisers (the treated unit inside the donors' hull in
    predictor space) the pick can depend on that path, so final losses are always
    recomputed from a cold start (a deterministic function of V).
    """

    def __init__(self, x1, x0, z1, z0):
        self.x1 = np.ascontiguousarray(x1, dtype=float)
        self.x0 = np.ascontiguousarray(x0, dtype=float)
        self.x0t = np.ascontiguousarray(self.x0.T)
        self.z1 = np.ascontiguousarray(z1, dtype=float)
        self.z0 = np.ascontiguousarray(z0, dtype=float)
        self.cold = np.zeros(self.x0.shape[1])
        self.last = self.cold

    def reset(self) -> None:
        self.last = self.cold

    def _args(self, v: np.ndarray) -> tuple:
        return (np.asarray(v, dtype=float), self.x0t, self.x0, self.x1, self.z0, self.z1)

    def weights(self, v: np.ndarray) -> np.ndarray:
        w = kernel.outer_loss(*self._args(v), self.last)[1]
        self.last = w
        return w

    def cold_loss(self, v: np.ndarray) -> tuple[float, np.ndarray]:
        loss, w = kernel.outer_loss(*self._args(v), self.cold)
        self.last = w
        return float(loss), w

    def loss_w(self, w: np.ndarray) -> float:
        gap = self.z1 - self.z0 @ w
        return float(gap @ gap) / gap.shape[0]

    def loss(self, theta: np.ndarray) -> float:
        loss, self.last = kernel.outer_loss(*self._args(_to_v(theta)), self.last)
        return float(loss)

    def loss_grad(self, v: np.ndarray) -> tuple[float, np.ndarray]:
        """Outer loss and its gradient in ``v`` (implicit differentiation of the KKT
        system on the current support; the loss is smooth while the support holds)."""
        if not v.sum() > 0:
            return 1e300, np.zeros_like(v)
        loss, grad, self.last = kernel.outer_loss_grad(*self._args(v), self.last)
        return float(loss), grad


def _to_v(theta: np.ndarray) -> np.ndarray:
    a = np.abs(theta)
    total = a.sum()
    return a / total if total > 0 else np.full(a.shape, 1.0 / a.shape[0])


def regression_v(x1: np.ndarray, x0: np.ndarray, z1: np.ndarray, z0: np.ndarray) -> np.ndarray:
    """Regression-based V (as Stata ``synth``): squared coefficients of the fit-window
    outcomes regressed on the (scaled) predictors over all units, summed over periods."""
    x = np.column_stack([x1, x0]).T  # units x predictors
    z = np.column_stack([z1, z0]).T  # units x periods
    design = np.column_stack([np.ones(x.shape[0]), x])
    beta = np.linalg.lstsq(design, z, rcond=None)[0][1:]
    v = (beta**2).sum(axis=1)
    if not np.all(np.isfinite(v)) or v.sum() <= 0:
        return np.full(x1.shape[0], 1.0 / x1.shape[0])
    return v / v.sum()


def fit_weights(
    x1: np.ndarray,
    x0: np.ndarray,
    z1: np.ndarray,
    z0: np.ndarray,
    *,
    v_method: str,
    n_starts: int,
    rng: np.random.Generator,
    n_polish: int = 2,
    polish_evals: int = 150,
    first_starts: tuple[tuple[str, np.ndarray], ...] = (),
) -> VFit:
    """Donor weights for one treated unit.

    ``x1`` (k), ``x0`` (k x J): predictors; ``z1`` (T), ``z0`` (T x J): fit-window
    outcomes.  ``v_method`` is "nested", "equal" or "outcome-only".  ``first_starts``
    come before the standard starts (and count towards ``n_starts``); ``n_polish``
    best runs get ``polish_evals * k`` Nelder-Mead evaluations.
    """
    if v_method == "outcome-only":
        w = simplex_least_squares(z0.T @ z0, z0.T @ z1)
        gap = z1 - z0 @ w
        loss = float(gap @ gap) / gap.shape[0]
        return VFit(w, np.full(z1.shape[0], 1.0 / z1.shape[0]), loss, (("outcome-only", loss),))
    x1s, x0s = scale_predictors(x1, x0)
    problem = _Nested(x1s, x0s, z1, z0)
    k = x1.shape[0]
    equal = np.full(k, 1.0 / k)
    if v_method == "equal" or k == 1:
        w = problem.weights(equal)
        loss = problem.loss_w(w)
        return VFit(w, equal, loss, (("equal", loss),))

    starts: list[tuple[str, np.ndarray]] = [
        *first_starts,
        ("equal", equal),
        ("regression", regression_v(x1s, x0s, z1, z0)),
    ]
    # Then each predictor in turn given most of the weight (the optimum often puts
    # nearly all of V on one or two predictors), then random draws.
    for m in range(k):
        starts.append((f"mostly predictor {m + 1}", 0.1 / k + 0.9 * np.eye(k)[m]))
    for i in range(max(n_starts - 2 - k, 0)):
        starts.append((f"random {i + 1}", rng.dirichlet(np.ones(k))))
    starts = starts[: max(n_starts, 1)]

    box = [(0.0, 1.0)] * k
    runs: list[tuple[float, np.ndarray, str]] = []
    for label, v0 in starts:
        problem.reset()
        # Quasi-Newton with the exact gradient: fast, but it can stall where the
        # support of w changes (the loss has kinks there) ...
        res = minimize(
            problem.loss_grad,
            v0,
            jac=True,
            method="L-BFGS-B",
            bounds=box,
            options={"maxiter": 200},
        )
        v = _to_v(res.x)
        runs.append((problem.cold_loss(v)[0], v, label))
    runs.sort(key=lambda r: r[0])
    reached = [(label, loss) for loss, _, label in runs]
    best_loss, best_v, _ = runs[0]
    for loss, v0, label in runs[:n_polish]:
        # ... so the best runs are polished by Nelder-Mead (which steps over kinks,
        # as R Synth's default) and a final quasi-Newton step.
        problem.reset()
        res = minimize(
            problem.loss,
            v0,
            method="Nelder-Mead",
            options={"maxfev": polish_evals * k, "xatol": 1e-8, "fatol": 1e-12, "adaptive": True},
        )
        v1 = _to_v(res.x)
        problem.reset()
        res = minimize(
            problem.loss_grad,
            v1,
            jac=True,
            method="L-BFGS-B",
            bounds=box,
            options={"maxiter": 200},
        )
        polished = loss
        for cand in (v1, _to_v(res.x)):
            cand_loss = problem.cold_loss(cand)[0]
            polished = min(polished, cand_loss)
            if cand_loss < best_loss:
                best_loss, best_v = cand_loss, cand
        reached.append((f"{label} + polish", polished))
    loss, w = problem.cold_loss(best_v)
    return VFit(w, best_v, loss, tuple(reached))
