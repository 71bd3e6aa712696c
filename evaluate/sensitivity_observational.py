"""How strong would unmeasured confounding have to be?  Sensitivity of observational estimates.

Four answers, each from its method paper:

* **E-value** (VanderWeele & Ding 2017, Ann. Intern. Med. 167:268-274): the minimum
  strength of association, on the risk-ratio scale, that an unmeasured confounder
  would need with both treatment and outcome to explain away a risk ratio ``RR``:
  ``E = RR + sqrt(RR (RR - 1))`` (``RR`` inverted first when below 1).  The E-value
  of the confidence interval uses the limit nearer the null, and is 1 when the
  interval contains the null.  For a difference in means the paper's approximation
  converts the standardized difference ``d = difference / SD(outcome)`` to
  ``RR ~ exp(0.91 d)`` with interval ``exp(0.91 d -+ 1.78 se_d)`` (their Table 2,
  continuous outcomes; as R ``EValue::evalues.MD``).
* **Robustness value** (Cinelli & Hazlett 2020, JRSS-B 82:39-67) of an OLS
  coefficient with t-statistic ``t`` on ``df`` residual degrees of freedom:
  ``f = q |t| / sqrt(df)``, ``RV_q = (sqrt(f^4 + 4 f^2) - f^2) / 2``: a confounder
  explaining less than ``RV_q`` of the residual variance of both treatment and
  outcome cannot reduce the estimate by ``100 q`` %.  ``RV_{q,alpha}`` replaces ``f``
  by ``f - f*`` with ``f* = t_{1-alpha/2, df-1} / sqrt(df - 1)`` (0 when negative;
  as R ``sensemakr::robustness_value``, whose extreme case ``f_q < 1/f*`` rule is
  applied too), the strength that would make the estimate insignificant.
  The partial R² of treatment with outcome is ``t^2 / (t^2 + df)``.
* **Rosenbaum bounds** for matched pairs (Rosenbaum 2002, Observational Studies,
  2nd ed., sec. 4.3): if within a pair the odds of treatment differ by at most
  ``Gamma``, Wilcoxon's signed-rank statistic ``T`` is bounded by the sum of
  independent ``rank_i x Bernoulli(Gamma / (1 + Gamma))``; the upper bound on the
  one-sided p-value uses its normal approximation (zero differences dropped,
  average ranks for ties; as R ``rbounds::psens``).
* **Placebo checks**: an outcome the treatment cannot have affected (measured
  before it) and a pseudo-treatment contrast between two groups that both went
  untreated (Imbens & Rubin 2015, ch. 21) must show no effect.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from evaluate.effect import Diagnostic, NotApplicable
from evaluate.errors import DataError, SpecError
from evaluate.text import Num, Text


# --------------------------------------------------------------------------- E-value
@dataclass(frozen=True)
class EValue:
    """E-values of a risk ratio and of its confidence limit nearer the null."""

    rr: float
    rr_limit: float  # the CI limit nearer 1 (NaN without an interval)
    point: float
    limit: float  # 1 when the interval contains 1
    approximation: str = ""


def _e(rr: float) -> float:
    rr = 1 / rr if rr < 1 else rr
    return rr + math.sqrt(rr * (rr - 1))


def e_value(rr: float, ci: tuple[float, float] | None = None) -> EValue:
    """E-value of a risk ratio ``rr`` (and of its interval ``ci``), VanderWeele & Ding (2017).

    >>> round(e_value(3.9, (1.8, 8.7)).point, 2), round(e_value(3.9, (1.8, 8.7)).limit, 2)
    (7.26, 3.0)
    """
    if not (math.isfinite(rr) and rr > 0):
        raise SpecError(f"a risk ratio must be positive and finite; got {rr!r}.")
    if ci is None:
        return EValue(rr, math.nan, _e(rr), math.nan)
    low, high = sorted(ci)
    if not low > 0:
        raise SpecError(f"risk-ratio confidence limits must be positive; got {ci!r}.")
    if not low <= rr <= high:
        raise SpecError(f"risk ratio {rr} lies outside its interval {ci}.")
    if low <= 1 <= high:
        return EValue(rr, 1.0, _e(rr), 1.0)
    near = low if rr > 1 else high
    return EValue(rr, near, _e(rr), _e(near))


def e_value_difference(difference: float, *, sd: float, se: float | None = None) -> EValue:
    """E-value of a difference in means via ``RR ~ exp(0.91 d)``, ``d = difference / sd``.

    The interval is ``exp(0.91 d -+ 1.78 se / sd)`` (VanderWeele & Ding 2017, Table 2).
    """
    if not (math.isfinite(sd) and sd > 0):
        raise SpecError(f"sd must be positive; got {sd!r}.")
    d = difference / sd
    note = Text(
        "obs_sensitivity.e_value_smd",
        "standardized difference d = estimate / SD(outcome), RR ~ exp({factor} d)",
        factor=Num(0.91, decimals=2),
    )
    if se is None:
        return EValue(**{**e_value(math.exp(0.91 * d)).__dict__, "approximation": note})
    sd_d = se / sd
    ci = (math.exp(0.91 * d - 1.78 * sd_d), math.exp(0.91 * d + 1.78 * sd_d))
    return EValue(**{**e_value(math.exp(0.91 * d), ci).__dict__, "approximation": note})


# --------------------------------------------------------------------------- robustness value
def partial_r2(t: float, df: float) -> float:
    """Partial R² of treatment with outcome given the covariates: ``t² / (t² + df)``."""
    return t * t / (t * t + df)


def _rv(f: float) -> float:
    # (sqrt(f^4 + 4 f^2) - f^2) / 2, written without cancellation for large f
    return 0.0 if f == 0 else 2 / (1 + math.sqrt(1 + 4 / f**2))


def robustness_value(t: float, df: float, *, q: float = 1.0, alpha: float | None = None) -> float:
    """Cinelli-Hazlett robustness value ``RV_q`` (``alpha=None``) or ``RV_{q,alpha}``.

    >>> round(robustness_value(4.18445, 783), 3)  # Darfur example: 13.9 %
    0.139
    """
    if not (df > 1 and q > 0 and math.isfinite(t)):
        raise SpecError(f"need df > 1, q > 0 and a finite t; got t={t}, df={df}, q={q}.")
    fq = q * abs(t) / math.sqrt(df)
    if alpha is None:
        return _rv(fq)
    if not 0 < alpha < 1:
        raise SpecError(f"alpha must lie in (0, 1); got {alpha!r}.")
    f_crit = abs(stats.t.ppf(alpha / 2, df - 1)) / math.sqrt(df - 1)
    fqa = fq - f_crit
    if fqa <= 0:
        return 0.0
    rv = _rv(fqa)
    # When even a confounder orthogonal to the outcome suffices (sensemakr's extreme case)
    extreme = (fq**2 - f_crit**2) / (1 + fq**2)
    return extreme if fq > 1 / f_crit else rv


def adjusted_estimate(
    estimate: float, se: float, df: float, *, r2dz_x: float, r2yz_dx: float
) -> tuple[float, float]:
    """Estimate and SE after adjusting for a confounder of the given partial R² strengths.

    ``r2dz_x``: share of the treatment's residual variance (given the covariates) the
    confounder explains; ``r2yz_dx``: share of the outcome's (given treatment and
    covariates).  Bias ``se sqrt(df) sqrt(r2yz r2dz / (1 - r2dz))`` moves the estimate
    towards zero; SE ``se sqrt((1 - r2yz) / (1 - r2dz)) sqrt(df / (df - 1))``
    (Cinelli & Hazlett 2020, sec. 4).
    """
    if not (0 <= r2dz_x < 1 and 0 <= r2yz_dx <= 1):
        raise SpecError(f"need 0 <= r2dz_x < 1 and 0 <= r2yz_dx <= 1; got {r2dz_x}, {r2yz_dx}.")
    bias = se * math.sqrt(df) * math.sqrt(r2yz_dx * r2dz_x / (1 - r2dz_x))
    adj_se = se * math.sqrt((1 - r2yz_dx) / (1 - r2dz_x)) * math.sqrt(df / (df - 1))
    return estimate - math.copysign(bias, estimate), adj_se


def ols_treatment_t(y: np.ndarray, d: np.ndarray, X: np.ndarray) -> tuple[float, float, float]:
    """Coefficient, classical t and residual df of ``d`` in OLS of ``y`` on ``1, d, X``."""
    Z = np.column_stack([np.ones_like(y), d, X])
    beta, *_ = np.linalg.lstsq(Z, y, rcond=None)
    resid = y - Z @ beta
    df = len(y) - np.linalg.matrix_rank(Z)
    centred = y - y.mean()
    if df < 1 or resid @ resid <= 1e-12 * (centred @ centred):  # no df, or a perfect fit
        return float(beta[1]), math.nan, float(df)
    sigma2 = resid @ resid / df
    cov = sigma2 * np.linalg.pinv(Z.T @ Z)
    with np.errstate(divide="ignore", invalid="ignore"):
        t = np.float64(beta[1]) / np.sqrt(cov[1, 1])
    return float(beta[1]), float(t), float(df)


# --------------------------------------------------------------------------- Rosenbaum bounds
def rosenbaum_bounds(
    differences: Sequence[float] | np.ndarray, gammas: Sequence[float] = (1, 1.5, 2, 3, 4, 5, 6)
) -> pd.DataFrame:
    """Bounds on the one-sided p-value of Wilcoxon's signed-rank test for ``Gamma`` >= 1.

    ``differences`` are treated-minus-control outcomes of matched pairs; the test is
    of no effect against a positive effect.  Columns ``gamma, p_lower, p_upper``.
    """
    diff = np.asarray(differences, dtype=float)
    if diff.ndim != 1 or not np.isfinite(diff).all():
        raise DataError("pair differences must be a one-dimensional array of finite numbers.")
    diff = diff[diff != 0]
    if len(diff) < 2:
        raise DataError(f"{len(diff)} non-zero pair difference(s): too few for a signed-rank test.")
    ranks = stats.rankdata(np.abs(diff))  # average ranks for ties
    t_obs = ranks[diff > 0].sum()
    rows = []
    for gamma in gammas:
        if not gamma >= 1:
            raise SpecError(f"Gamma must be at least 1; got {gamma!r}.")
        p_hi = gamma / (1 + gamma)
        sd = math.sqrt(np.sum(ranks**2) * p_hi * (1 - p_hi))
        upper = stats.norm.sf((t_obs - p_hi * ranks.sum()) / sd)
        lower = stats.norm.sf((t_obs - (1 - p_hi) * ranks.sum()) / sd)
        rows.append({"gamma": float(gamma), "p_lower": float(lower), "p_upper": float(upper)})
    return pd.DataFrame(rows)


def rosenbaum_gamma(differences: Sequence[float] | np.ndarray, *, alpha: float = 0.05) -> float:
    """Largest ``Gamma`` at which the upper p-value bound stays below ``alpha`` (1 if none)."""
    from scipy import optimize

    def gap(g: float) -> float:
        return float(rosenbaum_bounds(differences, [g])["p_upper"].iloc[0]) - alpha

    if gap(1.0) >= 0:
        return 1.0
    hi = 2.0
    while gap(hi) < 0 and hi < 1e6:
        hi *= 2
    return float(optimize.brentq(gap, 1.0, hi, xtol=1e-6)) if hi < 1e6 else math.inf


# --------------------------------------------------------------------------- as diagnostics
_E_VALUE = Text("obs_sensitivity.e_value", "E-value")
_ROSENBAUM = Text("obs_sensitivity.rosenbaum", "Rosenbaum bounds")
def e_value_scale(
    y: np.ndarray, d: np.ndarray, estimate: float, ci: tuple[float, float] | None, att: bool
) -> tuple[str, float] | None:
    """How :func:`observational_sensitivity` turns an effect into a risk ratio.

    ``("risk_ratio", p1)``: a 0/1 outcome and the ATT, ``RR = p1 / (p1 - effect)`` with
    ``p1`` the treated's observed share; ``("difference", sd)``: ``RR ~ exp(0.91 effect /
    sd)`` with ``sd`` the pooled within-group SD of the outcome; None when neither applies.
    The switching values of a business case (:mod:`evaluate.switching`) reuse it to give
    the E-value of the break-even effect.
    """
    p1 = float(y[d == 1].mean())
    if att and ci is not None and np.isin(y, (0.0, 1.0)).all():
        low, high = ci
        if p1 > 0 and p1 - estimate > 0 and low <= estimate <= high:
            return ("risk_ratio", p1)
    n1, n0 = d.sum(), (1 - d).sum()
    if n1 < 2 or n0 < 2:
        return None
    pooled = math.sqrt(
        ((n1 - 1) * y[d == 1].var(ddof=1) + (n0 - 1) * y[d == 0].var(ddof=1)) / (n1 + n0 - 2)
    )
    return ("difference", pooled) if pooled > 0 else None


def _e_value_of(y, d, estimate, se, ci, att) -> EValue | None:
    p1 = float(y[d == 1].mean())
    if att and ci is not None and np.isin(y, (0.0, 1.0)).all():
        low, high = ci
        if p1 > 0 and p1 - estimate > 0:  # low < estimate, so its ratio is defined too
            upper = p1 / (p1 - high) if p1 - high > 0 else math.inf
            try:
                rr = e_value(p1 / (p1 - estimate), (p1 / (p1 - low), upper))
            except SpecError:  # an interval not around its estimate (bootstrap): use the SMD
                rr = None
            if rr is not None:
                note = Text(
                    "obs_sensitivity.e_value_rr",
                    "risk ratio {rr} = treated share {share} / (share - effect)",
                    rr=Num(rr.rr, sig=3),
                    share=Num(p1, sig=3),
                )
                return EValue(rr.rr, rr.rr_limit, rr.point, rr.limit, note)
    n1, n0 = d.sum(), (1 - d).sum()
    pooled = math.sqrt(
        ((n1 - 1) * y[d == 1].var(ddof=1) + (n0 - 1) * y[d == 0].var(ddof=1)) / (n1 + n0 - 2)
    )
    if not pooled > 0:
        return None
    ev = e_value_difference(estimate, sd=pooled, se=se)
    note = Text(
        "obs_sensitivity.e_value_sd", "{how}, SD {sd}", how=ev.approximation, sd=Num(pooled, sig=4)
    )
    return EValue(ev.rr, ev.rr_limit, ev.point, ev.limit, note)


def observational_sensitivity(
    y: np.ndarray,
    d: np.ndarray,
    X: np.ndarray,
    *,
    estimate: float,
    se: float,
    alpha: float,
    pair_differences: np.ndarray | None = None,
    controls_reused: bool = False,
    matched: bool = False,
    ci: tuple[float, float] | None = None,
    att: bool = True,
) -> dict[str, Diagnostic | NotApplicable]:
    """The sensitivity diagnostics printed with an observational result.

    ``estimate``, ``se`` and ``ci`` are the design's.  For a 0/1 outcome and the ATT
    the E-value is that of the risk ratio ``p1 / (p1 - estimate)`` (``p1`` the
    treated's observed share, held fixed for the interval); otherwise it converts
    the difference with the pooled within-group SD of the outcome.  The robustness
    value is that of the plain OLS coefficient (the model Cinelli & Hazlett
    analyse), whatever the method.
    """
    out: dict[str, Diagnostic | NotApplicable] = {}
    ev = _e_value_of(y, d, estimate, se, ci, att)
    if ev is None:
        out[_E_VALUE] = NotApplicable(
            Text("obs_sensitivity.e_value_flat", "the outcome does not vary within the groups")
        )
    else:
        out.update(_e_value_diagnostics(ev))
    return out | _robustness(y, d, X, alpha, estimate, pair_differences, controls_reused, matched)


def _e_value_diagnostics(ev: EValue) -> dict[str, Diagnostic | NotApplicable]:
    out: dict[str, Diagnostic | NotApplicable] = {}
    out[Text("obs_sensitivity.e_value_estimate", "E-value (estimate)")] = Diagnostic(
        _E_VALUE,
        ev.point,
        note=Text(
            "obs_sensitivity.e_value_note",
            "risk ratio a confounder would need with treatment and outcome; {how}",
            how=ev.approximation,
        ),
    )
    out[Text("obs_sensitivity.e_value_limit", "E-value (CI limit nearer null)")] = Diagnostic(
        _E_VALUE,
        ev.limit,
        note=Text(
            "obs_sensitivity.e_value_limit_note", "1 means the interval already includes no effect"
        ),
    )
    return out


def _robustness(y, d, X, alpha, estimate, pair_differences, controls_reused, matched):
    out: dict[str, Diagnostic | NotApplicable] = {}
    coef, t, df = ols_treatment_t(y, d, X)
    if not (math.isfinite(t) and df > 1):
        out[Text("obs_sensitivity.rv_name", "robustness value")] = NotApplicable(
            Text(
                "obs_sensitivity.rv_undefined",
                "the OLS t-statistic of treatment is {t} on {df} df (a perfect fit or no df)",
                t=str(t),
                df=Num(float(df), sig=4),
            )
        )
        return out
    rv = robustness_value(t, df)
    rva = robustness_value(t, df, alpha=alpha)
    base = Text(
        "obs_sensitivity.partial_r2_note",
        "of the OLS coefficient {coef} of treatment in outcome ~ treatment + covariates "
        "(t = {t}, df = {df})",
        coef=Num(coef, sig=4),
        t=Num(t, sig=3),
        df=int(df) if float(df).is_integer() else Num(float(df), sig=4),
    )
    out[Text("obs_sensitivity.partial_r2", "partial R² of treatment with outcome")] = Diagnostic(
        "R2", partial_r2(t, df), note=base
    )
    out[Text("obs_sensitivity.rv", "robustness value RV (q = 1)")] = Diagnostic(
        "RV",
        rv,
        note=Text(
            "obs_sensitivity.rv_note",
            "share of the residual variance of treatment and of outcome a confounder must "
            "explain to remove the effect",
        ),
    )
    key = Text(
        "obs_sensitivity.rv_alpha",
        "robustness value RV (q = 1, alpha = {alpha})",
        alpha=Num.written(alpha),
    )
    out[key] = Diagnostic(
        "RV",
        rva,
        note=Text(
            "obs_sensitivity.rv_alpha_note",
            "share a confounder must explain (with both) to make the effect statistically "
            "insignificant at this level",
        ),
    )
    if not matched:
        return out
    if pair_differences is None:
        out[_ROSENBAUM] = NotApplicable(
            Text(
                "obs_sensitivity.rosenbaum_no_pairs",
                "needs matched pairs (method='matching', 1 neighbour)",
            )
        )
    elif controls_reused:
        out[_ROSENBAUM] = NotApplicable(
            Text(
                "obs_sensitivity.rosenbaum_reused",
                "matching with replacement reused controls, so the pairs are not independent",
            )
        )
    else:
        sign = 1.0 if estimate >= 0 else -1.0
        gamma = rosenbaum_gamma(sign * np.asarray(pair_differences), alpha=alpha)
        out[Text("obs_sensitivity.rosenbaum_gamma", "Rosenbaum sensitivity Gamma")] = Diagnostic(
            "Gamma",
            gamma,
            note=Text(
                "obs_sensitivity.rosenbaum_gamma_note",
                "largest odds of differential treatment within pairs at which the signed-rank "
                "p-value bound stays below {alpha}",
                alpha=Num.written(alpha),
            ),
        )
    return out


__all__ = [
    "EValue",
    "adjusted_estimate",
    "e_value",
    "e_value_difference",
    "e_value_scale",
    "observational_sensitivity",
    "ols_treatment_t",
    "partial_r2",
    "robustness_value",
    "rosenbaum_bounds",
    "rosenbaum_gamma",
]
