"""Every design whose words were English-only speaks Danish in a Danish report.

One Danish study (``language = "da"``) uses each of them: observational (difference,
regression, IPW, AIPW with trimming, matching with a caliper and a placebo outcome),
the peer benchmark (a fixed group and nearest neighbours), duration (RMST, Cox, two
arms), the compressed TWFE on register cells, the imputation DiD with leads, model
forecasts (ETS and SARIMAX, with an end and its persistence) and a trend forecast
with AR(1) errors and an end.  Its Markdown, HTML, Excel text and figure labels are
checked with the same word lists as the studies' Danish reports
(:mod:`tests.report.test_danish`).  The data are the studies' own files.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from evaluate.report.figures import recording_text
from evaluate.spec import load_spec
from evaluate.study import run_study
from tests.report.test_danish import _excel_text, _identifiers, leftovers

ROOT = Path(__file__).parents[2]

SPEC = """[study]
title = "Et eksempel på hvert design"
description = "Et eksempel for hvert design."
language = "da"
seed = 1
population = "Borgere"

[report]
formats = ["html", "md", "xlsx"]

[[data]]
name = "psid"
path = "{data}/lalonde_psid1.csv"
trusted_path = true

[[data]]
name = "peers"
path = "{data}/koebenhavn_peers.csv"
trusted_path = true
simulated = true

[[data]]
name = "trial"
path = "{data}/vordingborg_simulated.csv"
trusted_path = true
simulated = true

[[data]]
name = "cells"
path = "{data}/register_caseload_cells.csv"
trusted_path = true
simulated = true

[[data]]
name = "mpdta"
dataset = "mpdta"

[[data]]
name = "monthly"
path = "{data}/faxe_simulated_monthly.csv"
trusted_path = true
simulated = true

[[effect]]
name = "forskel"
design = "observational"
label = "Forskel"
data = "psid"
outcome = "re78"
treatment = "treat"
method = "difference"
outcome_unit = "DKK"

[[effect]]
name = "aipw"
design = "observational"
label = "AIPW"
data = "psid"
outcome = "re78"
treatment = "treat"
covariates = ["age", "educ", "black", "hisp", "marr", "nodegree", "re74", "re75", "u74", "u75"]
method = "aipw"
trim = 0.01
outcome_unit = "DKK"

[[effect]]
name = "match"
design = "observational"
label = "Matchning"
data = "psid"
outcome = "re78"
treatment = "treat"
covariates = ["age", "educ", "black", "hisp", "marr", "nodegree", "re74", "u74"]
method = "matching"
caliper = 0.2
outcome_unit = "DKK"
placebo_outcomes = ["re75"]

[[effect]]
name = "ipw"
design = "observational"
label = "IPW"
data = "psid"
outcome = "re78"
treatment = "treat"
covariates = ["age", "educ", "black", "hisp", "marr", "nodegree", "re74", "re75", "u74", "u75"]
method = "ipw"
outcome_unit = "DKK"

[[effect]]
name = "regression"
design = "observational"
label = "Regression"
data = "psid"
outcome = "re78"
treatment = "treat"
covariates = ["age", "educ", "black", "hisp", "marr", "nodegree", "re74", "re75", "u74", "u75"]
method = "regression"
outcome_unit = "DKK"

[[effect]]
name = "peer_spread"
design = "peer_benchmark"
label = "Sammenligning"
data = "peers"
unit = "kommune"
numerator = "ledighedsydelse"
denominator = "visiterede"
focal = "København"
peers = ["Storby 1", "Storby 2", "Storby 3", "Storby 4", "Storby 5", "Storby 6", "Storby 7",
  "Storby 8"]
uncertainty = "spread"
peer_level = "pooled"

[[effect]]
name = "peer_binom"
design = "peer_benchmark"
label = "Sammenligning binomial"
data = "peers"
unit = "kommune"
numerator = "ledighedsydelse"
denominator = "visiterede"
focal = "København"
match_on = ["population_1000", "unemployment_rate"]
n_peers = 10
uncertainty = "binomial"
peer_level = "pooled"

