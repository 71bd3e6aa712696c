"""Jobindsats (STAR) API: tables, metadata and data, with a personal access token.

The token is read from the environment variable :data:`TOKEN_ENV` when a call is
made; it travels only in the ``Authorization`` header, and is never written to a
snapshot, a sidecar, a log line, an error message or a report.  Which API details
are confirmed and which are assumed is listed in ``evaluate/sources/__init__.py``.

>>> js = Jobindsats()                                                   # doctest: +SKIP
>>> frame, query = js.data("y01a02", {"area": "*", "period": ["2024M01"]})  # doctest: +SKIP
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from evaluate.errors import MissingTokenError, SourceError, UnknownTableError
from evaluate.sources._http import Http

BASE_URL = "https://api.jobindsats.dk/v2"
PROVIDER = "Jobindsats (STAR)"
TOKEN_ENV = "JOBINDSATS_TOKEN"
Filters = Mapping[str, str | Sequence[str]]


def _one(answer: Any) -> dict[str, Any]:
    """The API wraps each answer in a list of one object."""
    if isinstance(answer, list) and answer and isinstance(answer[0], dict):
        return answer[0]
    if isinstance(answer, dict):
        return answer
    raise SourceError("Jobindsats: unexpected answer (not a table object).")


def parse_data(raw: bytes) -> pd.DataFrame:
    """``[{"Variables": [{"Label": ...}, ...], "Data": [[...], ...]}]`` as a frame."""
    doc = _one(json.loads(raw.decode("utf-8-sig")))
    try:
        columns = [v.get("Label") or v.get("Name") for v in doc["Variables"]]
        rows = doc["Data"]
    except (KeyError, TypeError, AttributeError):
        raise SourceError("Jobindsats: the answer has no Variables and Data.") from None
    frame = pd.DataFrame(rows, columns=columns)
    for column in frame.columns:
        converted = pd.to_numeric(frame[column], errors="coerce")
        if converted.notna().sum() == frame[column].notna().sum() and len(frame):
            frame[column] = converted
    return frame


@dataclass(frozen=True)
class Jobindsats:
    """A client of the Jobindsats API.  ``token_env`` names the environment variable
    holding the token; ``base_url`` and ``http`` are injectable for tests."""

    base_url: str = BASE_URL
    token_env: str = TOKEN_ENV
    http: Http = field(default_factory=lambda: Http("Jobindsats"))

    provider = PROVIDER

    def _headers(self) -> dict[str, str]:
        token = os.environ.get(self.token_env, "").strip()
        if not token:
            raise MissingTokenError(
                f"Jobindsats needs an access token: set the environment variable "
                f"{self.token_env} (the token is read from there only, never written)."
            )
        return {"Authorization": token}

    def _call(self, path: str, body: dict[str, Any] | None = None, table: str | None = None):
        headers = self._headers()  # before any request: a missing token fails fast

        def unknown(status: int, message: str) -> Exception | None:
            if table is None or status not in (400, 404):
                return None
            return UnknownTableError(
                f"Jobindsats has no table {table!r} (HTTP {status}: {message or 'no message'}). "
                "Check the id, e.g. with `Jobindsats().tables()`."
            )

        return self.http.request(
            f"{self.base_url}/{path}", body=body, headers=headers, not_found=unknown
        )

    def tables(self) -> pd.DataFrame:
        """Every table the token may read (as the API lists them)."""
        return pd.DataFrame(json.loads(self._call("tables/json")))

    def tableinfo(self, table: str) -> dict[str, Any]:
        """The table's metadata (periods, areas, variables)."""
        return _one(json.loads(self._call(f"tables/{table}/json", table=table)))

    def data(self, table: str, filters: Filters) -> tuple[pd.DataFrame, dict[str, Any]]:
        """The selected data as a frame, and the query body that fetched it.

        ``filters`` are the API's own keys: ``area``, ``period`` and the table's
        variables (``_kon``, ...); a comma-separated string becomes a list, and
        ``area="*"`` selects every area.
        """
        body: dict[str, Any] = {}
        for key, value in filters.items():
            if isinstance(value, str):
                parts = [v.strip() for v in value.split(",") if v.strip()]
                body[key] = value if value == "*" else parts
            else:
                body[key] = [str(v) for v in value]
        frame = parse_data(self._call(f"data/{table}/json", body=body, table=table))
        return frame, body

    def data_url(self, table: str) -> str:
        return f"{self.base_url}/data/{table}/json"

    def __repr__(self) -> str:  # never show a token, even by accident
        return f"Jobindsats(base_url={self.base_url!r}, token_env={self.token_env!r})"


__all__ = ["BASE_URL", "PROVIDER", "TOKEN_ENV", "Jobindsats", "parse_data"]
