"""HTTP for the public sources: one request with bounded retries on 429, typed errors.

Standard library only (``urllib``): the sources need a POST with a JSON body, a
header or two, and a retry on "too many requests" — nothing a dependency would
add.  Secrets travel only in headers passed to :meth:`Http.request`; they are
never part of a URL, a message or an exception.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from evaluate.errors import RateLimitError, SourceError, SourceHTTPError

#: Longest single wait on a 429, whatever the server's Retry-After says (seconds).
MAX_WAIT = 60.0


def _message(body: bytes) -> str:
    """The error text a source sent, from a JSON body's ``message`` if there is one."""
    text = body.decode("utf-8", "replace").strip()
    try:
        parsed = json.loads(text)
    except ValueError:
        return " ".join(text.split())[:300]
    if isinstance(parsed, dict):
        for key in ("message", "Message", "error", "title"):
            if isinstance(parsed.get(key), str):
                return parsed[key][:300]
    return " ".join(text.split())[:300]


@dataclass(frozen=True)
class Http:
    """Requests to one source.

    ``retries`` bounds the retries after a 429; the wait before retry ``k`` (1, 2,
    ...) is the server's ``Retry-After`` in seconds when it gives one, otherwise
    ``backoff * 2**(k-1)``, never more than :data:`MAX_WAIT`.  ``sleep`` is
    injectable so tests do not wait.
    """

    name: str
    retries: int = 3
    backoff: float = 1.0
    timeout: float = 60.0
    sleep: Callable[[float], None] = field(default=time.sleep, repr=False)

    def request(
        self,
        url: str,
        *,
        body: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
        not_found: Callable[[int, str], Exception | None] | None = None,
    ) -> bytes:
        """GET ``url`` (POST with a JSON ``body``); the response body.

        ``not_found(status, message)`` may turn a 4xx answer into a more specific
        error (an unknown table); otherwise a 4xx/5xx is a :class:`SourceHTTPError`.
        """
        data = None if body is None else json.dumps(body).encode("utf-8")
        all_headers = {"Accept": "application/json, text/csv, */*", **(headers or {})}
        if data is not None:
            all_headers["Content-Type"] = "application/json; charset=utf-8"
        for attempt in range(self.retries + 1):
            req = urllib.request.Request(url, data=data, headers=all_headers)
            try:
                with urllib.request.urlopen(req, timeout=self.timeout) as response:  # noqa: S310
                    return response.read()
            except urllib.error.HTTPError as err:
                status = err.code
                message = _message(err.read() or b"")
                retry_after = err.headers.get("Retry-After") if err.headers else None
            except urllib.error.URLError as err:
                raise SourceError(
                    f"{self.name}: cannot reach {url} ({err.reason}). Check the network, or "
                    "run the study from its snapshot."
                ) from None
            except TimeoutError:
                raise SourceError(
                    f"{self.name}: no answer from {url} within {self.timeout:g} s; try again later."
                ) from None
            if status == 429:
                if attempt == self.retries:
                    raise RateLimitError(
                        f"{self.name}: too many requests (HTTP 429) at {url}, still after "
                        f"{self.retries} retries; wait a while and fetch again.",
                        status,
                    )
                self.sleep(self._wait(attempt + 1, retry_after))
                continue
            if not_found is not None and 400 <= status < 500:
                specific = not_found(status, message)
                if specific is not None:
                    raise specific
            raise SourceHTTPError(
                f"{self.name}: HTTP {status} from {url}: {message or 'no message'}", status
            )
        raise AssertionError("unreachable")  # pragma: no cover

    def _wait(self, retry: int, retry_after: str | None) -> float:
        if retry_after is not None:
            try:
                return min(max(float(retry_after), 0.0), MAX_WAIT)
            except ValueError:
                pass
        return min(self.backoff * 2 ** (retry - 1), MAX_WAIT)


__all__ = ["MAX_WAIT", "Http"]
