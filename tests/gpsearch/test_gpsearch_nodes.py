"""Pipeline nodes: LD pruning against brute force, encoders, grids, JSON round trip."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from phenomap.errors import InputError
from phenomap.gpsearch.encodings import Pager, encode
from phenomap.gpsearch.nodes import (
    AlleleFrequencyFilter,
    ForwardTreeSelector,
    GenotypeEncoder,
    LDPruneNode,
    LDPruner,
    Pipeline,
    RegressorNode,
    SelectorNode,
    SnpNode,
    conditional_pvalues,
    ld_groups,
)
from phenomap.gpsearch.snpdb import build_snpdb
from phenomap_testing import make_bim


def wald_pvalue(y, anchor, x):
    """Two-sided p of x's slope in OLS y ~ 1 + anchor + x, from the textbook formulas."""
    X = np.column_stack([np.ones(len(y)), anchor, x])
    beta, *_ = np.linalg.lstsq(X, y, rcond=None)
    resid = y - X @ beta
    sigma2 = resid @ resid / (len(y) - 3)
    se = np.sqrt(sigma2 * np.linalg.inv(X.T @ X)[2, 2])
    return 2 * stats.t.sf(abs(beta[2] / se), len(y) - 3)


def snp(i, pos, r2, encoding="additive", chrom="1"):
    return SnpNode(f"s{i}", i, chrom, pos, encoding, r2)


def test_conditional_pvalues_equal_the_wald_test(rng):
    n = 300
    anchor, X = rng.normal(size=n), rng.normal(size=(n, 3))
    X[:, 1] += anchor
    y = anchor + 0.3 * X[:, 0] + rng.normal(size=n)
    expected = [wald_pvalue(y, anchor, x) for x in X.T]
    np.testing.assert_allclose(conditional_pvalues(y, anchor, X), expected, rtol=1e-8)


def test_ld_groups_split_on_gaps_and_chromosomes():
    chrom = np.array(["1", "1", "1", "2", "1"])
    pos = np.array([100, 700_000, 1_300_000, 200, 1_900_001])
    # chr1: 100 -> 700k (gap 699,900 <= 700k) -> 1.3M (600k) -> 1.9M+1 (600,001 <= 700k): one group
    np.testing.assert_array_equal(ld_groups(chrom, pos, 700_000), [0, 0, 0, 1, 0])
    np.testing.assert_array_equal(ld_groups(chrom, pos, 600_000), [0, 1, 1, 3, 2])


def test_ld_pruner_keeps_anchor_and_independent_snp_drops_duplicate_and_null(rng):
    n = 1000
    G = rng.binomial(2, 0.4, size=(n, 5)).astype(float)
    G[:, 1] = G[:, 0]  # perfect duplicate of the anchor
    y = 1.0 * G[:, 0] + 0.5 * G[:, 2] + rng.normal(size=n)  # s2 independent with its own effect; s3 null
    snps = (snp(0, 1_000, 0.30), snp(1, 2_000, 0.29), snp(2, 3_000, 0.10), snp(3, 4_000, 0.01),
            snp(4, 5_000_000, -0.01))  # s4 alone in its group
    X = pd.DataFrame(G, columns=[s.id for s in snps])
    pruner = LDPruner(snps=snps, r2_threshold=0.8, max_distance=500_000).fit(X, y)
    assert list(pruner.get_feature_names_out()) == ["s0", "s2", "s4"]
    assert pruner.dropped_ == ["s1", "s3"]
    # brute force: BH over the Wald tests of s2 and s3 given the anchor
    p = [wald_pvalue(y, G[:, 0] / 2, G[:, j] / 2) for j in (2, 3)]
    q = stats.false_discovery_control(p)
    assert q[0] < 0.05 <= q[1]


def test_ld_pruner_anchor_is_the_best_marginal_r2_not_the_first_column(rng):
    n = 500
    g = rng.binomial(2, 0.4, size=n).astype(float)
    G = np.column_stack([g, g])
    y = g + rng.normal(size=n)
    snps = (snp(0, 1_000, 0.10), snp(1, 2_000, 0.20))
    out = LDPruner(snps=snps, r2_threshold=0.5, max_distance=500_000).fit(pd.DataFrame(G, columns=["s0", "s1"]), y)
    assert list(out.get_feature_names_out()) == ["s1"]


def test_genotype_encoder_fits_pager_and_imputes_on_training_samples(rng):
    n = 200
    G = rng.binomial(2, 0.4, size=(n, 2)).astype(float)
    y = (G[:, 0] == 1) + rng.normal(size=n)
    snps = (snp(0, 1, 0.1, "pager"), snp(1, 2, 0.1, "recessive"))
    X = pd.DataFrame(G, columns=["s0", "s1"])
    encoder = GenotypeEncoder(snps=snps).fit(X, y)
    test = pd.DataFrame([[np.nan, np.nan], [1.0, 2.0]], columns=["s0", "s1"])
    expected = np.column_stack([encode(G[:, [0]], "pager", Pager.fit(G[:, [0]], y)), encode(G[:, [1]], "recessive")])
    np.testing.assert_allclose(encoder.transform(test), [expected.mean(axis=0), [expected[G[:, 0] == 1, 0][0], 1.0]])


