"""Peer benchmark: one unit against a group of comparable units on a rate.

"25 % of Copenhagen's flexjob-eligible citizens are unemployed against 17 % in
comparable municipalities: at their level about 3,000 more would be in flexjob."
This module turns such a statement into an estimate with its uncertainty.

For each unit the rate is ``numerator / denominator``.  The peers' level is the
pooled rate ``sum(numerator) / sum(denominator)`` over the peers (``peer_level=
"pooled"``) or the plain mean of their rates (``"mean"``).  The gap is the focal
rate minus the peers' level; in persons it is ``gap * denominator_focal``: how
many more (or fewer) the focal unit counts than it would at the peers' rate.  This
is a benchmark, not a causal effect: peers differ in more than the policy.

Uncertainty (``uncertainty=``):

* ``"binomial"``: each count is binomial given its denominator, so
  ``Var(rate) = r (1 - r) / d`` for the focal unit and for the pooled peers (or
  ``sum_i r_i (1 - r_i) / d_i / k^2`` for the mean of ``k`` peer rates); the gap's
  variance is the sum (delta method for rates with known denominators).  This is
  the noise of the process that produced the counts and ignores that peers differ.
* ``"spread"``: the peers' level is uncertain because peers differ: its standard
  error is the standard deviation of the peer rates over ``sqrt(k)`` (plus the
  focal rate's binomial variance), with a t reference on ``k - 1`` degrees of
  freedom.  Usually much wider; prefer it when the peer group is a sample of
  "comparable" units rather than the exact benchmark.

Peers are given (``peers=[...]``), chosen as the ``n_peers`` nearest neighbours
on standardised covariates (``match_on=[...]``, Euclidean distance), or default to
every other unit.

Example
-------
>>> import pandas as pd
>>> from evaluate.estimators.series.peers import peer_benchmark
>>> frame = pd.DataFrame({"kommune": ["A", "B", "C", "D"], "ledige": [250, 160, 180, 170],
...                       "visiterede": [1000, 1000, 1000, 1000]})
>>> res = peer_benchmark(frame, unit="kommune", numerator="ledige",
...                      denominator="visiterede", focal="A")
>>> round(res.estimate)  # persons above the peers' pooled rate of 17 %
80
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pandas as pd

from evaluate.data.validate import check_columns, check_frame, check_no_duplicates, check_numeric
from evaluate.data.validate import drop_missing as _drop_missing
from evaluate.effect import Diagnostic, EffectResult, NotApplicable, Provenance, hash_frame
from evaluate.errors import DataError, DesignError, SmallSampleWarning, SpecError
from evaluate.inference.distributions import Normal, StudentT
from evaluate.text import Pct, Text, say

if TYPE_CHECKING:
    from matplotlib.axes import Axes

Uncertainty = Literal["binomial", "spread"]
PeerLevel = Literal["pooled", "mean"]


@dataclass(frozen=True)
class _Spec:
    unit: str
    numerator: str
    denominator: str
    focal: Any
    peers: tuple[Any, ...] | None
    match_on: tuple[str, ...] | None
    n_peers: int
    uncertainty: str
    peer_level: str
    alpha: float


def peer_benchmark(
    data: pd.DataFrame,
    *,
    unit: str,
    numerator: str,
    denominator: str,
    focal: Any,
    peers: Sequence[Any] | None = None,
    match_on: Sequence[str] | None = None,
    n_peers: int = 10,
    uncertainty: Uncertainty = "binomial",
    peer_level: PeerLevel = "pooled",
    numerator_label: str = "",
    complement_label: str = "",
    name: str | None = None,
    population: str = "not stated",
    source: str = "",
    simulated: bool = False,
    drop_missing: bool = False,
    alpha: float = 0.05,
) -> PeerResult:
    """Gap between ``focal`` and its peers on ``numerator / denominator``, in persons.

    Parameters
    ----------
    data : one row per unit.
    unit : column naming the units (municipalities).
    numerator, denominator : count columns; the rate is their ratio.
    focal : the unit benchmarked.
    peers : the peer group (must not contain ``focal``); default: nearest neighbours
        on ``match_on``, or every other unit.
    match_on : covariate columns for a nearest-neighbour choice of ``n_peers`` peers
        (standardised over all units, Euclidean distance).
    uncertainty : "binomial" (counts as binomial draws; delta method) or "spread"
        (the spread of the peers' rates); see the module notes.
    peer_level : "pooled" (sum of numerators over sum of denominators) or "mean".
    numerator_label, complement_label : what the numerator counts ("unemployed
        flexjob-eligible") and, optionally, its complement ("in flexjob"), for the
        read-out sentence.
    name, population, source, simulated : descriptions carried to the report.
    drop_missing : drop (and count) units with missing values instead of failing.
    alpha : 1 - confidence level.

    Returns
    -------
    PeerResult
        Headline: ``(rate_focal - peer level) * denominator_focal`` in persons, the
        number the focal unit counts above (+) or below (-) the peers' level.
    """
    check_frame(data)
    if uncertainty not in ("binomial", "spread"):
        raise SpecError(f"uncertainty must be 'binomial' or 'spread', got {uncertainty!r}.")
    if peer_level not in ("pooled", "mean"):
        raise SpecError(f"peer_level must be 'pooled' or 'mean', got {peer_level!r}.")
    if peers is not None and match_on is not None:
        raise SpecError("Give either peers (a fixed group) or match_on (nearest neighbours).")
    if isinstance(n_peers, bool) or not isinstance(n_peers, int) or n_peers < 2:
        raise SpecError(f"n_peers must be an integer of at least 2, got {n_peers!r}.")
    if not 0 < alpha < 1:
        raise SpecError(f"alpha must lie strictly between 0 and 1, got {alpha!r}.")
    covariates = list(match_on or [])
    check_columns(data, [unit, numerator, denominator, *covariates])
    for col in (numerator, denominator, *covariates):
        check_numeric(data, col)
    frame, n_dropped = _drop_missing(
        data[[unit, numerator, denominator, *covariates]],
        [unit, numerator, denominator, *covariates],
        allow=drop_missing,
        stacklevel=3,
    )
    check_no_duplicates(frame, [unit])
    num = frame[numerator].to_numpy(dtype=float)
    den = frame[denominator].to_numpy(dtype=float)
    if not (den > 0).all():
        bad = frame.loc[~(den > 0), unit].tolist()[:5]
        raise DataError(f"Column {denominator!r} must be positive; it is not for units {bad}.")
    if (num < 0).any() or (num > den).any():
        bad = frame.loc[(num < 0) | (num > den), unit].tolist()[:5]
        raise DataError(
            f"{numerator!r} must lie between 0 and {denominator!r} (a count within its "
            f"denominator); it does not for units {bad}."
        )
    units = frame[unit].tolist()
    if focal not in units:
        raise DataError(f"Focal unit {focal!r} not found in column {unit!r} (e.g. {units[:5]}).")
    spec = _Spec(
        unit, numerator, denominator, focal, None if peers is None else tuple(peers),
        None if match_on is None else tuple(match_on), n_peers, uncertainty, peer_level, alpha,
    )  # fmt: skip
    chosen, distance = _choose_peers(frame, spec, units)
    return _fit(
        frame, spec, chosen, distance, n_dropped, numerator_label or numerator,
        complement_label, name, population, source, simulated,
    )  # fmt: skip


def _choose_peers(frame: pd.DataFrame, spec: _Spec, units: list[Any]):
    others = [u for u in units if u != spec.focal]
    distance = pd.Series(np.nan, index=pd.Index(units, name=spec.unit), name="distance")
    if spec.peers is not None:
        if spec.focal in spec.peers:
            raise SpecError(
                f"The peer group contains the focal unit {spec.focal!r}; remove it (a unit "
                "cannot be its own benchmark)."
            )
        unknown = [p for p in spec.peers if p not in units]
        if unknown:
            raise DataError(f"Peers {unknown} not found in column {spec.unit!r}.")
        chosen = list(dict.fromkeys(spec.peers))
    elif spec.match_on:
        x = frame[list(spec.match_on)].to_numpy(dtype=float)
        sd = x.std(axis=0, ddof=1)
        if np.any(sd == 0):
            const = [c for c, s in zip(spec.match_on, sd, strict=True) if s == 0]
            raise DataError(f"Covariate(s) {const} take one value for every unit; drop them.")
        z = (x - x.mean(axis=0)) / sd
        focal_z = z[units.index(spec.focal)]
        d = np.sqrt(((z - focal_z) ** 2).sum(axis=1))
        distance[:] = d
        if spec.n_peers > len(others):
            raise DesignError(f"n_peers={spec.n_peers} but only {len(others)} other units exist.")
        ranked = distance.drop(spec.focal).sort_values(kind="stable")
        chosen = ranked.index[: spec.n_peers].tolist()
    else:
        chosen = others
    if len(chosen) < 2:
        raise DesignError(f"{len(chosen)} peer(s); a peer benchmark needs at least 2.")
    return chosen, distance


def _fit(frame, spec, chosen, distance, n_dropped, num_label, comp_label, name, population,
         source, simulated) -> PeerResult:  # fmt: skip
    table = pd.DataFrame(
        {
            "numerator": frame[spec.numerator].to_numpy(dtype=float),
            "denominator": frame[spec.denominator].to_numpy(dtype=float),
        },
        index=pd.Index(frame[spec.unit].tolist(), name=spec.unit),
    )
    table["rate"] = table["numerator"] / table["denominator"]
    table["peer"] = table.index.isin(chosen)
    table["distance"] = distance.reindex(table.index).to_numpy()
    peers = table[table["peer"]]
    k = len(peers)
    f = table.loc[spec.focal]
    r_f, d_f = float(f["rate"]), float(f["denominator"])
    if spec.peer_level == "pooled":
        r_p = float(peers["numerator"].sum() / peers["denominator"].sum())
        var_p_binom = r_p * (1 - r_p) / float(peers["denominator"].sum())
    else:
        r_p = float(peers["rate"].mean())
        var_p_binom = float((peers["rate"] * (1 - peers["rate"]) / peers["denominator"]).sum())
        var_p_binom /= k**2
    var_f = r_f * (1 - r_f) / d_f
    spread = float(peers["rate"].std(ddof=1))
    gap = r_f - r_p
    if spec.uncertainty == "binomial":
        se_gap = math.sqrt(var_f + var_p_binom)
        dist_gap: Any = Normal(gap, se_gap)
        inference: Any = Text(
            "peers.inference_binomial",
            "binomial counts with known denominators (delta method): Var = r(1-r)/d for the "
            "focal unit plus the same for the peers' level; peers' differences are ignored",
        )
    else:
        se_gap = math.sqrt(var_f + spread**2 / k)
        dist_gap = StudentT(gap, se_gap, k - 1)
        inference = Text(
            "peers.inference_spread",
            "spread across the {k} peers: SD of their rates / sqrt({k}), plus the focal "
            "rate's binomial variance; t({df})",
            k=k,
            df=k - 1,
        )
    if k < 5:
        warnings.warn(
            f"Only {k} peers: the peers' level and its spread are fragile.",
            SmallSampleWarning,
            stacklevel=3,
        )
    persons = dist_gap.scaled(d_f)
    excess = persons.estimate
    above = excess > 0
    n_excess = round(abs(excess))
    also = (
        Text(
            f"peers.also_{'more' if above else 'fewer'}",
            f", i.e. {{n}} {'more' if above else 'fewer'} {{label}}",
            n=n_excess,
            label=comp_label,
        )
        if comp_label
        else ""
    )
    sentence = Text(
        f"peers.sentence_{'fewer' if above else 'more'}",
        f"At the peers' level ({{peer}}) {{focal}} would have {{n}} "
        f"{'fewer' if above else 'more'} {{label}}{{also}} (its own rate is {{own}} of {{d}}).",
        peer=Pct(r_p, 1),
        focal=str(spec.focal),
        n=n_excess,
        label=num_label,
        also=also,
        own=Pct(r_f, 1),
        d=round(d_f),
    )
    z = (r_f - float(peers["rate"].mean())) / spread if spread > 0 else math.nan
    rank = int((peers["rate"] < r_f).sum())
    diagnostics: dict[str, Diagnostic | NotApplicable] = {
        Text("peers.focal_among", "focal among peers"): Diagnostic(
            Text("peers.z_score", "z-score of the focal rate among peer rates"),
            z,
            passed=bool(abs(z) <= 2) if np.isfinite(z) else None,
            note=Text(
                "peers.z_score_note",
                "{rank} of {k} peers have a lower rate; peer rates {low} to {high}",
                rank=rank,
                k=k,
                low=Pct(float(peers["rate"].min()), 1),
                high=Pct(float(peers["rate"].max()), 1),
            ),
        ),
        Text("peers.heterogeneity", "peer heterogeneity"): Diagnostic(
            Text("peers.heterogeneity_ratio", "SD of peer rates / binomial SD"),
            spread / math.sqrt(r_p * (1 - r_p) / float(peers["denominator"].mean()))
            if 0 < r_p < 1
            else math.nan,
            note=Text(
                "peers.heterogeneity_note",
                "near 1: peers differ by chance only; far above 1: real differences, "
                "so uncertainty='spread' is the honest choice",
            ),
        ),
    }
    if spec.match_on:
        cov = frame.set_index(spec.unit)[list(spec.match_on)]
        bal = pd.DataFrame(
            {
                "focal": cov.loc[spec.focal],
                "peer mean": cov.loc[chosen].mean(),
                "all units mean": cov.mean(),
            }  # fmt: skip
        )
        diagnostics[Text("peers.balance", "covariate balance")] = Diagnostic(
            Text("peers.balance_name", "largest |focal - peer mean| in SDs"),
            float(((bal["focal"] - bal["peer mean"]).abs() / cov.std(ddof=1)).max()),
            note=Text(
                "peers.balance_note",
                "nearest {k} neighbours on {columns}",
                k=k,
                columns=", ".join(spec.match_on),
            ),
        )
    else:
        bal = pd.DataFrame()
    notes: list[Any] = [
        sentence,
        Text(
            "peers.note_benchmark",
            "A benchmark, not a causal effect: the gap says how far the unit is from its "
            "peers, not what a change in practice would achieve.",
        ),
    ]
    if simulated:
        notes.append(Text("note.simulated_data", "The data are SIMULATED, not observed."))
    return PeerResult(
        name=name or f"{spec.numerator} / {spec.denominator}",
        estimand=Text(
            f"peers.estimand_{spec.peer_level}",
            "{focal}'s {label} above (+) or below (-) the count at the peers' "
            f"{spec.peer_level} rate",
            focal=str(spec.focal),
            label=num_label,
        ),
        distribution=persons,
        method=Text(
            f"peers.method_{spec.peer_level}" + ("_nearest" if spec.match_on else ""),
            f"Peer benchmark ({{k}} peers, {spec.peer_level} rate"
            + (", nearest neighbours)" if spec.match_on else ")"),
            k=k,
        ),
        inference=inference,
        unit="persons",
        population=population,
        alpha=spec.alpha,
        diagnostics=diagnostics,
        provenance=Provenance(
            spec=spec.__dict__,
            data_hash=hash_frame(frame),
            n_rows=len(frame),
            n_dropped=n_dropped,
            source=source,
            simulated=simulated,
        ),  # fmt: skip
        notes=tuple(notes),
        table=table,
        focal=spec.focal,
        focal_rate=r_f,
        peer_rate=r_p,
        gap=dist_gap,
        balance=bal,
        sentence=sentence,
    )


@dataclass(frozen=True, kw_only=True, eq=False)
class PeerResult(EffectResult):
    """Result of :func:`peer_benchmark`.

    Beyond the contract: ``table`` (every unit's counts, rate, whether a peer and
    its covariate distance), ``focal_rate``, ``peer_rate``, ``gap`` (the rate gap's
    distribution, as a share), ``balance`` and ``sentence`` (the read-out).
    """

    table: pd.DataFrame
    focal: Any
    focal_rate: float
    peer_rate: float
    gap: Any
    balance: pd.DataFrame
    sentence: str

    @property
    def persons_at_peer_level(self) -> float:
        """How many fewer (positive) the focal unit would count at the peers' rate."""
        return -self.estimate

    def _extra_terms(self) -> list[dict[str, Any]]:
        pp = self.gap.scaled(100.0)
        low, high = pp.interval(self.alpha)
        return [
            {"term": Text("peers.term_gap", "{name}: gap to peers", name=self.name),
             "estimate": pp.estimate,
             "std_error": pp.std_error, "ci_low": low, "ci_high": high,
             "p_value": pp.p_value(0.0), "unit": "percentage points"},
            {"term": Text("peers.term_focal", "{name}: {focal} rate", name=self.name,
                          focal=str(self.focal)),
             "estimate": self.focal_rate,
             "std_error": math.nan, "ci_low": math.nan, "ci_high": math.nan,
             "p_value": math.nan, "unit": "share"},
            {"term": Text("peers.term_peers", "{name}: peers' rate", name=self.name),
             "estimate": self.peer_rate,
             "std_error": math.nan, "ci_low": math.nan, "ci_high": math.nan,
             "p_value": math.nan, "unit": "share"},
        ]  # fmt: skip

    def _summary_tables(self) -> list[tuple[str, pd.DataFrame]]:
        tables = super()._summary_tables()
        shown = self.table[self.table["peer"] | (self.table.index == self.focal)]
        tables.append(("Focal unit and peers", shown.sort_values("rate")))
        if len(self.balance):
            tables.append(("Covariate balance", self.balance))
        return tables

    def plot(self, ax: Axes | None = None) -> Axes:
        """Rates of the focal unit (black) and its peers (blue), the peers' level dashed."""
        from evaluate.plotting import _axes

        shown = self.table[self.table["peer"] | (self.table.index == self.focal)]
        shown = shown.sort_values("rate")
        ax = _axes(ax, figsize=(7.0, max(3.0, 0.25 * len(shown) + 1.0)))
        colors = ["black" if u == self.focal else "C0" for u in shown.index]
        ax.barh([str(u) for u in shown.index], shown["rate"] * 100, color=colors)
        ax.axvline(
            self.peer_rate * 100,
            color="C1",
            linestyle="--",
            label=say(Text("peers.plot_level", "peers' level")),
        )
        ax.set_xlabel(say(Text("peers.plot_rate", "rate (%)")))
        title = Text(
            "peers.plot_title",
            "{focal} vs {k} peers",
            focal=str(self.focal),
            k=int(self.table["peer"].sum()),
        )
        ax.set_title(say(title))
        ax.legend(frameon=False)
        return ax


__all__ = ["PeerResult", "peer_benchmark"]
