"""Designs on one unit's series: the counterfactual comes from its own past or a source.

=========================  ======================================================
module                     design
=========================  ======================================================
:mod:`.stated`             a stated expectation or a published effect
:mod:`.forecast`           the pre-period trend projected past the start
:mod:`.forecast_models`    ETS or SARIMAX forecasts from the pre-period
:mod:`.its`                interrupted time series: level and slope change
:mod:`.peers`              one unit against its peers on a rate
=========================  ======================================================
"""
