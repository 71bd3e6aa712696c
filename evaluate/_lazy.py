"""Attributes of a package imported on first use (PEP 562).

``import evaluate`` or ``import evaluate.data.series`` should not pay for numba,
scipy.stats and statsmodels when the caller needs none of them.  A package lists
its public names with the module that defines each, and gets ``__getattr__`` and
``__dir__`` functions that import a name's module the first time it is asked for.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import Any


def lazy_exports(
    package: str, names: Mapping[str, str], namespace: dict[str, Any]
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """``__getattr__`` and ``__dir__`` for ``package``, whose globals are ``namespace``.

    ``names`` maps each public name to the module that defines it; a name that
    maps to its own dotted path (``"money": "evaluate.money"``) is a sub-module.
    """

    def __getattr__(name: str) -> Any:
        if name not in names:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        module = importlib.import_module(names[name])
        value = module if names[name] == f"{package}.{name}" else getattr(module, name)
        namespace[name] = value  # later look-ups do not come here again
        return value

    def __dir__() -> list[str]:
        return sorted(set(namespace) | set(names))

    return __getattr__, __dir__
