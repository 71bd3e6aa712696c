"""Coverage table: known-truth simulations of every interval issue 18 concerns.

Run ``python benchmarks/bench_coverage.py [--reps 1000] [--only NAME ...]``; writes
``benchmarks/results/coverage.md``: per setting and interval method, the share
of replications whose 95 % interval covered the true effect, its Monte Carlo
standard error ``sqrt(c (1 - c) / reps)``, and the mean interval width.  The
settings (data-generating processes and methods) live in
``tests/known_truth/coverage_settings.py`` and are shared with the coverage tests;
each method is run on the same seeded draws, so rows of one setting are paired.
"""

from __future__ import annotations

import argparse
import platform
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "known_truth"))

from coverage_settings import SETTINGS, run  # noqa: E402

OUT = Path(__file__).parent / "results" / "coverage.md"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=1000, help="replications per cell")
    parser.add_argument("--seed", type=int, default=20261202)
    parser.add_argument("--only", nargs="*", default=None, help="setting names to run")
    args = parser.parse_args()
    names = args.only or list(SETTINGS)
    lines = [
        "# Coverage of 95 % intervals (known-truth simulations)",
        "",
        "Regenerate with `python benchmarks/bench_coverage.py --reps N [--only SETTING ...]`; "
        "settings in "
        "`tests/known_truth/coverage_settings.py`.  Coverage is the share of replications whose "
        "95 % interval holds the true effect, with its Monte Carlo standard error; a 95 % "
        "interval should land within about two of them of 95 %.  **Default** marks the "
        "interval a user gets without asking.",
        "",
        f"Seed {args.seed}, Python {platform.python_version()} on {platform.machine()}; "
        "seconds are wall-clock on a shared machine.",
        "",
        "| setting | interval | default | reps | coverage (%) | MC s.e. | mean width | seconds |",
        "|---|---|---|---:|---:|---:|---:|---:|",
    ]
    # With --only, rows of the settings not rerun are kept from the existing table.
    kept = _existing_rows(exclude={SETTINGS[n].description for n in names})
    for name in SETTINGS:
        setting = SETTINGS[name]
        if name not in names:
            lines += kept.get(setting.description, [])
            continue
        for key, label in setting.methods.items():
            start = time.perf_counter()
            cover, se, width = run(setting, key, args.reps, args.seed)
            seconds = time.perf_counter() - start
            row = (
                f"| {setting.description} | {label} | "
                f"{'**default**' if key == setting.default else ''} | {args.reps} | "
                f"{100 * cover:.1f} | "
                f"{100 * se:.1f} | {width:.3g} | {seconds:.0f} |"
            )
            lines.append(row)
            print(row, flush=True)
    OUT.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(f"wrote {OUT}")


def _existing_rows(exclude: set[str]) -> dict[str, list[str]]:
    rows: dict[str, list[str]] = {}
    if not OUT.exists():
        return rows
    for line in OUT.read_text(encoding="utf-8").splitlines():
        cells = line.split(" | ")
        if line.startswith("| ") and len(cells) > 2 and cells[0][2:] not in exclude:
            rows.setdefault(cells[0][2:], []).append(line)
    return rows


if __name__ == "__main__":
    main()
