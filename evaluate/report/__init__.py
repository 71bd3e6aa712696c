"""Reports: a :class:`~evaluate.study.StudyResult` -> HTML and Markdown, in Danish or English.

The report reads results only through the ``Effect`` Protocol and the
``BusinessCase``; it never asks which design made an effect.  Output is
deterministic: no timestamps, figures without metadata, sorted inputs, so the
same spec and seed give byte-identical files.
"""

from __future__ import annotations

import base64
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

import jinja2
import pandas as pd

import evaluate
from evaluate.effect import DesignTable, Diagnostic, Effect, EffectResult, NotApplicable
from evaluate.inference.kinds import SCENARIO
from evaluate.plotting import plot_forest
from evaluate.report.case import case_context, grade_context
from evaluate.report.figures import figure_name as _slug
from evaluate.report.figures import render_png
from evaluate.report.fmt import Formatter, strings
from evaluate.report.translate import translate_result
from evaluate.report.verdict import build_verdict, effect_range
from evaluate.text import Num

if TYPE_CHECKING:
    from evaluate.study_result import LoadedData, StudyResult

_METHOD_NOTES = {
    "Stated expectation": "method_stated",
    "Stated effect": "method_stated_effect",
}


def _shows_a_figure(effect: Effect) -> bool:
    """Whether the effect's figure shows more than a single dot.

    The generic figure is a coefficient plot; for one estimate without an interval
    (a stated number) it would be a lone dot, which says nothing the table does not.
    """
    if type(effect).plot is not EffectResult.plot or effect.by_period is not None:
        return True
    frame = effect.to_frame()
    return bool((frame["ci_low"].notna() & frame["ci_high"].notna()).any())


def _cell(value: Any, kind: str, unit: str, f: Formatter, places: int = 3) -> str:
    if kind == "text":
        return f.say(value)
    if value is None or value != value:  # NaN
        return "–"
    if kind == "weight":
        return f.number(value, 3)
    if kind == "count":
        return f.number(value, 0)
    if kind == "p_value":
        return f.p_value(value)
    if kind == "estimate":
        return f.value(value, unit)
    return f.number(value, places)


def _capital(text: str) -> str:
    return text[:1].upper() + text[1:]


def _design_table(table: DesignTable, unit: str, f: Formatter) -> dict[str, Any]:
    frame = table.frame
    numbers = [c for c, _, kind in table.columns if kind == "number"]

    def places(label: Any) -> int:
        """Decimals for a row's measured numbers: four significant digits of its largest."""
        values = pd.to_numeric(frame.loc[label, numbers], errors="coerce").abs()
        largest = float(values.max()) if len(values) and values.notna().any() else 0.0
        return min(Num(largest, sig=4).places(), 4)

    return {
        "title": f.say(table.title),
        "row_header": _capital(f.say(table.row_header)),
        "headers": [_capital(f.say(header)) for _, header, _ in table.columns],
        "rows": [
            {
                "label": f.say(label),
                "cells": [
                    _cell(frame.loc[label, c], kind, unit, f, places(label))
                    for c, _, kind in table.columns
                ],
            }
            for label in frame.index
        ],
        "note": f.say(table.note),
    }


def _comparison_groups(result: StudyResult) -> list[tuple[str, list[str]]]:
    """Effects that estimate the same quantity: those with the same ``compare_as``, and
    (without it) those that share the outcome column and the unit.  Groups of one are
    not comparisons."""
    groups: dict[tuple[str, str], list[str]] = {}
    for spec in result.spec.effect:
        effect = result.effects.get(spec.name)
        if effect is None:
            continue
        if spec.compare_as is not None:
            groups.setdefault(("compare_as", spec.compare_as), []).append(spec.name)
            continue
        outcome = spec.options.get("outcome")
        if outcome is not None:
            groups.setdefault((str(outcome), effect.unit), []).append(spec.name)
    return [
        (name if kind == "compare_as" else kind, keys)
        for (kind, name), keys in groups.items()
        if len(keys) > 1
    ]


