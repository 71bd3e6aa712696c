"""The Word copy of the report: same content as the HTML, a municipality's template, same bytes."""

import io
import shutil
import zipfile
from pathlib import Path

import docx
import lxml.html
import pytest
from docx.enum.text import WD_ALIGN_PARAGRAPH

from evaluate.errors import SpecError
from evaluate.report.docx import docx_bytes
from evaluate.spec import load_spec
from evaluate.study import run_study

STUDIES = Path(__file__).parents[2] / "studies"


@pytest.fixture(scope="module")
def solroed(tmp_path_factory):
    """Solrød's shares study written twice, into two folders ([report] formats has docx and pdf)."""
    first, second = tmp_path_factory.mktemp("first"), tmp_path_factory.mktemp("second")
    run_study(STUDIES / "solroed_shares.toml", first)
    run_study(STUDIES / "solroed_shares.toml", second)
    return first, second


@pytest.fixture(scope="module")
def faxe_html(tmp_path_factory):
    out = tmp_path_factory.mktemp("faxe")
    spec = (STUDIES / "faxe_fleksjob.toml").read_text(encoding="utf-8")
    shutil.copytree(STUDIES / "data", out / "data")
    (out / "s.toml").write_text(spec.replace('"docx", "pdf"', ""), encoding="utf-8")
    run_study(out / "s.toml", out / "report")
    return (out / "report" / "da" / "report.html").read_text(encoding="utf-8")


def _text(element) -> str:
    return " ".join(element.text_content().split())


def _squash(text: str) -> str:
    """Text without white space: HTML sets labels and line breaks apart by CSS, Word by spaces."""
    return "".join(text.split())


def test_written_twice_gives_the_same_bytes(solroed):
    first, second = solroed
    assert (first / "report.docx").read_bytes() == (second / "report.docx").read_bytes()


def test_zip_has_fixed_times_and_order_and_no_dates(solroed):
    archive = zipfile.ZipFile(solroed[0] / "report.docx")
    names = archive.namelist()
    assert names[0] == "[Content_Types].xml" and names[1:] == sorted(names[1:])
    assert {info.date_time for info in archive.infolist()} == {(1980, 1, 1, 0, 0, 0)}
    core = archive.read("docProps/core.xml").decode()
    assert "dcterms:created" not in core and "dcterms:modified" not in core
    assert "evaluate " in core


def test_same_headings_tables_and_figures_as_the_html(faxe_html):
    html = lxml.html.document_fromstring(faxe_html)
    document = docx.Document(io.BytesIO(docx_bytes(faxe_html, language="da")))

    headings = [
        (p.style.name, _squash(p.text)) for p in document.paragraphs if p.style.name != "Normal"
    ]
    expected = [
        ({"h1": "Title", "h2": "Heading 1", "h3": "Heading 2"}[h.tag], _squash(_text(h)))
        for h in html.iter("h1", "h2", "h3")
    ]
    assert [h for h in headings if h[0] in ("Title", "Heading 1", "Heading 2")] == expected

    # Every HTML table is a Word table with the same cells, word for word; each row of
    # summary boxes (label, number, interval) is one more, two-column table.
    tables = [[[_squash(c.text) for c in row.cells] for row in t.rows] for t in document.tables]
    html_tables = [
        [[_squash(_text(c)) for c in row if c.tag in ("th", "td")] for row in table.iter("tr")]
        for table in html.iter("table")
    ]
    boxes = html.find_class("key")
    assert len(tables) == len(html_tables) + len(boxes)
    assert [t for t in tables if t in html_tables] == html_tables
    assert "-7.800" in {cell for t in tables for row in t for cell in row}  # 1.000 kr.

    # Figures are pictures in the text, each followed by its caption.
    pictures = document.inline_shapes
    assert len(pictures) == len(html.findall(".//img")) > 0
    captions = [p.text for p in document.paragraphs if p.style.name == "Caption"]
    assert captions == [_text(c) for c in html.iter("figcaption")]

    # Notes, list items and sources are there too.
    body = _squash("".join(p.text for p in document.paragraphs))
    for element in html.iter("li", "p"):
        assert _squash(_text(element)) in body, _text(element)


def test_the_text_is_marked_danish(faxe_html):
    document = docx.Document(io.BytesIO(docx_bytes(faxe_html, language="da")))
    assert 'w:val="da-DK"' in document.styles["Normal"].element.xml
    assert document.core_properties.language == "da-DK"
    section = document.sections[0]
    assert (round(section.page_width.cm, 1), round(section.page_height.cm, 1)) == (21.0, 29.7)


