"""Issue 16, item 4: draws, replications and memory are bounded before anything
large is allocated; the error names the limit and how to raise it deliberately."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import evaluate as ev
from evaluate.errors import LimitError, SpecError
from evaluate.inference.bootstrap import wild_cluster_bootstrap
from evaluate.limits import DEFAULTS, check_count, check_memory, limit
from evaluate.power import simulate_power
from evaluate.spec import parse_spec


def test_a_count_over_the_limit_names_it_and_the_way_to_raise_it():
    with pytest.raises(
        LimitError, match=r"n_boot = 1,000,000,000 exceeds the limit of 100,000"
    ) as e:
        check_count("n_boot", 10**9)
    assert "EVALUATE_MAX_RESAMPLES=1000000000" in str(e.value)


def test_the_limit_is_raised_deliberately_through_the_environment(monkeypatch):
    monkeypatch.setenv("EVALUATE_MAX_RESAMPLES", "2e9")
    check_count("n_boot", 10**9)  # no error: the user asked for it
    assert limit("resamples") == 2e9
    monkeypatch.setenv("EVALUATE_MAX_RESAMPLES", "lots")
    with pytest.raises(LimitError, match="not a number"):
        limit("resamples")


def test_memory_is_estimated_before_allocating():
    with pytest.raises(LimitError, match=r"about 74\.5 GiB.*EVALUATE_MAX_MEMORY_GB"):
        check_memory(8.0 * 10**10, "A test allocation")


def _spec(options: str) -> str:
    return f"""
[study]
title = "t"
[[data]]
name = "d"
dataset = "mpdta"
[[effect]]
name = "e"
design = "did"
data = "d"
outcome = "lemp"
unit = "countyreal"
time = "year"
treated = "treat"
{options}
"""


@pytest.mark.parametrize(
    "options",
    [
        'inference = "wild"\nn_boot = 1000000000',
        'inference = "wild"\nn_boot = 100001',
    ],
)
def test_a_spec_asking_for_too_many_draws_is_invalid(options):
    with pytest.raises(SpecError, match="n_boot = .* exceeds the limit"):
        parse_spec(_spec(options))


def test_every_front_door_checks_its_draws():
    rng = np.random.default_rng(0)
    x = np.column_stack([np.ones(40), rng.normal(size=40)])
    y = rng.normal(size=40)
    clusters = np.repeat(np.arange(8), 5)
    with pytest.raises(LimitError, match="n_boot"):
        wild_cluster_bootstrap(x, y, clusters, coef=1, n_boot=10**9)
    with pytest.raises(LimitError, match="n_sims"):
        simulate_power(0.5, n_treated=50, n_control=50, n_sims=10**12)
    with pytest.raises(LimitError, match="n_draws"):
        ev.BusinessCase(
            "c",
            (ev.money.cost("c", {2024: 1.0}),),
            price_level="2024",
            n_draws=10**10,
        )


def test_observational_staggered_and_sdid_check_their_replications():
    from evaluate.datasets import mpdta
    from evaluate.estimators.observational import observational
    from evaluate.estimators.synthetic.sdid import synthetic_did

    data = pd.DataFrame({"y": [1.0, 2, 3, 4], "d": [0, 0, 1, 1], "x": [1.0, 2, 1, 2]})
    with pytest.raises(LimitError, match="bootstrap"):
        observational(data, outcome="y", treatment="d", covariates=["x"], bootstrap=10**9)
    with pytest.raises(LimitError, match="bootstrap"):
        ev.callaway_santanna(
            mpdta(), outcome="lemp", unit="countyreal", time="year", group="first.treat",
            bootstrap=10**9,
        )  # fmt: skip
    with pytest.raises(LimitError, match="placebo_reps"):
        synthetic_did(
            mpdta(), outcome="lemp", unit="countyreal", time="year", treated_unit=1,
            start=2006, placebo_reps=10**9,
        )  # fmt: skip


def test_the_defaults_are_documented():
    import evaluate.limits

    for name in DEFAULTS:
        assert f"EVALUATE_MAX_{name.upper()}" in evaluate.limits.__doc__
