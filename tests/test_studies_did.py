"""The DiD validation studies reproduce their reference numbers through the spec path."""

import warnings
from pathlib import Path

import pytest

from evaluate import DroppedRowsWarning
from evaluate.study import run_study

STUDIES = Path(__file__).parents[1] / "studies"


def _run(name):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DroppedRowsWarning)
        return run_study(STUDIES / f"{name}.toml")


def test_card_krueger_study():
    # R oracle (tests/reference/R_output.txt): 2.7536058; CR2 1.3102334; HC1 1.7954508.
    effects = _run("card_krueger_did").effects
    assert effects["did_cr2"].estimate == pytest.approx(2.7536058, rel=1e-6)
    assert effects["did_cr2"].std_error == pytest.approx(1.3102334, rel=1e-6)
    assert effects["did_hc1"].std_error == pytest.approx(1.7954508, rel=1e-6)


def test_mpdta_study():
    # R: TWFE -0.036548937 (CR2 0.01327043); did 2.5.0 simple ATT -0.0399512752 (0.0120340128).
    effects = _run("mpdta_did").effects
    assert effects["twfe"].estimate == pytest.approx(-0.036548937, rel=1e-6)
    assert effects["twfe"].std_error == pytest.approx(0.01327043, rel=1e-6)
    assert effects["cs"].estimate == pytest.approx(-0.0399512752, rel=1e-8)
    assert effects["cs"].std_error == pytest.approx(0.0120340128, rel=1e-6)
