"""Input preparation of :mod:`evaluate.estimators.trials.trial`: arms, design checks, arrays.

Kept apart from the front door so ``trial.py`` reads as the method: this module
resolves which label is the control arm and which arms are compared, checks that
the assignment is a valid randomized design (clusters nested in arms and blocks,
every arm in every block, enough units per arm) and turns the cleaned frame into
the arrays the estimators use (arm codes, covariate / block-dummy matrix, units of
assignment, blocks).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from evaluate.errors import DataError, DesignError, SpecError

#: Default of ``control=``: "not given" (0 is the control when the arms are 0/1).
_NO_CONTROL = object()


def _resolve_arms(values: pd.Series, control: Any, arms: Sequence[Any] | None):
    present = [v.item() if isinstance(v, np.generic) else v for v in pd.unique(values)]
    if control is _NO_CONTROL:
        if set(present) <= {0, 1} or set(present) <= {False, True}:
            control = 0
        else:
            raise SpecError(
                f"Arm labels are {sorted(map(str, present))}; say which is the control arm "
                "with control=<label>."
            )
    if control not in present:
        raise SpecError(
            f"control={control!r} is not a label of the arm column (labels: "
            f"{sorted(map(str, present))}). Check the spelling and type (0 vs '0')."
        )
    control = next(v for v in present if v == control)  # the data's own label (0 vs 0.0)
    if arms is None:
        others = sorted((v for v in present if v != control), key=lambda v: (str(type(v)), v))
    else:
        others = [a for a in arms if a != control]
        unknown = [v for v in present if v != control and v not in others]
        if unknown:
            raise DataError(
                f"The arm column holds label(s) {unknown} not listed in arms={list(arms)}. "
                "Add them to arms, or remove those rows."
            )
        empty = [a for a in others if a not in present]
        if empty:
            raise DesignError(f"Arm(s) {empty} have no units in the data; remove them from arms.")
    if not others:
        raise DesignError(
            f"Only the control arm {control!r} is present; there is nothing to compare."
        )
    return control, others


def _check_nested(frame: pd.DataFrame, inner: str, outer: str, what: str) -> None:
    counts = frame.groupby(inner)[outer].nunique()
    split = counts[counts > 1]
    if len(split):
        raise DesignError(
            f"{what} {list(split.index[:5])} contain units of more than one {outer!r} value; "
            f"{inner!r} must be nested in {outer!r} (a cluster is assigned as a whole)."
        )


def _check_assignment(
    work: pd.DataFrame, arm: str, n_arms: int, blocks: str | None, cluster: str | None
) -> None:
    """Clusters are nested in arms and blocks, and every block holds every arm."""
    if cluster:
        _check_nested(work, cluster, arm, "Clusters")
        if blocks:
            _check_nested(work, cluster, blocks, "Clusters")
    if blocks:
        per_block = work.groupby(blocks)[arm].nunique()
        short = per_block[per_block < n_arms]
        if len(short):
            raise DesignError(
                f"Block(s) {list(short.index[:5])} lack units of some arm; every block must "
                "contain every arm. Merge those blocks or drop the blocks option."
            )


def _design_arrays(work, spec):
    """Arm codes, design-matrix extras (covariates and/or block dummies), units, blocks."""
    codes = np.zeros(len(work), dtype=int)
    for k, label in enumerate(spec["arms"], start=1):
        codes[(work[spec["arm"]] == label).to_numpy()] = k
    parts = []
    if spec["adjust"] == "lin":
        parts.append(work[list(spec["covariates"])].to_numpy(float))
    blocks, cluster = spec["blocks"], spec["cluster"]
    if blocks:  # used by Lin / cluster fits and the Westfall-Young statistic
        parts.append(pd.get_dummies(work[blocks], drop_first=True).to_numpy(float))
    Z = np.hstack(parts) if parts else np.empty((len(work), 0))
    unit = pd.factorize(work[cluster])[0] if cluster else np.arange(len(work))
    block = pd.factorize(work[blocks])[0] if blocks else None
    return codes, Z, unit, block


def _check_estimable(work: pd.DataFrame, codes, unit_ids, spec) -> None:
    """At least two units (clusters) per arm; no Lin covariate constant within an arm."""
    what = "clusters" if spec["cluster"] else "units"
    for k, label in enumerate([spec["control"], *spec["arms"]]):
        n_k = len(np.unique(unit_ids[codes == k]))
        if n_k < 2:
            raise DesignError(
                f"Arm {label!r} has {n_k} {what} with an observed outcome; at least 2 are "
                "needed for a standard error."
            )
    if spec["adjust"] == "lin":
        for cov in spec["covariates"]:
            spread = work.groupby(spec["arm"])[cov].std(ddof=0)
            flat = [a for a in spread.index if spread[a] == 0]
            if flat:
                raise DesignError(
                    f"Covariate {cov!r} is constant within arm(s) {flat}, so its Lin "
                    "interaction is collinear with the arm dummy. Drop it from covariates."
                )
