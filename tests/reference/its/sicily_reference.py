"""Reference values for tests/estimators/series/test_its_models.py (Sicily ITS tutorial).

Data: sicily.csv from Lopez Bernal, Cummins & Gasparrini, "Interrupted time series
regression for the evaluation of public health interventions: a tutorial", Int J
Epidemiol 2017;46(1):348-355, doi:10.1093/ije/dyw098; copied unchanged from the
authors' repository gasparrini/2017_lopezbernal_IJE_codedata (commit c88b53fc,
file sicily.csv: 59 months, 2002-01 to 2006-11, acute coronary episodes in Sicily;
smoking ban from 2005-01). Their Rcode.R fits, with tsModel::harmonic:

  model1 <- glm(aces ~ offset(log(stdpop)) + smokban + time, family=poisson, data)
  model2 <- glm(aces ~ offset(log(stdpop)) + smokban + time, family=quasipoisson, data)
  model3 <- glm(aces ~ offset(log(stdpop)) + smokban + time + harmonic(month,2,12),
                family=quasipoisson, data)
  model4 <- glm(aces ~ offset(log(stdpop)) + smokban + time + I(time-36):smokban +
                harmonic(month,2,12), family=quasipoisson, data)

R is not available here, so this script refits the same models with statsmodels
GLM (an independent implementation; quasi-Poisson = Poisson with the Pearson
X^2/(n-k) scale, as R's summary.glm) and prints the rate ratios with Wald 95 %
intervals (qnorm, as Epi::ci.exp). Run: python tests/reference/its/sicily_reference.py

Output (statsmodels 0.15.0):
  model1 smokban RR 0.894377 (0.864686-0.925086)
  model2 smokban RR 0.894377 (0.839189-0.953193), dispersion 3.559187
  model3 smokban RR 0.885072 (0.839401-0.933227), dispersion 2.262183
  model4 smokban RR 0.876464, slope RR 1.001483 per month
The brief's published values: model3 0.885 (0.839-0.933), reproduced to the printed
digits; "0.886 (0.834-0.941)" for the basic model matches none of model1/model2
(not checked against the paper's text, which was not available offline).
"""

from pathlib import Path

import numpy as np
import pandas as pd
import statsmodels.api as sm

Z = 1.959963984540054


def fits() -> dict[str, object]:
    d = pd.read_csv(Path(__file__).with_name("sicily.csv"))
    y, off = d["aces"].to_numpy(float), np.log(d["stdpop"].to_numpy(float))
    base = np.column_stack([np.ones(len(d)), d["smokban"], d["time"]])
    k = np.arange(1, 3)
    x = 2 * np.pi * d["month"].to_numpy()[:, None] * k / 12
    harm = np.column_stack([np.sin(x), np.cos(x)])
    slope = ((d["time"] - 36) * d["smokban"]).to_numpy()[:, None]
    poisson = sm.families.Poisson()
    return {
        "model1": sm.GLM(y, base, family=poisson, offset=off).fit(),
        "model2": sm.GLM(y, base, family=poisson, offset=off).fit(scale="X2"),
        "model3": sm.GLM(y, np.hstack([base, harm]), family=poisson, offset=off).fit(scale="X2"),
        "model4": sm.GLM(y, np.hstack([base, slope, harm]), family=poisson, offset=off).fit(
            scale="X2"
        ),
    }


if __name__ == "__main__":
    for name, fit in fits().items():
        b, se = fit.params[1], fit.bse[1]
        print(f"{name} smokban RR {np.exp(b):.6f} ({np.exp(b - Z * se):.6f}-"
              f"{np.exp(b + Z * se):.6f}), dispersion {fit.scale:.6f}")  # fmt: skip
