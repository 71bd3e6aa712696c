"""Benchmark: how fast the console command answers on a cold start.

Run ``python benchmarks/bench_cli.py [--repeats 15]``; writes medians to
``benchmarks/results/cli.md``.  Each command runs in a fresh interpreter, the
commands alternating within every repeat, so a burst of load hits them alike.
What counts is the time a command adds to a bare interpreter (``python -c pass``):
targets (issue 17) are under 0.3 s for ``--help`` and ``--version`` and under 1 s
for ``validate`` of the Faxe spec.  Each command runs once before timing, so the
byte-code caches are warm (as on a user's second call), not the numba cache.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "benchmarks" / "results" / "cli.md"
COMMANDS = {
    "bare interpreter": [sys.executable, "-c", "pass"],
    "evaluate --help": [sys.executable, "-m", "evaluate.cli", "--help"],
    "evaluate --version": [sys.executable, "-m", "evaluate.cli", "--version"],
    "evaluate designs": [sys.executable, "-m", "evaluate.cli", "designs"],
    "evaluate validate faxe": [
        sys.executable,
        "-m",
        "evaluate.cli",
        "validate",
        "studies/faxe_fleksjob.toml",
    ],
}


def _once(command: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(command, cwd=ROOT, check=True, capture_output=True)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=15)
    args = parser.parse_args()
    for command in COMMANDS.values():  # warm the byte-code caches
        _once(command)
    load_before = os.getloadavg()
    times: dict[str, list[float]] = {name: [] for name in COMMANDS}
    for _ in range(args.repeats):
        for name, command in COMMANDS.items():
            times[name].append(_once(command))
    load_after = os.getloadavg()
    base = statistics.median(times["bare interpreter"])
    lines = [
        "# Console command: cold-start times",
        "",
        f"`python benchmarks/bench_cli.py --repeats {args.repeats}`; {platform.machine()}, "
        f"{os.cpu_count()} cores, Python {platform.python_version()}; load average "
        f"{load_before[0]:.2f} before, {load_after[0]:.2f} after.  Median of "
        f"{args.repeats} runs, commands alternating; each in a fresh interpreter.",
        "",
        "| command | median (s) | added to a bare interpreter (s) | target |",
        "|---|---:|---:|---|",
    ]
    targets = {
        "evaluate --help": "< 0.3",
        "evaluate --version": "< 0.3",
        "evaluate validate faxe": "< 1",
    }
    for name, values in times.items():
        median = statistics.median(values)
        added = "" if name == "bare interpreter" else f"{median - base:.3f}"
        lines.append(f"| {name} | {median:.3f} | {added} | {targets.get(name, '')} |")
    OUT.write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
