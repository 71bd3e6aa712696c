"""The ``Effect`` contract: what every estimator returns.

Money and report code depend on this Protocol only, never on a design's own
class, so a new design plugs in by returning an object that satisfies it.  The
easiest way is to subclass :class:`EffectResult`, a frozen dataclass that
implements the whole contract from a :class:`~evaluate.inference.distributions.Distribution`
and a few descriptive fields; a design adds its own fields (say a fitted
counterfactual) and may override ``plot``.
"""

from __future__ import annotations

import hashlib
import math
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, Literal, Protocol, runtime_checkable

import numpy as np
import pandas as pd

from evaluate._display import ResultDisplay
from evaluate.inference.distributions import Distribution
from evaluate.inference.kinds import HAS_P_VALUE, SCENARIO, UncertaintyKind, kind_of

if TYPE_CHECKING:
    from matplotlib.axes import Axes

Unit = Literal[
    "persons",
    "full-time persons",
    "person-months",
    "share",
    "percentage points",
    "percent",
    "DKK",
    "outcome units",
]
"""Units an effect may be measured in.  "share" is a proportion (0.05 = 5 %);
"percentage points" is a difference of percentages (5.0 = 5 pp)."""

TIDY_COLUMNS = ["term", "estimate", "std_error", "ci_low", "ci_high", "p_value", "unit"]


@dataclass(frozen=True)
class NotApplicable:
    """A diagnostic that could not be computed, with the reason a reader is shown."""

    reason: str

    def __str__(self) -> str:
        return f"not applicable: {self.reason}"


@dataclass(frozen=True)
class Diagnostic:
    """A computed diagnostic: a statistic, optionally a p-value, and what it means."""

    name: str
    value: float
    p_value: float = math.nan
    passed: bool | None = None
    note: str = ""

    def __str__(self) -> str:
        p = "" if math.isnan(self.p_value) else f" (p = {self.p_value:.3g})"
        return f"{self.value:.4g}{p}" + (f" — {self.note}" if self.note else "")


@dataclass(frozen=True)
class DesignTable:
    """A table a reader of the design asks for: donor weights, balance, ATT(g,t).

    ``frame`` holds the values (its index labels the rows: unit names, covariates,
    verbatim); ``columns`` names each shown column of ``frame`` with its header and
    its kind, which says how a report formats it: ``"weight"`` (three decimals),
    ``"number"`` (as measured), ``"estimate"`` (in the effect's unit), ``"count"``,
    ``"p_value"`` or ``"text"``.  Headers and titles are
    :class:`~evaluate.text.Text`, so a report shows them in its language.
    """

    title: str
    frame: pd.DataFrame
    columns: tuple[tuple[str, str, str], ...]
    """(column of ``frame``, header, kind) for each column shown, in order."""
    row_header: str = ""
    note: str = ""


@dataclass(frozen=True)
class Provenance:
    """Where a result came from: enough to reproduce it and to audit it.

    ``spec`` holds the options the estimator was called with (plain values only),
    ``data_hash`` a SHA-256 of the data it saw, ``source`` a citation or file name.
    """

    spec: Mapping[str, Any] = field(default_factory=dict)
    data_hash: str | None = None
    n_rows: int | None = None
    n_dropped: int = 0
    source: str = ""
    simulated: bool = False


def hash_frame(frame: pd.DataFrame) -> str:
    """SHA-256 of a frame's column names, dtypes, values and index (order matters).

    Numeric columns are hashed from their raw bytes (fast: a 5M-row frame takes a
    fraction of a second); other columns through pandas' stable value hashing.
    """
    digest = hashlib.sha256()
    for name in frame.columns:
        column = frame[name]
        digest.update(f"{name!s}\x00{column.dtype!s}\x00".encode())
        if pd.api.types.is_numeric_dtype(column.dtype) and not isinstance(
            column.dtype, pd.CategoricalDtype
        ):
            values = np.ascontiguousarray(column.to_numpy())
            # The same bytes as tobytes(), read in place (no copy) for plain numbers.
            plain = values.dtype.kind in "biuf"
            digest.update(values.data.cast("B") if plain else values.tobytes())
        else:
            digest.update(pd.util.hash_pandas_object(column, index=False).to_numpy().tobytes())
    index = frame.index
    if isinstance(index, pd.RangeIndex):
        digest.update(f"range({index.start},{index.stop},{index.step})".encode())
    else:
        digest.update(pd.util.hash_pandas_object(index).to_numpy().tobytes())
    return digest.hexdigest()