def _figure_key(outcome: str, keys: list[str]) -> str:
    """The forest plot's file-name key: the outcome column when it is a short plain
    name, else the first effect's key (a ``compare_as`` sentence makes a poor file name)."""
    plain = len(outcome) <= 40 and all(c.isascii() and (c.isalnum() or c == "_") for c in outcome)
    return outcome.lower() if plain and outcome == outcome.lower() else keys[0]


def _forests(result: StudyResult, f: Formatter) -> list[dict[str, Any]]:
    """One forest plot per quantity that the study estimates more than once.

    Effects estimate the same quantity when the spec says so (``compare_as``) or when
    they share the outcome column and the unit; a randomized trial among them is the
    benchmark the others are set against.
    """
    designs = {spec.name: spec.design for spec in result.spec.effect}
    forests = []
    for outcome, keys in _comparison_groups(result):
        effects = [result.effects[k] for k in keys]
        unit = effects[0].unit
        frame = pd.DataFrame(
            {
                "label": pd.Series([e.name for e in effects], dtype=object),
                "estimate": [e.estimate for e in effects],
                "ci_low": [e.ci[0] for e in effects],
                "ci_high": [e.ci[1] for e in effects],
            }
        )
        trials = [e.name for k, e in zip(keys, effects, strict=True) if designs[k] == "trial"]
        benchmark = trials[0] if len(trials) == 1 and len(keys) > 1 else None

        def draw(ax: Any, frame: pd.DataFrame = frame, unit: str = unit, b: Any = benchmark) -> Any:
            return plot_forest(frame, unit=unit, benchmark=b, ax=ax)

        forests.append(
            {
                "outcome": f.say(outcome),
                "figure": f"figures/forest-{_slug(_figure_key(outcome, keys))}.png",
                "png": render_png(draw, f, size=(7.5, 0.45 * len(keys) + 1.8)),
                "benchmark": benchmark,
            }
        )
    return forests


def _effect_context(key: str, effect: Effect, f: Formatter, t: dict[str, str]) -> dict[str, Any]:
    rows = []
    for row in effect.to_frame().itertuples(index=False):
        rows.append(
            {
                "term": f.say(row.term),
                "estimate": f.value(row.estimate, row.unit),
                "std_error": f.std_error(row.std_error, row.estimate, row.unit),
                "ci": f.interval(row.ci_low, row.ci_high, row.unit),
                "p_value": f.p_value(row.p_value),
                "unit": t["units"].get(row.unit, row.unit),
            }
        )
    shown_range = None
    if rows and effect.uncertainty in (*SCENARIO, "prior"):
        low, high = effect_range(effect, f)
        rows[0]["ci"] = t[f"range_{effect.uncertainty}"].format(low=low, high=high)
        shown_range = f.interval(*effect.distribution.interval(0.05), effect.unit)
    if rows and rows[0]["ci"] == "–":
        rows[0]["ci"] = t["no_uncertainty"]
    diagnostics = []
    for name, diag in effect.diagnostics.items():
        if isinstance(diag, NotApplicable):
            text = f.say(diag.reason)
        elif isinstance(diag, Diagnostic):
            text = f"{f.say(diag.name)} = {f.statistic(diag.value)}"
            if diag.p_value == diag.p_value:  # not NaN
                text += f" (p = {f.p_value(diag.p_value)})"
            text += f"; {f.say(diag.note)}" if diag.note else ""
        else:  # pragma: no cover - the contract allows only the two types
            text = str(diag)
        diagnostics.append({"name": f.say(name), "text": text})
    prov = effect.provenance
    return {
        "key": key,
        "range": shown_range,
        "ci_label": t[f"ci_kind_{effect.uncertainty}"]
        if effect.uncertainty in (*SCENARIO, "prior")
        else None,
        "name": effect.name,
        "grade": grade_context(effect, f),
        "method": f.say(effect.method),
        "estimand": f.say(effect.estimand),
        "population": t["not_stated"]
        if effect.population == "not stated"
        else f.say(effect.population),
        "inference": f.say(effect.inference),
        "source": f.say(prov.source),
        "simulated": prov.simulated,
        "rows_used": None
        if prov.n_rows is None
        else t["rows_used"].format(
            used=f.number(prov.n_rows, 0), dropped=f.number(prov.n_dropped, 0)
        ),
        "data_hash": prov.data_hash or "",
        "rows": rows,
        "diagnostics": diagnostics,
        "notes": [f.say(n) for n in effect.notes],
        "figure": f"figures/effect-{_slug(key)}.png",
        "png": render_png(effect.plot, f) if _shows_a_figure(effect) else None,
        "tables": [_design_table(table, effect.unit, f) for table in effect.design_tables()],
    }


