"""Benefit rates as data: every value has a year, a category, a source and a grade.

The bundled table (``money/data/rates_dk.csv``) is built by
``scripts/build_money_tables.py`` from a sourced collection of published Danish
rates (copied to ``money/data/source/``).  Each row keeps the source's title, URL
and legal reference, and a ``grade``:

``official``
    a ministry, the law text, retsinformation/socialjura or Medst;
``secondary``
    an a-kasse, union, municipality or employers' association copying them;
``low``
    the collection marks the year as inferred or the source as tertiary;
``satsreguleret``
    no source gives the year: it is the year before times (1 + the announced
    satsreguleringsprocent less the statutory fradrag), flagged as such.

A rate is looked up by benefit, year and category.  What does not exist is a
:class:`~evaluate.errors.RateError` that lists what does (benefits, categories,
years), and a lookup across the kontanthjælp reform of 1 July 2025 is a
:class:`~evaluate.errors.ReformError` that says which categories exist on the
other side: the reform changed the categories, it did not continue them.

>>> table = RateTable.danish()
>>> rate = table.get("kontanthjaelp", 2023, category="fyldt 30 år, andre")
>>> rate.amount, rate.per, rate.grade
(11944.0, 'month', 'official')
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cache
from importlib.resources import files
from typing import Literal

import pandas as pd

from evaluate._rate_keys import ALIASES, DEFAULT_CATEGORY, benefit_key
from evaluate.errors import RateError, ReformError, SpecError
from evaluate.money.index import PriceIndex
from evaluate.text import Num, Text

Per = Literal["week", "month", "year", "day", "hour"]
_PER_YEAR = {"week": 52.0, "month": 12.0, "year": 1.0, "day": 260.0}
"""Periods per year.  A year is 52 benefit weeks, as in STAR's annual rates; a daily
dagpenge rate (before the monthly system of 1 July 2017) is paid 5 days a week:
ALF § 47, stk. 2 (day = month / 160.33 x 7.4) gives 12 x 160.33 / 7.4 = 260 days."""
GRADES = ("official", "secondary", "low", "satsreguleret", "user override")
_GRADE_WORDS = {
    "official": "official source",
    "secondary": "secondary source",
    "low": "low confidence",
    "satsreguleret": "filled by satsregulering",
    "user override": "given by the user",
}

@dataclass(frozen=True)
class Rate:
    """One benefit rate: ``amount`` DKK per ``per`` in ``year``, with its source."""

    benefit: str
    year: int
    amount: float
    per: Per
    basis: str
    """The category (who gets this rate), in the source's Danish wording."""
    source: str
    indexed_from: int | None = None
    """When set, the rate was not in the table for ``year``: it is the ``indexed_from``
    rate moved to ``year`` with a :class:`~evaluate.money.index.PriceIndex`."""
    grade: str = "user override"
    source_url: str = ""
    legal_reference: str = ""
    filled_from: int | None = None
    """For a ``satsreguleret`` rate: the year it was regulated from."""

    @property
    def category(self) -> str:
        return self.basis

    @property
    def annual(self) -> float:
        """The rate for a full year on the benefit (one full-time person)."""
        if self.per not in _PER_YEAR:
            raise RateError(
                f"{self.benefit} {self.year} ({self.basis}) is a rate per {self.per}: it has no "
                "annual amount without a number of hours; use the weekly category."
            )
        return self.amount * _PER_YEAR[self.per]

    @property
    def weekly(self) -> float:
        """The rate for one week on the benefit (a year is 52 weeks)."""
        return self.annual / 52.0

    def describe(self) -> Text:
        if self.indexed_from is not None:
            flag: str | Text = Text(
                "rate.indexed", "; INDEXED from {year}", year=str(self.indexed_from)
            )
        elif self.filled_from is not None:
            flag = Text(
                "rate.satsreguleret",
                "; FILLED BY SATSREGULERING from {year}",
                year=str(self.filled_from),
            )
        else:
            flag = ""
        return Text(
            f"rate.per_{self.per}",
            f"{{benefit}} {{year}}: {{amount}} DKK/{self.per} ({{basis}}; {{source}}{{flag}})",
            benefit=self.benefit,
            year=str(self.year),
            amount=Num(self.amount, 0),
            basis=Text(
                "rate.graded",
                "{category}, {grade}",
                category=self.basis,
                grade=Text(
                    f"grade.{self.grade.replace(' ', '_')}",
                    _GRADE_WORDS.get(self.grade, self.grade),
                ),
            ),
            source=self.source,
            flag=flag,
        )


