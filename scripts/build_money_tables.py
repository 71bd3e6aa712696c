"""Build the bundled Danish money tables from the sourced collection.

Input: ``evaluate/money/data/source/`` (a verbatim copy of the collection
``rates_dk.csv`` (231 rows, one per published rate with its legal reference, source
title and URL), ``parameters_dk.csv`` and ``SOURCES.md``; copied so the package
works, and this build reproduces, without the shared folder).  Output, next to it
in ``evaluate/money/data/``:

``rates_dk.csv``
    One row per benefit x category x year with ``amount``, ``per``, ``grade`` and the
    source row's reference, title and URL.  ``grade`` is ``official`` (ministry,
    law, retsinformation/socialjura, Medst), ``secondary`` (a-kasse, union,
    municipality, employers' association, blog), ``low`` (the collection marks the
    year as inferred or the source as tertiary) or ``satsreguleret``: a year no
    source gives, filled from the year before with that year's announced
    satsreguleringsprocent (see below); ``filled_from`` and ``regulation_pct`` say how.
    Where several sources give the same benefit, category and year, the best grade
    is kept and the others are named in ``note`` as confirmations.
``satsregulering_dk.csv``
    Satsreguleringsprocent by year (announced by Finansministeriet's
    bekendtgørelse, or only forecast), the statutory reduction (fradrag, L 200
    2011-12: 0.3 in 2016, 0.4 in 2017, 0.75 in 2018-2023) and the regulation
    transfers actually get (pct - fradrag).
``pl_dk.csv``
    Finansministeriet's (ØS) state price-and-wage index, chained from the annual
    rises (2013 = 100): the PL series service costs are indexed with.
``factors_dk.csv``
    Nettoafgiftsfaktor and skatteforvridning with their history and status.
``taxes_dk.csv``
    Income-tax shares used to put the citizen (borger) perspective after tax.
``reforms_dk.csv``
    Category changes a lookup must not cross silently (the kontanthjælp reform of
    1 July 2025).

Filling a year: transfers are regulated each January by the satsreguleringsprocent
less the fradrag (the "afdæmpede" regulation).  Checked against the collection
itself: every pair of consecutive sourced years 2015-2019 and 2023 (kontanthjælp,
kontantydelse, dagpenge, sygedagpenge, fleksydelse, ressourceforløbsydelse) rose by
exactly pct - fradrag (to the krone).  The exception is 2022: the collection's
1.2 % (afdæmpet 0.45 %) does not reproduce the sourced 2021->2022 rises, which are
0.15 % throughout; a 2022 fill is therefore marked in its note as likely 0.3 % too
high.  Only *announced* percentages fill a year; forecasts (2023, 2025) do not.  No
year is filled across the kontanthjælp reform of 1 July 2025 (reforms_dk.csv).

Run from the repository root::

    python scripts/build_money_tables.py            # rebuild from the bundled copy
    python scripts/build_money_tables.py --check    # fail if the bundled tables differ
"""

from __future__ import annotations

import argparse
import io
import sys
from pathlib import Path
from urllib.parse import urlparse

import numpy as np
import pandas as pd

DATA = Path(__file__).resolve().parents[1] / "evaluate" / "money" / "data"
SOURCE = DATA / "source"
LAST_YEAR = 2026

OFFICIAL = {
    "bm.dk", "retsinformation.dk", "socialjura.dk", "elov.dk", "admin.elov.dk", "pav.medst.dk",
    "star.dk", "fm.dk", "ft.dk", "oes.dk", "skm.dk", "eu.dk",
}  # fmt: skip
LOW_DOMAINS = {"beraknare.se"}
LOW_MARKERS = ("LAV TILLID", "ÅRSTAL UDLEDT")