def _template(path: Path) -> Path:
    """A municipality's template: its own header, front matter, a place for the report, an annex."""
    template = docx.Document()
    template.sections[0].header.paragraphs[0].text = "Solrød Kommune · {{ title }}"
    template.add_paragraph("Forside: Jobcenter Solrød")
    template.add_paragraph("{{report}}")
    template.add_paragraph("Bilag: ingen")
    template.styles["Heading 1"].font.name = "Kommunens skrift"
    template.save(path)
    return path


def test_a_template_is_filled_where_it_asks(faxe_html, tmp_path):
    template = _template(tmp_path / "skabelon.docx")
    data = docx_bytes(faxe_html, language="da", template=template)
    document = docx.Document(io.BytesIO(data))
    texts = [p.text for p in document.paragraphs]
    title = _text(lxml.html.document_fromstring(faxe_html).find(".//h1"))
    assert texts[0] == "Forside: Jobcenter Solrød" and texts[1] == title
    assert texts[-1] == "Bilag: ingen" and "{{report}}" not in texts
    assert document.sections[0].header.paragraphs[0].text == f"Solrød Kommune · {title}"
    assert document.styles["Heading 1"].font.name == "Kommunens skrift"
    assert data == docx_bytes(faxe_html, language="da", template=template)


def test_spec_template_is_resolved_and_checked(tmp_path):
    spec = (STUDIES / "solroed_shares.toml").read_text(encoding="utf-8")
    _template(tmp_path / "skabelon.docx")
    (tmp_path / "ok.toml").write_text(spec + 'docx_template = "skabelon.docx"\n', "utf-8")
    loaded = load_spec(tmp_path / "ok.toml")
    assert Path(loaded.report.docx_template) == (tmp_path / "skabelon.docx").resolve()

    (tmp_path / "missing.toml").write_text(spec + 'docx_template = "mangler.docx"\n', "utf-8")
    with pytest.raises(SpecError, match="mangler.docx.*does not exist"):
        load_spec(tmp_path / "missing.toml")

    no_docx = spec.replace('"docx", "pdf"', '"pdf"') + 'docx_template = "skabelon.docx"\n'
    (tmp_path / "no_docx.toml").write_text(no_docx, "utf-8")
    with pytest.raises(SpecError, match="'docx' is not in formats"):
        load_spec(tmp_path / "no_docx.toml")


def test_structure_beyond_the_current_template():
    """Spanning cells, captions, quotes and escaped user text come through as written."""
    html = (
        "<html><head><title>x</title></head><body><h1>&lt;b&gt;Faxe&lt;/b&gt; &amp; co</h1>"
        '<table><caption>Tabel 1</caption><tr><th colspan="2">Bred</th><th>x</th></tr>'
        '<tr><td>a</td><td class="num">1.234,5</td><td>2</td></tr></table>'
        "<blockquote>citat <em>her</em></blockquote></body></html>"
    )
    document = docx.Document(io.BytesIO(docx_bytes(html, language="da")))
    paragraphs = [(p.style.name, p.text) for p in document.paragraphs if p.text]
    assert paragraphs == [
        ("Title", "<b>Faxe</b> & co"),
        ("Caption", "Tabel 1"),
        ("Quote", "citat her"),
    ]
    rows = document.tables[0].rows
    assert [c.text for c in rows[0].cells] == ["Bred", "Bred", "x"]  # one merged cell
    assert [c.text for c in rows[1].cells] == ["a", "1.234,5", "2"]
    assert rows[1].cells[1].paragraphs[0].alignment == WD_ALIGN_PARAGRAPH.RIGHT


def test_a_template_without_the_reports_styles_borrows_them(faxe_html, tmp_path):
    """Word saves only the styles a document uses; a bare template still gives headings."""
    template = docx.Document()
    styles = template.styles.element
    for name in ("Heading 1", "Heading 2", "Caption", "List Bullet", "Table Grid"):
        styles.remove(template.styles[name].element)
    template.add_paragraph("{{ report }}")
    template.save(tmp_path / "bar.docx")

    document = docx.Document(
        io.BytesIO(docx_bytes(faxe_html, language="da", template=tmp_path / "bar.docx"))
    )
    used = {p.style.name for p in document.paragraphs}
    assert {"Title", "Heading 1", "Heading 2", "Caption"} <= used
    assert document.tables[0].style.name == "Table Grid"
    bullets = [p.text for p in document.paragraphs if p.text.startswith("• ")]
    assert len(bullets) == len(lxml.html.document_fromstring(faxe_html).findall(".//li"))
