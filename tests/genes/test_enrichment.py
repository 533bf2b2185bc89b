"""Gene enrichment: gene tables, variant assignment, calibration and power, errors."""

import json
import logging
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from phenomap.errors import InputError
from phenomap.genes.enrichment import (
    LDBlockFiles,
    assign_genes,
    describe_chromosomes,
    gene_enrichment,
    gene_test,
    null_variance,
    read_gene_table,
    shipped_gene_table,
)
from phenomap.genes.quadform import quadform_pvalue
from phenomap.ld.matrix import correlation

RESOURCES = Path(__file__).resolve().parents[2] / "resources"
EPS = 1e-4


def genotypes(rng, n: int, m: int, rho: float = 0.9) -> np.ndarray:
    """(n, m) allele counts with LD decaying along the variants (two thresholded AR(1) paths)."""
    cut = stats.norm.ppf(rng.uniform(0.1, 0.5, m))
    G = np.zeros((n, m))
    for _ in range(2):
        path = np.empty((n, m))
        path[:, 0] = rng.standard_normal(n)
        for j in range(1, m):
            path[:, j] = rho * path[:, j - 1] + np.sqrt(1 - rho**2) * rng.standard_normal(n)
        G += path < cut
    return G


def gene_table(rows) -> pd.DataFrame:
    """Genes from (symbol, chrom, start, stop) tuples, in the form read_gene_table returns."""
    table = pd.DataFrame(rows, columns=["symbol", "chrom", "start", "stop"])
    table.insert(0, "gene_id", [str(100 + i) for i in range(len(table))])
    return table.astype({"start": "int64", "stop": "int64"})


def null_genes(rng, n_genes: int, *, eps: float = EPS):
    """One gene per LD block, 5-20 variants each, effects drawn from the null N(0, eps R)."""
    effects, genes, blocks = [], [], {}
    for g in range(n_genes):
        m = int(rng.integers(5, 21))
        r = correlation(genotypes(rng, 120, m, rho=rng.uniform(0.5, 0.95)))
        w, V = np.linalg.eigh(r.astype(np.float64))
        beta = V @ (np.sqrt(np.clip(w, 0, None) * eps) * rng.standard_normal(m))
        start = 1_000_000 * (g + 1)
        ids = [f"g{g}v{j}" for j in range(m)]
        effects.append(pd.DataFrame({"ID": ids, "CHROM": "1", "POS": start + 100 * np.arange(m), "beta": beta}))
        genes.append((f"G{g}", "1", start, start + 100 * (m - 1)))
        blocks[f"b{g}"] = (np.array(ids), r)
    return pd.concat(effects, ignore_index=True), gene_table(genes), blocks


# --- gene tables -------------------------------------------------------------------------------


def test_read_gene_table__shipped_tables_read_and_sorted():
    hg19 = read_gene_table(shipped_gene_table(RESOURCES, "hg19"))
    hg38 = read_gene_table(shipped_gene_table(RESOURCES, "GRCh38"))
    assert (len(hg19), len(hg38)) == (19427, 20137)  # the row counts of the provenance document
    first = hg19.loc[hg19.symbol == "OR4F5", ["gene_id", "chrom", "start", "stop"]]
    assert first.values.tolist() == [["79501", "1", 69091, 70008]]
    assert set(hg19.chrom) == {str(c) for c in range(1, 23)} | {"X", "Y"}
    assert hg19.chrom.unique().tolist() == [str(c) for c in range(1, 23)] + ["X", "Y"]  # sorted numerically
    assert all(group.start.is_monotonic_increasing for _, group in hg38.groupby("chrom"))


def test_read_gene_table__accepts_chr_prefix_and_sorts(tmp_path):
    path = tmp_path / "genes.tsv"
    path.write_text("gene_id symbol chrom start stop\n2 B chr2 10 20\n1 A chr1 50 60\n3 C chr1 5 9\n")
    table = read_gene_table(path)
    assert table.symbol.tolist() == ["C", "A", "B"]
    assert table.chrom.tolist() == ["1", "1", "2"]


