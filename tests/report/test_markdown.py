"""report.md renders every table it writes under CommonMark with GFM tables.

GitHub, GitLab and markdown-it read a pipe table only where it starts a block: a
table straight after a list line without a blank line is shown as plain text.  The
tests count the pipe tables written (their delimiter rows) and the tables a
CommonMark parser with the GFM table extension renders; the two must agree, for
every committed report (CI regenerates them byte for byte, so these are the
reports the current code writes) and for a report rendered here from the template.
"""

import re
from pathlib import Path

import pytest
from markdown_it import MarkdownIt

from evaluate.report import build_context, render
from evaluate.report.translate import translate_result
from evaluate.study import run_study

ROOT = Path(__file__).parents[2]
REPORTS = sorted((ROOT / "reports").glob("**/report.md"))
# A GFM delimiter row: | --- | ---: | :---: |
DELIMITER_ROW = re.compile(r"^ {0,3}\|(?:\s*:?-+:?\s*\|)+\s*$", re.MULTILINE)


def _tables(markdown: str) -> tuple[int, int]:
    """(pipe tables written, tables rendered by CommonMark + GFM tables)."""
    written = len(DELIMITER_ROW.findall(markdown))
    tokens = MarkdownIt("commonmark").enable("table").parse(markdown)
    return written, sum(token.type == "table_open" for token in tokens)


def test_the_counter_sees_a_table_that_does_not_render():
    lost = "- a list line\n| a | b |\n|---|---:|\n| 1 | 2 |\n"
    kept = "- a list line\n\n| a | b |\n|---|---:|\n| 1 | 2 |\n"
    assert _tables(lost) == (1, 0) and _tables(kept) == (1, 1)


@pytest.mark.parametrize("path", REPORTS, ids=[str(p.relative_to(ROOT)) for p in REPORTS])
def test_every_table_renders_in_committed_reports(path):
    written, rendered = _tables(path.read_text(encoding="utf-8"))
    assert written > 0 and rendered == written


@pytest.mark.parametrize("language", ["en", "da"])
def test_every_table_renders_in_a_fresh_report(language):
    result = run_study(ROOT / "studies" / "faxe_fleksjob.toml")
    if language != result.spec.study.language:
        result = translate_result(result, language)
    written, rendered = _tables(render(build_context(result), "md"))
    assert written > 0 and rendered == written
