"""Price and wage indexation: move an amount from one year's level to another's.

Service costs follow a price-and-wage index (the PL index); transfers follow the
annual rate adjustment (satsregulering).  Two series are bundled (built by
``scripts/build_money_tables.py``): :meth:`PriceIndex.danish_pl`, Finansministeriet's
(ØS) general state price-and-wage index, and :meth:`PriceIndex.satsregulering`, the
chain of announced regulations of transfers.  Any other series (KL's PL for
municipal service, not found in a citable source) can be given with its source.
A rate for a year the rate table lacks can be filled in from the nearest known
year, and the rate says that it was (``Rate.indexed_from``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib.resources import files

import pandas as pd

from evaluate.errors import SpecError


@dataclass(frozen=True)
class PriceIndex:
    """An index by year (any base), e.g. the PL index or the satsregulering chain."""

    name: str
    values: Mapping[int, float]
    source: str
    note: str = field(default="")

    def __post_init__(self) -> None:
        if not self.source:
            raise SpecError(f"Index {self.name!r} needs a source (who publishes it, which year).")
        if not self.values:
            raise SpecError(f"Index {self.name!r} has no values.")
        for year, value in self.values.items():
            if not isinstance(year, int) or not math.isfinite(value) or value <= 0:
                raise SpecError(
                    f"Index {self.name!r}: {year!r} -> {value!r}; years must be integers and "
                    "index values positive numbers."
                )

    @classmethod
    def danish_pl(cls) -> PriceIndex:
        """Finansministeriet's general state price-and-wage index (PL), 2013 = 100,
        chained from ØS's annual rises (*fastprisberegninger*) 2014-2025."""
        with (files("evaluate.money") / "data" / "pl_dk.csv").open("rb") as handle:
            table = pd.read_csv(handle)
        return cls(
            name="PL (stat, generel)",
            values={int(y): float(v) for y, v in zip(table["year"], table["index"], strict=True)},
            source=str(table["source"].iloc[-1]),
            note="State PL: KL's PL for municipal service was not found in a citable source.",
        )

    def factor(self, from_year: int, to_year: int) -> float:
        """Multiply an amount at ``from_year`` level by this to get ``to_year`` level."""
        missing = [y for y in (from_year, to_year) if y not in self.values]
        if missing:
            raise SpecError(
                f"Index {self.name!r} has no value for {missing}; it covers "
                f"{min(self.values)}-{max(self.values)}."
            )
        return self.values[to_year] / self.values[from_year]

    def reprice(self, amount: float, from_year: int, to_year: int) -> float:
        """``amount`` at ``from_year`` prices expressed at ``to_year`` prices."""
        return amount * self.factor(from_year, to_year)