class FrameHash:
    """:func:`hash_frame` of ``frame`` computed on a thread beside the caller's work.

    hashlib releases the GIL on large buffers, so hashing a big frame overlaps an
    estimator's fit.  :meth:`result` joins the thread; if hashing failed there, it
    hashes again here so that the error reaches the caller.  Same string as
    ``hash_frame(frame)``.
    """

    def __init__(self, frame: pd.DataFrame):
        self._frame = frame
        self._out: list[str] = []
        self._thread = threading.Thread(
            target=lambda: self._out.append(hash_frame(frame)), daemon=True
        )
        self._thread.start()

    def result(self) -> str:
        self._thread.join()
        return self._out[0] if self._out else hash_frame(self._frame)


def tidy_row(term: str, distribution: Distribution, alpha: float, unit: str) -> dict[str, Any]:
    """One row of a tidy ``to_frame()``: the estimate of ``distribution`` with its CI."""
    low, high = distribution.interval(alpha)
    return {
        "term": term,
        "estimate": float(distribution.estimate),
        "std_error": float(distribution.std_error),
        "ci_low": low,
        "ci_high": high,
        "p_value": distribution.p_value(0.0),
        "unit": unit,
    }


@runtime_checkable
class Effect(Protocol):
    """The one result contract.  Money and reports consume only this."""

    name: str
    estimand: str
    method: str
    inference: str
    unit: str
    population: str
    alpha: float
    distribution: Distribution
    diagnostics: Mapping[str, Diagnostic | NotApplicable]
    provenance: Provenance

    @property
    def estimate(self) -> float: ...

    @property
    def uncertainty(self) -> UncertaintyKind: ...

    @property
    def std_error(self) -> float: ...

    @property
    def ci(self) -> tuple[float, float]: ...

    @property
    def p_value(self) -> float: ...

    @property
    def by_period(self) -> pd.DataFrame | None: ...

    def draws(self, n: int, seed: int | None = None) -> np.ndarray: ...

    def summary(self, fmt: Literal["text", "markdown", "html"] = "text") -> str: ...

    def to_frame(self) -> pd.DataFrame: ...

    def plot(self, ax: Axes | None = None) -> Axes: ...

    def design_tables(self) -> tuple[DesignTable, ...]: ...

    def _repr_html_(self) -> str: ...