@pytest.mark.parametrize(
    "content, message",
    [
        ("gene_id symbol chrom start\n1 A 1 5\n", r"lacks column\(s\) \['stop'\]"),
        ("gene_id symbol chrom start stop\n1 A 1 5 x9\n", r"line 2 \(gene 'A'\): stop 'x9' is not a positive integer"),
        ("gene_id symbol chrom start stop\n1 A 1 0 9\n", r"start '0' is not a positive integer"),
        ("gene_id symbol chrom start stop\n1 A 1 5 9\n2 B 1 9 5\n", r"line 3 \(gene 'B'\): start 9 is after stop 5"),
        ("gene_id symbol chrom start stop\n1 A 1 5 9\n2 A 1 19 25\n", r"symbol 'A' appears more than once"),
        ("gene_id symbol chrom start stop\n1 A 1 5 9\n1 B 1 19 25\n", r"gene_id '1' appears more than once"),
        ("gene_id symbol chrom start stop\n1 A chrUn_gl000220 5 9\n", r"unknown chromosome name 'chrUn_gl000220'"),
        ("gene_id symbol chrom start stop strand\n1 A 1 5 9 +\n2 B 1 7 9 ?\n", r"strand '\?' is not"),
        ("gene_id symbol chrom start stop\n", r"has a header but no genes"),
        ("", r"is empty"),
    ],
)
def test_read_gene_table__rejects_bad_rows(tmp_path, content, message):
    path = tmp_path / "genes.tsv"
    path.write_text(content)
    with pytest.raises(InputError, match=message):
        read_gene_table(path)


def test_read_gene_table__missing_file(tmp_path):
    with pytest.raises(InputError, match="does not exist"):
        read_gene_table(tmp_path / "nope.tsv")


def test_shipped_gene_table__lists_builds():
    assert shipped_gene_table(RESOURCES, "GRCh37").name == "genes.hg19.tsv"
    with pytest.raises(InputError, match=r"build 'hg18'.*hg19, hg38"):
        shipped_gene_table(RESOURCES, "hg18")


# --- assignment ---------------------------------------------------------------------------------


@pytest.mark.parametrize("window", [0, 250])
def test_assign_genes__matches_brute_force(rng, window):
    variants = pd.DataFrame({"CHROM": rng.choice(["1", "2", "X"], 600), "POS": rng.integers(1, 20_000, 600)})
    starts = rng.integers(1, 19_000, 80)
    genes = gene_table([(f"G{i}", c, s, s + int(rng.integers(0, 1500)))
                        for i, (c, s) in enumerate(zip(rng.choice(["1", "2", "3"], 80), starts))])
    gene, variant = assign_genes(variants, genes, window=window)
    chrom, pos = variants.CHROM.to_numpy(), variants.POS.to_numpy()
    expected = {(g, v) for g, (c, start, stop) in enumerate(zip(genes.chrom, genes.start, genes.stop))
                for v in range(len(variants)) if chrom[v] == c and start - window <= pos[v] <= stop + window}
    assert set(zip(gene.tolist(), variant.tolist())) == expected
    assert len(gene) == len(expected)  # no duplicates
    assert np.all(np.diff(gene) >= 0)


def test_describe_chromosomes__compact_names():
    assert describe_chromosomes([str(c) for c in range(22, 0, -1)] + ["Y", "X"]) == "1..22 X Y"
    wheat = [f"{i}{s}" for i in range(1, 8) for s in "ABD"]
    assert describe_chromosomes(wheat) == "1A..7D (21 chromosomes)"
    assert describe_chromosomes(["2", "1"]) == "1 2"


# --- the test -----------------------------------------------------------------------------------


def test_gene_test__type_one_error_at_nominal_level(rng):
    effects, genes, blocks = null_genes(rng, 5000)
    result = gene_test(effects, genes, blocks, eps=EPS)
    assert len(result) == 5000
    assert 0.04 <= np.mean(result.p < 0.05) <= 0.06
    assert 0.006 <= np.mean(result.p < 0.01) <= 0.014
    assert result.q.min() > 0.05  # nothing significant after FDR control under the null


def test_gene_test__planted_gene_is_highly_significant(rng):
    effects, genes, blocks = null_genes(rng, 50)
    causal = effects.ID.str.startswith("g7v")
    effects.loc[causal[causal].index[:3], "beta"] += 8 * np.sqrt(EPS)
    result = gene_test(effects, genes, blocks, eps=EPS)
    assert result.gene.iloc[0] == "G7"
    assert result.p.iloc[0] < 1e-6 and result.p_method.iloc[0] in ("imhof", "saddlepoint")
    assert result.q.iloc[0] < 0.05


