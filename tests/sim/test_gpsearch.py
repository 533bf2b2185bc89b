"""The pipeline-search simulation: planted QTL have their stated inheritance, parts their variances, LD decays."""

from __future__ import annotations

from functools import cache

import numpy as np
import pytest

from phenomap.errors import InputError
from phenomap.gpsearch.encodings import FIXED_ENCODINGS
from phenomap.sim.gpsearch import QTL_MODELS, GpSimParams, simulate_gpsearch_cohort

#: Small and fast (~0.25 s), QTL strong enough that the phenotype's class means pin the model among
#: all eight fixed encodings (recessive against subadditive is the close call): checked on seeds 0-39.
#: With 2,000 samples and QTL variance 0.1, 4 of 30 seeds called a recessive QTL subadditive.
SMALL = GpSimParams(n_samples=6000, n_snps=400, n_chromosomes=4, chromosome_mb=20.0, qtl_variance=0.12,
                    polygenic_variance=0.05, n_polygenic=20)
SEED = 3


@cache
def cohort(seed: int = SEED):
    return simulate_gpsearch_cohort(SMALL, seed=seed)


def best_fixed_model(g: np.ndarray, y: np.ndarray) -> str:
    """Fixed encoding with the smallest residual sum of squares of y on it (plain least squares on classes)."""
    rss = {}
    for name, values in FIXED_ENCODINGS.items():
        x = np.asarray(values)[g]
        X = np.column_stack([np.ones_like(x), x])
        rss[name] = float(np.sum((y - X @ np.linalg.lstsq(X, y, rcond=None)[0]) ** 2))
    return min(rss, key=rss.get)


def test_qtl_class_means_follow_their_encoding():
    c = cohort()
    assert list(c.qtl.model) == list(QTL_MODELS)
    for row in c.qtl.itertuples():
        g = c.G[:, row.index].astype(int)
        assert np.bincount(g, minlength=3).min() > 0.1 * len(g)  # every class common
        # the QTL's own part: class means exactly beta * encoding + constant
        qtl_only = c.parts[:, 0] - sum(  # remove the other QTL (on other chromosomes)
            other.beta * (np.asarray(FIXED_ENCODINGS[other.model])[c.G[:, other.index]]
                          - np.asarray(FIXED_ENCODINGS[other.model])[c.G[:, other.index]].mean())
            for other in c.qtl.itertuples() if other.index != row.index)
        means = np.array([qtl_only[g == k].mean() for k in range(3)])
        np.testing.assert_allclose(means - means[0], row.beta * (np.asarray(FIXED_ENCODINGS[row.model])
                                                                - FIXED_ENCODINGS[row.model][0]), atol=1e-9)
        # and the phenotype, noise and background included, is best fitted by the planted model
        assert best_fixed_model(g, c.y) == row.model


@pytest.mark.parametrize("seed", range(5))
def test_phenotype_picks_the_planted_model_over_seeds(seed):
    c = cohort(seed)
    assert [best_fixed_model(c.G[:, r.index].astype(int), c.y) for r in c.qtl.itertuples()] == list(QTL_MODELS)


def test_parts_have_their_stated_variances_and_noise_is_orthogonal():
    c = cohort()
    var = c.parts.var(axis=0)
    assert var[1] == pytest.approx(SMALL.polygenic_variance, rel=1e-9)
    assert var[2] == pytest.approx(1 - SMALL.heritability, rel=1e-9)
    assert var[0] == pytest.approx(4 * SMALL.qtl_variance, rel=0.15)  # QTL on different chromosomes: ~independent
    assert abs(np.corrcoef(c.parts[:, 2], c.parts[:, :2].sum(axis=1))[0, 1]) < 1e-9
    np.testing.assert_allclose(c.y, c.parts.sum(axis=1))


def test_genotypes_ld_and_layout():
    c = cohort()
    assert c.G.dtype == np.int8 and set(np.unique(c.G)) <= {0, 1, 2}
    freq = c.G.mean(axis=0) / 2
    assert np.minimum(freq, 1 - freq).min() >= SMALL.min_maf
    assert (c.bim.groupby("CHROM").POS.apply(lambda p: p.is_monotonic_increasing)).all()
    r2 = np.corrcoef(c.G.T.astype(float)) ** 2
    chrom, pos = c.bim.CHROM.to_numpy(), c.bim.POS.to_numpy()
    same = chrom[:, None] == chrom[None, :]
    distance = np.abs(pos[:, None] - pos[None, :])
    near = same & (distance > 0) & (distance < 500_000)
    assert r2[near].mean() > 5 * r2[~same].mean()  # LD within a few hundred kb, none between chromosomes
    assert not np.isin(c.polygenic, c.qtl["index"]).any()
    for row in c.qtl.itertuples():  # background SNPs keep clear of every QTL
        assert (distance[row.index, c.polygenic][same[row.index, c.polygenic]] > SMALL.qtl_clearance).all()


def test_same_seed_same_cohort_and_bad_settings():
    a, b = simulate_gpsearch_cohort(SMALL, seed=1), simulate_gpsearch_cohort(SMALL, seed=1)
    np.testing.assert_array_equal(a.G, b.G)
    np.testing.assert_array_equal(a.y, b.y)
    with pytest.raises(InputError, match="one chromosome each"):
        GpSimParams(n_chromosomes=3).validate()
    with pytest.raises(InputError, match="room for noise"):
        GpSimParams(qtl_variance=0.2, polygenic_variance=0.3).validate()
