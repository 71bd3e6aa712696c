"""The bundled studies price at the years' own rates (issue 15)."""

from pathlib import Path

import pytest

from evaluate.money import PriceIndex, RateTable
from evaluate.study import run_study

STUDIES = Path(__file__).parents[2] / "studies"


def test_faxe_is_priced_at_its_years():
    case = run_study(STUDIES / "faxe_fleksjob.toml").business_cases["simulated"]
    line = {ln.name: ln for ln in case.lines}
    table = RateTable.danish()
    for year, exposure in ((2018, 0.6667), (2019, 0.75)):
        rate = table.get("ledighedsydelse", year)
        assert rate.grade == "satsreguleret"  # flagged: no source gives 2018 or 2019
        assert line["Ledighedsydelse"].per_unit[year] == pytest.approx(
            rate.annual * 0.8 * exposure, rel=1e-12
        )
    pl = PriceIndex.danish_pl()
    staff = line["Three extra caseworkers"].amounts
    assert staff[2019] == pytest.approx(3 * 500_000 * 0.75, rel=1e-12)
    assert staff[2018] == pytest.approx(3 * 500_000 * 0.6667 / 1.013, rel=1e-9)  # PL 2019 +1.3 %
    assert pl.factor(2019, 2018) == pytest.approx(1 / 1.013, rel=1e-8)
    assert "2018" in case.price_level and "2019" in case.price_level
