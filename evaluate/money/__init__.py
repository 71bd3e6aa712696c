"""Money: rates, refusion, discounting and cash-flow lines made from effects."""

from evaluate.money.cashflow import CashFlowLine, cost, effect_years, monetize, staff_cost
from evaluate.money.discount import DiscountSchedule
from evaluate.money.index import PriceIndex
from evaluate.money.rates import Rate, RateTable
from evaluate.money.refusion import RefusionSchedule
from evaluate.money.society import factor, production_value, tax_revenue

__all__ = [
    "CashFlowLine",
    "DiscountSchedule",
    "PriceIndex",
    "Rate",
    "RateTable",
    "RefusionSchedule",
    "cost",
    "effect_years",
    "factor",
    "monetize",
    "production_value",
    "staff_cost",
    "tax_revenue",
]
