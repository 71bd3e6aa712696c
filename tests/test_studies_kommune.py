"""The worked kommune example (studies/kommune_panel.toml) from its snapshot.

The snapshot is SIMULATED with a known truth: Faxe (2021M01), Lolland (2021M07)
and Odsherred (2022M01) lose 8 full-time persons on ledighedsydelse from their
start (studies/data/make_kommune_panel.py).  Tolerances: synthetic control and
staggered SDID within 2 full-time persons of -8 (their placebo standard errors are
about 1.3); TWFE is only required to be finite and priced (with heterogeneous
kommune trends it is biased, which the report shows next to the other designs).
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import warnings
from pathlib import Path

import pytest

from evaluate.sources import read_snapshot
from evaluate.spec import load_spec
from evaluate.study import run_study

ROOT = Path(__file__).resolve().parents[1]
SPEC = ROOT / "studies" / "kommune_panel.toml"
SNAPSHOT = ROOT / "studies" / "snapshots" / "kommune_panel.parquet"


@pytest.fixture(scope="module")
def study(tmp_path_factory):
    out = tmp_path_factory.mktemp("kommune")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = run_study(SPEC, out)
    return result, out


def test_the_snapshot_is_a_statbank_shaped_simulated_table():
    snap = read_snapshot(SNAPSHOT)
    assert list(snap.frame.columns) == ["OMRÅDE", "YDELSE", "TID", "INDHOLD"]
    assert snap.frame["OMRÅDE"].nunique() == 98 and snap.frame["TID"].nunique() == 60
    assert snap.meta["simulated"] is True and snap.meta["table"] == "KOMSIM01"
    assert snap.meta["truth"]["starts"] == {
        "Faxe": "2021M01",
        "Lolland": "2021M07",
        "Odsherred": "2022M01",
    }


def test_the_generator_reproduces_the_snapshot(tmp_path, monkeypatch):
    path = ROOT / "studies" / "data" / "make_kommune_panel.py"
    module_spec = importlib.util.spec_from_file_location("make_kommune_panel", path)
    make = importlib.util.module_from_spec(module_spec)
    module_spec.loader.exec_module(make)
    monkeypatch.setattr(make, "OUT", tmp_path / "kommune_panel.parquet")
    make.main()
    fresh = (tmp_path / "kommune_panel.parquet").read_bytes()
    assert (
        hashlib.sha256(fresh).hexdigest()
        == json.loads(SNAPSHOT.with_suffix(".json").read_text(encoding="utf-8"))["sha256"]
    )
    assert (tmp_path / "kommune_panel.json").read_bytes() == SNAPSHOT.with_suffix(
        ".json"
    ).read_bytes()


def test_spec_validates_with_three_treated_kommuner():
    spec = load_spec(SPEC)
    assert spec.study.language == "da"
    assert [e.design for e in spec.effect] == ["twfe", "synthetic_control", "synthetic_did"]


def test_designs_recover_the_known_effect_and_are_priced(study):
    result, _ = study
    effects = result.effects
    assert effects["synthetic_control"].estimate == pytest.approx(-8.0, abs=2.0)
    assert effects["synthetic_did"].estimate == pytest.approx(-8.0, abs=2.0)
    low, high = effects["synthetic_did"].ci
    assert low < -8.0 < high
    for effect in effects.values():
        assert effect.unit == "full-time persons"
    assert list(effects["synthetic_control"].unit_effects.index) == ["Faxe", "Lolland", "Odsherred"]
    assert len(effects["synthetic_did"].cohorts) == 3
    for case in result.business_cases.values():
        assert any("Ledighedsydelse" in str(line.name) for line in case.lines)


def test_the_danish_report_cites_table_and_retrieval_date(study):
    _, out = study
    text = (out / "report.md").read_text(encoding="utf-8")
    assert "tabel KOMSIM01, hentet 2024-06-13 (simulerede værdier)" in text
    assert "Effekt pr. behandlet enhed" in text and "Startkohorter" in text
    assert "SIMULERET" in text
