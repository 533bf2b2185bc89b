"""GRM: VanRaden's first method against a brute-force numpy computation, whole-genome and LOCO."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from phenomap_testing import make_bim, make_fam
from phenomap.errors import InputError
from phenomap.gwas.grm import genome_grm, vanraden_grm
from phenomap.io.plink import Bfile


def brute_grm(G):
    """(K, denominator): W W' / (2 sum p(1-p)) written out; p over observed calls, missing -> 0 after centring."""
    G = np.asarray(G, dtype=np.float64)
    n, m = G.shape
    p = np.array([G[~np.isnan(G[:, j]), j].mean() / 2 if (~np.isnan(G[:, j])).any() else 0.0 for j in range(m)])
    W = np.zeros((n, m))
    for j in range(m):
        for i in range(n):
            W[i, j] = 0.0 if np.isnan(G[i, j]) else G[i, j] - 2 * p[j]
    denominator = 2 * np.sum(p * (1 - p))
    return W @ W.T / denominator, denominator


def genotypes(rng, n=40, m=90):
    G = rng.binomial(2, rng.uniform(0.05, 0.5, m), (n, m)).astype(np.float32)
    G[rng.random((n, m)) < 0.08] = np.nan
    G[:, 5] = 0.0  # monomorphic A2
    G[:, 6] = 2.0  # monomorphic A1
    G[::3, 7], G[1::3, 7], G[2::3, 7] = np.nan, 2.0, 2.0  # monomorphic where observed
    G[:, 8] = np.nan  # never observed
    return G


def test_vanraden_grm__equals_brute_force_with_missing_and_monomorphic(rng):
    G = genotypes(rng)
    K, denominator = vanraden_grm(G)
    K_ref, denominator_ref = brute_grm(G)
    np.testing.assert_allclose(K, K_ref, rtol=1e-12, atol=1e-13)
    assert denominator == pytest.approx(denominator_ref, rel=1e-12)
    np.testing.assert_array_equal(K, K.T)
    # monomorphic / unobserved columns add nothing
    np.testing.assert_allclose(vanraden_grm(np.delete(G, [5, 6, 7, 8], axis=1))[0], K, rtol=1e-12, atol=1e-13)


def test_vanraden_grm__rejects_genotypes_without_polymorphic_variant():
    with pytest.raises(InputError, match="none of the 3 variants is polymorphic"):
        vanraden_grm(np.full((10, 3), 2.0))


@pytest.fixture
def three_chromosomes(rng, write_plink):
    G = genotypes(rng, n=50, m=120)
    bim = pd.concat([make_bim(50, "1"), make_bim(40, "2"), make_bim(30, "X")], ignore_index=True)
    return G, bim, Bfile.open(write_plink(G, fam=make_fam(50), bim=bim))


def test_genome_grm__streamed_whole_and_loco_equal_brute_force(three_chromosomes):
    G, bim, bfile = three_chromosomes
    samples = np.array([0, 2, 3, 5, *range(8, 50)])  # a sample subset: frequencies over it
    grm = genome_grm(bfile, samples, chunk=7)
    Gs = G[samples]
    np.testing.assert_allclose(grm.matrix(), brute_grm(Gs)[0], rtol=1e-10, atol=1e-12)
    for chrom in ("1", "2", "X"):
        off = (bim.CHROM != chrom).to_numpy()
        K = grm.leave_out(chrom)
        K_ref, denominator_ref = brute_grm(Gs[:, off])
        np.testing.assert_allclose(K, K_ref, rtol=1e-10, atol=1e-12)
        np.testing.assert_array_equal(K, K.T)
        assert grm.denominator_without(chrom) == pytest.approx(denominator_ref, rel=1e-12)


def test_genome_grm__loco_without_markers_elsewhere_raises(rng, write_plink):
    G = rng.binomial(2, 0.3, (30, 20)).astype(np.float32)
    G[:, 10:] = 2.0  # chromosome 2 is monomorphic
    bim = pd.concat([make_bim(10, "1"), make_bim(10, "2")], ignore_index=True)
    grm = genome_grm(Bfile.open(write_plink(G, bim=bim)))
    with pytest.raises(InputError, match="every polymorphic variant is on chromosome 1.*gwas.loco: false"):
        grm.leave_out("1")
