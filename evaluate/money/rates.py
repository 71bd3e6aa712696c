"""Benefit rates as data: every value has a year and a source, and can be overridden.

The bundled table (``money/data/rates_dk.csv``) holds Danish rates as published by
STAR.  A rate is looked up by benefit and year; an unknown year is an error that
says which years are known (indexation to fill gaps comes with the money issue).
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib.resources import files
from typing import Literal

import pandas as pd

from evaluate.errors import SpecError
from evaluate.money.index import PriceIndex
from evaluate.text import Num, Text

Per = Literal["week", "month", "year"]
_PER_YEAR = {"week": 52.0, "month": 12.0, "year": 1.0}
"""Periods per year.  A year is counted as 52 benefit weeks, as in STAR's annual rates."""


@dataclass(frozen=True)
class Rate:
    """One benefit rate: ``amount`` DKK per ``per`` in ``year``, with its source."""

    benefit: str
    year: int
    amount: float
    per: Per
    basis: str
    source: str
    indexed_from: int | None = None
    """When set, the rate was not in the table for ``year``: it is the ``indexed_from``
    rate moved to ``year`` with a :class:`~evaluate.money.index.PriceIndex`."""

    @property
    def annual(self) -> float:
        """The rate for a full year on the benefit (one full-time person)."""
        return self.amount * _PER_YEAR[self.per]

    def describe(self) -> Text:
        flag = (
            Text("rate.indexed", "; INDEXED from {year}", year=str(self.indexed_from))
            if self.indexed_from is not None
            else ""
        )
        return Text(
            f"rate.per_{self.per}",
            f"{{benefit}} {{year}}: {{amount}} DKK/{self.per} ({{basis}}; {{source}}{{flag}})",
            benefit=self.benefit,
            year=str(self.year),
            amount=Num(self.amount, 0),
            basis=Text(f"basis.{self.basis}", self.basis),
            source=self.source,
            flag=flag,
        )


@dataclass(frozen=True, eq=False)
class RateTable:
    """A table of :class:`Rate` values; ``with_rate`` returns a table with one overridden."""

    frame: pd.DataFrame

    @classmethod
    def danish(cls) -> RateTable:
        """The bundled Danish rates (see ``evaluate/money/data/rates_dk.csv``)."""
        with (files("evaluate.money") / "data" / "rates_dk.csv").open("rb") as handle:
            return cls(pd.read_csv(handle))

    def get(self, benefit: str, year: int, *, index: PriceIndex | None = None) -> Rate:
        """The rate of ``benefit`` in ``year``.

        A year the table lacks is an error, unless ``index`` is given: the nearest known
        year's rate is then moved to ``year`` with it, and the rate is flagged
        (``indexed_from``) so the report says so.
        """
        rows = self.frame[(self.frame["benefit"] == benefit) & (self.frame["year"] == year)]
        if rows.empty:
            known = self.frame.loc[self.frame["benefit"] == benefit, "year"].tolist()
            if not known:
                names = ", ".join(sorted(self.frame["benefit"].unique()))
                raise SpecError(f"No rate for benefit {benefit!r}; known benefits: {names}.")
            if index is None:
                raise SpecError(
                    f"No {benefit!r} rate for {year}; known years: {known}. Give the rate "
                    "yourself with RateTable.with_rate(...), or an index to fill it in."
                )
            nearest = min(known, key=lambda k: (abs(k - year), -k))
            base = self.get(benefit, nearest)
            return Rate(
                benefit=benefit,
                year=year,
                amount=index.reprice(base.amount, nearest, year),
                per=base.per,
                basis=base.basis,
                source=f"{base.source}; indexed {nearest}->{year} with {index.name} "
                f"({index.source})",
                indexed_from=nearest,
            )
        row = rows.iloc[-1]
        return Rate(
            benefit=benefit,
            year=int(row["year"]),
            amount=float(row["amount"]),
            per=row["per"],
            basis=str(row["basis"]),
            source=str(row["source"]),
        )

    def with_rate(
        self, benefit: str, year: int, amount: float, per: Per, *, basis: str = "", source: str
    ) -> RateTable:
        """A new table where ``benefit`` in ``year`` is ``amount`` (the user's override)."""
        if per not in _PER_YEAR:
            raise SpecError(f"per must be 'week', 'month' or 'year', got {per!r}.")
        if not source:
            raise SpecError("An overriding rate needs a source (who says so, and when).")
        if not amount > 0:
            raise SpecError(f"Rate for {benefit!r} {year} must be positive, got {amount!r}.")
        keep = ~((self.frame["benefit"] == benefit) & (self.frame["year"] == year))
        row = pd.DataFrame(
            [
                {
                    "benefit": benefit,
                    "year": year,
                    "amount": amount,
                    "per": per,
                    "basis": basis or "user override",
                    "source": source,
                }
            ]
        )
        return RateTable(pd.concat([self.frame[keep], row], ignore_index=True))
