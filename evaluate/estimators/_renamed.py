"""Options that changed name, and the error that says what they are called now.

``unit`` names the panel identifier (the kommune column) in every panel design;
the unit of *measure* of an outcome ("persons", "full-time persons", "share") is
``outcome_unit`` in every design.  Before, ``its``, ``trend_forecast``,
``model_forecast``, ``stated_effect``, ``trial``, ``observational`` and
``duration`` called the measure ``unit``, and ``callaway_santanna`` called it
``effect_unit``.  A call with an old name gets a :class:`~evaluate.errors.SpecError`
saying which name to use, rather than Python's bare "unexpected keyword".

The decorated function keeps its signature (``functools.wraps``), so
:func:`inspect.signature` and the spec's option reading
(:mod:`evaluate.estimators._signature`) see the plain front door.

Warnings.  A design warns with a ``stacklevel`` counted from its own front door; the
decorator adds a frame, so such a warning would point at the decorator's line.  The
front door therefore records the warnings the design raises and says each again at
the caller's line (the line of the user's ``ev.its(...)``), where the caller's
warning filters and "once per line" registry apply.  A design called inside another
design is re-pointed by each front door in turn, so the user sees their own line.
"""

from __future__ import annotations

import functools
import sys
import warnings
from collections.abc import Callable
from types import FrameType
from typing import Any, TypeVar

from evaluate.errors import SpecError

F = TypeVar("F", bound=Callable[..., Any])

#: old option name -> the name that replaced it, for every design
RENAMED = {"unit": "outcome_unit", "effect_unit": "outcome_unit"}


def renamed_message(design: str, old: str, new: str) -> str:
    """Words for an option given under its old name."""
    if new == "outcome_unit":
        return (
            f"{design}: option {old!r} is now 'outcome_unit' (the unit of measure of the "
            'outcome, e.g. outcome_unit = "full-time persons", "persons" or "share"); '
            "'unit' names only the panel identifier column of panel designs."
        )
    return f"{design}: option {old!r} is now {new!r}."


def renamed_options(*old_names: str) -> Callable[[F], F]:
    """Decorator: calling the design with one of ``old_names`` raises a SpecError
    naming the option that replaced it (see :data:`RENAMED`)."""

    def decorate(function: F) -> F:
        @functools.wraps(function)
        def front_door(*args: Any, **kwargs: Any) -> Any:
            for old in old_names:
                if old in kwargs:
                    raise SpecError(renamed_message(function.__name__, old, RENAMED[old]))
            caught: list[warnings.WarningMessage] = []
            try:
                with warnings.catch_warnings(record=True) as caught:
                    warnings.simplefilter("always")
                    return function(*args, **kwargs)
            finally:
                _say_again_at(caught, sys._getframe(1))

        return front_door  # type: ignore[return-value]

    return decorate


def _say_again_at(caught: list[warnings.WarningMessage], frame: FrameType) -> None:
    """Issue the recorded warnings again as if raised at ``frame``'s current line."""
    globals_ = frame.f_globals
    registry = globals_.setdefault("__warningregistry__", {})
    for w in caught:
        warnings.warn_explicit(
            w.message,
            w.category,
            frame.f_code.co_filename,
            frame.f_lineno,
            module=globals_.get("__name__", "<unknown>"),
            registry=registry,
            module_globals=globals_,
            source=w.source,
        )


__all__ = ["RENAMED", "renamed_message", "renamed_options"]
