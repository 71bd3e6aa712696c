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
from evaluate.errors import DesignError, EvaluateError
from evaluate.estimators import DESIGNS
from evaluate.money import CashFlowLine, RateTable, RefusionSchedule, cost, monetize, staff_cost
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


def _named_line(case: str, spec, effects: Mapping[str, Effect], rates: RateTable) -> CashFlowLine:
    try:
        return _line(spec, effects, rates)
    except EvaluateError as err:
        raise type(err)(f"Business case {case!r}, line {spec.name!r}: {err}") from err


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
        lines=tuple(_named_line(spec.name, line, effects, rates) for line in spec.line),
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


def run(spec: StudySpec, *, base: Path, spec_sha256: str = "") -> StudyResult:
    """Check the spec against its data, then fit every effect and build every business case."""
    data = load_data(spec, base)
    check_study(spec, data)
    effects = {e.name: _fit_effect(e, data, spec) for e in spec.effect}
    cases = {c.name: _business_case(c, effects, spec) for c in spec.business_case}
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
