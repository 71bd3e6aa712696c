"""What a TWFE coefficient averages: de Chaisemartin-D'Haultfœuille weights and the
Goodman-Bacon decomposition.

With ``Y_it = a_i + l_t + b D_it + e`` and binary ``D``, the TWFE coefficient is
``b = sum_it eps_it Y_it / sum_it eps_it D_it`` with ``eps`` the residual of ``D`` on
the unit and period effects (FWL).  If ``Y_it(0)`` follows parallel trends,

    E[b] = sum_{(g,t) treated} w_gt ATT_gt,   w_gt = sum_{i in g} eps_it / sum_{D_it=1} eps_it

(de Chaisemartin & D'Haultfœuille 2020, Theorem 1): weights that sum to 1 but may
be negative, so that ``b`` can have the opposite sign of every ``ATT_gt``.  Cells are
cohort (first treated period) x period; in a balanced panel ``eps`` is constant
within a cell, so ``w_gt = N_gt eps_gt / sum N_gt eps_gt``.

Goodman-Bacon (2021, Theorem 1): in a balanced panel with absorbing treatment, ``b``
is a weighted average of all 2x2 DiDs between timing groups, with weights
``s ∝ n_k n_l (D_k - D_l)(1 - D_k)`` (earlier group ``k`` treated, later group
``l`` as control, before ``l`` adopts) and ``s ∝ n_k n_l (D_k - D_l) D_l`` (later
group treated, the already-treated ``k`` as control), ``n`` group shares and ``D``
the share of periods a group is treated.  Never-treated (``D = 0``) and
always-treated (``D = 1``) groups enter as ``l`` and ``k`` with one term each.
The weights sum to 1 and the weighted sum of the 2x2 estimates is ``b`` exactly.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

import numpy as np
import pandas as pd

from evaluate.data.validate import check_columns, check_frame, check_numeric, drop_missing
from evaluate.effect import Diagnostic, NotApplicable
from evaluate.errors import DataError, DesignError, NegativeWeightsWarning
from evaluate.estimators.did._fe_kernels import treated_cell_sums, treatment_timing
from evaluate.estimators.did._within import PanelIndex, panel_index, within
from evaluate.text import Num, Text

if TYPE_CHECKING:
    from matplotlib.axes import Axes


# --------------------------------------------------------------------------- dCDH weights
@dataclass(frozen=True, eq=False)
class TWFEWeights:
    """de Chaisemartin-D'Haultfœuille weights of a TWFE coefficient.

    ``cells`` has one row per treated cell: ``cohort`` (first treated period, or the
    unit for a treatment that switches off), ``time``, ``n_obs``, ``weight`` (sums to
    1) and ``weight_per_obs`` (dCDH's ``w_gt``, ``weight * N_1 / N_gt``, mean 1).
    ``sigma_fe`` is dCDH's robustness measure: the smallest standard deviation of
    cell effects under which the ATT on the treated could be 0 (or of the opposite
    sign) while the TWFE coefficient is what it is (``|b| / sd(w)``).
    """

    cells: pd.DataFrame
    n_negative: int
    sum_negative: float
    sigma_fe: float

    @property
    def n_cells(self) -> int:
        return len(self.cells)

    def summary(self) -> str:
        return (
            f"{self.n_negative} of {self.n_cells} treated cells get negative weight "
            f"(sum of negative weights {self.sum_negative:.4g}); sigma_fe = {self.sigma_fe:.4g}"
        )

    def plot(self, ax: Axes | None = None) -> Axes:
        """Weight of each treated cell against its period, one line per cohort."""
        from evaluate.plotting import _axes

        ax = _axes(ax)
        for cohort, block in self.cells.groupby("cohort", sort=True):
            ax.plot(block["time"], block["weight"], marker="o", label=f"cohort {cohort}")
        ax.axhline(0.0, color="0.4", linewidth=0.8, linestyle="--")
        ax.set_xlabel("period")
        ax.set_ylabel("weight in the TWFE coefficient")
        ax.set_title("TWFE weights on treated cells (de Chaisemartin-D'Haultfœuille)")
        ax.legend(frameon=False, fontsize="small")
        return ax


def _treatment_residual(
    index: PanelIndex,
    d: np.ndarray,
    covariates: np.ndarray | None,
    tilde: np.ndarray | None = None,
) -> np.ndarray:
    """Residual of ``D`` on unit and period effects (and covariates, by FWL).

    ``tilde``: the within-transformed ``[D, covariates]`` when the caller has them.
    """
    cols = [d] if covariates is None else [d, *covariates.T]
    if tilde is None:
        tilde = within(index, cols)
    eps = tilde[:, 0]
    if covariates is not None and covariates.shape[1]:
        x = tilde[:, 1:]
        eps = eps - x @ np.linalg.lstsq(x, eps, rcond=None)[0]
    return eps


def _cohorts(index: PanelIndex, first: np.ndarray, times: np.ndarray) -> np.ndarray:
    """Each row's cohort: the first treated period of its unit (nan if never)."""
    n_t = index.n_times
    cohort = np.where(first < n_t, times[np.minimum(first, n_t - 1)], np.nan)
    return cohort[index.unit]


def _cells(index: PanelIndex, first: np.ndarray, eps: np.ndarray, d: np.ndarray, times):
    """Treated cohort x period cells (absorbing treatment, cohorts from the data):
    counts and sums of ``eps`` in one compiled pass, as the group-by would give them;
    and the number of treated rows and their sum of ``eps``."""
    n_t = index.n_times
    n_obs, eps_sum, n1, denom = treated_cell_sums(index.unit, index.time, d, first, eps, n_t)
    cell = np.flatnonzero(n_obs)
    cells = pd.DataFrame(
        {
            "cohort": times[cell // n_t].astype(float),
            "time": times[cell % n_t],
            "n_obs": n_obs[cell],
            "eps_sum": eps_sum[cell],
        }
    )
    return cells, n1, denom


def _weights_from_arrays(
    index: PanelIndex,
    d: np.ndarray,
    times: np.ndarray,
    unit_labels: np.ndarray,
    covariates: np.ndarray | None = None,
    cohort: np.ndarray | None = None,
    tilde: np.ndarray | None = None,
    timing: tuple[np.ndarray, bool] | None = None,
) -> TWFEWeights:
    """The weights from the panel's arrays; ``timing``: ``treatment_timing``'s first
    treated period per unit and whether treatment switches off, when the caller has
    them (it has then checked that ``d`` is 0/1)."""
    if timing is None:
        if not ((d == 0.0) | (d == 1.0)).all():
            raise DataError("The treatment must be binary (0/1) for the TWFE weights.")
        timing = treatment_timing(index.unit, index.time, d, index.n_units, index.n_times)
    first, switches = timing
    eps = _treatment_residual(index, d, covariates, tilde)
    absorbing = not switches
    if absorbing and cohort is None and index.n_times <= 3000:
        cells, n1, denom = _cells(index, first, eps, d, times)
    else:
        on = d == 1
        n1, denom = int(on.sum()), float(eps[on].sum())
        if cohort is None:
            cohort = _cohorts(index, first, times)
        key = cohort[on] if absorbing else unit_labels[index.unit[on]]
        cells = (
            pd.DataFrame({"cohort": key, "time": times[index.time[on]], "eps": eps[on]})
            .groupby(["cohort", "time"], sort=True)
            .agg(n_obs=("eps", "size"), eps_sum=("eps", "sum"))
            .reset_index()
        )
    if not n1 or abs(denom) < 1e-12 * n1:
        raise DesignError(
            "The treatment has no variation left after removing unit and period effects."
        )
    cells["weight"] = cells["eps_sum"] / denom
    cells["weight_per_obs"] = cells["weight"] * n1 / cells["n_obs"]
    if absorbing:
        cells["event_time"] = cells["time"] - cells["cohort"]
    cells = cells.drop(columns="eps_sum")
    for col in ("cohort", "time", "event_time"):
        if col in cells and pd.api.types.is_float_dtype(cells[col]):
            if np.all(cells[col] == np.round(cells[col])):
                cells[col] = cells[col].astype(np.int64)
    # sigma_fe = |b| / sd(w) (dCDH 2020, Corollary 1); without an outcome it is
    # reported per unit of |b| (twfe_weights scales it when given the outcome).
    share = cells["n_obs"] / n1
    sd_w = math.sqrt(float((share * (cells["weight_per_obs"] - 1.0) ** 2).sum()))
    negative = cells["weight"] < 0
    return TWFEWeights(
        cells=cells,
        n_negative=int(negative.sum()),
        sum_negative=float(cells.loc[negative, "weight"].sum()),
        sigma_fe=math.inf if sd_w < 1e-12 else 1.0 / sd_w,  # rounding-level sd = 0
    )


def twfe_weights(
    data: pd.DataFrame,
    *,
    unit: str,
    time: str,
    treatment: str,
    outcome: str | None = None,
    cohort: str | None = None,
) -> TWFEWeights:
    """de Chaisemartin-D'Haultfœuille weights of the TWFE coefficient on treated cells.

    Parameters
    ----------
    data : long panel, one row per unit and period (never modified).
    unit, time, treatment : column names; ``treatment`` is 0/1.
    outcome : if given, ``sigma_fe`` is scaled by the TWFE coefficient of this
        outcome (dCDH's measure); otherwise it is reported per unit of ``|b|``.
    cohort : column with each unit's adoption period, defining the cells; by default
        the first period in which a unit is observed treated (which, in an
        unbalanced panel, may be later than its true adoption).

    Examples
    --------
    >>> from evaluate.datasets import mpdta
    >>> w = twfe_weights(mpdta(), unit="countyreal", time="year", treatment="post_treated")
    >>> round(float(w.cells["weight"].sum()), 12)
    1.0
    """
    check_frame(data)
    cols = [unit, time, treatment] + [c for c in (outcome, cohort) if c]
    check_columns(data, cols)
    check_numeric(data, treatment)
    frame, _ = drop_missing(data[cols], cols, allow=True)
    index = panel_index(frame[unit], frame[time])
    d = frame[treatment].to_numpy(dtype=float)
    times = np.sort(frame[time].unique())
    labels = pd.factorize(frame[unit], sort=False)[1].to_numpy()
    given = None if cohort is None else frame[cohort].to_numpy(dtype=float)
    result = _weights_from_arrays(index, d, times, labels, cohort=given)
    if outcome is None:
        return result
    y = frame[outcome].to_numpy(dtype=float)
    eps = _treatment_residual(index, d, None)
    beta = float(eps @ y / (eps @ d))
    return TWFEWeights(
        cells=result.cells,
        n_negative=result.n_negative,
        sum_negative=result.sum_negative,
        sigma_fe=abs(beta) * result.sigma_fe,
    )


def negative_weights_diagnostic(
    index: PanelIndex,
    d: np.ndarray,
    *,
    covariates: np.ndarray | None = None,
    tilde: np.ndarray | None = None,
    warn: bool = False,
    stacklevel: int = 3,
    timing: tuple[np.ndarray, bool] | None = None,
) -> Diagnostic | NotApplicable:
    """Whether a TWFE coefficient puts negative weight on treated cells, for :func:`twfe`.

    ``index`` and ``d`` are the fitted panel's index and treatment column (and
    ``covariates`` its further regressors; ``tilde`` the within-transformed
    ``[d, covariates]`` if already computed).  ``passed`` is ``False`` when some
    cohort-period cell gets a negative weight; with ``warn`` a
    :class:`NegativeWeightsWarning` is then emitted.
    """
    d = np.asarray(d, dtype=float)
    if timing is None and not ((d == 0.0) | (d == 1.0)).all():
        return NotApplicable("treatment is not binary (0/1)")
    times = np.arange(index.n_times, dtype=float)  # period codes suffice for the cells
    labels = np.arange(index.n_units)
    try:
        w = _weights_from_arrays(index, d, times, labels, covariates, tilde=tilde, timing=timing)
    except DesignError as err:
        return NotApplicable(str(err))
    diag = Diagnostic(
        name=Text("twfe_weights.name", "Negative TWFE weights (de Chaisemartin-D'Haultfœuille)"),
        value=float(w.n_negative),
        passed=w.n_negative == 0,
        note=Text(
            "twfe_weights.note",
            "{k} of {n} treated cells weighted negatively (sum {total}); with heterogeneous "
            "effects the coefficient need not be a convex average of them",
            k=int(w.n_negative),
            n=int(w.n_cells),
            total=Num(float(w.sum_negative), sig=3),
        ),
    )
    if warn and w.n_negative:
        warnings.warn(
            f"The TWFE coefficient puts negative weight on {w.n_negative} of {w.n_cells} "
            f"treated cohort-period cells (sum {w.sum_negative:.3g}); with effects that vary "
            "over cohorts or time it can mislead. Use a heterogeneity-robust estimator "
            "(imputation_did, callaway_santanna).",
            NegativeWeightsWarning,
            stacklevel=stacklevel,
        )
    return diag


# --------------------------------------------------------------------------- Bacon
ComparisonType = Literal[
    "treated vs never treated",
    "earlier vs later treated",
    "later vs earlier treated",
    "later vs always treated",
]


@dataclass(frozen=True, eq=False)
class BaconDecomposition:
    """Goodman-Bacon decomposition of a TWFE coefficient.

    ``comparisons`` has one row per 2x2 DiD: ``treated`` and ``control`` (cohorts;
    ``"never"`` / ``"always"`` for the constant groups), ``type``, ``estimate``,
    ``weight``.  ``sum(weight * estimate) == beta`` (the TWFE coefficient).
    """

    comparisons: pd.DataFrame
    beta: float

    def by_type(self) -> pd.DataFrame:
        """Total weight and weighted-average estimate of each comparison type."""
        f = self.comparisons.assign(product=lambda x: x["weight"] * x["estimate"])
        out = f.groupby("type", sort=False)[["weight", "product"]].sum()
        out["estimate"] = out["product"] / out["weight"]
        return out[["weight", "estimate"]].reset_index()

    def summary(self) -> str:
        lines = [f"TWFE coefficient {self.beta:.6g} = sum of weight x 2x2 DiD:"]
        for r in self.by_type().itertuples():
            lines.append(f"  {r.type:<28} weight {r.weight:7.4f}  estimate {r.estimate: .5g}")
        return "\n".join(lines)

    def plot(self, ax: Axes | None = None) -> Axes:
        """2x2 estimates against their weights, by comparison type (Goodman-Bacon Fig. 6)."""
        from evaluate.plotting import _axes

        ax = _axes(ax)
        for kind, block in self.comparisons.groupby("type", sort=False):
            ax.scatter(block["weight"], block["estimate"], label=kind)
        ax.axhline(self.beta, color="0.3", linewidth=0.8, linestyle="--", label="TWFE")
        ax.set_xlabel("weight")
        ax.set_ylabel("2x2 DiD estimate")
        ax.set_title("Goodman-Bacon decomposition")
        ax.legend(frameon=False, fontsize="small")
        return ax


def bacon_decomposition(
    data: pd.DataFrame, *, outcome: str, unit: str, time: str, treatment: str
) -> BaconDecomposition:
    """Goodman-Bacon (2021) decomposition of the TWFE coefficient into 2x2 DiDs.

    Needs a balanced panel and a binary treatment that never switches off (no
    covariates).  Units are grouped by first treated period; never-treated and
    always-treated units form one group each.

    Examples
    --------
    >>> from evaluate.datasets import mpdta
    >>> b = bacon_decomposition(mpdta(), outcome="lemp", unit="countyreal",
    ...                         time="year", treatment="post_treated")
    >>> round(b.beta, 6), round(float((b.comparisons.weight * b.comparisons.estimate).sum()), 6)
    (-0.036549, -0.036549)
    """
    check_frame(data)
    cols = [outcome, unit, time, treatment]
    check_columns(data, cols)
    for c in (outcome, treatment):
        check_numeric(data, c)
    if data[cols].isna().any().any():
        raise DataError(
            "The Goodman-Bacon decomposition needs a balanced panel without missing values; "
            f"remove units with missing {outcome!r} or {treatment!r}."
        )
    index = panel_index(data[unit], data[time])
    if not index.balanced:
        raise DesignError(
            "The Goodman-Bacon decomposition needs a balanced panel (every unit in every "
            "period); drop the incompletely observed units first."
        )
    d = data[treatment].to_numpy(dtype=float)
    if not np.isin(d, (0.0, 1.0)).all():
        raise DataError(f"Column {treatment!r} must be binary (0/1) for the decomposition.")
    n_u, n_t = index.n_units, index.n_times
    dw = np.zeros((n_u, n_t))
    dw[index.unit, index.time] = d
    if np.any(np.diff(dw, axis=1) < 0):
        raise DesignError(
            f"Column {treatment!r} switches off for some unit; the decomposition needs "
            "treatment that stays on once adopted (staggered adoption)."
        )
    yw = np.zeros((n_u, n_t))
    yw[index.unit, index.time] = data[outcome].to_numpy(dtype=float)
    # group = number of untreated periods: n_t = never, 0 = always treated
    start = n_t - dw.sum(axis=1).astype(int)
    times = np.sort(data[time].unique())
    groups = np.unique(start)
    share = {g: float(np.mean(start == g)) for g in groups}
    dbar = {g: (n_t - g) / n_t for g in groups}
    mean_path = {g: yw[start == g].mean(axis=0) for g in groups}

    def label(g: int) -> object:
        return "never" if g == n_t else "always" if g == 0 else _item(times[g])

    def dd(treated: int, control: int, lo: int, mid: int, hi: int) -> float:
        """2x2 DiD of periods [mid, hi) against [lo, mid)."""
        pt, pc = mean_path[treated], mean_path[control]
        return float(
            (pt[mid:hi].mean() - pt[lo:mid].mean()) - (pc[mid:hi].mean() - pc[lo:mid].mean())
        )

    rows = []
    for k in groups:  # k adopts earlier (treated longer) than l
        for ell in groups:
            if not dbar[k] > dbar[ell]:
                continue
            nn = share[k] * share[ell]
            gap = dbar[k] - dbar[ell]
            if dbar[k] < 1:  # k treated, l (not yet treated) as control, before l adopts
                rows.append(
                    {
                        "treated": label(k),
                        "control": label(ell),
                        "type": "treated vs never treated"
                        if ell == n_t
                        else "earlier vs later treated",
                        "estimate": dd(k, ell, 0, k, ell),
                        "weight": nn * gap * (1 - dbar[k]),
                    }
                )
            if dbar[ell] > 0:  # l treated, already-treated k as control, after k adopts
                rows.append(
                    {
                        "treated": label(ell),
                        "control": label(k),
                        "type": "later vs always treated" if k == 0 else "later vs earlier treated",
                        "estimate": dd(ell, k, k, ell, n_t),
                        "weight": nn * gap * dbar[ell],
                    }
                )
    if not rows:
        raise DesignError("No unit changes treatment status: there is no 2x2 comparison.")
    comparisons = pd.DataFrame(rows)
    comparisons["weight"] /= comparisons["weight"].sum()
    eps = within(index, [d])[:, 0]
    beta = float(eps @ data[outcome].to_numpy(dtype=float) / (eps @ d))
    return BaconDecomposition(comparisons=comparisons, beta=beta)


def _item(v: object) -> object:
    return v.item() if isinstance(v, np.generic) else v


__all__ = [
    "BaconDecomposition",
    "NegativeWeightsWarning",
    "TWFEWeights",
    "bacon_decomposition",
    "negative_weights_diagnostic",
    "twfe_weights",
]
