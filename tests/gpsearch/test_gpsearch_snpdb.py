"""SNP database: planted inheritance recovered, vectorised r² against scikit-learn, I/O."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LinearRegression
from sklearn.metrics import r2_score

from phenomap.errors import InputError
from phenomap.gpsearch.encodings import ENCODINGS, Pager, encode
from phenomap.gpsearch.snpdb import SNPDB_COLUMNS, assign_bins, build_snpdb, snpdb_from_bfile, write_snpdb
from phenomap.io.tables import read_tsv
from phenomap_testing import make_bim


def brute_force_r2(G, y, train, name):
    """Validation r² of one encoding per SNP with scikit-learn, training-mean imputation."""
    X = encode(G, name, Pager.fit(G[train], y[train]))
    out = []
    for x in X.T:
        x = np.where(np.isnan(x), np.nanmean(x[train]), x)
        fit = LinearRegression().fit(x[train, None], y[train])
        out.append(r2_score(y[~train], fit.predict(x[~train, None])))
    return np.array(out)


def test_vectorised_r2_equals_per_snp_linear_regression(rng):
    n, m = 240, 12
    G = rng.binomial(2, rng.uniform(0.05, 0.5, m), size=(n, m)).astype(float)
    G[rng.random((n, m)) < 0.05] = np.nan
    G[:, 3] = 1.0  # monomorphic: constant column, slope 0
    train = rng.random(n) < 0.5
    G[train & (G[:, 4] == 2), 4] = 1.0  # genotype 2 only in validation
    y = 50 + np.nan_to_num(G[:, 0]) + (np.nan_to_num(G[:, 1]) > 0) + rng.normal(size=n)
    table = build_snpdb(G, y, train, make_bim(m), bin_size=4, chunk=5)
    for name in ENCODINGS:
        np.testing.assert_allclose(table[f"r2_{name}"], brute_force_r2(G, y, train, name), rtol=0, atol=1e-10)


@pytest.mark.parametrize("truth", ["additive", "dominant", "recessive"])
def test_planted_inheritance_is_recovered(rng, truth):
    n, m = 4000, 6
    G = rng.binomial(2, 0.4, size=(n, m)).astype(float)
    y = 0.6 * encode(G[:, [2]], truth)[:, 0] + rng.normal(scale=0.5, size=n)
    train = np.arange(n) % 2 == 0
    table = build_snpdb(G, y, train, make_bim(m), bin_size=2)
    assert table.best_encoding[2] == truth
    fixed = [f"r2_{e}" for e in ENCODINGS if e != "pager"]
    assert table.loc[2, fixed].astype(float).idxmax() == f"r2_{truth}"
    assert table.best_r2.idxmax() == 2


def test_missing_genotypes_are_imputed_with_the_training_mean(rng):
    n = 400
    train = np.arange(n) < 200
    g = rng.binomial(2, 0.3, size=n).astype(float)
    y = g + rng.normal(size=n)
    g[~train & (rng.random(n) < 0.3)] = np.nan
    g[~train & ~np.isnan(g)] = 2.0  # validation calls skew the all-sample mean
    G = np.column_stack([g, rng.binomial(2, 0.5, size=n)]).astype(float)
    table = build_snpdb(G, y, train, make_bim(2), bin_size=1)
    x = G[:, 0] / 2
    for mean, should_match in ((np.nanmean(x[train]), True), (np.nanmean(x), False)):
        filled = np.where(np.isnan(x), mean, x)
        fit = LinearRegression().fit(filled[train, None], y[train])
        r2 = r2_score(y[~train], fit.predict(filled[~train, None]))
        assert np.isclose(table.r2_additive[0], r2, rtol=0, atol=1e-10) == should_match


def test_bins_are_consecutive_runs_per_chromosome_in_position_order():
    chrom = pd.Series(["2", "1", "1", "2", "1", "1", "1"])
    pos = np.array([10, 500, 100, 5, 300, 200, 400])
    # chr1 by position: 100 200 300 | 400 500 ; chr2: 5 10
    np.testing.assert_array_equal(assign_bins(chrom, pos, 3), [2, 1, 0, 2, 0, 0, 1])


def test_consideration_flags_follow_r2_sign_top_fraction_and_p(rng):
    n, m = 1000, 20
    G = rng.binomial(2, 0.4, size=(n, m)).astype(float)
    y = G[:, :3] @ np.array([1.0, 0.7, 0.4]) + rng.normal(size=n)
    train = np.arange(n) < 500
    table = build_snpdb(G, y, train, make_bim(m), bin_size=5, top_fraction=0.1)
    assert table.considered.sum() == 2 and set(np.flatnonzero(table.considered)) <= {0, 1, 2}
    plain = build_snpdb(G, y, train, make_bim(m), bin_size=5)
    np.testing.assert_array_equal(plain.considered, plain.best_r2 > 0)
    strict = build_snpdb(G, y, train, make_bim(m), bin_size=5, p_threshold=1e-6)
    np.testing.assert_array_equal(strict.considered, (strict.best_r2 > 0) & (strict.best_p < 1e-6))
    assert strict.considered[:3].all()


def test_plink_fileset_in_chunks_gives_the_in_memory_table(rng, write_plink, tmp_path):
    n, m = 150, 9
    G = rng.binomial(2, 0.3, size=(n, m)).astype(float)
    G[rng.random((n, m)) < 0.02] = np.nan
    y = G[:, 1] + rng.normal(size=n)
    y[np.isnan(y)] = 0.0
    train = rng.random(n) < 0.6
    prefix = write_plink(G)
    from_file = snpdb_from_bfile(prefix, y, train, chunk=4, bin_size=3)
    pd.testing.assert_frame_equal(from_file, build_snpdb(G, y, train, make_bim(m), bin_size=3))
    some = np.flatnonzero(rng.random(n) < 0.7)
    subset = snpdb_from_bfile(prefix, y[some], train[some], samples=some, chunk=4, bin_size=3)
    pd.testing.assert_frame_equal(subset, build_snpdb(G[some], y[some], train[some], make_bim(m), bin_size=3))
    write_snpdb(from_file, tmp_path / "snpdb.tsv")
    back = read_tsv(tmp_path / "snpdb.tsv")
    assert list(back.columns) == SNPDB_COLUMNS
    np.testing.assert_allclose(back.best_r2, from_file.best_r2, rtol=1e-9)


def test_bad_inputs_raise_input_error(rng):
    G = rng.binomial(2, 0.3, size=(20, 3)).astype(float)
    train = np.arange(20) < 10
    y = rng.normal(size=20)
    with pytest.raises(InputError, match="phenotype is constant"):
        build_snpdb(G, np.ones(20), train, make_bim(3), bin_size=2)
    with pytest.raises(InputError, match="at least 1 SNP"):
        build_snpdb(G[:, :0], y, train, make_bim(0), bin_size=2)
    with pytest.raises(InputError, match="missing or infinite"):
        build_snpdb(G, np.r_[np.nan, y[1:]], train, make_bim(3), bin_size=2)
    with pytest.raises(InputError, match="validation split has 0 samples"):
        build_snpdb(G, y, np.ones(20, dtype=bool), make_bim(3), bin_size=2)


def test_best_encoding_prefers_additive_then_fixed_then_pager_by_a_margin():
    from phenomap.gpsearch.snpdb import best_encoding

    col = {e: i for i, e in enumerate(ENCODINGS)}
    r2 = np.zeros((4, len(ENCODINGS)))
    r2[:, col["additive"]] = 0.100
    r2[0, col["dominant"]] = 0.1005  # within the margin: additive
    r2[1, col["dominant"]] = 0.1020  # beyond it: dominant
    r2[2, [col["dominant"], col["pager"]]] = 0.1020, 0.1025  # PAGER not better enough than dominant
    r2[3, [col["dominant"], col["pager"]]] = 0.1020, 0.1040
    chosen = [ENCODINGS[i] for i in best_encoding(r2, margin=1e-3)]
    assert chosen == ["additive", "dominant", "dominant", "pager"]



def test_default_margin_is_three_over_the_validation_samples(rng):
    from phenomap.gpsearch.snpdb import best_encoding

    G = rng.binomial(2, 0.4, size=(400, 60)).astype(float)
    y = 0.3 * G[:, 0] + rng.normal(size=400)
    train = np.arange(400) < 250  # 150 validation samples: margin 0.02
    table = build_snpdb(G, y, train, make_bim(60), bin_size=5)
    r2 = table[[f"r2_{e}" for e in ENCODINGS]].to_numpy()
    np.testing.assert_array_equal(table.best_encoding, np.array(ENCODINGS)[best_encoding(r2, 3 / 150)])
    assert (table.best_encoding != np.array(ENCODINGS)[best_encoding(r2, 1e-3)]).any()

def test_best_p_is_the_training_slope_test_of_the_best_encoding(rng):
    from scipy.stats import linregress

    n, m = 300, 8
    G = rng.binomial(2, 0.35, size=(n, m)).astype(float)
    G[rng.random((n, m)) < 0.03] = np.nan
    y = np.nan_to_num(G[:, :3]) @ np.array([0.5, 0.3, 0.2]) + rng.normal(size=n)
    train = np.arange(n) < 150
    table = build_snpdb(G, y, train, make_bim(m), bin_size=4)
    for j, name in enumerate(table.best_encoding):
        x = encode(G[:, [j]], name, Pager.fit(G[train][:, [j]], y[train]))[train, 0]
        x = np.where(np.isnan(x), np.nanmean(x), x)
        assert np.isclose(table.best_p[j], linregress(x, y[train]).pvalue, rtol=1e-6)