[[effect]]
name = "varighed"
design = "duration"
label = "Varighed"
data = "trial"
time = "weeks"
event = "left"
arm = "arm"
control = "control"
arms = ["arm1", "arm2"]
horizon = 78
outcome_unit = "weeks"

[[effect]]
name = "celler"
design = "compressed_twfe"
label = "Celler"
data = "cells"
unit = "municipality"
time = "month"
treatment = "post"
n = "persons"
sum_y = "kh_ftp"
sum_y2 = "kh_ftp_sq"
total_by = "persons"
outcome_label = "fuldtidspersoner på kontanthjælp"
cluster = "unit"
inference = "CR1"
outcome_unit = "full-time persons"

[[effect]]
name = "imputation"
design = "imputation_did"
label = "Imputation"
data = "mpdta"
outcome = "lemp"
unit = "countyreal"
time = "year"
cohort = "first.treat"
pretrends = 3

[[effect]]
name = "ets"
design = "model_forecast"
label = "ETS"
data = "monthly"
outcome = "recipients"
time = "month"
start = "2018-05"
model = "ets"
outcome_unit = "full-time persons"

[[effect]]
name = "sarimax"
design = "model_forecast"
label = "SARIMAX"
data = "monthly"
outcome = "recipients"
time = "month"
start = "2018-05"
model = "sarimax"
end = "2019-03"
outcome_unit = "full-time persons"

[[effect]]
name = "ets_end"
design = "model_forecast"
label = "ETS med slut"
data = "monthly"
outcome = "recipients"
time = "month"
start = "2018-05"
end = "2019-03"
model = "ets"
outcome_unit = "full-time persons"

[[effect]]
name = "trend"
design = "trend_forecast"
label = "Trend"
data = "monthly"
outcome = "recipients"
time = "month"
start = "2018-05"
end = "2019-03"
trend = "linear"
seasonality = "month"
errors = "ar1"
outcome_unit = "full-time persons"
"""


@pytest.fixture(scope="module")
def danish_designs(tmp_path_factory) -> tuple[Path, Path, list[tuple[str, str]]]:
    folder = tmp_path_factory.mktemp("danish_designs")
    path = folder / "danish_designs.toml"
    path.write_text(SPEC.replace("{data}", (ROOT / "studies" / "data").as_posix()), "utf-8")
    out = folder / "report"
    with recording_text() as figure_text:
        run_study(path, out)
    return path, out, figure_text


def test_the_study_uses_every_design_of_the_brief(danish_designs):
    designs = {e.design for e in load_spec(danish_designs[0]).effect}
    assert designs >= {
        "observational",
        "peer_benchmark",
        "duration",
        "compressed_twfe",
        "imputation_did",
        "model_forecast",
        "trend_forecast",
    }


@pytest.mark.parametrize("part", ["report.md", "report.html", "report.xlsx", "figures"])
def test_a_danish_report_of_every_design_has_no_english_leftovers(danish_designs, part):
    path, out, figure_text = danish_designs
    if part == "figures":
        text = "\n".join(t for language, t in figure_text if language == "da")
        assert "propensityscore" in text and "andel stadig på ydelse" in text
    elif part == "report.xlsx":
        text = _excel_text(out / part)
    else:
        text = (out / part).read_text("utf-8")
    found = leftovers(text, _identifiers(path))
    assert not found, sorted(set(found))


def test_the_danish_words_are_the_designs_own(danish_designs):
    # Not vacuous: the report carries the designs' sentences, in Danish.
    text = (danish_designs[1] / "report.md").read_text("utf-8")
    for danish in (
        "Ujusteret forskel i gennemsnit",
        "Matchning på nærmeste nabo med tilbagelægning",
        "E-værdi (estimat)",
        "sammenligningsgruppens samlede rate",
        "Forskel i begrænset gennemsnitlig tid (RMST)",
        "Regression med tosidede faste effekter ud fra cellestatistikker",
        "Imputations-DiD",
        "Modelfremskrivning: ETS",
        "percentiler af forholdet over 4.000 simulerede fremtidige forløb",
        "deltametoden",
    ):
        assert danish in text, danish
