"""Benchmark: Callaway-Sant'Anna on 100k units x 10 periods, ours vs csdid.

Run ``python benchmarks/bench_staggered.py [--repeats 3]``; writes medians and
ratios to ``benchmarks/results/staggered.md``.  Both estimators fit the doubly
robust estimator without covariates and never-treated controls; the bootstrap
runs use 999 multiplier draws (csdid: ``bstrap=True, biters=999``, Mammen
weights; ours: Mammen, and the exact Gaussian-multiplier shortcut).  csdid is
skipped with a note if it is not installed (``pip install csdid``).
"""

from __future__ import annotations

import argparse
import contextlib
import io
import platform
import statistics
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from evaluate.estimators.did.staggered import callaway_santanna

OUT = Path(__file__).parent / "results" / "staggered.md"


def simulate(n_units: int = 100_000, n_periods: int = 10, seed: int = 0) -> pd.DataFrame:
    """Staggered panel: cohorts 0 (never), 4, 6, 8; effect e + 1 at event time e >= 0."""
    rng = np.random.default_rng(seed)
    g = rng.choice(np.array([0, 4, 6, 8]), size=n_units, p=[0.4, 0.2, 0.2, 0.2])
    t = np.arange(1, n_periods + 1)
    y = rng.normal(size=n_units)[:, None] + 0.1 * t + rng.normal(size=(n_units, n_periods))
    e = t[None, :] - g[:, None]
    y += np.where((g[:, None] > 0) & (e >= 0), e + 1.0, 0.0)
    return pd.DataFrame(
        {
            "id": np.repeat(np.arange(n_units), n_periods),
            "t": np.tile(t, n_units),
            "y": y.ravel(),
            "g": np.repeat(g, n_periods),
        }
    )


def _time(fn, repeats: int) -> tuple[float, list[float]]:
    runs = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        runs.append(time.perf_counter() - start)
    return statistics.median(runs), runs


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    data = simulate()
    keys = dict(outcome="y", unit="id", time="t", group="g")
    ours = {
        "ours: point estimates + analytic SE": lambda: callaway_santanna(data, **keys),
        "ours: + 999 bootstrap draws (Mammen)": lambda: callaway_santanna(
            data, **keys, bootstrap=999, seed=1
        ).aggregate("dynamic"),
        "ours: + 999 bootstrap draws (Gaussian, exact shortcut)": lambda: callaway_santanna(
            data, **keys, bootstrap=999, bootstrap_weights="gaussian", seed=1
        ).aggregate("dynamic"),
    }
    rows = []
    for label, fn in ours.items():
        fn()  # warm-up (imports, BLAS threads)
        med, runs = _time(fn, args.repeats)
        rows.append((label, med, runs))
        print(f"{label}: {med:.3f} s")
    note = ""
    try:
        from csdid.att_gt import ATTgt
    except ImportError:
        ATTgt = None
        note = "csdid is not installed (`pip install csdid`); its rows are skipped."

    if ATTgt is not None:

        def run_csdid(bstrap: bool):
            with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
                warnings.simplefilter("ignore")
                fit = ATTgt(
                    yname="y", tname="t", idname="id", gname="g", data=data, biters=999
                ).fit(est_method="dr", bstrap=bstrap)
                fit.aggte(typec="dynamic", bstrap=bstrap, biters=999)

        for label, bstrap in (("csdid: analytic SE", False), ("csdid: 999 bootstrap draws", True)):
            med, runs = _time(lambda b=bstrap: run_csdid(b), args.repeats)
            rows.append((label, med, runs))
            print(f"{label}: {med:.3f} s")

    times = {label: med for label, med, _ in rows}
    lines = [
        "# Callaway-Sant'Anna benchmark",
        "",
        f"Simulated panel: 100,000 units x 10 periods (1M rows), cohorts 4/6/8 + never treated "
        f"(27 ATT(g,t) cells, pre and post); doubly robust, no covariates, "
        f"never-treated controls; each fit followed by the dynamic aggregation. Median of "
        f"{args.repeats} runs after a warm-up, wall clock, on {platform.machine()} "
        f"({platform.python_implementation()} {platform.python_version()}); the machine is "
        "shared, so expect noise.",
        "",
        "| run | median (s) | all runs (s) |",
        "|---|---|---|",
    ]
    lines += [
        f"| {lab} | {med:.3f} | {', '.join(f'{r:.3f}' for r in runs)} |" for lab, med, runs in rows
    ]
    if "csdid: 999 bootstrap draws" in times:
        lines += ["", "| ratio (csdid / ours) | value |", "|---|---|"]
        pairs = [
            ("analytic SE", "csdid: analytic SE", "ours: point estimates + analytic SE"),
            (
                "999 draws, Mammen",
                "csdid: 999 bootstrap draws",
                "ours: + 999 bootstrap draws (Mammen)",
            ),
            (
                "999 draws, ours Gaussian",
                "csdid: 999 bootstrap draws",
                "ours: + 999 bootstrap draws (Gaussian, exact shortcut)",
            ),
        ]
        lines += [f"| {name} | {times[a] / times[b]:.1f}x |" for name, a, b in pairs]
    if note:
        lines += ["", note]
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text("\n".join(lines) + "\n")
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
