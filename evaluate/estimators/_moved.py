"""Old flat import paths of the estimators, kept for one release.

Until version 0.2 the designs lived side by side in ``evaluate/estimators/``
(``evaluate.estimators.twfe``, ``evaluate.estimators.synth``, ...).  They now live
in one package per family.  Importing an old path still works: a finder on
``sys.meta_path`` answers it with the module at its new home (the very same
module object, so ``isinstance`` checks and monkeypatching agree) and warns once
with a :class:`DeprecationWarning` that names the new path.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.util
import sys
import warnings

_PREFIX = "evaluate.estimators."

#: old module name below ``evaluate.estimators`` -> its new dotted home
MOVED: dict[str, str] = {
    "twfe": "did.twfe",
    "twfe_weights": "did.twfe_weights",
    "event_study": "did.event_study",
    "staggered": "did.staggered",
    "staggered_aggregate": "did.staggered_aggregate",
    "staggered_drdid": "did.staggered_drdid",
    "_staggered_prepare": "did._staggered_prepare",
    "imputation": "did.imputation",
    "compressed": "did.compressed",
    "synth": "synthetic.synth",
    "_synth_core": "synthetic._synth_core",
    "_synth_kernel": "synthetic._synth_kernel",
    "_synth_placebo": "synthetic._synth_placebo",
    "_synth_prepare": "synthetic._synth_prepare",
    "_synth_report": "synthetic._synth_report",
    "sdid": "synthetic.sdid",
    "_sdid_core": "synthetic._sdid_core",
    "its": "series.its",
    "_its_model": "series._its_model",
    "forecast": "series.forecast",
    "forecast_models": "series.forecast_models",
    "peers": "series.peers",
    "stated": "series.stated",
    "trial": "trials.trial",
    "_trial_design": "trials._trial_design",
    "_trial_inference": "trials._trial_inference",
    "_trial_report": "trials._trial_report",
    "shares": "trials.shares",
    "duration": "trials.duration",
    "_observational_methods": "observational._methods",
}
# ``evaluate.estimators.did`` and ``evaluate.estimators.observational`` became the
# family packages themselves; they re-export what the old modules offered.


class _MovedLoader(importlib.abc.Loader):
    """Loads nothing itself: it puts the module from its new home under the old name.

    The import system returns whatever ``sys.modules`` holds under the old name once
    ``exec_module`` is done, so the real module comes back untouched (its
    ``__spec__`` and ``__name__`` still name the new path).
    """

    def __init__(self, new_name: str) -> None:
        self.new_name = new_name

    def create_module(self, spec):  # noqa: ANN001 - importlib protocol
        return None  # a throw-away module; exec_module replaces it

    def exec_module(self, module) -> None:  # noqa: ANN001
        sys.modules[module.__name__] = importlib.import_module(self.new_name)


class _MovedFinder(importlib.abc.MetaPathFinder):
    """Answers ``evaluate.estimators.<old>`` with the module at its new path."""

    def find_spec(self, fullname, path=None, target=None):  # noqa: ANN001
        if not fullname.startswith(_PREFIX):
            return None
        old = fullname[len(_PREFIX) :]
        if old not in MOVED:
            return None
        new_name = _PREFIX + MOVED[old]
        warnings.warn(
            f"{fullname} moved to {new_name}; the old path goes in evaluate 0.3",
            DeprecationWarning,
            stacklevel=2,
        )
        return importlib.util.spec_from_loader(fullname, _MovedLoader(new_name))


def install() -> None:
    """Put the finder on ``sys.meta_path`` once."""
    if not any(isinstance(f, _MovedFinder) for f in sys.meta_path):
        sys.meta_path.append(_MovedFinder())
