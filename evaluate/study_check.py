"""A study's data loaded, and the whole spec checked against it, before anything is fitted.

``evaluate validate SPEC`` and ``evaluate run SPEC`` both start here:
:func:`load_data` reads every ``[[data]]`` entry (:func:`evaluate.data.read_table`),
reads its period columns once (:func:`evaluate.data.parse_periods`) and its kommune
column (:func:`evaluate.data.resolve_kommuner`); :func:`check_study` then checks
every effect against its data -- each column it names exists (a typo is shown
with the closest column), has the type the design needs, each period option
(``start``, ``end``, windows) is a real period inside the data, each unit it names
is in the data -- and every rate a business case asks for is in the bundled
table.  All problems are reported at once.  What passes fails only inside a fit.

This module imports pandas and the data layer, not the estimators or money, so
``evaluate validate`` stays quick.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from evaluate._rate_keys import ALIASES, DEFAULT_CATEGORY, benefit_key
from evaluate.data.kommuner import _lookup, _unknown, resolve_kommuner
from evaluate.data.periods import parse_period, parse_periods, period_label
from evaluate.data.readers import read_table
from evaluate.errors import DataError, EvaluateError, SpecError
from evaluate.estimators.did._calendar import calendar_frame, is_calendar
from evaluate.spec import DataSource, EffectLineSpec, EffectSpec, StudySpec
from evaluate.study_result import LoadedData
from evaluate.study_snapshot import read_snapshot_entry, with_treatment

_COLUMN_OPTIONS = frozenset(
    "outcome time group cohort treatment treated post covariates cluster event arm n sum_y "
    "sum_y2 total_by exposure comparison numerator denominator match_on predictors blocks "
    "placebo_outcomes pseudo_treatment".split()
)
"""Options whose value names a column of the effect's data (``unit`` too, where the
design requires it: there it is the panel identifier)."""
_NOT_COLUMNS = frozenset({("observational", "match_on")})
"""(design, option) pairs where an option above is a method, not a column."""
_NUMERIC = frozenset(
    "outcome treatment treated post group cohort event n sum_y sum_y2 total_by exposure "
    "numerator denominator".split()
)
_PERIOD_OPTIONS = ("start", "end", "placebo_time")
_WINDOW_OPTIONS = ("window", "predictor_window", "fit_window")
_UNIT_OPTIONS = ("treated_unit", "focal")
_DURATION_TIME = frozenset({"duration"})
"""Designs whose ``time`` is a duration (numbers), not a period."""
_WHOLE_PERIODS = frozenset({"callaway_santanna", "event_study", "imputation_did"})
"""Designs that count periods with whole numbers (cohort minus period)."""


# --- loading ------------------------------------------------------------------------


def _period_columns(source: DataSource, spec: StudySpec) -> list[str]:
    columns = list(source.periods)
    for effect in spec.effect:
        time = effect.options.get("time")
        if effect.data == source.name and isinstance(time, str) and time not in columns:
            if effect.design not in _DURATION_TIME:
                columns.append(time)
    return columns


def _read(source: DataSource, base: Path) -> tuple[pd.DataFrame, str, tuple[str, ...]]:
    if source.dataset is not None:
        import hashlib

        import evaluate.datasets as bundled

        frame = getattr(bundled, source.dataset)()
        return frame, hashlib.sha256(bundled.raw_bytes(source.dataset)).hexdigest(), ()
    # read_table turns every parser failure into a DataError naming the file's problem
    table = read_table(base / source.path, **source.read_options())
    return table.frame, table.sha256, table.read_as


def load_one(source: DataSource, base: Path, spec: StudySpec) -> LoadedData:
    """One ``[[data]]`` entry read, its periods and kommuner parsed; errors name the entry."""
    where = f"Data {source.name!r}" + (f" ({base / source.path})" if source.path else "")
    try:
        if source.snapshot is not None:
            snap = read_snapshot_entry(source, base)
            source, frame, sha256, read_as = snap.source, snap.frame, snap.sha256, ()
        else:
            frame, sha256, read_as = _read(source, base)
        if frame.empty:
            columns = ", ".join(map(str, frame.columns)) or "none"
            raise DataError(f"has a header ({columns}) but no rows")
        for column in _period_columns(source, spec):
            if column in frame.columns:
                frame = frame.assign(**{column: parse_periods(frame[column], column)})
            elif column in source.periods:
                raise DataError(_no_column(column, frame, "periods"))
        if source.kommune is not None:
            if source.kommune not in frame.columns:
                raise DataError(_no_column(source.kommune, frame, "kommune"))
            frame = frame.assign(
                **{source.kommune: resolve_kommuner(frame[source.kommune], source.kommune)}
            )
        frame = with_treatment(source, frame)
    except DataError as err:
        raise DataError(f"{where}: {str(err).rstrip('.')}.") from None
    return LoadedData(source, frame, sha256, len(frame), read_as)


def load_data(spec: StudySpec, base: Path) -> dict[str, LoadedData]:
    """Every ``[[data]]`` entry of ``spec`` (paths relative to ``base``), read and parsed."""
    return {source.name: load_one(source, base, spec) for source in spec.data}


# --- options made ready for the design -------------------------------------------------


def _kommune_value(value: Any, option: str) -> Any:
    if isinstance(value, list | tuple):
        return type(value)(_kommune_value(v, option) for v in value)
    found = _lookup(value)
    if found is None:
        raise SpecError(f"option {option}: " + _unknown(value, "value"))
    return found.name


def _as_period(value: Any, time: pd.Series, option: str) -> Any:
    """``value`` in the kind of the time column: a Period, or a whole number (a list
    or a unit-to-start mapping, as several treated units' starts, element by element)."""
    if isinstance(value, list | tuple):
        return type(value)(_as_period(v, time, option) for v in value)
    if isinstance(value, dict):
        return {k: _as_period(v, time, option) for k, v in value.items()}
    if isinstance(time.dtype, pd.PeriodDtype):
        freq = time.dropna().iloc[0].freqstr if time.notna().any() else None
        return parse_period(value, freq, what=f"option {option} =")
    if pd.api.types.is_numeric_dtype(time):
        if isinstance(value, bool) or not isinstance(value, int | float) or value != int(value):
            example = time.dropna().iloc[0] if time.notna().any() else 2020
            raise SpecError(
                f"option {option} = {value!r}, but {time.name!r} holds whole-number periods; "
                f"write it as a number like {_plain(example)}"
            )
        return int(value)
    return value


def _plain(value: Any) -> Any:
    return value.item() if hasattr(value, "item") else value


def effect_options(effect: EffectSpec, loaded: LoadedData | None) -> dict[str, Any]:
    """The effect's options as its design gets them: periods (``start``, ``end``,
    windows) in the kind of the data's time column, units named by a kommune's name
    where the unit column holds kommuner."""
    options = dict(effect.options)
    if loaded is None:
        return options
    frame, source = loaded.frame, loaded.source
    time = options.get("time")
    if isinstance(time, str) and time in frame.columns and effect.design not in _DURATION_TIME:
        series = frame[time]
        for key in _PERIOD_OPTIONS:
            value = options.get(key)
            if value is not None and not (key == "placebo_time" and value == "auto"):
                options[key] = _as_period(value, series, key)
        for key in _WINDOW_OPTIONS:
            value = options.get(key)
            if isinstance(value, list | tuple) and len(value) == 2:
                options[key] = tuple(_as_period(v, series, key) for v in value)
    if source.kommune is not None and options.get("unit") == source.kommune:
        for key in _UNIT_OPTIONS:
            if key in options:
                options[key] = _kommune_value(options[key], key)
    return options


# --- checks -----------------------------------------------------------------------------


def _no_column(name: str, frame: pd.DataFrame, option: str) -> str:
    columns = [str(c) for c in frame.columns]
    lower = {c.lower(): c for c in columns}
    close = [lower[name.lower()]] if name.lower() in lower else []
    close = close or difflib.get_close_matches(name, columns, n=2, cutoff=0.6)
    hint = f" Did you mean {' or '.join(map(repr, close))}?" if close else ""
    shown = ", ".join(map(repr, columns[:20])) + (", ..." if len(columns) > 20 else "")
    return f"{option} = {name!r}: no such column.{hint} The columns are: {shown}"


def _column_options(effect: EffectSpec) -> dict[str, list[str]]:
    """Option -> the columns it names, including defaults that name columns."""
    from evaluate.estimators import DESIGNS

    design = DESIGNS[effect.design]
    named: dict[str, list[str]] = {}
    for option in design.options():
        value = effect.options.get(option.name)
        if value is None and option.default not in ("required", "optional", "None"):
            value = _default_value(option.default)
        is_column = option.name in _COLUMN_OPTIONS or (
            option.name == "unit" and option.default == "required"
        )
        if not is_column or value is None or (effect.design, option.name) in _NOT_COLUMNS:
            continue
        values = [value] if isinstance(value, str) else value
        if not isinstance(values, list | tuple):
            continue
        values = [v for v in values if isinstance(v, str)]
        if option.name == "cluster":
            values = [v for v in values if v != "unit"]
        if values:
            named[option.name] = values
    return named


def _default_value(text: str) -> Any:
    import ast

    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return None


_TEXT_NUMBER = re.compile(r"^[-+]?[\d.]*\d,\d+$")


def _not_numeric(frame: pd.DataFrame, column: str, option: str, source: DataSource) -> str | None:
    values = frame[column]
    if pd.api.types.is_numeric_dtype(values) or pd.api.types.is_bool_dtype(values):
        return None
    present = values.dropna()
    example = present.iloc[0] if len(present) else None
    text = present.astype(str)
    hint = ""
    comma = text[text.str.match(_TEXT_NUMBER)]
    if len(comma):
        hint = (
            f' {comma.iloc[0]!r} has a decimal comma: set decimal = ","'
            + (' and thousands = "."' if "." in comma.iloc[0] else "")
            + f" in [[data]] {source.name!r}."
        )
    elif isinstance(values.dtype, pd.PeriodDtype):
        hint = " It holds periods."
    return (
        f"{option} = {column!r} must be a numeric column, but it holds "
        f"{'periods' if isinstance(values.dtype, pd.PeriodDtype) else 'text'} "
        f"(e.g. {_shown(example)}).{hint}"
    )


def _shown(value: Any) -> str:
    return repr(period_label(value)) if isinstance(value, pd.Period) else repr(_plain(value))


def _each(value: Any) -> list[Any]:
    """A start option as a list: one start, a list of starts or a unit-to-start mapping."""
    if isinstance(value, dict):
        return list(value.values())
    return list(value) if isinstance(value, list | tuple) else [value]


def _check_periods(effect: EffectSpec, frame: pd.DataFrame, options: dict[str, Any]) -> list[str]:
    time = options.get("time")
    if not isinstance(time, str) or time not in frame.columns or effect.design in _DURATION_TIME:
        return []
    series = frame[time].dropna()
    if series.empty:
        return [f"time = {time!r} has no periods"]
    problems = []
    if effect.design in _WHOLE_PERIODS:  # calendar periods are numbered by the design
        problems = _check_calendar(effect, frame, options)
        if problems:
            return problems
    first, last = series.min(), series.max()
    starts, raw = _each(options.get("start")), _each(effect.options.get("start"))
    for one, given in zip(starts, raw, strict=False):
        if one is not None and not first < one <= last:
            problems.append(
                f"start = {_shown(given)} must lie after the first period "
                f"{_shown(first)} and no later than the last {_shown(last)} of {time!r}"
            )
    start = max((s for s in starts if s is not None), default=None)
    end = options.get("end")
    if end is not None and not ((start is None or start <= end) and first <= end):
        problems.append(
            f"end = {_shown(effect.options['end'])} must lie on or after start and within "
            f"the data ({_shown(first)} to {_shown(last)})"
        )
    for key in _WINDOW_OPTIONS:
        window = options.get(key)
        if isinstance(window, tuple) and len(window) == 2 and not window[0] <= window[1]:
            problems.append(f"{key} = {effect.options[key]!r}: the first period is after the last")
    return problems


def _calendar_cohort(effect: EffectSpec, frame: pd.DataFrame, option: str) -> bool:
    """The cohort column of a staggered design whose time column holds calendar
    periods: it holds periods too, checked by :func:`_check_calendar`, not as numbers."""
    time = effect.options.get("time")
    return (
        effect.design in _WHOLE_PERIODS
        and option in ("group", "cohort")
        and isinstance(time, str)
        and time in frame.columns
        and is_calendar(frame[time])
    )


def _check_calendar(effect: EffectSpec, frame: pd.DataFrame, options: dict[str, Any]) -> list[str]:
    """Time and cohort columns of a staggered design on one regular calendar (numbers pass)."""
    time = options["time"]
    cohort = options.get("group" if effect.design == "callaway_santanna" else "cohort")
    if not isinstance(cohort, str) or cohort not in frame.columns:
        return []
    try:
        calendar_frame(frame, time, cohort, options.get("never_treated", ()))
    except DataError as err:
        return [str(err).rstrip(".")]
    return []


def _check_units(options: dict[str, Any], frame: pd.DataFrame) -> list[str]:
    unit = options.get("unit")
    if not isinstance(unit, str) or unit not in frame.columns:
        return []
    present = set(frame[unit].dropna().tolist())
    problems = []
    for key in _UNIT_OPTIONS:
        if key not in options:
            continue
        value = options[key]
        wanted = list(value) if isinstance(value, list | tuple) else [value]
        for each in wanted:
            if each not in present:
                close = difflib.get_close_matches(str(each), sorted(map(str, present)), n=2)
                hint = f"; did you mean {' or '.join(map(repr, close))}?" if close else ""
                problems.append(f"{key} = {each!r} is not a value of column {unit!r}{hint}")
    return problems


def _check_effect(effect: EffectSpec, loaded: LoadedData) -> list[tuple[type, str]]:
    frame, source = loaded.frame, loaded.source
    problems: list[tuple[type, str]] = []
    for option, columns in _column_options(effect).items():
        for column in columns:
            if column not in frame.columns:
                problems.append((DataError, _no_column(column, frame, option)))
            elif option in _NUMERIC and not _calendar_cohort(effect, frame, option):
                why = _not_numeric(frame, column, option, source)
                if why is not None:
                    problems.append((DataError, why))
    if problems:
        return problems
    try:
        options = effect_options(effect, loaded)
    except EvaluateError as err:
        return [(type(err), str(err))]
    problems += [(SpecError, p) for p in _check_periods(effect, frame, options)]
    problems += [(SpecError, p) for p in _check_units(options, frame)]
    if effect.design == "did" and "post" not in effect.options:
        time = effect.options["time"]
        n = frame[time].nunique()
        if n != 2:
            problems.append(
                (
                    SpecError,
                    f"design 'did' needs option post (a 0/1 column marking the later period) "
                    f"because {time!r} has {n} periods, not 2",
                )
            )
    return problems


def _rate_table() -> pd.DataFrame:
    # read beside the money package, without importing it (it loads scipy)
    return pd.read_csv(Path(__file__).parent / "money" / "data" / "rates_dk.csv")


def _line_years(line: EffectLineSpec) -> list[int]:
    years = line.years
    return [int(y) for y in (years.keys() if isinstance(years, dict) else years)]


def _check_rates(spec: StudySpec) -> list[str]:
    lines = [
        (case.name, line)
        for case in spec.business_case
        for line in case.line
        if isinstance(line, EffectLineSpec) and line.rate is not None
    ]
    if not lines:
        return []
    table = _rate_table()
    benefits = sorted(table["benefit"].unique())
    problems = []
    for case, line in lines:
        name, category = line.rate.benefit, line.rate.category
        benefit = benefit_key(name)
        if benefit in ALIASES:
            benefit, alias_category = ALIASES[benefit]
            category = category or alias_category
        where = f"business case {case!r}, line {line.name!r}: rate"
        if benefit not in benefits:
            close = difflib.get_close_matches(benefit, benefits, n=2)
            hint = f"did you mean {' or '.join(map(repr, close))}? " if close else ""
            problems.append(
                f"{where} benefit {name!r} is not in the bundled rate table; {hint}"
                f"it has {', '.join(benefits)}"
            )
            continue
        rows = table[table["benefit"] == benefit]
        categories = sorted(rows["category"].astype(str).unique())
        category = category or DEFAULT_CATEGORY.get(benefit)
        if category is None and len(categories) == 1:
            category = categories[0]
        if category is None:
            problems.append(
                f"{where} {name!r} has several categories; give category = one of "
                + "; ".join(map(repr, categories))
            )
            continue
        if category is not None:
            if category not in categories:
                problems.append(
                    f"{where} {name!r} has no category {category!r}; it has "
                    + "; ".join(map(repr, categories))
                )
                continue
            rows = rows[rows["category"] == category]
        asked = [line.rate.year] if line.rate.year is not None else sorted(_line_years(line))
        years = sorted(set(rows["year"].astype(int)))
        missing = [y for y in asked if y not in years]
        if missing:
            problems.append(
                f"{where} {name!r} has no rate for {', '.join(map(str, missing))}; the table "
                f"has {', '.join(map(str, years))} (give dkk_per_unit with its source instead)"
            )
    return problems


def check_study(spec: StudySpec, data: Mapping[str, LoadedData], *, origin: str = "") -> None:
    """Check every effect against its data and every rate against the bundled table.

    Raises one error listing every problem found (of the type of the first: a
    :class:`DataError` for a missing or mistyped column, a :class:`SpecError` for
    an option or rate), each line naming the effect or line and the data entry.
    """
    problems: list[tuple[type, str]] = []
    for effect in spec.effect:
        if effect.data is None or effect.data not in data:
            continue
        where = f"effect {effect.name!r} (data {effect.data!r})"
        problems += [(k, f"{where}: {m}") for k, m in _check_effect(effect, data[effect.data])]
    problems += [(SpecError, p) for p in _check_rates(spec)]
    if problems:
        head = f"{origin}: " if origin else ""
        if len(problems) == 1:
            raise problems[0][0](f"{head}{problems[0][1]}.")
        listed = "\n".join(f"  {message}" for _, message in problems)
        raise problems[0][0](f"{head}{len(problems)} problems\n{listed}")


__all__ = ["check_study", "effect_options", "load_data", "load_one"]
