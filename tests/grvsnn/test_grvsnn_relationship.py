"""Relationship matrices: Henderson's A against hand and brute-force values, VanRaden's GRM, files, loadings."""

from __future__ import annotations

import gzip
from functools import lru_cache

import numpy as np
import pandas as pd
import pytest

from phenomap.errors import InputError
from phenomap.grvsnn.relationship import (
    elbow,
    genomic_relationship,
    loadings,
    numerator_relationship,
    read_relationship,
    relationship_for,
)
from phenomap.io.plink import Bfile

# 1-4 founders (3 and 4 only appear as parents); 5, 6 full sibs of 1 x 2; 7 = 3 x 4; 8 = 1 x 4 (half sib of
# 5, 6 through 1 and of 7 through 4); 9 = 5 x 6 (full-sib mating, F = 1/4); 10 = 7 x 8 (half-sib mating,
# F = 1/8); 11 = 9 x unknown.
HAND_PEDIGREE = [("9", "5", "6"), ("2", "0", "0"), ("11", "9", "0"), ("10", "7", "8"), ("6", "1", "2"),
                 ("8", "1", "4"), ("5", "1", "2"), ("1", "0", "0"), ("7", "3", "4")]
# A of individuals 1..11, worked out by hand with the tabular method (lower triangle, row by row)
HAND_A_LOWER = [
    [1],
    [0, 1],
    [0, 0, 1],
    [0, 0, 0, 1],
    [.5, .5, 0, 0, 1],
    [.5, .5, 0, 0, .5, 1],
    [0, 0, .5, .5, 0, 0, 1],
    [.5, 0, 0, .5, .25, .25, .25, 1],
    [.5, .5, 0, 0, .75, .75, 0, .25, 1.25],
    [.25, 0, .25, .5, .125, .125, .625, .625, .125, 1.125],
    [.25, .25, 0, 0, .375, .375, 0, .125, .625, .0625, 1],
]


def pedigree_frame(rows) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["IID", "SIRE", "DAM"])


def reindexed(ids, A, order):
    index = pd.Index(ids).get_indexer(order)
    return A[np.ix_(index, index)]


def test_numerator_relationship__equals_hand_computed_three_generation_pedigree():
    ids, A = numerator_relationship(pedigree_frame(HAND_PEDIGREE))
    expected = np.zeros((11, 11))
    for i, row in enumerate(HAND_A_LOWER):
        expected[i, :i + 1] = row
    expected = np.tril(expected) + np.tril(expected, -1).T
    assert sorted(ids, key=int) == [str(i) for i in range(1, 12)]
    np.testing.assert_allclose(reindexed(ids, A, [str(i) for i in range(1, 12)]), expected, rtol=0, atol=1e-15)
    position = {name: i for i, name in enumerate(ids)}  # parents come before their offspring
    assert all(position[s] < position[i] for i, s, d in HAND_PEDIGREE if s != "0")
    assert all(position[d] < position[i] for i, s, d in HAND_PEDIGREE if d != "0")


def simulate_pedigree(rng, founders=30, generations=4, per_generation=60, unknown=0.1):
    """Random matings among all earlier individuals (overlapping generations, so inbreeding), some unknown
    parents and selfings; returns (birth-ordered IDs, (sire, dam) birth indices with -1 unknown)."""
    ids = [f"x{v}" for v in rng.permutation(10_000)[: founders + generations * per_generation]]
    parents = [(-1, -1)] * founders
    for _ in range(generations):
        born = len(parents)
        for _ in range(per_generation):
            s, d = rng.integers(0, born, 2)
            parents.append((-1 if rng.random() < unknown else int(s), -1 if rng.random() < unknown else int(d)))
    return ids, parents


def brute_force_A(parents):
    """A from the recursive definition: for j not a descendant of i (born no later), A(i, j) =
    (A(s_i, j) + A(d_i, j)) / 2 and A(i, i) = 1 + A(s_i, d_i) / 2; unknown parents contribute 0."""

    @lru_cache(maxsize=None)
    def a(i, j):
        if i < j:
            i, j = j, i  # i is born later, so it is not an ancestor of j
        s, d = parents[i]
        if i == j:
            return 1.0 + (0.5 * a(s, d) if s >= 0 and d >= 0 else 0.0)
        return 0.5 * ((a(s, j) if s >= 0 else 0.0) + (a(d, j) if d >= 0 else 0.0))

    n = len(parents)
    return np.array([[a(i, j) for j in range(n)] for i in range(n)])


