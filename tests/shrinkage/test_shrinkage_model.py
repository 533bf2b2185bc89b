"""Shrinkage ensemble: training, shrinkage behaviour on a planted block, persistence, determinism."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from phenomap.errors import InputError
from phenomap.ld.matrix import correlation, ld_scores
from phenomap.shrinkage.apply import nn_shrink
from phenomap.shrinkage.model import Ensemble
from phenomap.shrinkage.train import train_ensemble, training_data
from phenomap.sim.training import marginal_ols, setting_grid, simulate_individual

TOP_T = 5
OPTIONS = dict(top_t=TOP_T, architecture="2L", n_models=3, epochs=40, batch_size=256, patience=5, device="cpu")


def ld_block_genotypes(rng, n=1500, m=40, rho=0.95):
    """Genotypes with a high-LD core (variants 10..14 share haplotypes) in a weaker-LD background."""
    latent = rng.normal(size=(n, 2, 4))
    loadings = rng.uniform(0.2, 0.6, (4, m))
    loadings[:, 10:15] = 0.0
    core = rng.normal(size=(n, 2, 1))
    h = latent @ loadings
    h[:, :, 10:15] = rho * core + np.sqrt(1 - rho**2) * rng.normal(size=(n, 2, 5))
    h += rng.normal(size=(n, 2, m))
    return (h > np.quantile(h, 0.7, axis=0)).sum(axis=1).astype(np.float32)


@pytest.fixture(scope="module")
def trained():
    torch.set_num_threads(1)
    rng = np.random.default_rng(7)
    G = ld_block_genotypes(rng)
    r = correlation(G).astype(np.float64)
    settings = setting_grid([0.03, 0.1], [0.05, 0.2], [0.0], [0.0])
    sims = simulate_individual(G, settings, replicates=120, h2_share=1.0, rng=rng, ldscore=ld_scores(r, len(G), adjust=False))
    data = training_data([(sims, r)], top_t=TOP_T, causal_weight=1.0)
    return G, r, train_ensemble(data, seed=3, **OPTIONS)


def test_shrinkage__causal_in_high_ld_core_is_recovered_and_its_neighbours_shrink(trained):
    G, r, ensemble = trained
    rng = np.random.default_rng(11)
    n, m = G.shape
    causal, partners = 12, [10, 11, 13, 14]
    Xc = G - G.mean(0)
    beta = np.zeros(m)
    beta[causal] = np.sqrt(0.1 / Xc[:, causal].var())  # 10% of variance: z ~ 13
    errors = {"hat": [], "nn": [], "hat_causal": [], "nn_causal": []}
    shrunk_partners, hat_partners = [], []
    for _ in range(20):
        y = Xc @ beta + rng.normal(size=n) * np.sqrt(0.9)
        beta_hat, se = (a[0] for a in marginal_ols(G, y[:, None]))
        shrunk, _ = nn_shrink(beta_hat, se, r, n, ensemble)
        errors["hat"].append(np.sqrt(np.mean((beta_hat - beta) ** 2)))
        errors["nn"].append(np.sqrt(np.mean((shrunk - beta) ** 2)))
        shrunk_partners.append(np.abs(shrunk[partners]).mean())
        hat_partners.append(np.abs(beta_hat[partners]).mean())
        errors["nn_causal"].append(abs(shrunk[causal] - beta[causal]))
        errors["hat_causal"].append(abs(beta_hat[causal] - beta[causal]))
    # the LD partners, whose marginal effects are ~0.9x the causal's, shrink toward zero ...
    assert np.mean(shrunk_partners) < 0.2 * np.mean(hat_partners)
    # ... while the causal keeps its effect (beta_hat is unbiased for a lone causal, so the
    # network can at best match it: within 15% of the true effect on average, and within
    # 1.5x of beta_hat's own error) ...
    assert np.mean(errors["nn_causal"]) < 0.15 * beta[causal]
    assert np.mean(errors["nn_causal"]) < 1.5 * np.mean(errors["hat_causal"])
    # ... so the block's effects are far closer to the truth than the marginal ones
    assert np.mean(errors["nn"]) < 0.4 * np.mean(errors["hat"])


def test_ensemble__save_load_round_trip_gives_identical_predictions(trained, tmp_path):
    G, r, ensemble = trained
    X = np.random.default_rng(0).normal(size=(50, 2 * TOP_T + 4)).astype(np.float32)
    ensemble.save(tmp_path / "model")
    loaded = Ensemble.load(tmp_path / "model", top_t=TOP_T)
    np.testing.assert_array_equal(loaded.predict(X), ensemble.predict(X))
    np.testing.assert_array_equal(loaded.predictive(X), ensemble.predictive(X))
    spec = json.loads((tmp_path / "model/ensemble.json").read_text())
    assert spec["architecture"] == "2L" and len(spec["curves"]) == 3 and spec["top_t"] == TOP_T


def test_ensemble__load_rejects_a_different_feature_set(trained, tmp_path):
    trained[2].save(tmp_path / "model")
    with pytest.raises(InputError, match="top_t=5 .* shrinkage.top_t is 10"):
        Ensemble.load(tmp_path / "model", top_t=10)
    with pytest.raises(InputError, match="no ensemble.json"):
        Ensemble.load(tmp_path)


def test_ensemble__load_asks_to_retrain_an_ensemble_without_variance_networks(trained, tmp_path):
    trained[2].save(tmp_path / "model")
    spec_path = tmp_path / "model/ensemble.json"
    spec = json.loads(spec_path.read_text())
    del spec["predictive_sd"]  # as written by phenomap before the variance networks
    spec_path.write_text(json.dumps(spec))
    with pytest.raises(InputError, match="no variance networks.*retrain"):
        Ensemble.load(tmp_path / "model", top_t=TOP_T)


def test_predictive__is_the_members_mixture_by_the_law_of_total_variance(trained):
    ensemble = trained[2]
    X = np.random.default_rng(1).normal(size=(30, 2 * TOP_T + 4)).astype(np.float32)
    means, variances = ensemble.predict(X), ensemble.predict_variance(X)
    mean, sd = ensemble.predictive(X)
    np.testing.assert_allclose(mean, means.mean(axis=0))
    second_moment = (variances + means**2).mean(axis=0)  # E[b²] of the equal-weight mixture
    np.testing.assert_allclose(sd**2, second_moment - mean**2, rtol=1e-9, atol=1e-12)


def test_train_ensemble__same_seed_gives_identical_weights():
    rng = np.random.default_rng(5)
    G = ld_block_genotypes(rng, n=400, m=20)
    r = correlation(G).astype(np.float64)
    sims = simulate_individual(G, setting_grid([0.1], [0.3], [0.0], [0.0]), replicates=20, h2_share=1.0,
                               rng=rng, ldscore=ld_scores(r, len(G), adjust=False))
    data = training_data([(sims, r)], top_t=TOP_T, causal_weight=2.0)
    opts = {**OPTIONS, "epochs": 3}
    a, b = train_ensemble(data, seed=9, **opts), train_ensemble(data, seed=9, **opts)
    for na, nb in zip(a.networks + a.variance_networks, b.networks + b.variance_networks):
        for (ka, va), (kb, vb) in zip(na.state_dict().items(), nb.state_dict().items()):
            assert ka == kb and torch.equal(va, vb)
    c = train_ensemble(data, seed=10, **opts)
    assert not torch.equal(a.networks[0][0].weight, c.networks[0][0].weight)
