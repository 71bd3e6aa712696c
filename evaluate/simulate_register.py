"""Seeded synthetic registers: person-week benefit histories with a known effect.

Everything made here is simulated and must be labelled so where it is shown.

The model is a weekly Markov chain over six states with the status codes of
``evaluate/data/status_codes_dk.csv``: self-support (0), dagpenge (111),
kontanthjælp (130), sygedagpenge (890), fleksjob (521) and education (651).

* **Persistent spells**: every person draws a frailty ``f ~ Gamma(2, 1/2)``
  (mean 1) that divides their exit hazards from kontanthjælp, so some spells
  last years and others weeks.
* **Seasonal flows**: the weekly entry hazard into dagpenge is
  ``p * (1 + seasonal_amplitude * cos(2 pi (isoweek - 2) / 52))``, highest in winter.
* **Municipalities of different sizes**: a person lives in municipality ``m``
  (0-based) with probability proportional to ``(m + 1) ** -size_exponent``.
* **Intervention**: in ``treated`` municipalities, from ``intervention_week``
  on, the weekly exit hazard from kontanthjælp to self-support is multiplied
  by ``1 + exit_effect``.  ``frame.attrs["truth"]`` records what was put in.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from evaluate.data.register import iso_week_index, iso_week_label
from evaluate.errors import SpecError

STATES = np.array([0, 111, 130, 890, 521, 651], dtype="int16")
SELF, DAG, KH, SYG, FLEX, EDU = range(6)

#: Weekly transition hazards between states (rows: from, columns: to); the
#: diagonal is filled so rows sum to one.  Entry into dagpenge is seasonal.
BASE_HAZARDS = np.array(
    [
        # self   dag     kh      syg     flex    edu
        [0.0, 0.0040, 0.0015, 0.0030, 0.0002, 0.0010],  # self-support
        [0.060, 0.0, 0.0040, 0.0030, 0.0, 0.0020],  # dagpenge
        [0.020, 0.0, 0.0, 0.0020, 0.0015, 0.0030],  # kontanthjælp
        [0.080, 0.0, 0.0050, 0.0, 0.0010, 0.0],  # sygedagpenge
        [0.004, 0.0, 0.0010, 0.0010, 0.0, 0.0],  # fleksjob
        [0.012, 0.0010, 0.0010, 0.0, 0.0, 0.0],  # education
    ]
)
INITIAL_SHARES = np.array([0.85, 0.035, 0.05, 0.03, 0.015, 0.02])


def register_histories(
    *,
    n_persons: int = 10_000,
    n_municipalities: int = 10,
    start: str = "2019-W01",
    n_weeks: int = 260,
    treated: tuple[int, ...] | None = None,
    intervention_week: str | None = None,
    exit_effect: float = 0.3,
    seasonal_amplitude: float = 0.3,
    size_exponent: float = 0.8,
    seed: int = 8,
) -> pd.DataFrame:
    """Simulated person-week register (one row per person and week, sorted).

    Parameters
    ----------
    n_persons, n_municipalities, n_weeks
        Size of the register: ``n_persons * n_weeks`` rows.
    start
        First ISO week.
    treated
        0-based municipalities with the intervention (default: the odd ones).
    intervention_week
        First treated ISO week (default: the middle of the window).
    exit_effect
        Relative change of the weekly kontanthjælp -> self-support hazard
        (0.3 = 30 % more exits, so shorter spells).

    Returns
    -------
    DataFrame
        ``person`` (int64), ``week`` (ISO ``yyyyww``), ``status`` (code),
        ``municipality`` (int, 101 + index); ``attrs["truth"]`` holds the inputs.

    Examples
    --------
    >>> df = register_histories(n_persons=100, n_weeks=52, seed=1)
    >>> len(df), df.attrs["truth"]["exit_effect"]
    (5200, 0.3)
    """
    if n_persons < 1 or n_weeks < 2 or n_municipalities < 1:
        raise SpecError("Need n_persons >= 1, n_weeks >= 2 and n_municipalities >= 1.")
    if exit_effect <= -1:
        raise SpecError(f"exit_effect must exceed -1 (a hazard ratio above 0), got {exit_effect}.")
    first = int(iso_week_index([start], column="start")[0])
    weeks = np.arange(first, first + n_weeks)
    t0 = (
        first + n_weeks // 2
        if intervention_week is None
        else int(iso_week_index([intervention_week], column="intervention_week")[0])
    )
    if treated is None:
        treated = tuple(range(1, n_municipalities, 2))
    if any(not 0 <= m < n_municipalities for m in treated):
        raise SpecError(f"treated municipalities must lie in 0..{n_municipalities - 1}.")
    rng = np.random.default_rng(seed)
    size = (np.arange(n_municipalities) + 1.0) ** -size_exponent
    mun = rng.choice(n_municipalities, size=n_persons, p=size / size.sum())
    is_treated = np.isin(mun, np.asarray(treated, dtype=int))
    frailty = rng.gamma(2.0, 0.5, size=n_persons)
    state = rng.choice(6, size=n_persons, p=INITIAL_SHARES)
    isoweek = iso_week_label(weeks) % 100
    out = np.empty((n_weeks, n_persons), dtype="int16")
    for i, w in enumerate(weeks):
        out[i] = STATES[state]
        hz = BASE_HAZARDS[state]
        season = 1.0 + seasonal_amplitude * np.cos(2 * np.pi * (isoweek[i] - 2) / 52)
        hz[:, DAG] *= np.where(state == SELF, season, 1.0)
        in_kh = state == KH
        hz[in_kh] /= frailty[in_kh, None]
        boost = in_kh & is_treated & (w >= t0)
        hz[boost, SELF] *= 1.0 + exit_effect
        cum = np.cumsum(hz, axis=1)
        u = rng.random(n_persons)
        move = u < cum[:, -1]
        target = (u[:, None] < cum).argmax(axis=1)
        state = np.where(move, target, state)
    frame = pd.DataFrame(
        {
            "person": np.repeat(np.arange(1, n_persons + 1, dtype="int64"), n_weeks),
            "week": np.tile(iso_week_label(weeks), n_persons),
            "status": out.ravel(order="F"),
            "municipality": np.repeat(101 + mun, n_weeks),
        }
    )
    frame.attrs["truth"] = {
        "simulated": True,
        "treated": tuple(101 + m for m in treated),
        "intervention_week": int(iso_week_label(t0)),
        "exit_effect": exit_effect,
        "seed": seed,
    }
    return frame
