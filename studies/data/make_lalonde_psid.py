"""Regenerate lalonde_psid1.csv: the NSW treated men vs the PSID-1 comparison group.

    python studies/data/make_lalonde_psid.py

Dehejia & Wahba (1999) and LaLonde (1986) ask whether non-experimental estimators
recover the experimental effect of the National Supported Work demonstration when
the randomized controls are replaced by a survey sample.  This file stacks

* the 185 NSW treated men of the Dehejia-Wahba experimental sample
  (``evaluate.datasets.nsw_experimental()``, ``treat == 1``), and
* the 2,490 PSID-1 men (``evaluate.datasets.nsw_nonexperimental()``,
  ``sample == "psid1"``, ``treat == 0``),

keeping the columns ``treat, age, educ, black, hisp, marr, nodegree, re74, re75,
re78`` (earnings in US$) and adding ``u74``/``u75`` (1 if earnings were 0 in that
year), the unemployment indicators Dehejia & Wahba use.  The data are real (no
simulation); the bundled datasets cite their sources (tests/reference/REFERENCES.md).
"""

from pathlib import Path

import pandas as pd

from evaluate.datasets import nsw_experimental, nsw_nonexperimental


def build() -> pd.DataFrame:
    treated = nsw_experimental().query("treat == 1")
    psid = nsw_nonexperimental().query("sample == 'psid1'").drop(columns="sample")
    frame = pd.concat([treated, psid], ignore_index=True)
    frame["u74"] = (frame["re74"] == 0).astype(int)
    frame["u75"] = (frame["re75"] == 0).astype(int)
    return frame


if __name__ == "__main__":
    frame = build()
    target = Path(__file__).with_name("lalonde_psid1.csv")
    frame.to_csv(target, index=False, lineterminator="\n")
    print(f"wrote {target} ({len(frame)} rows, {int(frame['treat'].sum())} treated)")
