"""LD-block tables, variant assignment, cross-gap LD and the data-driven partition."""

from __future__ import annotations

import hashlib
import logging
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from phenomap_testing import make_bim, make_fam

from phenomap.errors import InputError
from phenomap.io.plink import Bfile
from phenomap.ld.blocks import (
    assign_blocks,
    cross_ld_profile,
    make_ld_blocks,
    partition,
    read_block_table,
    shipped_block_table,
    split_oversized,
)

RESOURCES = Path(__file__).resolve().parents[2] / "resources"


def simulate_blocks(rng: np.random.Generator, n: int, sizes: list[int]) -> np.ndarray:
    """Genotypes (n, sum(sizes)) in independent haplotype blocks.

    Each haplotype carries one latent value per block shared by all the block's variants
    (allele = latent + noise above a variant threshold), so variants correlate within a
    block and are independent across blocks.
    """
    blocks = []
    for size in sizes:
        thresholds = rng.uniform(-0.8, 0.8, size)
        haplotypes = [(rng.normal(size=(n, 1)) + 0.6 * rng.normal(size=(n, size)) > thresholds) for _ in range(2)]
        blocks.append(haplotypes[0].astype(np.float32) + haplotypes[1])
    return np.hstack(blocks)


def write_table(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def brute_profile(G: np.ndarray, window: int) -> np.ndarray:
    """Cross-gap summed r^2 from the full correlation matrix of mean-imputed genotypes."""
    G = G.astype(np.float64)
    X = np.where(np.isnan(G), np.nanmean(G, axis=0), G)
    r2 = np.corrcoef(X.T) ** 2
    m = X.shape[1]
    return np.array([r2[max(0, g - window + 1) : g + 1, g + 1 : g + 1 + window].sum() for g in range(m - 1)])


# --- read_block_table ---------------------------------------------------------------------


def test_read_block_table__reads_header_chr_prefix_and_sorts(tmp_path):
    path = write_table(tmp_path / "b.bed", "#chr\tstart\tend\nchr2\t0\t10\nchr1\t0\t5\nchr1\t5\t9\n")
    table = read_block_table(path)
    assert table.to_dict("list") == {"chrom": ["1", "1", "2"], "start": [0, 5, 0], "stop": [5, 9, 10]}


def test_read_block_table__reads_headerless_bed(tmp_path):
    table = read_block_table(write_table(tmp_path / "b.bed", "1 100 200\n1 200 300\nX 0 50\n"))
    assert table.to_dict("list") == {"chrom": ["1", "1", "X"], "start": [100, 200, 0], "stop": [200, 300, 50]}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("chrom\tstart\tstop\n1\t0\t10\n1\t5\t20\n", r"line 3 \(1:5-20\) overlaps line 2 \(1:0-10\)"),
        ("chrom\tstart\tstop\n1\t10\t20\n1\t0\t10\n",
         r"line 3 \(1:0-10\) starts before the block above it, line 2 .*sort the rows"),
        ("chrom\tstart\tstop\n1\t10\t10\n", r"line 2 \(1:10-10\): start must be below stop"),
        ("chrom\tstart\tstop\n1\t20\t10\n", r"line 2 .*start must be below stop"),
        ("chrom\tstart\tstop\n1\t0\t10\nchrUn_gl000220\t0\t10\n", r"unknown chromosome name 'chrUn_gl000220'"),
        ("chrom\tbegin\tstop\n1\t0\t10\n", r"lacks column\(s\) \['start'\]"),
        ("chrom\tstart\tstop\n1\t0\t1e3x\n", r"line 2: stop '1e3x' is not a non-negative integer"),
        ("chrom\tstart\tstop\n", r"has a header but no blocks"),
        ("", r"is empty"),
    ],
)
def test_read_block_table__rejects_bad_tables(tmp_path, text, message):
    path = write_table(tmp_path / "bad.bed", text)
    with pytest.raises(InputError, match=message) as err:
        read_block_table(path)
    assert "bad.bed" in str(err.value)


