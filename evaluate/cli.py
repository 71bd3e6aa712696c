"""The console command ``evaluate``.

Each command imports what it needs when it runs, so ``evaluate --help``,
``--version`` and ``designs`` answer without loading the statistics stack.

A mistake in the input (spec, data, options, output folder) is an
:class:`~evaluate.errors.EvaluateError`: the command prints its message, without a
traceback, and exits with code 2.  Any other exception is a bug in ``evaluate``:
the traceback is kept and a line asks to report it (exit code 1).  Text from the
spec or the data is stripped of control characters before it reaches the
terminal, so a spec cannot move the cursor, recolour or retitle the terminal.
"""

from __future__ import annotations

import argparse
import re
import sys
import traceback
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
  evaluate designs
  evaluate fetch statbank AUK01 OMRÅDE=* TID=* --out snapshots/auk01.parquet"""

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
"""C0 and C1 control characters, except tab and newline (ANSI escapes start with ESC)."""

BUG_NOTE = (
    "This is a bug in evaluate, not a mistake in your input. Please report it with "
    "the traceback above and, if you can, the spec and a sample of the data."
)


def terminal_text(text: object) -> str:
    """``text`` as a string safe to print: control characters removed."""
    return _CONTROL.sub("", str(text))


def _say(text: object, *, file=None) -> None:  # noqa: ANN001 - a text stream
    stream = file or sys.stdout
    text = terminal_text(text)
    # A Windows console redirected to a file or pipe writes cp1252 (or cp850), which
    # has no "−" or "≥": replace what the stream cannot hold rather than crash.
    encoding = getattr(stream, "encoding", None) or "utf-8"
    text = text.encode(encoding, errors="replace").decode(encoding)
    print(text, file=stream)


def _show_warning(message, category, filename, lineno, file=None, line=None) -> None:
    _say(f"warning ({category.__name__}): {message}", file=sys.stderr)


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

    outside = {
        "action": "store_true",
        "help": "let [[data]] paths leave the spec's folder (absolute paths, ../)",
    }
    run = command(
        "run",
        "run a study spec and write its report",
        "evaluate run studies/faxe_fleksjob.toml --out reports/faxe_fleksjob",
    )
    run.add_argument("spec", type=Path, help="the study spec (TOML)")
    run.add_argument("--out", type=Path, required=True, help="folder for the report files")
    run.add_argument("--allow-outside-data", **outside)
    check = command(
        "validate",
        "check a study spec and its data without fitting anything",
        "evaluate validate studies/x.toml",
    )
    check.add_argument("spec", type=Path, help="the study spec (TOML)")
    check.add_argument("--allow-outside-data", **outside)
    command("designs", "list every design with its options, types and defaults", "evaluate designs")
    new = command(
        "new",
        "write a first study spec for a data file (columns detected, a design suggested)",
        "evaluate new --data kommuner.csv --out studies/my_study.toml",
    )
    new.add_argument("--data", type=Path, required=True, help="a .csv, .parquet or .xlsx file")
    new.add_argument("--out", type=Path, help="where to write the spec (default: print it)")
    fetch = command(
        "fetch",
        "fetch a public table (Danmarks Statistik's StatBank or Jobindsats) into a snapshot: "
        "Parquet plus a JSON sidecar that a spec reads with [[data]] snapshot = ...",
        "evaluate fetch statbank AUK01 OMRÅDE=* TID=* --out snapshots/auk01.parquet",
    )
    fetch.add_argument("source", choices=["statbank", "jobindsats"], help="where from")
    fetch.add_argument("table", help="the table id (e.g. AUK01, y01a02)")
    fetch.add_argument(
        "filters",
        nargs="*",
        metavar="VARIABLE=VALUES",
        help="values per variable, comma-separated; * for all (e.g. OMRÅDE=* TID=2020M01)",
    )
    fetch.add_argument("--out", type=Path, required=True, help="snapshot file (.parquet)")
    fetch.add_argument("--lang", choices=["da", "en"], default="da", help="StatBank language")
    fetch.add_argument("--base-url", help="the API's address (default: the public one)")
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
    out.write_text(text, encoding="utf-8", newline="\n")
    return f"wrote {out}; check the lines marked GUESS, then: evaluate validate {out}"


def _validate(path: Path, *, allow_outside_data: bool) -> str:
    """Read the spec, load its data and check every effect and rate against them."""
    from evaluate.spec import load_spec
    from evaluate.study_check import check_study, load_data

    spec = load_spec(path, allow_outside_data=allow_outside_data)
    data = load_data(spec, path.parent)
    check_study(spec, data, origin=str(path))
    lines = [
        f"{path}: valid ({len(spec.effect)} effects, {len(spec.business_case)} business "
        f"cases; data checked: {', '.join(f'{k} ({d.rows} rows)' for k, d in data.items())})"
        if data
        else f"{path}: valid ({len(spec.effect)} effects, {len(spec.business_case)} business cases)"
    ]
    for name, loaded in data.items():
        if loaded.read_as:
            lines.append(f"  data {name!r} read with {', '.join(loaded.read_as)} (detected)")
    return "\n".join(lines)
def _fetch(args: argparse.Namespace) -> str:
    from evaluate.sources import fetch

    filters: dict[str, str] = {}
    for item in args.filters:
        key, sep, value = item.partition("=")
        if not sep or not key.strip() or not value.strip():
            raise EvaluateError(
                f"filter {item!r} must read VARIABLE=VALUES, e.g. OMRÅDE=* or TID=2020M01,2020M02."
            )
        filters[key.strip()] = value.strip()
    side = fetch(args.source, args.table, filters, args.out, base_url=args.base_url, lang=args.lang)
    return f"wrote {args.out} and {side.name}; read it in a spec with [[data]] snapshot = ..."


def _command(args: argparse.Namespace) -> int:
    if args.command == "designs":
        _say(_designs())
        return 0
    if args.command == "new":
        _say(_new(args.data, args.out))
        return 0
    if args.command == "fetch":
        _say(_fetch(args))
        return 0
    if args.command == "validate":
        _say(_validate(args.spec, allow_outside_data=args.allow_outside_data))
        return 0
    from evaluate.study import run_study

    result = run_study(args.spec, args.out, allow_outside_data=args.allow_outside_data)
    _say(f"{args.spec}: wrote report to {args.out}")
    for case in result.business_cases.values():
        if case.net_gain is None:
            _say(
                f"  {case.title}: gross saving {case.total:,.0f} DKK (no costs stated: no net gain)"
            )
        else:
            _say(f"  {case.title}: net gain {case.net_gain:,.0f} DKK")
    return 0


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    previous = warnings.showwarning
    warnings.showwarning = _show_warning
    try:
        return _command(args)
    except EvaluateError as err:
        _say(f"error: {err}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # output piped into e.g. `head`, which stopped reading
        sys.stderr.close()
        return 0
    except KeyboardInterrupt:
        _say("interrupted", file=sys.stderr)
        return 130
    except Exception:
        _say(traceback.format_exc(), file=sys.stderr)
        _say(BUG_NOTE, file=sys.stderr)
        return 1
    finally:
        warnings.showwarning = previous


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
