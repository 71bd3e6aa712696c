"""Duration outcomes: weeks until leaving benefit, with right censoring.

"Weeks on benefit" is what money is made of, so the main estimate is the
difference in **restricted mean time** (RMST) on benefit up to a horizon ``τ``
between an arm and control: the area under each arm's Kaplan-Meier curve of
"still on benefit" from 0 to ``τ`` (Royston & Parmar 2013).  A negative
difference means fewer weeks on benefit in the first ``τ`` weeks: weeks saved.

* Kaplan-Meier curves by arm with Greenwood variances and pointwise log-log
  ("log(-log S)", Kalbfleisch-Prentice) confidence intervals, as R
  ``survfit(conf.type = "log-log")``;
* RMST variance ``Σ_{t_j ≤ τ} A_j² d_j / (n_j (n_j - d_j))`` with
  ``A_j = ∫_{t_j}^{τ} S(u) du`` (Klein & Moeschberger 2003, sec. 4.5; as R
  ``survRM2::rmst2``); the difference of independent arms has the sum of variances;
* the log-rank test (overall and each arm against control) and a Cox model hazard
  ratio (statsmodels ``PHReg``, Efron ties as R ``coxph``) as diagnostics.

The default horizon is the shortest of the arms' longest follow-up times
(the ``survRM2`` default), so every curve is observed up to ``τ``.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from scipy import stats

from evaluate.data.validate import check_columns, check_frame, check_numeric
from evaluate.data.validate import drop_missing as _drop_missing
from evaluate.effect import (
    Diagnostic,
    EffectResult,
    NotApplicable,
    Provenance,
    hash_frame,
    tidy_row,
)
from evaluate.errors import DataError, DesignError, SpecError
from evaluate.estimators._renamed import renamed_options
from evaluate.estimators.trials.trial import _NO_CONTROL, _resolve_arms
from evaluate.inference.distributions import Distribution, Normal
from evaluate.text import Num, Pct, Text, Unit, say

if TYPE_CHECKING:
    from matplotlib.axes import Axes


# --------------------------------------------------------------------------- Kaplan-Meier
def kaplan_meier(time: np.ndarray, event: np.ndarray, alpha: float = 0.05) -> pd.DataFrame:
    """Kaplan-Meier table at each distinct event time.

    Columns ``time, n_risk, events, survival, std_error, ci_low, ci_high``:
    ``std_error`` is Greenwood's SE of ``S(t)``; the interval is the pointwise log-log
    interval.  A unit censored at an event time is at risk at that time.

    Examples
    --------
    >>> km = kaplan_meier(np.array([1.0, 2, 3, 4, 5]), np.array([1, 0, 1, 1, 0]))
    >>> [round(s, 4) for s in km["survival"]]
    [0.8, 0.5333, 0.2667]
    """
    time = np.asarray(time, float)
    event = np.asarray(event, int)
    ordered = np.sort(time)
    event_times = np.sort(time[event == 1])
    ut = np.unique(event_times)
    n_risk = len(time) - np.searchsorted(ordered, ut, side="left")
    d = np.searchsorted(event_times, ut, side="right") - np.searchsorted(
        event_times, ut, side="left"
    )
    surv = np.cumprod(1 - d / n_risk)
    with np.errstate(divide="ignore", invalid="ignore"):
        # Greenwood: Σ d / (n (n - d)); infinite once everybody at risk has left.
        green = np.cumsum(np.where(n_risk > d, d / (n_risk * (n_risk - d)), np.inf))
        se = np.where(surv > 0, surv * np.sqrt(green), 0.0)
        z = stats.norm.ppf(1 - alpha / 2)
        loglog_se = np.sqrt(green) / np.abs(np.log(surv))
        low = np.where((surv > 0) & (surv < 1), surv ** np.exp(z * loglog_se), np.nan)
        high = np.where((surv > 0) & (surv < 1), surv ** np.exp(-z * loglog_se), np.nan)
    low = np.where(surv == 0, 0.0, low)
    high = np.where(surv == 0, 0.0, high)
    return pd.DataFrame(
        {
            "time": ut,
            "n_risk": n_risk.astype(int),
            "events": d.astype(int),
            "survival": surv,
            "std_error": se,
            "ci_low": low,
            "ci_high": high,
        }
    )


def rmst(km: pd.DataFrame, horizon: float) -> tuple[float, float]:
    """Restricted mean time up to ``horizon`` under a Kaplan-Meier curve, and its SE.

    The area is exact (the curve is a step function); the variance is
    ``Σ_{t_j ≤ τ} A_j² d_j / (n_j (n_j - d_j))``, with terms where everybody at risk
    leaves set to 0 (as ``survRM2``).
    """
    inside = km[km["time"] <= horizon]
    t = inside["time"].to_numpy(float)
    s = inside["survival"].to_numpy(float)
    knots = np.concatenate([[0.0], t, [horizon]])
    heights = np.concatenate([[1.0], s])
    pieces = np.diff(knots) * heights
    area = float(pieces.sum())
    # A_j: area from t_j to the horizon = total minus the area accumulated up to t_j.
    after = area - np.cumsum(pieces)[:-1]
    n = inside["n_risk"].to_numpy(float)
    d = inside["events"].to_numpy(float)
    with np.errstate(divide="ignore", invalid="ignore"):
        term = np.where(n > d, d / (n * (n - d)), 0.0)
    return area, float(math.sqrt(np.sum(after**2 * term)))


def _step_at(km: pd.DataFrame, times: np.ndarray, column: str) -> np.ndarray:
    idx = np.searchsorted(km["time"].to_numpy(float), times, side="right") - 1
    values = km[column].to_numpy(float)
    start = {"survival": 1.0, "ci_low": 1.0, "ci_high": 1.0, "std_error": 0.0}[column]
    return np.where(idx >= 0, values[np.clip(idx, 0, None)], start)


def logrank(time: np.ndarray, event: np.ndarray, group: np.ndarray) -> tuple[float, float, int]:
    """Log-rank chi-square statistic, p-value and df for ``k`` groups (Mantel 1966)."""
    codes, labels = pd.factorize(group, sort=True)
    k = len(labels)
    ut = np.unique(time[event == 1])
    n_g = np.empty((len(ut), k))
    d_g = np.empty((len(ut), k))
    for g in range(k):
        t_g = np.sort(time[codes == g])
        ev_g = np.sort(time[(codes == g) & (event == 1)])
        n_g[:, g] = len(t_g) - np.searchsorted(t_g, ut, side="left")
        d_g[:, g] = np.searchsorted(ev_g, ut, side="right") - np.searchsorted(ev_g, ut, "left")
    n = n_g.sum(axis=1)
    d = d_g.sum(axis=1)
    observed_minus_expected = (d_g - n_g * (d / n)[:, None]).sum(axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        factor = np.where(n > 1, d * (n - d) / (n - 1), 0.0) / n
    share = n_g / n[:, None]
    V = np.einsum("t,tg,gh->gh", factor, n_g, np.eye(k)) - np.einsum(
        "t,tg,th->gh", factor, n_g, share
    )
    u = observed_minus_expected[:-1]
    chi2 = float(u @ np.linalg.solve(V[:-1, :-1], u))
    return chi2, float(stats.chi2.sf(chi2, k - 1)), k - 1


def _cox(time, event, codes, n_others, alpha):
    """Hazard ratios of each arm vs control from statsmodels PHReg (Efron ties)."""
    from statsmodels.duration.hazard_regression import PHReg

    exog = (codes[:, None] == np.arange(1, n_others + 1)[None, :]).astype(float)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = PHReg(time, exog, status=event, ties="efron").fit()
    beta, se = np.asarray(fit.params), np.asarray(fit.bse)
    if not np.all(np.isfinite(se)) or np.any(np.abs(beta) > 20):
        raise DesignError("the Cox model did not converge (an arm with no or only exits?)")
    z = stats.norm.ppf(1 - alpha / 2)
    return pd.DataFrame(
        {
            "log_hr": beta,
            "log_hr_se": se,
            "hazard_ratio": np.exp(beta),
            "hr_ci_low": np.exp(beta - z * se),
            "hr_ci_high": np.exp(beta + z * se),
            "hr_p_value": 2 * stats.norm.sf(np.abs(beta / se)),
        }
    )


# --------------------------------------------------------------------------- result
@dataclass(frozen=True, kw_only=True, eq=False)
class DurationResult(EffectResult):
    """Difference in restricted mean time on benefit, with Kaplan-Meier curves.

    The main estimate is the first arm's RMST difference; ``by_arm`` holds every
    arm (RMST difference, log-rank test, Cox hazard ratio), ``rmst_table`` each
    arm's own RMST and ``curves`` the Kaplan-Meier tables.
    """

    control: str = "control"
    horizon: float = math.nan
    arm_distributions: tuple[tuple[str, Distribution], ...] = ()
    arm_table: pd.DataFrame = field(default_factory=pd.DataFrame)
    rmst_table: pd.DataFrame = field(default_factory=pd.DataFrame)
    curves: pd.DataFrame = field(default_factory=pd.DataFrame)

    @property
    def by_arm(self) -> pd.DataFrame:
        """One row per arm vs control: RMST difference with CI at ``alpha``, tests, HR."""
        out = self.arm_table.copy()
        cis = [dist.interval(self.alpha) for _, dist in self.arm_distributions]
        pos = out.columns.get_loc("std_error") + 1
        out.insert(pos, "ci_low", [c[0] for c in cis])
        out.insert(pos + 1, "ci_high", [c[1] for c in cis])
        return out

    def survival_at(self, times: Sequence[float]) -> pd.DataFrame:
        """Share still on benefit (with CI) in each arm at ``times``."""
        grid = np.asarray(times, float)
        rows = []
        for label, km in self.curves.groupby("arm", sort=False):
            rows.append(
                pd.DataFrame(
                    {
                        "arm": label,
                        "time": grid,
                        "survival": _step_at(km, grid, "survival"),
                        "ci_low": _step_at(km, grid, "ci_low"),
                        "ci_high": _step_at(km, grid, "ci_high"),
                    }
                )
            )
        return pd.concat(rows, ignore_index=True)

    def _extra_terms(self) -> list[dict[str, Any]]:
        rows = [
            tidy_row(
                Text(
                    "duration.term_arm",
                    "{name} [{arm} vs {control}]",
                    name=self.name,
                    arm=str(label),
                    control=self.control,
                ),
                dist,
                self.alpha,
                self.unit,
            )
            for label, dist in self.arm_distributions[1:]
        ]
        for row in self.arm_table.itertuples():
            if not np.isfinite(row.hazard_ratio):
                continue
            rows.append(
                {
                    "term": Text(
                        "duration.term_hazard_ratio",
                        "hazard ratio of leaving [{arm} vs {control}]",
                        arm=str(row.arm),
                        control=self.control,
                    ),
                    "estimate": row.hazard_ratio,
                    "std_error": math.nan,
                    "ci_low": row.hr_ci_low,
                    "ci_high": row.hr_ci_high,
                    "p_value": row.hr_p_value,
                    "unit": "ratio",
                }
            )
        return rows

    def _summary_tables(self) -> list[tuple[str, pd.DataFrame]]:
        tables = [
            (f"RMST difference by arm (horizon {self.horizon:g})", self.by_arm.set_index("arm")),
            ("Restricted mean time by arm", self.rmst_table.set_index("arm")),
        ]
        grid = np.linspace(0, self.horizon, 5)[1:]
        at = self.survival_at(grid)
        wide = at.pivot(index="time", columns="arm", values="survival")
        wide.columns = [f"still on: {c}" for c in wide.columns]
        tables.append(("Kaplan-Meier: share still on benefit", wide))
        diag = pd.DataFrame(
            {"result": [str(v) for v in self.diagnostics.values()]},
            index=pd.Index(list(self.diagnostics), name="diagnostic"),
        )
        return tables + [("Diagnostics", diag)]

    def plot(self, ax: Axes | None = None) -> Axes:
        """Kaplan-Meier curves by arm with pointwise bands and the RMST horizon."""
        import seaborn as sns

        from evaluate.plotting import _axes

        ax = _axes(ax)
        palette = sns.color_palette("deep")
        for k, (label, km) in enumerate(self.curves.groupby("arm", sort=False)):
            t = np.concatenate([[0.0], km["time"].to_numpy(float)])
            s = np.concatenate([[1.0], km["survival"].to_numpy(float)])
            lo = np.concatenate([[1.0], km["ci_low"].fillna(0.0).to_numpy(float)])
            hi = np.concatenate([[1.0], km["ci_high"].fillna(0.0).to_numpy(float)])
            if t[-1] < self.horizon:  # every arm is followed at least to the horizon
                t, s = np.append(t, self.horizon), np.append(s, s[-1])
                lo, hi = np.append(lo, lo[-1]), np.append(hi, hi[-1])
            color = palette[k % len(palette)]
            ax.step(t, s, where="post", color=color, label=str(label))
            ax.fill_between(t, lo, hi, step="post", color=color, alpha=0.15)
        ax.axvline(self.horizon, color="0.4", linewidth=0.8, linestyle="--")
        ax.set_ylim(0, 1.02)
        ax.set_xlabel(say(Text("duration.plot_time", "time ({unit})", unit=Unit(self.unit))))
        ax.set_ylabel(say(Text("duration.plot_share", "share still on benefit")))
        ax.set_title(self.name)
        ax.legend(frameon=False)
        return ax


# --------------------------------------------------------------------------- front door
@renamed_options("unit")
def duration(
    data: pd.DataFrame,
    *,
    time: str,
    event: str,
    arm: str,
    control: Any = _NO_CONTROL,
    arms: Sequence[Any] | None = None,
    horizon: float | None = None,
    alpha: float = 0.05,
    drop_missing: bool = False,
    name: str | None = None,
    outcome_unit: str = "weeks",
    population: str = "not stated",
    source: str = "",
    simulated: bool = False,
) -> DurationResult:
    """Difference in restricted mean time to an event (e.g. leaving benefit) by arm.

    Parameters
    ----------
    data : one row per person; never modified.
    time : follow-up time (e.g. weeks from randomization until leaving benefit, or
        until the end of follow-up for those still on benefit); non-negative.
    event : 1 if the person left (the event happened at ``time``), 0 if censored.
    arm, control, arms : assignment column, control label (default 0 for a 0/1 arm)
        and the non-control arms in report order (the first is the main estimate).
    horizon : RMST horizon ``τ`` in the units of ``time`` (default: the shortest
        of the arms' longest follow-up).  It may not exceed any arm's follow-up.
    alpha : 1 - confidence level.
    drop_missing : drop rows with a missing value (counted) instead of raising.
    name, outcome_unit, population, source, simulated : labels for the report.

    Examples
    --------
    >>> rng = np.random.default_rng(1)
    >>> arm = np.repeat([0, 1], 200)
    >>> t = rng.exponential(np.where(arm == 1, 20.0, 30.0))
    >>> df = pd.DataFrame({"weeks": np.minimum(t, 52), "left": (t < 52).astype(int), "arm": arm})
    >>> res = duration(df, time="weeks", event="left", arm="arm", horizon=52)
    >>> res.estimate < 0   # arm 1 leaves benefit sooner: fewer weeks on benefit
    True
    """
    frame = check_frame(data)
    if not 0 < alpha < 1:
        raise SpecError(f"alpha must lie strictly between 0 and 1, got {alpha!r}.")
    columns = [time, event, arm]
    if len(set(columns)) != 3:
        raise SpecError(f"time, event and arm must be three different columns, got {columns}.")
    check_columns(frame, columns)
    check_numeric(frame, time)
    check_numeric(frame, event)
    work, n_dropped = _drop_missing(frame[columns], columns, allow=drop_missing, stacklevel=3)
    t = work[time].to_numpy(float)
    if not np.all(np.isfinite(t)) or np.any(t < 0):
        bad = work.index[~np.isfinite(t) | (t < 0)][0]
        raise DataError(
            f"Column {time!r} must hold non-negative finite durations; row {bad!r} has "
            f"{work.loc[bad, time]!r}. Check how the duration was computed."
        )
    e = work[event].to_numpy(float)
    if not np.all(np.isin(e, (0.0, 1.0))):
        odd = sorted(set(e[~np.isin(e, (0.0, 1.0))].tolist()))[:5]
        raise DataError(
            f"Column {event!r} must be 1 (left / event observed) or 0 (censored); found "
            f"{odd}. Recode it, e.g. (status == 'left').astype(int)."
        )
    e = e.astype(int)
    if e.sum() == 0:
        raise DesignError(f"No events in {event!r}: every spell is censored, nothing to compare.")
    control, others = _resolve_arms(work[arm], control, arms)
    order = [control, *others]
    codes = np.zeros(len(work), dtype=int)
    for k, label in enumerate(others, start=1):
        codes[(work[arm] == label).to_numpy()] = k
    for k, label in enumerate(order):
        if (codes == k).sum() < 2:
            raise DesignError(f"Arm {label!r} has fewer than 2 persons; cannot estimate a curve.")
    longest = [float(t[codes == k].max()) for k in range(len(order))]
    if horizon is None:
        horizon = min(longest)
    elif not (isinstance(horizon, (int, float)) and horizon > 0 and math.isfinite(horizon)):
        raise SpecError(f"horizon must be a positive number of {outcome_unit}, got {horizon!r}.")
    elif horizon > min(longest) + 1e-12:
        short = order[int(np.argmin(longest))]
        raise DesignError(
            f"horizon={horizon:g} exceeds the follow-up of arm {short!r} (longest time "
            f"{min(longest):g}); the curve is unknown beyond it. Use horizon <= {min(longest):g}."
        )
    horizon = float(horizon)
    if horizon <= 0:
        raise DesignError("Every follow-up time in some arm is 0: no horizon is possible.")

    curves, rmst_rows = [], []
    for k, label in enumerate(order):
        km = kaplan_meier(t[codes == k], e[codes == k], alpha)
        area, se = rmst(km, horizon)
        curves.append(km.assign(arm=str(label)))
        rmst_rows.append(
            {
                "arm": str(label),
                "n": int((codes == k).sum()),
                "events": int(e[codes == k].sum()),
                "censored": int((1 - e[codes == k]).sum()),
                "rmst": area,
                "rmst_se": se,
                "median": _median(km),
            }
        )
    rmst_table = pd.DataFrame(rmst_rows)
    curve_frame = pd.concat(curves, ignore_index=True)[["arm", *curves[0].columns[:-1]]]

    diagnostics: dict[str, Diagnostic | NotApplicable] = {}
    chi2, p_all, df = logrank(t, e, codes)
    diagnostics[Text("duration.logrank", "log-rank test (all arms)")] = Diagnostic(
        "log-rank",
        chi2,
        p_all,
        note=Text(
            "duration.logrank_note",
            "chi-square, {df} df: equal exit curves in all arms",
            df=int(df),
        ),
    )
    try:
        cox = _cox(t, e, codes, len(others), alpha)
        cox_ok = True
    except (DesignError, np.linalg.LinAlgError, ValueError) as err:
        cox = pd.DataFrame(
            np.nan,
            index=range(len(others)),
            columns=["log_hr", "log_hr_se", "hazard_ratio", "hr_ci_low", "hr_ci_high"]
            + ["hr_p_value"],
        )
        diagnostics[Text("duration.cox", "Cox model")] = NotApplicable(
            Text(
                "duration.cox_failed", "the Cox model could not be fitted: {error}", error=str(err)
            )
        )
        cox_ok = False
    ctrl = rmst_rows[0]
    dists, rows = [], []
    for k, label in enumerate(others, start=1):
        mine = rmst_rows[k]
        diff = mine["rmst"] - ctrl["rmst"]
        se = math.sqrt(mine["rmst_se"] ** 2 + ctrl["rmst_se"] ** 2)
        dist = Normal(diff, se)
        dists.append((str(label), dist))
        pair = (codes == 0) | (codes == k)
        chi2_k, p_k, _ = logrank(t[pair], e[pair], codes[pair])
        rows.append(
            {
                "arm": str(label),
                "rmst_arm": mine["rmst"],
                "rmst_control": ctrl["rmst"],
                "estimate": diff,
                "std_error": se,
                "p_value": dist.p_value(0.0),
                "logrank_chi2": chi2_k,
                "logrank_p": p_k,
                **cox.iloc[k - 1][
                    ["hazard_ratio", "hr_ci_low", "hr_ci_high", "hr_p_value"]
                ].to_dict(),
            }
        )
        if cox_ok:
            key = Text("duration.cox_arm", "Cox hazard ratio: {arm}", arm=str(label))
            diagnostics[key] = Diagnostic(
                Text("duration.hazard_ratio", "hazard ratio"),
                float(cox["hazard_ratio"].iloc[k - 1]),
                float(cox["hr_p_value"].iloc[k - 1]),
                note=Text(
                    "duration.cox_note",
                    "{level} CI [{low}, {high}]; > 1 = leaves benefit faster "
                    "(assumes proportional hazards)",
                    level=Pct(1 - alpha),
                    low=Num(float(cox["hr_ci_low"].iloc[k - 1]), sig=3),
                    high=Num(float(cox["hr_ci_high"].iloc[k - 1]), sig=3),
                ),
            )
    tau = _horizon(horizon)
    notes: list[Any] = [
        Text(
            "duration.note_rmst",
            "Restricted mean time: the average number of {unit} on benefit within the "
            "first {horizon} {unit} (area under the Kaplan-Meier curve). A negative "
            "difference is {unit} saved per person over that horizon; time after "
            "{horizon} is not counted.",
            unit=Unit(outcome_unit),
            horizon=tau,
        ),
    ]
    share_censored = 1 - e.mean()
    if share_censored > 0.5:
        notes.append(
            Text(
                "duration.note_censored",
                "{share} of spells are censored (still on benefit at the end of "
                "follow-up); curves late in follow-up rest on few people.",
                share=Pct(float(share_censored)),
            )
        )
    small = [r["arm"] for r in rmst_rows if r["events"] < 10]
    if small:
        notes.append(
            Text(
                "duration.note_few_exits",
                "Arm(s) {arms} have fewer than 10 exits: curves and RMST are imprecise.",
                arms=", ".join(small),
            )
        )
    spec = {
        "time": time,
        "event": event,
        "arm": arm,
        "control": str(control),
        "arms": [str(a) for a in others],
        "horizon": horizon,
        "alpha": alpha,
    }
    first = others[0]
    return DurationResult(
        name=name or time,
        estimand=Text(
            "duration.estimand",
            "difference in restricted mean {unit} until {event} within {horizon} {unit}, "
            "arm '{arm}' minus control '{control}'",
            unit=Unit(outcome_unit),
            event=event,
            horizon=tau,
            arm=str(first),
            control=str(control),
        ),
        distribution=dists[0][1],
        method=Text("duration.method", "Kaplan-Meier restricted mean time (RMST) difference"),
        inference=Text(
            "duration.inference",
            "Greenwood-type RMST variance (Klein & Moeschberger), normal reference",
        ),
        unit=outcome_unit,
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
        control=str(control),
        horizon=horizon,
        arm_distributions=tuple(dists),
        arm_table=pd.DataFrame(rows),
        rmst_table=rmst_table,
        curves=curve_frame,
    )


def _horizon(horizon: float) -> int | Num:
    """The horizon as a count when whole (78 weeks), else a number (26.5)."""
    return int(horizon) if float(horizon).is_integer() else Num(float(horizon), sig=4)


def _median(km: pd.DataFrame) -> float:
    """Median time to the event (first time the curve reaches 0.5), NaN if never."""
    hit = km["survival"].to_numpy() <= 0.5
    return float(km["time"].to_numpy()[hit][0]) if hit.any() else math.nan


__all__ = ["DurationResult", "duration", "kaplan_meier", "logrank", "rmst"]
