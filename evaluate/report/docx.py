"""The report as an editable Word document (python-docx), optionally in the municipality's template.

The document is built from the rendered HTML report, element by element, so it
holds exactly what ``report.html`` holds, in the same order and the same words:
headings, the summary, effect and business-case tables, figures with captions,
notes and sources.  The HTML is the one place the report's content is written; the
Word copy translates its structure (``h1``-``h4``, ``p``, lists, tables, figures)
into Word's own paragraph and table styles, so a reader can edit it and a
municipality's template restyles it.

A template (``[report] docx_template = "skabelon.docx"``, relative to the spec) is a
Word document with the municipality's styles, page set-up, header and footer.  The
report goes where a paragraph reads exactly ``{{ report }}``, or after the
template's own content when there is none; ``{{ title }}`` anywhere in a paragraph
(body, header or footer) becomes the report's title.  The template's styles are
used by name (*Title*, *Heading 1-3*, *List Bullet*, *Caption*, *Table Grid*);
a style the template lacks falls back to Word's defaults.  Without a template the
document starts from python-docx's blank document, set to A4.

The bytes are reproducible: the package's parts are written in a fixed order with
a fixed timestamp, and the document properties carry no dates.
"""

from __future__ import annotations

import base64
import copy
import io
import re
import zipfile
from collections.abc import Iterable
from pathlib import Path

import docx
import lxml.html
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_COLOR_INDEX
from docx.opc.constants import RELATIONSHIP_TYPE as RT
from docx.oxml.ns import qn
from docx.shared import Cm, Pt, RGBColor
from docx.styles import BabelFish
from docx.table import _Cell
from docx.text.paragraph import Paragraph
from lxml.etree import _Element

import evaluate

_LANGUAGE_TAGS = {"da": "da-DK", "en": "en-GB"}
_HEADING_LEVELS = {"h1": 0, "h2": 1, "h3": 2, "h4": 3}  # h1 is the document's Title
_CONTAINERS = {"html", "body", "header", "section", "article", "main", "footer", "div"}
_SKIP = {"head", "style", "script", "template", "svg"}  # the report's figures are PNGs
# Jinja-style fields in a template, with or without the spaces inside the braces
_PLACEHOLDER = re.compile(r"\{\{\s*report\s*\}\}")
_TITLE = re.compile(r"\{\{\s*title\s*\}\}")
_BORROWED = (
    "Title",
    "Heading 1",
    "Heading 2",
    "Heading 3",
    "Caption",
    "Quote",
    "Intense Quote",
    "Table Grid",
)
_ZIP_TIME = (1980, 1, 1, 0, 0, 0)  # the earliest time a zip entry can hold
_NOTE_GREY = RGBColor(0x4A, 0x55, 0x61)


def docx_bytes(html: str, *, language: str, template: Path | None = None) -> bytes:
    """The Word document of the HTML report ``html`` (figures embedded as data: URLs)."""
    root = lxml.html.document_fromstring(html)
    title = _text(root.find(".//h1")) if root.find(".//h1") is not None else ""
    document = docx.Document(str(template) if template is not None else None)
    if template is None:
        _default_layout(document, title)
    _borrow_missing_styles(document)
    _set_language(document, _LANGUAGE_TAGS[language])
    _fill_title(document, title)
    placeholder = _find_placeholder(document)
    body = document.element.body
    existing = list(body)
    _Writer(document).blocks(root.find("body") if root.find("body") is not None else root)
    if placeholder is not None:
        for element in [e for e in body if not any(e is x for x in existing)]:
            if element.tag != qn("w:sectPr"):
                placeholder._p.addprevious(element)
        placeholder._p.getparent().remove(placeholder._p)
    _properties(document, title, language)
    buffer = io.BytesIO()
    document.save(buffer)
    return _normalised_zip(buffer.getvalue())


def write_docx(html: str, path: Path, *, language: str, template: Path | None = None) -> Path:
    """Write the Word copy of the HTML report ``html`` to ``path`` and return ``path``."""
    path.write_bytes(docx_bytes(html, language=language, template=template))
    return path


