"""A design's options read from its source, without importing it.

Checking a study spec needs each design's keyword options, their types and
defaults, but importing the design's module loads scipy, statsmodels and numba
(seconds on a cold start).  The front doors are plain ``def``s with keyword-only
parameters, literal defaults and annotations built from ``typing`` names and
``Literal`` aliases, so their source says everything the check needs.  This
module reads it with :mod:`ast`: the module's file is found without executing it,
aliases are followed into the modules they are imported from, and an annotation
that names anything else (``pd.DataFrame``) is left unchecked, as before.

``tests/estimators/test_layout.py`` holds the reading against
:func:`inspect.signature` and :func:`typing.get_type_hints` for every design.
"""

from __future__ import annotations

import ast
import collections.abc
import functools
import typing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

#: names an annotation may use without an import the reader must follow
_TYPING = {
    **{n: getattr(typing, n) for n in ("Any", "Literal", "Optional", "Union")},
    **{n: getattr(collections.abc, n) for n in ("Sequence", "Mapping", "Iterable", "Callable")},
    "int": int,
    "float": float,
    "str": str,
    "bool": bool,
    "tuple": tuple,
    "list": list,
    "dict": dict,
    "None": None,
}

REQUIRED = "required"
OPTIONAL = "optional"  # a private "not given" sentinel: the function decides


@dataclass(frozen=True)
class Option:
    """One keyword option: its name, annotation as written, default as shown."""

    name: str
    annotation: str
    default: str  # repr of the default, or REQUIRED / OPTIONAL
    hint: Any = None  # the resolved type, or None where it cannot be resolved
    positional: bool = False  # before the ``*``: a design that takes data gets it first


_ROOT = Path(__file__).resolve().parents[1]  # the evaluate package


@functools.cache
def _module(name: str) -> ast.Module | None:
    """The syntax tree of an ``evaluate`` module, found without importing anything.

    (``importlib.util.find_spec`` would import the parent packages, and
    ``evaluate.inference``'s imports scipy.)
    """
    parts = name.split(".")
    if parts[0] != "evaluate":
        return None
    base = _ROOT.joinpath(*parts[1:])
    for path in (base.with_suffix(".py"), base / "__init__.py"):
        if path.is_file():
            return ast.parse(path.read_text(encoding="utf-8"))
    return None


@functools.cache
def _aliases(module: str) -> dict[str, Any]:
    """Module-level type aliases (``X = Literal[...]``), resolved, and imported ones."""
    tree = _module(module)
    found: dict[str, Any] = {}
    if tree is None:
        return found
    for node in tree.body:
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("evaluate"):
            for alias in node.names:
                target = _aliases(node.module).get(alias.name)
                if target is not None:
                    found[alias.asname or alias.name] = target
        elif (
            isinstance(node, ast.Assign)
            and len(node.targets) == 1
            and isinstance(node.targets[0], ast.Name)
        ):
            value = _resolve(ast.unparse(node.value), found)
            if value is not None and typing.get_origin(value) is not None:  # Literal, unions
                found[node.targets[0].id] = value
    return found


def _resolve(annotation: str, aliases: dict[str, Any]) -> Any:
    """The type an annotation names, or None when it names something else."""
    try:
        return eval(annotation, {"__builtins__": {}}, {**_TYPING, **aliases})  # noqa: S307
    except Exception:
        return None


def _default(node: ast.expr | None) -> str:
    if node is None:
        return REQUIRED
    try:
        return repr(ast.literal_eval(node))
    except ValueError:
        return OPTIONAL  # a name such as _UNSET: the function knows what it means


def read_options(target: str) -> list[Option]:
    """The keyword-only options of ``"module:function"``, read from the module's source."""
    module, _, name = target.partition(":")
    tree = _module(module)
    if tree is None:
        raise LookupError(f"no Python source for {module}")
    function = next(
        (n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == name), None
    )
    if function is None:
        raise LookupError(f"{module} defines no function {name}")
    aliases = _aliases(module)
    args = function.args
    # positional parameters other than the data frame are options too (share(successes, n))
    positional = args.posonlyargs + args.args
    pos_defaults = [None] * (len(positional) - len(args.defaults)) + list(args.defaults)
    pairs = [
        (a, d, True) for a, d in zip(positional, pos_defaults, strict=True) if a.arg != "data"
    ]
    pairs += [(a, d, False) for a, d in zip(args.kwonlyargs, args.kw_defaults, strict=True)]
    options = []
    for arg, default, is_positional in pairs:
        annotation = ast.unparse(arg.annotation) if arg.annotation is not None else "Any"
        hint = _resolve(annotation, aliases)
        options.append(Option(arg.arg, annotation, _default(default), hint, is_positional))
    return options


__all__ = ["OPTIONAL", "REQUIRED", "Option", "read_options"]
