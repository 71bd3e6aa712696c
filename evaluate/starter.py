"""A first study spec from a data file: ``evaluate new --data FILE``.

The starter reads the file, guesses what each column is (the period, the unit,
a 0/1 treatment, a cohort, the outcome) from its name and its values, picks the
design those columns support, and writes a commented TOML spec that
``evaluate validate`` accepts.  What it cannot know (which unit was treated,
when the intervention started) it fills with a clearly marked guess that the
comments ask the user to check.  Nothing here fits a model.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from evaluate.data.readers import Table, read_table
from evaluate.errors import DataError

#: words that name a column's role, in English and Danish; a column name matches
#: when one of its parts (split at ``_``, ``.``, ``-`` and spaces) is such a word
_ROLE_WORDS = {
    "time": "month months maaned måned period periode time tid year years år aar date dato "
    "week uge quarter kvartal",
    "unit": "kommune municipality unit enhed id region state county store person cpr",
    "treatment": "treat treated treatment behandlet indsats intervention post d",
    "cohort": "first cohort kohorte group gruppe start adoption",
    "arm": "arm arms gruppe group condition treatment",
    "outcome": "outcome y antal count recipients modtagere fuldtidspersoner personer sale "
    "sales emp employment fte earnings income wage rate andel share",
}


def _role(name: str, role: str) -> bool:
    parts = re.split(r"[_.\- ]+", name.lower())
    return any(part in _ROLE_WORDS[role].split() for part in parts)


_PERIOD_TEXT = re.compile(r"^\d{4}(-\d{2}|M\d{2}|K\d|Q\d|U\d{2}|W\d{2})?$")


@dataclass(frozen=True)
class Columns:
    """What the starter took each column to be (``None``: not found)."""

    time: str | None
    unit: str | None
    treatment: str | None
    cohort: str | None
    outcome: str | None
    arm: str | None = None  # a few named groups: arms of a trial
    outcome_guessed: bool = False  # no column name said "outcome": the first numeric one


def _looks_like_period(values: pd.Series) -> bool:
    sample = values.dropna().astype(str).head(200)
    if sample.empty:
        return False
    if sample.str.match(_PERIOD_TEXT).all():
        return True
    parsed = pd.to_datetime(sample, errors="coerce", format="mixed")
    return bool(parsed.notna().all())


def _is_binary(values: pd.Series) -> bool:
    distinct = set(values.dropna().unique().tolist())
    return bool(distinct) and distinct <= {0, 1}


def detect_columns(frame: pd.DataFrame) -> Columns:
    """Guess the role of each column from its name first, then from its values."""
    names = [str(c) for c in frame.columns]
    numeric = [c for c in names if pd.api.types.is_numeric_dtype(frame[c])]

    def first(candidates):
        return next(iter(candidates), None)

    time = first(c for c in names if _role(c, "time") and not _role(c, "cohort"))
    time = time or first(c for c in names if _looks_like_period(frame[c]))
    unit = first(c for c in names if c != time and _role(c, "unit"))
    unit = unit or first(
        c
        for c in names
        if c != time
        and not pd.api.types.is_numeric_dtype(frame[c])
        and frame[c].nunique() < len(frame) / 2
    )
    if unit is None and time is not None:  # an integer id that makes unit x period unique
        unit = first(
            c
            for c in numeric
            if c != time
            and pd.api.types.is_integer_dtype(frame[c])
            and frame[c].nunique() < len(frame) / 2
            and not frame.duplicated([c, time]).any()
        )
    taken = {time, unit}
    arm = first(
        c
        for c in names
        if c not in taken
        and not pd.api.types.is_numeric_dtype(frame[c])
        and _role(c, "arm")
        and 2 <= frame[c].nunique() <= 6
    )
    taken.add(arm)
    treatment = first(
        c for c in names if c not in taken and _is_binary(frame[c]) and _role(c, "treatment")
    ) or first(c for c in names if c not in taken and _is_binary(frame[c]))
    taken.add(treatment)
    cohort = first(  # first treated period: a number, or a period like the time column's
        c
        for c in names
        if c not in taken
        and _role(c, "cohort")
        and not _is_binary(frame[c])
        and (c in numeric or (time is not None and _looks_like_period(frame[c])))
    )
    taken.add(cohort)
    free = [c for c in numeric if c not in taken and not _is_binary(frame[c])]
    named = first(c for c in free if _role(c, "outcome"))
    outcome = named or first(free)
    return Columns(time, unit, treatment, cohort, outcome, arm, outcome_guessed=named is None)


def _read(path: Path) -> Table:
    """The file read as a study will read it (:func:`evaluate.data.read_table`): the
    same formats, the same detection of a Danish export, the same typed errors."""
    try:
        return read_table(path)
    except DataError as err:
        raise DataError(f"{path}: {str(err).rstrip('.')}.") from None


def _toml(value) -> str:
    """A TOML literal for a string, number or boolean (JSON strings are TOML strings)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    return json.dumps(str(value), ensure_ascii=False)


