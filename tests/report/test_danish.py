"""A Danish report speaks Danish: no English words, no English-formatted numbers.

Every study that writes a Danish report (``language = "da"`` or ``"da"`` in
``report.also_in``) is run into a temporary folder; its Markdown, HTML, Excel text
and the text of every figure (the labels handed to matplotlib) are checked.

English words are found with a word list that is honest about what it is: the
vocabulary the toolkit itself speaks in English (its English word lists and every
English sentence template in the code, :data:`evaluate.text.TEMPLATES` read from the
source), plus a list of common English words, minus the words Danish shares with
English (:data:`SHARED`, each one a Danish word too).  What is exempt is only what
is verbatim by nature: file names, hashes, code, data column names of the spec, and
proper names of methods and people.
"""

from __future__ import annotations

import ast
import html
import re
import tomllib
from pathlib import Path

import openpyxl
import pytest

from evaluate.report.figures import recording_text
from evaluate.spec import load_spec
from evaluate.study import run_study

ROOT = Path(__file__).parents[2]
STUDIES = ROOT / "studies"
LOCALE = ROOT / "evaluate" / "report" / "locale"

COMMON_ENGLISH = """
the of and to in is was are were be been being this that these those with without from
by on at as or not no yes it its which who whom whose what when where why how than then
there their they them we our you your he she his her has have had having do does did
done can could would should will shall may might must also only just more most less
least many much some any each every all both either neither other another such same own
very too about above below after before between into through during against among
until while because if unless although though however therefore thus whether per via
one two three four five six seven eight nine ten first second third last next new old
high low large small big long short good bad true false number numbers amount amounts
value values year years month months week weeks day days people person persons citizens
citizen council municipality municipal state society cost costs saving savings spending
expenditure income gain gains loss benefit benefits net gross present payback break even
effect effects estimate estimates estimated estimator estimation estimand
interval intervals confidence uncertainty probability error errors standard sample
samples size sizes observed expected expectation counterfactual outcome outcomes
treatment treated control controls group groups unit units share shares rate rates
level levels change changes difference differences ratio average mean median weighted
weight weights weighting sum cumulative relative approx approximate approximately stated
published simulated simulation draws draw seed assumption assumptions sensitivity
scenario scenarios low central worst target prior sampling range ranges regression fixed
trend trends forecast forecasts period periods pre post before after fit fitted
residual residuals autocorrelation evidence narrow wide test tests tested p-value value
not applicable none requested covariates covariate balance balanced predictor predictors
donor donors synthetic placebo placebos pool brackets event study studies trial trials
arm arms random randomized randomization matching matched propensity score weighting
overlap support common diagnostic diagnostics method methods inference notes source
sources data file files rows row dropped used report reports figure figures table tables
summary business case cases line lines total subtotal price prices wage discounting
discounted undiscounted perspective perspectives adjustments deadweight displacement
optimism bias note series monthly weekly yearly annual season seasonality linear
quadratic model models prediction predicted projected projection intervention
caseworker caseworkers flexjob approved recipients uptake spending rose fell statement
implied assumption green red above below one assumption time
""".split()

SHARED = set(
    """
    for under over at by man is to den hale land fast mark bare tag hen sort kind rim art
    bad hall hold stand start test model trend data total interval design population
    score rate plus minus case business gift red per be set time standard fit post note
    donor balance event relative person net en her service version refusion tornado et se
    april august september november december jan feb mar apr jun jul aug sep nov dec
    end gives regression placebo permutations sum negative de
    have robust sandwich overlap inverse logit caliper chi chance var satsregulering
    """.split()
)
"""Words Danish shares with English (each is also a Danish word, or a loanword Danish
public administration uses as such: "business case", "design", "data", "score").
English ones that happen to be Danish too are not leftovers."""

PROPER_NAMES = set(
    """
    ljung box wilson clopper pearson newcombe miettinen nurminen goodman sison glaz fisher
    monte carlo abadie diamond hainmueller callaway sant anna borusyak jaravel spiess
    kaplan meier cox greenwood klein moeschberger ols rmse rmspe star lbk sha evaluate
    excel satterthwaite ar gls reml rho likelihood arkhangelsky chaisemartin haultf uille
    omega sc sdid did cr honestdid
    imbens welch rosenbaum hájek kalbfleisch prentice royston parmar bjs statsmodels ets
    sarimax log rank att ate rmst mae sd smd rr rv ess
    """.split()
)
"""Names of methods and people, and acronyms and terms Danish uses as they are
('maksimum likelihood' is the Danish statistical term)."""

