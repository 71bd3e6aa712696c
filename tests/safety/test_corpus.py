"""Issue 16, item 2: every malformed input in the corpus ends in a typed error,
through the Python API and through the command line (exit code 2, no traceback)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from evaluate.cli import BUG_NOTE, main
from evaluate.errors import EvaluateError
from evaluate.study import run_study
from tests.safety.corpus import CASES, by_category, monthly

IDS = [f"{c.category}: {c.name}" for c in CASES]


def test_the_corpus_covers_every_category():
    counts = by_category()
    assert set(counts) == {"data file", "values", "spec", "resources", "output"}
    assert sum(counts.values()) == len(CASES) >= 40


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_api_raises_the_typed_error(case, tmp_path):
    spec = case.build(tmp_path / "study")
    out = case.out(tmp_path / "study")
    with pytest.raises(EvaluateError) as info:
        run_study(spec, out)
    assert isinstance(info.value, case.error), repr(info.value)
    assert len(str(info.value)) > 30  # says what is wrong and how to fix it


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_cli_prints_the_error_and_exits_2(case, tmp_path, capsys):
    spec = case.build(tmp_path / "study")
    out = case.out(tmp_path / "study")
    assert main(["run", str(spec), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "Traceback" not in err


@pytest.mark.parametrize("name", ["UTF-16 CSV", "missing required option (outcome)"])
def test_cli_in_a_real_process(name, tmp_path):
    case = next(c for c in CASES if c.name == name)
    spec = case.build(tmp_path / "study")
    run = subprocess.run(
        [sys.executable, "-m", "evaluate.cli", "run", str(spec), "--out", str(tmp_path / "o")],
        capture_output=True,
        text=True,
        cwd=Path(__file__).parents[2],
    )
    assert run.returncode == 2, run.stderr
    assert "Traceback" not in run.stderr and run.stderr.startswith("error: ")


def test_a_genuine_bug_keeps_its_traceback_and_asks_for_a_report(tmp_path, capsys, monkeypatch):
    import evaluate.study

    def broken(*args, **kwargs):
        raise ZeroDivisionError("a bug")

    monkeypatch.setattr(evaluate.study, "_fit_effect", broken)
    spec = CASES[0].build(tmp_path / "study")
    # valid data: the spec and data checks pass, and the bug is met inside the fit
    (tmp_path / "study" / "monthly.csv").write_text(monthly().to_csv(index=False))
    assert main(["run", str(spec), "--out", str(tmp_path / "out")]) == 1
    err = capsys.readouterr().err
    assert "Traceback" in err and "ZeroDivisionError: a bug" in err and BUG_NOTE in err
