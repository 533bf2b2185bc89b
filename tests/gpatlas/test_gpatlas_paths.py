"""The improved model's paths: ridge and pairwise lasso as paths, the choice by inner CV, pair interactions."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest
import torch
from gpatlas_helpers import EPISTATIC_PAIR, TINY

from phenomap.gpatlas.baselines import fit_lasso_path, pairwise_lasso, pairwise_path, ridge_baseline, ridge_path
from phenomap.gpatlas.data import AtlasData, encode, feature_means, split_samples
from phenomap.gpatlas.evaluate import fit_baselines, metrics_table
from phenomap.gpatlas.importance import ablation_importance, pair_interactions, path_pairs
from phenomap.gpatlas.train import Settings, train_geno_tier, train_pheno_tier


@pytest.mark.parametrize("coding", ["onehot", "dosage"])
def test_ridge_path__predicts_as_the_ridge_baseline(rng, coding):
    states = rng.integers(0, 3, size=(120, 25)).astype(np.int8)
    states[rng.random(states.shape) < 0.02] = -1
    z = np.column_stack([states[:, 2] + rng.normal(size=120), rng.normal(size=120)])
    z[rng.random(z.shape) < 0.05] = np.nan
    train = np.arange(90)
    mean = feature_means(states[train], 3, coding)
    expected, _ = ridge_baseline(states, 3, coding, z, train, mean=mean.astype(np.float32))
    path = ridge_path(states[train], 3, coding, z[train], mean=mean)
    np.testing.assert_allclose(path.predict_states(states, 3, coding, mean.astype(np.float32)), expected,
                               rtol=1e-6, atol=1e-6)


def test_pairwise_path__predicts_as_the_pairwise_lasso(rng):
    states = rng.integers(0, 3, size=(200, 15)).astype(np.int8)
    y = 2.0 * ((states[:, 1] == 0) & (states[:, 6] == 2)) + (states[:, 4] == 1) + 0.3 * rng.normal(size=200)
    x = encode(torch.as_tensor(states), "onehot", 3).numpy()
    mean = x.mean(axis=0).astype(np.float64)
    main = fit_lasso_path(states, 3, "onehot", y[:, None], mean=mean, n_alphas=10, folds=3, seed=1)
    expected = pairwise_lasso(x, y, block=3, main_coef=main.coef[0], n_alphas=10, folds=3, seed=1).predict(x)
    # without the screen of all pairs the candidates are the lasso's loci, as pairwise_lasso's
    path = pairwise_path(states, 3, "onehot", y[:, None], main, screen_pairs=0, n_alphas=10, folds=3, seed=1)
    assert len(path.pair_a) > 0
    np.testing.assert_allclose(path.predict_states(states, 3, "onehot", mean.astype(np.float32))[:, 0], expected,
                               rtol=1e-5, atol=1e-5)


def held_out_r2(model, data, is_test) -> np.ndarray:
    table = metrics_table({"m": model.predict_geno(data.states[is_test])}, data.phenotypes[is_test], data.traits)
    return table.r2.to_numpy()[:-1]


def test_improved__falls_back_to_a_linear_path_on_additive_and_noise_traits(rng):
    # additive trait and pure noise: no pairwise path, the network stays off, and held-out R^2 at least the lasso's
    n, m = 300, 15
    states = rng.integers(0, 3, size=(n, m)).astype(np.int8)
    y = np.column_stack([1.2 * states[:, 2] - (states[:, 9] == 1) + rng.normal(size=n), rng.normal(size=n)])
    ids = [f"s{i}" for i in range(n)]
    data = AtlasData(states, y, pd.DataFrame({"FID": ids, "IID": ids}),
                     pd.DataFrame({"CHROM": "1", "ID": [f"L{j}" for j in range(m)], "POS": np.arange(m) + 1,
                                   "A1": "A", "A2": "G"}), ("additive", "noise"), 3)
    is_test = split_samples(n, 0.3, seed=2)
    settings = Settings(variant="improved", **{**TINY, "geno_epochs": 5})
    model, _ = train_pheno_tier(data, is_test, settings, seed=1)
    curve = train_geno_tier(model, data, is_test, settings, seed=2)
    assert "pairwise" not in model.paths and curve.kept.iloc[0]
    lasso = fit_baselines(data, is_test, baselines=("lasso",), lasso_alphas=TINY["lasso_alphas"],
                          lasso_folds=TINY["lasso_folds"], seed=2).metrics.r2.to_numpy()[:-1]
    assert (held_out_r2(model, data, is_test) >= lasso - 1e-4).all()  # noise: ridge's near-intercept within 2e-6


def test_improved__chooses_the_pairwise_path_for_a_planted_pair_and_recovers_it(epistatic):
    data, is_test, model = epistatic
    assert model.paths[0] == "pairwise"
    assert tuple(EPISTATIC_PAIR) in {tuple(p) for p in path_pairs(model)}
    pairwise = fit_baselines(data, is_test, baselines=("lasso", "pairwise"), lasso_alphas=TINY["lasso_alphas"],
                             lasso_folds=TINY["lasso_folds"], seed=22).metrics
    r2 = held_out_r2(model, data, is_test)

    def baseline(name):
        return pairwise.r2[(pairwise.model == name) & (pairwise.trait == "trait1")].item()

    # the network stayed off: the model is the pairwise lasso refitted on every training sample
    assert r2[0] == pytest.approx(baseline("pairwise"), abs=1e-5)
    assert r2[0] > baseline("lasso") + 0.2 and r2[0] > 0.7  # ceiling ~0.82 (noise variance 0.25 of 1.36)


def test_pair_interactions__rank_the_planted_pair_first(epistatic):
    data, is_test, model = epistatic
    pairs = np.array(list(itertools.combinations(range(data.states.shape[1]), 2)))
    score = pair_interactions(model, data.states[is_test], pairs, batch=7)[:, 0]  # trait1
    assert tuple(pairs[np.argmax(score)]) == EPISTATIC_PAIR


@torch.no_grad()
def test_ablation_and_pair_interactions__with_product_terms_match_explicit_ablation(epistatic):
    data, is_test, model = epistatic
    net = model.geno.eval()
    with torch.no_grad():
        net.gate.fill_(0.5)  # the network path on as well
    try:
        states = data.states[is_test][:30]
        x = model.features(states)
        rows = np.arange(len(states))

        def ablate(*loci):
            out = x.clone()
            for j in loci:
                out[rows, j * 3 + states[:, j]] = 0.0
            return net(out)

        base = net(x)
        imp = ablation_importance(model, states, chunk=5, sample_batch=11)
        for j in range(states.shape[1]):
            np.testing.assert_allclose(imp.per_sample[:, j], (ablate(j) - base).pow(2).mean(dim=1).numpy(),
                                       rtol=1e-4, atol=1e-8)
        pairs = np.array([EPISTATIC_PAIR, (0, 3), (5, 8)])
        got = pair_interactions(model, states, pairs)
        for q, (a, b) in enumerate(pairs):
            expected = (ablate(a, b) - ablate(a) - ablate(b) + base).pow(2).mean(dim=0).numpy()
            np.testing.assert_allclose(got[q], expected, rtol=1e-4, atol=1e-8)
    finally:
        with torch.no_grad():
            net.gate.zero_()
