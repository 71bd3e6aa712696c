"""The study's own words in another language, for the ``also_in`` copies of a report.

The report's fixed words come from the word lists in ``locale/``; the study's own
text (title, description, population, effect labels, business-case titles and
price levels, line names and notes) is the author's.  A spec may translate it::

    [report]
    also_in = ["da"]

    [report.translations.da]
    "Fewer on ledighedsydelse" = "Færre på ledighedsydelse"

Keys must be texts that occur in the spec exactly
(:meth:`evaluate.spec.StudySpec.user_texts`, checked when the spec is read: a key
that matches nothing is an error, so a typo cannot pass silently).  Text without a
translation stays as written.  Sources and citations are never translated.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from evaluate.study_result import StudyResult


def translate_result(result: StudyResult, language: str) -> StudyResult:
    """``result`` with the study's language set to ``language`` and its own text
    translated by the spec's ``[report.translations.<language>]`` table."""
    spec = result.spec
    table = spec.report.translations.get(language, {})

    def tr(text: str) -> str:
        return table.get(text, text)

    study = spec.study.model_copy(
        update={
            "language": language,
            "title": tr(spec.study.title),
            "description": tr(spec.study.description),
            "population": tr(spec.study.population),
        }
    )
    notes = [d.model_copy(update={"note": tr(d.note)}) for d in spec.data]
    new_spec = spec.model_copy(update={"study": study, "data": notes})
    data = {
        k: dataclasses.replace(d, source=d.source.model_copy(update={"note": tr(d.source.note)}))
        for k, d in result.data.items()
    }
    effects = {k: _renamed(e, tr) for k, e in result.effects.items()}
    cases = {
        k: dataclasses.replace(
            case,
            title=tr(case.title),
            price_level=tr(case.price_level),
            lines=tuple(dataclasses.replace(line, name=tr(line.name)) for line in case.lines),
            notes=tuple(tr(n) for n in case.notes),
        )
        for k, case in result.business_cases.items()
    }
    return dataclasses.replace(
        result, spec=new_spec, data=data, effects=effects, business_cases=cases
    )


def _renamed(effect: Any, tr: Callable[[str], str]) -> Any:
    if not dataclasses.is_dataclass(effect):
        return effect
    return dataclasses.replace(effect, name=tr(effect.name), population=tr(effect.population))
