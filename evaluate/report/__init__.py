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

import evaluate
from evaluate.effect import Diagnostic, Effect, NotApplicable
from evaluate.report.figures import render_png
from evaluate.report.fmt import Formatter, strings
from evaluate.report.translate import translate_result
from evaluate.sensitivity import plot_tornado, sensitivity

if TYPE_CHECKING:
    from evaluate.business_case import BusinessCase
    from evaluate.study_result import StudyResult

_METHOD_NOTES = {
    "Stated expectation": "method_stated",
    "Stated effect": "method_stated_effect",
}


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "figure"


def _effect_context(key: str, effect: Effect, f: Formatter, t: dict[str, str]) -> dict[str, Any]:
    rows = []
    for row in effect.to_frame().itertuples(index=False):
        rows.append(
            {
                "term": row.term,
                "estimate": f.value(row.estimate, row.unit),
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
            text = diag.reason
        elif isinstance(diag, Diagnostic):
            text = f"{diag.name} = {f.number(diag.value, 3)}"
            if diag.p_value == diag.p_value:  # not NaN
                text += f" (p = {f.p_value(diag.p_value)})"
            text += f"; {diag.note}" if diag.note else ""
        else:  # pragma: no cover - the contract allows only the two types
            text = str(diag)
        diagnostics.append({"name": name, "text": text})
    prov = effect.provenance
    return {
        "key": key,
        "name": effect.name,
        "method": effect.method,
        "estimand": effect.estimand,
        "population": effect.population,
        "inference": effect.inference,
        "source": prov.source,
        "simulated": prov.simulated,
        "rows_used": None
        if prov.n_rows is None
        else t["rows_used"].format(
            used=f.number(prov.n_rows, 0), dropped=f.number(prov.n_dropped, 0)
        ),
        "data_hash": prov.data_hash or "",
        "rows": rows,
        "diagnostics": diagnostics,
        "notes": list(effect.notes),
        "figure": f"figures/effect-{_slug(key)}.png",
        "png": render_png(effect.plot),
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
        return name

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
        "discounting": t["undiscounted"] if case.discount is None else case.discount.source,
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
                "name": line.name,
                "source": line.source,
                "note": line.note,
                "effect": "" if line.effect is None else line.effect.name,
            }
            for line in case.lines
        ],
        "notes": list(case.notes),
        "figure": f"figures/case-{_slug(key)}.png",
        "png": render_png(case.plot),
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
        "sensitivity": [
            {
                "assumption": row.assumption,
                "low": f.thousands(row.npv_low),
                "high": f.thousands(row.npv_high),
            }
            for row in sensitivity(case).itertuples(index=False)
        ],
        "waterfall": f"figures/waterfall-{_slug(key)}.png",
        "waterfall_png": render_png(case.plot_waterfall),
        "tornado": f"figures/tornado-{_slug(key)}.png",
        "tornado_png": render_png(lambda ax: plot_tornado(case, ax=ax)),
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
    method_notes: list[str] = []
    for effect in result.effects.values():
        key = _METHOD_NOTES.get(effect.method)
        if key is None and "trend forecast" in effect.method:
            key = "method_forecast"
        note = t[key] if key else f"{effect.method}: {effect.estimand}; {effect.inference}."
        if note not in method_notes:
            method_notes.append(note)
    data = [
        {
            "name": d.source.name,
            "file": d.source.path or f"evaluate.datasets.{d.source.dataset}()",
            "rows": d.rows,
            "sha256": d.sha256,
            "simulated": d.source.simulated,
            "source": d.source.source,
            "note": d.source.note,
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


def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.PackageLoader("evaluate.report", "templates"),
        autoescape=jinja2.select_autoescape(["html.j2"]),
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        undefined=jinja2.StrictUndefined,
    )


def _figures(context: dict[str, Any]) -> dict[str, bytes]:
    figures = {e["figure"]: e["png"] for e in context["effects"]}
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
        return _environment().get_template("report.md.j2").render(context)
    raise ValueError(f"Unknown report format {fmt!r}")


def write_report(result: StudyResult, out: Path) -> list[Path]:
    """Write the report in each format the spec asks for into ``out``; return the paths.

    The Markdown report links its figures from ``out/figures``; the HTML report is
    one self-contained file with the figures embedded; the Excel workbook holds the
    effect tables, the business cases (with live SUM formulas) and the assumptions.
    """
    written = _write_one(result, out)
    spec = result.spec
    for language in spec.report.also_in:
        if language == spec.study.language:
            continue
        written += _write_one(translate_result(result, language), out / language)
    return written


def _write_one(result: StudyResult, out: Path) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    context = build_context(result)
    written: list[Path] = []
    for fmt in result.spec.report.formats:
        if fmt == "xlsx":
            from evaluate.report.excel import write_excel

            written.append(write_excel(result, out / "report.xlsx"))
            continue
        target = out / f"report.{fmt}"
        target.write_text(render(context, fmt), encoding="utf-8", newline="\n")
        written.append(target)
        if fmt == "md":
            for relative, png in _figures(context).items():
                path = out / relative
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_bytes(png)
                written.append(path)
    return written
