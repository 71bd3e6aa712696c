"""Difference-in-differences designs: treated units against untreated ones over time.

============================  =============================================
module                        design
============================  =============================================
:mod:`.two_by_two`            2x2 DiD: two groups, before and after
:mod:`.twfe`                  two-way fixed effects regression
:mod:`.twfe_weights`          what TWFE weighs: negative weights, Goodman-Bacon
:mod:`.event_study`           leads and lags around the start
:mod:`.staggered`             Callaway-Sant'Anna for staggered adoption
:mod:`.imputation`            Borusyak-Jaravel-Spiess imputation
:mod:`.compressed`            TWFE from cell sums of person-level registers
============================  =============================================

The private modules (``_staggered_prepare``, ``staggered_aggregate``,
``staggered_drdid``) serve :mod:`.staggered` only.

The package re-exports what the module ``evaluate.estimators.did`` offered before
the designs were grouped by family (:func:`did` and :class:`DiDResult`).  It
re-exports no other front door: ``did.twfe`` is the module, ``evaluate.twfe`` the
function.
"""

from evaluate.estimators.did.two_by_two import DiDResult, did

__all__ = ["DiDResult", "did"]
