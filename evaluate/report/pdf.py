"""The report as PDF: WeasyPrint prints the HTML report on A4 pages.

The PDF is the HTML report laid out for paper, so the two cannot drift apart: the
same headings, tables, figures and notes, in the same words.  WeasyPrint lays out
text with Pango, so the system needs Pango (Debian: ``libpango-1.0-0`` and
``libpangoft2-1.0-0``), HarfBuzz's subsetter for the embedded fonts
(``libharfbuzz-subset0``) and a font (``fonts-dejavu-core``).

The bytes are reproducible: the same HTML gives the same PDF.  Four things would
otherwise change from run to run, and each is fixed here:

* *dates*: the PDF carries no creation or modification date (the HTML report
  declares none, and WeasyPrint writes one only when the HTML does);
* *producer*: ``evaluate <version>`` rather than the layout engine's name and version;
* *embedded fonts*: without HarfBuzz's subsetter WeasyPrint subsets fonts with
  fontTools, which stamps each subset's ``head.modified`` with the current time
  unless ``SOURCE_DATE_EPOCH`` is set; it is set to 0 while the PDF is written
  (and restored after);
* *identifier*: the file ``/ID`` is the MD5 of the document's content, so it is the
  same for the same report and differs between different reports.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import evaluate
from evaluate.errors import EvaluateError

# Paper layout on top of the report's own screen stylesheet: A4, page numbers in the
# footer, and a base size that makes the stylesheet's rem units print-sized.
_PRINT_CSS = """
@page {
  size: A4;
  margin: 18mm 16mm 20mm 16mm;
  @bottom-right { content: counter(page) " / " counter(pages); font-size: 8pt; color: #4a5561; }
}
html { font-size: 9.5pt; }
body { max-width: none; margin: 0; padding: 0; }
h2, h3 { break-after: avoid; }
figure, table, .key { break-inside: avoid; }
figure img { max-width: 100%; }
"""


@contextmanager
def _fixed_font_clock() -> Iterator[None]:
    """fontTools' timestamps (``head.modified`` of each embedded font) at the epoch."""
    before = os.environ.get("SOURCE_DATE_EPOCH")
    os.environ["SOURCE_DATE_EPOCH"] = "0"
    try:
        yield
    finally:
        if before is None:
            del os.environ["SOURCE_DATE_EPOCH"]
        else:
            os.environ["SOURCE_DATE_EPOCH"] = before


def pdf_bytes(html: str) -> bytes:
    """The PDF of the self-contained HTML report ``html`` (figures embedded)."""
    import pydyf

    try:
        from weasyprint import CSS, HTML
    except OSError as err:  # WeasyPrint loads Pango when imported
        raise EvaluateError(
            "report format 'pdf' needs the Pango library, which could not be loaded "
            f"({err}). Install it (Debian: apt-get install libpango-1.0-0 libpangoft2-1.0-0 "
            "libharfbuzz-subset0 fonts-dejavu-core; Windows and macOS: WeasyPrint's "
            "installation notes) or drop 'pdf' from [report] formats."
        ) from err

    producer = pydyf.String(f"evaluate {evaluate.__version__}")

    def finish(_document: object, pdf: pydyf.PDF) -> None:
        pdf.info["Producer"] = producer
        pdf.info["Creator"] = producer

    # base_url=None and no url_fetcher use: the report embeds its figures as data:
    # URLs and links nothing else, so rendering reads no file and no network.
    document = HTML(string=html, base_url=None)
    with _fixed_font_clock():
        return document.write_pdf(
            stylesheets=[CSS(string=_PRINT_CSS)], pdf_identifier=True, finisher=finish
        )


def write_pdf(html: str, path: Path) -> Path:
    """Write the PDF of the HTML report ``html`` to ``path`` and return ``path``."""
    path.write_bytes(pdf_bytes(html))
    return path