BENEFITS = {
    "kontanthjælp": "kontanthjaelp",
    "kontanthjælp (tillæg)": "kontanthjaelp_tillaeg",
    "uddannelseshjælp": "uddannelseshjaelp",
    "ledighedsydelse": "ledighedsydelse",
    "sygedagpenge": "sygedagpenge",
    "arbejdsløshedsdagpenge": "dagpenge",
    "ressourceforløbsydelse": "ressourceforloebsydelse",
    "revalideringsydelse": "revalideringsydelse",
    "fleksydelse": "fleksydelse",
    "fleksløntilskud": "fleksloentilskud",
    "førtidspension": "foertidspension",
    "kontantydelse": "kontantydelse",
}
"""Source benefit name -> key (ASCII, as in the register status codes)."""

CATEGORIES = {
    ("kontanthjælp", "under 30 år, gravid (efter 12. svangerskabsuge)"):
        "under 30 år, gravid (passeret 12. svangerskabsuge)",
    ("kontanthjælp", "under 30 år, forsørger, gift/samlevende med person på SU, "
     "uddannelseshjælp eller kontanthjælp"):
        "under 30 år, forsørger, samlevende med person på SU, uddannelses- eller kontanthjælp",
    ("kontanthjælp", "under 30 år, forsørger, bor med person på SU, kontant- eller "
     "uddannelseshjælp"):
        "under 30 år, forsørger, samlevende med person på SU, uddannelses- eller kontanthjælp",
    ("kontanthjælp", "under 30 år, forsørger, gift/samlevende med andre"):
        "under 30 år, forsørger i øvrigt",
    ("uddannelseshjælp", "gravid (efter 12. svangerskabsuge)"):
        "under 30 år, gravid (passeret 12. svangerskabsuge)",
    ("uddannelseshjælp", "enlig forsørger"): "enlig forsørger under 30 år",
    ("uddannelseshjælp", "psykisk syg, forsørger"): "under 30 år, psykisk syg, forsørger",
    ("ledighedsydelse", "maksimum (89 pct. af højeste dagpengesats)"):
        "89 pct. af højeste dagpengesats",
    ("arbejdsløshedsdagpenge", "fuldtidsforsikrede, med beskæftigelsestillæg (118,86 pct. "
     "sats, første 481 timer)"):
        "fuldtidsforsikrede, med beskæftigelsestillæg (første 481 timer)",
    ("arbejdsløshedsdagpenge", "fuldtidsforsikrede, med beskæftigelsestillæg"):
        "fuldtidsforsikrede, med beskæftigelsestillæg (første 481 timer)",
    ("ressourceforløbsydelse", "ikke-forsørger (minimumsydelse)"): "ikke-forsørger",
    ("revalideringsydelse", "fyldt 30 år eller forsørger eget barn i hjemmet (højeste sats)"):
        "fyldt 30 år (højeste sats)",
    ("revalideringsydelse", "fyldt 30 år (højeste sats) – lovtekstens beløb i 2019-niveau"):
        "fyldt 30 år (højeste sats)",
    ("revalideringsydelse", "over 30 år"): "fyldt 30 år (højeste sats)",
    ("revalideringsydelse", "fyldt 30 år"): "fyldt 30 år (højeste sats)",
    # 197,796 x 1.016 x 1.0125 = 203,472 (the 91 pct. rate of 2018, to the krone)
    ("fleksydelse", "fleksydelse (§ 17, stk. 2 og 3)"): "91 pct.",
    ("førtidspension", "andre (gifte/samlevende)"): "gifte/samlevende",
    ("førtidspension", "enlige (efter nye regler)"): "enlige",
    ("førtidspension", "gifte/samlevende (efter nye regler)"): "gifte/samlevende",
    ("førtidspension", "enlige (førtidspension og seniorpension, efter nye regler)"): "enlige",
    ("førtidspension", "gifte/samlevende (førtidspension og seniorpension, efter nye regler)"):
        "gifte/samlevende",
}  # fmt: skip
"""Source category -> canonical category, where the sources word one category two ways.
Every other category keeps the source's wording."""