def test_gene_test__statistic_eigenvalues_and_qvalues_match_brute_force(rng):
    effects, genes, blocks = null_genes(rng, 200)
    result = gene_test(effects, genes, blocks, eps=EPS).set_index("gene")
    for g in (0, 17, 123):
        ids, r = blocks[f"b{g}"]
        beta = effects.set_index("ID").loc[ids, "beta"].to_numpy()
        stat = np.sum(beta**2)
        assert result.stat[f"G{g}"] == pytest.approx(stat)
        lam = np.linalg.eigvalsh(EPS * r.astype(float))
        assert result.p[f"G{g}"] == pytest.approx(quadform_pvalue(stat, lam), rel=1e-9)
    p = result.p.to_numpy()
    m = len(p)  # Benjamini-Hochberg: q_i = min over p_j >= p_i of p_j m / rank_j
    rank = stats.rankdata(p, method="max")
    q_brute = np.array([min(1.0, min(p[j] * m / rank[j] for j in range(m) if p[j] >= p[i])) for i in range(m)])
    np.testing.assert_allclose(result.q.to_numpy(), q_brute, rtol=1e-12)
    assert result.p.is_monotonic_increasing


def test_gene_test__gene_across_two_blocks_uses_block_diagonal_ld(rng, caplog):
    r1 = correlation(genotypes(rng, 200, 6))
    r2 = correlation(genotypes(rng, 200, 5))
    effects = pd.DataFrame({"ID": [f"v{i}" for i in range(12)], "CHROM": "7",
                            "POS": 1000 * np.arange(1, 13), "beta": rng.normal(0, 0.02, 12)})
    blocks = {"7_0001": (np.array([f"v{i}" for i in range(6)]), r1),
              "7_0002": (np.array([f"v{i}" for i in range(6, 11)]), r2)}  # v11 is in no block
    genes = gene_table([("SPAN", "7", 4000, 12000), ("LEFT", "7", 1000, 2500), ("ONE", "7", 9900, 10100),
                        ("NONE", "7", 50_000, 50_100)])
    with caplog.at_level(logging.INFO):
        result = gene_test(effects, genes, blocks, eps=EPS, window=600).set_index("gene")
    members = np.arange(3, 12)  # POS 4000..12000 with a 600 bp window
    in_ld = members[members < 11]
    beta = effects.beta.to_numpy()
    lam = np.concatenate([np.linalg.eigvalsh(EPS * r1[3:, 3:].astype(float)),
                          np.linalg.eigvalsh(EPS * r2.astype(float))])
    assert result.n_snps["SPAN"] == len(in_ld) == 8
    assert result.stat["SPAN"] == pytest.approx(np.sum(beta[in_ld] ** 2))
    assert result.p["SPAN"] == pytest.approx(quadform_pvalue(np.sum(beta[in_ld] ** 2), lam), rel=1e-9)
    assert result.n_snps["LEFT"] == 3  # 400..3100 holds v0, v1, v2
    assert "ONE" not in result.index and "NONE" not in result.index
    assert "1 of 4 genes contain no variant" in caplog.text
    assert "1 variants in genes have no LD" in caplog.text
    assert "2 genes tested; 1 skipped with a single variant in LD" in caplog.text


def test_gene_test__non_psd_ld_is_clipped_with_a_warning(caplog):
    r = np.array([[1.0, 0.9, -0.9], [0.9, 1.0, 0.9], [-0.9, 0.9, 1.0]], dtype=np.float32)  # eigenvalue -0.8
    effects = pd.DataFrame({"ID": ["a", "b", "c"], "CHROM": "1", "POS": [10, 20, 30], "beta": [0.01, -0.02, 0.015]})
    genes = gene_table([("BADLD", "1", 1, 40)])
    with caplog.at_level(logging.WARNING):
        result = gene_test(effects, genes, {"blk": (np.array(["a", "b", "c"]), r)}, eps=EPS)
    assert "gene BADLD" in caplog.text and "not positive semi-definite" in caplog.text
    lam = np.clip(np.linalg.eigvalsh(EPS * r.astype(float)), 0, None)
    assert result.p.iloc[0] == pytest.approx(quadform_pvalue(result.stat.iloc[0], lam), rel=1e-9)


