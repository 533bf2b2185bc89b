"""G-P Atlas inputs: sample joins, trait checks, ploidy, encodings, splits, phenotype scaling."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from phenomap.errors import InputError
from phenomap.gpatlas.data import (PhenotypeScaler, encode, haploid_to_states, load_atlas_data, read_split,
                                   split_samples)


def write_table(path, df: pd.DataFrame) -> str:
    df.to_csv(path, sep="\t", index=False, na_rep="NA")
    return str(path)


@pytest.fixture
def cohort(tmp_path, write_plink, rng):
    G = rng.integers(0, 3, size=(6, 5)).astype(np.float32)
    G[1, 2] = np.nan
    prefix = write_plink(G)
    return prefix, G


def test_load_atlas_data__joins_on_ids_and_keeps_shared_samples(tmp_path, cohort):
    prefix, G = cohort
    # table order differs from the .fam, s2 is absent, x9 is not genotyped, s5 has every trait missing
    pheno = write_table(tmp_path / "p.tsv", pd.DataFrame({
        "FID": ["s4", "x9", "s0", "s1", "s3", "s5"], "IID": ["s4", "x9", "s0", "s1", "s3", "s5"],
        "a": [4.0, 9.0, 0.0, 1.0, 3.0, np.nan], "b": [40.0, 90.0, np.nan, 10.0, 30.0, np.nan]}))
    data = load_atlas_data(prefix, pheno)
    assert list(data.samples.IID) == ["s0", "s1", "s3", "s4"]  # .fam order
    np.testing.assert_array_equal(data.phenotypes, [[0, np.nan], [1, 10], [3, 30], [4, 40]])
    expected = np.where(np.isnan(G), -1, G)[[0, 1, 3, 4]].astype(np.int8)
    np.testing.assert_array_equal(data.states, expected)
    assert data.n_states == 3 and data.traits == ("a", "b")
    assert list(data.loci.columns) == ["CHROM", "ID", "POS", "A1", "A2"]


def test_load_atlas_data__all_missing_trait_raises(tmp_path, cohort):
    prefix, _ = cohort
    ids = [f"s{i}" for i in range(6)]
    pheno = write_table(tmp_path / "p.tsv", pd.DataFrame({"FID": ids, "IID": ids, "a": np.arange(6.0), "b": np.nan}))
    with pytest.raises(InputError, match=r"p.tsv: trait column 'b' has no value"):
        load_atlas_data(prefix, pheno)


def test_load_atlas_data__constant_trait_raises(tmp_path, cohort):
    prefix, _ = cohort
    ids = [f"s{i}" for i in range(6)]
    pheno = write_table(tmp_path / "p.tsv", pd.DataFrame({"FID": ids, "IID": ids, "a": np.arange(6.0), "b": 2.5}))
    with pytest.raises(InputError, match=r"trait column 'b' has zero variance \(every value is 2.5\)"):
        load_atlas_data(prefix, pheno)


def test_load_atlas_data__unknown_trait_raises(tmp_path, cohort):
    prefix, _ = cohort
    ids = [f"s{i}" for i in range(6)]
    pheno = write_table(tmp_path / "p.tsv", pd.DataFrame({"FID": ids, "IID": ids, "a": np.arange(6.0)}))
    with pytest.raises(InputError, match="no column 'height'"):
        load_atlas_data(prefix, pheno, traits=["height"])


def test_load_atlas_data__reads_in_chunks_like_at_once(tmp_path, cohort):
    prefix, G = cohort
    ids = [f"s{i}" for i in range(6)]
    pheno = write_table(tmp_path / "p.tsv", pd.DataFrame({"FID": ids, "IID": ids, "a": np.arange(6.0)}))
    np.testing.assert_array_equal(load_atlas_data(prefix, pheno, chunk=2).states,
                                  load_atlas_data(prefix, pheno, chunk=100).states)


@pytest.mark.parametrize("haploid_calls", [[0, 2], [0, 1]])
def test_haploid_to_states__recodes_haploid_panels_to_two_states(haploid_calls, rng):
    states = rng.choice(haploid_calls, size=(20, 4)).astype(np.int8)
    states[0, 0] = -1
    recoded, n_states = haploid_to_states(states)
    assert n_states == 2
    np.testing.assert_array_equal(recoded, np.where(states > 0, 1, states))


def test_haploid_to_states__diploid_panel_is_unchanged(rng):
    states = rng.integers(0, 3, size=(20, 4)).astype(np.int8)
    recoded, n_states = haploid_to_states(states)
    assert n_states == 3 and recoded is states


def test_encode__onehot_columns_and_missing_as_all_zero():
    states = torch.tensor([[0, 2, -1], [1, 1, 0]], dtype=torch.int8)
    x = encode(states, "onehot", 3).numpy()
    expected = np.zeros((2, 9), np.float32)
    for i, row in enumerate(states.numpy()):
        for j, s in enumerate(row):
            if s >= 0:
                expected[i, 3 * j + s] = 1
    np.testing.assert_array_equal(x, expected)
    dosage = encode(states, "dosage", 3).numpy()
    np.testing.assert_array_equal(dosage, [[0, 2, np.nan], [1, 1, 0]])


def test_split_samples__exact_size_and_reproducible():
    a, b = split_samples(101, 0.2, seed=4), split_samples(101, 0.2, seed=4)
    assert a.sum() == 20 and (a == b).all()
    assert not (a == split_samples(101, 0.2, seed=5)).all()


def test_split_samples__too_few_samples_raises():
    with pytest.raises(InputError, match="leaves 1 test and 4 training"):
        split_samples(5, 0.2, seed=1)


def test_read_split__user_file_and_its_errors(tmp_path):
    samples = pd.DataFrame({"FID": ["a", "b", "c", "d", "e"], "IID": ["a", "b", "c", "d", "e"]})
    good = write_table(tmp_path / "s.tsv", samples.assign(split=["test", "train", "test", "train", "train"])[::-1])
    np.testing.assert_array_equal(read_split(good, samples), [True, False, True, False, False])
    missing = write_table(tmp_path / "m.tsv", samples.iloc[:4].assign(split="train"))
    with pytest.raises(InputError, match="does not list sample FID=e IID=e"):
        read_split(missing, samples)
    bad = write_table(tmp_path / "b.tsv", samples.assign(split=["test", "valid", "test", "train", "train"]))
    with pytest.raises(InputError, match="row 2 \\(IID b\\) has split 'valid'"):
        read_split(bad, samples)


def test_phenotype_scaler__fitted_on_training_rows_only(rng):
    y = rng.normal(5, 2, size=(50, 2))
    y[3, 1] = np.nan
    train = np.arange(50) < 40
    scaler = PhenotypeScaler.fit(y[train], ["a", "b"])
    np.testing.assert_allclose(scaler.mean, np.nanmean(y[train], axis=0))
    np.testing.assert_allclose(scaler.sd, np.nanstd(y[train], axis=0))
    y_shifted = y.copy()
    y_shifted[~train] += 100  # test values never influence the scaling
    refit = PhenotypeScaler.fit(y_shifted[train], ["a", "b"])
    np.testing.assert_array_equal(refit.mean, scaler.mean)
    np.testing.assert_array_equal(refit.sd, scaler.sd)
    np.testing.assert_allclose(scaler.inverse(scaler.transform(y)), y)


def test_phenotype_scaler__trait_constant_in_training_raises():
    y = np.column_stack([np.arange(10.0), np.r_[np.ones(8), 2.0, 3.0]])
    with pytest.raises(InputError, match="training split: trait column 'b' has zero variance"):
        PhenotypeScaler.fit(y[:8], ["a", "b"])
