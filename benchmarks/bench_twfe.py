"""Benchmark: our TWFE engine against pyfixest feols (and linearmodels PanelOLS).

Model ``y ~ d | unit + time`` (and ``+ region^time`` for the three-effect case),
standard errors clustered by unit (CR1, each tool's default small-sample
correction), on simulated panels with staggered adoption, unit, period and
region x period effects: balanced, with 10 % of rows missing at random
(unbalanced), at 5M and 20M rows.  Each tool runs in its own subprocess so its
peak memory is measured alone (Linux ``VmHWM`` after resetting it with
``/proc/self/clear_refs``); the data are built before the reset, so "peak extra"
is what the estimator itself needs and "peak total" the whole process.  Every
tool is warmed up on a small panel first (imports, numba compilation are not
counted).  Tools alternate: each round starts every tool once, in turn (the order
reversed every other round); times are medians over all rounds and repeats.
The load average is recorded at the start and at the end.

Run from the repository root::

    python benchmarks/bench_twfe.py            # full: writes benchmarks/results/twfe.md
    python benchmarks/bench_twfe.py --quick    # small panels only, under a minute
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

_HERE = Path(__file__).resolve().parent
# Running this file puts benchmarks/ first on sys.path; put the repository there
# instead, so the workers import this checkout's evaluate.
if sys.path and Path(sys.path[0] or ".").resolve() == _HERE:
    sys.path[0] = str(_HERE.parent)

# name, units, periods, share of rows missing, further fixed effects, rounds, repeats
CASES = [
    ("balanced", 100_000, 50, 0.0, False, 3, 2),
    ("unbalanced", 100_000, 50, 0.1, False, 3, 2),
    ("three effects", 100_000, 50, 0.0, True, 3, 2),
    ("three effects, unbalanced", 100_000, 50, 0.1, True, 3, 2),
    ("balanced", 400_000, 50, 0.0, False, 3, 1),
    ("unbalanced", 400_000, 50, 0.1, False, 3, 1),
]
QUICK = [  # evaluate and pyfixest only, two rounds
    ("balanced", 1_000, 10, 0.0, False, 2, 3),
    ("unbalanced", 10_000, 20, 0.1, False, 2, 3),
    ("three effects", 10_000, 20, 0.1, True, 2, 3),
]
N_REGIONS = 98
TIMEOUT = 1800  # seconds per subprocess


def _tools(rows: int, three: bool, quick: bool = False) -> list[str]:
    tools = ["evaluate", "pyfixest"]
    if not three and rows <= 5_000_000 and not quick:  # PanelOLS takes two effects; slow at 20M
        tools.append("linearmodels")
    return tools


def _rss(key: str) -> float:
    with open("/proc/self/status") as handle:
        for line in handle:
            if line.startswith(key):
                return int(line.split()[1]) / 1024.0
    return float("nan")


def _panel(n_units: int, n_periods: int, missing: float = 0.0, seed: int = 0):
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(seed)
    unit = np.repeat(np.arange(n_units), n_periods)
    period = np.tile(np.arange(n_periods), n_units)
    region = (np.arange(n_units) % N_REGIONS)[unit]
    adopt = rng.integers(n_periods // 4, 2 * n_periods, n_units)[unit]
    d = (period >= adopt).astype(np.int8)
    shock = rng.normal(size=N_REGIONS * n_periods)[region * n_periods + period]
    y = rng.normal(size=n_units)[unit] + 0.01 * period + shock + 0.5 * d
    y += rng.normal(size=len(unit))
    df = pd.DataFrame({"unit": unit, "time": period, "region": region, "d": d, "y": y})
    if missing:
        df = df[rng.random(len(df)) >= missing].reset_index(drop=True)
    return df


def _runner(tool: str, three: bool):
    if tool == "evaluate":
        from evaluate.estimators.did.twfe import twfe

        fixed = ("region^time",) if three else ()

        def run(df):
            res = twfe(
                df,
                outcome="y",
                unit="unit",
                time="time",
                treatment="d",
                inference="CR1",
                fixed_effects=fixed,
            )
            return res.estimate, res.std_error

    elif tool == "linearmodels":
        from linearmodels import PanelOLS

        def run(df):
            panel = df.set_index(["unit", "time"])
            res = PanelOLS(
                panel["y"], panel[["d"]].astype(float), entity_effects=True, time_effects=True
            ).fit(cov_type="clustered", cluster_entity=True)
            return float(res.params["d"]), float(res.std_errors["d"])

    elif tool == "pyfixest":
        import pyfixest as pf

        fml = "y ~ d | unit + time" + (" + region^time" if three else "")

        def run(df):
            res = pf.feols(fml, data=df, vcov={"CRV1": "unit"})
            return float(res.coef()["d"]), float(res.se()["d"])

    else:
        raise ValueError(tool)
    return run


def worker(tool: str, n_units: int, n_periods: int, missing: float, three: bool, repeats: int):
    """Time ``repeats`` fits of ``tool`` in this process and report peak memory."""
    import warnings

    warnings.simplefilter("ignore")  # negative-weights and small-sample notes
    run = _runner(tool, three)
    run(_panel(200, 5, missing, seed=1))  # warm-up: imports, JIT compilation
    df = _panel(n_units, n_periods, missing)
    base = _rss("VmRSS:")
    Path("/proc/self/clear_refs").write_text("5")  # reset the peak-RSS counter
    times, out = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        out = run(df)
        times.append(time.perf_counter() - start)
    peak = _rss("VmHWM:")
    return {
        "rows": len(df),
        "times": times,
        "estimate": out[0],
        "se": out[1],
        "peak_extra_mb": peak - base,
        "peak_total_mb": peak,
    }


def _spawn(tool: str, case: tuple) -> dict:
    _, n_units, n_periods, missing, three, _, repeats = case
    args = [tool, n_units, n_periods, missing, int(three), repeats]
    cmd = [sys.executable, str(Path(__file__).resolve()), "--worker", *map(str, args)]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=TIMEOUT, check=False)
    except subprocess.TimeoutExpired:
        return {"error": f"timeout after {TIMEOUT} s"}
    if proc.returncode != 0:
        lines = (proc.stderr.strip() or "killed (out of memory?)").splitlines()
        return {"error": lines[-1][:200]}
    return json.loads(proc.stdout.strip().splitlines()[-1])


def run_case(case: tuple, quick: bool = False) -> list[dict]:
    """Every tool once per round, alternating; times pooled over rounds."""
    name, n_units, n_periods, missing, three, rounds, _ = case
    tools = _tools(n_units * n_periods, three, quick)
    pooled: dict[str, dict] = {t: {"tool": t, "times": [], "peak_extra_mb": 0.0} for t in tools}
    for r in range(rounds):
        for tool in tools if r % 2 == 0 else tools[::-1]:
            res = _spawn(tool, case)
            entry = pooled[tool]
            if "error" in res:
                entry["error"] = res["error"]
                print(f"  {name} {tool}: {res['error']}", flush=True)
                continue
            entry["times"] += res["times"]
            for key in ("rows", "estimate", "se"):
                entry[key] = res[key]
            for key in ("peak_extra_mb", "peak_total_mb"):
                entry[key] = max(entry.get(key, 0.0), res[key])
            print(f"  {name} {n_units}x{n_periods} {tool}: {res['times']}", flush=True)
    out = []
    for entry in pooled.values():
        if not entry["times"]:
            entry.setdefault("error", "no run finished")
        entry.update(case=name, units=n_units, periods=n_periods, three=three)
        out.append(entry)
    return out


def _markdown(results: list[dict], load_start: str, load_end: str, command: str, secs: float):
    lines = [
        "# TWFE benchmark: `y ~ d | unit + time` (+ `region^time`), CR1 clustered by unit",
        "",
        f"Machine: {platform.machine()}, {os.cpu_count()} cores, Python "
        f"{platform.python_version()}; load average (1, 5, 15 min) at start {load_start}, "
        f"at end {load_end}. Generated by `{command}` in {secs / 60:.0f} min.",
        "Panels: staggered adoption, unit, period and region x period effects "
        f"({N_REGIONS} regions); 'unbalanced' drops 10 % of rows at random; 'three effects' "
        "absorbs unit, period and region x period (`fixed_effects=('region^time',)`).",
        "Times are medians over all runs (seconds; tools alternate, each run in its own "
        "process); memory is peak RSS (MB): 'extra' above the process with its data "
        "loaded, 'total' for the whole process.",
        "Ratio = tool's median time / ours (higher = we are faster).",
        "",
        "| case | panel (units x periods) | rows | tool | median s | runs | ratio "
        "| peak extra MB | peak total MB | estimate | SE |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    keys = list(dict.fromkeys((r["case"], r["units"], r["periods"]) for r in results))
    for key in keys:
        group = [r for r in results if (r["case"], r["units"], r["periods"]) == key]
        ours = next((r for r in group if r["tool"] == "evaluate" and r["times"]), None)
        label = f"| {key[0]} | {key[1]:,} x {key[2]}"
        for r in group:
            if not r["times"]:
                lines.append(f"{label} | | {r['tool']} | failed: {r['error']} | | | | | | |")
                continue
            med = statistics.median(r["times"])
            ratio = med / statistics.median(ours["times"]) if ours else float("nan")
            lines.append(
                f"{label} | {r['rows']:,} | {r['tool']} | {med:.3f} | {len(r['times'])} | "
                f"{ratio:.1f} | {r['peak_extra_mb']:.0f} | {r['peak_total_mb']:.0f} | "
                f"{r['estimate']:.8f} | {r['se']:.8f} |"
            )
    return "\n".join(lines) + "\n"


def _load() -> str:
    return " ".join(f"{v:.2f}" for v in os.getloadavg())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small panels only (< 1 min)")
    parser.add_argument("--worker", nargs=6, help=argparse.SUPPRESS)
    parser.add_argument("--out", default=None, help="markdown file to write")
    args = parser.parse_args()
    if args.worker:
        tool, n_units, n_periods, missing, three, repeats = args.worker
        res = worker(tool, int(n_units), int(n_periods), float(missing), three == "1", int(repeats))
        print(json.dumps(res))
        return
    command = "python benchmarks/bench_twfe.py" + (" --quick" if args.quick else "")
    default = "twfe_quick.md" if args.quick else "twfe.md"
    out = Path(args.out) if args.out else _HERE / "results" / default
    load_start, start = _load(), time.perf_counter()
    results = []
    for case in QUICK if args.quick else CASES:
        results += run_case(case, args.quick)
    secs = time.perf_counter() - start
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(_markdown(results, load_start, _load(), command, secs))
    print(f"wrote {out} ({secs:.0f} s)")


if __name__ == "__main__":
    main()
