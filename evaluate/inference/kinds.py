"""Kinds of uncertainty: what an interval around a number *is*.

Two intervals can look alike and mean different things.  An interval estimated
from data carries sampling uncertainty; a range a source states ("150-200 a
year") is a scenario or a target, not a distribution anyone estimated.  Every
effect says which it is (``effect.uncertainty``), and the business case and the
report act on it:

========================  ===========================================================
``"sampling"``            estimated from data: a confidence interval, a p-value, and
                          draws that may be turned into a probability of a gain
``"prior"``               a belief the study declares, with its source: drawn like a
                          sampling distribution, never given a p-value
``"point"``               a stated number without any uncertainty
``"stated_range"``        a source's or the user's scenario (low, central, high): no
                          probability and no p-value, only scenarios
``"target"``              a political or planned target: shown as scenarios, never
                          as an estimate, never with a p-value
========================  ===========================================================

A business case gives an interval and a probability of a gain only when every
uncertain input is ``"sampling"`` or ``"prior"`` (:data:`PROBABILISTIC`);
otherwise it shows a scenario table (:mod:`evaluate.headline`).
"""

from __future__ import annotations

from typing import Literal

from evaluate.inference.distributions import Distribution, PointMass, SplitNormal

UncertaintyKind = Literal["sampling", "stated_range", "target", "point", "prior"]
KINDS: tuple[str, ...] = ("sampling", "stated_range", "target", "point", "prior")
PROBABILISTIC = frozenset({"sampling", "prior"})
"""Kinds whose draws may be read as probabilities."""
SCENARIO = frozenset({"stated_range", "target"})
"""Kinds whose range is a set of scenarios, not a distribution."""
HAS_P_VALUE = frozenset({"sampling"})
"""Only an estimate from data has a p-value: a test of a target or a scenario tests nothing."""


def kind_of(distribution: Distribution) -> UncertaintyKind:
    """The kind a distribution has when nobody declared one.

    A :class:`PointMass` is a stated number, a :class:`SplitNormal` a stated range;
    every other reference distribution (normal, t, empirical) comes from data.
    """
    if isinstance(distribution, PointMass):
        return "point"
    if isinstance(distribution, SplitNormal):
        return "stated_range"
    return "sampling"


def check_kind(kind: str, *, has_range: bool, source: str, name: str) -> UncertaintyKind:
    """Validate a declared kind for a stated number (``kind`` option of the stated designs).

    ``"auto"`` gives ``"stated_range"`` with a range and ``"point"`` without; a
    ``"prior"`` needs a range (its spread) and a source (whose belief it is); a
    ``"point"`` cannot have a range; ``"sampling"`` cannot be declared for a number
    nobody estimated here.
    """
    from evaluate.errors import SpecError

    if kind == "auto":
        return "stated_range" if has_range else "point"
    if kind not in KINDS:
        raise SpecError(
            f"{name}: kind must be one of 'auto', {', '.join(repr(k) for k in KINDS)}; "
            f"got {kind!r}."
        )
    if kind == "sampling":
        raise SpecError(
            f"{name}: a stated number cannot have sampling uncertainty (nothing was "
            "estimated here); use kind = 'prior' with a source for a belief about its spread."
        )
    if kind == "point" and has_range:
        raise SpecError(f"{name}: kind = 'point' is a number without a range; drop the range.")
    if kind in ("prior", "stated_range") and not has_range:
        raise SpecError(f"{name}: kind = {kind!r} needs a range (low, high).")
    if kind == "prior" and not source.strip():
        raise SpecError(
            f"{name}: kind = 'prior' is a belief someone declares; give its source "
            "(source = '...') so a reader can check it."
        )
    return kind  # type: ignore[return-value]


__all__ = [
    "HAS_P_VALUE",
    "KINDS",
    "PROBABILISTIC",
    "SCENARIO",
    "UncertaintyKind",
    "check_kind",
    "kind_of",
]
