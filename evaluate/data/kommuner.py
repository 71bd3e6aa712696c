"""The 98 Danish kommuner: one unit, however a file names it.

Danmarks Statistik writes "København" and 101, a council writes "Københavns
Kommune", an English table "Copenhagen".  :func:`kommune` resolves any of them
to one :class:`Kommune` (code, name as StatBank writes it, region), from the
bundled list ``reference/kommuner.csv`` (source in ``reference/README.md``).  An
unknown name is a :class:`~evaluate.errors.DataError` that suggests the closest
kommuner.

>>> kommune("Københavns Kommune") == kommune(101) == kommune("0101")
True
>>> kommune("Aarhus").region
'Region Midtjylland'
"""

from __future__ import annotations

import difflib
import functools
import re
import unicodedata
from dataclasses import dataclass
from importlib.resources import files

import pandas as pd

from evaluate.errors import DataError


@dataclass(frozen=True)
class Kommune:
    """One kommune: its code (101), name ("København") and region."""

    code: int
    name: str
    region_code: int
    region: str

    def __str__(self) -> str:
        return self.name


_ALIASES = {
    "copenhagen": 101,
    "kbh": 101,
    "nordfyn": 480,
    "vesthimmerland": 820,
    "aeroeskoebing": 492,
    "elsinore": 217,
}
"""Other names in use (English, without Danish letters, without the genitive s)."""

_NOT_KOMMUNER = re.compile(r"^(hele ?landet|region|landsdel|danmark|denmark|all|total|i alt)")
_SUFFIX = re.compile(r"\s*(regions)?kommunes?$")
_CODE = re.compile(r"^0*(\d{1,3})(\s+.*)?$")


_SPELLED = (("å", "aa"), ("ø", "oe"), ("æ", "ae"))
_PLAIN = (("å", "a"), ("ø", "o"), ("æ", "ae"))  # Danish letters dropped to ASCII


def _key(text: str, letters: tuple[tuple[str, str], ...] = _SPELLED) -> str:
    """A name folded for matching: lower case, å/ø/æ spelled aa/oe/ae, only letters."""
    text = unicodedata.normalize("NFC", text).strip().lower()
    text = _SUFFIX.sub("", text)
    for letter, spelled in letters:
        text = text.replace(letter, spelled)
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z]", "", text)


@functools.cache
def _table() -> tuple[dict[int, Kommune], dict[str, int]]:
    with (files("evaluate.data") / "reference" / "kommuner.csv").open("rb") as handle:
        frame = pd.read_csv(handle, encoding="utf-8")
    by_code = {
        int(row.code): Kommune(int(row.code), row.name, int(row.region_code), row.region)
        for row in frame.itertuples(index=False)
    }
    by_key = {_key(k.name, _PLAIN): k.code for k in by_code.values()}
    by_key.update({_key(k.name): k.code for k in by_code.values()})
    by_key.update(_ALIASES)
    return by_code, by_key


def kommuner() -> pd.DataFrame:
    """The 98 kommuner: ``code, name, region_code, region`` (a fresh copy)."""
    by_code, _ = _table()
    return pd.DataFrame([vars(k) for k in by_code.values()])


def _lookup(value: object) -> Kommune | None:
    by_code, by_key = _table()
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float) and value == value and float(value).is_integer():
        return by_code.get(int(value))
    text = str(value).strip()
    code = _CODE.match(text)
    if code is not None:
        return by_code.get(int(code.group(1)))
    key = _key(text)
    if key in by_key:
        return by_code[by_key[key]]
    if key.endswith("s") and key[:-1] in by_key:  # the genitive: "Københavns Kommune"
        return by_code[by_key[key[:-1]]]
    return None


def _unknown(value: object, what: str) -> str:
    by_code, by_key = _table()
    text = str(value).strip()
    if _NOT_KOMMUNER.match(text.lower()):
        return (
            f"{what} {value!r} is not one of the 98 kommuner (a region or the whole "
            "country?); remove such rows or choose a kommune"
        )
    names = {_key(k.name): k.name for k in by_code.values()}
    close = difflib.get_close_matches(_key(text), list(names), n=3, cutoff=0.6)
    hint = f"; did you mean {' or '.join(repr(names[c]) for c in close)}?" if close else ""
    return (
        f"{what} {value!r} is not one of the 98 kommuner{hint} "
        "(a name such as 'København' or a code such as 101)"
    )


def kommune(name_or_code: str | int) -> Kommune:
    """The kommune a name or code names: "København", "Københavns Kommune", 101, "0101".

    Danish letters may be spelled out ("Koebenhavn", "Taarnby"), case and hyphens
    do not matter, and a StatBank label ("101 København") is read by its code.
    An unknown name is a :class:`DataError` suggesting the closest kommuner.

    Examples
    --------
    >>> kommune("Faxe")
    Kommune(code=320, name='Faxe', region_code=1085, region='Region Sjælland')
    """
    found = _lookup(name_or_code)
    if found is None:
        raise DataError(_unknown(name_or_code, "Kommune") + ".")
    return found


def resolve_kommuner(values: pd.Series, column: str) -> pd.Series:
    """``values`` (names or codes of kommuner) as the kommuner's names, one spelling each.

    Every distinct value must resolve; the first that does not is a
    :class:`DataError` naming ``column``, the value and the closest kommuner.
    Missing values stay missing.  The input is not modified.
    """
    names: dict[object, str] = {}
    for value in pd.unique(values.dropna()):
        found = _lookup(value)
        if found is None:
            raise DataError(f"Column {column!r}: " + _unknown(value, "value") + ".")
        names[value] = found.name
    return values.map(names, na_action="ignore").astype(object)


__all__ = ["Kommune", "kommune", "kommuner", "resolve_kommuner"]
