"""The event-time and aggregation figures of the staggered designs speak the report's
language: every label of ``plot_bands`` (axes, title, legend) passes through ``say``.

Drawn with a Danish formatter, the figures of Callaway-Sant'Anna (its event study and
the three aggregations) and of the imputation estimator must hold no English words
(the word lists of the Danish report checks) and must hold the Danish labels.
"""

from __future__ import annotations

import warnings

import pytest

import evaluate as ev
from evaluate.datasets import mpdta
from evaluate.report.figures import recording_text, render_png
from evaluate.report.fmt import Formatter
from tests.report.test_danish import leftovers


@pytest.fixture(scope="module")
def results():
    data = mpdta()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cs = ev.callaway_santanna(
            data, outcome="lemp", unit="countyreal", time="year", group="first.treat",
            bootstrap=99, seed=1, name="beskæftigelse",
        )  # fmt: skip
        bjs = ev.imputation_did(
            data, outcome="lemp", unit="countyreal", time="year", cohort="first.treat",
            pretrends=2, name="beskæftigelse",
        )  # fmt: skip
    return {
        "cs": cs,
        "dynamic": cs.aggregate("dynamic"),
        "group": cs.aggregate("group"),
        "calendar": cs.aggregate("calendar"),
        "imputation": bjs,
    }


@pytest.mark.parametrize("which", ["cs", "dynamic", "group", "calendar", "imputation"])
def test_a_danish_figure_has_no_english_labels(results, which):
    with recording_text() as texts:
        render_png(lambda ax: results[which].plot(ax=ax), Formatter("da"))
    shown = "\n".join(t for _, t in texts)
    assert not leftovers(shown), sorted(set(leftovers(shown)))
    assert "punktvist KI" in shown  # not vacuous: the legend was drawn, in Danish
    if which != "group" and which != "calendar":
        assert "tid siden start" in shown


def test_an_english_figure_keeps_its_english_labels(results):
    with recording_text() as texts:
        render_png(lambda ax: results["dynamic"].plot(ax=ax), Formatter("en"))
    shown = "\n".join(t for _, t in texts)
    assert "pointwise CI" in shown and "uniform (sup-t) band" in shown
    assert "effects by event time" in shown
