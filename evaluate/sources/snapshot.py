"""Snapshots: what a fetch got, frozen as Parquet with a JSON sidecar.

A study never calls a source while it runs: it reads a snapshot, so it
regenerates byte for byte without a network.  ``NAME.parquet`` holds the table
as fetched; ``NAME.json`` beside it records the provider, the table id, the
query, the URL (never a token), the retrieval time and the SHA-256 of the
Parquet file, which :func:`read_snapshot` checks.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd

from evaluate.errors import DataError

SIDECAR_KEYS = ("provider", "table", "title", "query", "url", "retrieved", "sha256", "rows")


def sidecar_path(parquet: Path) -> Path:
    """``snapshots/x.parquet`` -> ``snapshots/x.json``."""
    return parquet.with_suffix(".json")


@dataclass(frozen=True)
class Snapshot:
    """A snapshot read back: the frame and its sidecar."""

    frame: pd.DataFrame
    meta: dict[str, Any]
    sha256: str

    @property
    def retrieved_date(self) -> str:
        return str(self.meta.get("retrieved", ""))[:10]


def write_snapshot(
    frame: pd.DataFrame,
    out: str | Path,
    *,
    provider: str,
    table: str,
    query: dict[str, Any],
    url: str,
    title: str = "",
    retrieved: datetime | None = None,
    extra: dict[str, Any] | None = None,
) -> Path:
    """Write ``frame`` to ``out`` (Parquet) and its sidecar; returns the sidecar path.

    The Parquet file is written without the frame's index, so the same table gives
    the same bytes; the sidecar's SHA-256 is of those bytes.
    """
    out = Path(out)
    if out.suffix.lower() != ".parquet":
        raise DataError(f"--out {str(out)!r} must end in .parquet (the sidecar gets .json).")
    out.parent.mkdir(parents=True, exist_ok=True)
    frame.reset_index(drop=True).to_parquet(out, index=False)
    digest = hashlib.sha256(out.read_bytes()).hexdigest()
    when = (retrieved or datetime.now(UTC)).astimezone(UTC).replace(microsecond=0)
    meta = {
        "provider": provider,
        "table": table,
        "title": title,
        "query": query,
        "url": url,
        "retrieved": when.isoformat().replace("+00:00", "Z"),
        "sha256": digest,
        "rows": len(frame),
        "columns": [str(c) for c in frame.columns],
        **(extra or {}),
    }
    side = sidecar_path(out)
    text = json.dumps(meta, ensure_ascii=False, indent=2) + "\n"
    side.write_text(text, encoding="utf-8", newline="\n")  # the same bytes on Windows
    return side


def read_snapshot(path: str | Path) -> Snapshot:
    """Read a snapshot and check its sidecar (present, complete, SHA-256 matching)."""
    path = Path(path)
    side = sidecar_path(path)
    if not side.is_file():
        raise DataError(
            f"Snapshot {path} has no sidecar {side.name} beside it; fetch it again with "
            "`evaluate fetch`, which writes both."
        )
    try:
        meta = json.loads(side.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as err:
        raise DataError(f"Snapshot sidecar {side} is not valid JSON ({err}).") from None
    missing = [k for k in SIDECAR_KEYS if k not in meta]
    if missing:
        raise DataError(f"Snapshot sidecar {side} lacks {missing}; fetch the table again.")
    raw = path.read_bytes()
    digest = hashlib.sha256(raw).hexdigest()
    if digest != meta["sha256"]:
        raise DataError(
            f"Snapshot {path} does not match its sidecar (SHA-256 {digest[:12]}… vs "
            f"{str(meta['sha256'])[:12]}…): the file changed after it was fetched. Fetch "
            "it again rather than editing it."
        )
    import io

    return Snapshot(pd.read_parquet(io.BytesIO(raw)), meta, digest)


__all__ = ["SIDECAR_KEYS", "Snapshot", "read_snapshot", "sidecar_path", "write_snapshot"]
