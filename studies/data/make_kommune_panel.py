"""Make the SIMULATED snapshot behind studies/kommune_panel.toml.

98 kommuner x 60 months (2019M01-2023M12) of full-time persons on
ledighedsydelse, shaped exactly as `evaluate fetch statbank` stores a StatBank
table read with valuePresentation=Value: columns OMRÅDE (kommune name), YDELSE,
TID ("2019M01") and INDHOLD, and a sidecar with provider, table, query, URL,
retrieval time and SHA-256.  The values are SIMULATED (the sidecar says so, and
the table id KOMSIM01 is not a real StatBank table): a two-factor model with
kommune-specific levels, trends and seasonality, plus noise.  Three kommuner
start an indsats at staggered dates and lose a known number of full-time
persons from their start on:

    Faxe 2021M01, Lolland 2021M07, Odsherred 2022M01: -8 full-time persons each.

Run from the repository root (the output is byte-identical on every run):

    python studies/data/make_kommune_panel.py
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd

from evaluate.sources.snapshot import write_snapshot

KOMMUNER = [
    # Hovedstaden
    "København", "Frederiksberg", "Albertslund", "Ballerup", "Brøndby", "Dragør", "Gentofte",
    "Gladsaxe", "Glostrup", "Herlev", "Hvidovre", "Høje-Taastrup", "Ishøj", "Lyngby-Taarbæk",
    "Rødovre", "Tårnby", "Vallensbæk", "Allerød", "Egedal", "Fredensborg", "Frederikssund",
    "Furesø", "Gribskov", "Halsnæs", "Helsingør", "Hillerød", "Hørsholm", "Rudersdal",
    "Bornholm",
    # Sjælland
    "Greve", "Køge", "Lejre", "Roskilde", "Solrød", "Faxe", "Guldborgsund", "Holbæk",
    "Kalundborg", "Lolland", "Næstved", "Odsherred", "Ringsted", "Slagelse", "Sorø", "Stevns",
    "Vordingborg",
    # Syddanmark
    "Assens", "Faaborg-Midtfyn", "Kerteminde", "Langeland", "Middelfart", "Nordfyns", "Nyborg",
    "Odense", "Svendborg", "Ærø", "Billund", "Esbjerg", "Fanø", "Fredericia", "Haderslev",
    "Kolding", "Sønderborg", "Tønder", "Varde", "Vejen", "Vejle", "Aabenraa",
    # Midtjylland
    "Favrskov", "Hedensted", "Horsens", "Norddjurs", "Odder", "Randers", "Samsø", "Silkeborg",
    "Skanderborg", "Syddjurs", "Aarhus", "Herning", "Holstebro", "Ikast-Brande", "Lemvig",
    "Ringkøbing-Skjern", "Skive", "Struer", "Viborg",
    # Nordjylland
    "Brønderslev", "Frederikshavn", "Hjørring", "Jammerbugt", "Læsø", "Mariagerfjord", "Morsø",
    "Rebild", "Thisted", "Vesthimmerlands", "Aalborg",
]  # fmt: skip
STARTS = {"Faxe": "2021M01", "Lolland": "2021M07", "Odsherred": "2022M01"}
EFFECT = -8.0
SEED = 20240613
MONTHS = [f"{y}M{m:02d}" for y in range(2019, 2024) for m in range(1, 13)]
OUT = Path(__file__).resolve().parents[1] / "snapshots" / "kommune_panel.parquet"


def simulate() -> pd.DataFrame:
    assert len(KOMMUNER) == 98 and len(set(KOMMUNER)) == 98
    rng = np.random.default_rng(SEED)
    t = np.arange(len(MONTHS))
    common = np.column_stack(
        [
            np.cumsum(rng.normal(0, 0.6, len(t))),  # the national business cycle
            np.sin(2 * np.pi * t / 12),  # seasonality
        ]
    )
    level = rng.uniform(40, 260, len(KOMMUNER))
    cycle = level / 100 * rng.uniform(0.6, 1.4, len(KOMMUNER))
    season = rng.uniform(1.0, 4.0, len(KOMMUNER))
    trend = rng.normal(0.05, 0.08, len(KOMMUNER))
    rows = []
    for i, name in enumerate(KOMMUNER):
        y = level[i] + trend[i] * t + cycle[i] * common[:, 0] * 4 + season[i] * common[:, 1]
        y = y + rng.normal(0, 1.5, len(t))
        if name in STARTS:
            y = y + np.where(np.array(MONTHS) >= STARTS[name], EFFECT, 0.0)
        values = zip(MONTHS, y, strict=True)
        rows += [(name, "Ledighedsydelse", m, round(float(v), 1)) for m, v in values]
    return pd.DataFrame(rows, columns=["OMRÅDE", "YDELSE", "TID", "INDHOLD"])


def main() -> None:
    write_snapshot(
        simulate(),
        OUT,
        provider="Danmarks Statistik (Statistikbanken)",
        table="KOMSIM01",
        title="Fuldtidspersoner på ledighedsydelse efter område, ydelse og tid (SIMULERET)",
        query={
            "table": "KOMSIM01",
            "lang": "da",
            "format": "CSV",
            "valuePresentation": "Value",
            "variables": [
                {"code": "OMRÅDE", "values": ["*"]},
                {"code": "YDELSE", "values": ["LED"]},
                {"code": "Tid", "values": ["*"]},
            ],
        },
        url="https://api.statbank.dk/v1/data",
        retrieved=datetime(2024, 6, 13, 9, 0, tzinfo=UTC),
        extra={
            "simulated": True,
            "note": "SIMULATED values in the shape of a StatBank table; made by "
            "studies/data/make_kommune_panel.py (seed 20240613). Faxe 2021M01, Lolland "
            "2021M07 and Odsherred 2022M01 lose 8 full-time persons from their start.",
            "truth": {"effect": EFFECT, "starts": STARTS},
        },
    )


if __name__ == "__main__":
    main()
