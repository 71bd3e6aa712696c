"""Peer benchmark: against statsmodels' two-proportion Wald interval, known truth, bad input."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
from scipy import stats  # noqa: E402
from statsmodels.stats.proportion import confint_proportions_2indep  # noqa: E402

from evaluate.effect import TIDY_COLUMNS  # noqa: E402
from evaluate.errors import DataError, DesignError, SmallSampleWarning, SpecError  # noqa: E402
from evaluate.estimators.series.peers import peer_benchmark  # noqa: E402

KEYS = {"unit": "kommune", "numerator": "ledige", "denominator": "visiterede"}


def _panel(seed=0, n=30, focal_rate=0.25, peer_rate=0.17, spread=0.0):
    rng = np.random.default_rng(seed)
    den = rng.integers(800, 3000, n)
    rates = np.clip(peer_rate + spread * rng.standard_normal(n), 0.01, 0.99)
    rates[0] = focal_rate
    return pd.DataFrame(
        {
            "kommune": [f"k{i:02d}" for i in range(n)],
            "ledige": rng.binomial(den, rates),
            "visiterede": den,
            "size": np.log(den) + rng.normal(0, 0.1, n),
            "unemployment": rng.normal(5, 1, n),
        }
    )


def test_binomial_gap_matches_statsmodels_wald():
    # Independent computation: statsmodels confint_proportions_2indep(method="wald",
    # compare="diff") for focal vs the pooled peers; tolerance 1e-10.
    frame = _panel(seed=1)
    res = peer_benchmark(frame, **KEYS, focal="k00")
    peers = frame.iloc[1:]
    c1, n1 = int(frame.ledige[0]), int(frame.visiterede[0])
    c2, n2 = int(peers.ledige.sum()), int(peers.visiterede.sum())
    low, high = confint_proportions_2indep(c1, n1, c2, n2, method="wald", compare="diff")
    gap = res.gap
    assert gap.estimate == pytest.approx(c1 / n1 - c2 / n2, rel=1e-12)
    assert gap.interval(0.05) == pytest.approx((low, high), rel=1e-10)
    # persons: the gap times the focal denominator
    assert res.estimate == pytest.approx((c1 / n1 - c2 / n2) * n1, rel=1e-12)
    assert res.ci == pytest.approx((low * n1, high * n1), rel=1e-10)
    assert res.persons_at_peer_level == pytest.approx(-res.estimate)


def test_spread_uncertainty_by_hand():
    frame = _panel(seed=2, spread=0.03)
    res = peer_benchmark(frame, **KEYS, focal="k00", uncertainty="spread", peer_level="mean")
    rates = frame.ledige / frame.visiterede
    r_f, peer = rates[0], rates[1:]
    se = np.sqrt(r_f * (1 - r_f) / frame.visiterede[0] + peer.var(ddof=1) / len(peer))
    assert res.gap.estimate == pytest.approx(r_f - peer.mean(), rel=1e-12)
    assert res.gap.std_error == pytest.approx(se, rel=1e-12)
    q = stats.t.ppf(0.975, len(peer) - 1)
    assert res.gap.interval(0.05)[1] == pytest.approx(r_f - peer.mean() + q * se, rel=1e-12)


def test_copenhagen_style_readout():
    # 25 % vs 17 % on 37,500 eligible: 3,000 more at the peers' level.
    frame = pd.DataFrame(
        {
            "kommune": ["København", "A", "B", "C", "D", "E"],
            "ledige": [9375, 170, 340, 510, 680, 850],
            "visiterede": [37500, 1000, 2000, 3000, 4000, 5000],
        }
    )
    res = peer_benchmark(
        frame, **KEYS, focal="København", numerator_label="unemployed flexjob-eligible",
        complement_label="in flexjob",
    )  # fmt: skip
    assert res.focal_rate == 0.25 and res.peer_rate == pytest.approx(0.17)
    assert res.estimate == pytest.approx(3000.0)
    assert "3,000 fewer unemployed flexjob-eligible, i.e. 3,000 more in flexjob" in res.sentence


def test_nearest_neighbour_peers():
    frame = _panel(seed=3, n=20)
    cols = ["size", "unemployment"]
    frame.loc[[4, 7, 11], cols] = frame.loc[0, cols].to_numpy() + 0.01
    with pytest.warns(SmallSampleWarning, match="Only 3 peers"):
        res = peer_benchmark(frame, **KEYS, focal="k00", match_on=cols, n_peers=3)
    assert set(res.table.index[res.table["peer"]]) == {"k04", "k07", "k11"}
    assert "covariate balance" in res.diagnostics and len(res.balance) == 2
    others = res.table["distance"].drop(["k00", "k04", "k07", "k11"])
    assert res.table.loc["k04", "distance"] < others.min()


# --- known truth -------------------------------------------------------------------------
def test_binomial_coverage_light():
    # Counts drawn as binomial with focal rate 0.25 and peer rate 0.17: the gap's 95 %
    # interval covers the true 0.08 in 93-97 % of 400 draws (binomial sd 1.1 %).
    hits = []
    for seed in range(400):
        res = peer_benchmark(_panel(seed=100 + seed), **KEYS, focal="k00")
        low, high = res.gap.interval(0.05)
        hits.append(low <= 0.08 <= high)
    assert 0.93 <= np.mean(hits) <= 0.97


@pytest.mark.slow
def test_binomial_coverage_heavy():
    hits = []
    for seed in range(3000):
        res = peer_benchmark(_panel(seed=10_000 + seed), **KEYS, focal="k00")
        low, high = res.gap.interval(0.05)
        hits.append(low <= 0.08 <= high)
    assert 0.94 <= np.mean(hits) <= 0.96


# --- bad input --------------------------------------------------------------------------
def test_bad_input():
    frame = _panel()
    with pytest.raises(SpecError, match="contains the focal unit"):
        peer_benchmark(frame, **KEYS, focal="k00", peers=["k00", "k01", "k02"])
    with pytest.raises(DataError, match="not found"):
        peer_benchmark(frame, **KEYS, focal="Atlantis")
    with pytest.raises(DataError, match="Peers"):
        peer_benchmark(frame, **KEYS, focal="k00", peers=["k01", "nope"])
    with pytest.raises(SpecError, match="either"):
        peer_benchmark(frame, **KEYS, focal="k00", peers=["k01", "k02"], match_on=["size"])
    with pytest.raises(DesignError, match="n_peers"):
        peer_benchmark(frame, **KEYS, focal="k00", match_on=["size"], n_peers=50)
    with pytest.raises(DataError, match="between 0"):
        peer_benchmark(frame.assign(ledige=frame.visiterede + 1), **KEYS, focal="k00")
    with pytest.raises(DataError, match="positive"):
        peer_benchmark(frame.assign(visiterede=0), **KEYS, focal="k00")
    with pytest.raises(DataError, match="one value"):
        peer_benchmark(frame.assign(size=1.0), **KEYS, focal="k00", match_on=["size"])
    with pytest.raises(SpecError, match="uncertainty"):
        peer_benchmark(frame, **KEYS, focal="k00", uncertainty="bootstrap")
    with pytest.raises(DataError, match="duplicates|share the same"):
        peer_benchmark(pd.concat([frame, frame.iloc[:1]]), **KEYS, focal="k00")
    with pytest.warns(SmallSampleWarning, match="Only 2 peers"):
        peer_benchmark(frame, **KEYS, focal="k00", peers=["k01", "k02"])
    before = frame.copy()
    peer_benchmark(frame, **KEYS, focal="k00")
    pd.testing.assert_frame_equal(frame, before)


# --- contract -----------------------------------------------------------------------------
def test_result_contract():
    res = peer_benchmark(_panel(), **KEYS, focal="k00", match_on=["size"], n_peers=8)
    for fmt in ("text", "markdown", "html"):
        assert "Focal unit and peers" in res.summary(fmt)
    assert "<table" in res._repr_html_()
    frame = res.to_frame()
    assert list(frame.columns) == TIDY_COLUMNS and frame.loc[0, "unit"] == "persons"
    assert frame.loc[1, "unit"] == "percentage points"
    ax = res.plot()
    assert ax.has_data()
    _, ax2 = plt.subplots()
    assert res.plot(ax=ax2) is ax2
    plt.close("all")