class _Writer:
    """Appends HTML block elements to a python-docx document as Word paragraphs and tables."""

    def __init__(self, document: docx.document.Document) -> None:
        self.document = document
        self.styles = {style.name for style in document.styles}
        section = document.sections[-1]
        self.text_width = section.page_width - section.left_margin - section.right_margin

    def style(self, name: str) -> str | None:
        return name if name in self.styles else None

    def blocks(self, element: _Element) -> None:
        """Write the block-level children of ``element``; loose text becomes a paragraph."""
        if (element.text or "").strip():
            self.paragraph(element, children=False)
        for child in element:
            if not isinstance(child.tag, str) or child.tag in _SKIP:
                continue
            self.block(child)
            if (child.tail or "").strip():
                self.document.add_paragraph(_collapse(child.tail).strip())

    def block(self, element: _Element) -> None:
        tag = element.tag
        classes = set((element.get("class") or "").split())
        if tag in _HEADING_LEVELS:
            heading = self.document.add_heading(level=_HEADING_LEVELS[tag])
            _inline(heading, element)
        elif tag in ("ul", "ol"):
            self.items(element, "List Number" if tag == "ol" else "List Bullet")
        elif tag == "table":
            self.table(element)
        elif tag == "figure":
            self.figure(element)
        elif tag == "img":
            self.image(element)
        elif "key" in classes:
            self.key_figures(element)
        elif tag in _CONTAINERS and any(_is_block(child) for child in element):
            self.blocks(element)
        elif tag == "blockquote":
            _inline(self.document.add_paragraph(style=self.style("Quote")), element)
        else:
            self.paragraph(element, note="note" in classes, banner="banner" in classes)

    def paragraph(
        self, element: _Element, *, children: bool = True, note: bool = False, banner: bool = False
    ) -> Paragraph:
        style = self.style("Intense Quote") if banner else None
        paragraph = self.document.add_paragraph(style=style)
        if children:
            _inline(paragraph, element)
        else:
            paragraph.add_run(_collapse(element.text or "").strip())
        if note:
            for run in paragraph.runs:
                run.font.color.rgb = _NOTE_GREY
                run.font.size = Pt(9)
        return paragraph

    def items(self, element: _Element, style: str) -> None:
        # A template without list styles gets the marks as text: its numbering
        # definitions are its own, and borrowed list styles would point at none.
        for number, item in enumerate(element.iterchildren("li"), start=1):
            paragraph = self.document.add_paragraph(style=self.style(style))
            if paragraph.style.name != style:
                paragraph.add_run("• " if style == "List Bullet" else f"{number}. ")
            _inline(paragraph, item)

    def table(self, element: _Element) -> None:
        caption = element.find("caption")
        if caption is not None:
            _inline(self.document.add_paragraph(style=self.style("Caption")), caption)
        rows = [row for row in element.iter("tr")]
        width = max((sum(_span(cell) for cell in _cells(row)) for row in rows), default=0)
        if not width:
            return
        table = self.document.add_table(rows=0, cols=width)
        table.style = self.style("Table Grid")
        table.alignment = WD_TABLE_ALIGNMENT.LEFT
        texts = []
        for row in rows:
            cells = _cells(row)
            header = all(cell.tag == "th" for cell in cells)
            row_classes = set((row.get("class") or "").split())
            targets = table.add_row().cells
            if header:
                _repeat_as_header(table.rows[-1])
            position, row_texts = 0, []
            for cell in cells:
                span = min(_span(cell), width - position)
                if span < 1:
                    break
                target = targets[position]
                if span > 1:  # a cell across columns does not set their widths
                    target = target.merge(targets[position + span - 1])
                row_texts += [_text(cell) if span == 1 else ""] + [""] * (span - 1)
                position += span
                paragraph = _first_paragraph(target)
                _inline(paragraph, cell)
                if "num" in (cell.get("class") or "").split():
                    paragraph.alignment = WD_ALIGN_PARAGRAPH.RIGHT
                bold = cell.tag == "th" or "net" in row_classes
                for run in paragraph.runs:
                    run.bold = run.bold or bold or None
                    run.italic = run.italic or ("subtotal" in row_classes) or None
                if header:
                    _shade(target, "F3F5F7")
            texts.append(row_texts)
        self.fit_columns(table, texts)
        self.document.add_paragraph()  # Word joins two tables that touch

    def fit_columns(self, table, texts: list[list[str]]) -> None:
        """Column widths in proportion to their longest text (within bounds), filling the page.

        Word would fit the columns itself; other editors keep the widths written, and
        equal widths squeeze a long line name into a narrow first column.
        """
        columns = len(table.columns)
        longest = [
            max((_room(row[i]) for row in texts if i < len(row)), default=0) + 3
            for i in range(columns)
        ]
        total = sum(longest)
        for i, column in enumerate(table.columns):
            width = int(self.text_width * longest[i] / total)
            column.width = width
            for cell in column.cells:
                cell.width = width

    def figure(self, element: _Element) -> None:
        for image in element.iter("img"):
            self.image(image)
        caption = element.find("figcaption")
        if caption is not None:
            _inline(self.document.add_paragraph(style=self.style("Caption")), caption)

    def image(self, element: _Element) -> None:
        source = element.get("src") or ""
        match = re.fullmatch(r"data:image/(png|jpeg);base64,(.*)", source, flags=re.S)
        if match is None:  # the report embeds every figure; anything else is not ours to fetch
            return
        picture = io.BytesIO(base64.b64decode(match.group(2)))
        self.document.add_picture(picture, width=self.text_width)

    def key_figures(self, element: _Element) -> None:
        """The summary's boxes (label, number, interval) as a small table."""
        table = self.document.add_table(rows=0, cols=2)
        table.style = self.style("Table Grid")
        texts = []
        for box in element.iterchildren("div"):
            label, value = table.add_row().cells
            label_text = _collapse(box.text or "").strip()
            _first_paragraph(label).add_run(label_text)
            paragraph = _first_paragraph(value)
            for child in box:
                text = _text(child)
                if child.tag in ("b", "strong"):
                    paragraph.add_run(text).bold = True
                elif text:
                    run = paragraph.add_run(f" ({text})")
                    run.font.color.rgb = _NOTE_GREY
            texts.append([label_text, paragraph.text])
        self.fit_columns(table, texts)
        self.document.add_paragraph()


