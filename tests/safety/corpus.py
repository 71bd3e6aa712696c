"""A corpus of malformed inputs a user can produce, one study folder per case.

Each case starts from a small valid study (a monthly trend forecast on a CSV,
a two-group DiD panel and a business case) and breaks one thing: the data file,
a value in it, the spec or the output folder.  ``CASES`` maps a category to its
cases; every case must end in an :class:`~evaluate.errors.EvaluateError` (the
subclass is named) and never in any other exception.
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from evaluate.errors import DataError, DesignError, EvaluateError, OutputError, SpecError


def monthly() -> pd.DataFrame:
    months = pd.period_range("2016-01", periods=36, freq="M").astype(str)
    rng = np.random.default_rng(1)
    recipients = 150 + 0.5 * np.arange(36) + rng.normal(0, 2, 36)
    return pd.DataFrame({"month": months, "recipients": recipients.round(1)})


def panel() -> pd.DataFrame:
    rng = np.random.default_rng(2)
    rows = []
    for unit in range(8):
        for year in range(2015, 2021):
            treated = unit < 4 and year >= 2018
            y = 10 + unit + 0.3 * (year - 2015) + 2.0 * treated + rng.normal(0, 0.5)
            rows.append((f"m{unit}", year, int(unit < 4), int(year >= 2018), y))
    return pd.DataFrame(rows, columns=["unit", "year", "group", "after", "y"])


BASE_SPEC = """
[study]
title = "Corpus study"
seed = 1

[[data]]
name = "monthly"
path = "monthly.csv"

[[data]]
name = "panel"
path = "panel.csv"

[[effect]]
name = "forecast"
design = "trend_forecast"
data = "monthly"
outcome = "recipients"
time = "month"
start = "2018-01"

[[effect]]
name = "did"
design = "did"
data = "panel"
outcome = "y"
unit = "unit"
time = "year"
treated = "group"
post = "after"

[[business_case]]
name = "case"
title = "Case"
price_level = "2024"
n_draws = 200

[[business_case.line]]
kind = "effect"
name = "Saving"
effect = "forecast"
years = [2018]
dkk_per_unit = 100000
"""


_DID = BASE_SPEC[BASE_SPEC.index('[[effect]]\nname = "did"') : BASE_SPEC.index("[[business_case]]")]
_OBSERVATIONAL = """[[effect]]
name = "observational"
design = "observational"
data = "panel"
outcome = "y"
treatment = "group"
covariates = ["year"]
method = "regression"
"""


@dataclass(frozen=True)
class Case:
    """One malformed input: ``build(folder)`` writes it and returns the spec path."""

    category: str
    name: str
    error: type[EvaluateError]
    build: Callable[[Path], Path]
    out: Callable[[Path], Path] = lambda folder: folder / "out"


def _study(
    folder: Path,
    *,
    spec: str = BASE_SPEC,
    monthly_bytes: bytes | None = None,
    panel_frame: pd.DataFrame | None = None,
    files: dict[str, bytes] | None = None,
) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    if monthly_bytes is None:
        monthly_bytes = monthly().to_csv(index=False).encode()
    (folder / "monthly.csv").write_bytes(monthly_bytes)
    (panel_frame if panel_frame is not None else panel()).to_csv(folder / "panel.csv", index=False)
    for name, content in (files or {}).items():
        (folder / name).write_bytes(content)
    (folder / "study.toml").write_text(spec, encoding="utf-8")
    return folder / "study.toml"


def _monthly(edit: Callable[[pd.DataFrame], pd.DataFrame]) -> Callable[[Path], Path]:
    return lambda folder: _study(folder, monthly_bytes=edit(monthly()).to_csv(index=False).encode())


def _panel(edit: Callable[[pd.DataFrame], pd.DataFrame]) -> Callable[[Path], Path]:
    return lambda folder: _study(folder, panel_frame=edit(panel()))


def _spec(old: str, new: str) -> Callable[[Path], Path]:
    assert old in BASE_SPEC, old
    return lambda folder: _study(folder, spec=BASE_SPEC.replace(old, new, 1))


def _data_file(name: str, content: bytes) -> Callable[[Path], Path]:
    spec = BASE_SPEC.replace('path = "monthly.csv"', f'path = "{name}"', 1)
    return lambda folder: _study(folder, spec=spec, files={name: content})


def _spec_bytes(content: bytes) -> Callable[[Path], Path]:
    def build(folder: Path) -> Path:
        spec = _study(folder)
        spec.write_bytes(content)
        return spec

    return build


def _outside(*, absolute: bool) -> Callable[[Path], Path]:
    """A data path that leaves the spec's folder (to a file that exists)."""

    def build(folder: Path) -> Path:
        outside = folder.parent / "outside.csv"
        outside.parent.mkdir(parents=True, exist_ok=True)
        outside.write_text(monthly().to_csv(index=False))
        target = str(outside.resolve()) if absolute else "../outside.csv"
        return _study(folder, spec=BASE_SPEC.replace('"monthly.csv"', json.dumps(target), 1))

    return build


