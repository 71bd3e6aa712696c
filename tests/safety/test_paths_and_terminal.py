"""Issue 16, item 7: data paths stay beside the spec unless allowed, the terminal
sees no control characters, and figure file names cannot collide."""

from __future__ import annotations

import json

import pytest

from evaluate.cli import main, terminal_text
from evaluate.errors import SpecError
from evaluate.report import _slug
from evaluate.spec import load_spec
from tests.safety.corpus import BASE_SPEC, _study, monthly


def _outside_study(tmp_path, target: str, extra: str = ""):
    (tmp_path / "elsewhere.csv").write_text(monthly().to_csv(index=False))
    spec = BASE_SPEC.replace('path = "monthly.csv"', f"path = {json.dumps(target)}{extra}", 1)
    return _study(tmp_path / "study", spec=spec)


@pytest.mark.parametrize("how", ["relative", "absolute"])
def test_a_data_path_outside_the_spec_folder_is_refused(tmp_path, how):
    target = str(tmp_path / "elsewhere.csv") if how == "absolute" else "../elsewhere.csv"
    spec = _outside_study(tmp_path, target)
    with pytest.raises(SpecError, match="outside the spec's folder.*--allow-outside-data"):
        load_spec(spec)
    assert main(["validate", str(spec)]) == 2
    assert main(["validate", str(spec), "--allow-outside-data"]) == 0
    assert load_spec(spec, allow_outside_data=True)


def test_a_link_inside_the_folder_to_a_file_inside_is_fine(tmp_path):
    spec = _study(tmp_path / "study")
    (tmp_path / "study" / "link.csv").symlink_to(tmp_path / "study" / "monthly.csv")
    spec.write_text(BASE_SPEC.replace('"monthly.csv"', '"link.csv"', 1), encoding="utf-8")
    assert load_spec(spec)


def test_a_link_that_leaves_the_folder_is_outside(tmp_path):
    spec = _study(tmp_path / "study")
    (tmp_path / "elsewhere.csv").write_text(monthly().to_csv(index=False))
    (tmp_path / "study" / "sneaky.csv").symlink_to(tmp_path / "elsewhere.csv")
    spec.write_text(BASE_SPEC.replace('"monthly.csv"', '"sneaky.csv"', 1), encoding="utf-8")
    with pytest.raises(SpecError, match="outside the spec's folder"):
        load_spec(spec)


def test_trusted_path_allows_one_entry_deliberately(tmp_path):
    spec = _outside_study(tmp_path, "../elsewhere.csv", "\ntrusted_path = true")
    assert load_spec(spec).data[0].trusted_path


def test_the_terminal_sees_no_control_characters(tmp_path, capsys):
    evil = "Title \x1b]0;pwned\x07\x1b[2J\x1b[31mred\x9b1m\r\x08 end"
    assert terminal_text(evil) == "Title ]0;pwned[2J[31mred1m end"
    spec = BASE_SPEC.replace('title = "Case"', f"title = {json.dumps(evil)}", 1)
    path = _study(tmp_path / "study", spec=spec)
    assert main(["run", str(path), "--out", str(tmp_path / "out")]) == 0
    printed = capsys.readouterr()
    for stream in (printed.out, printed.err):
        assert not any(ord(c) < 32 and c not in "\n\t" or 127 <= ord(c) < 160 for c in stream)
    assert "Title ]0;pwned" in printed.out


def test_errors_reach_the_terminal_without_control_characters(tmp_path, capsys):
    bad = BASE_SPEC.replace('design = "did"', 'design = "\\u001b[2Jdid"')  # a TOML escape
    spec = _study(tmp_path / "study", spec=bad)
    assert main(["validate", str(spec)]) == 2
    err = capsys.readouterr().err
    assert "unknown design" in err and "\x1b" not in err


@pytest.mark.parametrize(
    "keys",
    [
        ["effekt_ø", "effekt_å", "effekt_æ", "effekt"],
        ["a-b", "a_b", "a b", "a.b", "a--b"],
        ["Effect", "effect", "EFFECT"],
        ["x.2d.", "x-", "x_"],
    ],
)
def test_figure_names_are_unique_by_construction(keys):
    names = [_slug(k) for k in keys]
    assert len(set(names)) == len(names)
    assert len({n.lower() for n in names}) == len(names)  # case-insensitive file systems too
    assert all(n and "/" not in n for n in names)


def test_simple_keys_keep_their_figure_names():
    assert _slug("ledighedsydelse_simulated") == "ledighedsydelse-simulated"
