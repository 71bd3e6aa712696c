"""How a benefit named in a spec finds its rows in the bundled rate table.

Kept outside :mod:`evaluate.money` (whose package imports scipy) so that
``evaluate validate`` can check rate names and years without loading it.
"""

from __future__ import annotations

ALIASES = {
    "kontanthjaelp_30plus": ("kontanthjaelp", "fyldt 30 år, andre"),
    "kontanthjaelp_30plus_children": ("kontanthjaelp", "fyldt 30 år, forsørger"),
    "arbejdsloeshedsdagpenge": ("dagpenge", None),
}
"""Keys of the first bundled table, kept so old specs still read."""
DEFAULT_CATEGORY = {
    "dagpenge": "fuldtidsforsikrede, højeste sats",
    "sygedagpenge": "højeste sygedagpengebeløb",
    "ledighedsydelse": "89 pct. af højeste dagpengesats",
    "fleksloentilskud": "maksimalt tilskud (98 pct. af højeste dagpengesats)",
}
"""The category a lookup without ``category`` means (the maximum rate)."""


def benefit_key(name: str) -> str:
    """ASCII key of a benefit name: ``"kontanthjælp"`` -> ``"kontanthjaelp"``."""
    key = name.strip().lower().replace(" ", "_")
    for a, b in (("æ", "ae"), ("ø", "oe"), ("å", "aa")):
        key = key.replace(a, b)
    return key
