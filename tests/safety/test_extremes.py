"""Issue 16, item 3: any finite number formats, and no NaN or inf reaches a report."""

from __future__ import annotations

import math
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from evaluate.errors import SpecError
from evaluate.report.fmt import Formatter
from evaluate.study import run_study

SPEC = """
[study]
title = "Extremes"
language = "{language}"

[[effect]]
name = "huge"
design = "stated_effect"
outcome_unit = "{unit}"
estimate = {value!r}

[[business_case]]
name = "case"
title = "Case"
price_level = "2024"
n_draws = 100

[[business_case.line]]
kind = "effect"
name = "Line"
effect = "huge"
years = [2024]
dkk_per_unit = 1e15  # with an estimate of 1e15: amounts of 1e30 DKK

[[business_case.line]]
kind = "cost"
name = "Cost"
amounts_dkk = {{ 2024 = -1e15 }}
"""

_NON_FINITE = re.compile(r"\b(nan|NaN|inf|Infinity)\b")


@pytest.mark.parametrize("value", [1e15, -1e15, 5e-324, 0.0])
@pytest.mark.parametrize("language", ["en", "da"])
def test_extreme_finite_values_make_a_report_without_nan(value, language, tmp_path):
    spec = tmp_path / "s.toml"
    unit = "DKK" if abs(value) > 1 else "persons"
    spec.write_text(SPEC.format(value=value, language=language, unit=unit), encoding="utf-8")
    run_study(spec, tmp_path / "out")
    for name in ("report.md", "report.html"):
        text = (tmp_path / "out" / name).read_text(encoding="utf-8")
        text = re.sub(r"data:image/png;base64,[^\"]+", "", text)
        assert not _NON_FINITE.search(text), _NON_FINITE.search(text)


@pytest.mark.parametrize("value", [1e25, 1e300, -1.7976931348623157e308])
def test_options_beyond_the_magnitude_limit_are_spec_errors(value, tmp_path):
    spec = tmp_path / "s.toml"
    spec.write_text(SPEC.format(value=value, language="en", unit="DKK"), encoding="utf-8")
    with pytest.raises(SpecError, match="option 'estimate' = .* is beyond the 1e\\+15"):
        run_study(spec)


@given(st.floats(allow_nan=True, allow_infinity=True), st.integers(0, 4))
def test_every_float_formats(value, decimals):
    for language in ("en", "da"):
        f = Formatter(language)
        shown = [f.number(value, decimals), f.percent(value), f.value(value, "persons")]
        shown += [f.thousands(value), f.value(value, "DKK"), f.interval(value, value, "share")]
        if not math.isfinite(value):
            assert all(s == "–" for s in shown)
        else:
            assert all(s and "nan" not in s.lower() and "inf" not in s.lower() for s in shown)
