"""Build studies/data/register_caseload_cells.csv: a SIMULATED register, compressed.

Generating call (seeded; chunk k of persons uses seed ``SEED + k``)::

    evaluate.simulate_register.register_histories(
        n_persons=CHUNK, n_municipalities=98, start="2019-W01", n_weeks=260,
        treated=TREATED, intervention_week="2021-W27", exit_effect=0.3, seed=SEED + k)

1,000,000 persons x 260 weeks (260M person-weeks) in 10 chunks of 100,000 persons.
In 33 municipalities (every third) a caseload reduction from 2021-W27 raises the
weekly exit hazard from kontanthjælp to self-support by 30 %.  Each chunk is
derived with :func:`evaluate.data.derive_register` (refusion clock with the
52-in-156-weeks reset, refusion share per person-week), then compressed with
DuckDB to municipality x month cells of person-month outcomes:

* ``kh_ftp`` = sum over persons of (weeks on kontanthjælp in the month / weeks in
  the month): full-time persons on kontanthjælp; ``kh_ftp_sq`` its sum of squares;
* ``kh_net_ftp`` = the same weighted by ``1 - refusion share`` of each person-week:
  the full-time persons the municipality pays for itself; ``kh_net_ftp_sq``;
* ``kh_ftp_r80``, ``kh_ftp_r40``, ``kh_ftp_r30``, ``kh_ftp_r20`` (and ``_sq``): the
  full-time persons on kontanthjælp in support weeks 1-4, 5-26, 27-52 and 53+ (the
  refusion steps 80/40/30/20 %): the effect by spell duration, priced week by week;
* ``persons`` (person-months in the cell), ``treated``, ``post``;
* ``kh_ftp_counterfactual``: the same register simulated once more with the same
  seeds and ``exit_effect=0`` (common random numbers), for the true effect.

The script checks that the cell sums equal ``ftp`` and ``ftp - refusion_ftp`` of
kontanthjælp in ``derive_register(...).ftp`` (the refusion-weighted full-time
persons), so the study's net cost share is the derivation's.

Cost measured here (2 cores, shared): 1M persons x 260 weeks in one piece took
196 s and 18 GB peak RSS (simulate 86 s, prepare 56 s, derive 53 s), over the 8 GB
budget; in chunks of 100,000 persons the whole build (the counterfactual
simulation included) took 172 s with 3.5 GB peak RSS.

Run: ``python studies/data/make_register_caseload.py [--persons 1000000] [--chunk 100000]``.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import pandas as pd

from evaluate.data.derive import derive_register
from evaluate.data.register import iso_week_index, month_label, prepare_records, week_month
from evaluate.estimators.did.compressed import cell_statistics
from evaluate.simulate_register import register_histories

SEED = 20210701
N_MUNICIPALITIES = 98
TREATED = tuple(range(1, N_MUNICIPALITIES, 3))  # 0-based: 33 municipalities
START, N_WEEKS, INTERVENTION = "2019-W01", 260, "2021-W27"
EXIT_EFFECT = 0.3
OUT = Path(__file__).parent / "register_caseload_cells.csv"
KEYS = ["municipality", "month"]

PERSON_MONTH_SQL = """
SELECT person, municipality, month,
       SUM(CASE WHEN benefit = {kh} THEN 1 ELSE 0 END) AS kh_weeks,
       SUM(CASE WHEN benefit = {kh} THEN {ppm} - refusion_ppm ELSE 0 END) AS net_ppm,
       SUM(CASE WHEN benefit = {kh} AND refusion_ppm = 800000 THEN 1 ELSE 0 END) AS kh_r80,
       SUM(CASE WHEN benefit = {kh} AND refusion_ppm = 400000 THEN 1 ELSE 0 END) AS kh_r40,
       SUM(CASE WHEN benefit = {kh} AND refusion_ppm = 300000 THEN 1 ELSE 0 END) AS kh_r30,
       SUM(CASE WHEN benefit = {kh} AND refusion_ppm = 200000 THEN 1 ELSE 0 END) AS kh_r20
