"""The study's own words in another language, for the ``also_in`` copies of a report.

The report's fixed words come from the word lists in ``locale/``; the study's own
text (title, description, population, effect labels, sources, business-case titles
and price levels, line names, sources and notes, claims) is the author's.  A spec may
translate it::

    [report]
    also_in = ["da"]

    [report.translations.da]
    "Fewer on ledighedsydelse" = "Færre på ledighedsydelse"
    "Faxe Kommune, press release 29.10.2019" = "Faxe Kommune, pressemeddelelse 29.10.2019"

Keys must be texts that occur in the spec exactly
(:meth:`evaluate.spec.StudySpec.user_texts`, checked when the spec is read: a key
that matches nothing is an error, so a typo cannot pass silently).  Text without a
translation stays as written.  A sentence the toolkit composed around the author's
words (a :class:`~evaluate.text.Text`) keeps its key and has its words translated.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from evaluate.text import Text

if TYPE_CHECKING:
    from evaluate.study_result import StudyResult


def translate_result(result: StudyResult, language: str) -> StudyResult:
    """``result`` with the study's language set to ``language`` and its own text
    translated by the spec's ``[report.translations.<language>]`` table."""
    spec = result.spec
    table = spec.report.translations.get(language, {})

    def tr(text: Any) -> Any:
        if isinstance(text, Text):
            params = {k: tr(v) if isinstance(v, str) else v for k, v in text.params.items()}
            return type(text)(text.key, _template(text), **params)
        return table.get(text, text) if isinstance(text, str) else text

    study = spec.study.model_copy(
        update={
            "language": language,
            "title": tr(spec.study.title),
            "description": tr(spec.study.description),
            "population": tr(spec.study.population),
        }
    )
    data_specs = [
        d.model_copy(update={"note": tr(d.note), "source": tr(d.source)}) for d in spec.data
    ]
    claims = [
        c.model_copy(
            update={k: tr(getattr(c, k)) for k in ("says", "source", "used_in", "assumes")}
        )
        for c in spec.claim
    ]
    new_spec = spec.model_copy(update={"study": study, "data": data_specs, "claim": claims})
    data = {
        k: dataclasses.replace(
            d,
            source=d.source.model_copy(
                update={"note": tr(d.source.note), "source": tr(d.source.source)}
            ),
        )
        for k, d in result.data.items()
    }
    effects = {k: _renamed(e, tr) for k, e in result.effects.items()}
    renamed = {id(result.effects[k]): effects[k] for k in effects}

    def line(x: Any) -> Any:
        effect = None if x.effect is None else renamed.get(id(x.effect), _renamed(x.effect, tr))
        return dataclasses.replace(
            x, name=tr(x.name), source=tr(x.source), note=tr(x.note), effect=effect
        )

    cases = {
        k: dataclasses.replace(
            case,
            title=tr(case.title),
            price_level=tr(case.price_level),
            lines=tuple(line(x) for x in case.lines),
            notes=tuple(tr(n) for n in case.notes),
        )
        for k, case in result.business_cases.items()
    }
    return dataclasses.replace(
        result, spec=new_spec, data=data, effects=effects, business_cases=cases
    )


def _template(text: Text) -> str:
    from evaluate.text import TEMPLATES

    return TEMPLATES.get(text.key, str(text))


def _renamed(effect: Any, tr: Callable[[Any], Any]) -> Any:
    if not dataclasses.is_dataclass(effect):
        return effect
    provenance = dataclasses.replace(effect.provenance, source=tr(effect.provenance.source))
    # The design's sentences carry the author's labels (outcome_label) as parameters.
    return dataclasses.replace(
        effect,
        name=tr(effect.name),
        population=tr(effect.population),
        estimand=tr(effect.estimand),
        notes=tuple(tr(n) for n in effect.notes),
        provenance=provenance,
    )
