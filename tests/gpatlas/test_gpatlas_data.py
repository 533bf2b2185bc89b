"""G-P Atlas inputs: sample joins, trait checks, ploidy, arrays as files, encodings, features, splits, scaling."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from phenomap.errors import InputError
from phenomap.gpatlas.data import (PhenotypeScaler, atlas_data, encode, feature_matrix, feature_means,
                                   haploid_to_states, infer_states, linear_columns, load_atlas_data, read_split,
                                   split_samples)
from phenomap.io.plink import read_bim, read_fam


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


def assert_same_data(a, b):
    np.testing.assert_array_equal(a.states, b.states)
    np.testing.assert_array_equal(a.phenotypes, b.phenotypes)
    pd.testing.assert_frame_equal(a.samples, b.samples)
    pd.testing.assert_frame_equal(a.loci.astype(str), b.loci.astype(str))
    assert a.traits == b.traits and a.n_states == b.n_states


@pytest.mark.parametrize("calls, n_states", [([0, 1, 2], 3), ([0, 2], 2), ([0, 1], 2)])
def test_atlas_data__arrays_give_what_load_atlas_data_reads_from_files(calls, n_states, tmp_path, write_plink, rng):
    G = rng.choice(calls, size=(12, 7)).astype(np.float32)
    G[2, 3] = G[5, 0] = np.nan
    prefix = write_plink(G)
    fam, bim = read_fam(prefix), read_bim(prefix)
    table = pd.DataFrame({"FID": fam.FID[::-1], "IID": fam.IID[::-1], "a": rng.normal(size=12), "b": rng.normal(size=12)})
    table.loc[[0, 3], "b"] = np.nan
    table = table.drop(index=[4])  # one genotyped sample has no phenotype row
    pheno = write_table(tmp_path / "p.tsv", table)
    from_files = load_atlas_data(prefix, pheno)
    from_arrays = atlas_data(G, pd.read_csv(pheno, sep="\t"), samples=fam[["FID", "IID"]], loci=bim)
    assert_same_data(from_arrays, from_files)
    assert from_arrays.n_states == n_states and len(from_arrays.samples) == 11


def test_atlas_data__array_phenotypes_follow_genotype_rows_and_ids_default(rng):
    G = rng.integers(0, 3, size=(6, 4))
    y = rng.normal(size=(6, 2))
    y[1] = np.nan  # no trait: left out
    data = atlas_data(G, y, traits=["h", "w"])
    assert list(data.samples.IID) == ["S1", "S3", "S4", "S5", "S6"] and data.traits == ("h", "w")
    np.testing.assert_array_equal(data.phenotypes, y[[0, 2, 3, 4, 5]])
    assert list(data.loci.ID) == ["L1", "L2", "L3", "L4"] and set(data.loci.A1) == {"0"}
    named = atlas_data(G, pd.DataFrame(y, columns=["h", "w"]), samples=[f"x{i}" for i in range(6)],
                       loci=[f"rs{j}" for j in range(4)])
    np.testing.assert_array_equal(named.phenotypes, data.phenotypes)
    assert list(named.samples.FID) == ["x0", "x2", "x3", "x4", "x5"]


@pytest.mark.parametrize("change, match", [
    ({"phenotypes": np.zeros((5, 1))}, r"expected \(6, traits\) values"),
    ({"samples": ["a", "b", "a", "c", "d", "e"]}, "FID=a IID=a occurs twice"),
    ({"loci": ["r1", "r2", "r3", "r1"]}, "ID 'r1' occurs twice"),
    ({"loci": ["r1", "r2"]}, "loci: 2 rows for 4 genotype columns"),
    ({"traits": ["only_one"]}, "2 columns but 1 trait names"),
    ({"genotypes": np.full((6, 4), 0.5)}, r"sample row 0, locus column 0 holds 0.5"),
    ({"phenotypes": pd.DataFrame({"IID": ["S1", "S2", "S1"], "h": [1.0, 2.0, 3.0]})}, "FID=S1 IID=S1 has two rows"),
    ({"phenotypes": pd.DataFrame({"h": list("abcdef")})}, "trait columns must be numeric"),
    ({"phenotypes": pd.DataFrame({"IID": ["x", "y"], "h": [1.0, 2.0]})}, "shares no sample with the genotypes"),
])
def test_atlas_data__bad_arrays_raise(change, match, rng):
    args = {"genotypes": rng.integers(0, 3, size=(6, 4)), "phenotypes": rng.normal(size=(6, 2)), "samples": None,
            "loci": None, "traits": None, **change}
    with pytest.raises(InputError, match=match):
        atlas_data(args.pop("genotypes"), args.pop("phenotypes"), **args)


def test_infer_states__states_from_the_calls_missing_as_minus_one():
    diploid, k = infer_states(np.array([[0, 1, np.nan], [2, -1, 1]]))
    assert k == 3
    np.testing.assert_array_equal(diploid, [[0, 1, -1], [2, -1, 1]])
    haploid, k = infer_states(np.array([[0, 2, np.nan], [2, 2, 0]]))  # PLINK writes haploid calls 0/2
    assert k == 2
    np.testing.assert_array_equal(haploid, [[0, 1, -1], [1, 1, 0]])
    biallelic, k = infer_states(np.array([[0, 1], [1, 1]], dtype=np.int8))
    assert k == 2 and biallelic.dtype == np.int8
    four, k = infer_states(np.array([[0, 3], [2, 1]]))  # allele-state codes beyond A1 counts
    assert k == 4
    np.testing.assert_array_equal(four, [[0, 3], [2, 1]])


@pytest.mark.parametrize("G, match", [
    (np.array([[0, -9], [1, 2]]), "holds -9"),
    (np.array([[0, 1.5], [1, 2]]), "row 0, locus column 1 holds 1.5"),
    (np.full((2, 2), np.nan), "every call is missing"),
    (np.zeros(4), "expected a 2-D"),
    (np.array([["a", "b"]]), "expected numbers"),
])
def test_infer_states__bad_codes_raise(G, match):
    with pytest.raises(InputError, match=match):
        infer_states(G, chunk=1)


def test_linear_columns__drops_a_column_only_where_it_repeats_the_intercept():
    # locus 0: two states, complete (complements: keep state 0); 1: two states and a missing call (keep both);
    # 2: three states (keep all); 3: one state only (constant: none); 4: states 0 and 2 of three (keep 0)
    states = np.array([[0, 0, 0, 1, 0], [1, 1, 1, 1, 2], [1, -1, 2, 1, 0], [0, 1, 1, 1, 2]], dtype=np.int8)
    np.testing.assert_array_equal(linear_columns(states, 3, "onehot"), [0, 3, 4, 6, 7, 8, 12])
    np.testing.assert_array_equal(linear_columns(states, 3, "dosage"), np.arange(5))


def test_feature_matrix_and_means__equal_the_network_encoding(rng):
    states = rng.integers(-1, 3, size=(30, 8)).astype(np.int8)
    onehot = encode(torch.as_tensor(states), "onehot", 3).numpy()
    columns = np.array([0, 5, 6, 23, 11])
    np.testing.assert_array_equal(feature_matrix(states, 3, "onehot", columns, block=2), onehot[:, columns])
    np.testing.assert_array_equal(feature_means(states, 3, "onehot", chunk=3), onehot.mean(axis=0, dtype=np.float64))
    dosage = encode(torch.as_tensor(states), "dosage", 3).double().numpy()
    mean = feature_means(states, 3, "dosage")
    np.testing.assert_allclose(mean, np.nanmean(dosage, axis=0), rtol=1e-15)
    imputed = np.where(np.isnan(dosage), mean.astype(np.float32), dosage).astype(np.float32)
    np.testing.assert_array_equal(feature_matrix(states, 3, "dosage", np.arange(8), mean.astype(np.float32)), imputed)
