"""Ablation importance against brute force and planted truth; pairwise interactions; ANOVA."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from gpatlas_helpers import DOSAGE_LOCUS, STRONG_LOCUS, STRONG_STATE, TINY
from scipy import stats

from phenomap.gpatlas.importance import ablation_importance, anova_scores, pairwise_interactions
from phenomap.gpatlas.train import Settings, train_geno_tier, train_pheno_tier


@torch.no_grad()
def brute_force(model, states):
    """Per-state squared prediction changes from explicitly ablated inputs: (m, k, T) and (n, m)."""
    net = model.geno.eval()
    x = model.features(states)
    base = net(x)
    n, m = states.shape
    k = model.architecture.n_states if model.architecture.coding == "onehot" else 1
    per_state, per_sample = np.zeros((m, k, base.shape[1])), np.zeros((n, m))
    for j in range(m):
        for a in range(k):
            ablated = x.clone()
            ablated[:, j * k + a] = 0.0  # a missing dosage (NaN) is ablated to 0 as well
            change = (net(ablated) - base).pow(2).double().numpy()
            per_state[j, a] = change.mean(axis=0)
            carries = states[:, j] == a if model.architecture.coding == "onehot" else np.ones(n, bool)
            per_sample[carries, j] = change[carries].mean(axis=1)
    return per_state, per_sample


@pytest.mark.parametrize("variant", ["faithful", "improved"])
def test_ablation_importance__matches_explicit_ablation(trained, planted, variant):
    data, is_test = planted
    model, _ = trained[variant]
    states = data.states[is_test]
    imp = ablation_importance(model, states, chunk=13, sample_batch=7)
    per_state, per_sample = brute_force(model, states)
    np.testing.assert_allclose(imp.per_trait, per_state.max(axis=1), rtol=1e-4, atol=1e-9)
    np.testing.assert_allclose(imp.overall, per_state.mean(axis=2).max(axis=1), rtol=1e-4, atol=1e-9)
    np.testing.assert_allclose(imp.per_sample, per_sample, rtol=1e-4, atol=1e-9)


def test_ablation_importance__dosage_coding_matches_explicit_ablation(planted):
    data, is_test = planted
    settings = Settings(variant="faithful", coding="dosage", **{**TINY, "pheno_epochs": 2, "geno_epochs": 2})
    model, _ = train_pheno_tier(data, is_test, settings, seed=1)
    train_geno_tier(model, data, is_test, settings, seed=2)
    states = data.states[is_test]
    imp = ablation_importance(model, states)
    per_state, per_sample = brute_force(model, states)
    np.testing.assert_allclose(imp.per_trait, per_state[:, 0], rtol=1e-4, atol=1e-9)
    np.testing.assert_allclose(imp.per_sample, per_sample, rtol=1e-4, atol=1e-9)


@pytest.mark.parametrize("variant", ["faithful", "improved"])
def test_ablation_importance__strong_planted_locus_ranks_first(trained, planted, variant):
    data, is_test = planted
    model, _ = trained[variant]
    imp = ablation_importance(model, data.states[is_test])
    assert np.argmax(imp.overall) == STRONG_LOCUS
    assert np.argmax(imp.per_trait[:, 0]) == STRONG_LOCUS  # trait1
    if variant == "improved":
        assert imp.best_state[STRONG_LOCUS] == STRONG_STATE
        assert np.argmax(imp.per_trait[:, 1]) == DOSAGE_LOCUS  # trait2
        assert set(np.argsort(-imp.overall)[:2]) == {STRONG_LOCUS, DOSAGE_LOCUS}


@torch.no_grad()
def test_pairwise_interactions__matches_explicit_double_ablation(trained, planted):
    data, is_test = planted
    model, _ = trained["faithful"]
    states = data.states[is_test][:20]
    loci = np.array([STRONG_LOCUS, 3, DOSAGE_LOCUS])
    got = pairwise_interactions(model, states, loci)
    net, x = model.geno.eval(), model.features(states)

    def ablate(*js):
        out = x.clone()
        for j in js:
            out[np.arange(len(states)), j * 3 + states[:, j]] = 0.0
        return net(out)

    for a in range(3):
        for b in range(a + 1, 3):
            expected = (ablate(loci[a], loci[b]) - ablate(loci[a]) - ablate(loci[b]) + net(x)).pow(2).mean(dim=0)
            np.testing.assert_allclose(got[a, b], expected.numpy(), rtol=1e-4, atol=1e-10)
            np.testing.assert_array_equal(got[a, b], got[b, a])
    assert (np.diagonal(got, axis1=0, axis2=1) == 0).all()


def test_pairwise_interactions__zero_for_the_linear_path_alone(trained, planted):
    data, is_test = planted
    model, _ = trained["improved"]
    gate = model.geno.gate.detach().clone()
    try:
        with torch.no_grad():
            model.geno.gate.zero_()  # switch the network path off: an additive model remains
        got = pairwise_interactions(model, data.states[is_test], np.arange(6))
    finally:
        with torch.no_grad():
            model.geno.gate.copy_(gate)
    np.testing.assert_allclose(got, 0, atol=1e-10)


def test_anova_scores__matches_scipy_f_oneway(rng):
    states = rng.integers(0, 3, size=(150, 12)).astype(np.int8)
    states[rng.random(states.shape) < 0.05] = -1
    y = rng.normal(size=(150, 2))
    y[:, 0] += states[:, 4] == 1
    y[rng.random(y.shape) < 0.05] = np.nan
    got = anova_scores(states, y, chunk=5)
    for j in range(12):
        for t in range(2):
            ok = ~np.isnan(y[:, t]) & (states[:, j] >= 0)
            groups = [y[ok & (states[:, j] == a), t] for a in range(3)]
            expected = -np.log10(stats.f_oneway(*[g for g in groups if len(g)]).pvalue)
            assert got[j, t] == pytest.approx(expected, rel=1e-8)
    assert np.argmax(got[:, 0]) == 4
