"""The console command: ``evaluate run SPEC --out DIR`` and ``evaluate validate SPEC``."""

from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path

from evaluate.errors import EvaluateError


def _show_warning(message, category, filename, lineno, file=None, line=None) -> None:
    print(f"warning ({category.__name__}): {message}", file=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="evaluate", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("run", help="run a study spec and write its report")
    run.add_argument("spec", type=Path)
    run.add_argument("--out", type=Path, required=True, help="folder for the report files")
    check = commands.add_parser("validate", help="check a study spec without running it")
    check.add_argument("spec", type=Path)
    args = parser.parse_args(argv)
    warnings.showwarning = _show_warning
    try:
        if args.command == "validate":
            from evaluate.spec import load_spec

            spec = load_spec(args.spec)
            print(
                f"{args.spec}: valid ({len(spec.effect)} effects, "
                f"{len(spec.business_case)} business cases)"
            )
            return 0
        from evaluate.study import run_study

        result = run_study(args.spec, args.out)
        print(f"{args.spec}: wrote report to {args.out}")
        for case in result.business_cases.values():
            print(f"  {case.title}: net gain {case.net_gain:,.0f} DKK")
        return 0
    except EvaluateError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
