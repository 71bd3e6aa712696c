"""The console command ``evaluate``.

Each command imports what it needs when it runs, so ``evaluate --help``,
``--version`` and ``designs`` answer without loading the statistics stack.
"""

from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path

from evaluate import __version__
from evaluate.errors import EvaluateError

_DESCRIPTION = """\
Statistical impact evaluation of public interventions: did it work, by how much,
and did it pay?  A study spec (TOML) names the data, the designs, the money and
the report; `evaluate run` turns it into a report."""

_EXAMPLES = """\
examples:
  evaluate new --data kommuner.csv --out studies/my_study.toml
  evaluate validate studies/my_study.toml
  evaluate run studies/faxe_fleksjob.toml --out reports/faxe_fleksjob
  evaluate designs"""


def _show_warning(message, category, filename, lineno, file=None, line=None) -> None:
    print(f"warning ({category.__name__}): {message}", file=sys.stderr)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="evaluate",
        description=_DESCRIPTION,
        epilog=_EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"evaluate {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(name: str, summary: str, example: str) -> argparse.ArgumentParser:
        return commands.add_parser(
            name,
            help=summary,
            description=summary,
            epilog=f"example:\n  {example}",
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )

    run = command(
        "run",
        "run a study spec and write its report",
        "evaluate run studies/faxe_fleksjob.toml --out reports/faxe_fleksjob",
    )
    run.add_argument("spec", type=Path, help="the study spec (TOML)")
    run.add_argument("--out", type=Path, required=True, help="folder for the report files")
    check = command(
        "validate", "check a study spec without running it", "evaluate validate studies/x.toml"
    )
    check.add_argument("spec", type=Path, help="the study spec (TOML)")
    command("designs", "list every design with its options, types and defaults", "evaluate designs")
    new = command(
        "new",
        "write a first study spec for a data file (columns detected, a design suggested)",
        "evaluate new --data kommuner.csv --out studies/my_study.toml",
    )
    new.add_argument("--data", type=Path, required=True, help="a .csv, .parquet or .xlsx file")
    new.add_argument("--out", type=Path, help="where to write the spec (default: print it)")
    return parser


def _designs() -> str:
    from evaluate.estimators import DESIGNS

    lines = []
    for name in sorted(DESIGNS):
        design = DESIGNS[name]
        lines.append(f"{name:22} {design.doc}")
        for option in design.options():
            hint = option.hint
            kind = hint.__name__ if isinstance(hint, type) else str(hint or option.annotation)
            kind = kind.replace("typing.", "").replace("collections.abc.", "")
            lines.append(f"    {option.name:22} {kind:32} {option.default}")
    return "\n".join(lines)


def _new(data: Path, out: Path | None) -> str:
    from evaluate.starter import new_spec

    if out is None:
        return new_spec(data, spec_dir=Path.cwd())
    if out.exists():
        raise EvaluateError(f"{out} exists; choose another --out or remove it first.")
    text = new_spec(data, spec_dir=out.parent)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text, encoding="utf-8")
    return f"wrote {out}; check the lines marked GUESS, then: evaluate validate {out}"


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    warnings.showwarning = _show_warning
    try:
        if args.command == "designs":
            print(_designs())
            return 0
        if args.command == "new":
            print(_new(args.data, args.out))
            return 0
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
    except BrokenPipeError:  # output piped into e.g. `head`, which stopped reading
        sys.stderr.close()
        return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