ENGLISH_ABBREVIATIONS = {"CI", "DKK", "mDKK", "FTE", "SE", "pp"}

ENGLISH_NUMBERS = [
    (re.compile(r"\b\d{1,3}(?:,\d{3}){2,}\b"), "English thousands separators"),
    (re.compile(r"\b\d{1,3}(?:,\d{3})+\.\d+\b"), "English thousands and decimal point"),
    (re.compile(r"(?<![\d.,])\d+\.\d{1,2}(?![\d.,])"), "English decimal point"),
    (re.compile(r"(?<![\d.,])\d+\.\d{4,}(?![\d.,])"), "English decimal point"),
    (re.compile(r"\b[1-9]\d{1,2},000(?![\d.,])"), "a count with decimals or English thousands"),
    (re.compile(r"\b\d{1,3},\d{3} ?(?:DKK|kr)"), "English thousands in an amount"),
    (re.compile(r"\d%"), "a percent sign without the Danish space"),
]
"""Patterns a Danish number never has.  Dates (29.10.2019), version numbers and
legal references are removed first; "3.337" is ambiguous in writing and is caught
where the formatter makes it (``test_fmt``), not here."""


def _english_templates() -> list[str]:
    templates = []
    for path in (ROOT / "evaluate").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "Text":
                if len(node.args) >= 2 and isinstance(node.args[1], ast.Constant):
                    templates.append(node.args[1].value)
    return templates


def _toml_values(name: str) -> list[str]:
    def walk(value: object) -> list[str]:
        if isinstance(value, dict):
            return [s for v in value.values() for s in walk(v)]
        if isinstance(value, list):
            return [s for v in value for s in walk(v)]
        return [value] if isinstance(value, str) else []

    with (LOCALE / name).open("rb") as handle:
        return walk(tomllib.load(handle))


WORD = re.compile(r"[A-Za-zÆØÅæøåéüá]+(?:'[a-z]+)?")


def _words(text: str) -> list[str]:
    return WORD.findall(re.sub(r"\{[a-z_0-9]+\}", " ", text))


ENGLISH = (
    (
        {w.lower() for t in _english_templates() for w in _words(t)}
        | {
            w.lower()
            for f in ("en.toml", "excel_en.toml")
            for t in _toml_values(f)
            for w in _words(t)
        }
        | set(COMMON_ENGLISH)
    )
    - SHARED
    - PROPER_NAMES
)
ENGLISH = {w for w in ENGLISH if len(w) > 1}


def _danish_specs() -> list[Path]:
    specs = []
    for path in sorted(STUDIES.glob("*.toml")):
        spec = load_spec(path)
        if spec.study.language == "da" or "da" in spec.report.also_in:
            specs.append(path)
    return specs


def _identifiers(path: Path) -> set[str]:
    """The spec's identifiers (column names, data, effect and case keys, files): verbatim."""
    spec = load_spec(path)
    names = {d.name for d in spec.data} | {d.path or "" for d in spec.data}
    names |= {e.name for e in spec.effect} | {b.name for b in spec.business_case}  # keys
    for effect in spec.effect:
        for value in effect.options.values():
            values = value if isinstance(value, list) else [value]
            names |= {v for v in values if isinstance(v, str)}
    return {w.lower() for name in names for w in _words(name)}


def _without_verbatim(text: str) -> str:
    text = re.sub(r"data:image/[a-z]+;base64,[A-Za-z0-9+/=]+", " ", text)
    text = re.sub(r"<(script|style)\b.*?</\1>", " ", text, flags=re.S)
    text = re.sub(r"<[^>]+>", " ", text)
    text = html.unescape(text)
    text = re.sub(r"`[^`]*`", " ", text)  # code
    text = re.sub(r"\]\([^)]*\)", "] ", text)  # link targets
    text = re.sub(r"\b[\w./-]+\.(?:py|csv|toml|png|parquet|xlsx)\b", " ", text)  # files
    text = re.sub(r"\b\w+(?:\.\w+)+\([^)]*\)", " ", text)  # calls in citations
    text = re.sub(r"\b\w*_\w*\b", " ", text)  # identifiers
    text = re.sub(r"\b[0-9a-f]{16,}\b", " ", text)  # hashes
    return text


