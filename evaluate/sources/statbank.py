"""Danmarks Statistik's StatBank (Statistikbanken) API: tables, metadata, data.

The API (version 1) answers POSTed JSON at ``{base}/tables``, ``{base}/tableinfo``
and ``{base}/data``; a table's variables have ids (``OMRÅDE``, ``Tid``) and value
codes, and ``"*"`` selects every value.  Data come as CSV (semicolon-separated,
UTF-8 with a byte-order mark) or as JSON-stat; both are parsed here into one
long frame: one column per variable, ``INDHOLD`` for the number.  Which details
are confirmed by the public documentation and which are assumed is listed in
``evaluate/sources/__init__.py``.

>>> sb = StatBank()                                            # doctest: +SKIP
>>> sb.tableinfo("FOLK1A")["variables"][0]["id"]               # doctest: +SKIP
'OMRÅDE'
>>> frame = sb.data("FOLK1A", {"OMRÅDE": "*", "Tid": "*"})     # doctest: +SKIP
"""

from __future__ import annotations

import io
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd

from evaluate.errors import SourceError, UnknownTableError
from evaluate.sources._http import Http

BASE_URL = "https://api.statbank.dk/v1"
PROVIDER = "Danmarks Statistik (Statistikbanken)"
Filters = Mapping[str, str | Sequence[str]]


def _values(value: str | Sequence[str]) -> list[str]:
    if isinstance(value, str):
        return [v.strip() for v in value.split(",") if v.strip()]
    return [str(v) for v in value]


def _number(series: pd.Series) -> pd.Series:
    """StatBank numbers: a decimal comma in Danish output, ``..`` (and ``-``) for a value
    not shown; those become missing, everything else must parse."""
    text = series.astype(str).str.strip().str.replace(",", ".", regex=False)
    text = text.where(~text.isin(["..", "...", "-", ""]), np.nan)
    out = pd.to_numeric(text, errors="coerce")
    bad = out.isna() & text.notna()
    if bad.any():
        raise SourceError(f"StatBank: values {list(series[bad][:3])} are not numbers.")
    return out


def parse_csv(raw: bytes) -> pd.DataFrame:
    """The data call's CSV: ``;``-separated, UTF-8 (with a BOM), value column INDHOLD."""
    frame = pd.read_csv(io.BytesIO(raw), sep=";", encoding="utf-8-sig", dtype=str)
    if "INDHOLD" not in frame.columns:
        raise SourceError(
            f"StatBank: the CSV answer has no INDHOLD column (columns {list(frame.columns)})."
        )
    frame["INDHOLD"] = _number(frame["INDHOLD"])
    return frame


def parse_jsonstat(raw: bytes, *, labels: bool = False) -> pd.DataFrame:
    """A JSON-stat answer (version 1 with a ``dataset`` wrapper, or 2.0) as a long frame:
    one column per dimension (codes, or labels with ``labels=True``) and INDHOLD."""
    doc = json.loads(raw.decode("utf-8-sig"))
    if "dataset" in doc:
        doc = doc["dataset"]
    elif doc.get("class") != "dataset" and len(doc) == 1:
        doc = next(iter(doc.values()))
    dims = doc["dimension"]
    ids = doc.get("id") or dims["id"]
    sizes = doc.get("size") or dims["size"]
    axes = []
    for dim in ids:
        category = dims[dim]["category"]
        index = category.get("index")
        if isinstance(index, dict):
            codes = sorted(index, key=index.__getitem__)
        elif isinstance(index, list):
            codes = list(index)
        else:
            codes = list(category.get("label", {}))
        names = category.get("label", {})
        axes.append([names.get(c, c) if labels else c for c in codes])
    if [len(a) for a in axes] != list(sizes):
        raise SourceError("StatBank: the JSON-stat sizes do not match its categories.")
    grid = pd.MultiIndex.from_product(axes, names=ids).to_frame(index=False)
    values = doc["value"]
    if isinstance(values, dict):  # sparse form: position -> value
        dense = [None] * int(np.prod(sizes))
        for k, v in values.items():
            dense[int(k)] = v
        values = dense
    grid["INDHOLD"] = pd.to_numeric(pd.Series(values, dtype=object), errors="coerce")
    return grid


