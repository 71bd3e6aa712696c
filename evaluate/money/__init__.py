"""Money: rates, refusion, discounting and cash-flow lines made from effects."""

from evaluate.money.cashflow import CashFlowLine, cost, effect_years, monetize, staff_cost
from evaluate.money.discount import DiscountSchedule
from evaluate.money.index import PriceIndex
from evaluate.money.payers import TaxShares, payer_split
from evaluate.money.rates import Rate, RateTable
from evaluate.money.refusion import RefusionSchedule
from evaluate.money.society import factor, production_value, tax_revenue
from evaluate.money.weeks import WeekProfile

__all__ = [
    "CashFlowLine",
    "DiscountSchedule",
    "PriceIndex",
    "Rate",
    "RateTable",
    "RefusionSchedule",
    "TaxShares",
    "WeekProfile",
    "cost",
    "effect_years",
    "factor",
    "monetize",
    "payer_split",
    "production_value",
    "staff_cost",
    "tax_revenue",
]
