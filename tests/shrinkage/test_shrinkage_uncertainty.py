"""BETA_SHRUNK_SD against the exact posterior SD where it has a closed form.

Orthogonal LD (R = I) with equal SEs: each variant's z = b + N(0, 1) with an independent prior
on b = β/SE, so the exact posterior of b given the block is that of its own z alone. Normal
prior N(0, τ²): posterior N(v z, v), v = τ²/(1+τ²). Point-normal prior (1−π) δ₀ + π N(0, τ²):
a spike-and-slab posterior with inclusion probability p(z), mean p v z and variance
p (v + v² z²) − (p v z)².
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy.stats import norm

from phenomap.ld.matrix import ld_scores
from phenomap.shrinkage.features import block_features, top_neighbours
from phenomap.shrinkage.train import train_ensemble, training_data
from phenomap.sim.training import SimulatedStats

M, TOP_T, TAU = 40, 3, 2.5
OPTIONS = dict(top_t=TOP_T, architecture="2L", n_models=2, epochs=25, batch_size=512, patience=4, device="cpu")


def simulate(rng, replicates, pi):
    """(replicates, M) true b and z under the point-normal prior (pi = 1: normal prior)."""
    b = np.where(rng.random((replicates, M)) < pi, rng.normal(0.0, TAU, (replicates, M)), 0.0)
    return b, b + rng.normal(size=b.shape)


def exact_posterior(z, pi):
    """Posterior mean and SD of b given z (module docstring)."""
    v = TAU**2 / (1 + TAU**2)
    slab, spike = pi * norm.pdf(z, scale=np.sqrt(1 + TAU**2)), (1 - pi) * norm.pdf(z)
    p = slab / (slab + spike)
    mean = p * v * z
    return mean, np.sqrt(p * (v + (v * z) ** 2) - mean**2)


@pytest.mark.parametrize(("pi", "tolerance"), [(1.0, 0.10), (0.2, 0.20)])
def test_predictive_sd__tracks_the_exact_posterior_sd_and_covers_like_it(pi, tolerance):
    """``tolerance``: allowed mean |SD − exact SD| relative to the mean exact SD (24k training rows;
    the spike-and-slab SD is a sharp function of z, learnt to ~15 %)."""
    torch.set_num_threads(1)
    rng = np.random.default_rng(21)
    r = np.eye(M)
    b, z = simulate(rng, 600, pi)
    sims = SimulatedStats(beta=b, beta_hat=z, se=np.ones_like(z), setting=np.zeros(len(z), int), n=10_000)
    ensemble = train_ensemble(training_data([(sims, r)], top_t=TOP_T, causal_weight=1.0), seed=4, **OPTIONS)

    b, z = simulate(np.random.default_rng(22), 200, pi)  # held-out replicates, new seed
    X = block_features(z, np.ones_like(z), ld_scores(r, 10_000, adjust=False), top_neighbours(r, TOP_T))
    mean, sd = (a.reshape(z.shape) for a in ensemble.predictive(X.reshape(-1, X.shape[-1])))
    exact_mean, exact_sd = exact_posterior(z, pi)
    # the SD tracks the exact posterior SD (constant under the normal prior, a function of z otherwise)
    assert np.mean(np.abs(sd - exact_sd)) < tolerance * np.mean(exact_sd)
    if pi < 1:
        assert np.corrcoef(sd.ravel(), exact_sd.ravel())[0, 1] > 0.85
    # and its 1.96-SD intervals cover the truth as often as the exact posterior's do (within 2 points)
    causal = b != 0
    covered, exact_covered = np.abs(b - mean) <= 1.96 * sd, np.abs(b - exact_mean) <= 1.96 * exact_sd
    assert abs(covered.mean() - exact_covered.mean()) < 0.02
    assert abs(covered[causal].mean() - exact_covered[causal].mean()) < 0.03
    if pi == 1.0:  # a Gaussian posterior: the nominal 95 %
        assert 0.93 < covered.mean() < 0.97
    else:  # spike and slab: more than 95 % of all, far fewer causal (here ~72 %), exact or not
        assert covered.mean() > 0.93 and covered[causal].mean() < 0.8
