"""Run a study: spec -> data -> effects -> money -> business cases -> report.

``run_study`` is what ``evaluate run SPEC --out DIR`` calls, and what a
researcher calls from Python.  It validates the whole spec first, then fits each
effect, builds each business case and hands the frozen :class:`StudyResult` to
the report writers.  Nothing is written outside ``out``.
"""

from __future__ import annotations

import dataclasses
import hashlib
import inspect
import io
import math
import zipfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd
from pyarrow import ArrowException

from evaluate.business_case import BusinessCase
from evaluate.effect import Effect
from evaluate.errors import DataError, DesignError
from evaluate.estimators import DESIGNS
from evaluate.money import CashFlowLine, RateTable, RefusionSchedule, cost, monetize, staff_cost
from evaluate.money.discount import DiscountSchedule
from evaluate.spec import (
    BusinessCaseSpec,
    CostLineSpec,
    DataSource,
    EffectLineSpec,
    EffectSpec,
    StaffLineSpec,
    StudySpec,
    load_spec,
)
from evaluate.study_result import LoadedData, StudyResult
from evaluate.text import Text

_BOMS = {b"\xff\xfe": "UTF-16", b"\xfe\xff": "UTF-16"}


def _text_problem(raw: bytes) -> str | None:
    """Why ``raw`` is not UTF-8 text, in words a user can act on, or None."""
    for bom, name in _BOMS.items():
        if raw.startswith(bom):
            return f"it is saved as {name}"
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError as err:
        if b"\x00" in raw:
            return "it is a binary file, not text"
        return f"byte {err.start} is not UTF-8 (a Windows/cp1252 or Latin-1 file?)"
    return None


def _read_file(path: Path, raw: bytes) -> pd.DataFrame:
    suffix = path.suffix.lower()
    if suffix == ".csv":
        problem = _text_problem(raw)
        if problem is not None:
            raise DataError(
                f"{problem}; save the file as UTF-8 (in Excel: 'CSV UTF-8') and run again"
            )
        return pd.read_csv(io.BytesIO(raw), encoding="utf-8")
    if suffix == ".parquet":
        return pd.read_parquet(io.BytesIO(raw))
    if suffix in (".xlsx", ".xls"):
        return pd.read_excel(io.BytesIO(raw))
    raise DataError(f"cannot read {suffix or 'extension-less'!r} files; use CSV, Parquet or Excel")


def _read_snapshot(source: DataSource, base: Path) -> LoadedData:
    """A snapshot, its sidecar checked; the report cites table and retrieval date."""
    from evaluate.sources import read_snapshot

    path = base / str(source.snapshot)
    try:
        snap = read_snapshot(path)
    except DataError as err:
        raise DataError(f"Data {source.name!r}: {err}") from None
    meta = snap.meta
    citation = Text(
        "snapshot.citation",
        "{provider}, table {table}, retrieved {date}",
        provider=str(meta["provider"]),
        table=str(meta["table"]),
        date=snap.retrieved_date,
    )
    if meta.get("simulated"):
        citation = Text(
            "snapshot.citation_simulated", "{citation} (simulated values)", citation=citation
        )
    cited = citation
    if source.source:
        cited = Text("line.sources", "{a}; {b}", a=source.source, b=citation)
    shown = source.model_copy(update={"path": source.snapshot, "source": cited})
    return LoadedData(shown, snap.frame, snap.sha256, len(snap.frame))


