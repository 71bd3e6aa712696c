"""Wild cluster restricted bootstrap: the vectorised algebra against a brute-force
loop that refits the regression for every draw, reproducibility, the test-inversion
interval and the size of the test under a known null."""

from __future__ import annotations

import numpy as np
import pytest

from evaluate.errors import SpecError
from evaluate.inference.bootstrap import _draw_weights, wild_cluster_bootstrap


def _data(seed=0, g=14, beta1=0.0):
    rng = np.random.default_rng(seed)
    sizes = rng.integers(3, 12, size=g)
    cl = np.repeat(np.arange(g), sizes)
    n = len(cl)
    x = np.column_stack(
        [np.ones(n), rng.normal(size=n) + rng.normal(size=g)[cl], rng.normal(size=n)]
    )
    y = x @ [1.0, beta1, 0.4] + rng.normal(size=g)[cl] + rng.normal(size=n)
    return x, y, cl


def _brute_force_t(x, y, cl, coef, null, v):
    """Refit restricted model, build y*, refit unrestricted, CR1 t-stat: per draw."""
    n, p = x.shape
    g = cl.max() + 1
    others = np.delete(x, coef, axis=1)
    yr = y - x[:, coef] * null
    gam = np.linalg.lstsq(others, yr, rcond=None)[0]
    u = yr - others @ gam
    fitted = others @ gam + x[:, coef] * null
    scale = g / (g - 1) * (n - 1) / (n - p)
    m = np.linalg.inv(x.T @ x)
    out = []
    for b in range(v.shape[1]):
        ystar = fitted + v[cl, b] * u
        bstar = m @ x.T @ ystar
        e = ystar - x @ bstar
        s = np.stack([x[cl == c].T @ e[cl == c] for c in range(g)])
        var = scale * (m @ s.T @ s @ m)[coef, coef]
        out.append((bstar[coef] - null) / np.sqrt(var))
    return np.array(out)


@pytest.mark.parametrize("weights", ["rademacher", "webb"])
def test_vectorised_draws_equal_brute_force(weights):
    x, y, cl = _data(seed=1)
    res = wild_cluster_bootstrap(
        x, y, cl, coef=1, null=0.1, weights=weights, n_boot=199, seed=7, ci=False
    )
    v, _ = _draw_weights(cl.max() + 1, 199, weights, np.random.default_rng(7))
    np.testing.assert_allclose(res.t_draws, _brute_force_t(x, y, cl, 1, 0.1, v), rtol=1e-9)


def test_reproducible_and_seeded():
    x, y, cl = _data(seed=2)
    a = wild_cluster_bootstrap(x, y, cl, coef=1, seed=11, ci=False)
    b = wild_cluster_bootstrap(x, y, cl, coef=1, seed=11, ci=False)
    c = wild_cluster_bootstrap(x, y, cl, coef=1, seed=12, ci=False)
    np.testing.assert_array_equal(a.t_draws, b.t_draws)
    assert not np.array_equal(a.t_draws, c.t_draws)


def test_full_enumeration_with_few_clusters():
    x, y, cl = _data(seed=3, g=8)
    res = wild_cluster_bootstrap(x, y, cl, coef=1, weights="rademacher", n_boot=999, ci=False)
    assert res.enumerated and res.n_boot == 2**8
    # Symmetric enumeration: every pattern and its negation are both present.
    np.testing.assert_allclose(np.sort(res.t_draws), np.sort(-res.t_draws), atol=1e-12)
    assert wild_cluster_bootstrap(x, y, cl, coef=1, ci=False).weights == "webb"  # auto, G < 12


def test_interval_inverts_the_test():
    x, y, cl = _data(seed=4, beta1=0.3)
    res = wild_cluster_bootstrap(x, y, cl, coef=1, n_boot=999, seed=5, alpha=0.1)
    low, high = res.ci
    assert low < res.estimate < high
    width = high - low
    for bound, inward in ((low, 1), (high, -1)):
        inside = wild_cluster_bootstrap(
            x, y, cl, coef=1, null=bound + inward * 0.01 * width, n_boot=999, seed=5, ci=False
        )
        outside = wild_cluster_bootstrap(
            x, y, cl, coef=1, null=bound - inward * 0.01 * width, n_boot=999, seed=5, ci=False
        )
        assert inside.p_value >= 0.1 > outside.p_value


def test_size_under_the_null():
    """Known truth b1 = 0 with 10 clusters: rejection rate near 5 % (200 replications)."""
    rejections = 0
    reps = 200
    for r in range(reps):
        x, y, cl = _data(seed=100 + r, g=10)
        res = wild_cluster_bootstrap(x, y, cl, coef=1, n_boot=199, seed=r, ci=False)
        rejections += res.p_value < 0.05
    # binomial SE at 5 % over 200 draws is 1.5 pp; accept 1-11 %.
    assert 0.01 <= rejections / reps <= 0.11


def test_bad_input():
    x, y, cl = _data()
    with pytest.raises(SpecError, match="coef"):
        wild_cluster_bootstrap(x, y, cl, coef=5)
    with pytest.raises(SpecError, match="n_boot"):
        wild_cluster_bootstrap(x, y, cl, coef=1, n_boot=10)
    with pytest.raises(SpecError, match="weights"):
        wild_cluster_bootstrap(x, y, cl, coef=1, weights="mammen")  # type: ignore[arg-type]
    with pytest.raises(SpecError, match="2 clusters"):
        wild_cluster_bootstrap(x, y, np.zeros(len(y), int), coef=1)