def _extra_effect(option: str) -> Callable[[Path], Path]:
    effect = (
        '[[effect]]\nname = "stated"\ndesign = "stated_effect"\noutcome_unit = "persons"\n'
        f"{option}\n"
    )
    return lambda folder: _study(
        folder, spec=BASE_SPEC.replace("[[business_case]]", effect + "\n[[business_case]]")
    )


def _set(column: str, row: int, value: object) -> Callable[[pd.DataFrame], pd.DataFrame]:
    def edit(frame: pd.DataFrame) -> pd.DataFrame:
        frame = frame.astype({column: object if isinstance(value, str) else float})
        frame.loc[row, column] = value
        return frame

    return edit


def _parquet_bytes() -> bytes:
    buffer = io.BytesIO()
    monthly().to_parquet(buffer)
    return buffer.getvalue()


def _xlsx_bytes() -> bytes:
    buffer = io.BytesIO()
    monthly().to_excel(buffer, index=False)
    return buffer.getvalue()


_CSV = monthly().to_csv(index=False)
_FILES = [
    ("empty CSV (0 bytes)", b""),
    ("header-only CSV", b"month,recipients\n"),
    ("blank lines only", b"\n\n\n"),
    ("cp1252 CSV", ("m\u00e5ned,recipients\n" + _CSV.split("\n", 1)[1]).encode("cp1252")),
    ("UTF-16 CSV", _CSV.encode("utf-16")),
    ("binary garbage as CSV", bytes(range(256)) * 4),
    ("ragged CSV rows", (_CSV + "2019-01,1,2,3,4\n").encode()),
    ("unterminated quote", (_CSV + '2019-01,"12\n').encode()),
]


def _monthly_bytes(content: bytes) -> Callable[[Path], Path]:
    return lambda folder: _study(folder, monthly_bytes=content)