def _with_treatment(loaded: LoadedData) -> LoadedData:
    """Add the ``[data.treatment]`` column (the caller's frame is copied, not changed)."""
    spec = loaded.source.treatment
    if spec is None:
        return loaded
    frame = loaded.frame
    where = f"Data {loaded.source.name!r}, [data.treatment]"
    for column in (spec.unit, spec.time):
        if column not in frame.columns:
            raise DataError(
                f"{where}: no column {column!r}; columns are {', '.join(map(str, frame.columns))}."
            )
    if spec.column in frame.columns:
        raise DataError(f"{where}: column {spec.column!r} exists already; choose another name.")
    names = frame[spec.unit].astype(str)
    missing = sorted(set(spec.starts) - set(names))
    if missing:
        raise DataError(
            f"{where}: unit(s) {missing} not found in column {spec.unit!r} "
            f"(e.g. {sorted(set(names))[:5]})."
        )
    treated = pd.Series(0, index=frame.index, dtype="int64")
    for unit, start in spec.starts.items():
        rows = names == unit
        try:
            treated[rows] = (frame.loc[rows, spec.time] >= start).astype("int64")
        except TypeError:
            raise DataError(
                f"{where}: start {start!r} of {unit!r} cannot be compared with column "
                f"{spec.time!r}; write it as the column writes periods."
            ) from None
    return dataclasses.replace(loaded, frame=frame.assign(**{spec.column: treated}))


def _read_data(source: DataSource, base: Path) -> LoadedData:
    return _with_treatment(_read_source(source, base))


def _read_source(source: DataSource, base: Path) -> LoadedData:
    if source.snapshot is not None:
        return _read_snapshot(source, base)
    if source.dataset is not None:
        import evaluate.datasets as bundled

        frame = getattr(bundled, source.dataset)()
        raw = bundled.raw_bytes(source.dataset)
        return LoadedData(source, frame, hashlib.sha256(raw).hexdigest(), len(frame))
    path = base / source.path
    where = f"Data {source.name!r} ({path})"
    try:
        raw = path.read_bytes()
    except OSError as err:
        raise DataError(f"{where}: cannot be read ({err.strerror}).") from None
    try:
        frame = _read_file(path, raw)
    except DataError as err:
        raise DataError(f"{where}: {err}.") from None
    except pd.errors.EmptyDataError:
        raise DataError(f"{where} is empty: no header and no rows.") from None
    except (ValueError, OSError, KeyError, ImportError, zipfile.BadZipFile, ArrowException) as err:
        # pandas' parser errors and pyarrow's are ValueErrors; a broken xlsx is a zip error.
        reason = " ".join(str(err).split())[:200] or type(err).__name__
        raise DataError(
            f"{where} is not a readable {path.suffix.lstrip('.').upper()} file ({reason}). "
            "Open it in the program that made it and save it again."
        ) from None
    if frame.empty:
        columns = ", ".join(map(str, frame.columns)) or "none"
        raise DataError(f"{where} has a header ({columns}) but no rows.")
    return LoadedData(source, frame, hashlib.sha256(raw).hexdigest(), len(frame))


def _fit_effect(spec: EffectSpec, data: Mapping[str, LoadedData], study: StudySpec) -> Effect:
    """Call the design's front door with the spec's options and the study's defaults."""
    design = DESIGNS[spec.design]
    accepted = inspect.signature(design.function).parameters
    context = {
        "name": spec.label or spec.name,
        "population": spec.population or study.study.population,
        "alpha": study.report.alpha,
        "source": spec.source,
        "seed": study.study.seed,
    }
    args: list[Any] = []
    if spec.data is not None:
        loaded = data[spec.data]
        args.append(loaded.frame)
        context["source"] = spec.source or loaded.source.source or str(loaded.source.path)
        context["simulated"] = loaded.source.simulated
    kwargs = {k: v for k, v in context.items() if k in accepted}
    kwargs.update(spec.options)
    result = design.function(*args, **kwargs)
    # A design without a name/population option still shows the spec's label.
    missing = {k: context[k] for k in ("name", "population") if k not in accepted}
    if missing and dataclasses.is_dataclass(result):
        result = dataclasses.replace(result, **missing)
    if not math.isfinite(result.estimate):  # never a NaN or inf in a report
        raise DesignError(
            f"Effect {spec.name!r} ({spec.design}): the estimate is {result.estimate}, not a "
            "number. The data cannot identify it as specified: check the design's columns "
            "and periods (e.g. a group or period without observations)."
        )
    return result


