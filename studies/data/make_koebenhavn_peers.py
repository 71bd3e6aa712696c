"""Regenerate koebenhavn_peers.csv (SIMULATED data; only aggregates are published).

    python studies/data/make_koebenhavn_peers.py

What is published (BIIe Vision 2020, ../shared/cases/koebenhavn_vision2020_fleksjob.txt):

* Copenhagen has the fewest citizens approved for flexjob (visiteret til fleksjob)
  of any municipality; at the level of comparable municipalities it would have
  about 3,000 *more* approved.  That is the visitation LEVEL, read here per
  inhabitant (the text does not say per what);
* of those approved, about 25 % are unemployed (on ledighedsydelse) in
  Copenhagen against about 17 % in comparable municipalities.

The municipality-level counts are not public, so this script simulates a panel of
98 municipalities that reproduces those aggregates exactly:

* Copenhagen (ASSUMED): 600,000 inhabitants and 6,300 approved (1.05 % of the
  inhabitants), 1,575 of them unemployed (25.0 %).  With the comparison group's
  pooled 1.55 %, Copenhagen would have 9,300 approved: 3,000 more.  Both counts
  are chosen to fit the published figures; neither is observed.
* The published comparison group ("published_peer"): eight large municipalities,
  "Storby 1" ... "Storby 8", whose pooled visitation rate is exactly 1.55 % of the
  inhabitants and whose pooled unemployed share of the approved is exactly 17.0 %
  (the last peer's counts are adjusted to hit both).
* 89 further municipalities ("Kommune 01" ...), with visitation rates drawn
  around 1.55 % and kept above Copenhagen's, so that Copenhagen ranks lowest of
  the 98 as the text says, and unemployed shares around 17 %.

Covariates: population (thousands) and the unemployment rate (%).  Seed 20240611,
numpy's default generator: the file is reproduced byte for byte.
"""

from pathlib import Path

import numpy as np
import pandas as pd

SEED = 20240611
FOCAL_INHABITANTS = 600_000
FOCAL_APPROVED = 6_300
FOCAL_UNEMPLOYED = 1_575
PEER_RATE = 0.0155  # approved per inhabitant in the comparison group (pooled)


def simulate(seed: int = SEED) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rows = [("København", FOCAL_INHABITANTS, FOCAL_APPROVED, FOCAL_UNEMPLOYED, 600.0, 5.6)]
    # Eight big-city peers: 1,500-5,000 approved each (multiples of 100).
    approved = rng.integers(15, 51, 8) * 100
    # Total approved a multiple of 3,100, so that total / 0.0155 is a whole number of
    # inhabitants: the last peer absorbs the difference.
    approved[-1] += (-approved.sum()) % 3_100
    inhabitants_total = int(approved.sum()) * 2_000 // 31  # = approved / 0.0155
    rates = np.clip(rng.normal(PEER_RATE, 0.002, 8), 0.012, 0.02)
    weights = approved / rates
    inhabitants = np.round(weights / weights.sum() * inhabitants_total).astype(int)
    inhabitants[-1] = inhabitants_total - inhabitants[:-1].sum()
    unemployed = rng.binomial(approved, np.clip(rng.normal(0.17, 0.02, 8), 0.05, 0.5))
    unemployed[-1] = 17 * approved.sum() // 100 - unemployed[:-1].sum()
    unemp = rng.normal(4.8, 0.5, 8).round(1)
    rows += [
        (f"Storby {i + 1}", int(p), int(a), int(u), round(p / 1_000, 1), float(r))
        for i, (p, a, u, r) in enumerate(zip(inhabitants, approved, unemployed, unemp, strict=True))
    ]
    inhabitants = (np.exp(rng.normal(np.log(40), 0.5, 89)) * 1_000).round().astype(int)
    rates = np.clip(rng.normal(PEER_RATE, 0.003, 89), 0.012, 0.03)
    approved = np.round(inhabitants * rates).astype(int)
    unemployed = rng.binomial(approved, np.clip(rng.normal(0.17, 0.03, 89), 0.03, 0.5))
    unemp = rng.normal(4.0, 0.8, 89).round(1)
    rows += [
        (f"Kommune {i + 1:02d}", int(p), int(a), int(u), round(p / 1_000, 1), float(r))
        for i, (p, a, u, r) in enumerate(zip(inhabitants, approved, unemployed, unemp, strict=True))
    ]
    frame = pd.DataFrame(
        rows,
        columns=[
            "kommune",
            "inhabitants",
            "visiterede",
            "ledighedsydelse",
            "population_1000",
            "unemployment_rate",
        ],
    )
    frame["published_peer"] = frame["kommune"].str.startswith("Storby")
    return frame


if __name__ == "__main__":
    frame = simulate()
    peers = frame[frame["published_peer"]]
    assert 100 * peers["ledighedsydelse"].sum() == 17 * peers["visiterede"].sum()
    assert 31 * peers["inhabitants"].sum() == 2_000 * peers["visiterede"].sum()
    rate = frame["visiterede"] / frame["inhabitants"]
    assert rate.idxmin() == 0  # Copenhagen has the fewest approved per inhabitant
    target = Path(__file__).with_name("koebenhavn_peers.csv")
    frame.to_csv(target, index=False, lineterminator="\n")
    print(f"wrote {target} ({len(frame)} rows)")
