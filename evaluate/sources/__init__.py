"""Public sources of kommune data, fetched once into snapshots.

:class:`~evaluate.sources.statbank.StatBank` (Danmarks Statistik) and
:class:`~evaluate.sources.jobindsats.Jobindsats` (STAR) fetch a table;
:func:`fetch` writes it as a snapshot (:mod:`.snapshot`: Parquet plus a JSON
sidecar with table, query, URL, retrieval time and SHA-256).  A study reads the
snapshot (``[[data]] snapshot = "snapshots/x.parquet"``), never the network, and
its report cites the table and the retrieval date.

API details: confirmed and assumed
----------------------------------
Confirmed from Danmarks Statistik's public API page (Statistikbank API): the
base address ``https://api.statbank.dk`` with version ``v1`` and the functions
``subjects``, ``tables``, ``tableinfo`` and ``data``; requests POST a JSON
object (GET with URL parameters also works); ``lang`` is ``da`` or ``en``;
``format`` is JSON or XML for every call but ``data``, which has further formats.

Taken from independent public clients (not read in the documentation itself):
the data call's body ``{"table", "format", "variables": [{"code", "values"}]}``
with ``"*"`` for every value and ``valuePresentation`` (``Code``/``Value``); the
formats ``CSV`` (semicolon-separated, UTF-8 with a BOM, value column
``INDHOLD``) and ``JSONSTAT``; the ``tableinfo`` answer
``{id, text, unit, updated, variables: [{id, text, elimination, time,
values: [{id, text}]}]}``; the ``tables`` answer's fields.  Jobindsats: the base
``https://api.jobindsats.dk/v2``, the token as the raw ``Authorization`` header,
``GET tables/json``, ``GET tables/{id}/json`` and ``POST data/{id}/json`` with
``{"area": "*", "period": [...], "_<variable>": [...]}``, answers wrapped in a
list of one object with ``Variables`` (``Label``) and ``Data`` (rows).

Assumed (not confirmed; the clients handle the other cases with a clear
error): an unknown table answers 4xx (StatBank 400, Jobindsats 400 or 404) and
becomes :class:`~evaluate.errors.UnknownTableError`; error bodies are JSON with a
``message`` (otherwise the text is shown); Danish CSV uses a decimal comma and
``..`` for a value not shown; a 429 may carry ``Retry-After`` in seconds; the
JSON-stat answer is version 1 with a ``dataset`` wrapper (2.0 is read too).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Literal

from evaluate.sources.snapshot import Snapshot, read_snapshot, write_snapshot

Provider = Literal["statbank", "jobindsats"]


def fetch(
    provider: Provider,
    table: str,
    filters: Mapping[str, str | Sequence[str]],
    out: str | Path,
    *,
    base_url: str | None = None,
    lang: Literal["da", "en"] = "da",
    client: object | None = None,
) -> Path:
    """Fetch ``table`` with ``filters`` from ``provider`` and write the snapshot ``out``
    (Parquet) with its sidecar; returns the sidecar's path."""
    if provider == "statbank":
        from evaluate.sources.statbank import StatBank

        sb = client or (StatBank(base_url=base_url, lang=lang) if base_url else StatBank(lang=lang))
        info = sb.tableinfo(table)
        frame, query = sb.data(table, filters, info=info)
        return write_snapshot(
            frame, out, provider=sb.provider, table=table, title=str(info.get("text", "")),
            query=query, url=sb.data_url,
            extra={"unit": info.get("unit", ""), "updated": info.get("updated", "")},
        )  # fmt: skip
    if provider == "jobindsats":
        from evaluate.sources.jobindsats import Jobindsats

        js = client or (Jobindsats(base_url=base_url) if base_url else Jobindsats())
        frame, query = js.data(table, filters)
        return write_snapshot(
            frame, out, provider=js.provider, table=table, query=query, url=js.data_url(table)
        )
    from evaluate.errors import SpecError

    raise SpecError(f"unknown source {provider!r}; use 'statbank' or 'jobindsats'.")


__all__ = ["Snapshot", "fetch", "read_snapshot", "write_snapshot"]
