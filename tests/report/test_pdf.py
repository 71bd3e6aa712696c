"""The PDF copy of the report: the HTML report on A4, fixed metadata, the same bytes twice."""

import os
import shutil
import subprocess
from pathlib import Path

import lxml.html
import pytest

import evaluate
from evaluate.report.pdf import pdf_bytes, write_pdf
from evaluate.study import run_study

STUDIES = Path(__file__).parents[2] / "studies"
poppler = pytest.mark.skipif(
    shutil.which("pdfinfo") is None, reason="needs poppler-utils (pdfinfo, pdftotext)"
)


@pytest.fixture(scope="module")
def vordingborg(tmp_path_factory):
    out = tmp_path_factory.mktemp("vordingborg")
    run_study(STUDIES / "vordingborg_trial.toml", out)
    return out


def test_written_twice_gives_the_same_bytes(vordingborg, tmp_path):
    html = (vordingborg / "report.html").read_text(encoding="utf-8")
    again = write_pdf(html, tmp_path / "again.pdf")
    assert again.read_bytes() == (vordingborg / "report.pdf").read_bytes()


def test_the_font_clock_is_put_back(vordingborg, monkeypatch):
    html = (vordingborg / "report.html").read_text(encoding="utf-8")
    monkeypatch.delenv("SOURCE_DATE_EPOCH", raising=False)
    pdf_bytes(html)
    assert "SOURCE_DATE_EPOCH" not in os.environ
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    assert pdf_bytes(html) == (vordingborg / "report.pdf").read_bytes()
    assert os.environ["SOURCE_DATE_EPOCH"] == "1700000000"


def _pdfinfo(path: Path) -> dict[str, str]:
    text = subprocess.run(["pdfinfo", str(path)], capture_output=True, text=True, check=True)
    return dict(
        (key.strip(), value.strip())
        for key, _, value in (line.partition(":") for line in text.stdout.splitlines())
    )


@poppler
def test_metadata_is_fixed_and_pages_are_a4(vordingborg):
    info = _pdfinfo(vordingborg / "report.pdf")
    html = lxml.html.parse(vordingborg / "report.html").getroot()
    assert info["Producer"] == info["Creator"] == f"evaluate {evaluate.__version__}"
    assert "CreationDate" not in info and "ModDate" not in info
    assert info["Title"] == html.find(".//title").text
    assert info["Page size"].startswith("595.276 x 841.89 pts (A4)")
    assert int(info["Pages"]) >= 2


@poppler
def test_holds_the_html_reports_headings_and_numbers(vordingborg):
    text = subprocess.run(
        ["pdftotext", "-layout", str(vordingborg / "report.pdf"), "-"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    # White space aside (a long heading wraps; a label is set off by CSS, not a space)
    squashed = "".join(text.split())
    html = lxml.html.parse(vordingborg / "report.html").getroot()
    for heading in html.iter("h1", "h2", "h3"):
        assert "".join(heading.text_content().split()) in squashed
    estimates = [td.text_content() for td in html.iter("td") if td.get("class") == "num"]
    assert estimates and all(e in text for e in estimates)
