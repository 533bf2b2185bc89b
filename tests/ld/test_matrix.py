"""Per-block LD: correlation matrix, LD scores and the block_ld file round trip."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from phenomap_testing import make_bim, make_fam

from phenomap.errors import InputError
from phenomap.ld.blocks import make_ld_blocks
import tracemalloc

from phenomap.ld.matrix import block_ld, block_ld_memory_mb, correlation, ld_scores, read_block_ld


def mean_imputed(G: np.ndarray) -> np.ndarray:
    G = np.asarray(G, dtype=np.float64)
    return np.where(np.isnan(G), np.nanmean(G, axis=0), G)


def correlated_genotypes(rng: np.random.Generator, n: int, m: int) -> np.ndarray:
    """Genotypes whose variants share a latent factor, so r spans a wide range."""
    latent = rng.normal(size=(n, 1))
    liability = latent * rng.uniform(0, 1.5, m) + rng.normal(size=(n, m))
    return (np.digitize(liability, [-0.5, 0.7])).astype(np.float32)


@pytest.mark.parametrize("chunk", [3, 7, 2000])
def test_correlation__matches_numpy_corrcoef_on_complete_data(rng, chunk):
    G = correlated_genotypes(rng, 300, 25)
    r = correlation(G, chunk=chunk)
    assert r.dtype == np.float32
    np.testing.assert_allclose(r, np.corrcoef(G.T.astype(np.float64)), atol=2e-7)


@pytest.mark.parametrize("chunk", [4, 2000])
def test_correlation__equals_corrcoef_of_mean_imputed_genotypes(rng, chunk):
    G = correlated_genotypes(rng, 250, 18)
    G[rng.random(G.shape) < 0.1] = np.nan
    np.testing.assert_allclose(correlation(G, chunk=chunk), np.corrcoef(mean_imputed(G).T), atol=2e-7)


def test_correlation__is_exactly_symmetric_with_unit_diagonal(rng):
    G = correlated_genotypes(rng, 200, 31)
    G[rng.random(G.shape) < 0.05] = np.nan
    r = correlation(G, chunk=8)
    assert np.array_equal(r, r.T)
    assert (np.diag(r) == 1).all()
    assert np.abs(r).max() <= 1
    assert np.linalg.eigvalsh(r.astype(np.float64)).min() > -1e-5  # PSD up to float32 rounding


@pytest.mark.parametrize("column", ["monomorphic", "all missing"])
def test_correlation__rejects_variant_without_variance(rng, column):
    G = correlated_genotypes(rng, 50, 6)
    G[:, 4] = 1.0 if column == "monomorphic" else np.nan
    G[:3, 4] = np.nan
    ids = [f"rs{i}" for i in range(6)]
    with pytest.raises(InputError, match=r"1 variant\(s\) have no genotype variance .*'rs4' \(column 4\).*--maf"):
        correlation(G, ids, chunk=2)
    with pytest.raises(InputError, match=r"first column 4"):
        correlation(G)


def test_ld_scores__match_brute_force_sums(rng):
    G = correlated_genotypes(rng, 120, 15)
    r = correlation(G)
    n, m = G.shape
    plain = [sum(float(r[j, k]) ** 2 for k in range(m)) for j in range(m)]
    adjusted = [
        1 + sum(float(r[j, k]) ** 2 - (1 - float(r[j, k]) ** 2) / (n - 2) for k in range(m) if k != j)
        for j in range(m)
    ]
    np.testing.assert_allclose(ld_scores(r, n, adjust=False), plain, rtol=1e-12)
    np.testing.assert_allclose(ld_scores(r, n), adjusted, rtol=1e-12)


def test_ld_scores__adjusted_needs_more_than_two_samples():
    with pytest.raises(ValueError, match="n > 2"):
        ld_scores(np.eye(2, dtype=np.float32), 2)


def panel_with_blocks(write_plink, rng, missing=0.0):
    """Two chromosomes of correlated variants; returns (prefix, G, bim)."""
    G = np.hstack([correlated_genotypes(rng, 150, 30), correlated_genotypes(rng, 150, 20)])
    G[rng.random(G.shape) < missing] = np.nan
    bim = pd.concat([make_bim(30, "1"), make_bim(20, "2")], ignore_index=True)
    bim["A1"] = np.where(np.arange(50) % 2, "C", "A")
    return write_plink(G, make_fam(150), bim), G, bim


@pytest.mark.parametrize("source", ["file", "data"])
def test_block_ld__round_trip_gives_corrcoef_of_each_block(write_plink, rng, tmp_path, source):
    prefix, G, bim = panel_with_blocks(write_plink, rng, missing=0.03)
    table = tmp_path / "t.bed"
    table.write_text("chrom\tstart\tstop\n1\t0\t12500\n1\t12500\t40000\n2\t0\t30000\n")
    blocks = make_ld_blocks(prefix, tmp_path / "blocks.tsv", source=source, table=table,
                            target_variants=10, min_variants=5, max_variants=20, window=4, chunk=7)
    assert blocks.n_variants.sum() == 50
    for row in blocks.itertuples():
        out = tmp_path / f"{row.block}.npz"
        scores_path = tmp_path / f"{row.block}.ldscore.tsv"
        block_ld(prefix, tmp_path / "blocks.tsv", row.block, out, scores_path, chunk=4)
        cols = np.flatnonzero(((bim.CHROM == row.chrom) & (bim.POS >= row.start) & (bim.POS < row.stop)).to_numpy())
        assert len(cols) == row.n_variants
        saved = read_block_ld(out)
        np.testing.assert_allclose(saved.r, np.corrcoef(mean_imputed(G[:, cols]).T), atol=2e-7)
        assert saved.ids.tolist() == bim.ID.iloc[cols].tolist()
        assert saved.a1.tolist() == bim.A1.iloc[cols].tolist() and saved.a2.tolist() == ["G"] * len(cols)
        assert saved.n == 150
        scores = pd.read_csv(scores_path, sep="\t", dtype={"CHROM": str})
        assert list(scores.columns) == ["CHROM", "POS", "ID", "A1", "A2", "ldscore"]
        assert scores.ID.tolist() == bim.ID.iloc[cols].tolist() and scores.POS.tolist() == bim.POS.iloc[cols].tolist()
        np.testing.assert_allclose(scores.ldscore, ld_scores(saved.r, 150), rtol=1e-9)


def test_block_ld__rejects_unknown_block(write_plink, rng, tmp_path):
    prefix, _, _ = panel_with_blocks(write_plink, rng)
    make_ld_blocks(prefix, tmp_path / "blocks.tsv", source="data", target_variants=10, min_variants=5, max_variants=20)
    with pytest.raises(InputError, match=r"block '7_0001' is not in .*blocks.tsv .*e\.g\. 1_0001"):
        block_ld(prefix, tmp_path / "blocks.tsv", "7_0001", tmp_path / "x.npz", tmp_path / "x.tsv")
    assert not (tmp_path / "x.npz").exists()


def test_block_ld__rejects_table_from_another_panel(write_plink, rng, tmp_path):
    prefix, _, _ = panel_with_blocks(write_plink, rng)
    make_ld_blocks(prefix, tmp_path / "blocks.tsv", source="data", target_variants=10, min_variants=5, max_variants=20)
    other = write_plink(correlated_genotypes(rng, 40, 12), make_fam(40), make_bim(12, "1"), name="other")
    message = r"block 1_0002 .* holds \d+ variants of .*other\.bim but the table records \d+"
    with pytest.raises(InputError, match=message):
        block_ld(other, tmp_path / "blocks.tsv", "1_0002", tmp_path / "x.npz", tmp_path / "x.tsv")


def test_block_ld__rejects_monomorphic_variant_without_writing(write_plink, rng, tmp_path):
    G = correlated_genotypes(rng, 60, 10)
    G[:, 3] = 2.0
    prefix = write_plink(G)
    table = tmp_path / "t.bed"
    table.write_text("1\t0\t100000\n")
    make_ld_blocks(prefix, tmp_path / "blocks.tsv", source="file", table=table, target_variants=10, min_variants=5)
    with pytest.raises(InputError, match=r"'1:4000' \(column 3\)"):
        block_ld(prefix, tmp_path / "blocks.tsv", "1_0001", tmp_path / "x.npz", tmp_path / "x.tsv")
    assert not (tmp_path / "x.npz").exists() and not (tmp_path / "x.tsv").exists()


def test_read_block_ld__rejects_missing_keys_and_inconsistent_shapes(tmp_path):
    path = tmp_path / "b.npz"
    with pytest.raises(InputError, match="does not exist: rerun the ld_block step"):
        read_block_ld(path)
    np.savez(path, r=np.eye(2, dtype=np.float32), ids=np.array(["x", "y"]))
    with pytest.raises(InputError, match=r"lacks \['a1', 'a2', 'n'\]"):
        read_block_ld(path)
    np.savez(path, r=np.eye(3, dtype=np.float32), ids=np.array(["x", "y"]), a1=np.array(["A", "A"]),
             a2=np.array(["G", "G"]), n=np.int64(5))
    with pytest.raises(InputError, match=r"r has shape \(3, 3\) for 2 variants"):
        read_block_ld(path)


def test_block_ld_memory_mb__covers_the_measured_peak(write_plink, rng, tmp_path):
    """The requested memory exceeds the traced peak of block_ld, and grows with the block."""
    G = correlated_genotypes(rng, 400, 300)
    prefix = write_plink(G, make_fam(400), make_bim(300, "1"))
    table = tmp_path / "t.bed"
    table.write_text("1\t0\t400000\n")
    make_ld_blocks(prefix, tmp_path / "blocks.tsv", source="file", table=table, target_variants=300, min_variants=5,
                   max_variants=300)
    tracemalloc.start()
    block_ld(prefix, tmp_path / "blocks.tsv", "1_0001", tmp_path / "x.npz", tmp_path / "x.tsv", chunk=100)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert block_ld_memory_mb(400, 300, 100) - 500 > 1.2 * peak / 1e6
    assert block_ld_memory_mb(5000, 4000, 2000) > block_ld_memory_mb(5000, 1000, 2000) > 500
