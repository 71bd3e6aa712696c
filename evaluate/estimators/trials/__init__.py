"""Randomized trials and what is measured on small groups.

====================  ==========================================================
module                design
====================  ==========================================================
:mod:`.trial`         arms against control: difference in means, Lin, strata
:mod:`.shares`        shares on small groups: one, two compared, a distribution
:mod:`.duration`      time to an event: Kaplan-Meier, RMST, log-rank
====================  ==========================================================

``_trial_design``, ``_trial_inference`` and ``_trial_report`` are the trial's
input checks, estimating pieces and read-out tables.  Power and sample size live
in :mod:`evaluate.power`.
"""
