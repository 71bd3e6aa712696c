"""The words of an observational result: method, estimand, diagnostics' names and notes.

Every sentence is a :class:`~evaluate.text.Text`, so a report in another language
says it in its own words (``evaluate/report/locale/<language>.toml``, ``[text]``).
"""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING

from evaluate.effect import Diagnostic
from evaluate.errors import SmallSampleWarning
from evaluate.text import Num, Pct, Text

if TYPE_CHECKING:
    from evaluate.estimators.observational._methods import _Fit

_LABELS = {
    "difference": Text("observational.method_difference", "Unadjusted difference in means"),
    "regression": Text(
        "observational.method_regression",
        "Regression adjustment (imputation from a linear outcome model)",
    ),
    "ipw": Text(
        "observational.method_ipw",
        "Inverse probability weighting (logit propensity score, Hájek weights)",
    ),
    "aipw": Text(
        "observational.method_aipw",
        "Doubly robust augmented IPW (logit propensity + linear outcome model)",
    ),
}


_GROUPS = {
    "treated": Text("observational.group_treated", "treated"),
    "control": Text("observational.group_control", "control"),
}
#: the diagnostics' names, said once (the notes look them up by the English name)
_ESS = Text("observational.ess", "effective sample size of controls")
_OUT_TREATED = Text("observational.treated_outside", "treated outside common support")
_OUT_CONTROLS = Text("observational.controls_outside", "controls outside common support")
_SHARE = Text("observational.share", "share")
_SE = Text("observational.se", "SE")
_ESTIMATE = Text("observational.estimate", "estimate")


def estimand_text(method, estimand, treatment, outcome, *, trimmed: bool) -> Text:
    if method == "difference":
        return Text(
            "observational.estimand_difference",
            "difference in mean {outcome}, {treatment} = 1 minus {treatment} = 0 (unadjusted: "
            "the ATT only if the groups are comparable)",
            outcome=outcome,
            treatment=treatment,
        )
    key = f"observational.estimand_{estimand}" + ("_trimmed" if trimmed else "")
    target = "the treated (ATT)" if estimand == "att" else "everybody (ATE)"
    target += " in the trimmed / matched sample" if trimmed else ""
    return Text(
        key,
        "average effect of {treatment} on {outcome} for " + target,
        treatment=treatment,
        outcome=outcome,
    )


def matching_label(match_on, neighbours, caliper) -> Text:
    on = Text(
        f"observational.match_on_{match_on}",
        "the logit propensity score" if match_on == "propensity" else "covariates (Mahalanobis)",
    )
    if caliper is None:
        return Text(
            "observational.method_matching",
            "Nearest-neighbour matching with replacement on {on}, {k} neighbour(s)",
            on=on,
            k=int(neighbours),
        )
    return Text(
        "observational.method_matching_caliper",
        "Nearest-neighbour matching with replacement on {on}, {k} neighbour(s), caliper {caliper}",
        on=on,
        k=int(neighbours),
        caliper=Num.written(float(caliper)),
    )


def notes_for(spec, n_trim, fit: _Fit, diagnostics, n1) -> list[str]:
    notes = [
        Text(
            "observational.note_assumption",
            "Without randomization the estimate is causal only if, given the covariates, "
            "treatment is unrelated to the untreated outcome (no unmeasured confounding) and "
            "every treated unit has comparable controls (overlap).",
        )
    ]
    if spec["method"] == "difference":
        notes.append(
            Text(
                "observational.note_unadjusted",
                "No adjustment: differences in who was treated are part of this number.",
            )
        )
    if n_trim:
        notes.append(
            Text(
                "observational.note_trimmed",
                "{n} units with propensity scores outside [{low}, {high}] were trimmed; the "
                "estimate describes the remaining population.",
                n=n_trim,
                low=Num.written(spec["trim"]),
                high=Num.written(round(1 - spec["trim"], 12)),
            )
        )
    if fit.n_unmatched:
        notes.append(
            Text(
                "observational.note_unmatched",
                "{n} of {treated} treated had no control within the caliper and are "
                "excluded: the estimate is the effect on the matched treated only.",
                n=int(fit.n_unmatched),
                treated=int(n1),
            )
        )
    ess = diagnostics.get(_ESS)
    if isinstance(ess, Diagnostic) and ess.value < 30 and spec["method"] in ("ipw", "aipw"):
        notes.append(
            Text(
                "observational.note_ess",
                "The weighted controls are worth only {n} units (effective sample "
                "size): a few controls carry the estimate.",
                n=round(ess.value),
            )
        )
        warnings.warn(f"Effective sample size {ess.value:.0f} < 30.", SmallSampleWarning, 3)
    out_t = diagnostics.get(_OUT_TREATED)
    if isinstance(out_t, Diagnostic) and out_t.value > 0:
        notes.append(
            Text(
                "observational.note_extrapolation",
                "{share} of the treated have propensity scores beyond every control's: "
                "for them the comparison rests on extrapolation.",
                share=Pct(out_t.value, 1),
            )
        )
    return notes
