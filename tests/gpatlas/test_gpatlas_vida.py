"""VIDA: similarity against brute force, planted co-extreme loci score highest."""

from __future__ import annotations

import numpy as np
import pytest

from phenomap.gpatlas.vida import similarity, vida, zscore_columns


def test_similarity__matches_pairwise_brute_force(rng):
    Z = rng.normal(size=(60, 8))
    Z[rng.random(Z.shape) < 0.2] = 0.0
    Z[:5, 1] = 3.0
    Z[:5, 2] = 2.5  # co-extreme with locus 1
    got = similarity(Z, 2.0)
    for a in range(8):
        for b in range(8):
            both = (Z[:, a] != 0) & (Z[:, b] != 0)
            rho = np.corrcoef(Z[both, a], Z[both, b])[0, 1]
            ea, eb = np.abs(Z[:, a]) > 2, np.abs(Z[:, b]) > 2
            expected_co = ea.sum() * eb.sum() / len(Z)
            phi = (ea & eb).sum() / expected_co if expected_co > 0 else 0.0
            assert got[a, b] == pytest.approx((abs(rho) + phi) / 2, abs=1e-10)


def test_zscore_columns__constant_column_becomes_zero(rng):
    V = np.column_stack([rng.normal(size=30), np.full(30, 4.0)])
    Z = zscore_columns(V)
    assert np.allclose(Z[:, 0].mean(), 0) and np.isclose(Z[:, 0].std(), 1)
    assert (Z[:, 1] == 0).all()


def test_vida__co_extreme_loci_score_highest(rng):
    n, p = 300, 40
    V = rng.exponential(size=(n, p))
    for j in range(2, p):  # independent spikes
        V[rng.choice(n, 8, replace=False), j] += 6
    spikes = rng.choice(n, 12, replace=False)
    V[spikes, 0] += 6
    V[spikes, 1] += 6  # loci 0 and 1 are extreme in the same samples (an interaction)
    res = vida(V)
    assert set(np.argsort(-res.score)[:2]) == {0, 1}
    assert res.score[0] > 0 and res.score[1] > 0
    assert res.n_partners == 4  # ceil(10 % of the 39 other loci)


def test_vida__only_the_most_important_loci_are_scored(rng):
    V = rng.exponential(size=(50, 10))
    importance = np.arange(10.0)
    res = vida(V, max_loci=4, importance=importance)
    assert np.isnan(res.score[:6]).all() and not np.isnan(res.score[6:]).any()