def test_numerator_relationship__equals_brute_force_recursion_on_shuffled_multigeneration_pedigree(rng):
    ids, parents = simulate_pedigree(rng)

    def name(k):
        return "0" if k < 0 else ids[k]

    rows = [(ids[i], name(s), name(d)) for i, (s, d) in enumerate(parents)]
    used_as_parent = {k for pair in parents for k in pair if k >= 0}
    dropped = [i for i in range(30) if i in used_as_parent][:5]  # founders that only appear as parents
    rows = [rows[i] for i in rng.permutation(len(rows)) if i not in dropped]
    out_ids, A = numerator_relationship(pedigree_frame(rows))
    assert sorted(out_ids) == sorted(ids[i] for i in range(len(parents)) if i not in dropped or i in used_as_parent)
    expected = brute_force_A(parents)
    assert np.diag(expected).max() > 1.2  # the pedigree has markedly inbred individuals
    np.testing.assert_allclose(reindexed(out_ids, A, ids), expected, rtol=1e-12, atol=1e-14)


def test_numerator_relationship__names_the_individuals_of_a_cycle():
    rows = [("f1", "0", "0"), ("f2", "0", "0"), ("a", "f1", "c"), ("b", "a", "f2"), ("c", "b", "f1"),
            ("d", "c", "f2")]
    with pytest.raises(InputError, match=r"individuals (a, b, c|b, c, a|c, a, b) are their own ancestors") as err:
        numerator_relationship(pedigree_frame(rows))
    assert "4 individuals are in or below such cycles" in str(err.value)  # a, b, c and c's offspring d


def brute_vanraden(G):
    p = np.nanmean(G, axis=0) / 2
    W = np.where(np.isnan(G), 0.0, G - 2 * p)
    return W @ W.T / (2 * np.sum(p * (1 - p)))


def test_genomic_relationship__equals_brute_force_vanraden_from_array_and_fileset(rng, write_plink):
    G = rng.binomial(2, rng.uniform(0.1, 0.5, 60), (25, 60)).astype(np.float32)
    G[rng.random(G.shape) < 0.05] = np.nan
    np.testing.assert_allclose(genomic_relationship(G), brute_vanraden(G.astype(float)), rtol=1e-10, atol=1e-12)
    bfile = Bfile.open(write_plink(G))
    keep = np.array([3, 0, 7, 12])
    np.testing.assert_allclose(genomic_relationship(bfile, samples=keep), brute_vanraden(G[keep].astype(float)),
                               rtol=1e-10, atol=1e-12)


def test_genomic_relationship__rejects_codes_other_than_0_1_2():
    G = np.array([[0, 1, 2], [1, 3, 0], [2, 1, np.nan]])
    with pytest.raises(InputError, match=r"sample row 1, variant column 1 holds 3\.0"):
        genomic_relationship(G)


def random_psd(rng, n, spectrum):
    Q, _ = np.linalg.qr(rng.normal(size=(n, n)))
    return Q, (Q * spectrum) @ Q.T


def test_loadings__reproduce_the_top_k_part_of_K_exactly(rng):
    spectrum = np.sort(rng.uniform(0.1, 5.0, 12))[::-1]
    spectrum[-1] = 0.0
    Q, K = random_psd(rng, 12, spectrum)
    L, eigenvalues, k = loadings(K, n_components=4)
    assert k == 4
    np.testing.assert_allclose(eigenvalues, spectrum, atol=1e-12)
    np.testing.assert_allclose(L @ L.T, (Q[:, :4] * spectrum[:4]) @ Q[:, :4].T, atol=1e-12)
    L_all, _, _ = loadings(K - 1e-13 * np.eye(12), n_components=12)  # a rounding-negative eigenvalue is clipped
    assert not np.isnan(L_all).any()
    np.testing.assert_allclose(L_all @ L_all.T, K, atol=1e-11)


def test_elbow__finds_a_planted_break_in_the_spectrum(rng):
    spectrum = np.concatenate([np.linspace(20, 6, 37), np.linspace(1.0, 0.8, 400)])  # drop after 37 components
    assert elbow(spectrum) == 37
    _, K = random_psd(rng, 60, np.concatenate([np.linspace(9, 5, 8), np.linspace(0.5, 0.4, 52)]))
    assert loadings(K)[2] == 8
    assert elbow(np.full(10, 2.0)) == 10  # flat: nothing to cut
    assert elbow(np.linspace(5.0, 1.0, 10)) == 10  # straight line: no point below the chord


def write_text(path, ids, K, *, corner=None, quote=False, column_order=None):
    cols = ids if column_order is None else column_order
    index = pd.Index(ids).get_indexer(cols)
    q = (lambda s: f'"{s}"') if quote else str
    lines = ["\t".join(([q(corner)] if corner is not None else []) + [q(c) for c in cols])]
    lines += ["\t".join([q(r)] + [repr(float(v)) for v in K[i, index]]) for i, r in enumerate(ids)]
    opener = gzip.open if str(path).endswith(".gz") else open
    with opener(path, "wt") as fh:
        fh.write("\n".join(lines) + "\n")
    return path