def test_read_block_table__rejects_missing_file(tmp_path):
    with pytest.raises(InputError, match=r"nope\.bed does not exist"):
        read_block_table(tmp_path / "nope.bed")


# --- shipped tables -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("population", "build", "name", "rows", "gaps"),
    [("EUR", "hg19", "EUR.hg19.bed", 1703, 0), ("EAS", "hg19", "EAS.hg19.bed", 1445, 0),
     ("AFR", "hg19", "AFR.hg19.bed", 2582, 0), ("EUR", "hg38", "EUR.hg38.bed", 1336, 17),
     ("eas", "GRCh38", "EAS.hg38.bed", 1121, 18), ("AFR", "hg38", "AFR.hg38.bed", 1580, 17),
     ("SAS", "hg38", "SAS.hg38.bed", 1267, 17), ("EUR.deCODE", "hg38", "EUR.deCODE.hg38.bed", 1361, 0)],
)
def test_shipped_block_table__finds_each_table_and_reads_it(population, build, name, rows, gaps):
    path = shipped_block_table(RESOURCES, population, build)
    assert path == RESOURCES / "ld_blocks" / name
    table = read_block_table(path)
    assert len(table) == rows  # the counts recorded in resources/PROVENANCE.md
    assert list(pd.unique(table.chrom)) == [str(c) for c in range(1, 23)]
    previous_stop = table.groupby("chrom", sort=False).stop.shift()
    assert int((table.start > previous_stop).sum()) == gaps


def test_shipped_block_table__lists_available_combinations():
    with pytest.raises(InputError, match=r"population 'SAS' and build 'hg19'.*EUR/hg19.*SAS/hg38"):
        shipped_block_table(RESOURCES, "SAS", "hg19")


def test_shipped_resources__match_sha256sums():
    listed = {}
    for line in (RESOURCES / "SHA256SUMS").read_text().splitlines():
        digest, name = line.split(maxsplit=1)
        listed[name] = digest
    shipped = {str(p.relative_to(RESOURCES)) for p in (RESOURCES / "ld_blocks").iterdir()}
    assert shipped <= set(listed)
    for name, digest in listed.items():
        assert hashlib.sha256((RESOURCES / name).read_bytes()).hexdigest() == digest, name


def test_cross_ld_profile__warns_about_variants_without_variance(write_plink, rng, caplog):
    G = simulate_blocks(rng, 80, [10])
    G[:, 4] = 0.0
    with caplog.at_level(logging.WARNING, logger="phenomap.ld.blocks"):
        profile = cross_ld_profile(Bfile.open(write_plink(G)), np.arange(10), window=3, chunk=4)
    assert "1 variant(s) have no genotype variance (e.g. 1:5000)" in caplog.text
    keep = np.arange(10) != 4
    r2 = np.zeros((10, 10))
    r2[np.ix_(keep, keep)] = np.corrcoef(G[:, keep].T.astype(np.float64)) ** 2
    expected = [r2[max(0, g - 2) : g + 1, g + 1 : g + 4].sum() for g in range(9)]
    np.testing.assert_allclose(profile, expected, rtol=1e-9)


# --- assign_blocks ------------------------------------------------------------------------


def test_assign_blocks__matches_brute_force_at_edges_and_gaps(rng):
    blocks = pd.DataFrame(
        {"chrom": ["1", "1", "1", "1", "2"], "start": [100, 200, 300, 500, 50], "stop": [200, 300, 400, 600, 80]}
    )
    edges = np.concatenate([blocks.start, blocks.stop])
    pos = np.concatenate([edges, edges - 1, edges + 1, rng.integers(0, 700, 200)])
    bim = pd.DataFrame({"CHROM": rng.choice(["1", "2", "3"], len(pos)), "POS": pos})
    expected = [
        next((b for b, row in blocks.iterrows() if row.chrom == c and row.start <= p < row.stop), -1)
        for c, p in zip(bim.CHROM, bim.POS)
    ]
    got = assign_blocks(bim, blocks)
    np.testing.assert_array_equal(got, expected)
    on_chr1 = (bim.CHROM == "1").to_numpy()
    assert (got[on_chr1 & (pos == 200)] == 1).all()  # a shared boundary belongs to the block it starts
    assert (got[on_chr1 & (pos == 400)] == -1).all()  # gap 400..500


