"""The result of :func:`evaluate.estimators.series.its.its` (kept apart from the fit)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pandas as pd

from evaluate.effect import EffectResult
from evaluate.estimators.series._persistence import EndsMixin, Persistence
from evaluate.inference.distributions import Normal, StudentT
from evaluate.text import Text

if TYPE_CHECKING:
    from matplotlib.axes import Axes


@dataclass(frozen=True, kw_only=True, eq=False)
class ITSResult(EndsMixin, EffectResult):
    """Result of :func:`~evaluate.estimators.series.its.its`.

    Beyond the contract: ``series`` (every period: ``time, observed, fitted,
    counterfactual, cf_low, cf_high, effect, post, window`` and ``after`` when the
    intervention ended), ``coefficients`` and ``vcov`` of the segmented model,
    ``change`` (which changes the model has: "level", "slope" or "both"),
    ``step_at`` (the first post-intervention period, where the level change sits
    and the slope change counts 0), ``end`` and ``persistence`` (when the
    intervention ended), ``ar1_rho`` (the AR(1) coefficient when ``cov="ar1"``; for counts the lag-1
    autocorrelation of the working correlation), ``working_arma`` (its ARMA(1,1)
    ``(ar, ma)`` for counts under ``cov="ar1"``),
    ``level_change``, ``slope_change``, ``cumulative``, ``relative`` and, for counts,
    rate ratios in ``to_frame``.
    """

    series: pd.DataFrame
    start: Any
    coefficients: pd.DataFrame
    vcov: pd.DataFrame
    family: str
    hac_lags: int | None
    ar1_rho: float | None
    n_window: int
    relative_distribution: Any
    ref_df: float | None
    change: str = "both"
    end: Any = None
    persistence: Persistence | None = None
    working_arma: tuple[float, float] | None = None

    @property
    def step_at(self) -> Any:
        """The first post-intervention period: the level change sits here."""
        return self.start

    def _coef(self, term: str):
        if term not in self.coefficients.index:
            return None
        est, se = self.coefficients.loc[term, ["estimate", "std_error"]]
        if "df" not in self.coefficients:
            return Normal(float(est), float(se))
        return StudentT(float(est), float(se), float(self.coefficients.loc[term, "df"]))

    @property
    def level_change(self):
        """b2: the change in level at ``step_at`` (log scale for counts); None when
        ``change="slope"``."""
        return self._coef("level change")

    @property
    def slope_change(self):
        """b3: the change in slope per period (log scale for counts); None when
        ``change="level"``."""
        return self._coef("slope change")

    @property
    def cumulative(self):
        """The effect summed over the window."""
        return self.distribution.scaled(self.n_window)


    def _row(self, term, dist, unit, exp=False) -> dict[str, Any]:
        low, high = dist.interval(self.alpha)
        est, se = dist.estimate, dist.std_error
        if exp:  # rate ratio: exp of the log-scale estimate and interval, delta-method SE
            est, low, high, se = math.exp(est), math.exp(low), math.exp(high), math.exp(est) * se
        return {"term": term, "estimate": est, "std_error": se, "ci_low": low, "ci_high": high,
                "p_value": dist.p_value(0.0), "unit": unit}  # fmt: skip

    def _extra_terms(self) -> list[dict[str, Any]]:
        count = self.family != "gaussian"
        ratio_unit = "rate ratio" if count else self.unit
        rows = [
            self._row(f"{self.name}: cumulative over {self.n_window} periods", self.cumulative,
                      self.unit),
            self._row(f"{self.name}: relative to counterfactual", self.relative_distribution,
                      "rate ratio" if count else "share", exp=count),
        ]  # fmt: skip
        if self.level_change is not None:
            rows.append(self._row(f"{self.name}: level change", self.level_change, ratio_unit,
                                  exp=count))  # fmt: skip
        if self.slope_change is not None:
            rows.append(self._row(f"{self.name}: slope change per period", self.slope_change,
                                  ratio_unit, exp=count))  # fmt: skip
        if self.persistence is not None:
            rows += self.persistence.rows(self.name, self.unit)
        return rows

    def _summary_header(self) -> list[tuple[str, object]]:
        header = super()._summary_header() + [
            ("Step at", Text("its.step_at", "{start} (first post-intervention period)",
                             start=str(self.start))),
        ]  # fmt: skip
        if self.end is not None:
            header.append(("Intervention ended", str(self.end)))
        return header

    def _summary_tables(self) -> list[tuple[str, pd.DataFrame]]:
        tables = super()._summary_tables()
        tables.append(("Segmented model", self.coefficients))
        return tables

    def plot(self, ax: Axes | None = None) -> Axes:
        """Observed series, the fitted segments and the counterfactual with its band."""
        from evaluate.plotting import plot_counterfactual

        ax = plot_counterfactual(
            self.series,
            start=self.start,
            title=self.name,
            ylabel=self.unit,
            band_label=f"{1 - self.alpha:.0%} CI of the counterfactual",
            ax=ax,
        )
        time = self.series["time"]
        x = time.dt.to_timestamp() if isinstance(time.dtype, pd.PeriodDtype) else time
        ax.plot(x, self.series["fitted"], color="0.3", linewidth=1.0, label="fitted segments")
        ax.legend(frameon=False)
        return ax


__all__ = ["ITSResult"]
