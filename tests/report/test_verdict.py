"""The verdict at the top of a report, and the claim table: words from the numbers."""

from pathlib import Path

import pytest

from evaluate.effect import EffectResult
from evaluate.headline import BreakEven
from evaluate.inference.distributions import Normal
from evaluate.report.fmt import Formatter, strings
from evaluate.report.verdict import agreement_sentence, break_even_sentence
from evaluate.study import run_study

STUDIES = Path(__file__).parents[2] / "studies"


def _effect(estimate: float, se: float) -> EffectResult:
    return EffectResult(
        name="e",
        estimand="x",
        distribution=Normal(estimate, se),
        method="m",
        inference="i",
        unit="persons",
    )


@pytest.mark.parametrize("language", ["en", "da"])
def test_agreement_is_a_value_inside_every_interval(language):
    f, t = Formatter(language), strings(language)
    agree = agreement_sentence("q", [_effect(10, 2), _effect(12, 2)], f, t)
    disagree = agreement_sentence("q", [_effect(10, 1), _effect(20, 1)], f, t)
    assert agree == t["verdict"]["agree"].format(
        n=2,
        quantity="q",
        low=f.value(12 - 1.959964 * 2, "persons"),
        high=f.value(10 + 1.959964 * 2, "persons"),
        unit=f.unit("persons"),
    )
    assert disagree.startswith(t["verdict"]["disagree"].split("{")[0])


def test_break_even_sentence_sets_the_effect_against_its_interval():
    f, t = Formatter("en"), strings("en")
    even = BreakEven(
        effect="employment",
        unit="share",
        value=0.265,
        pays_above=True,
        estimate=0.056,
        unfavourable=-0.053,
        kind="sampling",
        mde=0.155,
    )
    text = break_even_sentence(even, f, t, "95%")
    assert text == (
        "The case pays if employment is at least 26.5% (share); the 95% interval reaches "
        "down to -5.3%; the smallest effect the design detects with 80 % power is 15.5%."
    )
    target = BreakEven(
        effect="approvals",
        unit="persons",
        value=27.0,
        pays_above=True,
        estimate=175.0,
        unfavourable=150.0,
        kind="target",
    )
    assert "the target reaches down to 150.0" in break_even_sentence(target, f, t, "95%")


@pytest.fixture(scope="module")
def reports(tmp_path_factory):
    out = {}
    for name in ("koebenhavn_fleksjob", "broendby_haandholdt", "solroed_business_case"):
        folder = tmp_path_factory.mktemp(name)
        run_study(STUDIES / f"{name}.toml", folder)
        out[name] = (folder / "report.md").read_text("utf-8")
    return out


def test_the_verdict_opens_every_report(reports):
    for name, md in reports.items():
        verdict = md.index("## Verdict") if "## Verdict" in md else md.index("## Konklusion")
        assert verdict < md.index("## Summary" if "## Summary" in md else "## Sammenfatning"), name


def test_a_target_shows_scenarios_without_p_value_or_probability(reports):
    md = reports["koebenhavn_fleksjob"]
    assert "< 0.001" not in md and "Probability of a gain:" not in md
    assert "| Scenarios (no probability" in md
    assert "is a target, not an estimate" in md
    assert "the target reaches down to 150.0" in md
    assert "| **ASSUMED**" in md  # the claim table flags the assumed saving per approval


def test_a_gross_saving_has_no_net_gain_or_payback(reports):
    md = reports["broendby_haandholdt"]
    summary = md[md.index("## Summary") : md.index("## What the sources say")]
    assert "Gross saving (1,000 DKK" in summary and "Net gain" not in summary
    assert "Payback year" not in summary and "Probability of a gain:" not in summary
    assert "what the intervention cost is missing" in md


def test_solroed_box_is_one_quantity(reports):
    md = reports["solroed_business_case"]
    line = next(x for x in md.splitlines() if x.startswith("- **Hjemtagelse af 32 forløb**"))
    # the present value, labelled as such, with no interval beside it (scenarios instead)
    assert "nutidsværdi" in line and ": 2.243;" in line and "interval" not in line
    assert "Værste kombination" in md and "ANTAGET" in md
