"""The study spec: a strict, declarative description of one evaluation.

A spec is TOML parsed into frozen pydantic models that forbid unknown keys, so a
typo is an error, not a silent default.  Specs are data: they name data files,
designs, money lines and report options, and never execute code.  Every step is
validated (files exist, effects referenced by money lines exist, ...) before
anything is fitted.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PydanticSchemaGenerationError,
    TypeAdapter,
    ValidationError,
    model_validator,
)

from evaluate._spec_base import Finite, Money, _Strict
from evaluate.errors import SpecError
from evaluate.limits import check_count, limit
from evaluate.spec_read import ReadOptions, TreatmentColumn


class StudyInfo(_Strict):
    title: str
    description: str = ""
    language: Literal["en", "da"] = "en"
    seed: int = 0
    population: str = "not stated"


class DataSource(ReadOptions):
    """A data file (CSV, Parquet, Excel) relative to the spec, a snapshot of a public
    table (``evaluate fetch``: Parquet plus its JSON sidecar), or a bundled dataset."""

    name: str
    path: str | None = None
    snapshot: str | None = None
    dataset: str | None = None
    source: str = ""
    simulated: bool = False
    note: str = ""
    trusted_path: bool = False
    """Allow ``path`` to leave the spec's folder (absolute, or climbing with ``..``)."""
    treatment: TreatmentColumn | None = None

    @model_validator(mode="after")
    def _one_location(self) -> DataSource:
        given = [k for k in ("path", "snapshot", "dataset") if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError(
                f"data {self.name!r}: give exactly one of path, snapshot and dataset "
                f"(got {given or 'none'})"
            )
        if self.dataset is not None:
            import evaluate.datasets as bundled

            if self.dataset not in bundled.__all__:
                raise ValueError(
                    f"data {self.name!r}: unknown dataset {self.dataset!r}; "
                    f"bundled: {', '.join(bundled.__all__)}"
                )
        return self


def _check_option_types(hints: dict[str, Any], options: dict[str, Any], design: str) -> None:
    """Validate each option against the type its design declares, before anything runs."""
    for key, value in options.items():
        if hints.get(key) is None:  # not declared with a checkable type: the design checks
            continue
        try:
            TypeAdapter(hints[key]).validate_python(value)
        except PydanticSchemaGenerationError:  # pragma: no cover - an exotic type
            continue
        except ValidationError as err:
            reason = err.errors()[0]["msg"]
            raise ValueError(
                f"option {key!r} of design {design!r}: {reason} (got {value!r})"
            ) from None


_RESERVED = {"name", "design", "label", "data", "population", "source", "simulated"}
_COUNTS = {"n_boot": "resamples", "bootstrap": "resamples", "placebo_reps": "resamples"}
"""Options that set how many times a design refits or redraws (bounded by
:mod:`evaluate.limits`), checked when the spec is read rather than when it runs."""
_FROM_THE_STUDY = {"name", "population", "alpha", "source", "seed", "simulated"}
"""Options the runner passes to every design that accepts them (see ``study._fit_effect``)."""


def _required_options(options: list[Any], takes_data: bool) -> set[str]:
    """Options of a design's front door that have no default and that neither the
    data nor the study supplies: the spec must give them."""
    if takes_data and options and options[0].positional:
        options = options[1:]  # the data frame under another name (``cells``)
    return {o.name for o in options if o.default == "required" and o.name not in _FROM_THE_STUDY}


class EffectSpec(BaseModel):
    """One effect: a design from :data:`evaluate.estimators.DESIGNS` and its options.

    ``name`` is the key other parts of the spec refer to; ``label`` is what the
    report shows.  Every other key is passed to the design's function as a keyword
    option and must be one of its parameters.
    """

    model_config = ConfigDict(extra="allow", frozen=True)

    name: str
    design: str
    label: str = ""
    data: str | None = None
    population: str | None = None
    source: str = ""
    compare_as: str | None = None
    """Effects with the same ``compare_as`` estimate the same quantity: the report
    sets them side by side (a forest plot) and says whether they agree."""

    @property
    def options(self) -> dict[str, Any]:
        return dict(self.model_extra or {})

    @model_validator(mode="after")
    def _known_design_and_options(self) -> EffectSpec:
        from evaluate.estimators import DESIGNS

        if self.design not in DESIGNS:
            raise ValueError(
                f"unknown design {self.design!r}; available: {', '.join(sorted(DESIGNS))}"
            )
        design = DESIGNS[self.design]
        declared = {option.name: option.hint for option in design.options()}
        accepted = set(declared) - _RESERVED
        unknown = sorted(set(self.options) - accepted)
        from evaluate.estimators._renamed import RENAMED, renamed_message

        for old in unknown:
            if RENAMED.get(old) in accepted:
                raise ValueError(renamed_message(self.design, old, RENAMED[old]))
        if unknown:
            raise ValueError(
                f"unknown option(s) {unknown} for design {self.design!r} (a typo?); "
                f"it accepts: {', '.join(sorted(accepted))}"
            )
        missing = sorted(_required_options(design.options(), design.takes_data) - set(self.options))
        if missing:
            raise ValueError(
                f"design {self.design!r} needs option(s) {missing}; add "
                + ", ".join(f"{m} = ..." for m in missing)
                + " to this [[effect]]"
            )
        _check_option_types(declared, self.options, self.design)
        bound = limit("abs_value")
        for key, value in self.options.items():
            numbers = value.values() if isinstance(value, dict) else value
            if not isinstance(value, dict | list):
                numbers = [value]
            for number in numbers:
                if isinstance(number, int | float) and not abs(number) <= bound:
                    raise ValueError(
                        f"option {key!r} = {number!r} is beyond the {bound:.0e} the "
                        "estimators handle; rescale it (e.g. to thousands)"
                    )
        for key, kind in _COUNTS.items():
            value = self.options.get(key)
            if isinstance(value, int) and not isinstance(value, bool):
                check_count(key, value, kind)
        if design.takes_data and self.data is None:
            raise ValueError(f'design {self.design!r} needs data = "<name of a [[data]] entry>"')
        if not design.takes_data and self.data is not None:
            raise ValueError(f"design {self.design!r} takes no data; remove data = {self.data!r}")
        return self


class RateRef(_Strict):
    """A bundled rate: ``year`` left out prices each year of the line at its own rate."""

    benefit: str
    year: int | None = None
    category: str | None = None


class AverageFrom(_Strict):
    """Where the shortcut's one average refusion share comes from: 1 - sum(net) /
    sum(gross) over the rows of ``data`` where ``untreated`` is 0 (the accounts)."""

    data: str
    gross: str
    net: str
    untreated: str


class WeekProfileSpec(_Strict):
    """The effect split by weeks of support: ``steps`` maps support weeks ("1-4",
    "5-26", "27-52", "53-") to the effect measured on the person-weeks of that step."""

    steps: dict[str, str] = Field(min_length=1)
    average_from: AverageFrom | None = None


class EffectLineSpec(_Strict):
    kind: Literal["effect"]
    name: str
    effect: str
    years: dict[int, Finite] | list[int]
    dkk_per_unit: Money | dict[int, Money] | None = None
    total_dkk: Money | None = None
    rate: RateRef | None = None
    sign: Literal[1, -1] = 1
    refusion_weeks: tuple[int, int] | None = None
    week_profile: WeekProfileSpec | None = None
    perspective: Literal["municipality", "state", "society"] = "municipality"
    category: Literal["service", "transfers", "capital"] = "transfers"
    source: str = ""

    @model_validator(mode="after")
    def _one_price(self) -> EffectLineSpec:
        given = [k for k in ("dkk_per_unit", "total_dkk", "rate") if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError(
                f"line {self.name!r}: give exactly one of dkk_per_unit, total_dkk or rate "
                f"(got {given or 'none'})"
            )
        if self.week_profile is not None and self.refusion_weeks is not None:
            raise ValueError(
                f"line {self.name!r}: give refusion_weeks or week_profile, not both "
                "(the profile prices refusion week by week)"
            )
        return self


class StaffLineSpec(_Strict):
    kind: Literal["staff"]
    name: str
    fte: Annotated[float, Field(allow_inf_nan=False, ge=0, le=1e6)]
    annual_cost_dkk: Money
    price_year: int | None = None
    """The price level of ``annual_cost_dkk``; each year is then indexed with the PL
    index (PriceIndex.danish_pl) to that year's level."""
    years: dict[int, Finite] | list[int]
    perspective: Literal["municipality", "state", "society"] = "municipality"
    category: Literal["service", "transfers", "capital"] = "service"
    source: str = ""


class CostLineSpec(_Strict):
    kind: Literal["cost"]
    name: str
    amounts_dkk: dict[int, Money]
    perspective: Literal["municipality", "state", "society"] = "municipality"
    category: Literal["service", "transfers", "capital"] = "service"
    source: str = ""


LineSpec = Annotated[EffectLineSpec | StaffLineSpec | CostLineSpec, Field(discriminator="kind")]


class EvidenceDiscountSpec(_Strict):
    """Optimism-bias discount of the benefit lines by evidence grade
    (:mod:`evaluate.grade`): a share for each grade A-D and the table it comes from."""

    A: float = Field(ge=0, lt=1)
    B: float = Field(ge=0, lt=1)
    C: float = Field(ge=0, lt=1)
    D: float = Field(ge=0, lt=1)
    source: str = Field(min_length=1)

    @model_validator(mode="after")
    def _source_given(self) -> EvidenceDiscountSpec:
        if not self.source.strip():
            raise ValueError("evidence_discount needs source = '<the guidance table cited>'")
        return self


class BusinessCaseSpec(_Strict):
    name: str
    title: str
    price_level: str
    sign: Literal["municipal", "plain"] = "municipal"
    discount: Literal["none", "finansministeriet"] | float = "none"
    base_year: int | None = None
    n_draws: int = Field(default=10_000, ge=100, le=1_000_000)
    deadweight: float = Field(default=0.0, ge=0, lt=1)
    displacement: float = Field(default=0.0, ge=0, lt=1)
    optimism_bias: float = Field(default=0.0, ge=0, le=2)
    evidence_discount: EvidenceDiscountSpec | None = None
    """Lower the benefit lines by the evidence grade of their effect (shares and source
    from the spec; the report prints them and the net gain before and after)."""
    horizon: int | None = None
    years_assumed: bool = False
    """The years of the lines are the study's assumption (the source gives totals
    without years): the report gives no payback year."""
    note: str = ""
    line: list[LineSpec] = Field(min_length=1)


class ClaimSpec(_Strict):
    """One row of the claim table: what the source says and what the study adds.

    ``says`` quotes or paraphrases the source (``source`` names where); ``used_in``
    says where the study uses it; ``assumes`` what the study assumes in addition.
    ``assumed = true`` flags a number the source does not give: the study's own
    assumption (then ``says`` may be empty).
    """

    says: str = ""
    source: str = ""
    used_in: str = ""
    assumes: str = ""
    assumed: bool = False

    @model_validator(mode="after")
    def _says_or_assumed(self) -> ClaimSpec:
        if not self.says.strip() and not self.assumed:
            raise ValueError(
                "a claim needs says = '<what the source says>', or assumed = true for a "
                "number the source does not give"
            )
        if self.assumed and not self.assumes.strip():
            raise ValueError("an assumed claim needs assumes = '<what the study assumes>'")
        return self


class ReportSpec(_Strict):
    """Report options: formats, confidence level, and further languages.

    ``also_in = ["da"]`` writes the same report once more, in Danish, into the
    sub-folder ``da/`` of the output folder.  ``translations.da`` maps the study's
    own texts (title, description, labels, line names, notes) to Danish for that
    copy (:mod:`evaluate.report.translate`); untranslated text stays as written.

    ``formats`` may add ``"docx"`` (an editable Word copy) and ``"pdf"`` (the HTML
    report printed on A4); ``docx_template`` names the municipality's own Word
    template, relative to the spec (:mod:`evaluate.report.docx`).
    """

    formats: list[Literal["html", "md", "xlsx", "docx", "pdf"]] = ["html", "md", "xlsx"]
    alpha: float = Field(default=0.05, gt=0, lt=1)
    also_in: list[Literal["en", "da"]] = []
    translations: dict[Literal["en", "da"], dict[str, str]] = {}
    docx_template: str | None = None

    @model_validator(mode="after")
    def _template_needs_docx(self) -> ReportSpec:
        if self.docx_template is not None:
            if "docx" not in self.formats:
                raise ValueError(
                    f"docx_template {self.docx_template!r} is given but 'docx' is not in "
                    f"formats ({self.formats}); add it or drop the template"
                )
            if not self.docx_template.lower().endswith(".docx"):
                raise ValueError(
                    f"docx_template {self.docx_template!r} is not a .docx file; save the "
                    "template as a Word document (.docx)"
                )
        return self


class StudySpec(_Strict):
    study: StudyInfo
    data: list[DataSource] = []
    effect: list[EffectSpec] = Field(min_length=1)
    business_case: list[BusinessCaseSpec] = []
    claim: list[ClaimSpec] = []
    report: ReportSpec = ReportSpec()

    def user_texts(self) -> set[str]:
        """The study's own texts, which ``report.translations`` may translate."""
        texts = {self.study.title, self.study.description, self.study.population}
        texts |= {d.note for d in self.data} | {d.source for d in self.data}
        for e in self.effect:
            texts |= {e.label or e.name, e.population or "", e.source}
            # a design's own labels (outcome_label = "full-time persons on ..."), which
            # its sentences carry into the report
            texts |= {
                v for k, v in e.options.items() if k.endswith("_label") and isinstance(v, str)
            }
        for case in self.business_case:
            texts |= {case.title, case.note, case.price_level}
            if case.evidence_discount is not None:
                texts.add(case.evidence_discount.source)
            texts |= {text for line in case.line for text in (line.name, line.source)}
        for claim in self.claim:
            texts |= {claim.says, claim.source, claim.used_in, claim.assumes}
        return {t for t in texts if t}

    @model_validator(mode="after")
    def _references(self) -> StudySpec:
        data_names = [d.name for d in self.data]
        effect_names = [e.name for e in self.effect]
        for kind, names in (
            ("data", data_names),
            ("effect", effect_names),
            ("business_case", [b.name for b in self.business_case]),
        ):
            duplicates = sorted({n for n in names if names.count(n) > 1})
            if duplicates:
                raise ValueError(f"duplicate {kind} names: {duplicates}")
        for effect in self.effect:
            if effect.data is not None and effect.data not in data_names:
                raise ValueError(
                    f"effect {effect.name!r} uses data {effect.data!r}, which no [[data]] "
                    f"entry defines (defined: {data_names})"
                )
        for case in self.business_case:
            for line in case.line:
                if isinstance(line, EffectLineSpec) and line.effect not in effect_names:
                    raise ValueError(
                        f"business case {case.name!r}, line {line.name!r}: unknown effect "
                        f"{line.effect!r} (defined: {effect_names})"
                    )
                profile = getattr(line, "week_profile", None)
                if profile is None:
                    continue
                for step, name in profile.steps.items():
                    if name not in effect_names:
                        raise ValueError(
                            f"line {line.name!r}: week step {step!r} names unknown effect "
                            f"{name!r} (defined: {effect_names})"
                        )
                if profile.average_from and profile.average_from.data not in data_names:
                    raise ValueError(
                        f"line {line.name!r}: average_from uses data "
                        f"{profile.average_from.data!r}, which no [[data]] entry defines"
                    )
        texts = self.user_texts()
        for language, table in self.report.translations.items():
            if language not in self.report.also_in:
                raise ValueError(
                    f"report.translations.{language}: {language!r} is not in report.also_in "
                    f"({self.report.also_in}); add it there or drop the table"
                )
            unknown = [key for key in table if key not in texts]
            if unknown:
                raise ValueError(
                    f"report.translations.{language}: {unknown[:3]} match no title, "
                    "description, population, label, line name, claim or note of this spec "
                    "exactly"
                )
        return self


def _location(loc: tuple) -> str:
    parts: list[str] = []
    for item in loc:
        if isinstance(item, int):
            parts[-1] = f"{parts[-1]}[{item}]" if parts else f"[{item}]"
        else:
            parts.append(str(item))
    return ".".join(parts) or "(top level)"


def _named(raw: Any, loc: tuple) -> str:
    """`` (in effect 'name')``: which ``[[effect]]``, ``[[data]]`` or business case."""
    if len(loc) >= 2 and isinstance(loc[1], int) and isinstance(raw, dict):
        entries = raw.get(loc[0])
        if isinstance(entries, list) and loc[1] < len(entries):
            name = entries[loc[1]].get("name") if isinstance(entries[loc[1]], dict) else None
            if isinstance(name, str):
                return f" (in {loc[0]} {name!r})"
    return ""


def parse_spec(text: str, *, origin: str = "<spec>") -> StudySpec:
    """Parse TOML text into a :class:`StudySpec`, or raise :class:`SpecError`."""
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        raise SpecError(f"{origin}: not valid TOML: {err}") from None
    try:
        return StudySpec.model_validate(raw)
    except ValidationError as err:
        problems = []
        for e in err.errors():
            message = e["msg"].removeprefix("Value error, ")
            if e["type"] == "extra_forbidden":
                message = "unknown key (a typo?); remove it or check the spelling"
            problems.append(f"  {_location(e['loc'])}: {message}{_named(raw, e['loc'])}")
        raise SpecError(f"{origin}: invalid study spec\n" + "\n".join(problems)) from None


def _data_file(spec_path: Path, source: DataSource, *, allow_outside: bool) -> Path:
    """The file a ``[[data]]`` path (or snapshot) names, checked to exist and, unless
    allowed, to lie inside the spec's folder: a spec passed around reads only what lies
    beside it.  A snapshot needs its JSON sidecar too."""
    given = source.path or source.snapshot
    assert given is not None
    folder = spec_path.parent.resolve()
    file = (folder / given).resolve()
    if not (allow_outside or source.trusted_path or file.is_relative_to(folder)):
        raise SpecError(
            f"{spec_path}: data {source.name!r} points to {given!r}, outside the "
            f"spec's folder {folder}. Copy the file beside the spec, or allow it "
            "deliberately with trusted_path = true in that [[data]] entry or "
            "--allow-outside-data on the command line."
        )
    if not file.is_file():
        what = "is a folder, not a file" if file.is_dir() else "does not exist"
        raise SpecError(
            f"{spec_path}: data {source.name!r} points to {given!r}, which {what} "
            f"(looked for {file})."
        )
    if source.snapshot is not None:
        if file.suffix.lower() != ".parquet":
            raise SpecError(
                f"{spec_path}: data {source.name!r}: snapshot {given!r} must be the .parquet "
                "file that `evaluate fetch` wrote."
            )
        if not file.with_suffix(".json").is_file():
            raise SpecError(
                f"{spec_path}: data {source.name!r}: snapshot {given!r} has no sidecar "
                f"{file.with_suffix('.json').name} beside it; fetch it again with `evaluate fetch`."
            )
    return file


def load_spec(path: str | Path, *, allow_outside_data: bool = False) -> StudySpec:
    """Read and validate a study spec file; data paths must exist beside the spec.

    A data path that leaves the spec's folder (absolute, or through ``..`` or a
    link) is an error unless ``allow_outside_data`` or the entry's
    ``trusted_path = true`` allows it.
    """
    path = Path(path)
    if not path.is_file():
        what = "is a folder, not a spec file" if path.is_dir() else "not found"
        raise SpecError(f"Study spec {str(path)!r} {what}.")
    try:
        # utf-8-sig: Notepad's "UTF-8 with BOM" and PowerShell's Set-Content -Encoding
        # UTF8 start the file with a byte-order mark, which TOML does not allow.
        text = path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError as err:
        raise SpecError(
            f"{path}: byte {err.start} is not UTF-8; save the spec as UTF-8 (TOML must be; "
            "in Notepad: Save as, Encoding UTF-8)."
        ) from None
    except OSError as err:
        raise SpecError(f"{path}: cannot be read ({err.strerror}).") from None
    spec = parse_spec(text, origin=str(path))
    if spec.report.docx_template is not None:
        template = path.parent / spec.report.docx_template
        if not template.is_file():
            raise SpecError(
                f"{path}: report.docx_template points to {spec.report.docx_template!r}, which "
                f"does not exist (looked for {template})."
            )
        # The report is written far from the spec; it needs the template's full path.
        report = spec.report.model_copy(update={"docx_template": str(template.resolve())})
        spec = spec.model_copy(update={"report": report})
    for source in spec.data:
        if source.path is not None or source.snapshot is not None:
            _data_file(path, source, allow_outside=allow_outside_data)
    return spec
