"""Every public result honours the same face: summary/to_frame/plot/_repr_html_.

Designs register a factory here; the contract test then runs on each.
"""

import numpy as np
import pandas as pd
import pytest
from matplotlib.axes import Axes

from evaluate.business_case import BusinessCase
from evaluate.effect import TIDY_COLUMNS, Effect
from evaluate.estimators.series.forecast import trend_forecast
from evaluate.estimators.series.stated import stated_effect, stated_expectation
from evaluate.money import cost, monetize
from evaluate.simulate import monthly_counts


def _stated():
    return stated_expectation(
        name="l",
        observed_change=-0.08,
        expected_change=0.18,
        expected_range=(0.1, 0.25),
        baseline=100,
    )


def _stated_effect():
    return stated_effect(name="f", estimate=5.0, outcome_unit="percentage points")


def _forecast():
    return trend_forecast(
        monthly_counts(seed=1),
        outcome="recipients",
        time="month",
        start="2018-05",
        seasonality="month",
    )


EFFECTS = {
    "stated_expectation": _stated,
    "stated_effect": _stated_effect,
    "trend_forecast": _forecast,
}


@pytest.fixture(params=sorted(EFFECTS))
def effect(request):
    return EFFECTS[request.param]()


def test_effect_contract(effect):
    assert isinstance(effect, Effect)
    frame = effect.to_frame()
    assert list(frame.columns) == TIDY_COLUMNS and len(frame) >= 1
    assert frame.loc[0, "estimate"] == effect.estimate
    for fmt in ("text", "markdown", "html"):
        assert effect.name in effect.summary(fmt)
    assert effect._repr_html_().startswith("<div")
    assert str(effect) == effect.summary("text")
    assert isinstance(effect.plot(), Axes)
    draws = effect.draws(100, seed=5)
    assert draws.shape == (100,) and np.array_equal(draws, effect.draws(100, seed=5))
    assert effect.provenance is not None
    assert all(hasattr(d, "reason") or hasattr(d, "value") for d in effect.diagnostics.values())
    if effect.by_period is not None:
        assert {"period", "estimate", "std_error", "ci_low", "ci_high"} <= set(effect.by_period)


def test_results_are_frozen(effect):
    with pytest.raises(AttributeError):
        effect.alpha = 0.1
    wider = effect.with_alpha(0.10)
    assert wider.alpha == 0.10 and effect.alpha == 0.05


def test_business_case_face():
    case = BusinessCase(
        "c",
        (monetize(_stated(), name="l", years=2020, dkk_per_unit=1e6), cost("k", {2020: 10_000.0})),
        price_level="2020 p/l",
    )
    assert isinstance(case.to_frame(), pd.DataFrame)
    for fmt in ("text", "markdown", "html"):
        assert "Business case" in case.summary(fmt)
    assert isinstance(case.plot(), Axes)
    assert case._repr_html_().startswith("<div")


def test_every_registered_design_has_a_documented_keyword_front_door():
    import inspect

    from evaluate.estimators import DESIGNS

    for name, design in DESIGNS.items():
        function = design.function
        assert function.__doc__, name
        parameters = list(inspect.signature(function).parameters.values())
        if design.takes_data:  # data first, then keyword-only options
            assert all(p.kind is p.KEYWORD_ONLY for p in parameters[1:]), name
