"""How a ``[[data]]`` entry of the study spec is read: file options (a Danish Excel
export), period and kommune columns, and a treatment column built from starts."""

from __future__ import annotations

import codecs
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, model_validator

from evaluate._spec_base import _Strict

_CSV_SUFFIXES = (".csv", ".txt")
_EXCEL_SUFFIXES = (".xlsx", ".xls", ".xlsm")


class ReadOptions(_Strict):
    """How a ``[[data]]`` file is read, and which columns hold periods and kommuner.

    ``sep``, ``decimal``, ``thousands`` and ``encoding`` read a CSV (a Danish Excel
    export: ``sep = ";"``, ``decimal = ","``, ``thousands = "."``,
    ``encoding = "cp1252"``; left out, they are detected where the file leaves no
    doubt, and the report says so); ``sheet`` picks a workbook's sheet (name, or
    number from 0).  ``periods`` names columns read as periods besides the
    effects' ``time`` columns (:mod:`evaluate.data.periods`); ``kommune`` names a
    column of kommune names or codes, read as the kommuner's names, so
    ``treated_unit = 101`` and ``"Københavns Kommune"`` find "København"
    (:mod:`evaluate.data.kommuner`).
    """

    sep: Literal[",", ";", "\t", "|"] | None = None
    decimal: Literal[".", ","] | None = None
    thousands: Literal[".", ",", " ", "'", "\u00a0"] | None = None
    encoding: str | None = None
    sheet: str | Annotated[int, Field(ge=0)] | None = None
    periods: list[str] = []
    kommune: str | None = None

    def read_options(self) -> dict[str, Any]:
        """The options given for reading the file (for :func:`evaluate.data.read_table`)."""
        keys = ("sep", "decimal", "thousands", "encoding", "sheet")
        return {k: getattr(self, k) for k in keys if getattr(self, k) is not None}

    @model_validator(mode="after")
    def _options_fit_the_file(self) -> ReadOptions:
        given = self.read_options()
        name = getattr(self, "name", "?")
        path = getattr(self, "path", None)
        if given and path is None:
            raise ValueError(
                f"data {name!r}: {', '.join(given)}: only for a file given by path; "
                "other data are read as they are"
            )
        suffix = Path(path or "").suffix.lower()
        csv_only = sorted(set(given) & {"sep", "encoding"})
        if csv_only and suffix not in _CSV_SUFFIXES:
            raise ValueError(
                f"data {name!r}: {', '.join(csv_only)}: only for CSV files, not {suffix or path!r}"
            )
        if "sheet" in given and suffix not in _EXCEL_SUFFIXES:
            raise ValueError(f"data {name!r}: sheet applies to Excel files, not {suffix!r}")
        if {"decimal", "thousands"} & set(given) and suffix not in _CSV_SUFFIXES + _EXCEL_SUFFIXES:
            raise ValueError(f"data {name!r}: decimal/thousands apply to CSV and Excel files")
        if self.decimal is not None and self.decimal in (self.thousands, self.sep):
            raise ValueError(
                f"data {name!r}: decimal = {self.decimal!r} is also the "
                + ("thousands separator" if self.decimal == self.thousands else "separator")
            )
        if self.encoding is not None:
            try:
                codecs.lookup(self.encoding)
            except LookupError:
                raise ValueError(
                    f"data {name!r}: unknown encoding {self.encoding!r}; a Danish Excel "
                    "export is 'cp1252' (Windows), a newer one 'utf-8'"
                ) from None
        return self


class TreatmentColumn(_Strict):
    """A 0/1 treatment column added to a ``[[data]]`` table that has none (a public
    table never has one): 1 for ``unit`` values named in ``starts`` from their start
    (compared with the ``time`` column's values) on, else 0."""

    column: str = "treated"
    unit: str
    time: str
    starts: dict[str, Any] = Field(min_length=1)
