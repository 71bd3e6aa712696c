"""Regenerate koebenhavn_peers.csv (SIMULATED data; only aggregates are published).

    python studies/data/make_koebenhavn_peers.py

What is published: 25 % of Copenhagen's flexjob-eligible citizens (visiteret til
fleksjob) are unemployed (on ledighedsydelse), against 17 % in comparable
municipalities, and at their level about 3,000 more would be in flexjob.  The
municipality-level counts behind those figures are not public, so this script
simulates a panel of 98 municipalities that reproduces the aggregates exactly:

* Copenhagen: 37,500 flexjob-eligible, 9,375 unemployed (25.0 %).  The
  denominator is back-solved from the published figures, 3,000 / (0.25 - 0.17);
  it is not an observed count.
* The published comparison group ("published_peer"): eight large municipalities,
  here called "Storby 1" ... "Storby 8", whose pooled rate is exactly 17.0 % (the
  last one's count is adjusted to hit the published rate).
* 89 further municipalities ("Kommune 01" ...), with rates drawn around 17 %
  (sd 3 points), for the nearest-neighbour choice of peers.

Denominators are multiples of 100 and unemployed counts binomial draws given the
drawn rates.  Covariates: population (thousands) and the unemployment rate (%).
Seed 20240611, numpy's default generator: the file is reproduced byte for byte.
"""

from pathlib import Path

import numpy as np
import pandas as pd

SEED = 20240611
FOCAL = ("København", 37_500, 9_375, 650.0, 5.6)


def simulate(seed: int = SEED) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rows = [FOCAL]
    # Eight big-city peers: 2,000-8,000 eligible each, rates around 17 %.
    den = rng.integers(20, 81, 8) * 100
    num = rng.binomial(den, np.clip(rng.normal(0.17, 0.02, 8), 0.05, 0.5))
    # Pooled rate exactly 17 %: adjust the last peer's count to the published total.
    num[-1] = 17 * den.sum() // 100 - num[:-1].sum()
    pop = rng.uniform(90, 360, 8).round(1)
    unemp = rng.normal(4.8, 0.5, 8).round(1)
    rows += [
        (f"Storby {i + 1}", int(d), int(n), float(p), float(u))
        for i, (d, n, p, u) in enumerate(zip(den, num, pop, unemp, strict=True))
    ]
    den = rng.integers(3, 31, 89) * 100
    num = rng.binomial(den, np.clip(rng.normal(0.17, 0.03, 89), 0.03, 0.5))
    pop = np.exp(rng.normal(np.log(40), 0.5, 89)).round(1)
    unemp = rng.normal(4.0, 0.8, 89).round(1)
    rows += [
        (f"Kommune {i + 1:02d}", int(d), int(n), float(p), float(u))
        for i, (d, n, p, u) in enumerate(zip(den, num, pop, unemp, strict=True))
    ]
    frame = pd.DataFrame(
        rows,
        columns=[
            "kommune",
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
    target = Path(__file__).with_name("koebenhavn_peers.csv")
    frame.to_csv(target, index=False, lineterminator="\n")
    print(f"wrote {target} ({len(frame)} rows)")