def test_gene_test__all_zero_effects_give_p_one():
    effects = pd.DataFrame({"ID": ["a", "b"], "CHROM": "1", "POS": [10, 20], "beta": [0.0, 0.0]})
    result = gene_test(effects, gene_table([("G", "1", 1, 40)]), {"b": (np.array(["a", "b"]), np.eye(2))}, eps=EPS)
    assert result.p.tolist() == [1.0] and result.q.tolist() == [1.0]


def test_gene_test__chromosome_naming_mismatch_names_both():
    effects = pd.DataFrame({"ID": ["a", "b"], "CHROM": ["1A", "7D"], "POS": [10, 20], "beta": [0.1, 0.2]})
    genes = read_gene_table(shipped_gene_table(RESOURCES, "hg19"))
    with pytest.raises(InputError, match=r"uses chromosomes 1\.\.22 X Y; the effects use 1A 7D"):
        gene_test(effects, genes, {}, eps=EPS)


def test_gene_test__genes_missing_the_variants_look_like_another_build(rng):
    # exome-like panel: variants only inside genes, but the genes are shifted by 2 Mb
    genes = gene_table([(f"G{i}", "1", 100_000 * (i + 1), 100_000 * (i + 1) + 20_000) for i in range(100)])
    pos = np.concatenate([rng.integers(s, e, 5) for s, e in zip(genes.start, genes.stop)])
    effects = pd.DataFrame({"ID": [f"v{i}" for i in range(len(pos))], "CHROM": "1", "POS": pos, "beta": 0.0})
    shifted = genes.assign(start=genes.start + 50_000, stop=genes.stop + 50_000)
    with pytest.raises(InputError, match=r"only 0 of the \d+ genes .* look like different genome builds"):
        gene_test(effects, shifted, {}, eps=EPS)
    gene_test(effects, genes, {}, eps=EPS)  # the right coordinates pass the check


#: Mouse chromosome lengths in Mb (GRCm39) and the last marker position of each chromosome in the
#: BGLR heterogeneous-stock mice map (Mb, an older coordinate system): public facts of the genome and data.
MOUSE_GRCM39_MB = {"1": 195.15, "2": 181.76, "3": 159.75, "4": 156.86, "5": 151.76, "6": 149.59, "7": 144.99,
                   "8": 130.13, "9": 124.36, "10": 130.53, "11": 121.97, "12": 120.09, "13": 120.88, "14": 125.14,
                   "15": 104.07, "16": 98.01, "17": 95.29, "18": 90.72, "19": 61.42, "X": 169.48}
BGLR_MICE_MAP_MB = {"1": 118.1, "2": 108.4, "3": 89.7, "4": 101.7, "5": 106.8, "6": 90.0, "7": 89.6, "8": 80.5,
                    "9": 86.0, "10": 83.4, "11": 93.5, "12": 69.3, "13": 69.6, "14": 59.8, "15": 64.3, "16": 63.3,
                    "17": 63.1, "18": 64.3, "19": 54.1, "X": 61.2}


def array_positions(rng, spans_bp: dict[str, tuple[int, int]], n: int = 10_000) -> pd.DataFrame:
    """An array-like variant set: ``n`` positions spread uniformly over each chromosome's span."""
    lengths = np.array([hi - lo for lo, hi in spans_bp.values()], dtype=float)
    counts = rng.multinomial(n, lengths / lengths.sum())
    chrom = np.repeat(list(spans_bp), counts)
    pos = np.concatenate([rng.integers(lo, hi, k) for (lo, hi), k in zip(spans_bp.values(), counts)])
    return pd.DataFrame({"ID": [f"v{i}" for i in range(n)], "CHROM": chrom, "POS": pos, "beta": 0.0})


