"""Known-truth coverage settings: one data-generating process per row of issue 18's
table, each with the interval the user got before (reachable by name) and the
default now.

A setting's ``replicate(rng, method)`` simulates one data set with a known effect,
fits it with ``method`` and returns ``(covered, width)`` for the 95 % interval.
The same code feeds the light CI tests (``tests/known_truth/test_coverage.py``), the
heavy ``-m slow`` ones and ``benchmarks/bench_coverage.py``.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

import evaluate as ev
from evaluate.estimators.series.its import its

LEVEL = 0.95


@dataclass(frozen=True)
class Setting:
    """A simulation design and the interval methods compared on it."""

    name: str
    description: str
    methods: dict[str, str]  # key -> description of the interval
    default: str  # key of the current default
    replicate: Callable[[np.random.Generator, str], tuple[bool, float]]


def _quiet(fn, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fn(*args, **kwargs)


def _result(fit, truth: float) -> tuple[bool, float]:
    low, high = fit.ci
    return bool(low <= truth <= high), float(high - low)


# --------------------------------------------------------------------------- panels
def _panel(rng, n_units: int, n_treated: int, periods: int = 10, effect: float = 1.0):
    """Kommune x year panel: unit and year effects, iid noise, treatment from period 5."""
    unit = np.repeat(np.arange(n_units), periods)
    time = np.tile(np.arange(periods), n_units)
    treated = (np.arange(n_units) < n_treated)[unit]
    post = time >= periods // 2
    d = (treated & post).astype(float)
    y = (
        rng.normal(size=n_units)[unit]
        + rng.normal(size=periods)[time]
        + effect * d
        + rng.normal(size=len(unit))
    )
    return pd.DataFrame(
        {"u": unit, "t": time, "d": d, "g": treated.astype(float), "post": post * 1.0, "y": y}
    )


def _twfe(n_units: int, n_treated: int, n_boot: int):
    def replicate(rng, method):
        df = _panel(rng, n_units, n_treated)
        fit = _quiet(ev.twfe, df, outcome="y", unit="u", time="t", treatment="d",
                     inference=method, n_boot=n_boot)  # fmt: skip
        return _result(fit, 1.0)

    return replicate


def _did(n_units: int, n_treated: int, n_boot: int):
    def replicate(rng, method):
        df = _panel(rng, n_units, n_treated)
        fit = _quiet(ev.did, df, outcome="y", unit="u", time="t", treated="g", post="post",
                     inference=method, n_boot=n_boot)  # fmt: skip
        return _result(fit, 1.0)

    return replicate


# --------------------------------------------------------------------------- series
def _ar1(rng, n: int, phi: float, sd: float = 1.0) -> np.ndarray:
    e = np.empty(n)
    e[0] = rng.normal(scale=sd / math.sqrt(1 - phi**2))
    for i in range(1, n):
        e[i] = phi * e[i - 1] + rng.normal(scale=sd)
    return e


def _forecast(phi: float, n_pre: int = 48, n_post: int = 12):
    months = pd.period_range("2014-01", periods=n_pre + n_post, freq="M")
    t = np.arange(n_pre + n_post)
    base = 100 + 0.5 * t + 3 * np.sin(2 * np.pi * months.month.to_numpy() / 12)

    def replicate(rng, method):
        y = base - 5.0 * (t >= n_pre) + 2.0 * _ar1(rng, len(t), phi)
        frame = pd.DataFrame({"month": months, "y": y})
        fit = ev.trend_forecast(frame, outcome="y", time="month", start=months[n_pre],
                                seasonality="month", errors=method)  # fmt: skip
        return _result(fit, -5.0)

    return replicate


def _its_counts(n: int, phi: float = 0.5, sd: float = 0.15):
    """Poisson counts around 30 a month with a latent AR(1) on the log scale:
    overdispersed (Pearson dispersion ~1.7) and autocorrelated; level change -0.2."""
    start = int(0.6 * n)
    months = pd.period_range("2000-01", periods=n, freq="M")
    s = np.arange(n) - start
    post = s >= 0
    eta0 = math.log(30) + 0.004 * s
    eta = eta0 - 0.2 * post
    # The average effect on the expected count: the latent noise adds exp(sd^2 / 2).
    truth = math.exp(sd**2 / 2) * float(np.mean(np.exp(eta[post]) - np.exp(eta0[post])))

    def replicate(rng, method):
        y = rng.poisson(np.exp(eta + _ar1(rng, n, phi, sd * math.sqrt(1 - phi**2))))
        family, cov = method.split("/")
        frame = pd.DataFrame({"month": months, "y": y})
        fit = its(frame, outcome="y", time="month", start=months[start], family=family,
                  cov=None if cov == "auto" else cov)  # fmt: skip
        return _result(fit, truth)

    return replicate


def _its_gaussian(n: int = 60, phi: float = 0.6):
    start = int(0.6 * n)
    months = pd.period_range("2000-01", periods=n, freq="M")
    t = np.arange(n)

    def replicate(rng, method):
        y = 50 + 0.2 * t - 3.0 * (t >= start) + _ar1(rng, n, phi)
        fit = its(pd.DataFrame({"month": months, "y": y}), outcome="y", time="month",
                  start=months[start], cov=method)  # fmt: skip
        return _result(fit, -3.0)

    return replicate


def _cs_panel(rng, n: int, periods: int = 10, cohorts=(0, 4, 6, 8)):
    """Staggered adoption, parallel trends hold exactly; ATT(e) = 1 + e for e >= 0."""
    g = rng.choice(np.array(cohorts), size=n)
    t = np.arange(1, periods + 1)
    e = t[None, :] - g[:, None]
    y = rng.normal(size=n)[:, None] + 0.3 * t[None, :] + rng.normal(size=(n, periods))
    y = y + np.where((g[:, None] > 0) & (e >= 0), 1.0 + np.maximum(e, 0), 0.0)
    return pd.DataFrame({"id": np.repeat(np.arange(n), periods), "t": np.tile(t, n),
                         "y": y.ravel(), "g": np.repeat(g, periods)})  # fmt: skip


def _cs(n: int):
    """Callaway-Sant'Anna dynamic aggregation: uniform bands and the pre-trend test.

    "Covered" is the whole band holding every true ATT(e) in its range; for the
    pre-trend tests it is "no false alarm" (parallel trends hold exactly), so 95 %
    means a 5 % false-alarm rate.  Width: mean band width over the event times."""
    from evaluate.estimators.did.staggered_aggregate import (
        aggregate_parts,
        boot_parts,
        evaluate_parts,
        uniform_critical_value,
    )

    def replicate(rng, method):
        df = _cs_panel(rng, n)
        seed = int(rng.integers(2**31))
        fit = _quiet(ev.callaway_santanna, df, outcome="y", unit="id", time="t", group="g",
                     bootstrap=199 if "band" in method else None, seed=seed)  # fmt: skip
        if method == "wald_cells":
            return bool(fit.diagnostics["pre-trend Wald test"].p_value >= 0.05), math.nan
        if method == "f_leads":
            return bool(fit.diagnostics["pre-trend F test"].p_value >= 0.05), math.nan
        if method == "band_all_times":  # the old band: one sup-t over every event time
            gt = fit.group_time
            _, parts = aggregate_parts(gt, "dynamic", min_e=-math.inf, max_e=math.inf)
            label = np.array([lab for lab, _ in parts])
            est, _, se = evaluate_parts(gt, [p for _, p in parts])
            crit = uniform_critical_value(boot_parts(gt, [p for _, p in parts]), se, 0.05)
            low, high = est - crit * se, est + crit * se
        else:
            per = fit.aggregate("dynamic").periods
            label = per["period"].to_numpy()
            low, high = per["ci_low_uniform"].to_numpy(), per["ci_high_uniform"].to_numpy()
            keep = label >= 0 if method == "band_post" else label < 0
            label, low, high = label[keep], low[keep], high[keep]
        truth = np.where(label >= 0, 1.0 + np.maximum(label, 0), 0.0)
        ok = np.isfinite(low)
        covered = bool(np.all((low[ok] <= truth[ok]) & (truth[ok] <= high[ok])))
        return covered, float(np.mean(high[ok] - low[ok]))

    return replicate


_CS_COHORTS, _CS_SHARES = np.array([0, 3, 5]), np.array([0.4, 0.3, 0.3])


def _cs_att(g, e):
    """True ATT(g, e) of the unbalanced / repeated cross-section designs below."""
    return np.where((g > 0) & (e >= 0), (1.0 + 0.5 * np.maximum(e, 0)) * np.where(g == 5, 2, 1), 0)


def _cs_simple_truth(periods: int = 6) -> float:
    """R did's ``simple`` aggregate at the population cohort shares."""
    num = den = 0.0
    for g, p in zip(_CS_COHORTS[1:], _CS_SHARES[1:], strict=True):
        for t in range(g, periods + 1):
            num, den = num + p * float(_cs_att(g, t - g)), den + p
    return num / den