# --- cross_ld_profile ---------------------------------------------------------------------


@pytest.mark.parametrize(("window", "chunk"), [(1, 5), (4, 7), (10, 1), (30, 1000)])
def test_cross_ld_profile__matches_full_correlation_matrix(write_plink, rng, window, chunk):
    G = simulate_blocks(rng, 120, [15, 30, 20])
    G[rng.random(G.shape) < 0.05] = np.nan
    bfile = Bfile.open(write_plink(G))
    profile = cross_ld_profile(bfile, np.arange(G.shape[1]), window=window, chunk=chunk)
    np.testing.assert_allclose(profile, brute_profile(G, window), rtol=1e-9, atol=1e-9)


def test_cross_ld_profile__follows_given_variant_order(write_plink, rng):
    G = simulate_blocks(rng, 100, [12, 12])
    bfile = Bfile.open(write_plink(G))
    subset = np.array([0, 2, 3, 7, 8, 13, 15, 20, 23])
    profile = cross_ld_profile(bfile, subset, window=3, chunk=4)
    np.testing.assert_allclose(profile, brute_profile(G[:, subset], 3), rtol=1e-9)


# --- partition ----------------------------------------------------------------------------


def test_partition__places_boundaries_at_planted_breaks(write_plink, rng):
    sizes = [70, 130, 90, 110]
    G = simulate_blocks(rng, 400, sizes)
    profile = cross_ld_profile(Bfile.open(write_plink(G)), np.arange(G.shape[1]), window=20, chunk=64)
    boundaries = partition(profile, target=100, min_size=20, max_size=400)
    np.testing.assert_array_equal(boundaries, np.cumsum(sizes)[:-1] - 1)


def test_partition__respects_min_and_max_sizes_on_random_profiles():
    rng = np.random.default_rng(7)
    for _ in range(300):
        m = int(rng.integers(1, 3000))
        min_size = int(rng.integers(1, 60))
        target = int(rng.integers(min_size, 400))
        max_size = int(rng.integers(max(target, 2 * min_size), 800))
        profile = rng.exponential(size=m - 1) * rng.choice([1, 1e3], size=m - 1)
        boundaries = partition(profile, target=target, min_size=min_size, max_size=max_size)
        sizes = np.diff(np.concatenate([[-1], boundaries, [m - 1]]))
        assert (np.diff(boundaries) > 0).all() and (boundaries >= 0).all() and (boundaries <= m - 2).all()
        assert sizes.max() <= max_size
        assert sizes.min() >= min(min_size, m)


def test_split_oversized__cuts_weakest_gap_without_small_blocks():
    profile = np.full(199, 5.0)
    profile[[3, 50, 120, 190]] = [0.0, 2.0, 1.0, 0.5]  # gaps 3 and 190 would leave blocks < 10
    assert split_oversized(profile, np.zeros(0, int), min_size=10, max_size=80).tolist() == [50, 120]
    assert split_oversized(profile, np.array([100]), min_size=10, max_size=80).tolist() == [50, 100, 120]


def test_partition__never_cuts_at_infinite_gaps():
    profile = np.ones(199)
    profile[90:110] = np.inf
    profile[50] = 0.5
    boundaries = partition(profile, target=100, min_size=10, max_size=150)
    assert boundaries.tolist() == [50]
    assert split_oversized(np.full(99, np.inf), np.zeros(0, int), min_size=10, max_size=50).tolist() == []


def test_partition__rejects_inconsistent_sizes():
    with pytest.raises(ValueError, match="max_size >= 2 \\* min_size"):
        partition(np.ones(10), target=30, min_size=20, max_size=30)


# --- make_ld_blocks -----------------------------------------------------------------------


