"""State reimbursement (refusion) of municipal benefit spending by duration.

After the 2016 reform the state reimburses a share of each week's benefit that
falls with the person's cumulative weeks on public support (LBK nr. 221 af
12/02/2021 § 5): 80 % in weeks 1-4, 40 % in weeks 5-26, 30 % in weeks 27-52 and
20 % after.  The municipality's net cost is spending minus refusion.  The
schedule is data (``money/data/refusion_dk.csv``), so a user can replace it.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib.resources import files

import numpy as np
import pandas as pd

from evaluate.errors import SpecError


@dataclass(frozen=True, eq=False)
class RefusionSchedule:
    """Refusion share by week of cumulative public support."""

    frame: pd.DataFrame

    @classmethod
    def danish(cls) -> RefusionSchedule:
        with (files("evaluate.money") / "data" / "refusion_dk.csv").open("rb") as handle:
            return cls(pd.read_csv(handle))

    @property
    def source(self) -> str:
        return str(self.frame["source"].iloc[0])

    def share(self, week: int | np.ndarray) -> np.ndarray:
        """Refusion share for cumulative support week(s) ``week`` (1 = the first week)."""
        weeks = np.asarray(week)
        if np.any(weeks < 1):
            raise SpecError("Support weeks are counted from 1.")
        upper = self.frame["to_week"].fillna(np.inf).to_numpy()
        index = np.searchsorted(upper, weeks, side="left")
        return self.frame["share"].to_numpy()[index]

    def average_share(self, first_week: int, last_week: int) -> float:
        """Mean refusion share over support weeks ``first_week..last_week``.

        The saving from shortening spells falls in the weeks that are cut: for
        long-term recipients these are late weeks (20 %), not the early 80 % weeks.
        """
        if not 1 <= first_week <= last_week:
            raise SpecError(f"Need 1 <= first_week <= last_week, got {first_week} and {last_week}.")
        return float(np.mean(self.share(np.arange(first_week, last_week + 1))))
