"""Reports: the Faxe study end to end, byte-identical reruns, escaping, Danish format."""

import shutil
from pathlib import Path

import pytest

from evaluate.cli import main
from evaluate.report.fmt import Formatter
from evaluate.study import run_study

STUDIES = Path(__file__).parents[2] / "studies"


@pytest.fixture(scope="module")
def faxe_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("faxe")
    assert main(["run", str(STUDIES / "faxe_fleksjob.toml"), "--out", str(out)]) == 0
    return out


def test_faxe_report_shows_the_published_figures(faxe_dir):
    md = (faxe_dir / "report.md").read_text(encoding="utf-8")
    html = (faxe_dir / "report.html").read_text(encoding="utf-8")
    for text in (md, html):
        assert "-26.0%" in text and "-22.0%" in text  # -8 % vs +18 %
        assert "-7,800" in text and "4,400" in text and "1,500" in text and "-1,900" in text
        assert "SIMULATED" in text
        assert "no uncertainty stated" in text
    assert (faxe_dir / "figures" / "case-published.png").stat().st_size > 1000
    # self-contained: 2 effect figures (the stated +5 pp would be a lone dot: none);
    # per case a net-by-year, a waterfall and a tornado figure
    assert html.count("data:image/png;base64,") == 2 + 2 * 3
    assert not (faxe_dir / "figures" / "effect-flexjob.png").exists()


def test_rerun_is_byte_identical(faxe_dir, tmp_path):
    main(["run", str(STUDIES / "faxe_fleksjob.toml"), "--out", str(tmp_path)])
    for name in ("report.md", "report.html", "figures/effect-ledighedsydelse-simulated.png"):
        assert (tmp_path / name).read_bytes() == (faxe_dir / name).read_bytes(), name


def test_user_text_is_escaped_in_html(tmp_path):
    spec = (STUDIES / "faxe_fleksjob.toml").read_text(encoding="utf-8")
    spec = spec.replace(
        'title = "Faxe: more caseworkers on flexjob"', 'title = "<script>alert(1)</script> & co"'
    )
    # ... and its Danish translation too (the translation table's key follows the title)
    spec = spec.replace(
        '"Faxe: more caseworkers on flexjob" = "Faxe: flere sagsbehandlere på fleksjobområdet"',
        '"<script>alert(1)</script> & co" = "<img src=x onerror=alert(2)>"',
    )
    shutil.copytree(STUDIES / "data", tmp_path / "data")
    (tmp_path / "s.toml").write_text(spec, encoding="utf-8")
    run_study(tmp_path / "s.toml", tmp_path / "out")
    html = (tmp_path / "out" / "report.html").read_text(encoding="utf-8")
    assert "<script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; co" in html
    danish = (tmp_path / "out" / "da" / "report.html").read_text(encoding="utf-8")
    assert "<img src=x" not in danish and "&lt;img src=x onerror=alert(2)&gt;" in danish


def test_danish_report(tmp_path):
    spec = (STUDIES / "faxe_fleksjob.toml").read_text(encoding="utf-8")
    shutil.copytree(STUDIES / "data", tmp_path / "data")
    (tmp_path / "s.toml").write_text(spec.replace('language = "en"', 'language = "da"'), "utf-8")
    run_study(tmp_path / "s.toml", tmp_path / "out")
    md = (tmp_path / "out" / "report.md").read_text(encoding="utf-8")
    assert "Sammenfatning til beslutningstagere" in md
    assert "-7.800" in md and "-1.900" in md and "1.000 kr." in md
    assert "-26,0 %" in md


def test_formatter():
    da, en = Formatter("da"), Formatter("en")
    assert da.number(1234.5) == "1.234,5" and en.number(1234.5) == "1,234.5"
    assert da.percent(-0.26) == "-26,0 %" and en.percent(-0.26) == "-26.0%"
    assert da.thousands(-7_800_000) == "-7.800"
    assert en.probability(0.999) == "> 99%" and en.probability(0.5) == "50%"
    assert en.p_value(0.0001) == "< 0.001"


def test_also_in_writes_a_second_language(faxe_dir):
    # studies/faxe_fleksjob.toml asks for a Danish copy: [report] also_in = ["da"]
    md = (faxe_dir / "da" / "report.md").read_text(encoding="utf-8")
    assert "Sammenfatning til beslutningstagere" in md and "-1.900" in md
    assert (faxe_dir / "da" / "report.xlsx").is_file()
    # The study's own words come from [report.translations.da]; the English copy keeps them.
    assert md.startswith("# Faxe: flere sagsbehandlere på fleksjobområdet")
    assert "Tre ekstra sagsbehandlere" in md and "Three extra caseworkers" not in md
    english = (faxe_dir / "report.md").read_text(encoding="utf-8")
    assert english.startswith("# Faxe: more caseworkers on flexjob")
    assert "Tre ekstra sagsbehandlere" not in english
