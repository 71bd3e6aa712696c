"""Synthetic difference-in-differences with staggered adoption.

:func:`~evaluate.estimators.synthetic.sdid.synthetic_did` comes here when the
treated units start at different periods.  As Arkhangelsky et al. (2021, §8)
propose, and as Stata ``sdid`` (Clarke, Pailañir, Athey & Imbens 2023) does, the
block estimator is applied to each adoption cohort in turn: the units that
start at period ``a`` against the never-treated units, with the periods before
``a`` as pre-periods and ``a`` onwards as post-periods (units of other cohorts
are left out of that fit).  The cohort estimates are averaged with weights
proportional to their treated unit-periods, ``N_a x T_post,a``, so the headline
is the average effect over all treated unit-periods.

Inference is the placebo standard error (Algorithm 4 of the paper, as Stata
``sdid`` extends it to staggered adoption): in each replication the
never-treated units are permuted, the last ``N_tr`` of them take the places of
the treated units cohort by cohort (same cohort sizes and starts), every cohort
is refitted on the remaining never-treated units, and the placebo estimates are
aggregated with the same weights.  The standard error is their spread; the
interval is normal.  With a single cohort everything here equals the block
estimator, its weights and its placebo standard error (same seed).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from evaluate.effect import DesignTable, Diagnostic, EffectResult, Provenance, hash_frame
from evaluate.errors import DataError, DesignError, SpecError
from evaluate.estimators.synthetic._sdid_core import _tau, _weights, fit_estimator
from evaluate.inference.distributions import Normal, PointMass
from evaluate.progress import progress
from evaluate.text import Num, Text, Unit, say

if TYPE_CHECKING:
    from matplotlib.axes import Axes

_ESTIMATORS = ("sdid", "sc", "did")


@dataclass(frozen=True)
class _Cohort:
    start: Any
    units: tuple[Any, ...]
    rows: np.ndarray  # rows of the treated units in the full matrix
    t0: int  # pre-periods
    weight: float  # share of treated unit-periods


def cohorts_of(
    treated: list[Any], starts: list[Any], times: np.ndarray, n0: int
) -> list[_Cohort]:
    """Adoption cohorts in order of start; treated rows follow the ``n0`` controls."""
    order: dict[Any, list[int]] = {}
    for i, s in enumerate(starts):
        order.setdefault(s, []).append(i)
    found = []
    for s in sorted(order, key=lambda v: int(np.sum(times < v))):
        t0 = int(np.sum(times < s))
        if t0 < 2 or t0 == len(times):
            raise DesignError(
                f"start={s!r} leaves {t0} pre-period(s) and {len(times) - t0} post-period(s); "
                "SDID needs at least 2 pre-periods and 1 post-period for every cohort."
            )
        idx = order[s]
        found.append(_Cohort(s, tuple(treated[i] for i in idx), n0 + np.array(idx), t0, 0.0))
    cells = np.array([len(c.units) * (len(times) - c.t0) for c in found], dtype=float)
    return [
        _Cohort(c.start, c.units, c.rows, c.t0, float(w))
        for c, w in zip(found, cells / cells.sum(), strict=True)
    ]


def _cohort_matrix(y: np.ndarray, n0: int, cohort: _Cohort) -> np.ndarray:
    return np.concatenate([y[:n0], y[cohort.rows]], axis=0)


def fit_cohorts(y: np.ndarray, n0: int, cohorts: list[_Cohort], estimator: str):
    """Per cohort ``(tau, omega, lambda, options)`` of ``estimator`` on the never-treated."""
    return [fit_estimator(_cohort_matrix(y, n0, c), n0, c.t0, estimator) for c in cohorts]


def placebo_staggered(
    y: np.ndarray,
    n0: int,
    cohorts: list[_Cohort],
    fits: list[tuple[float, np.ndarray, np.ndarray, Any]],
    orders: np.ndarray,
) -> np.ndarray:
    """Aggregated placebo estimates, one per row of ``orders`` (permutations of the
    ``n0`` controls): the last ``N_tr`` play the treated units, cohort by cohort."""
    n_tr = sum(len(c.units) for c in cohorts)
    m0 = n0 - n_tr
    total = np.zeros(len(orders))
    taken = m0
    for c, (_, omega, lam, opts) in zip(cohorts, fits, strict=True):
        block = orders[:, taken : taken + len(c.units)]
        taken += len(c.units)
        rows = np.concatenate([orders[:, :m0], block], axis=1)
        yb = y[rows]
        om0 = omega[orders[:, :m0]]
        sums = om0.sum(axis=1, keepdims=True)
        om0 = np.where(sums != 0, om0 / np.where(sums != 0, sums, 1.0), 1.0 / m0)
        om, la = _weights(yb, m0, c.t0, opts, om0, lam)
        total += c.weight * _tau(yb, m0, c.t0, om, la)
    return total


def staggered_sdid(
    y: np.ndarray,
    units: list[Any],
    times: np.ndarray,
    n0: int,
    treated: list[Any],
    starts: list[Any],
    *,
    estimator: str,
    placebo_reps: int,
    rng: np.random.Generator,
) -> dict[str, Any]:
    """Cohort fits, the aggregated estimates of all three estimators and the placebos.

    ``y`` is N x T with the ``n0`` never-treated units first, then ``treated`` in
    order; ``starts`` gives each treated unit's first treated period.
    """
    cohorts = cohorts_of(treated, starts, times, n0)
    fits = {e: fit_cohorts(y, n0, cohorts, e) for e in _ESTIMATORS}
    taus = {e: float(sum(c.weight * f[0] for c, f in zip(cohorts, fits[e], strict=True)))
            for e in _ESTIMATORS}  # fmt: skip
    n_tr = len(treated)
    placebos = np.empty(0)
    if placebo_reps and n0 > n_tr:
        orders = np.array([rng.permutation(n0) for _ in range(placebo_reps)])
        chunks = [orders[i : i + 100] for i in range(0, len(orders), 100)]
        placebos = np.concatenate(
            [
                placebo_staggered(y, n0, cohorts, fits[estimator], chunk)
                for chunk in progress(chunks, desc="SDID placebos (staggered)")
            ]
        )
    return {"cohorts": cohorts, "fits": fits, "taus": taus, "placebos": placebos}


def staggered_result(
    fitted: dict[str, Any],
    y: np.ndarray,
    units: list[Any],
    times: np.ndarray,
    n0: int,
    *,
    estimator: str,
    spec: dict[str, Any],
    used: pd.DataFrame,
    n_dropped: int,
    meta: dict[str, Any],
    methods: dict[str, str],
) -> StaggeredSDIDResult:
    """The frozen result: headline, cohort table, weights and event-time gaps."""
    cohorts, fits, taus = fitted["cohorts"], fitted["fits"], fitted["taus"]
    placebos = fitted["placebos"]
    tau = taus[estimator]
    if placebos.size:
        distribution: Any = Normal(tau, float(np.std(placebos, ddof=0)))
        inference = Text(
            "sdid_staggered.inference",
            "placebo standard error ({n} random permutations of the never-treated units, the "
            "last {k} taking the treated units' places cohort by cohort; Arkhangelsky et al. "
            "2021, Algorithm 4); normal interval",
            n=int(placebos.size),
            k=sum(len(c.units) for c in cohorts),
        )
    else:
        distribution = PointMass(tau)
        inference = Text(
            "sdid.inference_none", "none (placebo_reps=0, or no more controls than treated units)"
        )
    table = pd.DataFrame(
        {
            "units": [", ".join(map(str, c.units)) for c in cohorts],
            "n_units": [len(c.units) for c in cohorts],
            "post_periods": [len(times) - c.t0 for c in cohorts],
            "weight": [c.weight for c in cohorts],
            "estimate": [f[0] for f in fits[estimator]],
        },
        index=pd.Index([str(c.start) for c in cohorts], name="cohort"),
    )
    weights = pd.DataFrame(
        {str(c.start): f[1] for c, f in zip(cohorts, fits[estimator], strict=True)},
        index=pd.Index(units[:n0], name="control"),
    )
    periods, gaps = _event_gaps(y, n0, times, cohorts, fits[estimator])
    omega_eff = [1.0 / float(np.sum(f[1] ** 2)) for f in fits[estimator]]
    diagnostics = {
        Text("diag.pre_fit", "pre-period fit"): Diagnostic(
            Text("sdid_staggered.pre_rmse", "pre-period RMSE, averaged over cohorts"),
            float(
                sum(
                    c.weight * math.sqrt(float(np.mean(g[: c.t0] ** 2)))
                    for c, g in zip(cohorts, gaps, strict=True)
                )
            ),
            note=Text(
                "sdid.pre_note",
                "treated mean minus weighted controls plus intercept, before the start",
            ),
        ),
        Text("sdid.n_eff", "effective number of controls"): Diagnostic(
            "1 / sum(omega^2)",
            float(min(omega_eff)),
            note=Text(
                "sdid_staggered.n_eff_note",
                "smallest over {k} cohorts, of {n} never-treated controls",
                k=len(cohorts),
                n=n0,
            ),
        ),
        Text("sdid.comparison", "estimator comparison"): Diagnostic(
            Text("sdid.sdid_minus_did", "SDID minus DiD"),
            taus["sdid"] - taus["did"],
            note=Text(
                "sdid.comparison_note",
                "SDID {sdid}, SC {sc}, DID {did}",
                **{e: Num(taus[e], sig=4) for e in _ESTIMATORS},
            ),
        ),
    }
    notes = [
        Text(
            "sdid_staggered.note_estimate",
            "The estimate averages the {k} adoption cohorts' SDID estimates, each against the "
            "never-treated units only, weighted by their treated unit-periods (Arkhangelsky et "
            "al. 2021, §8), in the outcome's own units.",
            k=len(cohorts),
        )
    ]
    if placebos.size:
        notes.append(
            Text(
                "sdid_staggered.note_se",
                "The standard error is the spread of placebo estimates (never-treated units "
                "given the treated units' starts at random); it assumes the treated units are "
                "exchangeable with the never-treated.",
            )
        )
    if meta["simulated"]:
        notes.append(Text("note.simulated_data", "The data are SIMULATED, not observed."))
    treated = [u for c in cohorts for u in c.units]
    names = ", ".join(map(str, treated))
    return StaggeredSDIDResult(
        name=meta["name"],
        estimand=Text(
            "sdid_staggered.estimand",
            "average effect on {units} over their treated periods (staggered starts)",
            units=names,
        ),
        distribution=distribution,
        method=methods[estimator],
        inference=inference,
        unit="outcome units",
        population=meta["population"]
        if meta["population"] != "not stated"
        else Text(
            "sdid_staggered.population",
            "{units}; {n} never-treated control units",
            units=names,
            n=n0,
        ),
        alpha=meta["alpha"],
        periods=periods,
        diagnostics=diagnostics,
        provenance=Provenance(
            spec=spec,
            data_hash=hash_frame(used),
            n_rows=len(used),
            n_dropped=n_dropped,
            source=meta["source"],
            simulated=meta["simulated"],
        ),
        notes=tuple(notes),
        cohorts=table,
        unit_weights=weights,
        comparison=pd.DataFrame(
            {"estimate": [taus[e] for e in _ESTIMATORS],
             "headline": [e == estimator for e in _ESTIMATORS]},
            index=pd.Index(list(_ESTIMATORS), name="estimator"),
        ),  # fmt: skip
        placebo_estimates=placebos,
        treated_units=tuple(treated),
    )


def _event_gaps(y, n0, times, cohorts, fits):
    """Treated-mean gap to the shifted counterfactual by periods since the start:
    per cohort (all periods) and averaged over cohorts by their treated units."""
    rows, gaps = [], []
    for c, (_, omega, lam, _) in zip(cohorts, fits, strict=True):
        tr = y[c.rows].mean(axis=0)
        synth = omega @ y[:n0]
        gap = tr - synth - float(lam @ (tr[: c.t0] - synth[: c.t0]))
        gaps.append(gap)
        for t in range(len(times)):
            rows.append({"event": t - c.t0, "gap": gap[t], "n": len(c.units)})
    long = pd.DataFrame(rows)
    long = long.loc[long["event"] >= 0]
    long["wg"] = long["gap"] * long["n"]
    by = long.groupby("event")
    out = pd.DataFrame(
        {
            "period": by.size().index.to_numpy(),
            "estimate": (by["wg"].sum() / by["n"].sum()).to_numpy(),
            "std_error": math.nan,
            "ci_low": math.nan,
            "ci_high": math.nan,
            "n_units": by["n"].sum().to_numpy(),
        }
    )
    return out, gaps


def check_staggered_options(placebo: str) -> None:
    if placebo == "each":
        raise SpecError(
            "placebo='each' needs a single treated unit and start; with staggered starts use "
            "placebo='random'."
        )


def check_never_treated(n0: int) -> None:
    if n0 < 2:
        raise DataError(f"Only {n0} never-treated unit(s); staggered SDID needs 2 or more.")


@dataclass(frozen=True, kw_only=True, eq=False)
class StaggeredSDIDResult(EffectResult):
    """Result of :func:`~evaluate.estimators.synthetic.sdid.synthetic_did` with staggered
    starts: ``cohorts`` (start, units, post-periods, weight and estimate of each
    adoption cohort), ``unit_weights`` (never-treated control x cohort),
    ``comparison`` (SDID, SC and DiD aggregated the same way) and
    ``placebo_estimates``.  ``periods`` holds the average gap by periods since the
    start."""

    cohorts: pd.DataFrame
    unit_weights: pd.DataFrame
    comparison: pd.DataFrame
    placebo_estimates: np.ndarray
    treated_units: tuple[Any, ...]

    def design_tables(self) -> tuple[DesignTable, ...]:
        """The cohorts with their weights and estimates, and the largest unit weights."""
        top = self.unit_weights.loc[
            self.unit_weights.max(axis=1).sort_values(ascending=False, kind="stable").index[:10]
        ]
        return (
            DesignTable(
                title=Text("sdid_staggered.cohorts_title", "Adoption cohorts"),
                frame=self.cohorts,
                columns=(
                    ("units", Text("sdid_staggered.units", "treated units"), "text"),
                    ("post_periods", Text("synth_units.post_periods", "periods after"), "count"),
                    ("weight", Text("sdid_staggered.weight", "weight in the average"), "weight"),
                    ("estimate", Text("synth_units.estimate", "effect"), "estimate"),
                ),
                row_header=Text("sdid_staggered.cohort", "first treated period"),
            ),
            DesignTable(
                title=Text("sdid_staggered.weights_title", "Largest unit weights by cohort"),
                frame=top,
                columns=tuple((c, c, "weight") for c in self.unit_weights.columns),
                row_header=Text("sdid.control", "control unit"),
                note=Text(
                    "sdid_staggered.weights_note",
                    "The {k} controls with the largest weight in any cohort, of {n}; each "
                    "cohort's weights sum to one.",
                    k=len(top),
                    n=len(self.unit_weights),
                ),
            ),
        )

    def _summary_tables(self) -> list[tuple[str, pd.DataFrame]]:
        tables = super()._summary_tables()
        tables.append(("Adoption cohorts", self.cohorts))
        tables.append(("Estimators compared (point estimates)", self.comparison))
        if self.periods is not None:
            tables.append(("Average gap by periods since start", self.periods.set_index("period")))
        return tables

    def plot(self, ax: Axes | None = None) -> Axes:
        """Average gap by periods since the start, with the headline estimate dashed."""
        from evaluate.plotting import _axes

        ax = _axes(ax, figsize=(8.0, 4.2))
        if self.periods is not None:
            ax.plot(self.periods["period"], self.periods["estimate"], color="black", marker=".")
        ax.axhline(self.estimate, color="C0", linestyle="--", linewidth=1.0)
        ax.axhline(0.0, color="0.4", linewidth=0.8)
        ax.set_xlabel(say(Text("synth_units.since_start", "periods since start")))
        ax.set_ylabel(say(Unit(self.unit)))
        ax.set_title(say(Text("sdid_staggered.plot_title", "{name}: synthetic DiD by periods "
                              "since start", name=self.name)))  # fmt: skip
        return ax


__all__ = ["StaggeredSDIDResult", "staggered_result", "staggered_sdid"]
