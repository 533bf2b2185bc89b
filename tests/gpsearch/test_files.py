"""I/O layer of the search rules: the split and its checks against the analysed samples."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from phenomap.errors import InputError
from phenomap.gpsearch.files import read_split, split_samples, trait_samples
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
    rows, samples, y = trait_samples(geno, tmp_path / "pheno.tsv", "y")
    np.testing.assert_array_equal(rows, [0, 2, 3, 4, 5, 6, 7])
    np.testing.assert_array_equal(y, [1, 3, 4, 5, 6, 7, 8])
    split = samples.assign(split=["train", "validation"] * 3 + ["train"])
    write_tsv(split.iloc[::-1], tmp_path / "split.tsv")
    np.testing.assert_array_equal(read_split(tmp_path / "split.tsv", samples), split.split == "train")
    write_tsv(split.iloc[1:], tmp_path / "short.tsv")
    with pytest.raises(InputError, match=r"lists 6 samples, 6 of the 7 analysed now.*rerun the gpsearch_snpdb"):
        read_split(tmp_path / "short.tsv", samples)
    with pytest.raises(InputError, match=r"has no column 'z'"):
        trait_samples(geno, tmp_path / "pheno.tsv", "z")