def _data_note(data: LoadedData, f: Formatter) -> str:
    """The entry's note, and how its file was read where that was detected."""
    from evaluate.data.readers import read_as_text

    parts = [f.say(data.source.note), f.say(read_as_text(data.read_as, f.say))]
    return ". ".join(p for p in parts if p)


def build_context(result: StudyResult) -> dict[str, Any]:
    """Everything the templates show, already formatted for the study's language."""
    spec = result.spec
    language = spec.study.language
    t = strings(language)
    f = Formatter(language)
    effects = [_effect_context(k, e, f, t) for k, e in result.effects.items()]
    cases = [case_context(k, c, f, t) for k, c in result.business_cases.items()]
    forests = _forests(result, f)
    level = f.percent(1 - spec.report.alpha, 0)
    groups = [
        (quantity, [result.effects[k] for k in keys])
        for quantity, keys in _comparison_groups(result)
    ]
    verdict = build_verdict(result.effects, result.business_cases, groups, f, t, level)
    claims = [
        {
            "says": f.say(c.says),
            "source": f.say(c.source),
            "used_in": f.say(c.used_in),
            "assumes": f.say(c.assumes),
            "assumed": c.assumed,
        }
        for c in spec.claim
    ]
    method_notes: list[str] = []
    for effect in result.effects.values():
        key = _METHOD_NOTES.get(effect.method)
        if key is None and "trend forecast" in effect.method:
            key = "method_forecast"
        note = (
            t[key]
            if key
            else f"{f.say(effect.method)}: {f.say(effect.estimand)}; {f.say(effect.inference)}."
        )
        if note not in method_notes:
            method_notes.append(note)
    data = [
        {
            "name": d.source.name,
            "file": d.source.path or f"evaluate.datasets.{d.source.dataset}()",
            "rows": d.rows,
            "sha256": d.sha256,
            "simulated": d.source.simulated,
            "source": f.say(d.source.source),
            "note": _data_note(d, f),
        }
        for d in result.data.values()
    ]
    return {
        "t": t,
        "verdict": verdict,
        "claims": claims,
        "title": spec.study.title,
        "description": spec.study.description,
        "language": language,
        "simulated": any(d["simulated"] for d in data),
        "level": level,
        "ci_header": t["ci"].format(level=level),
        "effects": effects,
        "forests": forests,
        "cases": cases,
        "data": data,
        "spec_sha256": result.spec_sha256,
        "version": evaluate.__version__,
        "seed": spec.study.seed,
        "method_notes": method_notes,
        "money_note": t["method_money"].format(
            draws=f.number(cases[0]["n_draws"], 0), seed=spec.study.seed
        )
        if cases
        else "",
    }


# "<" only opens HTML or an autolink before a letter, "/", "!" or "?"; ">" only quotes
# at the start of a line; so "< 0.001" and "a > b" stay as written.
_MD_SPECIAL = re.compile(r"([\\`*\[\]|#~]|<(?=[A-Za-z/!?]))")
# "_" inside a word (monthly_counts) cannot open emphasis in CommonMark; only an
# underscore at a word's edge needs escaping.
_MD_UNDERSCORE = re.compile(r"(?<![^\W_])_|_(?![^\W_])")
_MD_LINE_START = re.compile(r"^(?:([-+>])(?=\s|$)|(\d{1,9})([.)])(?=\s|$)|([=-])(?=[=-]*\s*$)|(>))")


