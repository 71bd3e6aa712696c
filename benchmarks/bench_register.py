"""Benchmark: register derivation throughput and memory (issue 8).

Run ``python benchmarks/bench_register.py [--sizes 10 26 52] [--repeats 3]``
(sizes in millions of person-weeks; 260 weeks per person).  Writes medians to
``benchmarks/results/register.md``.  Stages timed separately:

* ``prepare``: validation and encoding (:func:`prepare_records`): ISO weeks,
  status codes, ids, sort/duplicate/gap checks;
* ``kernel``: the summarising kernel (:func:`evaluate.data.kernel.summary_kernel`):
  refusion clock with the three-year reset, refusion share, spells, full-time
  person cells and transitions in one pass (chunked, threaded), once with the
  numpy backend (the reference) and once with numba;
* ``derive``: kernel + the combining DuckDB SQL + labelling
  (:func:`derive_register`): the "full derivation" of the issue, on both
  backends (``EVALUATE_KERNEL``).

Peak memory of ``derive`` is measured with ``tracemalloc`` (numpy reports its
buffers to it) in a separate, untimed run, and compared with the bytes of the
input columns (person int64, week int32, benefit int16, municipality int32 =
18 bytes per row).  DuckDB's own allocations are not seen by tracemalloc.

Streaming and validation (issue 17), written to the "Streaming" section of the
results file (the rest of the file is kept)::

    python benchmarks/bench_register.py --stream 10 100 1000 --prepare 10 100 \
        --repeats 3 --data-dir /tmp/register-bench

``--stream``: registers of so many million person-weeks written to Parquet
(``--stream-files`` files, persons in blocks per file, row groups of 2**20 rows, as
a register sorted by person is stored) under ``--data-dir`` and reused by later
runs (written only if absent; not timed); each is streamed with
:func:`evaluate.data.stream.derive_parquet` ``--repeats`` times, each run in a
fresh process (peak RSS = that process's ``ru_maxrss``), the Arrow fast path and
the DuckDB path (up to ``--old-up-to`` million rows) alternating; medians.
``--prepare``: :func:`prepare_records` alone in memory, the one-pass fast path and
the step-by-step checks alternating.  ``--quick``: 2M rows, 2 repeats, under a
minute.  Load average is recorded at the start and the end.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

import numpy as np
import pandas as pd

# This checkout's evaluate (the repository first on sys.path, not benchmarks/).
sys.path[0] = str(Path(__file__).resolve().parent.parent)

from evaluate.data.derive import derive_register, summary_kernel  # noqa: E402
from evaluate.data.register import prepare_records  # noqa: E402
from evaluate.money.refusion import RefusionSchedule  # noqa: E402
from evaluate.simulate_register import register_histories  # noqa: E402

OUT = Path(__file__).parent / "results" / "register.md"
STREAM_HEADER = "## Streaming from Parquet on disk"
WEEKS = 260
BACKENDS = ("numpy", "numba")  # the reference and the compiled kernel


def _time(fn, repeats: int) -> float:  # noqa: ANN001
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def bench(millions: float, repeats: int) -> dict[str, float]:
    n_persons = int(millions * 1e6 / WEEKS)
    data = register_histories(n_persons=n_persons, n_weeks=WEEKS, n_municipalities=98, seed=1)
    n = len(data)
    records = prepare_records(data)
    frame = pd.DataFrame(
        {
            "person": records.person,
            "week": records.week,
            "benefit": records.benefit,
            "municipality": records.municipality,
        }
    )
    benefits, schedule = records.codes.benefits, RefusionSchedule.danish()
    t_prep = _time(lambda: prepare_records(data), repeats)
    out = {"rows": n, "prepare_s": t_prep}
    for backend in BACKENDS:
        kernel = summary_kernel(benefits, schedule, window=records.window, backend=backend)
        kernel(frame.head(1000))  # numba: compile (or load the cache) outside the timing
        os.environ["EVALUATE_KERNEL"] = backend
        out[f"kernel_{backend}_s"] = _time(lambda k=kernel: k(frame), repeats)
        out[f"derive_{backend}_s"] = _time(lambda: derive_register(records), repeats)
    best = BACKENDS[-1]
    os.environ["EVALUATE_KERNEL"] = best
    tracemalloc.start()
    derive_register(records)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    input_bytes = n * (8 + 4 + 2 + 4)
    out.update(
        {
            "end_to_end_rate": n / (t_prep + out[f"derive_{best}_s"]) / 1e6,
            "peak_gb": peak / 1e9,
            "peak_over_input": peak / input_bytes,
        }
    )
    return out


def write_parquet(folder: Path, millions: float, n_files: int) -> dict[str, float]:
    """Simulate ``millions`` M person-weeks in ``n_files`` Parquet files (one person block each)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    folder.mkdir(parents=True, exist_ok=True)
    n_persons = int(millions * 1e6 / WEEKS)
    per_file = -(-n_persons // n_files)
    t, rows, offset = time.perf_counter(), 0, 0
    for i in range(n_files):
        n = min(per_file, n_persons - offset)
        if n <= 0:
            break
        part = register_histories(n_persons=n, n_weeks=WEEKS, n_municipalities=98, seed=100 + i)
        table = pa.table(
            {
                "person": part["person"].to_numpy("int64") + offset,
                "week": part["week"].to_numpy("int32"),
                "status": part["status"].to_numpy("int16"),
                "municipality": part["municipality"].to_numpy("int16"),
            }
        )
        pq.write_table(table, folder / f"part-{i:03d}.parquet", row_group_size=1 << 20)
        rows += len(part)
        offset += n
        del part, table
    size = sum(f.stat().st_size for f in folder.glob("*.parquet"))
    return {"rows": rows, "write_s": time.perf_counter() - t, "disk_gb": size / 1e9}


def _stream_child(folder: str, rows_per_chunk: int, path: str) -> None:
    """Run in a fresh process so ru_maxrss is the streaming run's own peak."""
    import evaluate.data.stream as stream

    if path == "duckdb":  # the path every register took before the Arrow fast path
        stream.plan_footers = lambda *a: None
    # Load the compiled kernels (on-disk cache) outside the timed run.
    tiny = Path(tempfile.mkdtemp())
    register_histories(n_persons=10, n_weeks=WEEKS, seed=1).to_parquet(tiny / "t.parquet")
    stream.derive_parquet(tiny, progress=False)
    shutil.rmtree(tiny)
    t = time.perf_counter()
    d = stream.derive_parquet(
        str(Path(folder) / "*.parquet"), rows_per_chunk=rows_per_chunk, progress=False
    )
    wall = time.perf_counter() - t
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    print(json.dumps({"rows": d.n_rows, "wall_s": wall, "spells": len(d.spells), "kb": peak_kb}))


def _folder(base: Path, millions: float, n_files: int) -> tuple[Path, dict]:
    """The register of ``millions`` M rows under ``base``, written only if absent."""
    folder = base / f"register_{millions:g}M_{n_files}files"
    done = folder / "_written.json"
    if done.exists():
        return folder, json.loads(done.read_text())
    shutil.rmtree(folder, ignore_errors=True)  # a partial earlier write
    info = write_parquet(folder, millions, n_files)
    done.write_text(json.dumps(info))
    return folder, info


def bench_stream(folder: Path, info: dict, rows_per_chunk: int, paths: list[str],
                 repeats: int) -> list[dict]:  # fmt: skip
    """``repeats`` rounds, the paths alternating, each run in a fresh process."""
    runs: dict[str, list[dict]] = {p: [] for p in paths}
    for _ in range(repeats):
        for path in paths:
            cmd = [sys.executable, __file__, "--stream-child", str(folder), "--path", path,
                   "--rows-per-chunk", str(rows_per_chunk)]  # fmt: skip
            done = subprocess.run(cmd, check=True, capture_output=True, text=True)
            out = json.loads(done.stdout.strip().splitlines()[-1])
            print(path, out, flush=True)
            runs[path].append(out)
    results = []
    for path, rs in runs.items():
        wall = statistics.median(r["wall_s"] for r in rs)
        results.append({
            "path": path, "rows": rs[0]["rows"], "spells": rs[0]["spells"], "runs": len(rs),
            "wall_s": wall, "min_s": min(r["wall_s"] for r in rs),
            "max_s": max(r["wall_s"] for r in rs), "rate": rs[0]["rows"] / wall / 1e6,
            "peak_rss_gb": max(r["kb"] for r in rs) * 1024 / 1e9, **info,
        })  # fmt: skip
    return results


def bench_prepare(millions: float, repeats: int) -> dict:
    """prepare_records alone in memory: the one-pass fast path and the step-by-step checks
    (the path every register took before), alternating, medians."""
    import evaluate.data.register as register

    n_persons = int(millions * 1e6 / WEEKS)
    data = register_histories(n_persons=n_persons, n_weeks=WEEKS, n_municipalities=98, seed=1)
    fast = register._prepare_clean
    times: dict[str, list[float]] = {"one pass": [], "step by step": []}
    prepare_records(data.head(1000))
    for _ in range(repeats):
        for name in times:
            register._prepare_clean = fast if name == "one pass" else (lambda *a: None)
            t = time.perf_counter()
            prepare_records(data)
            times[name].append(time.perf_counter() - t)
    register._prepare_clean = fast
    med = {k: statistics.median(v) for k, v in times.items()}
    return {"rows": len(data), **{f"{k}_s": v for k, v in med.items()}}


def stream_section(results: list[dict], prepared: list[dict], meta: dict) -> list[str]:
    lines = [
        STREAM_HEADER,
        "",
        f"Load average {meta['load_start']:.1f} at the start and {meta['load_end']:.1f} at "
        "the end (the run's own two workers count in it; above 2 means other jobs shared "
        "the machine and the times are noisy).  Command:",
        "",
        f"    {meta['command']}",
        "",
        f"`derive_parquet` on simulated registers ({WEEKS} weeks per person, 98 "
        f"municipalities) in {meta['files']} Parquet files on local disk (persons in blocks "
        "per file, row groups of 1,048,576 rows, as a register sorted by person is stored); "
        "numba kernels; validation included.  `arrow` = the fast path (footer plan, pyarrow "
        "row groups, one compiled pass that validates and derives); `duckdb` = the path "
        "every register took before (DuckDB plan scan, a sorted query per chunk, "
        f"`prepare_records`, kernel, SQL; chunks of {meta['rows_per_chunk']:,} rows).  Each "
        "run in a fresh process, paths alternating; median (min-max) of the runs; peak RSS "
        "= `ru_maxrss` of the process (Python, numpy, Arrow and DuckDB together), largest "
        "of the runs.  Generating the files is not timed.",
        "",
        "| rows | path | runs | wall s (min-max) | M rows/s | peak RSS GB | spells | Parquet MB |",
        "|---:|---|---:|---:|---:|---:|---:|---:|",
    ]
    for x in sorted(results, key=lambda x: (x["rows"], x["path"])):
        lines.append(
            f"| {x['rows']:,} | {x['path']} | {x['runs']} | {x['wall_s']:.1f} "
            f"({x['min_s']:.1f}-{x['max_s']:.1f}) | {x['rate']:.1f} | {x['peak_rss_gb']:.2f} | "
            f"{x['spells']:,} | {x['disk_gb'] * 1e3:.0f} |"
        )
    if prepared:
        lines += [
            "",
            "`prepare_records` alone, in memory (integer columns sorted by person, as "
            "`register_histories` makes them): `one pass` = the compiled fast path, `step "
            "by step` = the separate checks it falls back to (the only path before); "
            f"alternating, median of {meta['repeats']}.",
            "",
            "| rows | one pass s | M rows/s | step by step s | M rows/s | ratio |",
            "|---:|---:|---:|---:|---:|---:|",
        ]
        for r in prepared:
            a, b = r["one pass_s"], r["step by step_s"]
            lines.append(
                f"| {r['rows']:,} | {a:.2f} | {r['rows'] / a / 1e6:.0f} | {b:.2f} | "
                f"{r['rows'] / b / 1e6:.0f} | {b / a:.1f} |"
            )
    lines += ["", *BEFORE]
    return lines


BEFORE = [
    "### Before (issue 17 baseline, the DuckDB path only)",
    "",
    "One run per size, each in a fresh process, chunks of at most 5,000,000 rows, 2 chunks "
    "in flight; load average about 1.3.",
    "",
    "| rows | wall s | M rows/s | peak RSS GB | spells | Parquet MB | simulate + write s |",
    "|---:|---:|---:|---:|---:|---:|---:|",
    "| 9,999,860 | 1.7 | 6.0 | 1.21 | 196,486 | 2 | 2 |",
    "| 99,999,900 | 11.3 | 8.8 | 1.41 | 1,970,339 | 20 | 14 |",
    "| 999,999,780 | 112.3 | 8.9 | 3.03 | 19,735,221 | 199 | 269 |",
    "",
    "`prepare_records` before: 0.38 s at 10M rows (26 M rows/s), 8.19 s at 104M (12.7 M/s).",
]


def write_stream_section(lines: list[str]) -> None:
    """Replace (or add) the streaming section of the results file, keeping the rest."""
    text = OUT.read_text() if OUT.exists() else "# Register derivation: throughput and memory\n"
    head = text.split(STREAM_HEADER)[0].rstrip("\n")
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(head + "\n\n" + "\n".join(lines) + "\n")


def run_stream(args: argparse.Namespace) -> None:
    meta = {
        "load_start": os.getloadavg()[0], "files": args.stream_files, "repeats": args.repeats,
        "rows_per_chunk": args.rows_per_chunk,
        "command": "python benchmarks/bench_register.py " + " ".join(sys.argv[1:]),
    }  # fmt: skip
    base = Path(args.data_dir) if args.data_dir else Path(tempfile.mkdtemp())
    results = []
    try:
        for size in args.stream:
            t = time.perf_counter()
            folder, info = _folder(base, size, args.stream_files)
            print(f"{folder}: {info} (ready in {time.perf_counter() - t:.0f} s)", flush=True)
            paths = ["arrow", "duckdb"] if size <= args.old_up_to else ["arrow"]
            results += bench_stream(folder, info, args.rows_per_chunk, paths, args.repeats)
    finally:
        if not args.data_dir:
            shutil.rmtree(base, ignore_errors=True)  # our own temporary files only
    prepared = [bench_prepare(size, args.repeats) for size in args.prepare]
    for r in prepared:
        print(r, flush=True)
    meta["load_end"] = os.getloadavg()[0]
    write_stream_section(stream_section(results, prepared, meta))
    print(f"wrote {OUT}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=float, nargs="+", default=[10.0, 52.0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--stream", type=float, nargs="*", default=[], help="M rows to stream")
    parser.add_argument("--stream-only", action="store_true")
    parser.add_argument("--stream-files", type=int, default=20)
    parser.add_argument("--rows-per-chunk", type=int, default=5_000_000)
    parser.add_argument(
        "--data-dir",
        default=None,
        help="keep the Parquet registers here and reuse them (default: temp)",
    )
    parser.add_argument(
        "--old-up-to",
        type=float,
        default=100,
        help="also time the DuckDB path up to this many M rows",
    )
    parser.add_argument(
        "--prepare",
        type=float,
        nargs="*",
        default=[],
        help="M rows for prepare_records alone, in memory",
    )
    parser.add_argument("--quick", action="store_true", help="a check in under a minute")
    parser.add_argument("--stream-child", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--path", default="arrow", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.stream_child:
        _stream_child(args.stream_child, args.rows_per_chunk, args.path)
        return
    if args.quick:
        args.stream, args.prepare, args.repeats, args.stream_only = [2], [2], 2, True
    if args.stream_only or args.stream or args.prepare:
        run_stream(args)
        return
    rows = []
    for size in args.sizes:
        result = bench(size, args.repeats)
        print(result, flush=True)
        rows.append(result)
    table = pd.DataFrame(rows)
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    lines = [
        "# Register derivation: throughput and memory",
        "",
        f"Machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}, numpy {np.__version__}; load average at the "
        f"end {load:.1f} (other jobs shared the machine, so times are noisy).",
        f"Median of {args.repeats} runs; simulated register ({WEEKS} weeks per person, "
        "98 municipalities); reset rule 52 of 156 weeks.",
        "",
        "Rates in million person-weeks/s; kernel = one pass summarising into spells, "
        "full-time-person cells and transition cells; derive = kernel + combining DuckDB SQL "
        "+ labelling (the full derivation).",
        "",
        "| rows | kernel | kernel s | kernel M/s | derive s | derive M/s |",
        "|---:|---|---:|---:|---:|---:|",
    ]
    for r in rows:
        for b in BACKENDS:
            k, d = r[f"kernel_{b}_s"], r[f"derive_{b}_s"]
            lines.append(
                f"| {r['rows']:,} | {b} | {k:.2f} | {r['rows'] / k / 1e6:.1f} | {d:.2f} | "
                f"{r['rows'] / d / 1e6:.1f} |"
            )
    lines += [
        "",
        f"Validation and encoding (`prepare_records`) and memory ({BACKENDS[-1]} kernel):",
        "",
        "| rows | prepare s | prepare+derive M/s | peak GB | peak / input |",
        "|---:|---:|---:|---:|---:|",
    ]
    for r in table.itertuples():
        lines.append(
            f"| {r.rows:,} | {r.prepare_s:.2f} | {r.end_to_end_rate:.1f} | {r.peak_gb:.2f} | "
            f"{r.peak_over_input:.1f} |"
        )
    if len(table) > 1:
        per_row = table[f"derive_{BACKENDS[-1]}_s"] / table["rows"]
        lines += [
            "",
            f"Scaling ({BACKENDS[-1]}): derive time per row varies by a factor "
            f"{per_row.max() / per_row.min():.2f}"
            " across sizes (1.0 = perfectly linear).",
        ]
    lines += [
        "",
        "Peak memory counts numpy/pandas buffers (tracemalloc) during `derive_register`, "
        "above the input columns themselves (18 bytes/row): the per person-week rows are "
        "never materialised, so what remains is the spells table (a few per person) and "
        "per-chunk scratch; DuckDB's memory (it only sees the small partial tables) is not "
        "included.  The issue's baseline, window SQL for durations with the reset, ran at "
        "~4 M person-weeks/s.  The numba kernel makes one sequential pass per chunk of "
        "persons (GIL released, two workers) and adds person-weeks, refusion and flows into "
        "dense per-worker cells in the same pass.",
    ]
    old = OUT.read_text() if OUT.exists() else ""
    if STREAM_HEADER in old:  # keep an earlier streaming run's section
        lines += ["", STREAM_HEADER + old.split(STREAM_HEADER, 1)[1].rstrip("\n")]
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text("\n".join(lines) + "\n")
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
