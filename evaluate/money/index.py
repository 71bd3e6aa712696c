"""Price and wage indexation: move an amount from one year's level to another's.

Service costs follow a price-and-wage index (the PL index); transfers follow the
annual rate adjustment (satsregulering).  No index series is bundled: give the
one your business case uses, with its source, as a :class:`PriceIndex`.  A rate
for a year the rate table lacks can then be filled in from the nearest known
year, and the rate says that it was (``Rate.indexed_from``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field

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
