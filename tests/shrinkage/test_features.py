"""Shrinkage features: vectorised block construction equals a per-variant brute force."""

from __future__ import annotations

import numpy as np
import pytest

from phenomap.errors import InputError
from phenomap.shrinkage.features import block_features, feature_names, top_neighbours


def random_ld(rng, m, n=300):
    G = rng.normal(size=(n, 3)) @ rng.normal(size=(3, m)) + rng.normal(size=(n, m))
    return np.corrcoef(G.T)


def brute_force(beta_hat, se, ldscore, r, top_t):
    m = len(beta_hat)
    z = beta_hat / se
    rows = []
    for j in range(m):
        others = sorted((k for k in range(m) if k != j), key=lambda k: (-abs(r[j, k]), k))[:top_t]
        zs = [z[k] for k in others] + [0.0] * (top_t - len(others))
        rs = [r[j, k] for k in others] + [0.0] * (top_t - len(others))
        rows.append([z[j], np.log(se[j] / np.median(se)), ldscore[j], np.mean(z**2)] + zs + rs)
    return np.array(rows)


@pytest.mark.parametrize("m, top_t", [(40, 5), (4, 5), (1, 3), (25, 10)])
def test_block_features__equal_brute_force(rng, m, top_t):
    r = random_ld(rng, m) if m > 1 else np.ones((1, 1))
    beta_hat, se = rng.normal(size=m), rng.uniform(0.02, 0.1, m)
    ldscore = (r**2).sum(1)
    got = block_features(beta_hat, se, ldscore, top_neighbours(r, top_t))
    assert got.shape == (m, 2 * top_t + 4) and len(feature_names(top_t)) == got.shape[1]
    np.testing.assert_allclose(got, brute_force(beta_hat, se, ldscore, r, top_t), rtol=1e-6, atol=1e-6)


def test_block_features__replicates_stack_like_single_calls(rng):
    m, top_t = 30, 5
    r = random_ld(rng, m)
    nb = top_neighbours(r, top_t)
    B, S = rng.normal(size=(3, m)), rng.uniform(0.02, 0.1, (3, m))
    stacked = block_features(B, S, (r**2).sum(1), nb)
    for i in range(3):
        np.testing.assert_array_equal(stacked[i], block_features(B[i], S[i], (r**2).sum(1), nb))


def test_top_neighbours__ties_broken_by_index():
    r = np.eye(4)
    r[0, 1:] = r[1:, 0] = 0.5
    idx, corr = top_neighbours(r, 2)
    np.testing.assert_array_equal(idx[0], [1, 2])
    np.testing.assert_array_equal(corr[0], [0.5, 0.5])


def test_block_features__shape_mismatch_raises():
    r = np.eye(3)
    with pytest.raises(InputError, match="do not match"):
        block_features(np.zeros(3), np.ones(2), np.ones(3), top_neighbours(r, 2))
