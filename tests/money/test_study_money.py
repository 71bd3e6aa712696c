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


def test_register_study_prices_refusion_week_by_week():
    result = run_study(STUDIES / "register_caseload.toml")
    effects = result.effects
    bands = [effects[f"kh_{b}"].estimate for b in ("r80", "r40", "r30", "r20")]
    gross, net = effects["kh_ftp"].estimate, effects["kh_net_ftp"].estimate
    # the refusion steps partition the weeks, and least squares is linear in the outcome
    assert sum(bands) == pytest.approx(gross, rel=1e-9)
    case = result.business_cases["municipal"]
    line = case.lines[0]
    # pricing each step at its share equals the effect on refusion-weighted weeks
    assert 1 - line.refusion_share == pytest.approx(net / gross, rel=1e-9)
    table = RateTable.danish()
    for year, exposure in ((2021, 0.5), (2022, 1.0), (2023, 1.0)):
        rate = table.get("kontanthjaelp", year, category="fyldt 30 år, andre")
        assert line.amounts[year] == pytest.approx(
            gross * rate.annual * exposure * (1 - line.refusion_share), rel=1e-12
        )
    # the shortcut uses the share of all untreated kontanthjælp weeks in the cells
    cells = result.data["cells"].frame
    untreated = cells[cells["post"] == 0]
    share = 1 - untreated["kh_net_ftp"].sum() / untreated["kh_ftp"].sum()
    assert line.shortcut_share == pytest.approx(share, rel=1e-12)