FROM pw GROUP BY person, municipality, month
"""
BANDS = ("r80", "r40", "r30", "r20")
"""Refusion steps of LBK 221/2021 § 5 (80 % in support weeks 1-4, 40 % in 5-26, 30 % in
27-52, 20 % from 53): kontanthjælp weeks by the step they fall on, so that an effect
can be split by spell duration and priced week by week (issue 15)."""


def _simulate(n: int, seed: int, effect: float) -> pd.DataFrame:
    return register_histories(
        n_persons=n,
        n_municipalities=N_MUNICIPALITIES,
        start=START,
        n_weeks=N_WEEKS,
        treated=TREATED,
        intervention_week=INTERVENTION,
        exit_effect=effect,
        seed=seed,
    )


def chunk_cells(n: int, seed: int) -> pd.DataFrame:
    """Cells of one chunk of persons (sums are additive over disjoint chunks)."""
    import duckdb

    records = prepare_records(_simulate(n, seed, EXIT_EFFECT))
    derived = derive_register(records, keep_person_weeks=True)
    kh = int(records.codes.benefits.set_index("benefit").loc["kontanthjaelp", "benefit_id"])
    con = duckdb.connect()
    con.register("pw", derived.person_weeks)
    pm = con.execute(PERSON_MONTH_SQL.format(kh=kh, ppm=1_000_000)).df()
    con.close()
    first, last = derived.window
    months = week_month(np.arange(first, last + 1))
    wim = pd.Series(months).value_counts()
    w = wim.reindex(pm["month"].to_numpy()).to_numpy(float)
    pm["y"] = pm["kh_weeks"].to_numpy(float) / w
    pm["y_net"] = pm["net_ppm"].to_numpy(float) / 1e6 / w
    gross = cell_statistics(pm, unit="municipality", time="month", outcome="y")
    net = cell_statistics(pm, unit="municipality", time="month", outcome="y_net")
    bands = {}
    for band in BANDS:
        pm[f"y_{band}"] = pm[f"kh_{band}"].to_numpy(float) / w
        bands[band] = cell_statistics(pm, unit="municipality", time="month", outcome=f"y_{band}")
    cells = pd.DataFrame(
        {
            "municipality": derived.municipalities[gross["municipality"].to_numpy()],
            "month": month_label(gross["month"].to_numpy()),
            "persons": gross["n"].to_numpy(),
            "kh_ftp": gross["sum_y"].to_numpy(),
            "kh_ftp_sq": gross["sum_y2"].to_numpy(),
            "kh_net_ftp": net["sum_y"].to_numpy(),
            "kh_net_ftp_sq": net["sum_y2"].to_numpy(),
            **{f"kh_ftp_{b}": bands[b]["sum_y"].to_numpy() for b in BANDS},
            **{f"kh_ftp_{b}_sq": bands[b]["sum_y2"].to_numpy() for b in BANDS},
        }
    )
    # The refusion steps partition the kontanthjælp weeks.
    assert np.allclose(sum(cells[f"kh_ftp_{b}"] for b in BANDS), cells["kh_ftp"], atol=1e-9)
    # The cells must reproduce the derivation's (refusion-weighted) full-time persons.
    ftp = derived.ftp[derived.ftp["benefit"] == "kontanthjaelp"].set_index(KEYS)
    check = cells.set_index(KEYS).join(ftp[["ftp", "refusion_ftp"]], how="left").fillna(0.0)
    assert np.allclose(check["kh_ftp"], check["ftp"], rtol=1e-12, atol=1e-9)
    assert np.allclose(
        check["kh_net_ftp"], check["ftp"] - check["refusion_ftp"], rtol=1e-12, atol=1e-9
    )
    # Counterfactual: same seed, no effect (common random numbers).
    cf = _simulate(n, seed, 0.0)
    week = iso_week_index(cf["week"].to_numpy())
    on = cf["status"].to_numpy() == 130
    month_cf = week_month(week[on])
    cf_cells = (
        pd.DataFrame({"municipality": cf["municipality"].to_numpy()[on], "month": month_cf})
        .value_counts()
        .rename("pw")
        .reset_index()
    )
    cf_cells["kh_ftp_counterfactual"] = cf_cells["pw"] / wim.reindex(cf_cells["month"]).to_numpy()
    cf_cells["month"] = month_label(cf_cells["month"].to_numpy())
    return cells.merge(cf_cells[[*KEYS, "kh_ftp_counterfactual"]], on=KEYS, how="left").fillna(
        {"kh_ftp_counterfactual": 0.0}
    )


def build(n_persons: int = 1_000_000, chunk: int = 100_000, seed: int = SEED) -> pd.DataFrame:
    """All cells: chunk sums added up, with treatment columns."""
    parts = []
    for k, lo in enumerate(range(0, n_persons, chunk)):
        t = time.perf_counter()
        parts.append(chunk_cells(min(chunk, n_persons - lo), seed + k))
        print(f"chunk {k}: {time.perf_counter() - t:.1f} s", flush=True)
    cells = pd.concat(parts).groupby(KEYS, as_index=False).sum()
    treated = {101 + m for m in TREATED}
    start_month = str(month_label(week_month(iso_week_index([INTERVENTION])))[0])
    cells.insert(2, "treated", cells["municipality"].isin(treated).astype(int))
    cells.insert(3, "post", ((cells["treated"] == 1) & (cells["month"] >= start_month)).astype(int))
    return cells.sort_values(KEYS, kind="stable").reset_index(drop=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--persons", type=int, default=1_000_000)
    parser.add_argument("--chunk", type=int, default=100_000)
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    t = time.perf_counter()
    cells = build(args.persons, args.chunk)
    cells.to_csv(args.out, index=False, lineterminator="\n")
    print(f"{len(cells)} cells, {time.perf_counter() - t:.0f} s{_peak_rss()}")


def _peak_rss() -> str:
    """Peak memory of this process (Linux: ru_maxrss in kB); `resource` is POSIX only."""
    try:
        import resource
    except ImportError:
        return ""
    return f", peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6:.1f} GB"


if __name__ == "__main__":
    main()
