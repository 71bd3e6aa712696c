"""The socio-economic perspective: production from employment, and taxes.

A person moved from benefit into work produces what the employer pays for the
work.  Wages are factor prices; socio-economic analyses value consumption at
market prices, so the production value is multiplied by the net tax factor
(Finansministeriet's *nettoafgiftsfaktor*, 1.28 in the bundled table).  Benefits
themselves are transfers: a saving for the public purse, but no gain for
society as a whole, so a society line counts production, not benefits.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from importlib.resources import files

import pandas as pd

from evaluate.effect import Effect
from evaluate.errors import SpecError
from evaluate.money.cashflow import PERSON_UNITS, CashFlowLine, Perspective, monetize


@dataclass(frozen=True)
class Factor:
    name: str
    value: float
    source: str
    status: str = "current"
    valid_from: int | None = None


def factor_table() -> pd.DataFrame:
    """Every bundled factor with its history (``money/data/factors_dk.csv``)."""
    with (files("evaluate.money") / "data" / "factors_dk.csv").open("rb") as handle:
        return pd.read_csv(handle, keep_default_na=False)


def factor(name: str, year: int | None = None) -> Factor:
    """A socio-economic factor with its source: the current guidance's value, or the
    one in force in ``year`` (e.g. ``factor("tax_distortion", 2016)`` is the 20 % of
    the 1999 guidance; from the June 2023 guidance it is 0, a factor of 1)."""
    table = factor_table()
    rows = table[table["factor"] == name]
    if rows.empty:
        known = ", ".join(sorted(table["factor"].unique()))
        raise SpecError(f"No factor {name!r}; known: {known}.")
    if year is None:
        rows = rows[rows["status"] == "current"]
    else:
        upper = pd.to_numeric(rows["valid_to"], errors="coerce").fillna(9999)
        rows = rows[(rows["valid_from"].astype(int) <= year) & (upper >= year)]
        if rows.empty:
            raise SpecError(f"No {name!r} factor in force in {year}; see factors_dk.csv.")
    row = rows.iloc[0]
    return Factor(
        name,
        float(row["value"]),
        f"{row['source']} ({row['source_url']})",
        str(row["status"]),
        int(row["valid_from"]),
    )


def _check_persons(effect: Effect, name: str) -> None:
    if effect.unit not in PERSON_UNITS:
        raise SpecError(
            f"Line {name!r}: needs an effect in persons or full-time persons in work, "
            f"but {effect.name!r} is in {effect.unit!r}."
        )


def production_value(
    effect: Effect,
    *,
    name: str = "Production value of employment",
    annual_wage: float,
    years: Mapping[int, float] | Sequence[int] | int,
    net_tax_factor: float | None = None,
    source: str = "",
) -> CashFlowLine:
    """Society's gain from ``effect`` more full-time persons in work.

    ``effect`` counts persons *in work* (positive = more in work); the gain per
    person-year is ``annual_wage * net_tax_factor`` (the bundled factor by default).
    """
    _check_persons(effect, name)
    if annual_wage <= 0:
        raise SpecError(f"Line {name!r}: annual_wage must be positive, got {annual_wage!r}.")
    if net_tax_factor is None:
        bundled = factor("net_tax_factor")
        value, factor_source = bundled.value, bundled.source
    else:
        value, factor_source = float(net_tax_factor), "given by the user"
    line = monetize(
        effect,
        name=name,
        years=years,
        # more persons in work = production gained = negative expenditure
        dkk_per_unit=-annual_wage * value,
        perspective="society",
        category="service",
        source=f"{source}; net tax factor {value:g} ({factor_source})".strip("; "),
    )
    return replace(line, payer_rule="production")


def tax_revenue(
    effect: Effect,
    *,
    name: str = "Tax on earnings",
    annual_earnings: float,
    tax_rate: float,
    years: Mapping[int, float] | Sequence[int] | int,
    perspective: Perspective = "state",
    source: str = "",
) -> CashFlowLine:
    """Public revenue from ``effect`` more persons in work: earnings times a tax rate."""
    _check_persons(effect, name)
    if not 0 < tax_rate < 1:
        raise SpecError(f"Line {name!r}: tax_rate is a share in (0, 1), got {tax_rate!r}.")
    return monetize(
        effect,
        name=name,
        years=years,
        dkk_per_unit=-annual_earnings * tax_rate,
        perspective=perspective,
        category="transfers",
        source=source,
    )
