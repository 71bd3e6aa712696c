"""Power of a quasi-experimental design by placebo simulation.

"With 3 kommuner and 24 months, what could we ever detect?"  The analytic
formulas in :mod:`evaluate.power` assume a randomized comparison; a DiD, an
interrupted time series or a synthetic control has its own noise, serial
correlation and few units.  :func:`simulate_design` answers the question with the
data themselves:

1. keep only the periods before the real intervention (``before``), where the
   true effect is zero;
2. pick placebo interventions there: windows of ``pre_periods`` + ``post_periods``
   periods sliding through the pre-period (``placebo="time"``, the treated units
   stay the real ones), or placebo-treated units drawn from the controls
   (``placebo="units"``, windows as before);
3. add a known effect ``δ`` to the placebo-treated units' outcomes in the placebo
   post-periods and rerun the design, with the user's options, through
   :data:`evaluate.estimators.DESIGNS`;
4. over all placebos, count how often the test at level ``alpha`` rejects
   (power; at ``δ = 0`` the size), how often the interval covers ``δ`` and the mean
   error ``estimate - δ`` (bias).

The minimum detectable effect is where the rejection rate crosses ``target``
(80 %), linearly interpolated between the effect sizes tried.  Its Monte Carlo
standard error comes from resampling whole placebos (each with its runs at every
effect size) and interpolating again.  Placebo windows overlap when
``step < pre_periods + post_periods``; the rates are then averages of dependent
replicates and the stated Monte Carlo error is too small (it treats placebos as
independent, as the result says).

Example: 12 kommuner, 3 of them treated from month 24; what could a TWFE detect
with 6 post-months, judged on 12-month windows of the 24 months before?

>>> import numpy as np, pandas as pd
>>> rng = np.random.default_rng(7)
>>> panel = pd.DataFrame({"kommune": np.repeat(np.arange(12), 36),
...                       "month": np.tile(np.arange(36), 12)})
>>> panel["rate"] = 5 + rng.normal(0, 1, 12)[panel["kommune"]] + rng.normal(0, 0.5, 432)
>>> panel["treated"] = ((panel["kommune"] < 3) & (panel["month"] >= 24)).astype(int)
>>> res = simulate_design(panel, design="twfe", treated_units=[0, 1, 2],
...     options=dict(outcome="rate", unit="kommune", time="month", treatment="treated"),
...     effects=[0, 0.25, 0.5, 0.75, 1.0], post_periods=6, pre_periods=12,
...     show_progress=False)
>>> res.n_placebos, round(res.mde, 1)
(7, 0.7)

Seven overlapping windows are few: the MDE is a rough guide, and its Monte Carlo
error (``res.mde_mc_se``) is understated.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pandas as pd

from evaluate._display import ResultDisplay
from evaluate.errors import DesignError, SpecError
from evaluate.progress import progress

if TYPE_CHECKING:
    from matplotlib.axes import Axes

Placebo = Literal["time", "units"]

#: Designs :func:`simulate_design` can rerun, and how each is told where the
#: placebo intervention sits: a 0/1 column for the post-period (``did``), a 0/1
#: treatment column (``twfe``), or the ``start`` option (the rest).
SUPPORTED = ("did", "twfe", "its", "synthetic_control", "synthetic_did")
MAX_FITS = 5000
_KIND = {"time": "windows in time", "units": "placebo-treated units"}
_POST, _GROUP, _TREAT = "_placebo_post", "_placebo_group", "_placebo_treatment"


@dataclass(frozen=True)
class DesignPowerResult(ResultDisplay):
    """Rejection rate, coverage and bias by injected effect size, from placebo runs."""

    design: str
    effects: tuple[float, ...]
    table: pd.DataFrame  # one row per effect: effect, rejection_rate, coverage, bias, ...
    runs: pd.DataFrame  # one row per fit: placebo, start, effect, estimate, ci, p_value
    alpha: float
    target: float
    placebo: Placebo
    n_placebos: int
    notes: tuple[str, ...] = field(default=())

    @property
    def mde(self) -> float:
        """Smallest effect whose rejection rate reaches ``target`` (interpolated); NaN if none."""
        return self.mde_and_error[0]

    @property
    def mde_mc_se(self) -> float:
        """Monte Carlo SE of :attr:`mde` (placebos resampled; NaN when the grid misses it)."""
        return self.mde_and_error[1]

    @cached_property
    def mde_and_error(self) -> tuple[float, float]:
        return _mde_with_error(self.runs, self.alpha, self.target, 0)

    def to_frame(self) -> pd.DataFrame:
        """One row per effect size: ``effect, rejection_rate, rejection_mc_se, coverage,
        bias, rmse, n_runs, n_failed``."""
        return self.table.copy()

    def _summary_title(self) -> str:
        return f"Power by placebo simulation: {self.design}"

    def _summary_header(self) -> list[tuple[str, object]]:
        mde = self.mde
        if math.isnan(mde):
            shown = "not reached at the effects tried"
        elif math.isnan(self.mde_mc_se):
            shown = f"{mde:.4g} (Monte Carlo error unknown: the crossing is at the grid's edge)"
        else:
            shown = f"{mde:.4g} (MC s.e. {self.mde_mc_se:.2g})"
        return [
            (
                "Placebos",
                f"{self.n_placebos} ({_KIND[self.placebo]})",
            ),
            ("Test level", self.alpha),
            (f"Minimum detectable effect at {self.target:.0%} power", shown),
        ]

    def _summary_tables(self) -> list[tuple[str, pd.DataFrame]]:
        return [("By effect size", self.table.set_index("effect"))]

    def _summary_notes(self) -> list[str]:
        return list(self.notes)

    def plot(self, ax: Axes | None = None) -> Axes:
        """Power curve: rejection rate against the injected effect, MDE marked."""
        from evaluate.plotting import _axes

        ax = _axes(ax)
        t = self.table
        ax.errorbar(
            t["effect"],
            t["rejection_rate"],
            yerr=1.96 * t["rejection_mc_se"],
            marker="o",
            color="C0",
            capsize=2,
        )
        ax.axhline(self.target, color="0.4", linewidth=0.8, linestyle="--")
        ax.axhline(self.alpha, color="0.6", linewidth=0.8, linestyle=":")
        if not math.isnan(self.mde):
            ax.axvline(
                self.mde, color="C1", linewidth=1.0, linestyle=":", label=f"MDE {self.mde:.3g}"
            )
            ax.legend(frameon=False)
        ax.set_xlabel("injected effect")
        ax.set_ylabel("rejection rate")
        ax.set_ylim(0, 1.02)
        ax.set_title(f"Power of {self.design} ({self.n_placebos} placebos)")
        return ax


def _crossing(x: np.ndarray, y: np.ndarray, target: float) -> float:
    """Where the piecewise-linear curve through ``(x, y)`` first reaches ``target``."""
    for i in range(1, len(x)):
        if y[i - 1] < target <= y[i]:
            w = (target - y[i - 1]) / (y[i] - y[i - 1])
            return float(x[i - 1] + w * (x[i] - x[i - 1]))
    return float(x[0]) if len(y) and y[0] >= target else math.nan


def _mde_with_error(runs: pd.DataFrame, alpha: float, target: float, seed) -> tuple[float, float]:
    """Interpolated MDE and its Monte Carlo SE by resampling whole placebos (B = 400).

    A placebo's runs at all effect sizes share its data, so the rejection rates are
    dependent across effects; resampling placebos keeps that, and it reflects the
    noise in the slope of the curve too, which a delta method on two points ignores.
    """
    reject = (runs["p_value"] < alpha).to_numpy(float)
    matrix = pd.DataFrame(
        {"placebo": runs["placebo"], "effect": runs["effect"], "r": reject}
    ).pivot(index="placebo", columns="effect", values="r")
    x, R = matrix.columns.to_numpy(float), matrix.to_numpy()
    mde = _crossing(x, R.mean(axis=0), target)
    if math.isnan(mde) or len(R) < 2:
        return mde, math.nan
    rng = np.random.default_rng(seed)
    counts = rng.multinomial(len(R), np.full(len(R), 1 / len(R)), size=400)
    rates = counts @ R / len(R)
    draws = np.array([_crossing(x, r, target) for r in rates])
    if np.isnan(draws).mean() > 0.05:  # the crossing often leaves the grid
        return mde, math.nan
    return mde, float(np.nanstd(draws, ddof=1))


def simulate_design(
    data: pd.DataFrame,
    *,
    design: str,
    options: Mapping[str, Any],
    effects: Sequence[float],
    post_periods: int,
    pre_periods: int | None = None,
    before: Any = None,
    placebo: Placebo = "time",
    treated_units: Sequence[Any] | None = None,
    n_treated: int = 1,
    draws: int = 1,
    step: int = 1,
    alpha: float = 0.05,
    target: float = 0.8,
    max_fits: int = MAX_FITS,
    seed: int | None = 0,
    show_progress: bool | None = None,
) -> DesignPowerResult:
    """Rejection rate, coverage and bias of ``design`` for known effects injected into placebos.

    Parameters
    ----------
    data : the study's data (never modified); only periods before ``before`` are used.
    design : ``"did"``, ``"twfe"``, ``"its"``, ``"synthetic_control"`` or ``"synthetic_did"``.
    options : the design's options as the study would pass them (``outcome``, ``unit``,
        ``time``, ...).  ``start`` and ``post``/``treatment`` are replaced by the
        placebo's; ``alpha`` is set to ``alpha``.
    effects : effect sizes to inject (outcome units, added in every placebo post-period).
    post_periods, pre_periods : length of a placebo window after and before its start;
        ``pre_periods=None`` uses every earlier period.
    before : first period of the real intervention; default ``options["start"]``, or
        the first period with ``post``/``treatment`` = 1.
    placebo : ``"time"`` (the real treated units, placebo starts in time) or
        ``"units"`` (``n_treated`` units drawn ``draws`` times per window from the
        controls; the real treated units, when known, are left out).
    treated_units : the treated units (default: from ``options``).
    step : periods between successive placebo starts.
    max_fits : cap on placebos x effects (each is one estimator run).
    """
    if design not in SUPPORTED:
        raise SpecError(f"simulate_design supports the designs {SUPPORTED}; got {design!r}.")
    if not 0 < alpha < 1 or not alpha < target < 1:
        raise SpecError(f"need 0 < alpha < target < 1; got alpha={alpha!r}, target={target!r}.")
    effects = tuple(sorted(float(e) for e in effects))
    if not effects or not all(map(math.isfinite, effects)):
        raise SpecError("effects must be a non-empty list of finite numbers.")
    counts = {"post_periods": post_periods, "step": step, "n_treated": n_treated, "draws": draws}
    if pre_periods is not None:
        counts["pre_periods"] = pre_periods
    bad = {k: v for k, v in counts.items() if not (isinstance(v, int | np.integer) and v >= 1)}
    if bad:
        raise SpecError(f"{bad} must be positive integers.")
    if placebo == "units" and design == "its":
        raise SpecError('placebo="units" needs a panel; an ITS has one series: use placebo="time".')
    opts = dict(options)
    time = opts.get("time")
    if time is None or time not in data.columns:
        raise SpecError(f"options['time'] must name a column of data; got {time!r}.")
    unit = opts.get("unit")
    before = _real_start(data, design, opts) if before is None else before
    pre = data[data[time] < before]
    periods = np.sort(pre[time].unique())
    first = 1 if pre_periods is None else pre_periods
    starts = periods[first : max(len(periods) - post_periods + 1, 0) : step]
    if len(starts) == 0:
        raise DesignError(
            f"the pre-period has {len(periods)} periods before {before!r}: too few for a "
            f"placebo window of {first} + {post_periods} periods; shorten post_periods/pre_periods."
        )
    treated = _treated(pre, design, opts, treated_units, placebo)
    rng = np.random.default_rng(seed)
    if placebo == "units":  # the real treated units take no part
        pool = np.array(sorted(set(pre[unit].unique()) - set(treated)), dtype=object)
        pre = pre[~pre[unit].isin(treated)]
    placebos: list[tuple[Any, tuple[Any, ...]]] = []
    for s in starts:
        if placebo == "time":
            placebos.append((s, treated))
        else:
            if len(pool) <= n_treated:
                raise DesignError(
                    f"{len(pool)} control units cannot give {n_treated} placebo-treated "
                    "unit(s) and leave controls; lower n_treated."
                )
            for _ in range(draws):
                placebos.append((s, tuple(rng.choice(pool, n_treated, replace=False))))
    n_fits = len(placebos) * len(effects)
    if n_fits > max_fits:
        raise SpecError(
            f"{len(placebos)} placebos x {len(effects)} effects = {n_fits} estimator runs "
            f"exceeds max_fits={max_fits}; raise step, lower draws, use fewer effects "
            "or raise max_fits."
        )
    from evaluate.estimators import DESIGNS

    fit = DESIGNS[design].function
    rows = []
    jobs = [(i, p, e) for i, p in enumerate(placebos) for e in effects]
    for i, (s, units), effect in progress(jobs, desc=f"power of {design}", enabled=show_progress):
        frame, kw = _placebo_data(
            pre, design, opts, s, units, effect, periods, pre_periods, post_periods, placebo, alpha
        )
        row = {"placebo": i, "start": s, "effect": effect}
        try:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                res = fit(frame, **kw)
            if caught:
                row["warning"] = f"{caught[0].category.__name__}: {caught[0].message}"
            low, high = res.ci
            row |= {
                "estimate": res.estimate,
                "ci_low": low,
                "ci_high": high,
                "p_value": res.p_value,
            }
        except (DesignError, np.linalg.LinAlgError) as exc:
            row |= {
                "estimate": math.nan,
                "ci_low": math.nan,
                "ci_high": math.nan,
                "p_value": math.nan,
                "error": str(exc),
            }
        rows.append(row)
    runs = pd.DataFrame(rows)
    table = _summarize(runs, alpha)
    notes = [
        f"Effects injected into {len(placebos)} placebo(s) in the {len(periods)} "
        f"periods before {before!r}; "
        f"each placebo window has {post_periods} post-period(s)."
    ]
    if step < first + post_periods:
        notes.append(
            "Placebo windows overlap, so placebos are dependent: Monte Carlo errors are too small."
        )
    floor = runs["p_value"].min()
    if floor >= alpha:
        notes.append(
            f"No run reached p < {alpha:g} (smallest p-value {floor:.3g}): with these units "
            "and periods the design's test cannot detect any effect at this level "
            "(a placebo test over n units cannot give p below 1/n)."
        )
    if "warning" in runs and runs["warning"].notna().any():
        first = runs["warning"].dropna().iloc[0]
        notes.append(f"{int(runs['warning'].notna().sum())} run(s) warned, e.g. {first}")
    if table["n_failed"].sum():
        notes.append(
            f"{int(table['n_failed'].sum())} estimator run(s) failed and count as not rejecting."
        )
    return DesignPowerResult(
        design=design,
        effects=effects,
        table=table,
        runs=runs,
        alpha=alpha,
        target=target,
        placebo=placebo,
        n_placebos=len(placebos),
        notes=tuple(notes),
    )


def _summarize(runs: pd.DataFrame, alpha: float) -> pd.DataFrame:
    out = []
    for effect, g in runs.groupby("effect", sort=True):
        ok = g["estimate"].notna()
        reject = (g["p_value"] < alpha).mean()  # a failed run does not reject
        err = g.loc[ok, "estimate"] - effect
        cover = ((g["ci_low"] <= effect) & (effect <= g["ci_high"]))[ok].mean()
        n = len(g)
        out.append(
            {
                "effect": float(effect),
                "rejection_rate": float(reject),
                "rejection_mc_se": math.sqrt(reject * (1 - reject) / n),
                "coverage": float(cover) if ok.any() else math.nan,
                "bias": float(err.mean()) if ok.any() else math.nan,
                "rmse": float(np.sqrt((err**2).mean())) if ok.any() else math.nan,
                "n_runs": n,
                "n_failed": int((~ok).sum()),
            }
        )
    return pd.DataFrame(out)


def _real_start(data: pd.DataFrame, design: str, opts: dict) -> Any:
    if "start" in opts:
        return opts["start"]
    flag = opts.get("post") if design == "did" else opts.get("treatment")
    if flag is None or flag not in data.columns:
        raise SpecError(f"give before= (first period of the real intervention) for {design!r}.")
    on = data.loc[data[flag] != 0, opts["time"]]
    if on.empty:
        raise SpecError(f"column {flag!r} is never 1; give before= (first real period) instead.")
    return on.min()


def _treated(
    pre: pd.DataFrame, design: str, opts: dict, given: Sequence[Any] | None, placebo: str
) -> tuple:
    if given is not None:
        return tuple(given)
    if design == "its":
        return ()
    if design in ("synthetic_control", "synthetic_did"):
        t = opts.get("treated_unit")
        return tuple(t) if isinstance(t, list | tuple) else (t,)
    if design == "did" and opts.get("treated") in pre.columns:
        return tuple(pre.loc[pre[opts["treated"]] != 0, opts["unit"]].unique())
    if placebo == "units":  # nobody real to leave out
        return ()
    raise SpecError(
        f"give treated_units= for {design!r}: the pre-period does not say which units are treated."
    )


def _placebo_data(
    pre, design, opts, start, units, effect, periods, pre_periods, post_periods, placebo, alpha
):
    time = opts["time"]
    i = int(np.searchsorted(periods, start))
    lo = 0 if pre_periods is None else i - pre_periods
    window = periods[lo : i + post_periods]
    frame = pre[pre[time].isin(window)].copy()
    post = (frame[time] >= start).to_numpy()
    hit = post if design == "its" else post & frame[opts["unit"]].isin(units).to_numpy()
    frame[opts["outcome"]] = frame[opts["outcome"]] + effect * hit
    kw = {**opts, "alpha": alpha}
    if design == "its":
        kw["start"] = start
        kw.pop("end", None)
        kw.pop("window", None)
    elif design == "did":
        frame[_POST] = post.astype(int)
        kw["post"] = _POST
        if placebo == "units":
            frame[_GROUP] = frame[opts["unit"]].isin(units).astype(int)
            kw["treated"] = _GROUP
    elif design == "twfe":
        frame[_TREAT] = hit.astype(int)
        kw["treatment"] = _TREAT
    else:
        kw["start"] = start
        kw["treated_unit"] = units[0] if design == "synthetic_control" else list(units)
        if design == "synthetic_control":
            for key in ("predictor_window", "fit_window"):
                kw.pop(key, None)
    return frame, kw
