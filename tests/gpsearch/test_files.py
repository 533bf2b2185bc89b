"""I/O layer of the search rules: the split and its checks against the analysed samples."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from phenomap.errors import InputError
from phenomap.gpsearch.files import read_split, split_samples, trait_samples, write_split_and_snpdb
from phenomap.io.plink import Bfile
from phenomap.io.tables import write_tsv


def test_split_has_the_asked_validation_share_and_repeats_with_its_seed():
    is_train = split_samples(101, 0.5, seed=3)
    assert (~is_train).sum() == 50
    np.testing.assert_array_equal(is_train, split_samples(101, 0.5, seed=3))
    assert (is_train != split_samples(101, 0.5, seed=4)).any()
    with pytest.raises(InputError, match=r"leaves 1 validation and 3 training samples"):
        split_samples(4, 0.3, seed=0)


def test_trait_samples_are_the_genotyped_ones_with_a_phenotype_and_the_split_must_list_them(tmp_path, write_plink,
                                                                                             rng):
    geno = Bfile.open(write_plink(rng.binomial(2, 0.3, size=(8, 4)).astype(float)))
    fam = geno.fam
    pheno = pd.DataFrame({"FID": fam.FID, "IID": fam.IID, "y": [1.0, np.nan, 3, 4, 5, 6, 7, 8]})
    write_tsv(pheno.iloc[::-1], tmp_path / "pheno.tsv")  # rows in another order than the .fam
    rows, samples, y, Z = trait_samples(geno, tmp_path / "pheno.tsv", "y")
    np.testing.assert_array_equal(rows, [0, 2, 3, 4, 5, 6, 7])
    np.testing.assert_array_equal(y, [1, 3, 4, 5, 6, 7, 8])
    np.testing.assert_array_equal(Z, np.ones((7, 1)))  # no covariates: the intercept
    split = samples.assign(split=["train", "validation"] * 3 + ["train"])
    write_tsv(split.iloc[::-1], tmp_path / "split.tsv")
    np.testing.assert_array_equal(read_split(tmp_path / "split.tsv", samples), split.split == "train")
    write_tsv(split.iloc[1:], tmp_path / "short.tsv")
    with pytest.raises(InputError, match=r"lists 6 samples, 6 of the 7 analysed now.*rerun the gpsearch_snpdb"):
        read_split(tmp_path / "short.tsv", samples)
    with pytest.raises(InputError, match=r"has no column 'z'"):
        trait_samples(geno, tmp_path / "pheno.tsv", "z")


def test_the_snp_database_ranks_snps_on_covariate_residuals_fitted_on_training_samples(tmp_path, write_plink, rng):
    """A marker that tags sex (as X markers do in a mixed-sex cohort) tops the raw trait's SNP database;
    with sex as a covariate the planted QTL does, and its r² equals a brute-force OLS on the residuals."""
    n = 600
    sex = rng.integers(0, 2, n).astype(float)
    G = rng.binomial(2, 0.4, size=(n, 6)).astype(float)
    G[:, 0] = 2 * sex  # tags sex
    y = 2.0 * sex + 0.5 * G[:, 3] + rng.normal(size=n)
    prefix = write_plink(G)
    fam = Bfile.open(prefix).fam
    write_tsv(pd.DataFrame({"FID": fam.FID, "IID": fam.IID, "y": y}), tmp_path / "pheno.tsv")
    covar = pd.DataFrame({"FID": fam.FID, "IID": fam.IID, "sex": sex, "age": rng.normal(size=n)})
    covar.loc[5, "age"] = np.nan  # left out
    write_tsv(covar, tmp_path / "covar.tsv")
    raw = write_split_and_snpdb(prefix, tmp_path / "pheno.tsv", "y", tmp_path / "s0.tsv", tmp_path / "d0.tsv", seed=1)
    assert raw.best_r2.idxmax() == 0
    adjusted = write_split_and_snpdb(prefix, tmp_path / "pheno.tsv", "y", tmp_path / "s1.tsv", tmp_path / "d1.tsv",
                                     seed=1, covar=tmp_path / "covar.tsv", covariates=["sex"])
    assert adjusted.best_r2.idxmax() == 3
    split = pd.read_csv(tmp_path / "s1.tsv", sep="\t")
    assert len(split) == n  # sex is complete; age, not asked for, leaves nobody out
    is_train = (split.split == "train").to_numpy()
    D = np.column_stack([np.ones(n), sex])
    residual = y - D @ np.linalg.lstsq(D[is_train], y[is_train], rcond=None)[0]
    x = G[:, 3] / 2
    X = np.column_stack([np.ones(n), x])
    fit = X[~is_train] @ np.linalg.lstsq(X[is_train], residual[is_train], rcond=None)[0]
    rv = residual[~is_train]
    expected = 1 - ((rv - fit) ** 2).sum() / ((rv - rv.mean()) ** 2).sum()
    assert adjusted.loc[3, "r2_additive"] == pytest.approx(expected, rel=1e-9)
    both = write_split_and_snpdb(prefix, tmp_path / "pheno.tsv", "y", tmp_path / "s2.tsv", tmp_path / "d2.tsv",
                                 seed=1, covar=tmp_path / "covar.tsv")
    assert len(pd.read_csv(tmp_path / "s2.tsv", sep="\t")) == n - 1  # every column: the sample missing age is out
    assert both.best_r2.idxmax() == 3
