"""Reference numbers for regression weights on a second data set (not mpdta).

Card & Krueger (1994) fast-food stores, full-time equivalent employment before
(wave 0) and after (wave 1) New Jersey's minimum-wage rise, each store weighted
by its number of cash registers in wave 1 (``nregs``, a size weight).  Stores
with a missing ``fte``, ``fte2`` or ``nregs`` are left out (a balanced panel).

Independent implementation: statsmodels WLS with explicit store dummies
(two-way fixed effects) or the 2x2 regression form, covariances ``nonrobust``
(classical), ``HC1`` and ``cluster`` by store (Stata's small-sample factor
G/(G-1) (N-1)/(N-K), K counting every dummy: evaluate's ``CR1-stata``; for the 2x2
form without dummies it is also ``CR1``).  Run from the repository root:

    PYTHONPATH=. python tests/reference/weights_statsmodels.py \
        > tests/reference/weights_statsmodels.csv

statsmodels 0.14+ (the version used is printed in the CSV's first line).
"""

from __future__ import annotations

import sys

import numpy as np
import pandas as pd
import statsmodels
import statsmodels.formula.api as smf


def panel() -> pd.DataFrame:
    from evaluate.datasets import card_krueger

    wide = card_krueger().dropna(subset=["fte", "fte2", "nregs"])
    long = pd.concat(
        [
            wide.assign(wave=0, y=wide["fte"]),
            wide.assign(wave=1, y=wide["fte2"]),
        ]
    )[["sheet", "state", "nregs", "wave", "y"]]
    long["store"] = long["sheet"].astype(str) + "_" + long["state"].astype(str)  # sheet repeats
    long["D"] = long["state"] * long["wave"]
    return long.sort_values(["store", "wave"], ignore_index=True)


def main() -> None:
    df = panel()
    rows = []
    forms = {
        "twfe": "y ~ D + C(store) + C(wave)",
        "did": "y ~ state + wave + D",
    }
    codes = pd.factorize(df["store"])[0]
    for design, formula in forms.items():
        model = smf.wls(formula, data=df, weights=df["nregs"])
        for name, kw in {
            "classical": {"cov_type": "nonrobust"},
            "HC1": {"cov_type": "HC1"},
            "CR1-stata": {"cov_type": "cluster", "cov_kwds": {"groups": codes}},
        }.items():
            fit = model.fit(**kw)
            rows.append((design, name, fit.params["D"], fit.bse["D"]))
    print(f"# statsmodels {statsmodels.__version__}, numpy {np.__version__}")
    out = pd.DataFrame(rows, columns=["design", "covariance", "estimate", "std_error"])
    out.to_csv(sys.stdout, index=False, float_format="%.15g")


if __name__ == "__main__":
    main()