@pytest.mark.parametrize("style", ["r_default", "corner_iid", "r_col_names_na", "gzip_permuted"])
def test_read_relationship__reads_square_tables_with_row_and_column_ids(rng, tmp_path, style):
    ids = ["m1", "m2", "007", "m4", "m5"]
    _, K = random_psd(rng, 5, np.array([3.0, 2.0, 1.0, 0.5, 0.0]))
    path, kwargs = tmp_path / "K.tsv", {}
    if style == "corner_iid":
        kwargs = dict(corner="IID")
    elif style == "r_col_names_na":
        kwargs = dict(corner="", quote=True)
    elif style == "gzip_permuted":
        path, kwargs = tmp_path / "K.tsv.gz", dict(column_order=["m5", "007", "m1", "m4", "m2"])
    out_ids, out = read_relationship(write_text(path, ids, K, **kwargs))
    assert out_ids.tolist() == ids
    np.testing.assert_allclose(out, K, rtol=0, atol=1e-15)


def test_read_relationship__reads_npz_with_ids(rng, tmp_path):
    _, K = random_psd(rng, 4, np.array([2.0, 1.0, 1.0, 0.5]))
    np.savez(tmp_path / "A.npz", A=K.astype(np.float32), ids=np.array(["a", "b", "c", "d"]))
    ids, A = read_relationship(tmp_path / "A.npz")
    assert ids.tolist() == ["a", "b", "c", "d"]
    np.testing.assert_allclose(A, K, rtol=1e-6)
    np.savez(tmp_path / "bad.npz", M=K, ids=np.array(["a", "b", "c", "d"]))
    with pytest.raises(InputError, match="exactly one matrix named `K` or `A`"):
        read_relationship(tmp_path / "bad.npz")


def test_read_relationship__rejects_bad_matrices(rng, tmp_path):
    ids = ["a", "b", "c", "d"]
    _, K = random_psd(rng, 4, np.array([3.0, 2.0, 1.0, 0.5]))
    asym = K.copy()
    asym[1, 3] += 1e-3
    asym[0, 2] += 1e-4
    with pytest.raises(InputError, match=r"not symmetric: entry \(b, d\)"):
        read_relationship(write_text(tmp_path / "asym.tsv", ids, asym))
    with pytest.raises(InputError, match=r"not positive semi-definite: its smallest eigenvalue is -0\.5"):
        read_relationship(write_text(tmp_path / "npsd.tsv", ids, random_psd(rng, 4, np.array([3, 2, 1, -.5]))[1]))
    with pytest.raises(InputError, match=r"row and column IDs differ \(1 only in rows, e.g. \['d'\]"):
        read_relationship(write_text(tmp_path / "ids.tsv", ids, K, column_order=["a", "b", "c", "e"]))
    (tmp_path / "text.tsv").write_text("a b\na 1 NA\nb 0.5 1\n")
    with pytest.raises(InputError, match=r"row a \(line 2\), column b holds 'NA', not a number"):
        read_relationship(tmp_path / "text.tsv")
    (tmp_path / "rect.tsv").write_text("a b c\na 1 0 0\nb 0 1 0\n")
    with pytest.raises(InputError, match="has 2 rows but 3 columns"):
        read_relationship(tmp_path / "rect.tsv")
    (tmp_path / "inf.tsv").write_text("a b\na 1 inf\nb inf 1\n")
    with pytest.raises(InputError, match=r"entry \(a, b\) is inf"):
        read_relationship(tmp_path / "inf.tsv")


def test_relationship_for__joins_on_iid_in_sample_order_and_applies_the_missing_policy(rng):
    ids = ["p1", "p2", "g1", "g2", "g3"]
    _, K = random_psd(rng, 5, np.array([3.0, 2.0, 1.0, 0.5, 0.2]))
    out = relationship_for(["g3", "g1", "g2"], ids, K, source="pedigree")
    np.testing.assert_array_equal(out, K[np.ix_([4, 2, 3], [4, 2, 3])])
    with pytest.raises(InputError, match=r"lacks 1 genotyped samples, e.g. \['new'\]"):
        relationship_for(["g3", "new", "g1"], ids, K, source="matrix")
    out = relationship_for(["g3", "new", "g1"], ids, K, source="pedigree", missing="unrelated")
    expected = np.eye(3)
    expected[np.ix_([0, 2], [0, 2])] = K[np.ix_([4, 2], [4, 2])]
    np.testing.assert_array_equal(out, expected)
    with pytest.raises(InputError, match="shares no IID with the genotyped samples"):
        relationship_for(["x", "y"], ids, K, source="pedigree", missing="unrelated")
    with pytest.raises(InputError, match=r"repeat \['g1'\]"):
        relationship_for(["g1", "g2", "g1"], ids, K, source="pedigree")