def _cs_rows(n: int):
    """``n`` units per period; an unbalanced panel (20 % of rows missing at random) or
    repeated cross-sections (new units every period); unit effects, common trend."""

    def replicate(rng, method):
        periods = 6
        t = np.tile(np.arange(1, periods + 1), n)
        if method == "rc":  # every row a new unit of a fresh cross-section
            ids = np.arange(n * periods)
            g = rng.choice(_CS_COHORTS, size=n * periods, p=_CS_SHARES)
        else:
            ids = np.repeat(np.arange(n), periods)
            g = np.repeat(rng.choice(_CS_COHORTS, size=n, p=_CS_SHARES), periods)
        alpha = rng.normal(size=ids.max() + 1)[ids] + 0.5 * (g == 3)
        y = alpha + 0.3 * t + _cs_att(g, t - g) + rng.normal(size=len(t))
        df = pd.DataFrame({"id": ids, "t": t, "g": g, "y": y})
        if method != "rc":
            df = df[rng.uniform(size=len(df)) >= 0.2]
        fit = _quiet(
            ev.callaway_santanna, df, outcome="y", unit="id", time="t", group="g",
            panel=method != "rc", allow_unbalanced_panel=method == "unbalanced",
        )  # fmt: skip
        return _result(fit, _cs_simple_truth(periods))

    return replicate


