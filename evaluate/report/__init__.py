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
from evaluate.plotting import plot_forest
from evaluate.report.figures import render_png
from evaluate.report.fmt import Formatter, strings
from evaluate.report.payers import payer_context, shortcut_context
from evaluate.report.translate import translate_result
from evaluate.sensitivity import plot_tornado, sensitivity
from evaluate.text import Num

if TYPE_CHECKING:
    from evaluate.business_case import BusinessCase
    from evaluate.study_result import StudyResult

_METHOD_NOTES = {
    "Stated expectation": "method_stated",
    "Stated effect": "method_stated_effect",
}


def _slug(key: str) -> str:
    """A file-name part for ``key``, unique by construction: ``a``-``z`` and ``0``-``9``
    stay, ``_`` becomes ``-``, and every other character becomes ``.<hex code>.``.
    No two keys give the same name, even on a case-insensitive file system
    (``effekt_ø`` -> ``effekt-.f8.``, ``effekt_å`` -> ``effekt-.e5.``)."""
    return "".join(
        c if "a" <= c <= "z" or "0" <= c <= "9" else "-" if c == "_" else f".{ord(c):x}."
        for c in key
    )


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


def _forests(result: StudyResult, f: Formatter) -> list[dict[str, Any]]:
    """One forest plot per quantity that the study estimates more than once.

    Effects estimate the same quantity when they share the outcome column and the
    unit; a randomized trial among them is the benchmark the others are set against.
    """
    groups: dict[tuple[str, str], list[str]] = {}
    for spec in result.spec.effect:
        outcome = spec.options.get("outcome")
        effect = result.effects.get(spec.name)
        if outcome is not None and effect is not None:
            groups.setdefault((str(outcome), effect.unit), []).append(spec.name)
    designs = {spec.name: spec.design for spec in result.spec.effect}
    forests = []
    for (outcome, unit), keys in groups.items():
        if len(keys) < 2:
            continue
        effects = [result.effects[k] for k in keys]
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
                "outcome": outcome,
                "figure": f"figures/forest-{_slug(outcome)}.png",
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
        "name": effect.name,
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


def _case_context(key: str, case: BusinessCase, f: Formatter, t: dict[str, str]) -> dict[str, Any]:
    grouped = len({line.category for line in case.lines}) > 1
    table = case.table(by_category=grouped)
    columns = [t["total"] if c == "Total" else c for c in table.columns]
    net_label = t["net_municipal"] if case.sign == "municipal" else t["net"]

    def label(name: str, kind: str) -> str:
        if kind == "net":
            return net_label
        if kind == "subtotal":
            category = name.removesuffix(" total")
            return t["subtotal"].format(category=t[f"category_{category}"])
        return f.say(name)

    body = [
        {
            "line": label(name, kind),
            "cells": [f.thousands(v * 1_000) for v in row],
            "net": kind == "net",
            "subtotal": kind == "subtotal",
        }
        for name, kind, row in zip(table.index, table.attrs["kinds"], table.to_numpy(), strict=True)
    ]
    k = case.key_figures()
    uncertain = case.uncertain
    break_even = k["break_even_share_of_effect"]
    return {
        "key": key,
        "title": case.title,
        "price_level": case.price_level,
        "columns": columns,
        "body": body,
        "sign_note": t["sign_municipal"] if case.sign == "municipal" else t["sign_plain"],
        "net_gain": f.thousands(k["net_gain"]),
        "npv": None if case.discount is None else f.thousands(k["npv"]),
        "discounting": t["undiscounted"] if case.discount is None else f.say(case.discount.source),
        "interval": f.interval(k["net_gain_ci_low"] / 1_000, k["net_gain_ci_high"] / 1_000, "DKK")
        if uncertain
        else t["no_uncertainty"],
        "probability": f.probability(k["probability_of_gain"]) if uncertain else None,
        "break_even": t["break_even"].format(share=f.percent(break_even, 0))
        if break_even == break_even
        else t["break_even_none"],
        "payback": t["never"] if k["payback_year"] is None else str(k["payback_year"]),
        "lines": [
            {
                "name": f.say(line.name),
                "source": f.say(line.source),
                "note": f.say(line.note),
                "effect": "" if line.effect is None else f.say(line.effect.name),
            }
            for line in case.lines
        ],
        "notes": [f.say(n) for n in case.notes],
        "figure": f"figures/case-{_slug(key)}.png",
        "png": render_png(case.plot, f),
        "bcr": f.number(k["benefit_cost_ratio"], 2),
        "break_even_effect": None
        if case.break_even_effect is None
        else t["break_even_effect"].format(
            value=f.value(case.break_even_effect[0], case.break_even_effect[1]),
            unit=t["units"].get(case.break_even_effect[1], case.break_even_effect[1]),
        ),
        "adjustments": [
            (t[name], f.percent(getattr(case, name), 0))
            for name in ("deadweight", "displacement", "optimism_bias")
            if getattr(case, name)
        ],
        "perspectives": [
            (t.get(f"perspective_{p}", p), f.thousands(v)) for p, v in case.by_perspective().items()
        ],
        "payers": payer_context(case, f, t),
        "shortcuts": shortcut_context(case, f, t),
        "sensitivity": [
            {
                "assumption": f.say(row.assumption),
                "low": f.thousands(row.npv_low),
                "high": f.thousands(row.npv_high),
            }
            for row in sensitivity(case).itertuples(index=False)
        ],
        "waterfall": f"figures/waterfall-{_slug(key)}.png",
        "waterfall_png": render_png(case.plot_waterfall, f),
        "tornado": f"figures/tornado-{_slug(key)}.png",
        "tornado_png": render_png(lambda ax: plot_tornado(case, ax=ax), f),
        "n_draws": case.n_draws,
        "seed": case.seed,
    }


def build_context(result: StudyResult) -> dict[str, Any]:
    """Everything the templates show, already formatted for the study's language."""
    spec = result.spec
    language = spec.study.language
    t = strings(language)
    f = Formatter(language)
    effects = [_effect_context(k, e, f, t) for k, e in result.effects.items()]
    cases = [_case_context(k, c, f, t) for k, c in result.business_cases.items()]
    forests = _forests(result, f)
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
            "note": f.say(d.source.note),
        }
        for d in result.data.values()
    ]
    level = f.percent(1 - spec.report.alpha, 0)
    return {
        "t": t,
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
_MD_LINE_START = re.compile(
    r"^(?:([-+>])(?=\s|$)|(\d{1,9})([.)])(?=\s|$)|([=-])(?=[=-]*\s*$)|(>))"
)


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