def two_chromosome_panel(write_plink, rng, sizes1, sizes2):
    """Planted-block genotypes on chromosomes 1 and 2 (positions 1000 bp apart)."""
    G = np.hstack([simulate_blocks(rng, 400, sizes1), simulate_blocks(rng, 400, sizes2)])
    bim = pd.concat([make_bim(sum(sizes1), "1"), make_bim(sum(sizes2), "2")], ignore_index=True)
    return write_plink(G, make_fam(400), bim), G, bim


def test_make_ld_blocks__data_partition_finds_breaks_and_round_trips(write_plink, rng, tmp_path):
    prefix, _, bim = two_chromosome_panel(write_plink, rng, [70, 130], [90, 130, 80])
    out = make_ld_blocks(
        prefix, tmp_path / "blocks.tsv", tmp_path / "report.tsv", source="data",
        target_variants=100, min_variants=20, max_variants=400, window=20, chunk=50,
    )
    written = pd.read_csv(tmp_path / "blocks.tsv", sep="\t", dtype={"chrom": str})
    pd.testing.assert_frame_equal(written, out.reset_index(drop=True), check_dtype=False)
    assert out.block.tolist() == ["1_0001", "1_0002", "2_0001", "2_0002", "2_0003"]
    assert out.n_variants.tolist() == [70, 130, 90, 130, 80]
    assert out.first_id.tolist() == ["1:1000", "1:71000", "2:1000", "2:91000", "2:221000"]
    assert out.last_id.tolist() == ["1:70000", "1:200000", "2:90000", "2:220000", "2:300000"]
    expected = np.repeat(np.arange(5), [70, 130, 90, 130, 80])
    np.testing.assert_array_equal(assign_blocks(bim, read_block_table(tmp_path / "blocks.tsv")), expected)
    report = pd.read_csv(tmp_path / "report.tsv", sep="\t", dtype={"chrom": str})
    summary = report[["chrom", "n_variants", "n_outside", "blocks"]].values.tolist()
    assert summary == [["1", 200, 0, 2], ["2", 300, 0, 3]]


def test_make_ld_blocks__never_separates_variants_at_one_position(write_plink, rng, tmp_path):
    G = simulate_blocks(rng, 300, [70, 130])
    bim = make_bim(200)
    bim.loc[70, "POS"] = bim.POS[69]  # the planted break now falls between two variants at one position
    prefix = write_plink(G, make_fam(300), bim)
    out = make_ld_blocks(prefix, tmp_path / "b.tsv", source="data", target_variants=100, min_variants=20,
                         max_variants=400, window=20)
    assert len(out) == 2 and out.n_variants.iloc[0] in (69, 71)
    counts = np.bincount(assign_blocks(bim, read_block_table(tmp_path / "b.tsv")))
    assert counts.tolist() == out.n_variants.tolist()


def test_make_ld_blocks__table_reports_outside_variants_and_drops_empty_blocks(write_plink, rng, tmp_path, caplog):
    prefix, _, bim = two_chromosome_panel(write_plink, rng, [40, 40], [50])
    # chr1 variants at 1000..80000, chr2 at 1000..50000. Block 1:0-20000 ends at variant 1:20000
    # (exclusive); 1:30000-1:40000 is a gap; 3 has no variants; chr2 is absent (all outside).
    table = write_table(
        tmp_path / "t.bed",
        "chrom\tstart\tstop\n1\t0\t20000\n1\t20000\t30000\n1\t40000\t80000\n3\t0\t1000\n",
    )
    with caplog.at_level(logging.WARNING, logger="phenomap.ld.blocks"):
        out = make_ld_blocks(prefix, tmp_path / "b.tsv", tmp_path / "r.tsv", source="file", table=table,
                             min_variants=5, target_variants=10, max_variants=100)
    assert out[["chrom", "start", "stop", "block", "n_variants", "first_id", "last_id"]].values.tolist() == [
        ["1", 0, 20000, "1_0001", 19, "1:1000", "1:19000"],
        ["1", 20000, 30000, "1_0002", 10, "1:20000", "1:29000"],
        ["1", 40000, 80000, "1_0003", 40, "1:40000", "1:79000"],
    ]
    assert "61 of 130 variants lie outside every block" in caplog.text and "1:30000" in caplog.text
    report = pd.read_csv(tmp_path / "r.tsv", sep="\t", dtype={"chrom": str}, keep_default_na=False)
    assert report[["chrom", "n_variants", "n_outside", "example_outside", "table_blocks", "empty_blocks", "blocks"]
                  ].values.tolist() == [
        ["1", 80, 11, "1:30000", 3, 0, 3], ["2", 50, 50, "2:1000", 0, 0, 0], ["3", 0, 0, "", 1, 1, 0],
    ]
    outside = assign_blocks(bim, read_block_table(tmp_path / "b.tsv")) == -1
    assert int(outside.sum()) == 61