EXCLUDE = {
    ("kontanthjælp (tillæg)", 2024): "law-text base amounts at 2024 level; the tillæg exist "
    "only from 1 July 2025 (the 2025 amounts are in the table)",
}
PER = {"per month": "month", "per week": "week", "per year": "year", "per day": "day",
       "per hour": "hour"}  # fmt: skip
PER_ORDER = {"month": 0, "week": 1, "year": 2, "day": 3, "hour": 4}
GRADE_ORDER = {"official": 0, "secondary": 1, "low": 2}
NO_FILL_AFTER = {"kontanthjaelp": 2025, "uddannelseshjaelp": 2025}
"""Benefits (their pre-reform categories) that end with the reform of 1 July 2025."""
NO_FILL_BEFORE = {"kontanthjaelp_tillaeg": 2025}


def grade(url: str, note: str) -> str:
    domain = urlparse(url).netloc.removeprefix("www.")
    if domain in LOW_DOMAINS or any(m in note for m in LOW_MARKERS):
        return "low"
    return "official" if domain in OFFICIAL else "secondary"


def _pct(text: str) -> float:
    return float(str(text).replace(",", "."))


def satsregulering(params: pd.DataFrame) -> pd.DataFrame:
    """Satsreguleringsprocent by year with its status, fradrag and the transfer regulation."""
    fradrag = {2016: 0.3, 2017: 0.4, **{y: 0.75 for y in range(2018, 2024)}}
    l200 = params[params["parameter"].str.startswith("fradrag i satsregulering")].iloc[0]
    rows = []
    for _, p in params[params["parameter"].str.startswith("satsreguleringsprocent")].iterrows():
        year = int(p["valid_years"])
        status = "forecast" if "skøn" in p["parameter"] else "announced"
        cut = fradrag.get(year, 0.0)
        note = str(p["note"]) if pd.notna(p["note"]) else ""
        if year == 2022:
            note += (
                " CONFLICT: the collection's own 2021->2022 rises (dagpenge, sygedagpenge, "
                "ressourceforløbsydelse, revalideringsydelse, fleksydelse) are 0.15 %, not "
                "1.2 - 0.75 = 0.45 %; a year filled with it is likely 0.3 % too high."
            )
        rows.append(
            {
                "year": year,
                "pct": _pct(p["value"]),
                "status": status,
                "fradrag": cut,
                "regulation_pct": round(_pct(p["value"]) - cut, 4),
                "source": p["source_title"],
                "source_url": p["source_url"],
                "fradrag_source": f"{l200['source_title']} ({l200['source_url']})" if cut else "",
                "note": note.strip(),
            }
        )
    return pd.DataFrame(rows).sort_values("year", kind="stable").reset_index(drop=True)


def _clean(raw: pd.DataFrame) -> tuple[pd.DataFrame, list[str]]:
    rows, dropped = [], []
    for _, r in raw.iterrows():
        if (r["benefit"], int(r["year"])) in EXCLUDE:
            dropped.append(
                f"{r['benefit']} / {r['category']} / {r['year']}: "
                f"{EXCLUDE[(r['benefit'], int(r['year']))]}"
            )
            continue
        note = "" if pd.isna(r["note"]) else str(r["note"])
        rows.append(
            {
                "benefit": BENEFITS[r["benefit"]],
                "category": CATEGORIES.get((r["benefit"], r["category"]), r["category"]),
                "year": int(r["year"]),
                "amount": float(r["amount_dkk"]),
                "per": PER[r["unit"]],
                "valid_from": "" if pd.isna(r["valid_from"]) else str(r["valid_from"]),
                "grade": grade(str(r["source_url"]), note),
                "legal_reference": "" if pd.isna(r["legal_reference"]) else r["legal_reference"],
                "source": r["source_title"],
                "source_url": r["source_url"],
                "source_category": r["category"],
                "filled_from": "",
                "regulation_pct": np.nan,
                "note": note,
            }
        )
    return _best(ledighedsydelse_from_rfy(pd.DataFrame(rows))), dropped


