"""Synthetic designs: a weighted mix of untreated units stands in for the treated.

==================  ===========================================================
module              design
==================  ===========================================================
:mod:`.synth`       synthetic control (Abadie-Diamond-Hainmueller), placebos
:mod:`.sdid`        synthetic difference-in-differences (Arkhangelsky et al.)
==================  ===========================================================

``_synth_prepare``, ``_synth_core`` (with its compiled ``_synth_kernel``),
``_synth_placebo`` and ``_synth_report`` are the synthetic control's parts;
``_sdid_core`` is SDID's.
"""
