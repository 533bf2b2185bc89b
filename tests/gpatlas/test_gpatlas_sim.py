"""The paper-design simulator: design constraints and the phenotype formula."""

from __future__ import annotations

import numpy as np
import pandas as pd

from phenomap.io.plink import Bfile
from phenomap.sim.gpatlas import AtlasDesign, simulate_atlas_design, write_atlas_simulation

SMALL = AtlasDesign(n_individuals=200, n_loci=300, n_traits=6, n_causal=5, pleiotropy=0.3, epistasis=0.5)


def test_simulate_atlas_design__every_trait_has_n_causal_loci_and_pairs_are_disjoint():
    sim = simulate_atlas_design(SMALL, seed=1)
    assert ((sim.weights != 0).any(axis=2).sum(axis=1) == SMALL.n_causal).all()
    used = np.concatenate([sim.interactions.locus_a, sim.interactions.locus_b])
    assert len(used) == len(set(used)) > 0  # every locus interacts at most once
    for row in sim.interactions.itertuples():  # pairs are among the trait's own loci
        assert (sim.weights[row.trait, [row.locus_a, row.locus_b]] != 0).all()
    shared = (sim.weights != 0).any(axis=2).sum(axis=0) > 1
    assert shared.any()  # pleiotropy
    for locus in np.flatnonzero(shared):  # a shared locus has the same weights on every trait
        w = sim.weights[(sim.weights[:, locus] != 0).any(axis=1), locus]
        assert (w == w[0]).all()


def test_simulate_atlas_design__noise_free_traits_follow_the_weights():
    design = AtlasDesign(**{**SMALL.__dict__, "noise": 0.0})
    sim = simulate_atlas_design(design, seed=2)
    n, m = sim.states.shape
    expected = np.zeros((n, design.n_traits))
    for t in range(design.n_traits):
        for i in range(n):
            expected[i, t] = sum(sim.weights[t, j, sim.states[i, j]] for j in range(m))
    for row in sim.interactions.itertuples():
        wa, wb = sim.weights[row.trait, row.locus_a, row.state], sim.weights[row.trait, row.locus_b, row.state]
        both = (sim.states[:, row.locus_a] == row.state) & (sim.states[:, row.locus_b] == row.state)
        expected[both, row.trait] += wa * wb - wa - wb
    np.testing.assert_allclose(sim.phenotypes, expected, rtol=1e-12)


def test_write_atlas_simulation__reads_back(tmp_path):
    sim = simulate_atlas_design(SMALL, seed=3)
    prefix = write_atlas_simulation(sim, tmp_path)
    np.testing.assert_array_equal(Bfile.open(prefix).read(), sim.states)
    pheno = pd.read_csv(tmp_path / "pheno.tsv", sep="\t")
    np.testing.assert_allclose(pheno.drop(columns=["FID", "IID"]).to_numpy(), sim.phenotypes, rtol=1e-9)
    truth = pd.read_csv(tmp_path / "truth.tsv", sep="\t")
    np.testing.assert_array_equal(truth.causal, sim.causal)
    np.testing.assert_array_equal(truth.interacting, sim.interacting)