def _best(frame: pd.DataFrame) -> pd.DataFrame:
    """One row per benefit, category and year: the best grade; the others as notes."""
    frame = frame.copy()
    frame["_g"] = frame["grade"].map(GRADE_ORDER)
    frame["_p"] = frame["per"].map(PER_ORDER)
    frame = frame.sort_values(["benefit", "category", "year", "_g", "_p"], kind="stable")
    keep = []
    for _, group in frame.groupby(["benefit", "category", "year"], sort=False):
        best = group.iloc[0].copy()
        others = [
            f"{o['source_url']} ({o['amount']:g} per {o['per']}, {o['grade']})"
            for _, o in group.iloc[1:].iterrows()
        ]
        if others:
            also = "Also given by: " + "; ".join(others) + "."
            best["note"] = f"{best['note']} {also}".strip()
        keep.append(best)
    return pd.DataFrame(keep).drop(columns=["_g", "_p"])


def ledighedsydelse_from_rfy(rates: pd.DataFrame) -> pd.DataFrame:
    """Ledighedsydelse for years only the ressourceforløbsydelse pages give.

    bm.dk's ressourceforløbsydelse pages state the rate "på ledighedsydelsesniveau
    (89 pct.)": the ledighedsydelse amount itself.  That amount joins the ledighedsydelse
    rows with its own source, grade and a note; the best grade per year is kept.
    """
    rfy = rates[
        (rates["benefit"] == "ressourceforloebsydelse")
        & (rates["category"] == "på ledighedsydelsesniveau (89 pct.)")
    ].copy()
    rfy["benefit"] = "ledighedsydelse"
    rfy["category"] = "89 pct. af højeste dagpengesats"
    rfy["note"] = (
        "Via ressourceforløbsydelse på ledighedsydelsesniveau (the same amount). "
        + rfy["note"].astype(str)
    ).str.strip()
    return pd.concat([rates, rfy], ignore_index=True)


def fill(rates: pd.DataFrame, sats: pd.DataFrame) -> pd.DataFrame:
    """Add the missing years that an announced satsreguleringsprocent fills."""
    announced = sats[sats["status"] == "announced"].set_index("year")
    added: list[pd.Series] = []
    for (benefit, _category), series in rates.groupby(["benefit", "category"]):
        by_year = {int(r["year"]): r for _, r in series.iterrows()}
        known = sorted(by_year)
        # Only gaps *between* two sourced years are filled: past the last sourced year
        # nothing says the category still exists (several ended with a reform).
        for before, after in zip(known, known[1:], strict=False):
            last = sourced = by_year[before]
            for year in range(before + 1, after):
                if year not in announced.index or not (
                    NO_FILL_BEFORE.get(benefit, 0) <= year <= NO_FILL_AFTER.get(benefit, LAST_YEAR)
                ):
                    break  # no announced percentage: the rest of this gap stays a gap
                reg = announced.loc[year]
                pct = f"{reg['regulation_pct']:g}".replace(".", ",")
                cut = (
                    f" fratrukket fradrag {reg['fradrag']:g} (L 200 2011-12)".replace(".", ",")
                    if reg["fradrag"]
                    else ""
                )
                row = last.copy()
                row["year"] = year
                row["amount"] = float(last["amount"]) * (1 + reg["regulation_pct"] / 100)
                row["grade"] = "satsreguleret"
                row["valid_from"] = ""
                row["filled_from"] = str(int(last["year"]))
                row["regulation_pct"] = reg["regulation_pct"]
                # In Danish: a Danish report shows the source as it is.
                row["source"] = (
                    f"{int(last['year'])}-satsen x (1 + {pct} %): satsreguleringsprocent "
                    + f"{reg['pct']:g}".replace(".", ",")
                    + f" % ({reg['source']})"
                    + cut
                    + f"; senest kildebelagte år {int(sourced['year'])}: {sourced['source']}"
                )
                row["source_url"] = reg["source_url"]
                row["note"] = "SATSREGULERET: no source gives this year." + (
                    " " + reg["note"] if "CONFLICT" in str(reg["note"]) else ""
                )
                added.append(row)
                last = row
    out = pd.concat([rates, pd.DataFrame(added)], ignore_index=True)
    return out.sort_values(["benefit", "category", "year"], kind="stable").reset_index(drop=True)


