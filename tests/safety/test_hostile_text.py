"""Issue 16, item 5: hostile text from the spec and the data, through every format.

The hostile study (``hostile.py``) puts a spreadsheet formula, a script tag, a
table-breaking pipe, a Markdown link and an injected heading into every text a
spec can hold, and into the data (peer names, category names).  Each format
must show the text, and none may turn it into markup.
"""

from __future__ import annotations

import re

import markdown_it
import openpyxl
import pytest

from evaluate.report import md_escape
from evaluate.study import run_study
from tests.safety.hostile import write_hostile_study

TAGS = [
    "title",
    "description",
    "population",
    "label",
    "effect-source",
    "distribution",
    "benchmark",
    "case-title",
    "price-level",
    "case-note",
    "line",
    "line-source",
    "cost",
    "data-source",
    "data-note",
]


@pytest.fixture(scope="module", params=["en", "da"])
def report(request, tmp_path_factory):
    folder = tmp_path_factory.mktemp(f"hostile-{request.param}")
    run_study(write_hostile_study(folder, language=request.param), folder / "out")
    return folder / "out"


def test_markdown_renders_no_html_links_or_headings_from_text(report):
    md = (report / "report.md").read_text(encoding="utf-8")
    html = markdown_it.MarkdownIt("commonmark").enable("table").render(md)
    assert "<script" not in html and "<b>" not in html
    assert 'href="http://example.invalid"' not in html and 'href="y"' not in html
    assert not re.search(r"<h\d>Injected", html)  # the newline did not start a heading
    headings = re.findall(r"<h1>(.*?)</h1>", html)
    assert len(headings) == 1  # only the title
    for tag in TAGS:
        assert f"{tag} &lt;script&gt;alert(1)&lt;/script&gt; a | b [click]" in html, tag


def test_markdown_tables_keep_their_columns(report):
    md = (report / "report.md").read_text(encoding="utf-8")
    for line in md.splitlines():
        if line.startswith("|") and "\\|" in line:
            cells = re.split(r"(?<!\\)\|", line)
            header = next(
                h for h in reversed(md[: md.index(line)].splitlines()) if h.startswith("|---")
            )
            assert len(cells) == len(header.split("|")), line


def test_html_escapes_everything(report):
    html = (report / "report.html").read_text(encoding="utf-8")
    assert "<script>alert" not in html and "<b>peer" not in html
    assert 'href="http://example.invalid"' not in html
    for tag in ("title", "label", "case-title", "line", "data-note"):
        assert f"{tag} &lt;script&gt;alert(1)&lt;/script&gt;" in html, tag


def test_excel_holds_the_text_as_text(report):
    wb = openpyxl.load_workbook(report / "report.xlsx")
    texts = [c for ws in wb.worksheets for row in ws.iter_rows() for c in row if c.value]
    hostile = [c for c in texts if isinstance(c.value, str) and "<script>" in c.value]
    assert len(hostile) >= 10
    assert all(c.data_type == "s" for c in hostile)
    # the workbook's own formulas (a live model) carry none of the study's text
    formulas = [c.value for c in texts if c.data_type == "f"]
    assert formulas and not any("<script>" in f or "HYPERLINK" in f for f in formulas)


@pytest.mark.parametrize(
    ("text", "escaped"),
    [
        ("# heading", "\\# heading"),
        ("- item", "\\- item"),
        ("1. first", "1\\. first"),
        ("---", "\\---"),
        ("a\n# b", "a \\# b"),
        ("<img src=x>", "\\<img src=x>"),
        ("> quote", "\\> quote"),
        ("p < 0.001, a > b", "p < 0.001, a > b"),
        ("[a](b)", "\\[a\\](b)"),
        ("a | b", "a \\| b"),
        ("-26.0%", "-26.0%"),
        ("monthly_counts", "monthly_counts"),
        ("_emphasis_", "\\_emphasis\\_"),
        ("1,234.5", "1,234.5"),
    ],
)
def test_md_escape(text, escaped):
    assert md_escape(text) == escaped
