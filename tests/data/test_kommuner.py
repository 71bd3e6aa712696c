"""Issue 13 item 2: the 98 kommuner bundled; any spelling resolves to one unit."""

from __future__ import annotations

import pandas as pd
import pytest

import evaluate as ev
from evaluate.data.kommuner import kommune, kommuner, resolve_kommuner
from evaluate.errors import DataError


def test_the_bundled_list_has_98_kommuner_in_five_regions():
    table = kommuner()
    assert len(table) == 98 and table["code"].is_unique and table["name"].is_unique
    # Region sizes after the 2007 reform (Danmarks Statistik, KOMKODE)
    sizes = table.groupby("region").size().to_dict()
    assert sizes == {
        "Region Hovedstaden": 29,
        "Region Midtjylland": 19,
        "Region Nordjylland": 11,
        "Region Sjælland": 17,
        "Region Syddanmark": 22,
    }


@pytest.mark.parametrize(
    "spelling",
    [
        "København",
        "Københavns Kommune",
        101,
        "101",
        "0101",
        "101 København",
        "Koebenhavn",
        "KØBENHAVN",
        "Copenhagen",
    ],
)
def test_every_spelling_of_copenhagen_is_one_unit(spelling):
    assert kommune(spelling) == kommune(101)
    assert ev.data.kommune(spelling).name == "København"


@pytest.mark.parametrize(
    ("spelling", "name", "code"),
    [
        ("Århus", "Aarhus", 751),
        ("Taarnby", "Tårnby", 185),
        ("Høje Taastrup", "Høje-Taastrup", 169),
        ("Bornholms Regionskommune", "Bornholm", 400),
        ("Nordfyn", "Nordfyns", 480),
        ("Vesthimmerlands Kommune", "Vesthimmerlands", 820),
        ("Faxe", "Faxe", 320),
        (492.0, "Ærø", 492),
    ],
)
def test_other_names_and_codes(spelling, name, code):
    found = kommune(spelling)
    assert (found.name, found.code) == (name, code)


def test_an_unknown_name_suggests_the_closest():
    with pytest.raises(DataError, match=r"'Københaven' is not one of the 98.*'København'"):
        kommune("Københaven")
    with pytest.raises(DataError, match="a region or the whole country"):
        kommune("Region Hovedstaden")
    with pytest.raises(DataError, match="999 is not one of the 98"):
        kommune(999)


def test_a_column_resolves_to_names_and_names_its_bad_value():
    values = pd.Series(["København", 101, None, "Faxe Kommune"])
    assert resolve_kommuner(values, "kommune").tolist()[:2] == ["København", "København"]
    assert resolve_kommuner(values, "kommune").iloc[3] == "Faxe"
    with pytest.raises(DataError, match=r"Column 'omraade': value 'Hele landet'"):
        resolve_kommuner(pd.Series(["Faxe", "Hele landet"]), "omraade")
