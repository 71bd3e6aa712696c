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
"""

from __future__ import annotations

import functools
from collections.abc import Callable
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
            "outcome, e.g. outcome_unit = \"full-time persons\", \"persons\" or \"share\"); "
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
            return function(*args, **kwargs)

        return front_door  # type: ignore[return-value]

    return decorate


__all__ = ["RENAMED", "renamed_message", "renamed_options"]
