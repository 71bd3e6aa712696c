"""The evidence grade stands beside every effect, in every format the report writes.

One source of truth: :func:`evaluate.grade.evidence_grade`, the function the
business case's grade lines use; the effects section must show the same letter and
the same reasons, in the report's language.
"""

from __future__ import annotations

import io
import re
import tomllib
from pathlib import Path

import docx
import pytest

from evaluate.grade import evidence_grade
from evaluate.report import build_context, render
from evaluate.report.case import grade_lines
from evaluate.report.docx import docx_bytes
from evaluate.report.excel import build_workbook, excel_strings
from evaluate.report.fmt import Formatter, strings
from evaluate.study import run_study

STUDIES = Path(__file__).parents[2] / "studies"
LOCALE = Path(__file__).parents[2] / "evaluate" / "report" / "locale"


@pytest.fixture(scope="module")
def study():
    cache = {}

    def get(name):
        if name not in cache:
            result = run_study(STUDIES / f"{name}.toml")
            cache[name] = (result, build_context(result))
        return cache[name]

    return get


def _grades(result) -> dict[str, str]:
    return {key: evidence_grade(effect).grade for key, effect in result.effects.items()}


def _sheet_column(ws, label: str) -> list:
    head = [c.value for c in next(ws.iter_rows(min_row=1, max_row=1))]
    col = head.index(label)
    return [row[col] for row in ws.iter_rows(min_row=2, values_only=True)]


def test_two_effects_of_different_grades_show_both_letters_in_every_format(study):
    result, context = study("vordingborg_trial")
    grades = _grades(result)
    assert grades == {"employment": "A", "weeks": "C"}  # the premise: two grades

    md = render(context, "md")
    html = render(context, "html")
    effects_md = md.split("## Effect estimates", 1)[1].split("## Business cases", 1)[0]
    effects_html = html.split('<section id="effects">', 1)[1].split("</section>", 1)[0]
    summary_html = html.split('<section id="summary">', 1)[1].split("</section>", 1)[0]
    for effect in result.effects.values():
        g = evidence_grade(effect)
        reasons = "; ".join(g.reasons)
        # the detail: letter and every reason
        assert f"- Evidence grade: **{g.grade}** ({reasons})" in effects_md.replace("\\", "")
        assert f"<strong>{g.grade}</strong> ({reasons})" in effects_html.replace("&gt;", ">")
        # the summary list a council member reads first: letter and the one-line reason
        line = next(x for x in md.splitlines() if x.startswith(f"- **{effect.name}**"))
        assert line.endswith(f"evidence grade **{g.grade}**: {g.headline}.")
        assert f'<strong class="grade">{g.grade}</strong>: {g.headline}</li>' in summary_html

    # Word copy (made from the HTML): the detail row of each effect
    document = docx.Document(io.BytesIO(docx_bytes(html, language="en")))
    cells = [
        (row.cells[0].text, row.cells[1].text)
        for table in document.tables
        for row in table.rows
        if len(row.cells) == 2
    ]
    shown = [value[0] for label, value in cells if label == "Evidence grade"]
    assert shown == [grades[key] for key in result.effects]

    wb = build_workbook(result)
    t = excel_strings("en")
    ws = wb[t["sheet_effects"]]
    keys = _sheet_column(ws, t["key"])
    letters = _sheet_column(ws, t["evidence_grade"])
    reasons = _sheet_column(ws, t["grade_reasons"])
    for key, letter, why in zip(keys, letters, reasons, strict=True):
        assert letter == grades[key]
        assert why == "; ".join(evidence_grade(result.effects[key]).reasons)
    assert set(letters) == {"A", "C"}
    summary = wb[t["sheet_summary"]]
    rows = [r for r in summary.iter_rows(values_only=True) if r[0] in grades and r[8]]
    assert {r[0]: r[8] for r in rows} == grades
    assert {r[0]: r[9] for r in rows} == {
        k: evidence_grade(e).headline for k, e in result.effects.items()
    }


def test_the_effects_section_grade_equals_the_business_cases(study):
    """Every priced effect: the case's grade sentence is made of exactly the letter and
    reasons the effects section shows (English and Danish studies)."""
    for name in ("vordingborg_trial", "solroed_business_case", "koebenhavn_fleksjob"):
        result, context = study(name)
        language = result.spec.study.language
        t, f = strings(language), Formatter(language)
        shown = {e["name"]: e["grade"] for e in context["effects"]}
        for case in result.business_cases.values():
            priced = {id(ln.effect): ln.effect for ln in case.lines if ln.effect is not None}
            expected = [
                t["grade_sentence"].format(
                    effect=f.say(effect.name),
                    grade=shown[effect.name]["letter"],
                    reasons=shown[effect.name]["reasons"],
                )
                for effect in priced.values()
            ]
            assert grade_lines(case, f, t) == expected
            assert expected  # the case prices at least one effect


def test_a_danish_report_gives_danish_reasons(study):
    result, context = study("solroed_business_case")
    assert result.spec.study.language == "da"
    with (LOCALE / "da.toml").open("rb") as handle:
        words = tomllib.load(handle)["text"]
    md = render(context, "md")
    html = render(context, "html")
    for effect in result.effects.values():
        g = evidence_grade(effect)
        danish = words[g.headline.key]
        assert danish != str(g.headline)
        line = next(x for x in md.splitlines() if x.startswith(f"- **{effect.name}**"))
        assert line.endswith(f"evidensgrad **{g.grade}**: {danish}.")
        assert f"Evidensgrad</th><td><strong>{g.grade}</strong>" in html
        for reason in g.reasons:
            assert words[reason.key] in md
            assert str(reason) not in md and str(reason) not in html
    # and in the workbook
    wb = build_workbook(result)
    t = excel_strings("da")
    reasons = _sheet_column(wb[t["sheet_effects"]], t["grade_reasons"])
    assert all(r and not re.search(r"\b(stated|estimate|from data)\b", r) for r in reasons)
    assert any("oplyst spænd" in r for r in reasons)


def test_a_target_is_graded_as_what_it_is_not_as_an_estimate(study):
    """A target is not an estimate: its grade says so in words, beside the letter D."""
    result, context = study("koebenhavn_fleksjob")
    (effect,) = result.effects.values()
    assert effect.uncertainty == "target"
    (shown,) = context["effects"]
    assert shown["grade"] == {
        "letter": "D",
        "short": "a target, not an estimate of an effect",
        "reasons": "a target, not an estimate of an effect",
    }
