"""Seeded simulators of the data the toolkit analyses, for tests, demos and power.

Everything here is labelled simulated wherever it is used: a report that shows
simulated data says so next to every number.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from evaluate.errors import SpecError


def monthly_counts(
    *,
    start: str = "2015-01",
    periods: int = 57,
    intervention: str = "2018-05",
    level: float = 150.0,
    trend: float = 0.8,
    seasonal_amplitude: float = 4.0,
    effect: float = -25.0,
    ramp_months: int = 6,
    noise_sd: float = 4.0,
    seed: int = 20191029,
) -> pd.DataFrame:
    """A monthly count series with a linear trend, a seasonal cycle and an effect.

    ``count_t = level + trend * t + seasonal_amplitude * sin(2 pi month / 12)
    + effect_t + e_t`` with ``e_t ~ N(0, noise_sd^2)``; the effect grows linearly
    from 0 to ``effect`` over ``ramp_months`` months after ``intervention`` and
    stays there.  Counts are rounded to whole persons.  The column ``true_effect``
    holds the effect that was put in.
    """
    if periods < 2:
        raise SpecError(f"periods must be at least 2, got {periods}.")
    months = pd.period_range(start, periods=periods, freq="M")
    start_p = pd.Period(intervention, freq="M")
    if not months[0] < start_p <= months[-1]:
        raise SpecError(f"intervention {intervention} must lie inside {months[0]}..{months[-1]}.")
    rng = np.random.default_rng(seed)
    t = np.arange(periods, dtype=float)
    since = np.array([(m - start_p).n for m in months], dtype=float)
    ramp = np.clip((since + 1) / max(ramp_months, 1), 0.0, 1.0) * (since >= 0)
    true_effect = effect * ramp
    season = seasonal_amplitude * np.sin(2 * np.pi * months.month.to_numpy() / 12)
    counts = level + trend * t + season + true_effect + rng.normal(0.0, noise_sd, periods)
    return pd.DataFrame(
        {
            "month": months.astype(str),
            "recipients": np.round(counts).astype(int),
            "true_effect": np.round(true_effect, 6) + 0.0,  # no negative zeros in the CSV
        }
    )