def _numbers_without_dates(text: str) -> str:
    text = re.sub(r"\b\d{1,2}\.\d{1,2}\.\d{4}\b", " ", text)  # 29.10.2019
    text = re.sub(r"\b\d+\.\d+\.\d+\b", " ", text)  # versions
    return text


def leftovers(text: str, identifiers: set[str] = frozenset()) -> list[str]:
    """English words and English-formatted numbers in ``text`` (a Danish report)."""
    clean = _without_verbatim(text)
    found = [
        word
        for word in _words(clean)
        if (word.lower() in ENGLISH and word.lower() not in identifiers)
        or word in ENGLISH_ABBREVIATIONS
    ]
    numbers = _numbers_without_dates(clean)
    for pattern, what in ENGLISH_NUMBERS:
        found += [f"{m.group(0)!r} ({what})" for m in pattern.finditer(numbers)]
    return found


def _excel_text(path: Path) -> str:
    book = openpyxl.load_workbook(path)
    parts = list(book.sheetnames)
    for sheet in book.worksheets:
        for row in sheet.iter_rows():
            for cell in row:
                if isinstance(cell.value, str) and not cell.value.startswith("="):
                    parts.append(cell.value)
                fmt = cell.number_format or ""
                parts += re.findall(r'"([^"]*)"', fmt)  # literal text in a number format
    return "\n".join(parts)


@pytest.fixture(scope="module")
def danish_reports(tmp_path_factory) -> list[tuple[str, str, set[str]]]:
    """(where, text, identifiers) for every part of every Danish report."""
    parts = []
    for spec in _danish_specs():
        out = tmp_path_factory.mktemp(spec.stem)
        with recording_text() as figure_text:
            run_study(spec, out)
        folder = out if load_spec(spec).study.language == "da" else out / "da"
        ids = _identifiers(spec)
        for name in ("report.md", "report.html"):
            if (folder / name).exists():
                parts.append((f"{spec.stem}/{name}", (folder / name).read_text("utf-8"), ids))
        if (folder / "report.xlsx").exists():
            parts.append((f"{spec.stem}/report.xlsx", _excel_text(folder / "report.xlsx"), ids))
        figures = "\n".join(text for language, text in figure_text if language == "da")
        parts.append((f"{spec.stem}/figures", figures, ids))
    return parts


def test_the_studies_include_danish_reports():
    assert {p.stem for p in _danish_specs()} >= {"faxe_fleksjob", "solroed_business_case"}


def test_a_danish_report_has_no_english_leftovers(danish_reports):
    problems = {
        where: found for where, text, ids in danish_reports if (found := leftovers(text, ids))
    }
    assert not problems, "\n".join(f"{k}: {sorted(set(v))}" for k, v in problems.items())


def test_the_checker_finds_english_words_and_numbers():
    assert leftovers("Nettogevinst 1.234,5 kr.; 95 % KI") == []
    assert "observed" in leftovers("observeret og observed")
    assert leftovers("RMSE 3,337; n = 285") == []
    assert any("285,000" in f for f in leftovers("n = 285,000"))
    assert any("4,185" in f for f in leftovers("4,185 DKK/uge"))
    assert any("20.0" in f for f in leftovers("efter 20.0 % refusion"))
    assert any("%" in f for f in leftovers("±20%"))
    assert leftovers("Faxe Kommune, pressemeddelelse 29.10.2019") == []


def test_every_sentence_key_has_a_danish_template_with_the_same_fields():
    danish = tomllib.loads((LOCALE / "da.toml").read_text("utf-8"))["text"]
    missing, mismatched = [], []
    for path in (ROOT / "evaluate").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not (isinstance(node, ast.Call) and getattr(node.func, "id", None) == "Text"):
                continue
            key, english = node.args[:2] if len(node.args) >= 2 else (None, None)
            if not (isinstance(key, ast.Constant) and isinstance(english, ast.Constant)):
                continue  # composed keys are checked by the report test above
            if key.value not in danish:
                missing.append(key.value)
            elif set(re.findall(r"\{(\w+)\}", english.value)) != set(
                re.findall(r"\{(\w+)\}", danish[key.value])
            ):
                mismatched.append(key.value)
    assert not missing, f"keys without a Danish template in da.toml [text]: {sorted(missing)}"
    assert not mismatched, f"Danish templates whose fields differ: {sorted(mismatched)}"