def pl_index(params: pd.DataFrame) -> pd.DataFrame:
    rows = params[params["parameter"] == "statslig PL: generel pris- og lønstigning"]
    rows = rows.assign(year=rows["valid_years"].astype(int)).sort_values("year")
    level, out = 100.0, [
        {"year": int(rows["year"].min()) - 1, "rise_pct": np.nan, "index": 100.0, "source": "",
         "source_url": ""}
    ]  # fmt: skip
    for _, r in rows.iterrows():
        level *= 1 + _pct(r["value"]) / 100
        out.append(
            {
                "year": int(r["year"]),
                "rise_pct": _pct(r["value"]),
                "index": level,
                "source": r["source_title"],
                "source_url": r["source_url"],
            }
        )
    return pd.DataFrame(out)


def factors(params: pd.DataFrame) -> pd.DataFrame:
    def row(prefix: str) -> pd.Series:
        return params[params["parameter"].str.startswith(prefix)].iloc[0]

    naf = row("nettoafgiftsfaktor")
    sfv_now = row("skatteforvridningsfaktor")
    sfv_old = row("skatteforvridningstab")
    return pd.DataFrame(
        [
            {
                "factor": "net_tax_factor",
                "value": 1.28,
                "valid_from": 2023,
                "valid_to": "",
                "status": "current",
                "meaning": "nettoafgiftsfaktor: factor prices -> market (consumer) prices",
                "source": naf["source_title"],
                "source_url": naf["source_url"],
                "note": str(naf["note"]),
            },
            {
                "factor": "tax_distortion",
                "value": 0.0,
                "valid_from": 2023,
                "valid_to": "",
                "status": "current",
                "meaning": "skatteforvridning: cost per DKK of public net expenditure "
                "(factor 1 = no surcharge)",
                "source": sfv_now["source_title"],
                "source_url": sfv_now["source_url"],
                "note": str(sfv_now["note"]),
            },
            {
                "factor": "tax_distortion",
                "value": 0.20,
                "valid_from": 1999,
                "valid_to": 2022,
                "status": "historical",
                "meaning": "skatteforvridningstab, 20 % of the tax-financing need",
                "source": sfv_old["source_title"],
                "source_url": sfv_old["source_url"],
                "note": str(sfv_old["note"])
                + " A 10 % factor of a 2017 guidance was not found in any source.",
            },
        ]
    )


def taxes() -> pd.DataFrame:
    """Tax shares for the borger perspective (sources found by this build's author)."""
    return pd.DataFrame(
        [
            {
                "tax": "kommuneskat",
                "year": 2023,
                "rate": 0.25018,
                "payer": "kommune",
                "grade": "official",
                "source": "Skatteministeriet: Kommuneskatter - gennemsnitsprocenten i 2023",
                "source_url": "https://www.skm.dk/skattetal/satser/statistik-i-kommunerne/"
                "kommuneskatter-gennemsnitsprocenten-i-2023/",
                "note": "Landsgennemsnitlig kommuneskatteprocent 25,018 (2022: 24,982); "
                "kirkeskat (0,661 on average) is left out.",
            },
            {
                "tax": "bundskat",
                "year": 2023,
                "rate": 0.1209,
                "payer": "stat",
                "grade": "secondary",
                "source": "Skatteinform: Satser for personer 2023-2024",
                "source_url": "https://skatteinform.dk/dk/graenser-og-satser/graenser-og-satser/"
                "satser-for-personer/",
                "note": "CONFLICT: blicher.dk and skattesatser.dk give 12,06 % for 2023 "
                "(skatteinform: 12,06 % for 2024). No official page found.",
            },
            {
                "tax": "am_bidrag",
                "year": 2023,
                "rate": 0.08,
                "payer": "stat",
                "grade": "secondary",
                "source": "Skatteinform: Satser for personer 2023-2024",
                "source_url": "https://skatteinform.dk/dk/graenser-og-satser/graenser-og-satser/"
                "satser-for-personer/",
                "note": "AM-bidrag 8 % on wages (not on kontanthjælp); the same on every page "
                "found (blicher.dk, skattesatser.dk).",
            },
        ]
    )


