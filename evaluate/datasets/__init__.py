"""Real validation datasets shipped with the package, with their sources.

Each loader returns a fresh DataFrame (the caller may modify it freely).  The
sources and the published reference numbers are in ``tests/reference/REFERENCES.md``.

========================  ======================================================
loader                    origin
========================  ======================================================
``card_krueger()``        Card & Krueger (1994 AER), David Card's public.dat
                          (njmin.zip), 410 stores x 2 waves in wide form; adds
                          ``fte = empft + nmgrs + 0.5*emppt`` and ``fte2``.
``card_krueger_long()``   the same in long form, one row per store and wave.
``mpdta()``               R ``did`` 2.5.1 ``data/mpdta.rda`` (Callaway &
                          Sant'Anna 2021): 500 US counties, 2003-2007, teen
                          employment (log) and minimum-wage adoption year.
``nsw_experimental()``    Dehejia & Wahba (1999) NSW experimental sample
                          (R ``DAAG::nsw74demo``): 185 treated, 260 controls.
``nsw_lalonde()``         LaLonde (1986) 722-observation NSW sample
                          (``DAAG::nswdemo``).
``nsw_nonexperimental()`` PSID-1..3 and CPS-1..3 comparison groups
                          (``DAAG::psid*``, ``cps*``) with a ``sample`` column.
``prop99()``              Abadie, Diamond & Hainmueller (2010) California
                          Proposition 99 panel (R ``Synth`` 1.2-0 ``smoking``),
                          39 states 1970-2000, plus ``treated``.
``resume_names()``        Bertrand & Mullainathan (2004) résumé audit
                          (``AER::ResumeNames``).
========================  ======================================================
"""

from __future__ import annotations

from importlib.resources import files

import pandas as pd

_DATA = files("evaluate.datasets") / "data"


def _read(name: str) -> pd.DataFrame:
    with (_DATA / f"{name}.csv").open("rb") as handle:
        return pd.read_csv(handle)


def raw_bytes(name: str) -> bytes:
    """The bytes of a bundled dataset's file (for provenance hashes)."""
    files_by_loader = {
        "card_krueger": "card_krueger_1994",
        "card_krueger_long": "card_krueger_1994",
        "mpdta": "mpdta",
        "nsw_experimental": "nsw_dw_experimental",
        "nsw_lalonde": "nsw_lalonde_original",
        "nsw_nonexperimental": "nsw_dw_nonexperimental_controls",
        "prop99": "prop99_smoking",
        "resume_names": "resume_names_bertrand_mullainathan",
    }
    return (_DATA / f"{files_by_loader[name]}.csv").read_bytes()


def card_krueger() -> pd.DataFrame:
    """Card & Krueger (1994) fast-food stores in NJ and PA, one row per store (wide)."""
    return _read("card_krueger_1994")


def card_krueger_long() -> pd.DataFrame:
    """Card & Krueger in long form: two waves per store (``wave`` 0 = Feb/Mar 1992,
    1 = Nov/Dec 1992), ``nj`` (1 = New Jersey), ``fte``; stores are keyed on
    ``store = sheet_state`` because sheet 407 occurs once in each state."""
    ck = card_krueger()
    waves = [
        pd.DataFrame({"sheet": ck["sheet"], "nj": ck["state"], "wave": w, "fte": ck[col]})
        for w, col in ((0, "fte"), (1, "fte2"))
    ]
    long = pd.concat(waves, ignore_index=True)
    long["store"] = long["sheet"].astype(str) + "_" + long["nj"].astype(str)
    return long


def mpdta() -> pd.DataFrame:
    """County teen-employment panel used by R ``did`` (one row per county-year).

    Adds ``post_treated = 1{first.treat > 0 and year >= first.treat}``, the TWFE
    regressor (``treat`` in the original is the ever-treated dummy).
    """
    frame = _read("mpdta")
    first = frame["first.treat"]
    frame["post_treated"] = ((first > 0) & (frame["year"] >= first)).astype(int)
    return frame


def nsw_experimental() -> pd.DataFrame:
    """Dehejia-Wahba NSW experimental sample (``re78`` = 1978 earnings, US$)."""
    return _read("nsw_dw_experimental")


def nsw_lalonde() -> pd.DataFrame:
    """LaLonde's original 722-observation NSW experimental sample."""
    return _read("nsw_lalonde_original")


def nsw_nonexperimental() -> pd.DataFrame:
    """Non-experimental comparison groups (PSID-1..3, CPS-1..3) for the NSW treated."""
    return _read("nsw_dw_nonexperimental_controls")


def prop99() -> pd.DataFrame:
    """California Proposition 99 state-year cigarette-sales panel (ADH 2010)."""
    return _read("prop99_smoking")


def resume_names() -> pd.DataFrame:
    """Bertrand-Mullainathan résumé audit: one row per résumé sent."""
    return _read("resume_names_bertrand_mullainathan")


__all__ = [
    "card_krueger",
    "card_krueger_long",
    "mpdta",
    "nsw_experimental",
    "nsw_lalonde",
    "nsw_nonexperimental",
    "prop99",
    "resume_names",
]
