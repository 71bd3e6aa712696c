"""Compress, then estimate: TWFE / DiD on cell sufficient statistics.

With regressors that are constant within cells (treatment given to whole
municipalities from a date, municipality and period effects), a person-level
least-squares regression needs only three numbers per cell ``c``: the number of
persons ``n_c``, the sum of the outcome ``S_c = sum_i y_i`` and the sum of
squares ``Q_c = sum_i y_i^2``.  An engine computes them in one ``GROUP BY``
(:func:`cell_statistics`, DuckDB SQL), so person-level rows never reach pandas.

Exactness (every regressor, fixed effects included, is constant in a cell)
    * Coefficients: the person-level normal equations ``sum_i x_c(i) (y_i -
      x_c(i)'b) = 0`` become ``sum_c x_c (S_c - n_c x_c'b) = 0``: weighted least
      squares of the cell means ``S_c / n_c`` with weights ``n_c``.
    * Cluster scores (clusters made of whole cells): ``sum_{i in g} x~_i e_i =
      sum_{c in g} x~_c (S_c - n_c yhat_c)``, with ``x~`` the regressors after
      partialling out the fixed effects (cell-constant as well).  So CR0 is exact,
      and CR1 / CR1-stata follow with the person count ``N = sum_c n_c`` in the
      small-sample factor, as :mod:`evaluate.inference.covariance` defines them.
    * HC1: ``sum_{i in c} e_i^2 = (Q_c - S_c^2 / n_c) + n_c (ybar_c - yhat_c)^2``.

The model is ``y_i = a_unit + l_time + b D_cell + g' X_cell + e_i``.  For a
person panel without movers observed in every period (cells with ``n`` constant
over time within a unit), the municipality effects give the same coefficient
and the same CR0/CR1 covariance as a person-fixed-effects regression clustered
by municipality (the person effects are absorbed inside the unit effects and,
being nested in the clusters, do not enter fixest's K); the tests check this
against :func:`evaluate.twfe` on the person-level rows.  HC2/CR2 need
person-level leverages and are not offered.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd

from evaluate.data.validate import check_columns, check_frame, check_numeric
from evaluate.data.validate import drop_missing as _drop_missing
from evaluate.effect import Provenance, hash_frame
from evaluate.errors import DataError, DesignError, SpecError
from evaluate.estimators.did._treatment import binary_treatment, check_absorbing
from evaluate.estimators.did._within import analytic_weights, weighted_within
from evaluate.estimators.did.twfe import TWFEResult, coefficient_distribution, coefficient_table
from evaluate.inference.covariance import (
    FEW_CLUSTERS,
    CovarianceEstimate,
    RegressionDesign,
    covariance,
    is_nested,
)
from evaluate.text import Num, Text

Inference = Literal["CR0", "CR1", "CR1-stata", "HC1"]


# --------------------------------------------------------------------------- cells
def _quote(name: str) -> str:
    return '"' + str(name).replace('"', '""') + '"'


def cell_statistics(
    data: pd.DataFrame | str | Path,
    *,
    unit: str,
    time: str,
    outcome: str,
    by: Sequence[str] = (),
    n: str = "n",
    sum_y: str = "sum_y",
    sum_y2: str = "sum_y2",
    engine: str = "duckdb",
) -> pd.DataFrame:
    """Cell counts, sums and sums of squares of ``outcome`` per ``unit x time x by``.

    The aggregation is one DuckDB ``GROUP BY``; a Parquet path (or glob) is
    streamed from disk, so the person-level rows never enter pandas.

    Parameters
    ----------
    data
        Person-level rows (a DataFrame, never modified) or a Parquet path/glob.
    unit, time
        Cell keys (municipality, period).
    outcome
        Numeric person-level outcome.
    by
        Further cell-constant columns to keep: treatment, covariates, cluster.
        They are grouping keys, so a column that varies within a unit x time
        cell splits it into sub-cells (still exact: each row is a set of persons
        sharing all regressors).
    n, sum_y, sum_y2
        Names of the output columns.
    engine
        Only ``"duckdb"`` (embedded).

    Returns
    -------
    DataFrame
        ``unit, time, *by, n, sum_y, sum_y2`` sorted by the keys; rows with a
        missing outcome or key are not counted and ``attrs["n_missing"]`` says how many.

    Examples
    --------
    >>> df = pd.DataFrame({"m": [1, 1, 2], "t": [0, 0, 0], "y": [1.0, 3.0, 2.0]})
    >>> cells = cell_statistics(df, unit="m", time="t", outcome="y")
    >>> cells[["n", "sum_y", "sum_y2"]].values.tolist()
    [[2.0, 4.0, 10.0], [1.0, 2.0, 4.0]]
    """
    if engine != "duckdb":
        raise SpecError(f"cell_statistics runs on engine='duckdb' only, got {engine!r}.")
    import duckdb

    keys = list(dict.fromkeys([unit, time, *by]))
    if outcome in keys:
        raise SpecError(f"outcome {outcome!r} is also a cell key; choose another column.")
    con = duckdb.connect()
    if isinstance(data, (str, Path)):
        if not str(data).endswith(".parquet") and "*" not in str(data):
            raise DataError(f"{str(data)!r}: cell_statistics reads Parquet files (or a glob).")
        con.register("data", con.read_parquet(str(data)))
        names = con.execute("SELECT * FROM data LIMIT 0").df().columns
        check_columns(pd.DataFrame(columns=names), [*keys, outcome])
    else:
        check_frame(data)
        check_columns(data, [*keys, outcome])
        check_numeric(data, outcome)
        con.register("data", data[[*keys, outcome]])
    q = [_quote(k) for k in keys]
    y = f"CAST({_quote(outcome)} AS DOUBLE)"
    complete = " AND ".join(f"{c} IS NOT NULL" for c in [*q, _quote(outcome)])
    sql = (
        f"SELECT {', '.join(q)}, CAST(COUNT(*) AS DOUBLE) AS {_quote(n)}, "
        f"SUM({y}) AS {_quote(sum_y)}, SUM({y} * {y}) AS {_quote(sum_y2)} "
        f"FROM data WHERE {complete} GROUP BY {', '.join(q)} ORDER BY {', '.join(q)}"
    )
    try:
        cells = con.execute(sql).df()
        total = int(con.execute("SELECT COUNT(*) FROM data").fetchone()[0])
    finally:
        con.close()
    cells.attrs["n_missing"] = total - int(cells[n].sum())
    return cells


# --------------------------------------------------------------------------- engine
@dataclass(frozen=True, eq=False)
class CellFit:
    """Weighted cell regression: coefficients, partialled regressors, cell residuals."""

    beta: np.ndarray
    x: np.ndarray  # (m, p) regressors after partialling out unit and time effects
    resid_mean: np.ndarray  # ybar_c - yhat_c
    weights: np.ndarray  # n_c
    within_ss: np.ndarray  # sum_{i in c} (y_i - ybar_c)^2
    analytic: np.ndarray | None = None  # w_c, each person's analytic weight (None = 1)

    @property
    def regression_weights(self) -> np.ndarray:
        """``n_c w_c``: the weight of the cell mean in the person-level least squares."""
        return self.weights if self.analytic is None else self.weights * self.analytic


def fit_cells(
    unit: np.ndarray,
    time: np.ndarray,
    n: np.ndarray,
    sum_y: np.ndarray,
    sum_y2: np.ndarray,
    x: np.ndarray,
    names: list[str],
    analytic: np.ndarray | None = None,
) -> CellFit:
    """Person-level TWFE coefficients from cell statistics (weighted least squares).

    ``analytic`` holds each cell's analytic weight ``w_c`` (every person in the
    cell carries it); the cell mean then enters with weight ``n_c w_c``.
    """
    ybar = sum_y / n
    rw = n if analytic is None else n * analytic
    yx = weighted_within(unit, time, rw, np.column_stack([ybar, x]))
    yd, xd = yx[:, 0], yx[:, 1:]
    xtx = (xd * rw[:, None]).T @ xd
    raw = np.average((x - np.average(x, axis=0, weights=rw)) ** 2, axis=0, weights=rw)
    bad = [
        nm
        for nm, s, r in zip(names, np.diag(xtx) / rw.sum(), raw, strict=True)
        if s <= 1e-10 * max(r, 1e-300)
    ]
    scale = np.sqrt(np.maximum(np.diag(xtx), 1e-300))
    if bad or np.linalg.matrix_rank(xtx / np.outer(scale, scale)) < xd.shape[1]:
        raise DesignError(
            f"{', '.join(bad) or 'The regressors'} have no variation left after removing unit "
            "and period effects (e.g. treatment constant within every unit, or collinear "
            "regressors). A TWFE regression needs units whose treatment changes over time."
        )
    beta = np.linalg.solve(xtx, (xd * rw[:, None]).T @ yd)
    # Floating-point sums of squares can dip a hair below zero for constant cells.
    within_ss = np.maximum(sum_y2 - sum_y * ybar, 0.0)
    return CellFit(beta, xd, yd - xd @ beta, n, within_ss, analytic)


def cell_covariance(
    fit: CellFit,
    method: str,
    *,
    clusters: np.ndarray | None,
    fe_levels: tuple[int, int],
    fe_nested: tuple[bool, bool],
) -> CovarianceEstimate:
    """Person-level covariance of the coefficients from the cell fit (module docstring)."""
    root = np.sqrt(fit.regression_weights)
    n_obs = float(fit.weights.sum())  # persons, weighted or not (as twfe counts rows)
    # x_c sqrt(n_c w_c) and sqrt(n_c w_c) r_c reproduce the bread sum_c n_c w_c x_c x_c'
    # and the cluster scores sum_c x_c w_c n_c r_c, so the registry's CR0 is the
    # person-level (weighted) CR0.
    design = RegressionDesign(
        x=fit.x * root[:, None],
        resid=fit.resid_mean * root,
        clusters=clusters,
        fe_levels=fe_levels,
        fe_nested=fe_nested,
    )
    if method == "HC1":
        m = np.linalg.inv(design.x.T @ design.x)
        e2 = fit.within_ss + fit.weights * fit.resid_mean**2
        if fit.analytic is not None:  # sum_{i in c} w_i^2 e_i^2 with w_i = w_c
            e2 = e2 * fit.analytic**2
        meat = (fit.x * e2[:, None]).T @ fit.x
        k = design.k_full
        cov = n_obs / (n_obs - k) * m @ meat @ m
        return CovarianceEstimate(cov, np.full(design.p, n_obs - k), "HC1")
    base = covariance(design, "CR0")
    g = base.n_clusters or 0
    k = {"CR0": None, "CR1": design.k_fixest, "CR1-stata": design.k_full}[method]
    factor = 1.0 if k is None else g / (g - 1) * (n_obs - 1) / (n_obs - k)
    return CovarianceEstimate(base.cov * factor, base.df, method, g)


# --------------------------------------------------------------------------- result
@dataclass(frozen=True, kw_only=True, eq=False)
class CompressedTWFEResult(TWFEResult):
    """Result of :func:`compressed_twfe`: a :class:`TWFEResult` fitted from cells.

    ``n_cells`` rows of cell statistics stood for ``n_obs`` person-level rows;
    ``scale`` is the factor applied to the coefficient for the reported total
    (1 for a per-person effect).
    """

    n_cells: int = 0
    n_obs: float = 0.0
    scale: float = 1.0
    per_person: tuple[float, float] = (math.nan, math.nan)

    def _summary_header(self) -> list[tuple[str, object]]:
        rows = super()._summary_header() + [
            ("Cells / persons", f"{self.n_cells:,} cells of {self.n_obs:,.0f} person-level rows")
        ]
        if self.scale != 1.0:
            rows.append(
                (
                    "Per person",
                    f"{self.per_person[0]:.6g} (SE {self.per_person[1]:.3g}) x {self.scale:,.1f}",
                )
            )
        return rows


# --------------------------------------------------------------------------- front door
def compressed_twfe(
    cells: pd.DataFrame,
    *,
    unit: str,
    time: str,
    treatment: str,
    n: str = "n",
    sum_y: str = "sum_y",
    sum_y2: str = "sum_y2",
    covariates: tuple[str, ...] | list[str] = (),
    cluster: str | None = "unit",
    inference: Inference = "CR1",
    weights: str | None = None,
    allow_switching: bool = False,
    total_by: str | None = None,
    outcome_unit: str = "outcome units",
    outcome_label: str = "outcome",
    alpha: float = 0.05,
    drop_missing: bool = True,
    name: str | None = None,
    population: str | None = None,
    source: str = "",
    simulated: bool = False,
) -> CompressedTWFEResult:
    """Person-level TWFE / DiD from cell statistics (counts, sums, sums of squares).

    Parameters
    ----------
    cells : one row per cell (persons sharing unit, time and every regressor), e.g.
        from :func:`cell_statistics`; never modified.
    unit, time, treatment : cell columns; ``treatment`` 0/1 (or True/False); any other
        value is a :class:`DataError`, as is a treatment that switches off in a unit
        (on in any of its cells in a period, off in all of them later) unless
        ``allow_switching=True``.
    n, sum_y, sum_y2 : persons in the cell, sum and sum of squares of their outcome.
    covariates : further cell-level regressors.
    cluster : ``"unit"`` (default), another cell column containing whole cells, or
        ``None`` (then ``inference="HC1"``).
    inference : ``"CR1"`` (fixest's small-sample factor), ``"CR0"``, ``"CR1-stata"``
        (every absorbed dummy in K) or ``"HC1"``; all exact at person level.
    weights : column of analytic (regression) weights per cell, e.g. a population
        weight: every person in the cell carries it, so the cell mean enters with
        weight ``n * weights``.  Coefficients and every covariance equal
        :func:`evaluate.twfe` with ``weights=`` on the person-level rows (``N`` in the
        small-sample factors stays the number of persons, as twfe counts rows).
    allow_switching : accept a treatment that turns off again (then not a staggered
        adoption; TWFE still runs).
    total_by : optional column; report ``b * sum(total_by over treated cells) /
        (treated periods)``: the effect on the sum of the outcome over the treated
        cells of an average treated period (e.g. with ``total_by = n`` and a share of
        the month on benefit as outcome, full-time persons).  The SE scales alike
        (the factor is taken as fixed).
    outcome_unit, outcome_label : words for the report.
    alpha, drop_missing, name, population, source, simulated : as in :func:`evaluate.twfe`.

    Examples
    --------
    >>> cells = pd.DataFrame({"m": [1, 1, 2, 2, 3, 3], "t": [0, 1] * 3,
    ...                       "D": [0, 1, 0, 0, 0, 1], "n": [2, 3, 2, 2, 1, 2],
    ...                       "sum_y": [2.0, 6.0, 1.0, 3.0, 1.0, 5.0],
    ...                       "sum_y2": [2.0, 14.0, 1.0, 5.0, 1.0, 13.0]})
    >>> round(compressed_twfe(cells, unit="m", time="t", treatment="D").estimate, 4)
    0.1786
    """
    check_frame(cells)
    covariates = tuple(covariates)
    if inference not in ("CR0", "CR1", "CR1-stata", "HC1"):
        raise SpecError(
            f"inference={inference!r} is not available from cell statistics; use CR0, CR1, "
            "CR1-stata or HC1 (CR2/HC2 need person-level leverages)."
        )
    if cluster is None and inference != "HC1":
        raise SpecError(f"inference={inference!r} is cluster-robust; pass cluster= or use HC1.")
    if not 0 < alpha < 1:
        raise SpecError(f"alpha must lie strictly between 0 and 1, got {alpha!r}.")
    cols = [unit, time, treatment, n, sum_y, sum_y2, *covariates]
    if cluster not in (None, "unit", unit):
        cols.append(cluster)
    if total_by is not None:
        cols.append(total_by)
    if weights is not None:
        cols.append(weights)
    used = list(dict.fromkeys(cols))
    check_columns(cells, used, "cells")
    for c in (treatment, n, sum_y, sum_y2, *covariates):
        check_numeric(cells, c)
    frame, n_dropped = _drop_missing(cells[used], used, allow=drop_missing)
    counts = frame[n].to_numpy(dtype=float)
    if (counts < 0).any() or np.any(counts != np.round(counts)):
        raise DataError(f"Column {n!r} must hold non-negative whole numbers of persons.")
    if (counts == 0).any():  # empty cells carry no persons: they are not rows of the regression
        frame = frame[counts > 0]
        counts = counts[counts > 0]
    u_codes, u_levels = pd.factorize(frame[unit], sort=True)
    t_codes, t_levels = pd.factorize(frame[time], sort=True)
    if len(u_levels) < 2 or len(t_levels) < 2:
        raise DesignError(
            f"TWFE needs at least 2 units and 2 periods; found {len(u_levels)} units and "
            f"{len(t_levels)} periods with persons."
        )
    s = frame[sum_y].to_numpy(dtype=float)
    q = frame[sum_y2].to_numpy(dtype=float)
    if (q < s**2 / counts - 1e-9 * np.maximum(np.abs(q), 1.0)).any():
        raise DataError(
            f"{sum_y2!r} is smaller than {sum_y!r}^2/{n!r} in some cell: it must be the sum of "
            "squared outcomes (not the square of the sum)."
        )
    d = binary_treatment(frame, treatment)
    if not allow_switching:
        # Sub-cells may split a unit-period: the unit counts as treated then if any is.
        on = pd.DataFrame({"u": frame[unit].to_numpy(), "t": frame[time].to_numpy(), "d": d})
        on = on.groupby(["u", "t"], sort=False, as_index=False)["d"].max()
        check_absorbing(on, on["d"].to_numpy(), treatment, "u", "t", "compressed_twfe")
    w = analytic_weights(frame, weights)
    names = [treatment, *covariates]
    x = np.column_stack([d, frame[list(covariates)].to_numpy(dtype=float)])
    fit = fit_cells(u_codes, t_codes, counts, s, q, x, names, w)
    if cluster is None:
        clusters = None
        nested = (False, False)
    elif cluster in ("unit", unit):
        clusters = u_codes.astype(np.intp)
        nested = (True, len(u_levels) == 1)
    else:
        clusters = pd.factorize(frame[cluster])[0].astype(np.intp)
        nested = (is_nested(u_codes, clusters), is_nested(t_codes, clusters))
    cov = cell_covariance(
        fit,
        inference,
        clusters=clusters,
        fe_levels=(len(u_levels), len(t_levels)),
        fe_nested=nested,
    )
    se = cov.std_errors
    table = coefficient_table(names, fit.beta, cov, alpha)
    scale = 1.0
    notes = []
    if total_by is not None:
        on = x[:, 0] != 0
        if not on.any():
            raise DesignError(f"No cell has {treatment!r} switched on; nothing to total.")
        periods_on = len(np.unique(t_codes[on]))
        scale = float(frame[total_by].to_numpy(dtype=float)[on].sum() / periods_on)
        notes.append(
            Text(
                "compressed.note_total",
                "Total over the treated cells: the per-person coefficient {beta} (SE {se}) "
                "times {scale} ({total_by} summed over treated cells / {periods} treated "
                "periods), taken as fixed.",
                beta=Num(float(fit.beta[0]), sig=6),
                se=Num(float(se[0]), sig=3),
                scale=Num(scale, decimals=1),
                total_by=total_by,
                periods=int(periods_on),
            )
        )
    if clusters is not None and cov.n_clusters is not None and cov.n_clusters < FEW_CLUSTERS:
        notes.append(
            Text(
                "compressed.note_few_clusters",
                "Only {n} clusters: CR1 tends to over-reject with fewer than {few}; CR2 is "
                "not available from cell statistics.",
                n=int(cov.n_clusters),
                few=int(FEW_CLUSTERS),
            )
        )
    estimate, std_error = float(fit.beta[0]) * scale, float(se[0]) * abs(scale)
    dist = coefficient_distribution(estimate, std_error, float(cov.df[0]))
    n_obs = float(counts.sum())
    return CompressedTWFEResult(
        name=name or outcome_label,
        estimand=Text(
            "compressed.estimand_total" if total_by else "compressed.estimand_person",
            "Effect of {treatment} on {outcome} ("
            + ("total over treated cells per period" if total_by else "per person")
            + "; person-level two-way fixed effects: {unit} and {time}, from cell statistics)",
            treatment=treatment,
            outcome=outcome_label,
            unit=unit,
            time=time,
        ),
        distribution=dist,
        method=Text("compressed.method", "Two-way fixed effects regression from cell statistics"),
        inference=_inference_text(
            inference, unit if cluster == "unit" else cluster, clusters, cov, weights
        ),
        unit=outcome_unit,
        population=population
        or Text(
            "compressed.population",
            "{persons} persons in {units} units over {periods} periods",
            persons=round(n_obs),
            units=len(u_levels),
            periods=len(t_levels),
        ),
        alpha=alpha,
        provenance=Provenance(
            spec={
                "unit": unit,
                "time": time,
                "treatment": treatment,
                "n": n,
                "sum_y": sum_y,
                "sum_y2": sum_y2,
                "covariates": list(covariates),
                "cluster": cluster,
                "inference": inference,
                **({} if weights is None else {"weights": weights}),
                **({"allow_switching": True} if allow_switching else {}),
                "total_by": total_by,
                "alpha": alpha,
            },
            data_hash=hash_frame(frame),
            n_rows=len(frame),
            n_dropped=n_dropped,
            source=source,
            simulated=simulated,
        ),
        notes=tuple(notes),
        coefficients=table,
        covariance_method=inference,
        n_units=len(u_levels),
        n_periods=len(t_levels),
        n_clusters=cov.n_clusters,
        balanced=len(frame) == len(u_levels) * len(t_levels),
        n_cells=len(frame),
        n_obs=n_obs,
        scale=scale,
        per_person=(float(fit.beta[0]), float(se[0])),
    )


def _inference_text(method, by, clusters, cov, weights) -> Text:
    """``CR1 by kommune, 98 clusters (person level, exact from cells[; weights w])``."""
    how = (
        method
        if clusters is None
        else Text(
            "inference.clustered",
            "{method} by {cluster}, {n} clusters",
            method=method,
            cluster=by,
            n=int(cov.n_clusters),
        )
    )
    if weights is None:
        return Text("compressed.inference", "{how} (person level, exact from cells)", how=how)
    return Text(
        "compressed.inference_weights",
        "{how} (person level, exact from cells; weights {weights})",
        how=how,
        weights=weights,
    )


__all__ = [
    "CellFit",
    "CompressedTWFEResult",
    "cell_covariance",
    "cell_statistics",
    "compressed_twfe",
    "fit_cells",
    "weighted_within",
]
