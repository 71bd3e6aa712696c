"""Read-out of a synthetic control fit: diagnostics, the per-period table and notes.

Kept apart from :mod:`evaluate.estimators.synthetic.synth` (front door, fitting loops and the
result class) so each file holds one idea: this one turns arrays that the fit
produced into the tables, :class:`~evaluate.effect.Diagnostic` values and notes a
reader sees.  Everything here is pure and works on plain arrays and frames.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from evaluate.effect import DesignTable, Diagnostic, NotApplicable
from evaluate.errors import PreTrendWarning
from evaluate.estimators.synthetic._synth_core import VFit
from evaluate.estimators.synthetic._synth_placebo import inversion_interval, permutation_p
from evaluate.text import Num, Text

#: Pre-fit R^2 (1 - pre-MSPE / variance of the treated pre-period outcome) below
#: which the pre-period fit is called poor and a PreTrendWarning is raised.
POOR_FIT_R2 = 0.9


def rmspe(gap: np.ndarray) -> float:
    """Root mean squared prediction error of a gap series."""
    return float(np.sqrt(np.mean(gap**2)))


def placebo_table(
    placebo_gaps: pd.DataFrame, pre: np.ndarray, pre_rmspe: float, exclude_above: float | None
) -> pd.DataFrame:
    """One row per placebo unit: pre/post RMSPE, their ratio, average post gap, included.

    A placebo is excluded when its pre-RMSPE exceeds ``exclude_above`` times the
    treated unit's (ADH 2010 drop badly fitted placebos the same way).
    """
    rows = []
    for unit, g in placebo_gaps.items():
        g = g.to_numpy()
        pre_j, post_j = rmspe(g[pre]), rmspe(g[~pre])
        rows.append(
            {
                "unit": unit,
                "pre_rmspe": pre_j,
                "post_rmspe": post_j,
                "ratio": post_j / pre_j if pre_j > 0 else np.inf,
                "avg_gap": float(g[~pre].mean()),
            }
        )
    table = pd.DataFrame(rows, columns=["unit", "pre_rmspe", "post_rmspe", "ratio", "avg_gap"])
    keep = np.ones(len(table), dtype=bool)
    if exclude_above is not None and len(table):
        keep = table["pre_rmspe"].to_numpy() <= exclude_above * pre_rmspe
    table["included"] = keep
    return table


def fit_labels(times: np.ndarray, fit_mask: np.ndarray) -> list[str]:
    """Predictor labels of an outcome-only fit: one per fit-window period."""
    return [f"outcome ({t})" for t in times[fit_mask]]


def balance_table(x: np.ndarray, labels: list[str], main: VFit) -> pd.DataFrame:
    """Predictors of the treated unit, its synthetic control and the donor mean."""
    if not labels:
        return pd.DataFrame(columns=["treated", "synthetic", "donor mean", "v"])
    return pd.DataFrame(
        {
            "treated": x[:, 0],
            "synthetic": x[:, 1:] @ main.weights,
            "donor mean": x[:, 1:].mean(axis=1),
            "v": main.v,
        },
        index=pd.Index(labels, name="predictor"),
    )


def period_table(
    times: np.ndarray,
    pre: np.ndarray,
    treated: np.ndarray,
    synthetic: np.ndarray,
    gap: np.ndarray,
    pre_rmspe: float,
    table: pd.DataFrame,
    placebo_gaps: pd.DataFrame,
    keep: np.ndarray,
    alpha: float,
) -> pd.DataFrame:
    """Post-period gaps with placebo-based standard errors, intervals and p-values."""
    post = ~pre
    rows = []
    pre_j = table["pre_rmspe"].to_numpy()[keep]
    for t in np.flatnonzero(post):
        row = {
            "period": times[t],
            "estimate": gap[t],
            "std_error": math.nan,
            "ci_low": math.nan,
            "ci_high": math.nan,
            "p_value": math.nan,
        }
        if keep.sum() > 0:
            g = placebo_gaps.iloc[t].to_numpy()[keep]
            ratios = np.abs(g) / pre_j
            low, high = inversion_interval(gap[[t]], pre_rmspe, ratios, alpha)
            row.update(
                std_error=float(np.std(g, ddof=1)) if g.size > 1 else math.nan,
                ci_low=low,
                ci_high=high,
                p_value=permutation_p(abs(gap[t]) / pre_rmspe, ratios),
            )
        rows.append(row | {"treated": treated[t], "synthetic": synthetic[t]})
    return pd.DataFrame(rows)


def diagnostics(
    y: np.ndarray,
    main: VFit,
    gap: np.ndarray,
    pre: np.ndarray,
    fit_mask: np.ndarray,
    loo: pd.DataFrame,
    placebo_time: Diagnostic | NotApplicable,
) -> dict[str, Any]:
    """Pre-fit quality, bracketing by the donor pool, leave-one-out range, placebo in time."""
    diag: dict[str, Diagnostic | NotApplicable] = {}
    var = float(np.var(y[pre, 0]))
    mspe = float(np.mean(gap[pre] ** 2))
    r2 = 1 - mspe / var if var > 0 else math.nan
    poor = not (r2 >= POOR_FIT_R2)
    diag[Text("diag.pre_fit", "pre-period fit")] = Diagnostic(
        Text("synth.pre_rmspe", "pre-period RMSPE"),
        math.sqrt(mspe),
        passed=not poor,
        note=Text(
            "synth.pre_fit_note",
            "pre-fit R² {r2} (poor below {poor}); V loss {loss}",
            r2=Num(r2, 3),
            poor=Num(POOR_FIT_R2, 1),
            loss=Num(main.loss, sig=4),
        ),
    )
    if poor:
        warnings.warn(
            f"Poor pre-period fit: RMSPE {math.sqrt(mspe):.4g}, pre-fit R² {r2:.3f} < "
            f"{POOR_FIT_R2}. The synthetic control does not track the treated unit before "
            "the start; its post-period gap is not a credible effect.",
            PreTrendWarning,
            stacklevel=4,
        )
    # Bracketing: can convex combinations of donors reach the treated pre-period path?
    z = y[fit_mask]
    outside = (z[:, 0] > z[:, 1:].max(axis=1)) | (z[:, 0] < z[:, 1:].min(axis=1))
    share = float(outside.mean())
    diag[Text("synth.brackets", "donor pool brackets treated")] = Diagnostic(
        Text("synth.outside_share", "share of fit-window periods outside the donors' range"),
        share,
        passed=share == 0,
        note=Text(
            "synth.outside_note",
            "treated outcome above every donor or below every donor in those periods",
        ),
    )
    if share > 0:
        warnings.warn(
            f"The treated unit's outcome lies outside the donors' range in {share:.0%} of the "
            "fit-window periods: no weighted average of donors can reach it (outside the "
            "convex hull). Consider another donor pool or an intercept-shifted design (SDID).",
            PreTrendWarning,
            stacklevel=4,
        )
    diag[Text("synth.loo", "leave-one-out range")] = (
        Diagnostic(
            Text("synth.loo_range", "range of leave-one-out estimates"),
            float(loo["estimate"].max() - loo["estimate"].min()),
            note=Text(
                "synth.loo_note",
                "{low} to {high} over {n} donors left out",
                low=Num(float(loo["estimate"].min()), sig=4),
                high=Num(float(loo["estimate"].max()), sig=4),
                n=len(loo),
            ),
        )
        if len(loo) > 1
        else NotApplicable(
            Text("synth.loo_off", "fewer than two donors with positive weight, or off")
        )
    )
    diag[Text("synth.placebo_time", "placebo in time")] = placebo_time
    return diag


def placebo_in_time(
    times: np.ndarray,
    pre: np.ndarray,
    placebo_time: Any,
    fit_window: tuple[Any, Any] | None,
    n_units: int,
    predictors_at: Callable[[Any], np.ndarray],
    light: Callable[..., tuple[VFit, np.ndarray]],
) -> Diagnostic | NotApplicable:
    """Refit with a fake start inside the pre-period; the gap after it should be near 0.

    ``predictors_at(cutoff)`` builds the predictor matrix from periods before
    ``cutoff``; ``light(treated, pool, x, mask)`` is the placebo-strength fit.
    """
    pre_times = times[pre]
    if placebo_time is None:
        return NotApplicable(Text("synth.placebo_time_off", "not requested (placebo_time=None)"))
    fake = (
        pre_times[len(pre_times) - max(len(pre_times) // 3, 1)]
        if isinstance(placebo_time, str) and placebo_time == "auto"
        else placebo_time
    )
    fake_pre = times < fake
    if fake_pre.sum() < 2 or not (pre & ~fake_pre).any():
        return NotApplicable(
            Text(
                "synth.fake_start_short",
                "fake start {fake} leaves too few periods on either side",
                fake=str(fake),
            )
        )
    x = predictors_at(fake)
    mask = fake_pre.copy()
    if fit_window is not None:
        mask &= times >= fit_window[0]
    if not mask.any():
        mask = fake_pre
    _, g = light(0, np.arange(1, n_units), x, mask)
    fake_gap = float(g[pre & ~fake_pre].mean())
    fake_rmspe = rmspe(g[fake_pre])
    return Diagnostic(
        Text("synth.fake_gap", "average gap after fake start {fake}", fake=str(fake)),
        fake_gap,
        passed=abs(fake_gap) <= 2 * fake_rmspe,
        note=Text(
            "synth.fake_note",
            "before the real start; should be near 0 (fit RMSPE {rmspe})",
            rmspe=Num(fake_rmspe, sig=4),
        ),
    )


def notes(
    placebo: bool, exclude_above: float | None, keep: np.ndarray, pre_rmspe: float
) -> tuple[str, ...]:
    """Caveats shown next to the estimate."""
    out = [
        Text(
            "synth.note_gap",
            "The estimate is the average post-period gap, treated minus synthetic, in the "
            "outcome's own units.",
        ),
    ]
    if placebo and keep.sum() > 0:
        n = int(keep.sum())
        out.append(
            Text(
                "synth.note_placebo",
                "Uncertainty is not a sampling error: the p-value is the treated unit's rank "
                "among {n} placebo units by post/pre RMSPE ratio, (1 + number of placebos "
                "with a ratio at least as large) / {n1}, so it cannot fall below {floor}. The "
                "interval holds the constant effects this test does not reject; the standard "
                "error is the spread of the placebo average gaps.",
                n=n,
                n1=n + 1,
                floor=Num(1 / (n + 1), sig=3),
            )
        )
    if exclude_above is not None:
        out.append(
            Text(
                "synth.note_excluded",
                "{n} placebo(s) with pre-RMSPE above {k} x the treated's ({rmspe}) were excluded.",
                n=int((~keep).sum()),
                k=Num(float(exclude_above), sig=3),
                rmspe=Num(pre_rmspe, sig=4),
            )
        )
    return tuple(out)


def design_tables(result: Any) -> tuple[DesignTable, ...]:
    """What a reader of a synthetic control asks first: who makes up the synthetic
    unit (donor weights), and how well it matches the treated unit's predictors."""
    weights = result.weights[result.weights > 0.0005].sort_values(ascending=False)
    tables = [
        DesignTable(
            title=Text("synth.weights_title", "Donor weights"),
            frame=weights.to_frame("weight"),
            columns=(("weight", Text("synth.weight", "weight"), "weight"),),
            row_header=Text("synth.donor", "donor"),
            note=Text(
                "synth.weights_note",
                "Donors with a weight above 0.0005; the weights sum to one.",
            ),
        )
    ]
    if len(result.balance):
        tables.append(
            DesignTable(
                title=Text("synth.balance_title", "Predictor balance"),
                frame=result.balance,
                columns=(
                    ("treated", Text("synth.treated", "treated"), "number"),
                    ("synthetic", Text("synth.synthetic", "synthetic"), "number"),
                    ("donor mean", Text("synth.donor_mean", "donor mean"), "number"),
                ),
                row_header=Text("synth.predictor", "predictor"),
            )
        )
    return tuple(tables)


def summary_tables(result: Any) -> list[tuple[str, pd.DataFrame]]:
    """The design's own tables of a :class:`~evaluate.estimators.synthetic.synth.SynthResult`."""
    tables = []
    w = result.weights[result.weights > 0.0005].sort_values(ascending=False)
    tables.append(("Donor weights (above 0.0005)", w.to_frame()))
    if len(result.balance):
        tables.append(("Predictor balance", result.balance))
    tables.append(
        (
            f"V search: loss reached per start (best {result.v_loss:.6g})",
            result.v_starts.set_index("start"),
        )
    )
    if result.periods is not None:
        tables.append(("Gap by period", result.periods.set_index("period")))
    if len(result.placebo_table):
        top = result.placebo_table.sort_values("ratio", ascending=False).head(10)
        tables.append(("Placebos in space: largest RMSPE ratios", top.set_index("unit")))
    if len(result.leave_one_out):
        tables.append(("Leave-one-out", result.leave_one_out.set_index("left_out")))
    return tables