def _line(spec, effects: Mapping[str, Effect], rates: RateTable) -> CashFlowLine:
    if isinstance(spec, StaffLineSpec):
        return staff_cost(
            spec.name,
            fte=spec.fte,
            annual_cost=spec.annual_cost_dkk,
            years=spec.years,
            perspective=spec.perspective,
            source=spec.source,
        )
    if isinstance(spec, CostLineSpec):
        return cost(
            spec.name,
            spec.amounts_dkk,
            perspective=spec.perspective,
            category=spec.category,
            source=spec.source,
        )
    assert isinstance(spec, EffectLineSpec)
    refusion = 0.0
    source = spec.source
    if spec.refusion_weeks is not None:
        schedule = RefusionSchedule.danish()
        refusion = schedule.average_share(*spec.refusion_weeks)
        law = Text("line.refusion_source", "refusion {law}", law=schedule.source)
        source = Text("line.sources", "{a}; {b}", a=source, b=law) if source else law
    rate = None if spec.rate is None else rates.get(spec.rate.benefit, spec.rate.year)
    return monetize(
        effects[spec.effect],
        name=spec.name,
        years=spec.years,
        dkk_per_unit=None if spec.dkk_per_unit is None else spec.sign * spec.dkk_per_unit,
        total_at_estimate=spec.total_dkk,
        rate=rate,
        sign=spec.sign if rate is not None else 1,
        refusion_share=refusion,
        perspective=spec.perspective,
        category=spec.category,
        source=source,
    )


def _business_case(spec: BusinessCaseSpec, effects, study: StudySpec) -> BusinessCase:
    rates = RateTable.danish()
    if spec.discount == "none":
        discount = None
    elif spec.discount == "finansministeriet":
        discount = DiscountSchedule.danish()
    else:
        discount = DiscountSchedule.constant(float(spec.discount))
    return BusinessCase(
        title=spec.title,
        lines=tuple(_line(line, effects, rates) for line in spec.line),
        price_level=spec.price_level,
        sign=spec.sign,
        discount=discount,
        base_year=spec.base_year,
        n_draws=spec.n_draws,
        deadweight=spec.deadweight,
        displacement=spec.displacement,
        optimism_bias=spec.optimism_bias,
        horizon=spec.horizon,
        seed=study.study.seed,
        alpha=study.report.alpha,
        notes=(spec.note,) if spec.note else (),
    )


def run(spec: StudySpec, *, base: Path, spec_sha256: str = "") -> StudyResult:
    """Fit every effect and build every business case of a validated spec."""
    data = {source.name: _read_data(source, base) for source in spec.data}
    effects = {e.name: _fit_effect(e, data, spec) for e in spec.effect}
    cases = {c.name: _business_case(c, effects, spec) for c in spec.business_case}
    for name, case in cases.items():
        if not math.isfinite(case.net_gain):
            raise DesignError(
                f"Business case {name!r}: the net gain is {case.net_gain}, not a number; "
                "check the amounts of its lines."
            )
    return StudyResult(spec, spec_sha256, data, effects, cases)


def run_study(
    path: str | Path, out: str | Path | None = None, *, allow_outside_data: bool = False
) -> StudyResult:
    """Run the study spec at ``path``; with ``out``, write its report files there.

    ``allow_outside_data`` lets ``[[data]]`` paths leave the spec's folder (see
    :func:`evaluate.spec.load_spec`).  The output folder is checked before anything
    is fitted, and the report appears there only when it is complete
    (:func:`evaluate.report.write_report`).

    Examples
    --------
    >>> result = run_study("studies/faxe_fleksjob.toml")            # doctest: +SKIP
    >>> result.business_cases["published"].net_gain                  # doctest: +SKIP
    1900000.0
    """
    path = Path(path)
    spec = load_spec(path, allow_outside_data=allow_outside_data)
    if out is not None:
        from evaluate.report.output import check_output_folder

        check_output_folder(Path(out))
    result = run(spec, base=path.parent, spec_sha256=hashlib.sha256(path.read_bytes()).hexdigest())
    if out is not None:
        from evaluate.report import write_report

        write_report(result, Path(out))
    return result