CASES: list[Case] = [
    *[Case("data file", name, DataError, _monthly_bytes(content)) for name, content in _FILES],
    Case(
        "data file",
        "corrupted Parquet",
        DataError,
        _data_file("m.parquet", b"PAR1" + b"\x00garbage" * 50 + b"PAR1"),
    ),
    Case(
        "data file",
        "truncated Parquet",
        DataError,
        _data_file("m.parquet", _parquet_bytes()[: len(_parquet_bytes()) // 2]),
    ),
    Case("data file", "not Parquet at all", DataError, _data_file("m.parquet", b"hello")),
    Case("data file", "corrupted Excel", DataError, _data_file("m.xlsx", b"PK\x03\x04broken")),
    Case(
        "data file",
        "truncated Excel",
        DataError,
        _data_file("m.xlsx", _xlsx_bytes()[: len(_xlsx_bytes()) // 2]),
    ),
    Case("data file", "unknown file type", DataError, _data_file("m.json", b"{}")),
    Case(
        "data file", "data path is a folder", SpecError, _spec('path = "monthly.csv"', 'path = "."')
    ),
    Case(
        "data file",
        "missing data file",
        SpecError,
        _spec('path = "monthly.csv"', 'path = "nope.csv"'),
    ),
    # values
    Case(
        "values",
        "outcome column missing",
        DataError,
        _spec('outcome = "recipients"', 'outcome = "recipient"'),
    ),
    Case("values", "text in a numeric column", DataError, _monthly(_set("recipients", 3, "n/a"))),
    Case("values", "1e308 in the outcome", DataError, _monthly(_set("recipients", 3, 1e308))),
    Case("values", "-1e308 in the outcome", DataError, _monthly(_set("recipients", 30, -1e308))),
    Case("values", "1e25 in the outcome", DataError, _monthly(_set("recipients", 3, 1e25))),
    Case("values", "inf in the outcome", DataError, _monthly(_set("recipients", 3, np.inf))),
    Case("values", "missing outcome", DataError, _monthly(_set("recipients", 3, np.nan))),
    Case("values", "garbage month", DataError, _monthly(_set("month", 3, "2016-13"))),
    Case("values", "1e308 in a panel outcome", DataError, _panel(_set("y", 5, 1e308))),
    Case("values", "inf in a panel outcome", DataError, _panel(_set("y", 5, -np.inf))),
    Case("values", "1e200 in a panel outcome", DataError, _panel(_set("y", 5, 1e200))),
    Case("values", "treated flag 0.5", DataError, _panel(_set("group", 0, 0.5))),
    Case(
        "values",
        "duplicate unit-year",
        DataError,
        _panel(lambda f: pd.concat([f, f.iloc[[0]]], ignore_index=True)),
    ),
    Case("values", "no treated units", DesignError, _panel(lambda f: f.assign(group=0))),
    Case(
        "values",
        "1e300 money per unit",
        SpecError,
        _spec("dkk_per_unit = 100000", "dkk_per_unit = 1e300"),
    ),
    Case(
        "values",
        "inf money per unit",
        SpecError,
        _spec("dkk_per_unit = 100000", "dkk_per_unit = inf"),
    ),
    Case(
        "values",
        "nan money per unit",
        SpecError,
        _spec("dkk_per_unit = 100000", "dkk_per_unit = nan"),
    ),
    Case("values", "stated effect = nan", EvaluateError, _extra_effect("estimate = nan")),
    Case("values", "stated change = inf", EvaluateError, _extra_effect("estimate = inf")),
    # spec
    Case(
        "spec",
        "missing required option (outcome)",
        SpecError,
        _spec('outcome = "recipients"\n', ""),
    ),
    Case("spec", "missing required option (start)", SpecError, _spec('start = "2018-01"\n', "")),
    Case(
        "spec", "wrong type: outcome = 3", SpecError, _spec('outcome = "recipients"', "outcome = 3")
    ),
    Case(
        "spec",
        "wrong type: n_draws = 'many'",
        SpecError,
        _spec("n_draws = 200", 'n_draws = "many"'),
    ),
    Case("spec", "wrong type: seed = 1.5", SpecError, _spec("seed = 1", "seed = 1.5")),
    Case(
        "spec",
        "out of range: alpha = 2",
        SpecError,
        _spec("[[data]]", "[report]\nalpha = 2\n\n[[data]]"),
    ),
    Case(
        "spec",
        "out of range: n_boot = 0",
        SpecError,
        _spec('post = "after"', 'post = "after"\ninference = "wild"\nn_boot = 0'),
    ),
    Case("spec", "out of range: n_draws = -5", SpecError, _spec("n_draws = 200", "n_draws = -5")),
    Case("spec", "unknown key", SpecError, _spec("seed = 1", "seed = 1\nsed = 2")),
    Case("spec", "not TOML", SpecError, lambda folder: _study(folder, spec="[study\ntitle=")),
    Case("spec", "empty spec", SpecError, lambda folder: _study(folder, spec="")),
    Case("spec", "unknown design", SpecError, _spec('design = "did"', 'design = "dif"')),
    Case(
        "spec",
        "spec not UTF-8",
        SpecError,
        _spec_bytes(BASE_SPEC.replace("Corpus", "K\u00f8ge").encode("cp1252")),
    ),
    Case("spec", "spec is a folder", SpecError, lambda folder: _study(folder).parent),
    Case("spec", "data path outside the spec folder", SpecError, _outside(absolute=False)),
    Case("spec", "absolute data path", SpecError, _outside(absolute=True)),
    # resources
    Case(
        "resources",
        "bootstrap = 1e9 draws",
        SpecError,
        _spec('post = "after"', 'post = "after"\ninference = "wild"\nn_boot = 1000000000'),
    ),
    Case("resources", "n_draws = 1e9", SpecError, _spec("n_draws = 200", "n_draws = 1000000000")),
    Case(
        "resources",
        "n_boot one over the limit",
        SpecError,
        _spec('post = "after"', 'post = "after"\ninference = "wild"\nn_boot = 100001'),
    ),
    Case(
        "resources",
        "bootstrap = 1e9 on an observational design",
        SpecError,
        _spec(_DID, _OBSERVATIONAL + "bootstrap = 1000000000\n"),
    ),
    Case(
        "output",
        "--out is a link to a file",
        OutputError,
        lambda folder: _study(folder),
        out=lambda folder: _link(folder / "out", _touch(folder / "target.txt")),
    ),
    # output
    Case(
        "output",
        "--out is a file",
        OutputError,
        lambda folder: _study(folder),
        out=lambda folder: _touch(folder / "out"),
    ),
    Case(
        "output",
        "--out below a file",
        OutputError,
        lambda folder: _study(folder),
        out=lambda folder: _touch(folder / "out") / "report",
    ),
]


def _touch(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("not a folder")
    return path


def _link(path: Path, target: Path) -> Path:
    path.symlink_to(target)
    return path


def _link(path: Path, target: Path) -> Path:
    path.symlink_to(target)
    return path


def by_category() -> dict[str, int]:
    counts: dict[str, int] = {}
    for case in CASES:
        counts[case.category] = counts.get(case.category, 0) + 1
    return counts
