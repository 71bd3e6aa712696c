"""Who pays and who gains: kommune, region, stat and borger, adding up to society.

A business case's lines are kept from one perspective (usually the municipality's
budget).  The payer split puts every line's money where it lands:

* a benefit line net of refusion: the **kommune** bears ``1 - refusion`` of the
  gross benefit, the **stat** the refusion; the benefit is taxable income, so the
  borger keeps ``1 - t`` of it and the tax flows back (kommuneskat to the kommune,
  bundskat to the stat); the **borger**'s net income after tax moves the other way.
  A benefit is a transfer: for society it adds to zero.
* a production line (perspective society, :func:`~evaluate.money.production_value`,
  wage ``w`` times the net tax factor): AM-bidrag (8 %) to the stat, income tax on the
  rest to kommune and stat, net wage to the borger, and the indirect taxes of the net
  tax factor (``w x (NAF - 1)``) to the stat.
* any other line: its own perspective (municipality -> kommune, state -> stat); a
  society line that is not production is shown as "not allocated".

**Society** is the sum of the payers, plus the tax-distortion cost of the public
net expenditure when the guidance has one (Finansministeriet, June 2023: factor 1,
i.e. none; 20 % under the 1999 guidance): ``factors_dk.csv``.

Tax rates are bundled for one year (``taxes_dk.csv``: average kommuneskat 2023,
skm.dk; bundskat 2023, a secondary source, conflicting sources noted) and used for
every year; the borger's tax is the marginal rate of a person whose income stays
above the personfradrag.  Pass :class:`TaxShares` to use others.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib.resources import files

import pandas as pd

from evaluate.errors import SpecError
from evaluate.money.society import factor

PAYERS = ("kommune", "region", "stat", "borger")
UNALLOCATED = "not allocated"
DISTORTION = "tax distortion"
SOCIETY = "society"


@dataclass(frozen=True)
class TaxShares:
    """Marginal income-tax rates on a transfer or wage: to the kommune and to the stat."""

    kommune: float
    stat: float
    am_bidrag: float
    source: str

    def __post_init__(self) -> None:
        for name in ("kommune", "stat", "am_bidrag"):
            value = getattr(self, name)
            if not 0 <= value < 1:
                raise SpecError(f"Tax share {name} must be in [0, 1), got {value!r}.")

    @property
    def total(self) -> float:
        return self.kommune + self.stat

    @classmethod
    def danish(cls) -> TaxShares:
        """Average kommuneskat and bundskat of 2023, AM-bidrag 8 % (``taxes_dk.csv``)."""
        with (files("evaluate.money") / "data" / "taxes_dk.csv").open("rb") as handle:
            table = pd.read_csv(handle).set_index("tax")
        return cls(
            kommune=float(table.loc["kommuneskat", "rate"]),
            stat=float(table.loc["bundskat", "rate"]),
            am_bidrag=float(table.loc["am_bidrag", "rate"]),
            source="; ".join(f"{t} {r['year']}: {r['source']}" for t, r in table.iterrows()),
        )


def _split(line, amount: float, year: int, taxes: TaxShares, naf: float) -> dict[str, float]:
    """Expenditure (plus = spent, minus = gained) of each payer for one line-year."""
    if line.refusion_share is not None and line.gross_per_unit:
        gross = line.effect.estimate * line.gross_per_unit[year]
        r = line.refusion_share
        return {
            "kommune": gross * (1 - r) - taxes.kommune * gross,
            "stat": gross * r - taxes.stat * gross,
            "borger": -gross * (1 - taxes.total),
        }
    if line.payer_rule == "production":
        value = -amount  # production gained (amount is negative expenditure)
        wage = value / naf
        taxable = wage * (1 - taxes.am_bidrag)
        return {
            "kommune": -taxes.kommune * taxable,
            "stat": -(taxes.am_bidrag * wage + taxes.stat * taxable + (naf - 1) * wage),
            "borger": -taxable * (1 - taxes.total),
        }
    payer = {"municipality": "kommune", "state": "stat"}.get(line.perspective, UNALLOCATED)
    return {payer: amount}


def payer_split(
    case,
    *,
    taxes: TaxShares | None = None,
    tax_distortion: float | None = None,
    net_tax_factor: float | None = None,
) -> pd.DataFrame:
    """Net gain (plus = gain) of each payer by year and in total, in DKK, undiscounted.

    Rows: kommune, region, stat, borger (and "not allocated" when a society line is
    not production), the tax distortion when its factor is not zero, and society =
    their sum.  Columns: the case's years and "Total".  Deadweight, displacement and
    optimism bias apply as in the case.  ``tax_distortion`` defaults to the current
    guidance (0).
    """
    taxes = taxes or TaxShares.danish()
    naf = factor("net_tax_factor").value if net_tax_factor is None else net_tax_factor
    distortion = factor("tax_distortion").value if tax_distortion is None else tax_distortion
    years = case.years
    rows: dict[str, list[float]] = {p: [0.0] * len(years) for p in PAYERS}
    for line in case.lines:
        scale = case.adjustment(line)
        for j, year in enumerate(years):
            if year not in line.amounts:
                continue
            for payer, amount in _split(line, line.amounts[year], year, taxes, naf).items():
                rows.setdefault(payer, [0.0] * len(years))[j] -= amount * scale
    frame = pd.DataFrame.from_dict(rows, orient="index", columns=years)
    if distortion:
        public = frame.loc[["kommune", "region", "stat"]].sum(axis=0)
        # a public saving spares distortionary taxes; an expenditure costs them
        frame.loc[DISTORTION] = distortion * public
    frame.loc[SOCIETY] = frame.sum(axis=0)
    frame["Total"] = frame.sum(axis=1)
    frame.attrs["taxes"] = taxes
    frame.attrs["tax_distortion"] = distortion
    return frame


def has_payer_split(case) -> bool:
    """True when some line is split between payers (a refunded benefit or production)."""
    return any(
        line.refusion_share is not None or line.payer_rule == "production" for line in case.lines
    )
