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
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from evaluate.business_case import BusinessCase
from evaluate.effect import Effect
from evaluate.errors import DataError, DesignError, EvaluateError
from evaluate.estimators import DESIGNS
from evaluate.money import (
    CashFlowLine,
    PriceIndex,
    RateTable,
    RefusionSchedule,
    WeekProfile,
    cost,
    monetize,
    staff_cost,
)
from evaluate.money.discount import DiscountSchedule
from evaluate.spec import (
    BusinessCaseSpec,
    CostLineSpec,
    EffectLineSpec,
    EffectSpec,
    StaffLineSpec,
    StudySpec,
    load_spec,
)
from evaluate.study_check import check_study, effect_options, load_data
from evaluate.study_result import LoadedData, StudyResult
from evaluate.text import Text


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
    loaded = None if spec.data is None else data[spec.data]
    if loaded is not None:
        args.append(loaded.frame)
        context["source"] = spec.source or loaded.source.source or str(loaded.source.path)
        context["simulated"] = loaded.source.simulated
    kwargs = {k: v for k, v in context.items() if k in accepted}
    kwargs.update(effect_options(spec, loaded))
    try:
        result = design.function(*args, **kwargs)
    except EvaluateError as err:
        # say which effect and which data entry, keeping the error's type
        where = f"Effect {spec.name!r} ({spec.design}" + (
            f", data {spec.data!r})" if spec.data else ")"
        )
        raise type(err)(f"{where}: {err}") from err
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


def _week_profile(spec, effects: Mapping[str, Effect], data) -> WeekProfile:
    """The line's effect split by weeks of support, with the shortcut's average share."""
    average = None
    average_source = ""
    if spec.average_from is not None:
        a = spec.average_from
        frame = data[a.data].frame
        for column in (a.gross, a.net, a.untreated):
            if column not in frame:
                raise DataError(
                    f"average_from: data {a.data!r} has no column {column!r} "
                    f"(columns: {', '.join(map(str, frame.columns))})"
                )
        rows = frame[frame[a.untreated] == 0]
        average = 1.0 - float(rows[a.net].sum()) / float(rows[a.gross].sum())
        average_source = Text(
            "line.average_from",
            "the refusion share of all {gross} weeks in {data} where {untreated} = 0",
            gross=a.gross,
            data=a.data,
            untreated=a.untreated,
        )
    return WeekProfile.from_steps(
        {step: effects[name].estimate for step, name in spec.steps.items()},
        source=", ".join(f"{k}: {v}" for k, v in spec.steps.items()),
        average_share=average,
        average_source=average_source,
    )


def _line(spec, effects: Mapping[str, Effect], rates: RateTable, data=None) -> CashFlowLine:
    if isinstance(spec, StaffLineSpec):
        line = staff_cost(
            spec.name,
            fte=spec.fte,
            annual_cost=spec.annual_cost_dkk,
            years=spec.years,
            perspective=spec.perspective,
            source=spec.source,
        )
        if spec.price_year is None:
            return line
        pl = PriceIndex.danish_pl()
        return dataclasses.replace(
            line,
            amounts={y: a * pl.factor(spec.price_year, y) for y, a in line.amounts.items()},
            note=Text(
                "line.staff_indexed",
                "{note} at {year} prices, indexed to each year with {index} ({source})",
                note=line.note,
                year=str(spec.price_year),
                index=pl.name,
                source=pl.source,
            ),
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
    refusion_source: str | Text = ""
    if spec.refusion_weeks is not None:
        schedule = RefusionSchedule.danish()
        refusion = schedule.average_share(*spec.refusion_weeks)
        law = Text("line.refusion_source", "refusion {law}", law=schedule.source)
        source = Text("line.sources", "{a}; {b}", a=source, b=law) if source else law
        first, last = spec.refusion_weeks
        refusion_source = Text(
            "line.refusion_weeks",
            "{law}, the average over support weeks {first}-{last}",
            law=law,
            first=str(first),
            last=str(last),
        )
    rate = None
    if spec.rate is not None:
        ref = spec.rate
        line_years = spec.years if isinstance(spec.years, list) else list(spec.years)
        rate = (
            rates.by_year(ref.benefit, line_years, category=ref.category)
            if ref.year is None
            else rates.get(ref.benefit, ref.year, category=ref.category)
        )
    price = spec.dkk_per_unit
    if isinstance(price, dict):
        price = {int(y): spec.sign * v for y, v in price.items()}
    elif price is not None:
        price = spec.sign * price
    profile = None
    if spec.week_profile is not None:
        profile = _week_profile(spec.week_profile, effects, data)
    return monetize(
        effects[spec.effect],
        name=spec.name,
        years=spec.years,
        dkk_per_unit=price,
        total_at_estimate=spec.total_dkk,
        rate=rate,
        sign=spec.sign if rate is not None else 1,
        refusion_share=refusion,
        week_profile=profile,
        perspective=spec.perspective,
        category=spec.category,
        source=source,
        refusion_source=refusion_source,
    )


def _named_line(
    case: str, spec, effects: Mapping[str, Effect], rates: RateTable, data=None
) -> CashFlowLine:
    try:
        return _line(spec, effects, rates, data)
    except EvaluateError as err:
        raise type(err)(f"Business case {case!r}, line {spec.name!r}: {err}") from err


def _business_case(spec: BusinessCaseSpec, effects, study: StudySpec, data=None) -> BusinessCase:
    rates = RateTable.danish()
    if spec.discount == "none":
        discount = None
    elif spec.discount == "finansministeriet":
        discount = DiscountSchedule.danish()
    else:
        discount = DiscountSchedule.constant(float(spec.discount))
    case = BusinessCase(
        title=spec.title,
        lines=tuple(_named_line(spec.name, line, effects, rates, data) for line in spec.line),
        price_level=spec.price_level,
        sign=spec.sign,
        discount=discount,
        base_year=spec.base_year,
        n_draws=spec.n_draws,
        deadweight=spec.deadweight,
        displacement=spec.displacement,
        optimism_bias=spec.optimism_bias,
        horizon=spec.horizon,
        years_assumed=spec.years_assumed,
        seed=study.study.seed,
        alpha=study.report.alpha,
        notes=(spec.note,) if spec.note else (),
    )
    if spec.evidence_discount is None:
        return case
    from evaluate.grade import EvidenceDiscount, evidence_discount

    shares = spec.evidence_discount.model_dump()
    source = shares.pop("source")
    return evidence_discount(case, EvidenceDiscount(shares, source))


def run(spec: StudySpec, *, base: Path, spec_sha256: str = "") -> StudyResult:
    """Check the spec against its data, then fit every effect and build every business case."""
    data = load_data(spec, base)
    check_study(spec, data)
    effects = {e.name: _fit_effect(e, data, spec) for e in spec.effect}
    cases = {c.name: _business_case(c, effects, spec, data) for c in spec.business_case}
    for name, case in cases.items():
        if not math.isfinite(case.total):
            raise DesignError(
                f"Business case {name!r}: the net gain is {case.total}, not a number; "
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
