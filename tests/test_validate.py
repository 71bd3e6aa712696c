"""Issue 13 items 2 and 5: a Danish kommune panel runs from a spec, and `evaluate
validate` loads the data and fails -- naming the culprit -- on everything that would
otherwise fail only at run time."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from evaluate.cli import main
from evaluate.errors import DataError, DesignError
from evaluate.study import run_study

KOMMUNER = [
    "Københavns Kommune",
    751,
    "Odense",
    "Aalborg",
    "Esbjerg",
    "Randers",
    "Kolding",
    "Horsens",
    "Vejle",
    "Roskilde",
]

SPEC = """
[study]
title = "Indsats i tre kommuner"
language = "da"
seed = 1

[[data]]
name = "panel"
path = "kommuner.csv"
kommune = "kommune"
simulated = true

[[effect]]
name = "twfe"
design = "twfe"
data = "panel"
outcome = "fuldtidspersoner"
unit = "kommune"
time = "måned"
treatment = "indsats"

[[effect]]
name = "synth"
design = "synthetic_control"
data = "panel"
outcome = "fuldtidspersoner"
unit = "kommune"
time = "måned"
treated_unit = 101
start = "2021M07"

[[business_case]]
name = "case"
title = "Tre kommuner"
price_level = "2024"

[[business_case.line]]
kind = "effect"
name = "Ledighedsydelse"
effect = "twfe"
years = [2022]
rate = { benefit = "ledighedsydelse", year = 2024 }
"""


def _panel(treated=("Københavns Kommune", 751, "Odense")) -> pd.DataFrame:
    rng = np.random.default_rng(7)
    months = pd.period_range("2019-01", periods=48, freq="M")
    rows = []
    for unit in KOMMUNER:
        level = rng.normal(2000, 200)
        for t, month in enumerate(months):
            on = int(unit in treated and t >= 30)
            y = level + 5 * t + rng.normal(0, 20) - 150 * on
            rows.append((unit, f"{month.year}M{month.month:02d}", round(y, 2), on))
    return pd.DataFrame(rows, columns=["kommune", "måned", "fuldtidspersoner", "indsats"])


def _study(folder, spec: str = SPEC, frame: pd.DataFrame | None = None):
    folder.mkdir(parents=True, exist_ok=True)
    frame = _panel() if frame is None else frame
    # a Danish Excel export: semicolons, decimal comma, Windows-1252
    frame.to_csv(folder / "kommuner.csv", sep=";", decimal=",", index=False, encoding="cp1252")
    path = folder / "study.toml"
    path.write_text(spec, encoding="utf-8")
    return path


def _validate(path, capsys) -> tuple[int, str]:
    code = main(["validate", str(path)])
    captured = capsys.readouterr()
    return code, captured.out + captured.err


def test_a_danish_csv_validates_and_says_what_it_detected(tmp_path, capsys):
    code, said = _validate(_study(tmp_path), capsys)
    assert code == 0, said
    assert "separator ';', decimal comma, encoding cp1252 (detected)" in said


@pytest.mark.filterwarnings("ignore::UserWarning")
def test_a_danish_csv_runs_from_a_spec(tmp_path):
    spec = SPEC.split("[[business_case]]")[0]  # twfe is priced once item 3 lands
    result = run_study(_study(tmp_path, spec), tmp_path / "out")
    twfe, synth = result.effects["twfe"], result.effects["synth"]
    assert -200 < twfe.estimate < -100  # simulated: -150 for three of ten kommuner
    assert synth.treated_unit == "København"  # 101 and "Københavns Kommune" are one unit
    assert result.data["panel"].frame["måned"].dtype == pd.PeriodDtype("M")
    md = (tmp_path / "out" / "report.md").read_text(encoding="utf-8")
    assert "læst med skilletegn ';', decimalkomma, tegnsæt cp1252 (fundet i filen)" in md


@pytest.mark.parametrize(
    ("old", "new", "said"),
    [
        # a column typo names the option, the column and the close match
        (
            'outcome = "fuldtidspersoner"\nunit = "kommune"\ntime = "måned"\ntreated_unit',
            'outcome = "fuldtidsperson"\nunit = "kommune"\ntime = "måned"\ntreated_unit',
            "outcome = 'fuldtidsperson': no such column. Did you mean 'fuldtidspersoner'?",
        ),
        (
            'time = "måned"\ntreatment',
            'time = "maaned"\ntreatment',
            "time = 'maaned': no such column. Did you mean 'måned'?",
        ),
        # impossible dates and dates outside the data
        ('start = "2021M07"', 'start = "2021-02-30"', "start = '2021-02-30' is not a period"),
        ('start = "2021M07"', 'start = "2019-13"', "month 13 does not exist"),
        ('start = "2021M07"', 'start = "2030M01"', "start = '2030M01' must lie after"),
        (
            'start = "2021M07"',
            'start = "2021K3"',
            "is a quarter, but the data's periods are months",
        ),
        # rates: benefit and year must be in the bundled table
        (
            'benefit = "ledighedsydelse"',
            'benefit = "ledighedsydelsen"',
            "benefit 'ledighedsydelsen' is not in the bundled rate table; did you mean "
            "'ledighedsydelse'",
        ),
        ("year = 2024 }", "year = 2013 }", "'ledighedsydelse' has no rate for 2013"),
        # a category the benefit does not have names the ones it has
        (
            "year = 2024 }",
            'year = 2024, category = "voksne" }',
            "'ledighedsydelse' has no category 'voksne'; it has",
        ),
        # units must exist (after kommune names are resolved)
        (
            "treated_unit = 101",
            'treated_unit = "Københaven"',
            "treated_unit: value 'Københaven' is not one of the 98 kommuner; did you mean "
            "'København'?",
        ),
        (
            "treated_unit = 101",
            'treated_unit = "Faxe"',
            "treated_unit = 'Faxe' is not a value of column 'kommune'",
        ),
        # a required option: said by the spec, and one the data make required
        (
            "treated_unit = 101\n",
            "",
            "needs option(s) ['treated_unit']; add treated_unit = ... to this [[effect]] "
            "(in effect 'synth')",
        ),
        ('treatment = "indsats"\n', "", "design 'twfe' needs option(s) ['treatment']"),
    ],
)
def test_validate_names_what_would_fail_at_run_time(tmp_path, capsys, old, new, said):
    assert old in SPEC
    code, output = _validate(_study(tmp_path, SPEC.replace(old, new, 1)), capsys)
    assert code == 2
    assert said in output, output
    assert "'synth'" in output or "'twfe'" in output or "line 'Ledighedsydelse'" in output


def test_a_missing_option_the_data_make_required(tmp_path, capsys):
    spec = SPEC.replace('design = "twfe"', 'design = "did"').replace(
        'treatment = "indsats"', 'treated = "indsats"'
    )
    code, output = _validate(_study(tmp_path, spec), capsys)
    assert code == 2
    assert "effect 'twfe' (data 'panel'): design 'did' needs option post" in output
    assert "'måned' has 48 periods, not 2" in output


def test_a_bad_period_in_the_data_names_column_and_value(tmp_path, capsys):
    frame = _panel()
    frame.loc[5, "måned"] = "03/2019"
    code, output = _validate(_study(tmp_path, frame=frame), capsys)
    assert code == 2
    assert "Data 'panel'" in output and "Column 'måned': '03/2019' is not a period" in output


def test_text_in_a_numeric_column_says_which_option_reads_it(tmp_path, capsys):
    spec = SPEC.replace('kommune = "kommune"\n', 'kommune = "kommune"\ndecimal = "."\n')
    code, output = _validate(_study(tmp_path, spec), capsys)
    assert code == 2
    assert "outcome = 'fuldtidspersoner' must be a numeric column" in output
    assert 'has a decimal comma: set decimal = ","' in output


def test_a_staggered_design_wants_cohorts_on_the_calendar_of_the_periods(tmp_path, capsys):
    # monthly periods ("2019M01") are numbered by the design; a 0/1 column is no cohort
    spec = SPEC.replace('design = "twfe"', 'design = "imputation_did"').replace(
        'treatment = "indsats"', 'cohort = "indsats"'
    )
    code, output = _validate(_study(tmp_path, spec), capsys)
    assert code == 2
    assert "Column 'indsats' holds the number 1, but 'måned' holds monthly periods" in output


def test_every_problem_is_listed_at_once(tmp_path, capsys):
    spec = SPEC.replace('outcome = "fuldtidspersoner"\nunit', 'outcome = "y"\nunit', 1)
    spec = spec.replace("year = 2024 }", "year = 2013 }")
    code, output = _validate(_study(tmp_path, spec), capsys)
    assert code == 2 and "2 problems" in output
    assert "outcome = 'y'" in output and "no rate for 2013" in output


def test_a_run_time_error_names_the_effect_and_the_data(tmp_path):
    spec = SPEC.split("[[business_case]]")[0]
    frame = _panel(treated=())  # passes validation; no treated cell is found only in the fit
    with pytest.raises((DesignError, DataError)) as info:
        run_study(_study(tmp_path, spec, frame), tmp_path / "out")
    assert str(info.value).startswith("Effect 'twfe' (twfe, data 'panel'): ")


def test_monthly_periods_give_readable_axes():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from evaluate.plotting import plot_estimates

    months = pd.period_range("2019-01", periods=48, freq="M")
    frame = pd.DataFrame(
        {"estimate": np.arange(48.0), "ci_low": np.arange(48.0) - 1, "ci_high": np.arange(48.0) + 1}
    )
    text = plot_estimates(frame.assign(period=months.astype(str)), unit="persons")
    shown = [t.get_text() for t in text.get_xticklabels()]
    assert shown == [
        "2019-01",
        "2019-07",
        "2020-01",
        "2020-07",
        "2021-01",
        "2021-07",
        "2022-01",
        "2022-07",
    ]
    dates = plot_estimates(frame.assign(period=months), unit="persons")
    dates.figure.canvas.draw()
    assert len([t for t in dates.get_xticklabels() if t.get_text()]) <= 12  # a date axis
    plt.close("all")
