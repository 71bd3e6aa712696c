"""Discounting with a stepwise real rate (Finansministeriet's by default).

The rate for year ``t`` after the base year is 3.5 % for years 1-35, 2.5 % for
36-70 and 1.5 % after; the factor for year ``t`` is the product of
``1 / (1 + r_s)`` over ``s = 1..t``, so the steps join without jumps.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib.resources import files

import numpy as np
import pandas as pd

from evaluate.errors import SpecError


@dataclass(frozen=True, eq=False)
class DiscountSchedule:
    frame: pd.DataFrame

    @classmethod
    def danish(cls) -> DiscountSchedule:
        """Finansministeriet's real rate: 3.5 % (years 0-35), 2.5 % (36-70), 1.5 % after."""
        with (files("evaluate.money") / "data" / "discount_dk.csv").open("rb") as handle:
            return cls(pd.read_csv(handle))

    @classmethod
    def constant(cls, rate: float) -> DiscountSchedule:
        if not -0.5 < rate < 1:
            raise SpecError(
                f"A discount rate of {rate!r} is implausible; give it as a share (0.035)."
            )
        return cls(
            pd.DataFrame(
                [
                    {
                        "from_year": 0,
                        "to_year": np.nan,
                        "rate": rate,
                        "source": f"constant rate {rate:.2%}",
                    }
                ]
            )
        )

    @property
    def source(self) -> str:
        return str(self.frame["source"].iloc[0])

    def rate(self, t: int) -> float:
        upper = self.frame["to_year"].fillna(np.inf).to_numpy()
        return float(self.frame["rate"].to_numpy()[np.searchsorted(upper, t, side="left")])

    def factor(self, t: int) -> float:
        """Present-value factor of an amount ``t`` years after the base year."""
        if t < 0:
            raise SpecError(f"Cannot discount to a base year after the cash flow (t = {t}).")
        return float(np.prod([1.0 / (1.0 + self.rate(s)) for s in range(1, t + 1)]))
