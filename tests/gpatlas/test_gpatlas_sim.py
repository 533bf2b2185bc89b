"""The published-design simulator: planted counts, sharing, the phenotype formula and the noise share."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from phenomap.errors import InputError
from phenomap.io.plink import Bfile
from phenomap.sim.gpatlas import AtlasDesign, simulate_atlas_design, write_atlas_simulation

SMALL = AtlasDesign(n_individuals=200, n_loci=300, n_traits=6, n_causal=5, n_causal_loci=18, epistasis=0.5)


def trait_loci(sim) -> np.ndarray:
    """(T, m) bool: the locus carries a weight for the trait."""
    return (sim.weights != 0).any(axis=2)


def genetic_values(sim) -> np.ndarray:
    """(n, T) noise-free traits by brute force: sum of carried weights, products for interacting pairs."""
    n, m = sim.states.shape
    T = sim.weights.shape[0]
    out = np.zeros((n, T))
    for t in range(T):
        for i in range(n):
            out[i, t] = sum(sim.weights[t, j, sim.states[i, j]] for j in range(m))
    for row in sim.interactions.itertuples():
        wa, wb = sim.weights[row.trait, row.locus_a, row.state], sim.weights[row.trait, row.locus_b, row.state]
        both = (sim.states[:, row.locus_a] == row.state) & (sim.states[:, row.locus_b] == row.state)
        out[both, row.trait] += wa * wb - wa - wb
    return out


def test_simulate_atlas_design__defaults_plant_the_published_counts():
    sim = simulate_atlas_design(seed=1)
    d = sim.design
    assert sim.states.shape == (3000, 3000) and sim.phenotypes.shape == (3000, 30)
    assert sim.causal.sum() == 185  # 555 influential allele states / 3 in the published ROC
    assert (trait_loci(sim).sum(axis=1) == 10).all()
    causal_weights = sim.weights[trait_loci(sim)]
    assert (causal_weights > 0).all() and (causal_weights < d.max_weight).all()
    assert np.isin(np.unique(sim.states), [0, 1, 2]).all()
    assert abs((sim.states == 0).mean() - 1 / 3) < 0.01  # uniform allele states
    no_epistasis = simulate_atlas_design(AtlasDesign(epistasis=0.0, noise=0.0), seed=1)
    assert 40 < np.median(no_epistasis.phenotypes.mean(axis=0)) < 60  # released traits: mean ~50


def test_simulate_atlas_design__shared_loci_carry_the_same_weights_and_pairs_are_disjoint():
    sim = simulate_atlas_design(SMALL, seed=1)
    per_trait = trait_loci(sim)
    assert sim.causal.sum() == SMALL.n_causal_loci
    assert (per_trait.sum(axis=1) == SMALL.n_causal).all()
    shared = per_trait.sum(axis=0) > 1
    assert shared.sum() > 0  # 30 slots over 18 loci: pleiotropy
    for locus in np.flatnonzero(shared):
        w = sim.weights[per_trait[:, locus], locus]
        assert (w == w[0]).all()
    used = np.concatenate([sim.interactions.locus_a, sim.interactions.locus_b])
    assert len(used) == len(set(used)) > 0  # every locus interacts at most once
    for row in sim.interactions.itertuples():  # pairs are among the trait's own loci
        assert per_trait[row.trait, [row.locus_a, row.locus_b]].all()
        assert row.state in range(SMALL.n_states)


def test_simulate_atlas_design__no_sharing_when_every_slot_is_a_new_locus():
    design = AtlasDesign(**{**SMALL.__dict__, "n_causal_loci": SMALL.n_traits * SMALL.n_causal})
    sim = simulate_atlas_design(design, seed=4)
    assert (trait_loci(sim).sum(axis=0)[sim.causal] == 1).all()


def test_simulate_atlas_design__epistasis_pairs_greedily_or_not_at_all():
    separate = {**SMALL.__dict__, "n_causal": 4, "n_causal_loci": SMALL.n_traits * 4}
    always = simulate_atlas_design(AtlasDesign(**{**separate, "epistasis": 1.0}), seed=5)
    # with probability 1 the first free pairs are taken: (0, 1) then (2, 3) of each trait
    assert (np.bincount(always.interactions.trait, minlength=SMALL.n_traits) == 2).all()
    assert always.interacting.sum() == always.causal.sum()
    never = simulate_atlas_design(AtlasDesign(**{**separate, "epistasis": 0.0}), seed=5)
    assert never.interactions.empty and not never.interacting.any()


def test_simulate_atlas_design__noise_free_traits_follow_the_weights():
    sim = simulate_atlas_design(AtlasDesign(**{**SMALL.__dict__, "noise": 0.0}), seed=2)
    np.testing.assert_allclose(sim.phenotypes, genetic_values(sim), rtol=1e-12)


def test_simulate_atlas_design__noise_is_the_set_share_of_the_genetic_variance():
    design = AtlasDesign(**{**SMALL.__dict__, "n_individuals": 2000, "noise": 0.01})
    noisy = simulate_atlas_design(design, seed=3)
    clean = simulate_atlas_design(AtlasDesign(**{**design.__dict__, "noise": 0.0}), seed=3)
    np.testing.assert_array_equal(noisy.states, clean.states)  # same draws up to the noise
    share = (noisy.phenotypes - clean.phenotypes).var(axis=0) / clean.phenotypes.var(axis=0)
    assert abs(share.mean() - 0.01) < 0.001
    assert abs((noisy.phenotypes - clean.phenotypes).mean()) < 0.05


@pytest.mark.parametrize("change, match", [
    ({"n_causal_loci": 4}, "n_causal_loci = 4: must lie between n_causal"),
    ({"n_causal_loci": 31}, "n_causal_loci = 31: must lie between"),
    ({"epistasis": 1.5}, r"epistasis = 1.5: must lie in \[0, 1\]"),
    ({"noise": -0.1}, r"noise = -0.1: must lie in \[0, 1\]"),
])
def test_atlas_design__rejects_impossible_settings(change, match):
    with pytest.raises(InputError, match=match):
        AtlasDesign(**{**SMALL.__dict__, **change})


def test_write_atlas_simulation__reads_back(tmp_path):
    sim = simulate_atlas_design(SMALL, seed=3)
    prefix = write_atlas_simulation(sim, tmp_path)
    np.testing.assert_array_equal(Bfile.open(prefix).read(), sim.states)
    pheno = pd.read_csv(tmp_path / "pheno.tsv", sep="\t")
    np.testing.assert_allclose(pheno.drop(columns=["FID", "IID"]).to_numpy(), sim.phenotypes, rtol=1e-9)
    truth = pd.read_csv(tmp_path / "truth.tsv", sep="\t")
    np.testing.assert_array_equal(truth.causal, sim.causal)
    np.testing.assert_array_equal(truth.interacting, sim.interacting)
    np.testing.assert_array_equal(truth.n_traits, trait_loci(sim).sum(axis=0))