@dataclass(frozen=True)
class StatBank:
    """A client of the StatBank API; ``base_url`` is injectable (tests serve recorded
    answers from 127.0.0.1), as are the retry and backoff settings via ``http``."""

    base_url: str = BASE_URL
    lang: Literal["da", "en"] = "da"
    http: Http = field(default_factory=lambda: Http("StatBank"))

    provider = PROVIDER

    def _post(self, call: str, body: dict[str, Any], table: str | None = None) -> bytes:
        def unknown(status: int, message: str) -> Exception | None:
            if table is None:
                return None
            return UnknownTableError(
                f"StatBank has no table {table!r} (HTTP {status}: {message or 'no message'}). "
                "Check the id, e.g. with `StatBank().tables()`."
            )

        return self.http.request(f"{self.base_url}/{call}", body=body, not_found=unknown)

    def tables(self, subjects: Sequence[str] = ()) -> pd.DataFrame:
        """Active tables: id, text, unit, updated, firstPeriod, latestPeriod."""
        body: dict[str, Any] = {"lang": self.lang, "format": "JSON"}
        if subjects:
            body["subjects"] = list(subjects)
        listing = json.loads(self._post("tables", body))
        frame = pd.DataFrame(listing)
        keep = [c for c in ("id", "text", "unit", "updated", "firstPeriod", "latestPeriod")
                if c in frame.columns]  # fmt: skip
        return frame[keep]

    def tableinfo(self, table: str) -> dict[str, Any]:
        """The table's metadata: text, unit, updated and ``variables`` (id, text,
        time, values: id and text)."""
        body = {"table": table, "lang": self.lang, "format": "JSON"}
        info = json.loads(self._post("tableinfo", body, table=table))
        if not isinstance(info, dict) or "variables" not in info:
            raise UnknownTableError(f"StatBank returned no metadata for table {table!r}.")
        return info

    def query(self, table: str, filters: Filters, info: Mapping[str, Any]) -> dict[str, Any]:
        """The data call's body, with variable ids spelled as the table spells them."""
        ids = {v["id"].casefold(): v["id"] for v in info["variables"]}
        variables = []
        for key, value in filters.items():
            exact = ids.get(str(key).casefold())
            if exact is None:
                raise SourceError(
                    f"StatBank table {table!r} has no variable {key!r}; it has "
                    f"{', '.join(ids.values())}."
                )
            variables.append({"code": exact, "values": _values(value)})
        return {"table": table, "lang": self.lang, "variables": variables}

    def data(
        self,
        table: str,
        filters: Filters,
        *,
        fmt: Literal["CSV", "JSONSTAT"] = "CSV",
        value_presentation: Literal["Code", "Value"] = "Code",
        info: Mapping[str, Any] | None = None,
    ) -> tuple[pd.DataFrame, dict[str, Any]]:
        """The selected data as a long frame, and the query that fetched it.

        Variables left out of ``filters`` are eliminated (summed or set to their
        total) by StatBank, as its documentation describes.
        """
        info = self.tableinfo(table) if info is None else info
        body = self.query(table, filters, info)
        body["format"] = fmt
        if fmt == "CSV":
            body["valuePresentation"] = value_presentation
            frame = parse_csv(self._post("data", body, table=table))
        else:
            frame = parse_jsonstat(
                self._post("data", body, table=table), labels=value_presentation == "Value"
            )
        return frame, body

    @property
    def data_url(self) -> str:
        return f"{self.base_url}/data"


__all__ = ["BASE_URL", "PROVIDER", "StatBank", "parse_csv", "parse_jsonstat"]
