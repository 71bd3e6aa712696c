"""Regenerate vordingborg_simulated.csv: a SIMULATED three-arm caseworker trial.

    python studies/data/make_vordingborg.py

Vordingborg randomized 503 activity-ready recipients of cash benefit
(aktivitetsparate kontanthjælpsmodtagere) to three groups, followed by researchers:
arm 1 (n = 135) fewer cases per caseworker plus extra advisers, arm 2 a partial
version, and a control group with usual practice.  The individual data are not
public, so this file is SIMULATED with the published sizes:

* arms: ``arm1`` 135; the remaining 368 are split equally, ``arm2`` 184 and
  ``control`` 184 (an assumption: only arm 1's size is stated);
* covariates: ``age`` (uniform 18-59), ``female`` (Bernoulli 0.45), ``prior_weeks``
  on benefit before randomization (gamma, mean 120);
* weeks until self-support (leaving benefit for work or education): exponential
  with weekly hazard ``h0 * HR_arm * exp(-0.02 (age - 38) + 0.15 female
  - 0.003 (prior_weeks - 120))``, ``h0 = -log(0.7) / 52`` (so about 30 % of the
  control group is self-supporting by week 52), true hazard ratios **1.5** for arm 1
  and **1.2** for arm 2 (proportional hazards);
* follow-up ends 78 weeks after randomization (register data: nobody is lost
  earlier), so ``left = 0`` marks a spell still running at week 78 (``weeks = 78``);
* ``employed_w52`` = 1 if self-supporting by week 52 (left before week 52).

True effects (from 4 million draws per arm of the same model, Monte Carlo error
about 0.001; ``true_effects()``): employment share at week 52 control 0.325, arm 1
+0.116, arm 2 +0.050; restricted mean weeks on benefit within 78 weeks: control 58.9,
arm 1 -6.9, arm 2 -3.0 weeks.  Seed 503.  In this draw arm 2 happens to do worse
than control: one sample of 503, shown as it fell.
"""

from pathlib import Path

import numpy as np
import pandas as pd

SEED = 503
SIZES = {"arm1": 135, "arm2": 184, "control": 184}
HAZARD_RATIO = {"arm1": 1.5, "arm2": 1.2, "control": 1.0}
H0 = -np.log(0.7) / 52
FOLLOW_UP = 78.0


def simulate(sizes: dict[str, int], rng: np.random.Generator) -> pd.DataFrame:
    arm = np.concatenate([[label] * n for label, n in sizes.items()])
    rng.shuffle(arm)
    n = len(arm)
    age = rng.integers(18, 60, n)
    female = rng.binomial(1, 0.45, n)
    prior = np.round(rng.gamma(2.0, 60.0, n))
    log_risk = -0.02 * (age - 38) + 0.15 * female - 0.003 * (prior - 120)
    hazard = H0 * np.array([HAZARD_RATIO[a] for a in arm]) * np.exp(log_risk)
    spell = rng.exponential(1 / hazard)
    return pd.DataFrame(
        {
            "id": np.arange(1, n + 1),
            "arm": arm,
            "age": age,
            "female": female,
            "prior_weeks": prior.astype(int),
            "employed_w52": (spell < 52).astype(int),
            "weeks": np.round(np.minimum(spell, FOLLOW_UP), 1),
            "left": (spell < FOLLOW_UP).astype(int),
        }
    )


def true_effects(draws: int = 4_000_000, seed: int = 1) -> dict[str, float]:
    """Employment shares and restricted mean weeks (78) by arm, by a large simulation."""
    rng = np.random.default_rng(seed)
    out = {}
    for label in SIZES:
        big = simulate({label: draws}, rng)
        out[f"employed_{label}"] = float(big["employed_w52"].mean())
        out[f"rmst_{label}"] = float(np.minimum(big["weeks"], FOLLOW_UP).mean())
    return out


if __name__ == "__main__":
    frame = simulate(SIZES, np.random.default_rng(SEED))
    target = Path(__file__).with_name("vordingborg_simulated.csv")
    frame.to_csv(target, index=False, lineterminator="\n")
    print(f"wrote {target} ({len(frame)} rows)")
    print(frame.groupby("arm")[["employed_w52", "left", "weeks"]].mean().round(3))