@pytest.mark.parametrize("genome, message", [
    (MOUSE_GRCM39_MB, r"on 6 chromosomes the variants lie beyond its last gene \(13: .*; 14: 12\d\.\d vs 107\.3 Mb"),
    (BGLR_MICE_MAP_MB, r"1\d\.\d% of its 1\d,\d{3} genes contain a variant where 2\d\.\d% would"),
])
def test_gene_test__human_genes_on_mouse_positions_are_another_genome(rng, genome, message):
    genes = read_gene_table(shipped_gene_table(RESOURCES, "hg19"))
    mouse = array_positions(rng, {c: (1, int(mb * 1e6)) for c, mb in genome.items()})
    with pytest.raises(InputError, match="look like different genomes or assemblies: .*" + message):
        gene_test(mouse, genes, {}, eps=EPS)


@pytest.mark.parametrize("build", ["hg19", "hg38"])
def test_gene_test__genome_wide_positions_on_the_genes_own_build_pass_the_check(rng, build):
    genes = read_gene_table(shipped_gene_table(RESOURCES, build))
    spans = {c: (int(g.start.min()), int(g.stop.max())) for c, g in genes.groupby("chrom") if c not in ("Y", "MT")}
    result = gene_test(array_positions(rng, spans), genes, {}, eps=EPS)  # no variant is in LD: nothing tested
    assert result.empty


@pytest.mark.parametrize(
    "change, message",
    [
        (dict(eps=0.0), "eps must be a positive number"),
        (dict(window=-5), "window must be >= 0"),
        (dict(duplicate=True), "variant a appears more than once"),
        (dict(infinite=True), "variant b has an infinite effect"),
        (dict(overlap=True), "variant a is in LD blocks x and y"),
        (dict(position="12.5"), "variant a has position '12.5', not an integer"),
    ],
)
def test_gene_test__rejects_bad_input(change, message):
    effects = pd.DataFrame({"ID": ["a", "b"], "CHROM": "1", "POS": [10, 20], "beta": [0.1, 0.2]})
    blocks = {"x": (np.array(["a", "b"]), np.eye(2))}
    if change.get("duplicate"):
        effects = pd.concat([effects, effects.iloc[:1]])
    if change.get("infinite"):
        effects.loc[1, "beta"] = np.inf
    if change.get("overlap"):
        blocks["y"] = (np.array(["a"]), np.eye(1))
    if "position" in change:
        effects["POS"] = [change["position"], "20"]
    with pytest.raises(InputError, match=message):
        gene_test(effects, gene_table([("G", "1", 1, 40)]), blocks, eps=change.get("eps", EPS),
                  window=change.get("window", 0))


# --- files --------------------------------------------------------------------------------------


def write_inputs(tmp_path, effects, genes, blocks):
    effects_tsv = tmp_path / "shrunk.tsv"
    table = effects.rename(columns={"beta": "BETA_SHRUNK"}).assign(A1="A", A2="G")
    table.to_csv(effects_tsv, sep="\t", index=False, na_rep="NA")
    genes_tsv = tmp_path / "genes.tsv"
    genes.assign(strand="+").to_csv(genes_tsv, sep="\t", index=False)
    npzs = []
    for name, (ids, r) in blocks.items():
        np.savez(tmp_path / f"{name}.npz", r=r.astype(np.float32), ids=ids, a1=np.full(len(ids), "A"),
                 a2=np.full(len(ids), "G"), n=120)
        npzs.append(tmp_path / f"{name}.npz")
    return effects_tsv, genes_tsv, npzs


def test_gene_enrichment__files_give_the_same_table(tmp_path, rng):
    effects, genes, blocks = null_genes(rng, 30)
    effects.loc[3, "beta"] = np.nan  # a variant without a shrunk effect
    effects_tsv, genes_tsv, npzs = write_inputs(tmp_path, effects, genes, blocks)
    mixture = tmp_path / "mixture.json"
    # eps on the clustering's scale: trait 0 has scale 2, so its eps in effect units is 4 * EPS / 4
    mixture.write_text(json.dumps({"k_star": 2, "null_variance": [EPS / 4, 3e-4], "trait_scale": [2.0, 0.1]}))
    out = tmp_path / "out" / "genes.tsv"
    written = gene_enrichment(effects_tsv, "BETA_SHRUNK", genes_tsv, npzs, out, mixture_json=mixture, trait_index=0)
    direct = gene_test(effects, genes, blocks, eps=EPS)
    back = pd.read_csv(out, sep="\t", dtype={"gene_id": str, "chrom": str})
    pd.testing.assert_frame_equal(written, direct)
    pd.testing.assert_frame_equal(back, direct, check_exact=False, rtol=1e-9)
    assert null_variance(mixture, 1) == pytest.approx(3e-6, rel=1e-12)