@cache
def _bundled(name: str) -> pd.DataFrame:
    with (files("evaluate.money") / "data" / name).open("rb") as handle:
        return pd.read_csv(handle, keep_default_na=False, na_values={"amount": [""]})


def _listing(values: list[object]) -> str:
    return ", ".join(str(v) for v in values)


@dataclass(frozen=True, eq=False)
class RateTable:
    """A table of :class:`Rate` values; ``with_rate`` returns a table with one overridden.

    ``frame`` has at least ``benefit, year, amount, per, source``; ``category`` (else
    the benefit has one category, ""), ``grade``, ``source_url``, ``legal_reference``,
    ``filled_from`` and ``basis`` are optional.  ``reforms`` lists category changes
    (``benefit, date, change, after, source``) that a lookup must not cross.
    """

    frame: pd.DataFrame
    reforms: pd.DataFrame | None = None

    @classmethod
    def danish(cls) -> RateTable:
        """The bundled Danish rates (``evaluate/money/data/rates_dk.csv``)."""
        return cls(_bundled("rates_dk.csv").copy(), _bundled("reforms_dk.csv").copy())

    # --- lookup ------------------------------------------------------------------
    def _column(self, name: str, default: object = "") -> pd.Series:
        if name in self.frame:
            return self.frame[name]
        return pd.Series(default, index=self.frame.index)

    def benefits(self) -> list[str]:
        return sorted(self.frame["benefit"].astype(str).unique())

    def categories(self, benefit: str) -> dict[str, list[int]]:
        """Category -> years with a rate, for ``benefit``."""
        rows = self.frame[self.frame["benefit"] == benefit]
        cats = self._column("category").loc[rows.index].astype(str)
        return {
            c: sorted(int(y) for y in rows.loc[cats == c, "year"]) for c in sorted(cats.unique())
        }

    def _reform(self, benefit: str, change: str) -> pd.Series | None:
        if self.reforms is None:
            return None
        rows = self.reforms[
            (self.reforms["benefit"] == benefit) & (self.reforms["change"] == change)
        ]
        return None if rows.empty else rows.iloc[0]

    def _check_reform(self, benefit: str, year: int, category: str | None) -> None:
        cats = self.categories(benefit)
        begins = self._reform(benefit, "benefit begins")
        if begins is not None and year < int(begins["date"][:4]):
            raise ReformError(
                f"{benefit!r} exists only from {begins['date']} (the kontanthjælp reform), "
                f"not in {year}. Before the reform, kontanthjælp had the categories: "
                f"{_listing(self._pre_reform_categories())} ({begins['source']})."
            )
        for change in ("benefit ends", "categories end"):
            reform = self._reform(benefit, change)
            if reform is None:
                continue
            reform_year = int(reform["date"][:4])
            old = category is None or category in cats
            if year > reform_year and old:
                what = (
                    f"{benefit!r} ended on {reform['date']}"
                    if change == "benefit ends"
                    else f"the category {category!r} of {benefit!r} ended with the reform "
                    f"of {reform['date']}"
                )
                raise ReformError(
                    f"{what}; there is no {year} rate to continue it with. After the reform "
                    f"the categories are: {reform['after']} ({reform['source']}). Before it "
                    f"the table has: {_listing(list(cats))}."
                )

    def _pre_reform_categories(self) -> list[str]:
        return list(self.categories("kontanthjaelp"))

    def get(
        self,
        benefit: str,
        year: int,
        *,
        category: str | None = None,
        index: PriceIndex | None = None,
    ) -> Rate:
        """The rate of ``benefit`` (``category``) in ``year``.

        ``category`` may be left out when the benefit has one category, or a maximum
        rate that is its default (dagpenge, sygedagpenge, ledighedsydelse,
        fleksløntilskud).  A year the table lacks is a :class:`RateError` listing
        the years it has, unless ``index`` is given: the nearest year's rate is then
        moved to ``year`` with it and flagged (``indexed_from``).

        Raises
        ------
        RateError
            unknown benefit (lists the benefits), category (lists the categories
            with their years) or year (lists the years).
        ReformError
            the benefit or category does not exist on this side of a reform.
        """
        key = benefit_key(benefit)
        if key in ALIASES:
            key, alias_category = ALIASES[key]
            category = category or alias_category
        if key not in set(self.frame["benefit"].astype(str)):
            raise RateError(
                f"No rate for benefit {benefit!r}; known benefits: {_listing(self.benefits())}."
            )
        cats = self.categories(key)
        self._check_reform(key, year, category)
        if category is None:
            category = DEFAULT_CATEGORY.get(key)
            if category is None and len(cats) == 1:
                category = next(iter(cats))
            if category is None:
                listing = "; ".join(f"{c!r} ({_years(y)})" for c, y in cats.items())
                raise RateError(
                    f"{key!r} has several categories; give category=... one of: {listing}."
                )
        if category not in cats:
            listing = "; ".join(f"{c!r} ({_years(y)})" for c, y in cats.items())
            raise RateError(f"{key!r} has no category {category!r}; it has: {listing}.")
        known = cats[category]
        if year not in known:
            if index is None:
                raise RateError(
                    f"No {key!r} ({category}) rate for {year}; the table has {_years(known)}. "
                    "Give the rate yourself with RateTable.with_rate(...), or an index to "
                    "move the nearest year's rate (the rate is then flagged as indexed)."
                )
            nearest = min(known, key=lambda k: (abs(k - year), -k))
            base = self.get(key, nearest, category=category)
            return Rate(
                benefit=key,
                year=year,
                amount=index.reprice(base.amount, nearest, year),
                per=base.per,
                basis=base.basis,
                source=f"{base.source}; indexed {nearest}->{year} with {index.name} "
                f"({index.source})",
                indexed_from=nearest,
                grade=base.grade,
                source_url=base.source_url,
                legal_reference=base.legal_reference,
            )
        mask = (
            (self.frame["benefit"] == key)
            & (self._column("category").astype(str) == category)
            & (self.frame["year"] == year)
        )
        row = self.frame[mask].iloc[-1]
        filled = row.get("filled_from", "")
        return Rate(
            benefit=key,
            year=int(row["year"]),
            amount=float(row["amount"]),
            per=row["per"],
            basis=category or str(row.get("basis", "")),
            source=str(row["source"]),
            grade=str(row.get("grade", "user override") or "user override"),
            source_url=str(row.get("source_url", "")),
            legal_reference=str(row.get("legal_reference", "")),
            filled_from=None if filled in ("", None) or _nan(filled) else int(float(filled)),
        )

    def by_year(
        self, benefit: str, years: list[int] | range, *, category: str | None = None
    ) -> dict[int, Rate]:
        """``{year: rate}`` for each of ``years`` (each priced at its own year's rate)."""
        return {int(y): self.get(benefit, int(y), category=category) for y in years}

    def with_rate(
        self,
        benefit: str,
        year: int,
        amount: float,
        per: Per,
        *,
        basis: str = "",
        category: str | None = None,
        source: str,
    ) -> RateTable:
        """A new table where ``benefit`` (``category``) in ``year`` is ``amount``."""
        if per not in _PER_YEAR and per != "hour":
            raise SpecError(f"per must be 'week', 'month', 'year' or 'day', got {per!r}.")
        if not source:
            raise SpecError("An overriding rate needs a source (who says so, and when).")
        if not amount > 0:
            raise SpecError(f"Rate for {benefit!r} {year} must be positive, got {amount!r}.")
        key = benefit_key(benefit)
        if key in ALIASES:
            key, alias_category = ALIASES[key]
            category = category or alias_category
        if category is None:
            known = self.categories(key) if key in set(self.frame["benefit"]) else {}
            category = DEFAULT_CATEGORY.get(key) or (
                next(iter(known)) if len(known) == 1 else (basis or "")
            )
        keep = ~(
            (self.frame["benefit"] == key)
            & (self._column("category").astype(str) == category)
            & (self.frame["year"] == year)
        )
        row = pd.DataFrame(
            [
                {
                    "benefit": key,
                    "category": category,
                    "year": year,
                    "amount": float(amount),
                    "per": per,
                    "grade": "user override",
                    "source": source,
                }
            ]
        )
        return RateTable(pd.concat([self.frame[keep], row], ignore_index=True), self.reforms)


def _nan(value: object) -> bool:
    return isinstance(value, float) and math.isnan(value)


def _years(years: list[int]) -> str:
    """``[2014, 2015, 2016, 2018]`` -> ``"2014-2016, 2018"``."""
    if not years:
        return "no years"
    runs: list[list[int]] = [[years[0], years[0]]]
    for y in years[1:]:
        if y == runs[-1][1] + 1:
            runs[-1][1] = y
        else:
            runs.append([y, y])
    return ", ".join(str(a) if a == b else f"{a}-{b}" for a, b in runs)
