"""Regenerate faxe_simulated_monthly.csv (SIMULATED data; Faxe's monthly counts are not public).

    python studies/data/make_faxe_simulated.py

The series: 150 recipients of ledighedsydelse in January 2015, rising 0.8 a month
(about +18 % over the 17 months after May 2018 if nothing had changed), a seasonal
cycle of amplitude 4, noise sd 4, and an effect that ramps to -25 recipients over
the six months from May 2018.  Seed 20191029 (the date of Faxe's statement).
"""

from pathlib import Path

from evaluate.simulate import monthly_counts

if __name__ == "__main__":
    frame = monthly_counts(start="2015-01", periods=57, intervention="2018-05", seed=20191029)
    target = Path(__file__).with_name("faxe_simulated_monthly.csv")
    frame.to_csv(target, index=False, lineterminator="\n")
    print(f"wrote {target} ({len(frame)} rows)")