def test_gene_enrichment__nothing_to_test_writes_an_empty_table(tmp_path, rng, caplog):
    effects, genes, blocks = null_genes(rng, 3)
    header = ["gene", "gene_id", "chrom", "start", "stop", "n_snps", "stat", "p", "q", "p_method"]
    effects_tsv, genes_tsv, npzs = write_inputs(tmp_path, effects.assign(beta=np.nan), genes, blocks)
    out = tmp_path / "result.tsv"
    with caplog.at_level(logging.WARNING):
        result = gene_enrichment(effects_tsv, "BETA_SHRUNK", genes_tsv, npzs, out, eps=EPS)
    assert result.empty and "no BETA_SHRUNK value" in caplog.text
    assert out.read_text().split() == header
    # a trait without any non-null effect has no null variance in the mixture
    effects_tsv, genes_tsv, npzs = write_inputs(tmp_path, effects, genes, blocks)
    mixture = tmp_path / "mixture.json"
    mixture.write_text(json.dumps({"null_variance": [EPS, None], "trait_scale": [1.0, 1.0]}))
    out.unlink()
    with caplog.at_level(logging.WARNING):
        result = gene_enrichment(effects_tsv, "BETA_SHRUNK", genes_tsv, npzs, out, mixture_json=mixture, trait_index=1)
    assert result.empty and "no null variance for trait 1" in caplog.text
    assert out.read_text().split() == header


def test_gene_enrichment__rejects_bad_settings_and_files(tmp_path, rng):
    effects, genes, blocks = null_genes(rng, 3)
    effects_tsv, genes_tsv, npzs = write_inputs(tmp_path, effects, genes, blocks)
    out = tmp_path / "result.tsv"
    with pytest.raises(InputError, match=r"lacks column\(s\) \['BETA_ENET'\]"):
        gene_enrichment(effects_tsv, "BETA_ENET", genes_tsv, npzs, out, eps=EPS)
    good = effects_tsv.read_text()
    effects_tsv.write_text(good.replace(f"{effects.beta[2]}", "big", 1))
    with pytest.raises(InputError, match=r"BETA_SHRUNK has non-numeric value 'big' at data row 3 \(variant g0v2\)"):
        gene_enrichment(effects_tsv, "BETA_SHRUNK", genes_tsv, npzs, out, eps=EPS)
    effects_tsv.write_text(good)
    with pytest.raises(InputError, match="not several or none"):
        gene_enrichment(effects_tsv, "BETA_SHRUNK", genes_tsv, npzs, out)
    (tmp_path / "m.json").write_text(json.dumps({"null_variance": [EPS], "trait_scale": [1.0]}))
    with pytest.raises(InputError, match="trait index 1 is out of range .* has 1 trait"):
        gene_enrichment(effects_tsv, "BETA_SHRUNK", genes_tsv, npzs, out, mixture_json=tmp_path / "m.json",
                        trait_index=1)
    with pytest.raises(InputError, match="needs the trait's index"):
        gene_enrichment(effects_tsv, "BETA_SHRUNK", genes_tsv, npzs, out, mixture_json=tmp_path / "m.json")
    (tmp_path / "bad.json").write_text("{}")
    with pytest.raises(InputError, match="cannot be read.*'null_variance' and 'trait_scale'"):
        null_variance(tmp_path / "bad.json", 0)
    np.savez(npzs[0], r=np.eye(3, dtype=np.float32), ids=np.array(["x"]), a1=np.array(["A"]), a2=np.array(["G"]),
             n=np.int64(10))
    with pytest.raises(InputError, match=r"r has shape \(3, 3\) for 1 variants"):
        gene_enrichment(effects_tsv, "BETA_SHRUNK", genes_tsv, npzs, out, eps=EPS)
    with pytest.raises(InputError, match="does not exist: rerun the ld_block step"):
        dict(LDBlockFiles([tmp_path / "missing.npz"]))
    assert not out.exists()