def test_make_ld_blocks__splits_long_table_blocks_at_weakest_gap(write_plink, rng, tmp_path):
    G = simulate_blocks(rng, 400, [70, 130, 100])
    prefix = write_plink(G, make_fam(400), make_bim(300))
    table = write_table(tmp_path / "t.bed", "chrom\tstart\tstop\n1\t500\t200500\n1\t200500\t400000\n")
    out = make_ld_blocks(prefix, tmp_path / "b.tsv", source="file", table=table,
                         min_variants=20, target_variants=100, max_variants=150, window=20)
    assert out[["start", "stop", "n_variants"]].values.tolist() == [
        [500, 71000, 70], [71000, 200500, 130], [200500, 400000, 100],
    ]


def test_make_ld_blocks__shipped_table_by_population_and_build(write_plink, rng, tmp_path):
    blocks = read_block_table(RESOURCES / "ld_blocks" / "EUR.hg19.bed")
    chr22 = blocks[blocks.chrom == "22"].iloc[:2]
    first, stop = chr22.start.iloc[0], chr22.stop.iloc[1]
    pos = np.sort(np.append(rng.integers(first, stop, 60), first - 5))  # one variant before chr22's first block
    bim = make_bim(len(pos), "22").assign(POS=pos, ID=[f"v{i}" for i in range(len(pos))])
    prefix = write_plink(simulate_blocks(rng, 100, [len(pos)]), make_fam(100), bim)
    out = make_ld_blocks(prefix, tmp_path / "b.tsv", source="shipped", population="EUR", build="hg19",
                         resources_dir=RESOURCES, min_variants=5, target_variants=10, max_variants=100)
    assert out[["chrom", "start", "stop"]].values.tolist() == chr22[["chrom", "start", "stop"]].values.tolist()
    assert out.n_variants.sum() == 60 and out.first_id.iloc[0] == "v1"


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"source": "ldetect"}, "unknown LD-block source 'ldetect'"),
        ({"source": "shipped", "population": "EUR"}, "need the cohort's `population` and `build`"),
        ({"source": "file"}, "need the path of the table"),
        ({"source": "data", "min_variants": 60, "max_variants": 100}, "max_variants >= 2 \\* min_variants"),
    ],
)
def test_make_ld_blocks__rejects_bad_settings(write_plink, rng, tmp_path, options, message):
    prefix = write_plink(rng.binomial(2, 0.5, (20, 10)).astype(float))
    with pytest.raises(InputError, match=message):
        make_ld_blocks(prefix, tmp_path / "b.tsv", **options)


def test_make_ld_blocks__rejects_table_that_misses_the_panel(write_plink, rng, tmp_path):
    prefix = write_plink(rng.binomial(2, 0.5, (20, 10)).astype(float))
    table = write_table(tmp_path / "t.bed", "chrom\tstart\tstop\n2\t0\t1000000\n")
    with pytest.raises(InputError, match="lies in any block of .*t.bed.*genome build"):
        make_ld_blocks(prefix, tmp_path / "b.tsv", source="file", table=table)
    assert not (tmp_path / "b.tsv").exists()