def _first_treated(frame: pd.DataFrame, cols: Columns):
    """The first unit with treatment 1 and its first treated period (a guess to check)."""
    if cols.treatment is None or cols.unit is None or cols.time is None:
        return None, None
    treated = frame[frame[cols.treatment] == 1]
    if treated.empty:
        return None, None
    row = treated.sort_values([cols.time]).iloc[0]
    return row[cols.unit], row[cols.time]


def _plain(value):
    return value.item() if hasattr(value, "item") else value


def suggest(frame: pd.DataFrame, cols: Columns) -> tuple[str, dict, list[str]]:
    """The design the columns support, its options, and what the user must check."""
    check: list[str] = ["outcome"] if cols.outcome_guessed else []
    if cols.outcome is None:
        raise DataError(
            "No numeric outcome column found; evaluate new needs at least one numeric column."
        )
    if cols.unit and cols.time and cols.cohort:
        options = {
            "outcome": cols.outcome,
            "unit": cols.unit,
            "time": cols.time,
            "group": cols.cohort,
        }
        return "callaway_santanna", options, check
    if cols.unit and cols.time and cols.treatment:
        options = {
            "outcome": cols.outcome,
            "unit": cols.unit,
            "time": cols.time,
            "treatment": cols.treatment,
        }
        return "twfe", options, check
    if cols.unit and cols.time:
        units = frame[cols.unit].dropna().unique()
        periods = sorted(frame[cols.time].dropna().unique())
        check += ["treated_unit", "start"]
        options = {
            "outcome": cols.outcome,
            "unit": cols.unit,
            "time": cols.time,
            "treated_unit": _plain(units[0]),
            "start": _plain(periods[len(periods) // 2]),
        }
        return "synthetic_control", options, check
    if cols.time:
        periods = sorted(frame[cols.time].dropna().unique())
        check.append("start")
        options = {
            "outcome": cols.outcome,
            "time": cols.time,
            "start": _plain(periods[len(periods) // 2]),
        }
        return "trend_forecast", options, check
    if cols.arm:
        return "trial", {"outcome": cols.outcome, "arm": cols.arm}, check
    if cols.treatment:
        return "observational", {"outcome": cols.outcome, "treatment": cols.treatment}, check
    raise DataError(
        "Found neither a period column nor a 0/1 treatment column, so no design fits. "
        "Name the period column e.g. 'month' or 'year' and a treatment column 'treated'."
    )


_COMMENTS = {
    "outcome": "the column measured (numeric)",
    "unit": "the column that names each unit (kommune, person, ...)",
    "time": "the period column",
    "treatment": "1 for a unit in a period after its start, else 0",
    "group": "the first treated period of each unit (0 or blank = never treated)",
    "treated_unit": "GUESS - CHECK: the unit that received the intervention",
    "start": "GUESS - CHECK: the first period with the intervention",
    "arm": 'the column naming each person\'s arm; add control = "..." to name the control',
}


def new_spec(data: str | Path, *, spec_dir: str | Path = ".") -> str:
    """A commented study spec for the data file ``data``, as TOML text.

    ``spec_dir`` is where the spec will be saved: the data path is written
    relative to it, as specs read data beside themselves.
    """
    path = Path(data)
    if not path.is_file():
        raise DataError(f"{path}: no such file.")
    table = _read(path)
    frame = table.frame
    if frame.empty:
        raise DataError(f"{path}: the file has no rows.")
    cols = detect_columns(frame)
    design, options, check = suggest(frame, cols)
    try:
        rel = Path(os.path.relpath(path.resolve(), Path(spec_dir).resolve())).as_posix()
    except ValueError:  # Windows: the data and the spec are on different drives
        rel = path.resolve().as_posix()
    where = "relative to this spec"
    if rel.startswith("../") or Path(rel).is_absolute():
        where = "outside the spec's folder: move the file beside the spec"
    lines = [
        f"# A first study spec for {path.name}, written by `evaluate new`.",
        f"# {len(frame)} rows; columns: {', '.join(map(str, frame.columns))}.",
        "# Check every line marked GUESS, then: evaluate validate THIS.toml",
        "# and: evaluate run THIS.toml --out reports/NAME",
        "",
        "[study]",
        f"title = {_toml('Evaluation of ' + path.stem)}  # what the report is called",
        'language = "en"  # "da" for a Danish report',
        "seed = 1  # fixes every random draw, so the report reproduces byte for byte",
        "",
        "[[data]]",
        'name = "main"  # effects refer to the data by this name',
        f"path = {_toml(rel)}  # {where}",
        *([f"# {table.described()}"] if table.read_as else []),
        'source = ""  # where the data come from: printed in the report',
        "",
        "[[effect]]",
        'name = "effect"  # money lines refer to the effect by this name',
        f"design = {_toml(design)}  # `evaluate designs` lists every design and its options",
        'label = "Effect"  # what the report calls it',
        'data = "main"',
    ]
    for key, value in options.items():
        comment = _COMMENTS.get(key, "")
        if key in check and not comment.startswith("GUESS"):
            comment = f"GUESS - CHECK: {comment}"
        lines.append(f"{key} = {_toml(value)}  # {comment}".rstrip(" #"))
    lines += [
        "",
        "[report]",
        'formats = ["html", "md", "xlsx"]',
        "",
    ]
    return "\n".join(lines)


__all__ = ["Columns", "detect_columns", "new_spec", "suggest"]