def reforms() -> pd.DataFrame:
    """Changes of benefit categories a lookup must not silently cross (SOURCES.md, caveats)."""
    law = "LAS § 19 (LBK 1004 af 30.6.2025); SOURCES.md 'Kontanthjælpsreformen 1.7.2025'"
    kalundborg = (
        "https://kalundborg.dk/service-and-selvbetjening/job-and-ledighed/hvis-du-bliver-ledig/"
        "kontanthjaelp-/kontanthjaelp/tillaeg-til-kontanthjaelp"
    )
    return pd.DataFrame(
        [
            {
                "benefit": "kontanthjaelp",
                "date": "2025-07-01",
                "change": "categories end",
                "after": "grundsats; forhøjet sats; mindstesats; hjemmeboende sats (no sourced "
                "amounts), plus the tillæg under 'kontanthjaelp_tillaeg'",
                "source": law,
                "source_url": kalundborg,
            },
            {
                "benefit": "uddannelseshjaelp",
                "date": "2025-07-01",
                "change": "benefit ends",
                "after": "kontanthjælp (new system): grundsats; forhøjet sats; mindstesats; "
                "hjemmeboende sats, plus the tillæg under 'kontanthjaelp_tillaeg'",
                "source": law,
                "source_url": kalundborg,
            },
            {
                "benefit": "kontanthjaelp_tillaeg",
                "date": "2025-07-01",
                "change": "benefit begins",
                "after": "",
                "source": law,
                "source_url": kalundborg,
            },
        ]
    )


def build(source: Path = SOURCE) -> dict[str, pd.DataFrame]:
    raw = pd.read_csv(source / "rates_dk.csv")
    params = pd.read_csv(source / "parameters_dk.csv")
    if len(raw) != 231:
        raise SystemExit(f"expected the collection's 231 rate rows, found {len(raw)}")
    sats = satsregulering(params)
    rates, dropped = _clean(raw)
    rates = fill(rates, sats)
    for line in dropped:
        print(f"excluded: {line}", file=sys.stderr)
    return {
        "rates_dk.csv": rates,
        "satsregulering_dk.csv": sats,
        "pl_dk.csv": pl_index(params),
        "factors_dk.csv": factors(params),
        "taxes_dk.csv": taxes(),
        "reforms_dk.csv": reforms(),
    }


def _csv(frame: pd.DataFrame) -> str:
    buffer = io.StringIO()
    frame.to_csv(buffer, index=False, lineterminator="\n", float_format="%.10g")
    return buffer.getvalue()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--source", type=Path, default=SOURCE)
    parser.add_argument("--check", action="store_true", help="fail if a bundled table differs")
    args = parser.parse_args()
    stale = []
    for name, frame in build(args.source).items():
        text = _csv(frame)
        path = DATA / name
        if args.check:
            if not path.exists() or path.read_text(encoding="utf-8") != text:
                stale.append(name)
        else:
            path.write_text(text, encoding="utf-8", newline="\n")
            print(f"wrote {path.relative_to(DATA.parents[2])}: {len(frame)} rows")
    if stale:
        raise SystemExit(f"bundled tables differ from the build: {stale}")


if __name__ == "__main__":
    main()
