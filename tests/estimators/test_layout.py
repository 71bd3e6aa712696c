"""The estimators' family layout: old flat paths, the designs registry, no cycles."""

from __future__ import annotations

import ast
import importlib
import sys
import warnings
from pathlib import Path

import pytest

import evaluate as ev
from evaluate.estimators import DESIGNS
from evaluate.estimators._moved import MOVED

PACKAGE = Path(ev.__file__).parent


@pytest.mark.parametrize("old", sorted(MOVED))
def test_old_flat_path_is_the_moved_module_with_a_warning(old):
    new = importlib.import_module(f"evaluate.estimators.{MOVED[old]}")
    sys.modules.pop(f"evaluate.estimators.{old}", None)
    with pytest.warns(DeprecationWarning, match=f"evaluate.estimators.{MOVED[old]}"):
        moved = importlib.import_module(f"evaluate.estimators.{old}")
    assert moved is new
    assert moved.__name__ == f"evaluate.estimators.{MOVED[old]}"


def test_old_from_imports_of_the_two_modules_that_became_packages():
    from evaluate.estimators.did import DiDResult, did
    from evaluate.estimators.observational import ObservationalResult, observational

    assert did is ev.did and observational is ev.observational
    assert DiDResult.__name__ == "DiDResult" and ObservationalResult.__name__


@pytest.mark.parametrize("name", sorted(DESIGNS))
def test_every_design_resolves_and_is_a_top_level_name(name):
    function = DESIGNS[name].function
    assert getattr(ev, function.__name__) is function


def test_importing_evaluate_loads_no_estimator_or_plotting_library():
    code = (
        "import sys, evaluate, evaluate.cli; "
        "heavy = [m for m in ('scipy', 'statsmodels', 'matplotlib', 'numba', 'pandas') "
        "if m in sys.modules]; print(','.join(heavy))"
    )
    import subprocess

    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def _imports(path: Path) -> set[str]:
    """Modules of this package that ``path`` imports (TYPE_CHECKING blocks included)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("evaluate"):
            found.add(node.module)
            for alias in node.names:  # ``from evaluate.x import module``
                found.add(f"{node.module}.{alias.name}")
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith("evaluate"))
    return found


def test_no_import_cycles_between_modules():
    modules = {}
    for path in PACKAGE.rglob("*.py"):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        modules[name] = path
    graph = {
        name: {m for m in _imports(path) if m in modules and m != name}
        for name, path in modules.items()
        if not name.endswith("__init__")
    }
    # a package's __init__ re-exporting its own modules is not a cycle between modules
    for name in graph:
        graph[name] = {m for m in graph[name] if not name.startswith(m + ".")}

    state: dict[str, int] = {}
    cycles = []

    def visit(node, stack):
        state[node] = 1
        for nxt in graph.get(node, ()):
            if state.get(nxt) == 1:
                cycles.append(stack[stack.index(nxt) :] + [nxt])
            elif nxt not in state:
                visit(nxt, stack + [nxt])
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node, [node])
    assert cycles == []


def test_no_module_over_600_lines():
    long = {
        str(p.relative_to(PACKAGE)): n
        for p in PACKAGE.rglob("*.py")
        if (n := len(p.read_text().splitlines())) > 600
    }
    assert long == {}


def test_no_flat_design_modules_left():
    flat = sorted(p.name for p in (PACKAGE / "estimators").glob("*.py"))
    assert flat == ["__init__.py", "_moved.py", "_renamed.py", "_signature.py"]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        importlib.import_module("evaluate.estimators.did.twfe")


@pytest.mark.parametrize("name", sorted(DESIGNS))
def test_options_read_from_source_match_the_imported_function(name):
    """Spec checks read options without importing; they must agree with the function."""
    import inspect
    import typing

    function = DESIGNS[name].function
    hints = typing.get_type_hints(function)
    keyword = [
        p
        for p in inspect.signature(function).parameters.values()
        if p.name != "data" and p.kind in (p.KEYWORD_ONLY, p.POSITIONAL_OR_KEYWORD)
    ]
    options = DESIGNS[name].options()
    assert [o.name for o in options] == [p.name for p in keyword]
    for option, p in zip(options, keyword, strict=True):
        if p.default is p.empty:
            assert option.default == "required"
        elif type(p.default) is not object:
            assert option.default == repr(p.default)
        if "DataFrame" not in str(hints.get(p.name)):
            assert option.hint == hints.get(p.name), p.name


def test_validating_a_spec_imports_no_design_module():
    code = (
        "import sys\nfrom evaluate.spec import load_spec\n"
        "load_spec('studies/faxe_fleksjob.toml')\n"
        "print(sorted(m for m in sys.modules if m.startswith('evaluate.estimators.')"
        " and not m.startswith('evaluate.estimators._')))"
    )
    import subprocess

    root = PACKAGE.parent
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=root
    )
    assert out.stdout.strip().splitlines()[-1] == "[]"
