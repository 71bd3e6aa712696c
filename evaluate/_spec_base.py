"""What every part of the study spec shares: strict frozen models and finite numbers."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

Finite = Annotated[float, Field(allow_inf_nan=False)]
Money = Annotated[float, Field(allow_inf_nan=False, ge=-1e15, le=1e15)]
"""An amount in DKK: finite, and at most a thousand trillion either way (a larger
amount is a typo, and would lose the precision of the sums)."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
