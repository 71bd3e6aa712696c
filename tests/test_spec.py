"""Study specs are strict: unknown keys, bad references and bad files are errors."""

from pathlib import Path

import pytest

from evaluate import SpecError
from evaluate.cli import main
from evaluate.spec import load_spec, parse_spec

STUDIES = Path(__file__).parents[1] / "studies"

MINIMAL = """
[study]
title = "t"
[[effect]]
design = "stated_effect"
name = "e"
estimate = 1.0
outcome_unit = "persons"
"""


def test_bundled_specs_validate():
    spec = load_spec(STUDIES / "faxe_fleksjob.toml")
    assert [e.name for e in spec.effect][:2] == ["ledighedsydelse", "flexjob"]


def test_unknown_key_is_named():
    with pytest.raises(SpecError, match=r"effect\[0\]: unknown option\(s\) \['estimat'\]"):
        parse_spec(MINIMAL.replace("estimate = 1.0", "estimate = 1.0\nestimat = 2"))
    with pytest.raises(SpecError, match=r"study.langauge: unknown key"):
        parse_spec(MINIMAL.replace('title = "t"', 'title = "t"\nlangauge = "da"'))


def test_bad_values_and_references():
    with pytest.raises(SpecError, match="language"):
        parse_spec(MINIMAL.replace('title = "t"', 'title = "t"\nlanguage = "de"'))
    with pytest.raises(SpecError, match="unknown effect 'nope'"):
        parse_spec(
            MINIMAL
            + """
[[business_case]]
name = "b"
title = "b"
price_level = "x"
[[business_case.line]]
kind = "effect"
name = "l"
effect = "nope"
years = [2020]
dkk_per_unit = 1.0
"""
        )
    with pytest.raises(SpecError, match="exactly one of dkk_per_unit"):
        parse_spec(
            MINIMAL
            + """
[[business_case]]
name = "b"
title = "b"
price_level = "x"
[[business_case.line]]
kind = "effect"
name = "l"
effect = "e"
years = [2020]
"""
        )
    with pytest.raises(SpecError, match="not valid TOML"):
        parse_spec("[study\n")
    with pytest.raises(SpecError, match="duplicate effect names"):
        parse_spec(MINIMAL + MINIMAL.split("[[effect]]")[1].join(["[[effect]]", ""]))


def test_unknown_design_and_bad_option_type():
    with pytest.raises(SpecError, match="unknown design 'stated_efect'"):
        parse_spec(MINIMAL.replace('design = "stated_effect"', 'design = "stated_efect"'))
    with pytest.raises(SpecError, match="option 'estimate'.*got 'one'"):
        parse_spec(MINIMAL.replace("estimate = 1.0", "estimate = 'one'"))
    with pytest.raises(SpecError, match="needs data"):
        parse_spec(
            '[study]\ntitle = "t"\n[[effect]]\nname = "e"\ndesign = "trend_forecast"\n'
            'outcome = "y"\ntime = "t"\nstart = 3\n'
        )
    with pytest.raises(SpecError, match="exactly one of path, snapshot and dataset"):
        parse_spec(MINIMAL + '[[data]]\nname = "d"\n')
    with pytest.raises(SpecError, match="unknown dataset"):
        parse_spec(MINIMAL + '[[data]]\nname = "d"\ndataset = "mtcars"\n')


def test_missing_files(tmp_path):
    with pytest.raises(SpecError, match="not found"):
        load_spec(tmp_path / "nope.toml")
    spec = tmp_path / "s.toml"
    spec.write_text(MINIMAL + '[[data]]\nname = "d"\npath = "missing.csv"\n')
    with pytest.raises(SpecError, match="does not exist"):
        load_spec(spec)


def test_cli_validate_and_errors(tmp_path, capsys):
    assert main(["validate", str(STUDIES / "faxe_fleksjob.toml")]) == 0
    assert "valid" in capsys.readouterr().out
    bad = tmp_path / "bad.toml"
    bad.write_text(MINIMAL.replace("estimate = 1.0", "estimate = 'one'"))
    assert main(["validate", str(bad)]) == 2
    assert "effect[0]" in capsys.readouterr().err


def test_translations_must_match_the_spec_and_a_copy():
    ok = MINIMAL + '[report]\nalso_in = ["da"]\n[report.translations.da]\n"t" = "titel"\n'
    assert parse_spec(ok).report.translations == {"da": {"t": "titel"}}
    with pytest.raises(SpecError, match="match no title"):
        parse_spec(ok.replace('"t" = "titel"', '"tt" = "titel"'))
    with pytest.raises(SpecError, match="not in report.also_in"):
        parse_spec(ok.replace('also_in = ["da"]', "also_in = []"))
