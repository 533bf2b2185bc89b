"""Inheritance encodings: documented values, PAGER fitted on training samples only."""

from __future__ import annotations

import numpy as np
import pytest

from phenomap.errors import InputError
from phenomap.gpsearch.encodings import ENCODINGS, Pager, encode

DOCUMENTED = {  # genotype 0, 1, 2 -> value, as in the module docstring table
    "additive": (0, 0.5, 1),
    "superadditive": (0, 0.75, 1),
    "subadditive": (0, 0.25, 1),
    "dominant": (0, 1, 1),
    "recessive": (0, 0, 1),
    "heterosis": (0, 1, 0),
    "overdominant": (0, 1, 0.5),
    "underdominant": (0.5, 0, 1),
}


@pytest.mark.parametrize("name", list(DOCUMENTED))
def test_fixed_encoding_maps_genotypes_to_documented_values(name):
    G = np.array([[0, 1, 2, np.nan], [2, 1, 0, 0]])
    out = encode(G, name)
    v = DOCUMENTED[name]
    np.testing.assert_array_equal(out, [[v[0], v[1], v[2], np.nan], [v[2], v[1], v[0], v[0]]])


def test_all_nine_encodings_are_known_and_distinct_under_linear_fits():
    assert set(ENCODINGS) == set(DOCUMENTED) | {"pager"}
    patterns = np.array(list(DOCUMENTED.values()), dtype=float)
    corr = np.corrcoef(patterns)  # affine-equivalent patterns would have |r| = 1
    assert np.all(np.abs(corr[~np.eye(len(patterns), dtype=bool)]) < 1 - 1e-9)


def test_pager_is_class_mean_relative_to_genotype_0_rescaled():
    G = np.array([0, 0, 1, 1, 2, 2], dtype=float)[:, None]
    y = np.array([1.0, 3.0, 10.0, 12.0, 5.0, 7.0])  # class means 2, 11, 6
    pager = Pager.fit(G, y)
    np.testing.assert_allclose(pager.values, [[0.0, 1.0, 4 / 9]])
    np.testing.assert_allclose(encode(np.array([[2.0], [np.nan]]), "pager", pager), [[4 / 9], [np.nan]])


def test_pager_uses_training_samples_only(rng):
    n = 200
    G = rng.binomial(2, 0.4, size=(n, 5)).astype(float)
    y = G[:, 0] + rng.normal(size=n)
    train = np.arange(n) < 120
    pager = Pager.fit(G[train], y[train])
    y_changed = y.copy()
    y_changed[~train] = rng.normal(size=(~train).sum()) * 100
    again = Pager.fit(G[train], y_changed[train])
    np.testing.assert_array_equal(pager.values, again.values)
    np.testing.assert_array_equal(encode(G, "pager", pager), encode(G, "pager", again))
    # while fitting on all samples does see the validation phenotypes
    assert not np.allclose(Pager.fit(G, y).values, Pager.fit(G, y_changed).values)


def test_pager_class_absent_from_training_gets_the_encoded_training_mean():
    G = np.array([0, 0, 1, 1, 1], dtype=float)[:, None]
    y = np.array([0.0, 0.0, 1.0, 1.0, 1.0])
    pager = Pager.fit(G, y)
    np.testing.assert_allclose(pager.values, [[0.0, 1.0, 0.6]])  # 2 unseen: (2*0 + 3*1) / 5


def test_bad_genotypes_and_unknown_encoding_raise_input_error():
    with pytest.raises(InputError, match="unknown genotype encoding 'codominant'"):
        encode(np.zeros((2, 2)), "codominant")
    with pytest.raises(InputError, match=r"value 0\.5 at index \(1, 0\) is not an allele count"):
        encode(np.array([[0.0], [0.5]]), "additive")
    with pytest.raises(InputError, match="needs a Pager fitted"):
        encode(np.zeros((2, 2)), "pager")
