"""Design tables and figures in reports: weights, balance, forest plot, waterfall sign,
Markdown tables that render, and the locale's numbers, months and sentences."""

from pathlib import Path

import matplotlib
import pytest

matplotlib.use("Agg")

from markdown_it import MarkdownIt  # noqa: E402

from evaluate.report import build_context, render  # noqa: E402
from evaluate.report.fmt import Formatter  # noqa: E402
from evaluate.report.translate import translate_result  # noqa: E402
from evaluate.study import run_study  # noqa: E402
from evaluate.text import Num, Pct, Period, Text, Unit  # noqa: E402

STUDIES = Path(__file__).parents[2] / "studies"


@pytest.fixture(scope="module")
def prop99():
    return run_study(STUDIES / "prop99_synth.toml")


def _effect(context, key):
    return next(e for e in context["effects"] if e["key"] == key)


def test_synthetic_control_shows_its_donor_weights_and_predictor_balance(prop99):
    sc = _effect(build_context(prop99), "synthetic_control")
    weights, balance = sc["tables"]
    # Abadie, Diamond & Hainmueller (2010), Table 2: Utah .334, Nevada .234, Montana
    # .199, Colorado .164, Connecticut .069 (our optimum: .335 .236 .202 .160 .068)
    assert [r["label"] for r in weights["rows"]] == [
        "Utah",
        "Nevada",
        "Montana",
        "Colorado",
        "Connecticut",
    ]
    assert weights["rows"][0]["cells"] == ["0.335"]
    assert balance["headers"] == ["Treated", "Synthetic", "Donor mean"]
    cigsale_1975 = next(r for r in balance["rows"] if r["label"] == "cigsale (1975)")
    assert cigsale_1975["cells"][0] == "127.1"  # treated, packs per capita
    danish = _effect(build_context(translate_result(prop99, "da")), "synthetic_control")
    assert danish["tables"][0]["title"] == "Donorvægte"
    assert danish["tables"][0]["rows"][0]["cells"] == ["0,335"]


def test_sdid_shows_its_largest_unit_weights(prop99):
    (table,) = _effect(build_context(prop99), "synthetic_did")["tables"]
    assert len(table["rows"]) == 10
    # the fit whose estimate matches synthdid (-15.60383) puts the most weight on Nevada
    assert table["rows"][0]["label"] == "Nevada"
    assert table["rows"][0]["cells"] == ["0.124"]


def test_several_estimates_of_one_quantity_get_one_forest_plot(prop99):
    context = build_context(prop99)
    (forest,) = context["forests"]
    assert forest["outcome"] == "cigsale" and forest["benchmark"] is None
    assert forest["png"][:8] == b"\x89PNG\r\n\x1a\n"
    assert "figures/forest-cigsale.png" in render(context, "md")


def test_every_markdown_table_renders_under_commonmark_and_gfm(prop99):
    text = render(build_context(prop99), "md")
    written = sum(1 for line in text.splitlines() if line.startswith("|---"))
    rendered = MarkdownIt("commonmark").enable("table").render(text).count("<table>")
    assert written > 3 and rendered == written


def test_the_waterfall_carries_the_table_sign():
    import matplotlib.pyplot as plt

    case = run_study(STUDIES / "faxe_fleksjob.toml").business_cases["published"]
    table = case.table()  # municipal sign: plus = expenditure, the saving is negative
    fig, ax = plt.subplots()
    case.plot_waterfall(ax=ax)
    labels = [t.get_text() for t in ax.get_xticklabels()]
    heights = {label: bar.get_height() for label, bar in zip(labels, ax.patches, strict=False)}
    plt.close(fig)
    assert table.loc["Ledighedsydelse"].iloc[-1] < 0 and heights["Ledighedsydelse"] < 0
    assert table.loc["Flexjob"].iloc[-1] > 0 and heights["Flexjob"] > 0


def test_danish_numbers_counts_months_and_sentences():
    da, en = Formatter("da"), Formatter("en")
    rmse = Text("diag.rmse", "RMSE {rmse}", rmse=Num(3.33712, sig=4))
    assert str(rmse) == "RMSE 3.337" and da.say(rmse) == "RMSE 3,337"
    assert da.statistic(285) == "285" and en.statistic(285) == "285"  # a count
    assert da.say(Num(217620.0, 0)) == "217.620" and da.say(Pct(0.2, 1)) == "20,0 %"
    assert da.say(Unit("full-time persons")) == "fuldtidspersoner"
    assert da.say(Period("2018-05")) == "maj 2018" and en.say(Period("2018-05")) == "May 2018"
    assert da.say("verbatim user text") == "verbatim user text"
    # a sentence the Danish word list lacks stays as said, never silently empty
    assert da.say(Text("no.such.key", "as said {n}", n=3)) == "as said 3"


def test_a_text_survives_pickling_and_compares_as_its_english():
    import pickle

    text = Text("forecast.inference", "OLS prediction error with iid errors, t({df})", df=27)
    again = pickle.loads(pickle.dumps(text))
    assert again == "OLS prediction error with iid errors, t(27)"
    assert again.key == text.key and again.params == {"df": 27}