SETTINGS: dict[str, Setting] = {
    s.name: s
    for s in (
        Setting(
            "twfe_50_kommuner_3_treated",
            "TWFE, 50 kommuner x 10 years, 3 treated from year 5, iid noise",
            {"CR1": "CR1, t(G-1) (old auto)", "CR2": "CR2, Bell-McCaffrey df",
             "auto": "auto: randomization inference (199 placebo assignments)"},
            "auto",
            _twfe(50, 3, n_boot=199),
        ),
        Setting(
            "did_20_kommuner_1_treated",
            "2x2-style DiD, 20 kommuner x 10 years, 1 treated from year 5",
            {"CR2": "CR2, Satterthwaite df (old auto)",
             "auto": "auto: randomization inference (all 20 placebo assignments)"},
            "auto",
            _did(20, 1, n_boot=199),
        ),
        Setting(
            "forecast_ar1_phi_0.5",
            "trend_forecast, 48 + 12 months, monthly dummies, AR(1) errors phi 0.5",
            {"iid": "OLS prediction error, iid (old default)",
             "ar1": "AR(1) errors, REML, Satterthwaite t (default)"},
            "ar1",
            _forecast(0.5),
        ),
        Setting(
            "forecast_iid_errors",
            "trend_forecast, 48 + 12 months, monthly dummies, iid errors",
            {"iid": "OLS prediction error, iid (old default)",
             "ar1": "AR(1) errors, REML, Satterthwaite t (default)"},
            "ar1",
            _forecast(0.0),
        ),
        Setting(
            "its_counts_n60",
            "ITS on counts, n = 60 months, latent AR(1) phi 0.5, dispersion ~1.7",
            {"quasipoisson/hac": "quasi-Poisson, Newey-West, normal (old default)",
             "quasipoisson/auto": "quasi-Poisson, ARMA(1,1) working corr., Satterthwaite t"},
            "quasipoisson/auto",
            _its_counts(60),
        ),
        Setting(
            "its_counts_n120",
            "ITS on counts, n = 120 months, latent AR(1) phi 0.5, dispersion ~1.7",
            {"quasipoisson/hac": "quasi-Poisson, Newey-West, normal (old default)",
             "quasipoisson/auto": "quasi-Poisson, ARMA(1,1) working corr., Satterthwaite t"},
            "quasipoisson/auto",
            _its_counts(120),
        ),
        Setting(
            "cs_dynamic_60_units",
            "Callaway-Sant'Anna dynamic, 60 units x 10 periods, cohorts 4/6/8 + never",
            {"band_all_times": "sup-t band over all event times (old)",
             "band_post": "post-period sup-t band, t-calibrated",
             "band_pre": "pre-period sup-t band, t-calibrated",
             "wald_cells": "pre-trend Wald on all ATT(g,t), chi2: no false alarm (old)",
             "f_leads": "pre-trend F on event-time leads: no false alarm (new)"},
            "band_post",
            _cs(60),
        ),
        Setting(
            "cs_unbalanced_200_units",
            "Callaway-Sant'Anna simple ATT, 200 units x 6 periods, 20 % of rows missing",
            {"unbalanced": "allow_unbalanced_panel: RC estimators clustered by unit",
             "balanced": "drop incomplete units (R did's default)"},
            "unbalanced",
            _cs_rows(200),
        ),
        Setting(
            "cs_repeated_cross_sections_200",
            "Callaway-Sant'Anna simple ATT, repeated cross-sections of 200 x 6 periods",
            {"rc": "panel=False: RC estimators, rows independent"},
            "rc",
            _cs_rows(200),
        ),
        Setting(
            "its_gaussian_ar1_n60",
            "ITS least squares, n = 60 months, AR(1) phi 0.6",
            {"ar1": "AR(1) GLS, Satterthwaite t, df floored at 1 (default)"},
            "ar1",
            _its_gaussian(),
        ),
    )
}


def run(setting: Setting, method: str, reps: int, seed: int) -> tuple[float, float, float]:
    """Coverage, its Monte Carlo standard error and the mean width over ``reps``."""
    rng = np.random.default_rng(seed)
    hits, widths = zip(*(setting.replicate(rng, method) for _ in range(reps)), strict=True)
    cover = float(np.mean(hits))
    return cover, math.sqrt(cover * (1 - cover) / reps), float(np.mean(widths))


def tolerance(reps: int, z: float = 3.0) -> float:
    """Half-width of the acceptance band around 95 %: ``z`` Monte Carlo SEs at 95 %."""
    return z * math.sqrt(LEVEL * (1 - LEVEL) / reps)