@dataclass(frozen=True, kw_only=True, eq=False)
class EffectResult(ResultDisplay):
    """Frozen base implementation of :class:`Effect`.

    Parameters
    ----------
    name : short label of the outcome ("ledighedsydelse").
    estimand : what is estimated, in words a reader understands.
    distribution : the estimate's reference distribution; estimate, standard error,
        interval, p-value and draws are all read from it.
    method, inference : how the estimate and its uncertainty were obtained.
    unit, population : what the number counts and whom it is about.
    alpha : 1 - confidence level of ``ci``; change it with :meth:`with_alpha`.
    periods : effects by period (columns ``period, estimate, std_error, ci_low,
        ci_high`` and design-specific ones), or ``None`` for a design without them.
    diagnostics : name -> :class:`Diagnostic` or :class:`NotApplicable`.
    provenance : spec and data hash.
    notes : caveats a reader must see next to the number.
    uncertainty_kind : what the uncertainty is (:mod:`evaluate.inference.kinds`);
        ``None`` reads it from the distribution (a stated number is ``"point"``, a
        stated range ``"stated_range"``, everything else ``"sampling"``).
    """

    name: str
    estimand: str
    distribution: Distribution
    method: str
    inference: str
    unit: str
    population: str = "not stated"
    alpha: float = 0.05
    periods: pd.DataFrame | None = None
    diagnostics: Mapping[str, Diagnostic | NotApplicable] = field(default_factory=dict)
    provenance: Provenance = field(default_factory=Provenance)
    notes: tuple[str, ...] = ()
    uncertainty_kind: UncertaintyKind | None = None

    # --- the numbers -------------------------------------------------------
    @property
    def estimate(self) -> float:
        return float(self.distribution.estimate)

    @property
    def uncertainty(self) -> UncertaintyKind:
        """What the interval is: sampling, prior, point, stated_range or target."""
        if self.uncertainty_kind is not None:
            return self.uncertainty_kind
        return kind_of(self.distribution)

    @property
    def std_error(self) -> float:
        return float(self.distribution.std_error)

    @property
    def ci(self) -> tuple[float, float]:
        return self.distribution.interval(self.alpha)

    @property
    def p_value(self) -> float:
        """Two-sided p-value against zero; NaN unless the uncertainty is sampling
        (a target, a scenario or a declared belief is not tested)."""
        if self.uncertainty not in HAS_P_VALUE:
            return math.nan
        return self.distribution.p_value(0.0)

    @property
    def by_period(self) -> pd.DataFrame | None:
        return None if self.periods is None else self.periods.copy()

    def draws(self, n: int, seed: int | None = None) -> np.ndarray:
        """``n`` draws from the estimate's reference distribution, reproducible by ``seed``."""
        return self.distribution.draws(int(n), np.random.default_rng(seed))

    def with_alpha(self, alpha: float) -> EffectResult:
        """The same result reported at confidence level ``1 - alpha``."""
        self.distribution.interval(alpha)  # validates alpha
        return replace(self, alpha=alpha)

    # --- tidy output ---------------------------------------------------------
    def _extra_terms(self) -> list[dict[str, Any]]:
        """Further rows of ``to_frame`` (other scales of the same effect)."""
        return []

    def to_frame(self) -> pd.DataFrame:
        """Tidy frame: one row per term with ``term, estimate, std_error, ci_low,
        ci_high, p_value, unit``.  The first row is the main estimate."""
        rows = [tidy_row(self.name, self.distribution, self.alpha, self.unit)]
        rows += self._extra_terms()
        frame = pd.DataFrame(rows, columns=TIDY_COLUMNS)
        if self.uncertainty not in HAS_P_VALUE:
            frame["p_value"] = math.nan
        if self.uncertainty in SCENARIO:  # a range of scenarios has no standard error
            frame["std_error"] = math.nan
        # Object dtype keeps a term's evaluate.text.Text (key and parameters), which a
        # string column would flatten to English: a report renders it in its language.
        frame["term"] = pd.Series([row["term"] for row in rows], dtype=object)
        return frame

    def design_tables(self) -> tuple[DesignTable, ...]:
        """The design's own tables for a report (weights, balance, ...); none here."""
        return ()

    # --- display ---------------------------------------------------------------
    def _summary_title(self) -> str:
        return f"{self.method}: {self.name}"

    def _summary_header(self) -> list[tuple[str, object]]:
        header: list[tuple[str, object]] = [
            ("Estimand", self.estimand),
            ("Population", self.population),
            ("Unit", self.unit),
            ("Inference", f"{self.inference}; reference {self.distribution.label}"),
            ("Confidence level", f"{1 - self.alpha:.0%}"),
        ]
        prov = self.provenance
        if prov.n_rows is not None:
            header.append(("Rows used / dropped", f"{prov.n_rows} / {prov.n_dropped}"))
        if prov.source:
            header.append(("Source", prov.source + (" (SIMULATED)" if prov.simulated else "")))
        if prov.data_hash:
            header.append(("Data SHA-256", prov.data_hash[:16] + "…"))
        return header

    def _summary_tables(self) -> list[tuple[str, pd.DataFrame]]:
        tables = [("Effect", self.to_frame().set_index("term"))]
        if self.diagnostics:
            diag = pd.DataFrame(
                {"result": [str(v) for v in self.diagnostics.values()]},
                index=pd.Index(list(self.diagnostics), name="diagnostic"),
            )
            tables.append(("Diagnostics", diag))
        return tables

    def _summary_notes(self) -> list[str]:
        return list(self.notes)

    def plot(self, ax: Axes | None = None) -> Axes:
        """Point estimate with its confidence interval (by period when available)."""
        from evaluate.plotting import plot_estimates

        frame = self.by_period if self.by_period is not None else self.to_frame()
        return plot_estimates(frame, unit=self.unit, title=self.name, ax=ax)
