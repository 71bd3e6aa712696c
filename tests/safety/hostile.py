"""A study whose every text, from the spec and from the data, is hostile.

Each text carries markup for every output format: a spreadsheet formula, HTML,
a Markdown heading, a table-breaking pipe and link syntax.  The study is small
(stated effects, a share distribution and a peer benchmark on six rows) so every
format renders in a second or two.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

FORMULA = "=cmd|' /C calc'!A0"
HTML = "<script>alert(1)</script>"
HEADING = "\n# Injected heading"
PIPE = "a | b"
LINK = "[click](http://example.invalid)"


def hostile(tag: str) -> str:
    """One hostile text, unique per ``tag`` so it can be found in the output."""
    return f"{FORMULA} {tag} {HTML} {PIPE} {LINK}{HEADING}"


def _q(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)  # a valid TOML basic string


def write_hostile_study(folder: Path, *, language: str = "en") -> Path:
    """Write the hostile spec (and its data) into ``folder``; return the spec path."""
    folder.mkdir(parents=True, exist_ok=True)
    peers = ['=HYPERLINK("http://x.invalid")', "<b>peer</b> | 2", "# peer 3", "peer 4", "@peer5"]
    pd.DataFrame(
        {
            "unit": ["+focal [x](y)", *peers],
            "numerator": [30, 20, 22, 18, 25, 21],
            "denominator": [100, 100, 110, 90, 120, 100],
        }
    ).to_csv(folder / "peers.csv", index=False)
    spec = f"""
[study]
title = {_q(hostile("title"))}
description = {_q(hostile("description"))}
language = "{language}"
seed = 1
population = {_q(hostile("population"))}

[[data]]
name = "peers"
path = "peers.csv"
source = {_q(hostile("data-source"))}
note = {_q(hostile("data-note"))}

[[effect]]
name = "stated"
design = "stated_expectation"
label = {_q(hostile("label"))}
observed_change = -0.08
expected_change = 0.18
source = {_q(hostile("effect-source"))}

[[effect]]
name = "distribution"
design = "outcome_distribution"
label = {_q(hostile("distribution"))}
counts = {{ {_q(FORMULA)} = 10, {_q(HTML + " | " + LINK)} = 20, "other" = 30 }}

[[effect]]
name = "benchmark"
design = "peer_benchmark"
label = {_q(hostile("benchmark"))}
data = "peers"
unit = "unit"
numerator = "numerator"
denominator = "denominator"
focal = "+focal [x](y)"

[[business_case]]
name = "case"
title = {_q(hostile("case-title"))}
price_level = {_q(hostile("price-level"))}
n_draws = 200
note = {_q(hostile("case-note"))}

[[business_case.line]]
kind = "effect"
name = {_q(hostile("line"))}
effect = "stated"
years = [2019]
total_dkk = -1000000
source = {_q(hostile("line-source"))}

[[business_case.line]]
kind = "cost"
name = {_q("-" + hostile("cost"))}
amounts_dkk = {{ 2019 = 500000 }}
"""
    path = folder / "hostile.toml"
    path.write_text(spec, encoding="utf-8")
    return path