def test_allele_frequency_filter_matches_counted_frequencies(rng):
    G = np.column_stack([rng.binomial(2, p, 1000) for p in (0.5, 0.02, 0.3, 0.0)]).astype(float)
    G[0, 0] = np.nan
    filt = AlleleFrequencyFilter(min_maf=0.05, max_genotype_freq=0.95).fit(pd.DataFrame(G, columns=list("abcd")))
    freq = np.nanmean(G, axis=0) / 2
    np.testing.assert_allclose(filt.maf_, np.minimum(freq, 1 - freq))
    assert list(filt.get_feature_names_out()) == ["a", "c"]


def test_random_and_mutated_nodes_stay_on_their_grids(rng):
    for cls in (LDPruneNode, SelectorNode, RegressorNode):
        for _ in range(100):
            node = cls.random(rng)
            child = node.mutate(rng)  # the constructor re-checks the grid
            changed = [k for k in node.params if node.params[k] != child.params[k]]
            assert child.kind == node.kind and len(changed) == (1 if node.params else 0)
            for k in changed:
                grid = cls.SPACE[node.kind][k]
                if all(isinstance(v, int | float) for v in grid):
                    assert abs(grid.index(child.params[k]) - grid.index(node.params[k])) == 1
    ld = LDPruneNode.random(rng)
    assert 0.5 <= ld.params["r2_threshold"] <= 0.95 and 500_000 <= ld.params["max_distance"] <= 1_000_000


@pytest.fixture
def search_data(rng):
    n, m = 300, 25
    G = rng.binomial(2, rng.uniform(0.1, 0.5, m), size=(n, m)).astype(float)
    G[rng.random((n, m)) < 0.02] = np.nan
    y = np.nan_to_num(G[:, :6]) @ rng.normal(0, 1, 6) + rng.normal(size=n)
    train = np.arange(n) < 180
    snpdb = build_snpdb(G, y, train, make_bim(m, spacing=200_000), bin_size=5, p_threshold=0.5)
    return G, y, train, snpdb


@pytest.mark.parametrize("selector", ["extra_trees", "allele_frequency", "sequential"])
@pytest.mark.parametrize("regressor", ["random_forest", "gradient_boosting", "sgd"])
def test_json_round_trip_gives_identical_predictions(rng, search_data, selector, regressor):
    G, y, train, snpdb = search_data
    base = Pipeline.random(rng, snpdb, min_snps=3, max_snps=8, seed=7)
    pipe = Pipeline(base.snps, base.ld, SelectorNode.random(rng, selector), RegressorNode.random(rng, regressor), 7)
    again = Pipeline.from_json(pipe.to_json())
    assert again == pipe
    pred = pipe.fit(G[train], y[train]).predict(G[~train])
    np.testing.assert_array_equal(again.fit(G[train], y[train]).predict(G[~train]), pred)


def test_random_pipeline_uses_considered_snps_with_their_best_encoding(rng, search_data):
    _, _, _, snpdb = search_data
    pipe = Pipeline.random(rng, snpdb, min_snps=2, max_snps=4)
    assert 2 <= len(pipe.snps) <= 4
    for s in pipe.snps:
        row = snpdb.iloc[s.index]
        assert row.considered and s.id == row.ID and s.encoding == row.best_encoding


def test_bad_inputs_raise_input_error(rng, search_data):
    _, _, _, snpdb = search_data
    with pytest.raises(InputError, match="fewer than min_snps=1000"):
        Pipeline.random(rng, snpdb, min_snps=1000, max_snps=1000)
    with pytest.raises(InputError, match="unknown genotype encoding 'codominant'"):
        SnpNode("s0", 0, "1", 100, "codominant", 0.1)
    data = json.loads(Pipeline.random(rng, snpdb, min_snps=2, max_snps=3).to_json())
    kind, data["selector"]["kind"] = data["selector"]["kind"], "boruta"
    with pytest.raises(InputError, match="unknown SelectorNode kind 'boruta'"):
        Pipeline.from_json(json.dumps(data))
    data["selector"]["kind"] = kind
    del data["regressor"]
    with pytest.raises(InputError, match="pipeline JSON is malformed"):
        Pipeline.from_json(json.dumps(data))
    with pytest.raises(InputError, match=r"r2_threshold=0\.99 is outside its range"):
        LDPruneNode(params={"r2_threshold": 0.99, "max_distance": 500_000})
    with pytest.raises(InputError, match="at least 1 SNP"):
        Pipeline((), LDPruneNode.random(rng), SelectorNode.random(rng), RegressorNode.random(rng))


def test_forward_tree_selector_finds_the_planted_interaction_and_stops(rng):
    X = rng.integers(0, 3, size=(600, 12)) / 2
    y = 2.0 * ((X[:, 3] > 0.25) & (X[:, 8] > 0.75)) + rng.normal(0, 0.3, 600)
    chosen = ForwardTreeSelector(max_depth=3, tol=0.01).fit(pd.DataFrame(X), y).get_support(indices=True)
    assert sorted(chosen) == [3, 8]
    noise_only = ForwardTreeSelector(max_depth=2, tol=0.01).fit(X, rng.normal(size=600))
    assert noise_only.get_support().sum() == 1  # the first feature is always kept
