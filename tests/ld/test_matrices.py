"""LD matrices as an LD reference: validation of the format, import into the workflow's LD files."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from phenomap.errors import InputError
from phenomap.io.tables import read_tsv, write_tsv
from phenomap.ld.blocks import make_ld_blocks
from phenomap.ld.matrices import check_ld_matrices, convert_mlmages_ld, export_ld_matrices, import_block_ld
from phenomap.ld.matrix import correlation, ld_scores, read_block_ld


def write_blocks(folder, blocks: dict[str, dict], starts=None) -> None:
    """An LD-matrix directory: blocks ``name -> arrays`` on chromosome 1, block i covering [1000 i, 1000 (i + 1))."""
    folder.mkdir(exist_ok=True)
    rows = [f"1\t{1000 * i}\t{1000 * (i + 1)}\t{name}" for i, name in enumerate(blocks)]
    (folder / "blocks.tsv").write_text("chrom\tstart\tstop\tblock\n" + "\n".join(rows) + "\n")
    for name, arrays in blocks.items():
        np.savez(folder / f"{name}.npz", **arrays)


def block(rng, m, offset=0, first=0) -> dict:
    """A valid block of m variants: sample correlations of random genotypes, positions offset + 10, 20, ..."""
    G = rng.binomial(2, 0.3, size=(200, m)).astype(float)
    return {"r": correlation(G).astype(np.float64), "ids": [f"v{first + j}" for j in range(m)], "a1": ["A"] * m,
            "a2": ["G"] * m, "pos": offset + 10 * (np.arange(m) + 1), "n": 200}


@pytest.fixture
def good(rng) -> dict:
    return {"b1": block(rng, 6), "b2": block(rng, 5, offset=1000, first=6)}


def test_a_valid_directory_lists_its_variants_block_by_block(good, tmp_path):
    write_blocks(tmp_path, good)
    variants = check_ld_matrices(tmp_path)
    assert variants.ID.tolist() == [f"v{j}" for j in range(11)]
    assert variants.block.tolist() == ["b1"] * 6 + ["b2"] * 5 and (variants.CHROM == "1").all()


def not_psd(arrays):
    r = np.full((6, 6), 0.9)
    r[:3, 3:] = r[3:, :3] = -0.9  # two perfectly opposed groups that are also correlated: eigenvalue < 0
    r[0, 3] = r[3, 0] = 0.9
    np.fill_diagonal(r, 1)
    return arrays | {"r": r}


@pytest.mark.parametrize("change, message", [
    (lambda a: a | {"r": a["r"][:, :5]}, "r has shape (6, 5) for 6 ids"),
    (lambda a: a | {"a1": a["a1"][:5]}, "5/6 alleles"),
    (lambda a: a | {"r": a["r"] + 0.01 * np.eye(6, k=2)}, "r is not symmetric: r[v0, v2]"),
    (lambda a: a | {"r": a["r"] * 2}, "r is not a correlation matrix at variant 'v0'"),
    (not_psd, "r is not positive semi-definite (smallest eigenvalue"),
    (lambda a: a | {"ids": ["v0", "v1", "v2", "v0", "v4", "v5"]}, "variant 'v0' (pos 40, A/G) is listed twice"),
    (lambda a: a | {"a2": ["A"] * 6}, "has equal or missing alleles"),
    (lambda a: a | {"pos": a["pos"] + 990}, "variant 'v0' (pos 1000, A/G) lies outside the block"),
    (lambda a: {k: v for k, v in a.items() if k != "pos"}, "lacks ['pos']"),
    (lambda a: a | {"r": np.where(np.eye(6, dtype=bool), 1, np.nan)}, "non-finite"),
])
def test_each_bad_block_is_named_with_the_problem(good, tmp_path, change, message):
    write_blocks(tmp_path, {"b1": change(good["b1"]), "b2": good["b2"]})
    with pytest.raises(InputError, match="b1.npz") as err:
        check_ld_matrices(tmp_path)
    assert message in str(err.value)


def test_a_missing_block_file_and_a_variant_in_two_blocks_are_errors(good, tmp_path):
    write_blocks(tmp_path, good)
    (tmp_path / "b2.npz").unlink()
    with pytest.raises(InputError, match=r"b2.npz \(block 1:1000-2000\) does not exist"):
        check_ld_matrices(tmp_path)
    write_blocks(tmp_path, {"b1": good["b1"], "b2": good["b2"] | {"ids": ["v6", "v7", "v3", "v9", "v10"]}})
    with pytest.raises(InputError, match="variant 'v3' is in blocks b1 and b2"):
        check_ld_matrices(tmp_path)


def test_import_sorts_by_position_and_scores_with_the_given_n(good, rng, tmp_path):
    order = np.array([2, 0, 1, 5, 4, 3])  # the user's file lists its variants out of position order
    b1 = good["b1"]
    shuffled = {"r": b1["r"][np.ix_(order, order)], "pos": b1["pos"][order], "n": 200,
                **{k: np.asarray(b1[k])[order] for k in ("ids", "a1", "a2")}}
    write_blocks(tmp_path / "in", {"b1": shuffled, "b2": good["b2"]})
    table = make_ld_blocks(None, tmp_path / "blocks.tsv", source="matrices", table=tmp_path / "in" / "blocks.tsv")
    assert table.block.tolist() == ["1_0001", "1_0002"] and table.n_variants.tolist() == [6, 5]
    import_block_ld(tmp_path / "blocks.tsv", "1_0001", tmp_path / "b.npz", tmp_path / "b.tsv", adjust=True)
    ld = read_block_ld(tmp_path / "b.npz")
    assert ld.ids.tolist() == b1["ids"] and ld.n == 200
    np.testing.assert_allclose(ld.r, b1["r"], atol=1e-7)
    scores = read_tsv(tmp_path / "b.tsv")
    np.testing.assert_allclose(scores.ldscore, ld_scores(b1["r"], 200), rtol=1e-6)
    assert scores.POS.tolist() == b1["pos"].tolist()


def test_export_then_import_gives_back_the_run_s_ld_files(good, tmp_path):
    write_blocks(tmp_path / "in", good)
    ld = tmp_path / "run"
    (ld / "blocks").mkdir(parents=True)
    make_ld_blocks(None, ld / "blocks.tsv", source="matrices", table=tmp_path / "in" / "blocks.tsv")
    for name in ("1_0001", "1_0002"):
        import_block_ld(ld / "blocks.tsv", name, ld / "blocks" / f"{name}.npz", ld / "blocks" / f"{name}.ldscore.tsv")
    export_ld_matrices(ld, tmp_path / "out")
    variants = check_ld_matrices(tmp_path / "out")
    assert variants.ID.tolist() == [f"v{j}" for j in range(11)]
    with np.load(tmp_path / "out" / "1_0002.npz") as data:
        np.testing.assert_allclose(data["r"], good["b2"]["r"], atol=1e-7)
        assert pd.Series(data["pos"]).tolist() == good["b2"]["pos"].tolist()


def test_ml_mages_blocks_convert_to_a_valid_directory_with_their_variants(good, tmp_path):
    """Two blocks in ML-MAGES's layout (meta CSV + text matrices) and the variant list they index."""
    mm = tmp_path / "mlmages"
    mm.mkdir()
    (mm / "block_meta_chr1.csv").write_text("idx_in_chr,block_lb,block_ub,block_size\n0,0,6,6\n1,6,11,5\n")
    for k, name in enumerate(("b1", "b2")):
        np.savetxt(mm / f"chr1_block{k}.ld", good[name]["r"], fmt="%.6f")
    rows = [(p, i, a, b) for name in ("b1", "b2") for p, i, a, b in
            zip(good[name]["pos"], good[name]["ids"], good[name]["a1"], good[name]["a2"])]
    write_tsv(pd.DataFrame(rows, columns=["POS", "ID", "A1", "A2"]).assign(CHROM="1"), tmp_path / "variants.tsv")

    table = convert_mlmages_ld(mm, tmp_path / "variants.tsv", 200, tmp_path / "out")

    assert table[["start", "stop"]].to_numpy().tolist() == [[10, 1010], [1010, 1051]]
    variants = check_ld_matrices(tmp_path / "out")
    assert variants.ID.tolist() == [f"v{j}" for j in range(11)]
    with np.load(tmp_path / "out" / "chr1_block1.npz") as data:
        np.testing.assert_allclose(data["r"], good["b2"]["r"], atol=1e-6)
        assert int(data["n"]) == 200
    (mm / "block_meta_chr1.csv").write_text("idx_in_chr,block_lb,block_ub,block_size\n0,0,6,6\n1,6,10,4\n")
    with pytest.raises(InputError, match="lists 11 variants on chromosome 1"):
        convert_mlmages_ld(mm, tmp_path / "variants.tsv", 200, tmp_path / "out2")
