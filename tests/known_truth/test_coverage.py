"""Coverage as a test suite: every default interval covers its known truth about 95 %.

Each setting of issue 18's table (``coverage_settings.py``) is simulated with a
known effect.  The light tests (CI) run 200 replications of the current default;
the heavy ones (``-m slow``) 2,000.  The acceptance band is 95 % plus or minus
three Monte Carlo standard errors at 95 % (``tolerance``): 4.6 points at 200
replications, 1.5 at 2,000.  A default that truly covers 95 % fails a test with
probability 0.3 %; one that covers 90 % fails the light test with probability
about 0.4 and the heavy one almost surely.  The intervals the defaults replaced
are measured, not tested, in ``benchmarks/bench_coverage.py``.
"""

from __future__ import annotations

import pytest
from coverage_settings import LEVEL, SETTINGS, run, tolerance

LIGHT = [
    "twfe_50_kommuner_3_treated",
    "did_20_kommuner_1_treated",
    "forecast_ar1_phi_0.5",
    "its_counts_n60",
    "its_gaussian_ar1_n60",
    "cs_dynamic_60_units",
    "cs_unbalanced_200_units",
    "cs_repeated_cross_sections_200",
]


@pytest.mark.parametrize("name", LIGHT)
def test_default_covers_light(name):
    setting = SETTINGS[name]
    cover, _, _ = run(setting, setting.default, reps=200, seed=2026)
    assert abs(cover - LEVEL) <= tolerance(200), f"{name}: coverage {cover:.3f}"


@pytest.mark.slow
@pytest.mark.parametrize("name", list(SETTINGS))
def test_default_covers_heavy(name):
    setting = SETTINGS[name]
    cover, _, _ = run(setting, setting.default, reps=2000, seed=7)
    assert abs(cover - LEVEL) <= tolerance(2000), f"{name}: coverage {cover:.3f}"


@pytest.mark.slow
@pytest.mark.parametrize("method", ["band_pre", "f_leads"])
def test_pre_period_band_and_pretest_heavy(method):
    # The pre-period band covers the zero pre-trends jointly about 95 % of the time and
    # the pre-trend F test raises a false alarm about 5 % of the time.
    cover, _, _ = run(SETTINGS["cs_dynamic_60_units"], method, reps=2000, seed=8)
    assert abs(cover - LEVEL) <= tolerance(2000), f"{method}: {cover:.3f}"
