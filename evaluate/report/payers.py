"""Report pieces of issue 15: the payer split and the average-share shortcut.

Kept apart from :mod:`evaluate.report` so the business-case context only gains two
keys: ``payers`` (a table of net gain by payer and year, rows adding to society) and
``shortcuts`` (one sentence per line priced week by week: what one average refusion
share would have misstated).
"""

from __future__ import annotations

from typing import Any

from evaluate.business_case import BusinessCase
from evaluate.money.payers import DISTORTION, SOCIETY, UNALLOCATED, has_payer_split, payer_split
from evaluate.report.fmt import Formatter

_ROW_KEYS = {UNALLOCATED: "payer_unallocated", SOCIETY: "payer_society"}


def payer_context(case: BusinessCase, f: Formatter, t: dict[str, str]) -> dict[str, Any] | None:
    """Net gain by payer (1,000 DKK, undiscounted) when some line is split, else None."""
    if not has_payer_split(case):
        return None
    split = payer_split(case)
    rows = []
    for name, values in split.iterrows():
        if name == DISTORTION:
            label = t["payer_distortion"].format(factor=f.percent(split.attrs["tax_distortion"], 0))
        else:
            label = t[_ROW_KEYS.get(str(name), f"payer_{name}")]
        rows.append(
            {
                "label": label,
                "cells": [f.thousands(v) for v in values.to_numpy()],
                "total": name == SOCIETY,
            }
        )
    taxes = split.attrs["taxes"]
    return {
        "columns": [t["total"] if c == "Total" else str(c) for c in split.columns],
        "rows": rows,
        "note": t["payer_note"].format(
            taxes=(
                f"kommuneskat {f.percent(taxes.kommune, 2)}, bundskat {f.percent(taxes.stat, 2)}, "
                f"AM-bidrag {f.percent(taxes.am_bidrag, 0)}"
            ),
            distortion=f.percent(split.attrs["tax_distortion"], 0),
        ),
    }


def shortcut_context(case: BusinessCase, f: Formatter, t: dict[str, str]) -> list[str]:
    """One sentence per line priced week by week with a shortcut share to compare."""
    out = []
    for line in case.lines:
        shortcut = line.shortcut_amounts
        if not shortcut:
            continue
        scale = case.adjustment(line)
        week = -sum(line.amounts.values()) * scale  # saving, plus = saved
        short = -sum(shortcut.values()) * scale
        diff = short - week
        key = "shortcut_understated" if (diff < 0) == (week > 0) else "shortcut_overstated"
        out.append(
            t[key].format(
                line=f.say(line.name),
                share_w=f.percent(line.refusion_share, 1),
                share_s=f.percent(line.shortcut_share, 1),
                source=f.say(line.shortcut_source),
                unit=t["amounts_in"],
                w=f.thousands(week),
                s=f.thousands(short),
                diff=f.thousands(abs(diff)),
                pct=f.percent(abs(diff / week), 1) if week else "",
            )
        )
    return out
