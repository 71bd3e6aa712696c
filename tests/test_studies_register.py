"""The register study (issue 8): key numbers through run_study, and its data builder.

The committed cells (studies/data/register_caseload_cells.csv) come from a 1M-person
simulated register; rebuilding them takes minutes, so the builder is tested here on a
small register (same code path: simulate, derive_register, DuckDB compression, the
check against the refusion-weighted full-time persons, the counterfactual).
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from evaluate.estimators.did.compressed import compressed_twfe
from evaluate.study import run_study

ROOT = Path(__file__).resolve().parents[1]
SPEC = ROOT / "studies" / "register_caseload.toml"
CELLS = ROOT / "studies" / "data" / "register_caseload_cells.csv"
# Key numbers of the committed study (evaluate run studies/register_caseload.toml).
GROSS, GROSS_SE = -2204.056674054019, 110.88128273864518
NET = -1616.4213794987031
NET_GAIN = 416_309_675.2876117  # DKK, nominal, municipal perspective, each year's rate
# (issue 15; at the 2024 rate for every year it was 440,970,297.71)


def _true_effect(cells: pd.DataFrame) -> float:
    post = cells[cells["post"] == 1]
    return float((post["kh_ftp"] - post["kh_ftp_counterfactual"]).sum() / post["month"].nunique())


@pytest.fixture(scope="module")
def study():
    return run_study(SPEC)


def test_effect_in_full_time_persons(study):
    cells = pd.read_csv(CELLS)
    gross = study.effects["kh_ftp"]
    net = study.effects["kh_net_ftp"]
    # Stored key numbers (regression check, rounding of the report: 1e-6 relative).
    assert gross.estimate == pytest.approx(GROSS, rel=1e-6)
    assert gross.std_error == pytest.approx(GROSS_SE, rel=1e-6)
    assert net.estimate == pytest.approx(NET, rel=1e-6)
    assert gross.unit == net.unit == "full-time persons"
    # Known truth (common-random-number counterfactual) lies inside the 95 % interval.
    truth = _true_effect(cells)
    low, high = gross.ci
    assert low <= truth <= high
    # Municipal share of the saving: 1 - refusion share, between the schedule's 20 % and 80 %.
    share = 1 - net.estimate / gross.estimate
    assert 0.2 < share < 0.8


def test_business_case(study):
    case = study.business_cases["municipal"]
    assert case.net_gain == pytest.approx(NET_GAIN, rel=1e-6)
    table = case.table()
    assert not table.empty


def _builder():
    path = ROOT / "studies" / "data" / "make_register_caseload.py"
    spec = importlib.util.spec_from_file_location("make_register_caseload", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_builder_small_register():
    cells = _builder().build(n_persons=3000, chunk=1500)  # asserts cells == derive ftp inside
    assert len(cells) == 98 * 60
    assert (cells.groupby("month")["persons"].sum() == 3000).all()
    assert (cells["kh_net_ftp"] <= cells["kh_ftp"] + 1e-9).all()
    assert (cells["kh_ftp_sq"] <= cells["kh_ftp"] + 1e-9).all()  # shares lie in [0, 1]
    bands = sum(cells[f"kh_ftp_{b}"] for b in ("r80", "r40", "r30", "r20"))
    assert np.allclose(bands, cells["kh_ftp"])  # the refusion steps partition the weeks
    pre = cells[cells["month"] < "2021-07"]
    assert np.allclose(pre["kh_ftp"], pre["kh_ftp_counterfactual"])  # no effect before
    res = compressed_twfe(
        cells,
        unit="municipality",
        time="month",
        treatment="post",
        n="persons",
        sum_y="kh_ftp",
        sum_y2="kh_ftp_sq",
        total_by="persons",
    )
    assert np.isfinite(res.estimate) and res.n_obs == 3000 * 60
