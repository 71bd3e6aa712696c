"""What a study run produces: the value the report writers read.

Defined below both the runner (:mod:`evaluate.study`) and the writers
(:mod:`evaluate.report`) so that neither imports the other to know its shape.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

import pandas as pd

from evaluate.spec import DataSource, StudySpec

if TYPE_CHECKING:  # only named in annotations: loading data need not load money
    from evaluate.business_case import BusinessCase
    from evaluate.effect import Effect


@dataclass(frozen=True)
class LoadedData:
    """One ``[[data]]`` entry as read: the frame, its SHA-256 and row count.

    ``read_as`` lists what was detected rather than given when the file was read
    (a semicolon separator, a decimal comma, the cp1252 encoding), for the report's
    provenance.
    """

    source: DataSource
    frame: pd.DataFrame
    sha256: str
    rows: int
    read_as: tuple[str, ...] = ()


@dataclass(frozen=True, eq=False)
class StudyResult:
    """Everything a report shows: the spec, the data provenance, effects and cases."""

    spec: StudySpec
    spec_sha256: str
    data: Mapping[str, LoadedData]
    effects: Mapping[str, Effect]
    business_cases: Mapping[str, BusinessCase]


__all__ = ["LoadedData", "StudyResult"]
