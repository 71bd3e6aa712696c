"""What a study run produces: the value the report writers read.

Defined below both the runner (:mod:`evaluate.study`) and the writers
(:mod:`evaluate.report`) so that neither imports the other to know its shape.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import pandas as pd

from evaluate.business_case import BusinessCase
from evaluate.effect import Effect
from evaluate.spec import DataSource, StudySpec


@dataclass(frozen=True)
class LoadedData:
    """One ``[[data]]`` entry as read: the frame, its SHA-256 and row count."""

    source: DataSource
    frame: pd.DataFrame
    sha256: str
    rows: int


@dataclass(frozen=True, eq=False)
class StudyResult:
    """Everything a report shows: the spec, the data provenance, effects and cases."""

    spec: StudySpec
    spec_sha256: str
    data: Mapping[str, LoadedData]
    effects: Mapping[str, Effect]
    business_cases: Mapping[str, BusinessCase]


__all__ = ["LoadedData", "StudyResult"]