def _inline(paragraph: Paragraph, element: _Element) -> None:
    """Add ``element``'s text and inline children to ``paragraph`` as formatted runs."""
    runs = list(_runs(element, bold=False, italic=False, code=False))
    # HTML collapses the white space at the edges of a block; so does Word's copy.
    while runs and not runs[0][0].strip():
        runs.pop(0)
    while runs and not runs[-1][0].strip():
        runs.pop()
    if runs:
        runs[0] = (runs[0][0].lstrip(), *runs[0][1:])
        runs[-1] = (runs[-1][0].rstrip(), *runs[-1][1:])
    for text, bold, italic, code, tag, line_break in runs:
        if line_break:
            paragraph.add_run().add_break()
            continue
        run = paragraph.add_run(text)
        run.bold = bold or None
        run.italic = italic or None
        if code:
            run.font.name = "Consolas"
            run.font.size = Pt(8)
        if tag:
            run.bold = True
            run.font.highlight_color = WD_COLOR_INDEX.YELLOW


def _runs(element: _Element, *, bold: bool, italic: bool, code: bool) -> Iterable[tuple]:
    """(text, bold, italic, code, tag, line break) for the text in ``element``, in order."""
    tag = element.tag
    bold = bold or tag in ("b", "strong", "th")
    italic = italic or tag in ("i", "em")
    code = code or tag in ("code", "kbd", "samp")
    is_tag = "tag" in (element.get("class") or "").split()
    if is_tag:  # a label set off by CSS in HTML; a space sets it off here
        yield (" ", False, False, False, False, False)
    if element.text:
        yield (_collapse(element.text), bold, italic, code, is_tag, False)
    for child in element:
        if not isinstance(child.tag, str) or child.tag in _SKIP:
            pass
        elif child.tag == "br":
            yield ("", False, False, False, False, True)
        elif child.tag == "img":
            alt = child.get("alt")
            if alt:
                yield (_collapse(alt), bold, italic, code, False, False)
        else:
            yield from _runs(child, bold=bold, italic=italic, code=code)
        if child.tail:
            yield (_collapse(child.tail), bold, italic, code, False, False)


def _collapse(text: str) -> str:
    return re.sub(r"\s+", " ", text)


def _text(element: _Element) -> str:
    return _collapse(element.text_content()).strip()


def _is_block(element: _Element) -> bool:
    return isinstance(element.tag, str) and element.tag in (
        _CONTAINERS | set(_HEADING_LEVELS) | {"p", "ul", "ol", "table", "figure", "img"}
    )


def _cells(row: _Element) -> list[_Element]:
    return [cell for cell in row if cell.tag in ("th", "td")]


def _room(text: str) -> float:
    """Characters a column wants for ``text``: up to 40 (then it wraps), and its longest
    word whole (bold headers are a fifth wider)."""
    word = max((len(w) for w in text.split()), default=0)
    return max(min(len(text), 40), 1.2 * word)


def _span(cell: _Element) -> int:
    try:
        return max(int(cell.get("colspan", "1")), 1)
    except ValueError:
        return 1


def _first_paragraph(cell: _Cell) -> Paragraph:
    return cell.paragraphs[0]


def _repeat_as_header(row) -> None:
    properties = row._tr.get_or_add_trPr()
    header = properties.makeelement(qn("w:tblHeader"), {})
    properties.append(header)


def _shade(cell: _Cell, fill: str) -> None:
    properties = cell._tc.get_or_add_tcPr()
    shading = properties.makeelement(qn("w:shd"), {qn("w:val"): "clear", qn("w:fill"): fill})
    properties.append(shading)


