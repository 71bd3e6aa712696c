"""Observational comparisons: treated vs untreated without randomization.

One front door, :func:`observational`, estimates the effect on the treated (ATT,
the default: "what did the programme do for those who got it?") or the average
effect (ATE) by one of five methods:

* ``"difference"`` — the unadjusted difference in means (Welch SE): the naive
  comparison every adjusted estimate should be read against;
* ``"regression"`` — regression imputation: a linear outcome model fitted on the
  controls predicts the treated's untreated outcome (ATT; for the ATE one model per
  group).  The ATT equals the treatment coefficient of OLS with all treatment x
  covariate interactions and covariates centred at the treated means;
* ``"ipw"`` — inverse probability weighting with a logit propensity score:
  controls weighted by ``e/(1-e)`` (ATT) or everybody by ``1/e`` and ``1/(1-e)``
  (ATE), weights normalized within group (Hájek);
* ``"aipw"`` — doubly robust augmented IPW: the weighted residuals of the linear
  outcome model correct the regression estimate (ATT as in Moodie et al. 2018 /
  Sant'Anna & Zhao 2020; ATE as Robins, Rotnitzky & Zhao 1994);
* ``"matching"`` — nearest-neighbour matching with replacement on the logit of the
  propensity score or on the covariates (Mahalanobis), with an optional caliper.

Standard errors.  Regression, IPW and AIPW are M-estimators: the propensity
model, the outcome model and the effect are stacked and the sandwich variance
``J⁻¹ B J⁻ᵀ / n`` is computed from the stacked estimating equations (``J`` by
central differences), so the estimation of the propensity score and of the
outcome model is included (Lunceford & Davidian 2004).  Matching uses the
Abadie-Imbens (2006) variance for the population ATT with the conditional
variances estimated by matching controls to controls; it treats the propensity
score as known (Abadie & Imbens 2016 show the correction is small and, for the
ATE, that ignoring it is conservative).  ``bootstrap=B`` replaces any of these by a
seeded bootstrap (resampling within treatment groups, refitting everything); for
matching the bootstrap is not valid in theory (Abadie & Imbens 2008) and the
result says so.

Overlap diagnostics accompany every adjusted estimate: propensity score ranges by
group, the shares outside the common support, the effective sample size of the
weights, and covariate balance (standardized mean differences) before and after
weighting or matching.  ``trim`` drops units with scores outside
``[trim, 1 - trim]`` (counted) and refits the score; the estimand is then the
effect in the trimmed population, which the result states.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pandas as pd
from scipy.special import expit

from evaluate.data.validate import check_columns, check_frame, check_numeric
from evaluate.data.validate import drop_missing as _drop_missing
from evaluate.effect import Diagnostic, EffectResult, NotApplicable, Provenance, hash_frame
from evaluate.errors import DataError, DesignError, SmallSampleWarning, SpecError
from evaluate.estimators._trial_inference import _welch_dim
from evaluate.inference.distributions import Empirical, Normal, StudentT

if TYPE_CHECKING:
    from matplotlib.axes import Axes

Method = Literal["difference", "regression", "ipw", "aipw", "matching"]
Estimand = Literal["att", "ate"]
MatchOn = Literal["propensity", "covariates"]
_METHODS = ("difference", "regression", "ipw", "aipw", "matching")
_LABELS = {
    "difference": "Unadjusted difference in means",
    "regression": "Regression adjustment (imputation from a linear outcome model)",
    "ipw": "Inverse probability weighting (logit propensity score, Hájek weights)",
    "aipw": "Doubly robust augmented IPW (logit propensity + linear outcome model)",
    "matching": "Nearest-neighbour matching with replacement",
}


# --------------------------------------------------------------------------- nuisance models
def logit_fit(X: np.ndarray, d: np.ndarray, max_iter: int = 100) -> np.ndarray:
    """Logit coefficients by Newton-Raphson; ``X`` includes the constant.

    Raises :class:`DesignError` on perfect separation (a score of 0 or 1), where the
    propensity score is not estimable and weights would be infinite.
    """
    gamma = np.zeros(X.shape[1])
    for _ in range(max_iter):
        e = expit(X @ gamma)
        hess = (X * (e * (1 - e))[:, None]).T @ X
        try:
            step = np.linalg.solve(hess, X.T @ (d - e))
        except np.linalg.LinAlgError:
            break
        gamma = gamma + step
        if np.max(np.abs(step)) < 1e-9 * max(1.0, np.max(np.abs(gamma))):
            return gamma
    raise DesignError(
        "The propensity score model does not converge: some covariate (or combination) "
        "separates treated from controls perfectly, so some scores are 0 or 1 and there is "
        "no comparable control for them. Drop that covariate, restrict the sample to the "
        "common support, or set trim (e.g. trim=0.01)."
    )


def _expit(eta: np.ndarray) -> np.ndarray:
    return expit(eta)


def sandwich(psi: Callable[[np.ndarray], np.ndarray], theta: np.ndarray) -> np.ndarray:
    """M-estimation variance ``J⁻¹ B J⁻ᵀ / n`` of ``theta`` solving ``mean psi(theta) = 0``.

    ``psi`` returns the ``(n, q)`` stacked estimating functions; ``J`` is the
    Jacobian of their mean by central differences, ``B`` their mean outer product.
    """
    scores = psi(theta)
    n, q = scores.shape
    J = np.empty((q, q))
    for j in range(q):
        h = 1e-6 * max(1.0, abs(theta[j]))
        up, down = theta.copy(), theta.copy()
        up[j] += h
        down[j] -= h
        J[:, j] = (psi(up).mean(axis=0) - psi(down).mean(axis=0)) / (2 * h)
    B = scores.T @ scores / n
    J_inv = np.linalg.inv(J)
    return J_inv @ B @ J_inv.T / n


def _ols(X: np.ndarray, y: np.ndarray, what: str) -> np.ndarray:
    if np.linalg.matrix_rank(X) < X.shape[1]:
        raise DesignError(
            f"The outcome model is collinear among the {what} (a covariate is constant "
            "there or a combination of others). Drop it from covariates."
        )
    return np.linalg.lstsq(X, y, rcond=None)[0]


# --------------------------------------------------------------------------- the fit
@dataclass(frozen=True)
class _Fit:
    estimate: float
    se: float
    w_treated: np.ndarray  # weight of each treated unit in the comparison (sums to 1)
    w_control: np.ndarray  # weight of each control (sums to 1)
    keep: np.ndarray  # units used after trimming
    score: np.ndarray | None  # propensity score of every unit (before trimming)
    n_unmatched: int = 0
    n_controls_unused: int = 0  # matching: controls never chosen as a match


def _fit(
    y: np.ndarray, d: np.ndarray, X: np.ndarray, spec: dict[str, Any], diagnose: bool = True
) -> _Fit:
    """One estimate with its analytic SE.  ``X``: standardized covariates (no constant).

    ``diagnose`` fits the propensity score for the overlap diagnostics even where the
    method does not use it (regression); a failure there is left to the diagnostics.
    """
    method, att = spec["method"], spec["estimand"] == "att"
    n = len(y)
    keep = np.ones(n, dtype=bool)
    score = None
    Xc = np.column_stack([np.ones(n), X])
    uses_score = method in ("ipw", "aipw") or (
        method == "matching" and spec["match_on"] == "propensity"
    )
    if X.shape[1] and (uses_score or diagnose):
        try:
            score = _expit(Xc @ logit_fit(Xc, d))
        except DesignError:
            if uses_score:
                raise
        if spec["trim"] > 0 and score is not None and method in ("ipw", "aipw", "matching"):
            keep = (score >= spec["trim"]) & (score <= 1 - spec["trim"])
            if d[keep].sum() < 2 or (1 - d[keep]).sum() < 2:
                raise DesignError(
                    f"trim={spec['trim']} leaves fewer than 2 treated or 2 controls; lower it."
                )
    y, d, Xc = y[keep], d[keep], Xc[keep]
    t, c = d == 1, d == 0
    if method == "difference":
        est, se, _ = _welch_dim(y[t], y[c])
        return _Fit(est, se, t[t] / t.sum(), c[c] / c.sum(), keep, score)
    if method == "matching":
        return _matching(y, d, Xc[:, 1:], spec, keep, score)
    p = Xc.shape[1]
    b0 = _ols(Xc[c], y[c], "controls")
    if method == "regression" and att:
        theta = np.append(b0, np.mean(y[t] - Xc[t] @ b0))

        def psi(th):
            r0 = y - Xc @ th[:p]
            return np.column_stack([(c * r0)[:, None] * Xc, t * (r0 - th[p])])

        w_t, w_c = t / t.sum(), np.zeros(n)
    elif method == "regression":
        b1 = _ols(Xc[t], y[t], "treated")
        theta = np.concatenate([b0, b1, [np.mean(Xc @ (b1 - b0))]])

        def psi(th):
            r0, r1 = y - Xc @ th[:p], y - Xc @ th[p : 2 * p]
            return np.column_stack(
                [
                    (c * r0)[:, None] * Xc,
                    (t * r1)[:, None] * Xc,
                    Xc @ (th[p : 2 * p] - th[:p]) - th[-1],
                ]
            )

        w_t, w_c = np.zeros(n), np.zeros(n)
    else:
        gamma = logit_fit(Xc, d)
        e = _expit(Xc @ gamma)
        _check_extreme(e, d, att)
        w1 = t / 1.0 if att else t / e
        w0 = c * e / (1 - e) if att else c / (1 - e)
        w_t, w_c = w1 / w1.sum(), w0 / w0.sum()
        resid = y if method == "ipw" else y - Xc @ b0
        a, b = np.sum(w_t * resid), np.sum(w_c * resid)
        if method == "ipw":
            theta = np.concatenate([gamma, [a, b]])
        elif att:
            theta = np.concatenate([gamma, b0, [a, b]])
        else:
            b1 = _ols(Xc[t], y[t], "treated")
            mu = Xc @ (b1 - b0) + t * (y - Xc @ b1) / e - c * (y - Xc @ b0) / (1 - e)
            theta = np.concatenate([gamma, b0, b1, [mu.mean()]])

        def psi(th):
            ee = _expit(Xc @ th[:p])
            cols = [(d - ee)[:, None] * Xc]
            if method == "ipw" or att:
                r = y if method == "ipw" else y - Xc @ th[p : 2 * p]
                if method == "aipw":
                    cols.append((c * (y - Xc @ th[p : 2 * p]))[:, None] * Xc)
                v1 = t if att else t / ee
                v0 = c * ee / (1 - ee) if att else c / (1 - ee)
                cols += [v1 * (r - th[-2]), v0 * (r - th[-1])]
            else:
                g0, g1 = th[p : 2 * p], th[2 * p : 3 * p]
                r0, r1 = y - Xc @ g0, y - Xc @ g1
                cols += [(c * r0)[:, None] * Xc, (t * r1)[:, None] * Xc]
                cols.append(Xc @ (g1 - g0) + t * r1 / ee - c * r0 / (1 - ee) - th[-1])
            return np.column_stack(cols)

    V = sandwich(psi, theta)
    two = method in ("ipw", "aipw") and (method == "ipw" or att)
    est = theta[-2] - theta[-1] if two else theta[-1]
    var = V[-2, -2] + V[-1, -1] - 2 * V[-2, -1] if two else V[-1, -1]
    return _Fit(float(est), float(math.sqrt(max(var, 0.0))), w_t[t], w_c[c], keep, score)


def _check_extreme(e: np.ndarray, d: np.ndarray, att: bool) -> None:
    bad = (d == 0) & (e > 1 - 1e-8) if att else (e < 1e-8) | (e > 1 - 1e-8)
    if bad.any():
        raise DesignError(
            f"{int(bad.sum())} propensity scores are numerically 0 or 1 where they enter "
            "the weights, giving infinite weights. Set trim (e.g. trim=0.01) or restrict "
            "the sample to the common support."
        )


def _matching(y, d, X, spec, keep, score) -> _Fit:
    """ATT by k-nearest-neighbour matching with replacement; Abadie-Imbens (2006) SE."""
    from scipy.spatial import cKDTree

    t, c = d == 1, d == 0
    if spec["match_on"] == "propensity":
        e = score[keep]
        points = np.log(e / (1 - e))[:, None]
        scale = float(np.std(points, ddof=1))
    else:
        cov = np.atleast_2d(np.cov(X, rowvar=False))
        points = X @ np.linalg.cholesky(np.linalg.inv(cov))  # Mahalanobis -> Euclidean
        scale = 1.0
    k = min(spec["neighbours"], int(c.sum()))
    tree = cKDTree(points[c])
    dist, idx = tree.query(points[t], k=k)
    dist, idx = dist.reshape(-1, k), idx.reshape(-1, k)
    ok = np.ones_like(dist, dtype=bool)
    if spec["caliper"] is not None:
        ok = dist <= spec["caliper"] * scale
    m_i = ok.sum(axis=1)
    matched = m_i > 0
    if not matched.any():
        raise DesignError(
            f"No treated unit has a control within caliper={spec['caliper']}; widen the caliper."
        )
    y_t, y_c = y[t], y[c]
    y0_hat = np.array(
        [y_c[idx[i, ok[i]]].mean() if matched[i] else np.nan for i in range(len(y_t))]
    )
    n1 = int(matched.sum())
    est = float(np.mean(y_t[matched] - y0_hat[matched]))
    # control weights w_j = Σ_i 1/M_i and Σ_i 1/M_i² over the treated using control j
    w = np.zeros(int(c.sum()))
    w_sq = np.zeros(int(c.sum()))
    for i in np.flatnonzero(matched):
        np.add.at(w, idx[i, ok[i]], 1 / m_i[i])
        np.add.at(w_sq, idx[i, ok[i]], 1 / m_i[i] ** 2)
    # σ²(X_j) for controls: half the squared difference to the nearest other control
    if c.sum() > 1:
        _, nn = tree.query(points[c], k=2)
        sigma2 = 0.5 * (y_c - y_c[nn[:, 1]]) ** 2
    else:
        sigma2 = np.zeros(1)
    var = (
        np.sum((y_t[matched] - y0_hat[matched] - est) ** 2) + np.sum((w**2 - w_sq) * sigma2)
    ) / n1**2
    w_t = matched / n1
    n_unused = int((w == 0).sum())
    return _Fit(
        est, float(math.sqrt(var)), w_t, w / n1, keep, score, int((~matched).sum()), n_unused
    )


# --------------------------------------------------------------------------- result
@dataclass(frozen=True, kw_only=True, eq=False)
class ObservationalResult(EffectResult):
    """An adjusted comparison with its overlap and balance diagnostics.

    ``balance`` has the standardized mean differences of every covariate before and
    after adjustment (weighting or matching), ``overlap`` the propensity score
    distribution by group.
    """

    estimand_short: str = "att"
    balance: pd.DataFrame = field(default_factory=pd.DataFrame)
    overlap: pd.DataFrame = field(default_factory=pd.DataFrame)
    counts: pd.DataFrame = field(default_factory=pd.DataFrame)
    scores: pd.DataFrame = field(default_factory=pd.DataFrame)

    def _summary_tables(self) -> list[tuple[str, pd.DataFrame]]:
        tables = [("Effect", self.to_frame().set_index("term"))]
        tables.append(("Units used", self.counts.set_index("group")))
        if not self.overlap.empty:
            tables.append(("Propensity score by group", self.overlap.set_index("group")))
        if not self.balance.empty:
            tables.append(("Covariate balance", self.balance.set_index("covariate")))
        diag = pd.DataFrame(
            {"result": [str(v) for v in self.diagnostics.values()]},
            index=pd.Index(list(self.diagnostics), name="diagnostic"),
        )
        return tables + [("Diagnostics", diag)]

    def plot(self, ax: Axes | None = None) -> Axes:
        """Propensity score distributions by group (overlap); the estimate without covariates."""
        if self.scores.empty:
            return super().plot(ax)
        import seaborn as sns

        from evaluate.plotting import _axes

        ax = _axes(ax)
        palette = sns.color_palette("deep")
        bins = np.linspace(0, 1, 41)
        for k, (label, group) in enumerate(self.scores.groupby("group", sort=False)):
            ax.hist(
                group["score"], bins=bins, density=True, alpha=0.5, color=palette[k], label=label
            )
        ax.set_xlabel("propensity score")
        ax.set_ylabel("density")
        ax.set_title(f"{self.name}: overlap of propensity scores")
        ax.legend(frameon=False)
        return ax


def _smd_table(X, d, fit: _Fit, names, method) -> pd.DataFrame:
    t, c = d == 1, d == 0
    sd = np.sqrt((X[t].var(axis=0, ddof=1) + X[c].var(axis=0, ddof=1)) / 2)
    sd = np.where(sd > 0, sd, np.nan)
    m1, m0 = X[t].mean(axis=0), X[c].mean(axis=0)
    table = pd.DataFrame(
        {"covariate": names, "mean_treated": m1, "mean_control": m0, "smd_before": (m1 - m0) / sd}
    )
    if method in ("ipw", "aipw", "matching"):
        Xk, dk = X[fit.keep], d[fit.keep]
        a1 = fit.w_treated @ Xk[dk == 1]
        a0 = fit.w_control @ Xk[dk == 0]
        table["mean_treated_after"] = a1
        table["mean_control_after"] = a0
        table["smd_after"] = (a1 - a0) / sd
    return table


def _overlap(score, d, keep, weights) -> tuple[pd.DataFrame, dict[str, Diagnostic]]:
    n0 = int((d == 0).sum())
    rows = []
    for label, mask in (("treated", d == 1), ("control", d == 0)):
        s = score[mask]
        rows.append(
            {
                "group": label,
                "n": int(mask.sum()),
                "min": s.min(),
                "p05": np.quantile(s, 0.05),
                "median": np.median(s),
                "p95": np.quantile(s, 0.95),
                "max": s.max(),
                "trimmed": int((mask & ~keep).sum()),
            }
        )
    s1, s0 = score[d == 1], score[d == 0]
    out_t = float(np.mean((s1 > s0.max()) | (s1 < s0.min())))
    out_c = float(np.mean((s0 > s1.max()) | (s0 < s1.min())))
    # ESS of the weights the method used (ATT odds weights of the score otherwise)
    w = weights if weights is not None else s0 / (1 - s0)
    ess = float(w.sum() ** 2 / np.sum(w**2))
    diags = {
        "treated outside common support": Diagnostic(
            "share", out_t, passed=out_t == 0, note="treated with a score beyond every control's"
        ),
        "controls outside common support": Diagnostic(
            "share", out_c, note="controls with a score beyond every treated's (weight ~0 for ATT)"
        ),
        "effective sample size of controls": Diagnostic(
            "ESS", ess, passed=ess >= 30, note=f"(Σw)²/Σw² of the control weights; of {n0} controls"
        ),
    }
    return pd.DataFrame(rows), diags


# --------------------------------------------------------------------------- front door
def observational(
    data: pd.DataFrame,
    *,
    outcome: str,
    treatment: str,
    covariates: Sequence[str] = (),
    method: Method = "regression",
    estimand: Estimand = "att",
    trim: float = 0.0,
    match_on: MatchOn = "propensity",
    neighbours: int = 1,
    caliper: float | None = None,
    bootstrap: int = 0,
    seed: int | None = 0,
    alpha: float = 0.05,
    drop_missing: bool = False,
    name: str | None = None,
    unit: str = "outcome units",
    population: str = "not stated",
    source: str = "",
    simulated: bool = False,
) -> ObservationalResult:
    """Effect of a treatment estimated without randomization.

    Parameters
    ----------
    data : one row per person; never modified.
    outcome, treatment : numeric outcome and a 0/1 treatment column.
    covariates : pre-treatment covariates for the propensity score and outcome model.
    method : "difference", "regression", "ipw", "aipw" or "matching" (see module doc).
    estimand : "att" (effect on the treated; default) or "ate" (not for matching).
    trim : drop units with propensity scores outside ``[trim, 1 - trim]`` (ipw, aipw,
        matching; counted); the score is refitted on the rest.
    match_on, neighbours, caliper : matching on the logit propensity score or the
        covariates (Mahalanobis), the number of neighbours, and the caliper (in SDs of
        the logit score, or Mahalanobis units).  Treated without a control within the
        caliper are dropped and counted.
    bootstrap, seed : number of bootstrap replications (0: analytic SE) and seed.
    alpha : 1 - confidence level.
    drop_missing : drop rows with missing values (counted) instead of raising.
    name, unit, population, source, simulated : labels for the report.

    Examples
    --------
    >>> from evaluate.datasets import nsw_experimental, nsw_nonexperimental
    >>> treated = nsw_experimental().query("treat == 1")
    >>> psid = nsw_nonexperimental().query("sample == 'psid1'").drop(columns="sample")
    >>> res = observational(pd.concat([treated, psid]), outcome="re78", treatment="treat",
    ...                     method="difference")
    >>> round(res.estimate, 3)
    -15204.777
    """
    frame = check_frame(data)
    covariates = (covariates,) if isinstance(covariates, str) else tuple(covariates)
    _check_options(method, estimand, covariates, trim, neighbours, caliper, bootstrap, alpha)
    if match_on not in ("propensity", "covariates"):
        raise SpecError(f"match_on must be 'propensity' or 'covariates', got {match_on!r}.")
    columns = [outcome, treatment, *covariates]
    if len(set(columns)) != len(columns):
        raise SpecError(f"A column is used twice among outcome, treatment, covariates: {columns}.")
    check_columns(frame, columns)
    for column in columns:
        check_numeric(frame, column)
    work, n_dropped = _drop_missing(frame[columns], columns, allow=drop_missing, stacklevel=3)
    d = work[treatment].to_numpy(float)
    if not np.all(np.isin(d, (0.0, 1.0))):
        odd = sorted(set(d[~np.isin(d, (0.0, 1.0))].tolist()))[:5]
        raise DataError(
            f"Column {treatment!r} must be 1 (treated) or 0 (comparison); found {odd}. Recode it."
        )
    n1, n0 = int(d.sum()), int((1 - d).sum())
    if n1 < 2 or n0 < 2:
        raise DesignError(f"Need at least 2 treated and 2 comparison units; got {n1} and {n0}.")
    y = work[outcome].to_numpy(float)
    if np.ptp(y) == 0:
        raise DesignError(f"Every value of {outcome!r} equals {y[0]!r}; nothing to compare.")
    raw = work[list(covariates)].to_numpy(float)
    sd = raw.std(axis=0) if covariates else np.empty(0)
    flat = [cov for cov, s in zip(covariates, sd, strict=True) if s == 0]
    if flat:
        raise DesignError(f"Covariate(s) {flat} are constant in the data; drop them.")
    X = (raw - raw.mean(axis=0)) / sd if covariates else np.empty((len(y), 0))
    spec = {
        "outcome": outcome,
        "treatment": treatment,
        "covariates": list(covariates),
        "method": method,
        "estimand": estimand,
        "trim": float(trim),
        "match_on": match_on,
        "neighbours": int(neighbours),
        "caliper": caliper,
        "bootstrap": int(bootstrap),
        "seed": seed,
        "alpha": alpha,
    }
    fit = _fit(y, d, X, spec)
    diagnostics: dict[str, Diagnostic | NotApplicable] = {}
    notes: list[str] = []
    if method == "difference":
        v1, v0 = y[d == 1].var(ddof=1), y[d == 0].var(ddof=1)
        pooled = ((n1 - 1) * v1 + (n0 - 1) * v0) / (n1 + n0 - 2)
        diagnostics["classical (pooled-variance) SE"] = Diagnostic(
            "SE", math.sqrt(pooled * (1 / n1 + 1 / n0)), note="as printed in older studies"
        )
        _, _, welch_df = _welch_dim(y[d == 1], y[d == 0])
        dist: Any = StudentT(fit.estimate, fit.se, welch_df)
        inference = "Welch (unequal-variance) SE, Welch-Satterthwaite df"
    elif method == "matching":
        dist = Normal(fit.estimate, fit.se)
        inference = "Abadie-Imbens (2006) SE (propensity score treated as known)"
    else:
        dist = Normal(fit.estimate, fit.se)
        inference = "sandwich SE of the stacked estimating equations (nuisance models included)"
    if bootstrap:
        samples = _bootstrap(y, d, X, spec)
        diagnostics["analytic SE"] = Diagnostic("SE", fit.se, note=inference)
        dist = Empirical(fit.estimate, samples)
        inference = (
            f"bootstrap, {bootstrap} replications resampled within groups (seed {seed}), "
            "percentile interval"
        )
        if method == "matching":
            notes.append(
                "The bootstrap is not valid for nearest-neighbour matching (Abadie & Imbens "
                "2008); prefer the analytic Abadie-Imbens SE (bootstrap=0)."
            )
    keep = fit.keep
    overlap = pd.DataFrame()
    scores = pd.DataFrame()
    if fit.score is not None:
        used = fit.w_control if method in ("ipw", "aipw", "matching") else None
        overlap, overlap_diags = _overlap(fit.score, d, keep, used)
        diagnostics.update(overlap_diags)
        scores = pd.DataFrame({"group": np.where(d == 1, "treated", "control"), "score": fit.score})
    else:
        diagnostics["overlap"] = NotApplicable("no covariates: no propensity score")
    balance = _smd_table(raw, d, fit, list(covariates), method) if covariates else pd.DataFrame()
    if "smd_after" in balance:
        worst = float(np.nanmax(np.abs(balance["smd_after"])))
        diagnostics["largest |SMD| after adjustment"] = Diagnostic(
            "SMD", worst, passed=worst < 0.1, note="below 0.1 is conventionally balanced"
        )
    n_trim = int((~keep).sum())
    counts = pd.DataFrame(
        {
            "group": ["treated", "control"],
            "n": [n1, n0],
            "trimmed": [int((~keep & (d == 1)).sum()), int((~keep & (d == 0)).sum())],
            "unmatched": [fit.n_unmatched, fit.n_controls_unused],
        }
    )
    counts["used"] = counts["n"] - counts["trimmed"] - counts["unmatched"]
    notes += _notes(spec, n_trim, fit, diagnostics, n1)
    target = "the treated (ATT)" if estimand == "att" else "everybody (ATE)"
    if n_trim or fit.n_unmatched:
        target += " in the trimmed / matched sample"
    what = f"average effect of {treatment} on {outcome} for {target}"
    if method == "difference":
        what = (
            f"difference in mean {outcome}, {treatment} = 1 minus {treatment} = 0 (unadjusted: "
            "the ATT only if the groups are comparable)"
        )
    label = _LABELS[method]
    if method == "matching":
        on = (
            "the logit propensity score" if match_on == "propensity" else "covariates (Mahalanobis)"
        )
        label += f" on {on}, {neighbours} neighbour(s)"
        label += f", caliper {caliper:g}" if caliper is not None else ""
    return ObservationalResult(
        name=name or outcome,
        estimand=what,
        distribution=dist,
        method=label,
        inference=inference,
        unit=unit,
        population=population,
        alpha=alpha,
        diagnostics=diagnostics,
        provenance=Provenance(
            spec=spec,
            data_hash=hash_frame(work),
            n_rows=len(work),
            n_dropped=n_dropped,
            source=source,
            simulated=simulated,
        ),
        notes=tuple(notes),
        estimand_short=estimand,
        balance=balance,
        overlap=overlap,
        counts=counts,
        scores=scores,
    )


def _check_options(method, estimand, covariates, trim, neighbours, caliper, bootstrap, alpha):
    if method not in _METHODS:
        raise SpecError(f"method must be one of {list(_METHODS)}, got {method!r}.")
    if estimand not in ("att", "ate"):
        raise SpecError(f"estimand must be 'att' or 'ate', got {estimand!r}.")
    if method == "matching" and estimand == "ate":
        raise SpecError("Matching estimates the ATT only here; use estimand='att' or aipw.")
    if method != "difference" and not covariates:
        raise SpecError(f"method={method!r} needs covariates=[...] to adjust for.")
    if not (isinstance(trim, (int, float)) and 0 <= trim < 0.5):
        raise SpecError(f"trim must lie in [0, 0.5), got {trim!r}.")
    if trim and method in ("difference", "regression"):
        raise SpecError("trim applies to the propensity methods (ipw, aipw, matching).")
    if method != "matching" and (caliper is not None or neighbours != 1):
        raise SpecError("caliper and neighbours apply to method='matching' only.")
    if caliper is not None and not (isinstance(caliper, (int, float)) and caliper > 0):
        raise SpecError(f"caliper must be a positive number, got {caliper!r}.")
    if not isinstance(neighbours, (int, np.integer)) or neighbours < 1:
        raise SpecError(f"neighbours must be a positive integer, got {neighbours!r}.")
    if not isinstance(bootstrap, (int, np.integer)) or bootstrap < 0 or 0 < bootstrap < 100:
        raise SpecError(f"bootstrap must be 0 or at least 100 replications, got {bootstrap!r}.")
    if not 0 < alpha < 1:
        raise SpecError(f"alpha must lie strictly between 0 and 1, got {alpha!r}.")


def _bootstrap(y, d, X, spec) -> np.ndarray:
    rng = np.random.default_rng(spec["seed"])
    t, c = np.flatnonzero(d == 1), np.flatnonzero(d == 0)
    out = []
    for _ in range(spec["bootstrap"]):
        rows = np.concatenate([rng.choice(t, len(t)), rng.choice(c, len(c))])
        try:
            out.append(_fit(y[rows], d[rows], X[rows], spec, diagnose=False).estimate)
        except DesignError:
            continue  # a replicate with a degenerate design is skipped and counted below
    if len(out) < 0.9 * spec["bootstrap"]:
        raise DesignError(
            f"Only {len(out)} of {spec['bootstrap']} bootstrap replicates could be fitted."
        )
    return np.asarray(out)


def _notes(spec, n_trim, fit: _Fit, diagnostics, n1) -> list[str]:
    notes = [
        "Without randomization the estimate is causal only if, given the covariates, "
        "treatment is unrelated to the untreated outcome (no unmeasured confounding) and "
        "every treated unit has comparable controls (overlap)."
    ]
    if spec["method"] == "difference":
        notes.append("No adjustment: differences in who was treated are part of this number.")
    if n_trim:
        notes.append(
            f"{n_trim} units with propensity scores outside [{spec['trim']}, "
            f"{1 - spec['trim']}] were trimmed; the estimate describes the remaining population."
        )
    if fit.n_unmatched:
        notes.append(
            f"{fit.n_unmatched} of {n1} treated had no control within the caliper and are "
            "excluded: the estimate is the effect on the matched treated only."
        )
    ess = diagnostics.get("effective sample size of controls")
    if isinstance(ess, Diagnostic) and ess.value < 30 and spec["method"] in ("ipw", "aipw"):
        notes.append(
            f"The weighted controls are worth only {ess.value:.0f} units (effective sample "
            "size): a few controls carry the estimate."
        )
        warnings.warn(f"Effective sample size {ess.value:.0f} < 30.", SmallSampleWarning, 3)
    out_t = diagnostics.get("treated outside common support")
    if isinstance(out_t, Diagnostic) and out_t.value > 0:
        notes.append(
            f"{out_t.value:.1%} of the treated have propensity scores beyond every control's: "
            "for them the comparison rests on extrapolation."
        )
    return notes


__all__ = ["ObservationalResult", "logit_fit", "observational", "sandwich"]
