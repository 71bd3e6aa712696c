"""The console command: version, designs, a starting spec, plain help."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from evaluate import __version__
from evaluate.cli import main
from evaluate.errors import DataError
from evaluate.estimators import DESIGNS
from evaluate.spec import load_spec
from evaluate.starter import detect_columns, new_spec


def test_version(capsys):
    with pytest.raises(SystemExit) as stop:
        main(["--version"])
    assert stop.value.code == 0
    assert capsys.readouterr().out.strip() == f"evaluate {__version__}"


def test_help_is_plain_text_with_examples(capsys):
    with pytest.raises(SystemExit):
        main(["--help"])
    out = capsys.readouterr().out
    assert "examples:" in out and "evaluate run" in out
    assert "``" not in out and ":func:" not in out


def test_designs_lists_every_design_with_its_required_options(capsys):
    assert main(["designs"]) == 0
    out = capsys.readouterr().out
    for name, design in DESIGNS.items():
        assert f"\n{name} " in f"\n{out}"
        required = [o.name for o in design.options() if o.default == "required"]
        for option in required:
            assert option in out


def _panel(tmp_path, treated_units=(0, 1), start=6):
    rng = np.random.default_rng(1)
    rows = [
        {
            "kommune": f"K{u:02d}",
            "month": f"2020-{t + 1:02d}",
            "antal": rng.normal(100, 5),
            "indsats": int(u in treated_units and t >= start),
        }
        for u in range(12)
        for t in range(12)
    ]
    path = tmp_path / "panel.csv"
    pd.DataFrame(rows).to_csv(path, index=False)
    return path


def test_new_panel_with_treatment_suggests_twfe_and_validates(tmp_path, capsys):
    data = _panel(tmp_path)
    out = tmp_path / "study.toml"
    assert main(["new", "--data", str(data), "--out", str(out)]) == 0
    spec = load_spec(out)
    effect = spec.effect[0]
    assert effect.design == "twfe"
    assert effect.options == {
        "outcome": "antal",
        "unit": "kommune",
        "time": "month",
        "treatment": "indsats",
    }
    assert spec.data[0].path == "panel.csv"
    assert "#" in out.read_text()  # every key explained


def test_new_monthly_panel_with_a_start_month_suggests_callaway_santanna(tmp_path, capsys):
    # Kommune data: months as text, each kommune's start month (blank: never started).
    months = pd.period_range("2022-01", periods=12, freq="M")
    rows = [
        {
            "kommune": f"K{u:02d}",
            "maaned": str(m),
            "start": {0: "2022-05", 1: "2022-08"}.get(u % 3, ""),
            "ledige": 10.0 + u + (u % 3 < 2) * (m >= months[4 + 3 * (u % 3)]),
        }
        for u in range(12)
        for m in months
    ]
    data = tmp_path / "monthly.csv"
    pd.DataFrame(rows).to_csv(data, index=False)
    out = tmp_path / "study.toml"
    assert main(["new", "--data", str(data), "--out", str(out)]) == 0
    effect = load_spec(out).effect[0]
    assert effect.design == "callaway_santanna"
    assert effect.options["group"] == "start" and effect.options["time"] == "maaned"
    assert main(["validate", str(out)]) == 0  # the starting spec runs as written


def test_new_single_series_marks_its_guesses(tmp_path):
    path = tmp_path / "series.csv"
    pd.DataFrame(
        {"month": [f"2019-{m:02d}" for m in range(1, 13)], "recipients": np.arange(12.0)}
    ).to_csv(path, index=False)
    text = new_spec(path, spec_dir=tmp_path)
    assert 'design = "trend_forecast"' in text
    assert "start = " in text and "GUESS - CHECK" in text


def test_new_trial_arms_and_danish_csv(tmp_path):
    path = tmp_path / "trial.csv"
    frame = pd.DataFrame(
        {
            "id": range(9),
            "arm": ["a", "b", "kontrol"] * 3,
            "beskaeftiget_andel": np.linspace(0, 1, 9),
        }
    )
    frame.to_csv(path, sep=";", decimal=",", index=False, encoding="cp1252")
    cols = detect_columns(pd.read_csv(path, sep=";", decimal=","))
    assert cols.arm == "arm"
    assert 'design = "trial"' in new_spec(path, spec_dir=tmp_path)


def test_new_refuses_to_overwrite_and_names_missing_files(tmp_path, capsys):
    data = _panel(tmp_path)
    out = tmp_path / "study.toml"
    out.write_text("mine")
    assert main(["new", "--data", str(data), "--out", str(out)]) == 2
    assert "exists" in capsys.readouterr().err
    assert out.read_text() == "mine"
    with pytest.raises(DataError, match="no such file"):
        new_spec(tmp_path / "nothing.csv")


def test_help_does_not_import_the_statistics_stack():
    code = (
        "import sys\nfrom evaluate.cli import main\n"
        "try:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
        "print(sorted(m for m in ('scipy', 'statsmodels', 'matplotlib', 'numba', 'pandas')"
        " if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip().splitlines()[-1] == "[]"


def _danish_export(tmp_path: Path) -> Path:
    """A Danish Excel CSV export: semicolons, decimal comma, thousands point, cp1252."""
    lines = ["kommune;måned;indsats;fuldtidspersoner"]
    for k, name in enumerate(["Brøndby", "Høje-Taastrup", "Faxe", "Solrød"]):
        for m in range(1, 13):
            treated = int(k == 0 and m >= 7)
            value = f"{1 + k}.{100 + 7 * m:03d},{m % 10}"  # 1.107,1 = 1107.1
            lines.append(f"{name};2020-{m:02d};{treated};{value}")
    path = tmp_path / "kommuner.csv"
    path.write_bytes("\r\n".join(lines).encode("cp1252"))
    return path


def test_new_reads_a_danish_export_as_the_study_will(tmp_path, capsys):
    data = _danish_export(tmp_path)
    out = tmp_path / "study.toml"
    assert main(["new", "--data", str(data), "--out", str(out)]) == 0
    text = out.read_text("utf-8")
    spec = load_spec(out)
    assert spec.effect[0].design == "twfe"
    assert spec.effect[0].options["outcome"] == "fuldtidspersoner"  # 1.107,1 is a number
    assert spec.effect[0].options["unit"] == "kommune"
    assert "decimal comma" in text and "separator ';'" in text  # what was detected
    capsys.readouterr()
    assert main(["validate", str(out)]) == 0, capsys.readouterr().err


def test_new_reads_excel_and_parquet(tmp_path):
    frame = pd.read_csv(_panel(tmp_path))
    frame.to_excel(tmp_path / "panel.xlsx", index=False)
    frame.to_parquet(tmp_path / "panel.parquet")
    for name in ("panel.xlsx", "panel.parquet"):
        assert 'design = "twfe"' in new_spec(tmp_path / name, spec_dir=tmp_path)


def test_new_gives_the_readers_typed_errors(tmp_path):
    (tmp_path / "broken.xlsx").write_bytes(b"not a workbook")
    (tmp_path / "empty.csv").write_bytes(b"")
    (tmp_path / "table.json").write_text("{}")
    with pytest.raises(DataError, match=r"broken\.xlsx: is not a readable XLSX file"):
        new_spec(tmp_path / "broken.xlsx")
    with pytest.raises(DataError, match=r"empty\.csv: .*empty"):
        new_spec(tmp_path / "empty.csv")
    with pytest.raises(DataError, match=r"table\.json: cannot read '\.json' files"):
        new_spec(tmp_path / "table.json")
