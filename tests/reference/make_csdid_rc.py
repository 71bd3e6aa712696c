"""Reference numbers for Callaway-Sant'Anna on repeated cross-sections and an
unbalanced panel, from csdid 0.4.3 (the Python port of R ``did`` 2.5.1 / ``DRDID``).

R is not available here; csdid mirrors R did's ``panel = FALSE`` and
``allow_unbalanced_panel = TRUE`` paths (``pre_process_did``: an unbalanced panel
runs the RC estimators with ``.rowid = idname``; ``compute.att_gt``: RC cells scaled
by ``n / n1`` and summed by id) and calls the ``drdid`` 1.1.7 RC estimators.

Scenarios on ``mpdta`` (never-treated controls unless stated, analytic SEs):

* ``rc_*``: ``panel=False``, every row an independent observation (no idname);
* ``unbal_*``: 10 % of the rows dropped (numpy ``default_rng(20240614)``, indices
  stored in the output) with ``allow_unbalanced_panel=True``.

Run from the repository root (writes ``tests/reference/mpdta_csdid_rc.json``)::

    python -m pip install -c constraints.txt csdid drdid
    PYTHONPATH=. python tests/reference/make_csdid_rc.py
"""

from __future__ import annotations

import contextlib
import io
import json
import warnings
from importlib.metadata import version
from pathlib import Path

import numpy as np

from evaluate.datasets import mpdta

SEED = 20240614
SCENARIOS = {
    "rc_dr": dict(panel=False, est_method="dr"),
    "rc_reg_cov": dict(panel=False, est_method="reg", xformla="lemp~lpop"),
    "rc_ipw_cov": dict(panel=False, est_method="ipw", xformla="lemp~lpop"),
    "rc_dr_cov": dict(panel=False, est_method="dr", xformla="lemp~lpop"),
    "rc_dr_notyet": dict(panel=False, est_method="dr", control_group="notyettreated"),
    "unbal_dr": dict(unbalanced=True, est_method="dr"),
    "unbal_dr_cov": dict(unbalanced=True, est_method="dr", xformla="lemp~lpop"),
    "unbal_reg_notyet": dict(unbalanced=True, est_method="reg", control_group="notyettreated"),
}


def main() -> None:
    from csdid.att_gt import ATTgt

    data = mpdta()
    rng = np.random.default_rng(SEED)
    dropped = np.sort(rng.choice(len(data), size=len(data) // 10, replace=False))
    unbalanced = data.drop(index=data.index[dropped]).reset_index(drop=True)
    out: dict = {
        "software": {"csdid": version("csdid"), "drdid": version("drdid")},
        "dropped_rows": dropped.tolist(),
        "scenarios": {},
    }
    for name, kw in SCENARIOS.items():
        kw = dict(kw)
        est = kw.pop("est_method")
        is_unbalanced = kw.pop("unbalanced", False)
        panel = kw.pop("panel", True)
        frame = unbalanced if is_unbalanced else data
        with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
            warnings.simplefilter("ignore")
            fit = ATTgt(
                yname="lemp",
                tname="year",
                gname="first.treat",
                idname="countyreal" if panel else None,
                data=frame.copy(),
                panel=panel,
                allow_unbalanced_panel=is_unbalanced,
                **kw,
            ).fit(est_method=est, bstrap=False)
            res = {
                "group": [float(g) for g in fit.results["group"]],
                "time": [float(t) for t in fit.results["year"]],
                "att": [float(a) for a in fit.results["att"]],
                "se": [float(s) for s in fit.results["se"]],
            }
            for kind in ("simple", "dynamic", "group", "calendar"):
                agg = fit.aggte(typec=kind, bstrap=False).atte
                res[f"agg_{kind}"] = [float(agg["overall_att"]), float(agg["overall_se"])]
        out["scenarios"][name] = res
        print(name, res["agg_simple"])
    path = Path(__file__).with_name("mpdta_csdid_rc.json")
    path.write_text(json.dumps(out, indent=1) + "\n")


if __name__ == "__main__":
    main()
