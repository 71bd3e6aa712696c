"""Cash-flow lines: an effect turned into money, and the costs of the intervention.

Amounts are kept as *expenditure* in DKK at the case's price level: plus is money
spent, minus is money saved or earned (the municipal convention of Danish
business cases).  A line made from an effect keeps the effect and its price per
unit, so the business case can redraw the amount from the effect's uncertainty
and scale it for break-even analysis.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

from evaluate.effect import Effect
from evaluate.errors import SpecError
from evaluate.money.rates import Rate
from evaluate.money.refusion import RefusionSchedule
from evaluate.money.weeks import WeekProfile
from evaluate.text import Num, Pct, Text

Perspective = Literal["municipality", "state", "society"]
PERSPECTIVES: tuple[str, ...] = ("municipality", "state", "society")
Category = Literal["service", "transfers", "capital"]
CATEGORIES: tuple[str, ...] = ("service", "transfers", "capital")
"""Danish business-case rows: service, overførsler (transfers) and anlæg (capital)."""
PERSON_UNITS = ("persons", "full-time persons")


@dataclass(frozen=True)
class LineInputs:
    """What a line made from an effect is the product of, so that a spreadsheet can
    rebuild it (:mod:`evaluate.report.excel`): for each year ``y``,
    ``amounts[y] = effect x exposure[y] x price[y] x (1 - refusion)``.

    ``price`` is the signed gross expenditure per unit of the effect per effect-year;
    for a line priced by benefit rates it is ``sign x rates[y].annual``.  With a week
    profile, ``refusion`` is the profile's weighted share (``step_shares`` weighted by
    ``profile.weights``).
    """

    exposure: Mapping[int, float]
    price: Mapping[int, float]
    refusion: float = 0.0
    refusion_source: str = ""
    rates: Mapping[int, Rate] = field(default_factory=dict)
    sign: int = 1
    implied: bool = False
    """The price is implied by a total a source states at the point estimate."""
    profile: WeekProfile | None = None
    step_shares: tuple[float, ...] = ()


@dataclass(frozen=True, eq=False)
class CashFlowLine:
    """One line of a business case.

    ``amounts`` maps year -> expenditure (DKK) at the effect's point estimate.  For a
    line made from an effect, ``per_unit`` maps year -> expenditure per unit of the
    effect, so that ``amounts[y] == effect.estimate * per_unit[y]``.
    """

    name: str
    amounts: Mapping[int, float]
    perspective: Perspective = "municipality"
    source: str = ""
    effect: Effect | None = None
    per_unit: Mapping[int, float] = field(default_factory=dict)
    note: str = ""
    category: Category = "service"
    gross_per_unit: Mapping[int, float] = field(default_factory=dict)
    """For a benefit line: expenditure per unit of the effect *before* refusion, so the
    payer split (:mod:`evaluate.money.payers`) can give the state its share."""
    refusion_share: float | None = None
    """The refusion share the line is net of (None: not a refunded benefit line)."""
    shortcut_per_unit: Mapping[int, float] = field(default_factory=dict)
    """For a line priced week by week: ``per_unit`` with one average refusion share
    instead (the shortcut the report compares with)."""
    shortcut_share: float | None = None
    shortcut_source: str = ""
    payer_rule: Literal["", "production"] = ""
    """How the payer split treats the line: "production" splits a production value
    into net wage, taxes and indirect taxes (:mod:`evaluate.money.payers`)."""
    inputs: LineInputs | None = None
    """For a line made from an effect: the factors its amounts are the product of."""

    def __post_init__(self) -> None:
        if self.category not in CATEGORIES:
            raise SpecError(
                f"Line {self.name!r}: category must be one of {CATEGORIES}, got {self.category!r}."
            )
        if self.perspective not in PERSPECTIVES:
            raise SpecError(
                f"Line {self.name!r}: perspective must be one of {PERSPECTIVES}, "
                f"got {self.perspective!r}."
            )
        for year, amount in self.amounts.items():
            if not isinstance(year, int) or isinstance(year, bool):
                raise SpecError(f"Line {self.name!r}: years must be integers, got {year!r}.")
            if not math.isfinite(amount):
                raise SpecError(f"Line {self.name!r}: the {year} amount {amount!r} is not finite.")

    @property
    def linked(self) -> bool:
        """True when the line scales with an effect."""
        return self.effect is not None

    @property
    def total(self) -> float:
        return float(sum(self.amounts.values()))

    @property
    def shortcut_amounts(self) -> dict[int, float]:
        """The line's amounts had refusion been one average share (empty if not priced
        week by week)."""
        if self.effect is None or not self.shortcut_per_unit:
            return {}
        return {y: self.effect.estimate * p for y, p in self.shortcut_per_unit.items()}


def _exposure(years: Mapping[int, float] | Sequence[int] | int) -> dict[int, float]:
    if isinstance(years, int):
        return {years: 1.0}
    if isinstance(years, Mapping):
        exposure = {int(y): float(v) for y, v in years.items()}
    else:
        exposure = {int(y): 1.0 for y in years}
    if not exposure or any(v < 0 or not math.isfinite(v) for v in exposure.values()):
        raise SpecError(
            f"years must name at least one year with a non-negative exposure: {years!r}"
        )
    return exposure


def monetize(
    effect: Effect,
    *,
    name: str,
    years: Mapping[int, float] | Sequence[int] | int,
    dkk_per_unit: float | Mapping[int, float] | None = None,
    total_at_estimate: float | None = None,
    rate: Rate | Mapping[int, Rate] | None = None,
    sign: Literal[1, -1] = 1,
    refusion_share: float = 0.0,
    week_profile: WeekProfile | None = None,
    refusion: RefusionSchedule | None = None,
    perspective: Perspective = "municipality",
    category: Category = "transfers",
    source: str = "",
    refusion_source: str = "",
) -> CashFlowLine:
    """Turn an effect into an expenditure line.

    Parameters
    ----------
    effect : any result satisfying the :class:`~evaluate.effect.Effect` contract.
    name : the line's label ("ledighedsydelse").
    years : the years the effect lasts, or a mapping year -> exposure (how many
        effect-years fall in that year; 8/12 for May-December).
    dkk_per_unit : gross expenditure per unit of the effect per effect-year (e.g.
        the annual benefit for one full-time person: an effect of -10 persons then
        saves 10 annual benefits); a mapping year -> DKK prices each year on its own.
    total_at_estimate : instead of a unit price, the total stated by a source at the
        point estimate; the implied unit price is derived from it and reported.
    rate : instead of a unit price, a benefit :class:`~evaluate.money.rates.Rate`, or a
        mapping year -> Rate that prices each year at that year's rate; the annual
        amount is the price of one full-time person, so the effect must be in persons
        or full-time persons.
    sign : -1 when more of the effect *saves* money at that price (e.g. more people
        in work save the benefit); +1 (default) when more of it costs money.
    refusion_share : share of the gross amount the state reimburses; the municipality
        bears ``1 - refusion_share`` of it.
    week_profile : instead of one share, how the effect falls on the weeks of support
        (:class:`~evaluate.money.weeks.WeekProfile`): each step is priced at its own
        refusion share (``refusion``, the Danish schedule by default).  When the
        profile has an ``average_share``, the line also keeps what that one share
        would have given (``shortcut_amounts``).
    perspective : whose money it is.
    refusion_source : where ``refusion_share`` comes from (the law and the weeks); kept
        with the line's inputs (:class:`LineInputs`) for the workbook.

    Examples
    --------
    >>> from evaluate.estimators.series.stated import stated_expectation
    >>> effect = stated_expectation(name="ledighedsydelse", observed_change=-0.08,
    ...                             expected_change=0.18)
    >>> line = monetize(effect, name="ledighedsydelse", years=2019, total_at_estimate=-7.8e6)
    >>> round(line.per_unit[2019])  # implied spending per unit share of the baseline
    30000000
    """
    exposure = _exposure(years)
    given = [p for p in (dkk_per_unit, total_at_estimate, rate) if p is not None]
    if len(given) != 1:
        raise SpecError(
            f"Line {name!r}: give exactly one of dkk_per_unit, total_at_estimate and rate."
        )
    rate_note: str | Text = ""
    price: dict[int, float] | None = None
    rates: dict = {}
    if rate is not None:
        if effect.unit not in PERSON_UNITS:
            raise SpecError(
                f"Line {name!r}: a benefit rate is DKK per full-time person, but the effect "
                f"{effect.name!r} is in {effect.unit!r}. Express the effect in persons or "
                "full-time persons (e.g. baseline x share), or give dkk_per_unit."
            )
        rates = _by_year(rate, exposure, name, "rate")
        price = {y: r.annual for y, r in rates.items()}
        described = [rates[y].describe() for y in sorted(rates)]
        if len({r.year for r in rates.values()}) == 1:
            described = described[:1]
        rate_note = Text("line.rate_note", "; {rate}", rate=_join(described))
    elif dkk_per_unit is not None:
        price = {
            y: float(p) for y, p in _by_year(dkk_per_unit, exposure, name, "dkk_per_unit").items()
        }
    if sign not in (1, -1):
        raise SpecError(f"Line {name!r}: sign must be 1 or -1, got {sign!r}.")
    if not 0.0 <= refusion_share < 1.0:
        raise SpecError(f"Line {name!r}: refusion_share must be in [0, 1), got {refusion_share!r}.")
    if week_profile is not None:
        if refusion_share:
            raise SpecError(
                f"Line {name!r}: give refusion_share or week_profile, not both: the profile "
                "prices refusion week by week."
            )
        if price is None:
            raise SpecError(
                f"Line {name!r}: a week profile prices a rate or a unit price, not a stated total."
            )
        refusion_share = week_profile.refusion_share(refusion)
        refusion_source = refusion_source or (refusion or RefusionSchedule.danish()).source
    net = 1.0 - refusion_share
    total_exposure = sum(exposure.values())
    if price is None:
        if effect.estimate == 0 or total_exposure == 0:
            raise SpecError(
                f"Line {name!r}: a stated total cannot be spread over an effect of 0 "
                "or an exposure of 0; give dkk_per_unit instead."
            )
        implied = float(total_at_estimate) / (effect.estimate * total_exposure * net)
        price = {y: implied for y in exposure}
        note: Text = Text(
            "line.implied_price",
            "unit price implied by the stated total: {dkk} DKK per unit",
            dkk=Num(implied, 0),
        )
    else:
        price = {y: sign * p for y, p in price.items()}
        shown = sorted(set(price.values()))
        note = Text(
            "line.unit_price",
            "{dkk} DKK per unit per year{rate}",
            dkk=Num(shown[0], 0)
            if len(shown) == 1
            else Text(
                "line.unit_price_range",
                "{low} to {high}",
                low=Num(shown[0], 0),
                high=Num(shown[-1], 0),
            ),
            rate=rate_note,
        )
    if week_profile is not None:
        note = Text(
            "line.net_of_refusion_by_week",
            "{note}, net of refusion priced week by week ({share} on the weeks of the effect)",
            note=note,
            share=Pct(refusion_share, 1),
        )
    elif refusion_share:
        note = Text(
            "line.net_of_refusion",
            "{note}, net of {share} refusion",
            note=note,
            share=Pct(refusion_share, 1),
        )
    per_unit = {y: price[y] * net * e for y, e in exposure.items()}
    refunded = category == "transfers" and (week_profile is not None or refusion_share > 0)
    shortcut = (
        {y: price[y] * (1 - week_profile.average_share) * e for y, e in exposure.items()}
        if week_profile is not None and week_profile.average_share is not None
        else {}
    )
    return CashFlowLine(
        name=name,
        amounts={y: effect.estimate * p for y, p in per_unit.items()},
        perspective=perspective,
        source=source,
        effect=effect,
        per_unit=per_unit,
        note=note,
        category=category,
        gross_per_unit={y: price[y] * e for y, e in exposure.items()} if refunded else {},
        refusion_share=refusion_share if refunded else None,
        shortcut_per_unit=shortcut,
        shortcut_share=None if not shortcut else week_profile.average_share,
        shortcut_source=week_profile.average_source if shortcut else "",
        inputs=LineInputs(
            exposure=dict(exposure),
            price=dict(price),
            refusion=refusion_share,
            refusion_source=refusion_source,
            rates=rates if rate is not None else {},
            sign=sign if rate is not None else 1,
            implied=total_at_estimate is not None,
            profile=week_profile,
            step_shares=()
            if week_profile is None
            else tuple(float(s) for s in week_profile.step_shares(refusion)),
        ),
    )


def _by_year(value, exposure: Mapping[int, float], name: str, what: str) -> dict:
    """A value for each exposure year: the same one, or a mapping that covers them all."""
    if not isinstance(value, Mapping):
        return {y: value for y in exposure}
    missing = sorted(set(exposure) - {int(y) for y in value})
    if missing:
        raise SpecError(
            f"Line {name!r}: {what} has no value for {missing}; it covers "
            f"{sorted(int(y) for y in value)}. Give one for every year of the line."
        )
    return {y: value[y] for y in exposure}


def _join(parts: list) -> str | Text:
    if len(parts) == 1:
        return parts[0]
    out = parts[0]
    for part in parts[1:]:
        out = Text("line.sources", "{a}; {b}", a=out, b=part)
    return out


def cost(
    name: str,
    amounts: Mapping[int, float],
    *,
    perspective: Perspective = "municipality",
    category: Category = "service",
    source: str = "",
    note: str = "",
) -> CashFlowLine:
    """A fixed expenditure line (positive = money spent), e.g. extra caseworkers."""
    return CashFlowLine(
        name=name,
        amounts={int(y): float(a) for y, a in amounts.items()},
        perspective=perspective,
        source=source,
        note=note,
        category=category,
    )


def staff_cost(
    name: str,
    *,
    fte: float,
    annual_cost: float,
    years: Mapping[int, float] | Sequence[int] | int,
    perspective: Perspective = "municipality",
    source: str = "",
) -> CashFlowLine:
    """Full-time equivalents times an annual cost per FTE, by year (exposure as in monetize)."""
    if fte <= 0 or annual_cost <= 0:
        raise SpecError(f"Line {name!r}: fte and annual_cost must be positive.")
    exposure = _exposure(years)
    return cost(
        name,
        {y: fte * annual_cost * e for y, e in exposure.items()},
        perspective=perspective,
        source=source,
        note=Text(
            "line.staff",
            "{fte} FTE x {dkk} DKK per year",
            fte=Num(fte, sig=3) if fte != int(fte) else int(fte),
            dkk=Num(annual_cost, 0),
        ),
    )


def effect_years(
    start: int, years: int, *, first_year: float = 1.0, decay: float = 0.0
) -> dict[int, float]:
    """Exposure by year for an effect that starts in ``start`` and lasts ``years`` years.

    ``first_year`` is the share of the first year the effect is present (8/12 from
    May); ``decay`` the share of the effect lost each following year (0.2 keeps 80 %,
    then 64 %, ...), for effects that fade after the intervention ends.

    >>> effect_years(2018, 3, first_year=8 / 12, decay=0.5)
    {2018: 0.6666666666666666, 2019: 0.5, 2020: 0.25}
    """
    if years < 1 or not 0 < first_year <= 1 or not 0 <= decay < 1:
        raise SpecError(
            f"effect_years needs years >= 1, 0 < first_year <= 1 and 0 <= decay < 1; got "
            f"years={years}, first_year={first_year}, decay={decay}."
        )
    return {start + k: (first_year if k == 0 else (1 - decay) ** k) for k in range(years)}
