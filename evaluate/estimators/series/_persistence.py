"""Persistence of an effect after the intervention ends (ITS and forecasts).

When an intervention runs from ``start`` to ``end`` and the series goes on, the
periods after ``end`` say whether the effect outlasts it.  With ``D`` the average
effect per period during the intervention and ``A`` the average after its end,

    persistence = A / D

(1: the effect stays whole; 0: it is gone; 0.5: half of it remains).  Both averages
are linear in the model's parameters (or in the per-period effects), so their
ratio's standard error is the delta method's, ``g = (c_A - p c_D) / D`` with
``c_A, c_D`` the two averages' contrasts, read from a t reference with the
contrast's Satterthwaite df under AR(1) errors (normal otherwise).  A model
forecast whose interval comes from simulated future paths (ETS) takes the ratio
path by path instead, and its interval is the percentiles of those ratios
(``interval="paths"``); the notes say which of the two was used.  The delta
method wants ``D`` well away from zero: a persistence of an effect that is not
distinguishable from zero says nothing, and a note says so.

Feeding the business case.  :meth:`Persistence.effect_shares` turns the
persistence into effect shares by year for
:func:`evaluate.money.cashflow.effect_years`-style exposure: the years of the
intervention count 1 (the first ``first_year``); after the end the effect decays
geometrically, ``r^h`` in the ``h``-th period after the end, with ``r`` fitted so
that the average of ``r^h`` over the observed after-periods equals the
persistence (``r`` = 1 when the persistence is 1 or more, 0 when it is 0 or
less); a year's share is the average of ``r^h`` over its periods.  ``bound="low"``
or ``"high"`` gives the same shares at the interval's limits, for a scenario.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd
from scipy import optimize

from evaluate.data.series import coerce_time
from evaluate.errors import DesignError, SpecError
from evaluate.inference.distributions import Distribution
from evaluate.text import Num, Pct, Text
from evaluate.text import Period as TextPeriod

Bound = Literal["estimate", "low", "high"]


@dataclass(frozen=True, eq=False)
class Persistence:
    """The effect after ``end`` as a share of the effect during the intervention.

    ``during`` and ``after`` are the average effects per period (``n_during`` and
    ``n_after`` periods), ``share`` their ratio with its reference: the delta
    method's (``interval="delta"``) or the ratios over simulated future paths
    (``interval="paths"``, an :class:`~evaluate.inference.distributions.Empirical`).
    """

    end: Any
    during: Distribution
    after: Distribution
    share: Distribution
    n_during: int
    n_after: int
    alpha: float = 0.05
    interval: Literal["delta", "paths"] = "delta"

    def __post_init__(self) -> None:
        if self.interval not in ("delta", "paths"):
            raise SpecError(f"interval must be 'delta' or 'paths', got {self.interval!r}.")

    def _value(self, bound: Bound) -> float:
        if bound == "estimate":
            return float(self.share.estimate)
        if bound not in ("low", "high"):
            raise SpecError(f"bound must be 'estimate', 'low' or 'high', got {bound!r}.")
        low, high = self.share.interval(self.alpha)
        return float(low if bound == "low" else high)

    def decay_per_period(self, bound: Bound = "estimate") -> float:
        """``r``: the per-period retention whose average over the after-periods
        equals the persistence (see the module docstring)."""
        p = self._value(bound)
        if not math.isfinite(p):
            raise SpecError("The persistence is not finite; no decay can be fitted.")
        h = np.arange(1, self.n_after + 1)
        if p >= 1.0:
            return 1.0
        if p <= 0.0:
            return 0.0
        return float(optimize.brentq(lambda r: float(np.mean(r**h)) - p, 0.0, 1.0, xtol=1e-12))

    def annual_decay(self, periods_per_year: int = 12, bound: Bound = "estimate") -> float:
        """Share of the effect lost each year after the end, ``1 - r^periods_per_year``:
        the ``decay`` of :func:`evaluate.money.cashflow.effect_years`."""
        return 1.0 - self.decay_per_period(bound) ** periods_per_year

    def effect_shares(
        self,
        start: int,
        years: int,
        *,
        years_during: int = 1,
        first_year: float = 1.0,
        periods_per_year: int = 12,
        bound: Bound = "estimate",
    ) -> dict[int, float]:
        """Effect shares by year: ``years_during`` years of the intervention (the
        first counted ``first_year``), then the fitted decay.

        >>> from evaluate.inference.distributions import Normal
        >>> p = Persistence("2020-06", Normal(-10, 1), Normal(-5, 1), Normal(0.5, 0.1), 12, 12)
        >>> shares = p.effect_shares(2020, 3)
        >>> shares[2020], round(shares[2021], 3), round(shares[2022], 3)
        (1.0, 0.5, 0.119)
        """
        if years < 1 or years_during < 1 or not 0 < first_year <= 1 or periods_per_year < 1:
            raise SpecError(
                "effect_shares needs years >= 1, years_during >= 1, 0 < first_year <= 1 and "
                f"periods_per_year >= 1; got years={years}, years_during={years_during}, "
                f"first_year={first_year}, periods_per_year={periods_per_year}."
            )
        r = self.decay_per_period(bound)
        out: dict[int, float] = {}
        for k in range(years):
            if k < years_during:
                out[start + k] = first_year if k == 0 else 1.0
            else:
                j = k - years_during  # whole years after the end
                h = np.arange(j * periods_per_year + 1, (j + 1) * periods_per_year + 1)
                out[start + k] = float(np.mean(r**h))
        return out

    def rows(self, name: str, unit: str) -> list[dict[str, Any]]:
        """Rows of a tidy table: the average effect after the end and the persistence."""
        rows = []
        for term, dist, row_unit in (
            (Text("term.after_end", "{name}: average after {end}", name=name,
                  end=TextPeriod(self.end)), self.after, unit),
            (Text("term.persistence", "{name}: persistence after {end} (share of effect "
                  "during)", name=name, end=TextPeriod(self.end)), self.share, "share"),
        ):  # fmt: skip
            low, high = dist.interval(self.alpha)
            rows.append({"term": term, "estimate": float(dist.estimate),
                         "std_error": float(dist.std_error), "ci_low": low, "ci_high": high,
                         "p_value": dist.p_value(0.0), "unit": row_unit})  # fmt: skip
        return rows

    def note(self) -> Text:
        """The persistence with its interval, naming how the interval was had."""
        low, high = self.share.interval(self.alpha)
        values = {
            "end": TextPeriod(self.end),
            "after": self.n_after,
            "share": Pct(self.share.estimate),
            "level": Pct(1 - self.alpha),
            "low": Pct(low),
            "high": Pct(high),
        }
        if self.interval == "paths":
            return Text(
                "note.persistence_paths",
                "The intervention ended in {end}: over the {after} periods after it the "
                "effect is {share} of the effect during it ({level} CI {low} to {high}; "
                "percentiles of the ratio over {paths} simulated future paths of the model).",
                paths=len(getattr(self.share, "samples", ())),
                **values,
            )
        return Text(
            "note.persistence",
            "The intervention ended in {end}: over the {after} periods after it the effect "
            "is {share} of the effect during it ({level} CI {low} to {high}; delta method).",
            **values,
        )

    def notes(self) -> list[Text]:
        """What a result's notes say about persistence: the share, and a warning when
        the effect during the intervention is too weak to carry a share."""
        weak = self.weak_note()
        return [self.note()] if weak is None else [self.note(), weak]

    def weak_note(self) -> Text | None:
        """A warning when the effect during is not distinguishable from zero."""
        if self.during.p_value(0.0) < self.alpha:
            return None
        return Text(
            "note.persistence_weak",
            "The effect during the intervention is not distinguishable from zero (p = {p}), "
            "so the persistence, a ratio to it, is poorly determined.",
            p=Num(self.during.p_value(0.0), sig=2),
        )


def intervention_end(
    times: pd.Series, start_p: Any, end: Any, time: str, *, min_after: int = 1
) -> tuple[Any, np.ndarray | None]:
    """The intervention's last period, read like ``times``, and the mask of the
    periods after it (``None, None`` without ``end``)."""
    if end is None:
        return None, None
    _, _, end_p = coerce_time(pd.DataFrame({time: times}), time, None, end)
    if end_p < start_p:
        raise SpecError(f"end {end_p} lies before start {start_p}; end is the intervention's "
                        "last period.")  # fmt: skip
    after = (times > end_p).to_numpy()
    if int(after.sum()) < min_after:
        raise DesignError(
            f"end {end_p} leaves {int(after.sum())} periods after the intervention (the data "
            f"end in {times.iloc[-1]}); persistence needs at least {min_after}. Drop end= or "
            "give the periods after it."
        )
    return end_p, after


def ratio(
    est_after: float,
    est_during: float,
    c_after: np.ndarray,
    c_during: np.ndarray,
    vcov: np.ndarray,
    make: Any,
) -> tuple[Distribution, Distribution, Distribution]:
    """During, after and persistence distributions from linear contrasts.

    ``c_after``, ``c_during`` are the gradients of the two averages in the
    parameters (covariance ``vcov``); ``make(estimate, se, contrast)`` builds the
    reference distribution (t with the contrast's df, or normal).
    """
    share = est_after / est_during
    g = (c_after - share * c_during) / est_during

    def se(c: np.ndarray) -> float:
        return math.sqrt(max(float(c @ vcov @ c), 0.0))

    return (
        make(est_during, se(c_during), c_during),
        make(est_after, se(c_after), c_after),
        make(share, se(g), g),
    )


__all__ = ["Persistence", "intervention_end", "ratio"]


class EndsMixin:
    """For results of designs that take the intervention's ``end``: effect shares by
    year from the fitted decay, for a business case's effect years."""

    persistence: Persistence | None

    def effect_shares(
        self,
        start: int,
        years: int,
        *,
        years_during: int = 1,
        first_year: float = 1.0,
        periods_per_year: int = 12,
        bound: Bound = "estimate",
    ) -> dict[int, float]:
        """Effect shares by year from the fitted decay after the end, for a business
        case's effect years (:meth:`Persistence.effect_shares`)."""
        if self.persistence is None:
            raise SpecError("effect_shares needs the intervention's end: fit with end=.")
        return self.persistence.effect_shares(
            start, years, years_during=years_during, first_year=first_year,
            periods_per_year=periods_per_year, bound=bound,
        )  # fmt: skip