def _default_layout(document: docx.document.Document, title: str) -> None:
    """A4 with 2 cm margins (python-docx's blank document is US Letter), the title and the
    page number in the footer, and no thumbnail (the blank page python-docx ships)."""
    for section in document.sections:
        section.page_width, section.page_height = Cm(21.0), Cm(29.7)
        section.left_margin = section.right_margin = Cm(2.0)
        section.top_margin = section.bottom_margin = Cm(2.0)
        footer = section.footer.paragraphs[0]
        footer.text = f"{title} · "
        footer.alignment = WD_ALIGN_PARAGRAPH.RIGHT
        field = footer._p.makeelement(qn("w:fldSimple"), {qn("w:instr"): "PAGE"})
        footer._p.append(field)
        for run in footer.runs:
            run.font.size = Pt(8)
            run.font.color.rgb = _NOTE_GREY
    document.styles["Normal"].font.size = Pt(10)
    package = document.part.package
    for key, relationship in list(package.rels.items()):
        if relationship.reltype == RT.THUMBNAIL:
            package.rels.pop(key)


def _borrow_missing_styles(document: docx.document.Document) -> None:
    """Give a template Word's standard look for the styles the report uses and it lacks.

    Word saves only the styles a document uses, so a municipality's template may
    well have no *Heading 2* or *Caption*; python-docx's blank document has them all.
    A heading's linked character style comes along with it.
    """
    have = {style.style_id for style in document.styles}
    blank = docx.Document().styles.element
    wanted = [blank.get_by_name(BabelFish.ui2internal(name)) for name in _BORROWED]
    links = [style.find(qn("w:link")) for style in wanted]
    wanted += [blank.get_by_id(link.get(qn("w:val"))) for link in links if link is not None]
    for style in wanted:
        if style is not None and style.get(qn("w:styleId")) not in have:
            document.styles.element.append(copy.deepcopy(style))
            have.add(style.get(qn("w:styleId")))


def _set_language(document: docx.document.Document, tag: str) -> None:
    """Mark the text as Danish (or English) so Word checks the spelling in that language."""
    properties = document.styles["Normal"].element.get_or_add_rPr()
    for old in properties.findall(qn("w:lang")):
        properties.remove(old)
    lang = properties.makeelement(qn("w:lang"), {qn("w:val"): tag})
    # Word rejects run properties out of the schema's order; these three follow w:lang.
    later = [properties.find(qn(f"w:{n}")) for n in ("eastAsianLayout", "specVanish", "oMath")]
    later = [element for element in later if element is not None]
    if later:
        later[0].addprevious(lang)
    else:
        properties.append(lang)


def _paragraphs(document: docx.document.Document) -> Iterable[Paragraph]:
    yield from document.paragraphs
    for table in document.tables:
        for row in table.rows:
            for cell in row.cells:
                yield from cell.paragraphs
    for section in document.sections:
        for part in (
            section.header,
            section.footer,
            section.first_page_header,
            section.first_page_footer,
            section.even_page_header,
            section.even_page_footer,
        ):
            if not part.is_linked_to_previous:  # reading a missing one would add it
                yield from part.paragraphs


def _fill_title(document: docx.document.Document, title: str) -> None:
    """The report title for ``{{ title }}``; the paragraph keeps its first run's look."""
    for paragraph in _paragraphs(document):
        if _TITLE.search(paragraph.text) and paragraph.runs:
            text = _TITLE.sub(lambda _: title, paragraph.text)
            paragraph.runs[0].text = text
            for run in paragraph.runs[1:]:
                run.text = ""


def _find_placeholder(document: docx.document.Document) -> Paragraph | None:
    for paragraph in document.paragraphs:
        if _PLACEHOLDER.fullmatch(paragraph.text.strip()):
            return paragraph
    return None


def _properties(document: docx.document.Document, title: str, language: str) -> None:
    """Title, language and producer; no dates and no author, so reruns give the same bytes."""
    core = document.core_properties
    core.title = title
    core.language = _LANGUAGE_TAGS[language]
    core.author = ""
    core.last_modified_by = ""
    core.comments = f"evaluate {evaluate.__version__}"
    core.revision = 1
    element = core._element
    for name in ("dcterms:created", "dcterms:modified", "cp:lastPrinted"):
        for old in element.findall(qn(name)):
            element.remove(old)


def _normalised_zip(data: bytes) -> bytes:
    """The package's parts in a fixed order ([Content_Types].xml first) at a fixed time."""
    source = zipfile.ZipFile(io.BytesIO(data))
    names = sorted(source.namelist(), key=lambda n: (n != "[Content_Types].xml", n))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as target:
        for name in names:
            info = zipfile.ZipInfo(name, date_time=_ZIP_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.create_system = 0
            info.external_attr = 0
            target.writestr(info, source.read(name))
    return buffer.getvalue()
