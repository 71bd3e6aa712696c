"""Benchmark: Callaway-Sant'Anna, ours vs csdid 0.4.3, by panel size.

Run from the repository root::

    python benchmarks/bench_staggered.py            # full run, writes results/staggered.md
    python benchmarks/bench_staggered.py --quick    # 0.1M and 0.2M rows, 1 repeat, no memory

Both tools fit the doubly robust estimator with never-treated controls and
analytic standard errors, followed by the dynamic (event-time) aggregation
(csdid: ``ATTgt(...).fit(est_method="dr", bstrap=False)`` then
``aggte(typec="dynamic", bstrap=False)``), on simulated panels of ``rows / 10``
units x 10 periods, cohorts 4/6/8 + never treated (27 ATT(g,t) cells), in three
scenarios: no covariates, one covariate (constant within unit) and two (the second
varying over time).  At each size and scenario the two tools alternate
(ours, csdid, ours, csdid, ...; the order flips every repeat) after a warm-up, and
the median is reported with every run; csdid's repeats at the largest size can be
cut with ``--big-repeats``.  Peak memory is measured apart, one fit per tool, size
and scenario in a fresh subprocess: the growth of its peak RSS during the fit over
the RSS before it (Linux ``VmHWM``, reset through ``/proc/self/clear_refs`` after
the panel is built).  The two tools' overall dynamic ATTs are compared to
check they estimate the same thing.  A last section times the multiplier
bootstrap (999 draws) at 1M rows.  The load average is recorded at start and end.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import math
import os
import platform
import statistics
import subprocess
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # this checkout's package

from evaluate.estimators.did.staggered import callaway_santanna  # noqa: E402

OUT = Path(__file__).parent / "results" / "staggered.md"
KEYS = dict(outcome="y", unit="id", time="t", group="g")
SCENARIOS = {"none": [], "one": ["x1"], "two": ["x1", "x2"]}


def simulate(n_units: int = 100_000, n_periods: int = 10, seed: int = 0) -> pd.DataFrame:
    """Staggered panel: cohorts 0 (never), 4, 6, 8; effect e + 1 at event time e >= 0.

    ``x1`` is constant within a unit and shifts adoption and trends; ``x2`` varies
    over time."""
    rng = np.random.default_rng(seed)
    x1 = rng.normal(size=n_units)
    g = rng.choice(np.array([0, 4, 6, 8]), size=n_units, p=[0.4, 0.2, 0.2, 0.2])
    t = np.arange(1, n_periods + 1)
    x2 = rng.normal(size=(n_units, n_periods))
    y = rng.normal(size=n_units)[:, None] + (0.1 + 0.05 * x1[:, None]) * t
    y = y + 0.3 * x2 + rng.normal(size=(n_units, n_periods))
    e = t[None, :] - g[:, None]
    y += np.where((g[:, None] > 0) & (e >= 0), e + 1.0, 0.0)
    return pd.DataFrame(
        {
            "id": np.repeat(np.arange(n_units), n_periods),
            "t": np.tile(t, n_units),
            "y": y.ravel(),
            "g": np.repeat(g, n_periods),
            "x1": np.repeat(x1, n_periods),
            "x2": x2.ravel(),
        }
    )


def _rss(key: str) -> float:
    """``VmRSS`` / ``VmHWM`` of this process in MB (NaN off Linux)."""
    try:
        with open("/proc/self/status") as handle:
            for line in handle:
                if line.startswith(key):
                    return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    return float("nan")


def _measure(fn, *args) -> tuple[float, float]:
    """Wall time (s) and the value of ``fn(*args)``."""
    start = time.perf_counter()
    value = fn(*args)
    return time.perf_counter() - start, value


def _peak_child(n_rows: int, scenario: str, tool: str) -> None:
    """In a fresh process: build the panel, reset the peak-RSS counter, fit once,
    print the growth of the peak (MB) over the RSS before the fit."""
    data = simulate(n_rows // 10)
    fn = {"ours": ours, "csdid": csdid}[tool]
    fn(simulate(2_000), SCENARIOS[scenario])  # imports and first-call costs
    with contextlib.suppress(OSError):
        Path("/proc/self/clear_refs").write_text("5")  # peak RSS := current RSS
    base = _rss("VmRSS:")
    fn(data, SCENARIOS[scenario])
    print(f"{_rss('VmHWM:') - base:.1f}")


def peak_memory(n_rows: int, scenario: str, tool: str) -> float:
    """Peak RSS growth of one fit, measured alone in a subprocess (freed memory a
    process keeps would hide it in this one)."""
    cmd = [sys.executable, __file__, "--peak-child", f"{n_rows},{scenario},{tool}"]
    out = subprocess.run(cmd, capture_output=True, text=True, check=False)
    try:
        return float(out.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        return float("nan")


def ours(data: pd.DataFrame, covariates: list[str]) -> float:
    res = callaway_santanna(data, **KEYS, covariates=covariates)
    return res.aggregate("dynamic").estimate


def csdid(data: pd.DataFrame, covariates: list[str]) -> float:
    from csdid.att_gt import ATTgt

    formula = f"y ~ {' + '.join(covariates)}" if covariates else None
    with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = ATTgt(yname="y", tname="t", idname="id", gname="g", data=data, xformla=formula)
        fit = fit.fit(est_method="dr", bstrap=False)
        fit.aggte(typec="dynamic", bstrap=False)
    return float(fit.atte["overall_att"])


def _have_csdid() -> bool:
    try:
        import csdid.att_gt  # noqa: F401
    except ImportError:
        return False
    return True


def run_sizes(sizes, scenarios, repeats, big_repeats, with_csdid, memory):
    """Alternating timings; one dict per (size, scenario, tool)."""
    tools = {"ours": ours, **({"csdid": csdid} if with_csdid else {})}
    warm = simulate(2_000)
    for fn in tools.values():
        for cov in SCENARIOS.values():
            fn(warm, cov)  # imports, first-call costs
    rows = []
    for n_rows in sizes:
        data = simulate(n_rows // 10)
        for scenario in scenarios:
            cov = SCENARIOS[scenario]
            runs = {name: [] for name in tools}
            estimates = {}
            for rep in range(repeats):
                order = list(tools) if rep % 2 == 0 else list(reversed(tools))
                for name in order:
                    if name == "csdid" and n_rows == max(sizes) and rep >= big_repeats:
                        continue
                    seconds, est = _measure(tools[name], data, cov)
                    runs[name].append(seconds)
                    estimates[name] = est
                    print(f"{n_rows:>9} {scenario:>4} {name:>5}: {seconds:7.3f} s", flush=True)
            for name, got in runs.items():
                rows.append(
                    {
                        "rows": n_rows,
                        "scenario": scenario,
                        "tool": name,
                        "median": statistics.median(got),
                        "runs": got,
                        "peak": peak_memory(n_rows, scenario, name) if memory else math.nan,
                        "estimate": estimates[name],
                    }
                )
    return rows


def run_bootstrap(repeats: int, with_csdid: bool) -> list[tuple[str, float, list[float]]]:
    """999 multiplier-bootstrap draws at 1M rows, no covariates (as the earlier table)."""
    data = simulate(100_000)
    boot = {
        "ours: 999 draws (Mammen)": lambda: callaway_santanna(
            data, **KEYS, bootstrap=999, seed=1
        ).aggregate("dynamic"),
        "ours: 999 draws (Gaussian, exact shortcut)": lambda: callaway_santanna(
            data, **KEYS, bootstrap=999, bootstrap_weights="gaussian", seed=1
        ).aggregate("dynamic"),
    }
    if with_csdid:
        from csdid.att_gt import ATTgt

        def _csdid_boot():
            with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
                warnings.simplefilter("ignore")
                fit = ATTgt(yname="y", tname="t", idname="id", gname="g", data=data, biters=999)
                fit.fit(est_method="dr", bstrap=True).aggte(
                    typec="dynamic", bstrap=True, biters=999
                )

        boot["csdid: 999 draws (Mammen)"] = _csdid_boot
    out = []
    for label, fn in boot.items():
        fn()  # warm-up
        runs = [_measure(fn)[0] for _ in range(repeats)]
        out.append((label, statistics.median(runs), runs))
        print(f"{label}: {out[-1][1]:.3f} s", flush=True)
    return out


def _markdown(rows, boot, args, loads, duration, with_csdid) -> str:
    command = " ".join(["python benchmarks/bench_staggered.py", *sys.argv[1:]])
    lines = [
        "# Callaway-Sant'Anna benchmark: ours vs csdid 0.4.3",
        "",
        f"Command: `{command}` (from the repository root; full run {duration / 60:.1f} min).",
        f"Load average {loads[0]} at start, {loads[1]} at end; "
        f"{platform.machine()}, {os.cpu_count()} cores, CPython {platform.python_version()}, "
        f"numpy {np.__version__}, pandas {pd.__version__}.",
        "",
        "Doubly robust, never-treated controls, analytic SEs, then the dynamic aggregation; "
        "panels of rows/10 units x 10 periods, 27 ATT(g,t) cells. Scenarios: `none` (no "
        "covariates), `one` (x1, constant within unit), `two` (x1 and the time-varying x2). "
        f"Tools alternate at each size; median of {args.repeats} runs"
        + (
            f" ({min(args.big_repeats, args.repeats)} for csdid at the largest size)"
            if with_csdid
            else ""
        )
        + " after a warm-up. Peak MB: growth of peak RSS during one fit, measured alone in a "
        "fresh subprocess.",
        "",
        "| rows | scenario | tool | median s | runs (s) | ns per row | peak MB | ratio "
        "csdid/ours | overall ATT |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    by_key = {(r["rows"], r["scenario"], r["tool"]): r for r in rows}
    for r in rows:
        ratio = ""
        other = by_key.get((r["rows"], r["scenario"], "csdid"))
        if r["tool"] == "ours" and other is not None:
            ratio = f"{other['median'] / r['median']:.1f}x"
        lines.append(
            f"| {r['rows']:,} | {r['scenario']} | {r['tool']} | {r['median']:.3f} | "
            f"{', '.join(f'{s:.3f}' for s in r['runs'])} | {r['median'] * 1e9 / r['rows']:.0f} | "
            f"{r['peak']:.0f} | {ratio} | {r['estimate']:.10f} |"
        )
    sizes = sorted({r["rows"] for r in rows})
    if len(sizes) > 1:
        lines += [
            "",
            f"Linearity: time at {sizes[-1]:,} rows / time at {sizes[0]:,} rows, against "
            f"{sizes[-1] / sizes[0]:.0f}x the rows (linear = {sizes[-1] / sizes[0]:.0f}x; "
            "ns per row above should be flat).",
            "",
            "| scenario | tool | time ratio | ns per row by size |",
            "|---|---|---|---|",
        ]
        for scenario in dict.fromkeys(r["scenario"] for r in rows):
            for tool in dict.fromkeys(r["tool"] for r in rows):
                got = [by_key.get((n, scenario, tool)) for n in sizes]
                if any(g is None for g in got):
                    continue
                per_row = ", ".join(f"{g['median'] * 1e9 / g['rows']:.0f}" for g in got)
                lines.append(
                    f"| {scenario} | {tool} | {got[-1]['median'] / got[0]['median']:.1f}x | "
                    f"{per_row} |"
                )
    if boot:
        lines += [
            "",
            "Multiplier bootstrap, 999 draws, 1M rows, no covariates (fit + dynamic "
            f"aggregation; median of {args.repeats}):",
            "",
            "| run | median (s) | all runs (s) |",
            "|---|---|---|",
        ]
        lines += [f"| {lab} | {med:.3f} | {', '.join(f'{r:.3f}' for r in runs)} |"
                  for lab, med, runs in boot]  # fmt: skip
    if not with_csdid:
        lines += ["", "csdid is not installed (`pip install csdid`); its rows are skipped."]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="0.1M, 0.2M rows; < 1 min")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--big-repeats", type=int, default=2, help="csdid at the largest size")
    parser.add_argument("--sizes", type=str, default="500000,1000000,2000000,5000000")
    parser.add_argument("--scenarios", type=str, default="none,one,two")
    parser.add_argument("--no-bootstrap", action="store_true")
    parser.add_argument("--no-memory", action="store_true", help="skip the peak-RSS runs")
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument("--peak-child", type=str, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.peak_child:
        rows, scenario, tool = args.peak_child.split(",")
        _peak_child(int(rows), scenario, tool)
        return
    if args.quick:
        args.sizes, args.repeats, args.big_repeats = "100000,200000", 1, 1
        args.no_bootstrap = args.no_memory = True
    sizes = [int(s) for s in args.sizes.split(",")]
    scenarios = args.scenarios.split(",")
    with_csdid = _have_csdid()
    loads = [" ".join(f"{v:.2f}" for v in os.getloadavg())]
    start = time.perf_counter()
    rows = run_sizes(
        sizes, scenarios, args.repeats, args.big_repeats, with_csdid, not args.no_memory
    )
    boot = [] if args.no_bootstrap else run_bootstrap(args.repeats, with_csdid)
    loads.append(" ".join(f"{v:.2f}" for v in os.getloadavg()))
    text = _markdown(rows, boot, args, loads, time.perf_counter() - start, with_csdid)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text)
    print(text)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