def md_escape(value: object) -> str:
    """``value`` as Markdown text that renders as written and cannot add markup.

    Line breaks become spaces (no injected headings, quotes, lists or table rows);
    the characters that open emphasis, code, links, HTML, tables, headings and
    strikethrough are backslash-escaped; a list or heading-underline marker at the
    start is escaped too.  Applied to every ``{{ ... }}`` of the Markdown template
    (the environment's ``finalize``), so no field can be forgotten.
    """
    text = " ".join(str(value).split())
    text = _MD_UNDERSCORE.sub(r"\\_", _MD_SPECIAL.sub(r"\\\1", text))
    return _MD_LINE_START.sub(_escape_marker, text)


def _escape_marker(m: re.Match[str]) -> str:
    if m[2]:  # an ordered-list number: escape its "." or ")"
        return f"{m[2]}\\{m[3]}"
    return "\\" + (m[1] or m[4] or m[5])


def _environment(*, markdown: bool = False) -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("evaluate.report", "templates"),
        autoescape=jinja2.select_autoescape(["html.j2"]),
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        undefined=jinja2.StrictUndefined,
        finalize=md_escape if markdown else None,
    )
    env.filters["md"] = md_escape
    return env


def _figures(context: dict[str, Any]) -> dict[str, bytes]:
    figures = {e["figure"]: e["png"] for e in context["effects"] if e["png"] is not None}
    figures.update({forest["figure"]: forest["png"] for forest in context["forests"]})
    figures.update({c["figure"]: c["png"] for c in context["cases"]})
    figures.update({c["tornado"]: c["tornado_png"] for c in context["cases"]})
    figures.update({c["waterfall"]: c["waterfall_png"] for c in context["cases"]})
    return figures


def render(context: dict[str, Any], fmt: str) -> str:
    """The report text in ``fmt`` ("html" or "md") from :func:`build_context`."""
    if fmt == "html":
        embed = {
            path: "data:image/png;base64," + base64.b64encode(png).decode()
            for path, png in _figures(context).items()
        }
        return _environment().get_template("report.html.j2").render(context, embed=embed)
    if fmt == "md":
        return _environment(markdown=True).get_template("report.md.j2").render(context)
    raise ValueError(f"Unknown report format {fmt!r}")


def write_report(result: StudyResult, out: Path) -> list[Path]:
    """Write the report in each format the spec asks for into ``out``; return the paths.

    The Markdown report links its figures from ``out/figures``; the HTML report is
    one self-contained file with the figures embedded; the Excel workbook holds the
    effect tables, the business cases (with live SUM formulas) and the assumptions;
    the Word (``docx``) and PDF copies are made from the HTML report.  The files are
    built beside ``out`` and moved there only when all are written, with a manifest
    of their SHA-256 sums (:mod:`evaluate.report.output`).
    """
    from evaluate.report.output import publish

    def write_all(folder: Path) -> None:
        _write_one(result, folder)
        spec = result.spec
        for language in spec.report.also_in:
            if language != spec.study.language:
                _write_one(translate_result(result, language), folder / language)

    out = Path(out)
    return [out / rel for rel in publish(out, write_all)]


def _write_one(result: StudyResult, out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    context = build_context(result)
    for fmt in result.spec.report.formats:
        if fmt == "xlsx":
            from evaluate.report.excel import write_excel

            write_excel(result, out / "report.xlsx")
            continue
        if fmt == "docx":
            from evaluate.report.docx import write_docx

            template = result.spec.report.docx_template
            write_docx(
                render(context, "html"),
                out / "report.docx",
                language=result.spec.study.language,
                template=None if template is None else Path(template),
            )
            continue
        if fmt == "pdf":
            from evaluate.report.pdf import write_pdf

            write_pdf(render(context, "html"), out / "report.pdf")
            continue
        (out / f"report.{fmt}").write_text(render(context, fmt), encoding="utf-8", newline="\n")
        if fmt == "md":
            for relative, png in _figures(context).items():
                path = out / relative
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_bytes(png)
