"""Summary-statistics import and harmonisation: planted truth, plink2 cross-check, every error path."""

from __future__ import annotations

import gzip
import logging
import re
import subprocess

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from phenomap_testing import make_bim, make_fam, needs_plink2
from phenomap.errors import InputError
from phenomap.io.plink import Bfile, read_bim
from phenomap.io.sumstats import (
    CONTRACT_COLUMNS,
    DROP_REASONS,
    MATCH_COUNTS,
    harmonise,
    harmonise_sumstats,
    panel_a1_freq,
    read_sumstats,
)
from phenomap.io.tables import write_tsv

# Non-ambiguous panel allele pairs (A1, A2), cycled over the variants.
PAIRS = [("A", "G"), ("C", "T"), ("A", "C"), ("G", "T"), ("T", "C"), ("G", "A")]
COMPLEMENT = str.maketrans("ACGT", "TGCA")


def panel_bim(m: int) -> pd.DataFrame:
    bim = make_bim(m)
    bim["ID"] = [f"rs{100 + i}" for i in range(m)]
    bim["A1"] = [PAIRS[i % len(PAIRS)][0] for i in range(m)]
    bim["A2"] = [PAIRS[i % len(PAIRS)][1] for i in range(m)]
    return bim


def truth_sumstats(bim: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    """Contract table oriented like ``bim`` (what harmonise must give back)."""
    m = len(bim)
    beta, se = rng.normal(0, 0.1, m), rng.uniform(0.02, 0.05, m)
    z = beta / se
    return pd.DataFrame(
        {
            "CHROM": bim.CHROM.to_numpy(), "POS": bim.POS.to_numpy(), "ID": bim.ID.to_numpy(),
            "A1": bim.A1.to_numpy(), "A2": bim.A2.to_numpy(), "A1_FREQ": rng.uniform(0.05, 0.95, m),
            "N": 1000.0, "BETA": beta, "SE": se, "Z": z, "P": 2 * stats.norm.sf(np.abs(z)),
        }
    )


def swap(table: pd.DataFrame, rows: np.ndarray) -> pd.DataFrame:
    """The same associations reported for the other allele on ``rows``."""
    out = table.copy()
    out.loc[rows, ["A1", "A2"]] = table.loc[rows, ["A2", "A1"]].to_numpy()
    out.loc[rows, ["BETA", "Z"]] *= -1
    out.loc[rows, "A1_FREQ"] = 1 - table.loc[rows, "A1_FREQ"]
    return out


def strand_flip(table: pd.DataFrame, rows: np.ndarray) -> pd.DataFrame:
    out = table.copy()
    for col in ("A1", "A2"):
        out.loc[rows, col] = table.loc[rows, col].str.translate(COMPLEMENT)
    return out


def counts(result) -> dict[str, int]:
    return dict(zip(result.log.reason, result.log.n))


def assert_equal_truth(table: pd.DataFrame, truth: pd.DataFrame) -> None:
    assert list(table.columns) == CONTRACT_COLUMNS
    pd.testing.assert_frame_equal(table.reset_index(drop=True), truth.reset_index(drop=True), check_dtype=False)


def test_harmonise__swapped_alleles_restore_truth(rng):
    bim = panel_bim(12)
    truth = truth_sumstats(bim, rng)
    swapped_rows = np.array([1, 4, 5, 9])
    result = harmonise(swap(truth, swapped_rows), bim)
    assert_equal_truth(result.table, truth)
    c = counts(result)
    assert c["matched"] == 12 and c["swapped"] == 4 and c["strand_flipped"] == 0
    assert all(c[reason] == 0 for reason in DROP_REASONS)
    assert result.log.set_index("reason").loc["swapped", "example_id"] == "rs101"


def test_harmonise__strand_flipped_alleles_are_matched(rng):
    bim = panel_bim(12)
    truth = truth_sumstats(bim, rng)
    reported = strand_flip(swap(truth, np.array([2, 3])), np.array([0, 3, 7]))
    result = harmonise(reported, bim)
    assert_equal_truth(result.table, truth)
    c = counts(result)
    assert (c["matched"], c["swapped"], c["strand_flipped"]) == (12, 2, 3)


def test_harmonise__indels_are_swapped_but_never_strand_flipped(rng):
    bim = panel_bim(3)
    bim.loc[[0, 1], ["A1", "A2"]] = [["TA", "T"], ["G", "GCC"]]
    truth = truth_sumstats(bim, rng)
    reported = swap(truth, np.array([1]))
    reported.loc[0, ["A1", "A2"]] = ["AT", "A"]  # the complement of TA/T: not the same indel
    result = harmonise(reported, bim)
    assert_equal_truth(result.table, truth.iloc[[1, 2]])
    c = counts(result)
    assert (c["matched"], c["swapped"], c["allele_mismatch"]) == (2, 1, 1)


def test_harmonise__drops_are_counted_by_reason(rng, caplog):
    bim = panel_bim(12)
    bim.loc[[2, 6], ["A1", "A2"]] = [["A", "T"], ["G", "C"]]  # strand-ambiguous in the panel
    truth = truth_sumstats(bim, rng)
    reported = truth.copy()
    reported.loc[3, "A2"] = "A"  # panel G/T -> G/A: allele mismatch
    reported.loc[8, "A2"] = "A"  # panel T/C -> T/A: a mismatch, not ambiguous (not the panel's pair)
    reported.loc[10, "ID"] = "rs_unknown"
    reported = pd.concat([reported, reported.iloc[[5]]], ignore_index=True)  # rs105 twice
    with caplog.at_level(logging.WARNING, logger="phenomap.io.sumstats"):
        result = harmonise(reported, bim, source="gwas.tsv")
    c = counts(result)
    assert c == {
        "plink2_error": 0, "missing_statistic": 0, "not_in_panel": 1, "ambiguous": 2, "allele_mismatch": 2,
        "duplicate": 2, "matched": 6, "swapped": 0, "strand_flipped": 0, "ambiguous_by_freq": 0,
        "panel_without_sumstats": 6,
    }
    assert len(reported) == sum(c[r] for r in DROP_REASONS) + c["matched"]
    examples = result.log.set_index("reason").example_id
    assert (examples["not_in_panel"], examples["ambiguous"], examples["allele_mismatch"], examples["duplicate"]) == (
        "rs_unknown", "rs102", "rs103", "rs105",
    )
    kept = [0, 1, 4, 7, 9, 11]
    assert_equal_truth(result.table, truth.iloc[kept])
    messages = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert any("2 variants as duplicate (e.g. rs105)" in msg and "gwas.tsv" in msg for msg in messages)
    assert any("2 variants as ambiguous (e.g. rs102); no panel allele frequencies" in msg for msg in messages)
    assert len(messages) == 4


def test_harmonise__output_in_panel_order_when_input_shuffled(rng):
    bim = panel_bim(30)
    truth = truth_sumstats(bim, rng)
    shuffled = swap(truth, np.arange(0, 30, 3)).iloc[rng.permutation(30)]
    result = harmonise(shuffled, bim)
    assert_equal_truth(result.table, truth)


def test_harmonise__chr_prefixed_chrom_matched_by_chrompos(rng, tmp_path):
    bim = panel_bim(10)
    truth = truth_sumstats(bim, rng)
    reported = swap(truth, np.array([0, 9])).assign(CHROM="chr1", ID=[f"var{i}" for i in range(10)])
    path = tmp_path / "gwas.tsv"
    write_tsv(reported, path)
    result = harmonise(read_sumstats(path), bim)  # IDs unknown to the panel: auto -> chrompos
    assert_equal_truth(result.table, truth)
    assert counts(result)["swapped"] == 2


def test_harmonise__chrompos_picks_the_allele_consistent_variant_at_a_shared_position(rng):
    bim = panel_bim(4)
    bim.loc[1, ["POS", "A1", "A2"]] = [bim.POS[0], "A", "T"]  # a second (ambiguous) variant at 1:1000
    bim.loc[2, ["POS", "A1", "A2"]] = [bim.POS[3], "G", "C"]
    bim.loc[3, ["A1", "A2"]] = ["G", "T"]
    truth = truth_sumstats(bim, rng)
    reported = truth.iloc[[0, 3]].assign(ID=["a", "b"])
    result = harmonise(reported, bim, match_by="chrompos")
    assert_equal_truth(result.table, truth.iloc[[0, 3]])
    assert counts(result)["ambiguous"] == 0


def test_harmonise__plink1_rows_take_a2_from_the_panel(rng):
    bim = panel_bim(6)
    bim.loc[4, ["A1", "A2"]] = ["C", "G"]
    truth = truth_sumstats(bim, rng)
    reported = swap(truth, np.array([1, 2])).assign(A2=pd.NA)
    reported.loc[3, "A1"] = "A"  # panel G/T
    result = harmonise(reported, bim)
    assert_equal_truth(result.table, truth.iloc[[0, 1, 2, 5]])
    c = counts(result)
    assert (c["matched"], c["swapped"], c["allele_mismatch"], c["ambiguous"]) == (4, 2, 1, 1)


def test_harmonise__nothing_matched_raises_with_examples(rng):
    bim = panel_bim(5)
    reported = truth_sumstats(bim, rng).assign(ID=lambda d: "X" + d.ID, POS=lambda d: d.POS + 7)
    with pytest.raises(InputError, match=r"gwas.tsv: none of its 5 variants.*Xrs100.*rs100 \(1:1000\).*match_by"):
        harmonise(reported, bim, source="gwas.tsv")


def test_harmonise__unknown_match_by_raises(rng):
    bim = panel_bim(3)
    with pytest.raises(InputError, match="match_by 'pos' is unknown"):
        harmonise(truth_sumstats(bim, rng), bim, match_by="pos")


def write_covariate_fileset(tmp_path, write_plink, rng):
    """Fileset, phenotype and covariates with missing values; returns (prefix, G, y, C)."""
    n, m = 120, 6
    G = rng.binomial(2, [0.2, 0.3, 0.4, 0.6, 0.7, 0.5], size=(n, m)).astype(float)
    G[rng.random((n, m)) < 0.03] = np.nan
    bim = make_bim(m)
    bim[["A1", "A2"]] = [("A", "G"), ("C", "T"), ("G", "A"), ("T", "C"), ("A", "C"), ("G", "T")]
    prefix = write_plink(G, bim=bim)
    fam = make_fam(n)
    C = rng.normal(size=(n, 2))
    y = np.nan_to_num(G[:, 0]) * 0.4 + C @ [0.5, -0.3] + rng.normal(size=n)
    y[[3, 17]] = np.nan
    C[[5, 40], 1] = np.nan
    samples = {"FID": fam.FID, "IID": fam.IID}
    write_tsv(pd.DataFrame(samples | {"y": y}), tmp_path / "pheno.tsv")
    write_tsv(pd.DataFrame(samples | {"age": C[:, 0], "pc1": C[:, 1]}), tmp_path / "covar.tsv")
    return prefix, G, y, C


def ols(g, y, C):
    """BETA, SE, sample count and A1 frequency of g in y ~ 1 + g + C over complete cases."""
    keep = ~np.isnan(g) & ~np.isnan(y) & ~np.isnan(C).any(axis=1)
    X = np.column_stack([np.ones(keep.sum()), g[keep], C[keep]])
    coef, rss, *_ = np.linalg.lstsq(X, y[keep], rcond=None)
    sigma2 = rss[0] / (keep.sum() - X.shape[1])
    return coef[1], np.sqrt(sigma2 * np.linalg.inv(X.T @ X)[1, 1]), keep.sum(), g[keep].mean() / 2


@needs_plink2
@pytest.mark.parametrize("modifiers", [[], ["hide-covar", "cols=+a1freq"]])
def test_read_sumstats__plink2_glm_matches_numpy_ols(tmp_path, write_plink, rng, modifiers):
    prefix, G, y, C = write_covariate_fileset(tmp_path, write_plink, rng)
    out = tmp_path / "gwas"
    subprocess.run(
        ["plink2", "--bfile", prefix, "--pheno", tmp_path / "pheno.tsv", "--covar", tmp_path / "covar.tsv",
         "--glm", *modifiers, "--threads", "1", "--out", out],
        check=True, capture_output=True,
    )
    path = tmp_path / "gwas.y.glm.linear"
    assert ("age" in path.read_text()) == (not modifiers)  # covariate rows exist without hide-covar
    table = read_sumstats(path)
    bim = read_bim(prefix)
    assert table.ID.tolist() == bim.ID.tolist()
    # plink2 reports the minor allele as A1 (here the .bim's A2 where its A1 is common)
    reported_is_bim_a1 = (table.A1 == bim.A1).to_numpy()
    assert reported_is_bim_a1.tolist() == (np.nanmean(G, axis=0) <= 1).tolist()
    pd.testing.assert_series_equal(table.A2, bim.A2.where(reported_is_bim_a1, bim.A1), check_dtype=False)
    G_reported = np.where(reported_is_bim_a1, G, 2 - G)
    expected = np.array([ols(G_reported[:, j], y, C) for j in range(G.shape[1])])
    np.testing.assert_allclose(table.BETA, expected[:, 0], rtol=1e-5)  # plink2 prints 6 significant digits
    np.testing.assert_allclose(table.SE, expected[:, 1], rtol=1e-5)
    np.testing.assert_array_equal(table.N, expected[:, 2])
    if modifiers:
        np.testing.assert_allclose(table.A1_FREQ, expected[:, 3], rtol=1e-5)  # over the regression's samples
    else:
        assert table.A1_FREQ.isna().all()

    result = harmonise(table, bim)
    np.testing.assert_allclose(result.table.BETA, [ols(G[:, j], y, C)[0] for j in range(G.shape[1])], rtol=1e-5)
    assert counts(result)["swapped"] == (~reported_is_bim_a1).sum() > 0


PLINK1_LINEAR = """\
 CHR        SNP         BP   A1       TEST    NMISS       BETA         STAT            P
   1     rs100       1000    G        ADD      980    -0.1234       -2.468      0.01376
   1     rs100       1000    G        COV1     980     0.0312        1.04        0.2985
   1     rs101       2000    C        ADD      975     0.05          1.25        0.2116
   1     rs101       2000    C        COV1     975     0.0311        1.03        0.3031
   1     rs102       3000    T        ADD      990         NA           NA           NA
   1     rs102       3000    T        COV1     990     0.0300        1.00        0.3173
"""


def test_read_sumstats__plink1_linear_derives_se_and_takes_a2_from_panel(tmp_path):
    path = tmp_path / "gwas.assoc.linear"
    path.write_text(PLINK1_LINEAR)
    table = read_sumstats(path, allow_missing=True)
    assert table.ID.tolist() == ["rs100", "rs101"]
    assert table.A2.isna().all()
    np.testing.assert_allclose(table.SE, [0.1234 / 2.468, 0.04])
    np.testing.assert_allclose(table.Z, [-2.468, 1.25])
    np.testing.assert_allclose(table.P, [0.01376, 0.2116])
    np.testing.assert_array_equal(table.N, [980, 975])
    assert table.attrs["dropped"] == {"missing_statistic": (1, "rs102")}

    bim = panel_bim(3)  # rs100 A/G (G reported: swap), rs101 C/T (C reported: keep)
    result = harmonise(table, bim)
    assert result.table.A2.tolist() == ["G", "T"]
    np.testing.assert_allclose(result.table.BETA, [0.1234, 0.05])
    assert counts(result)["missing_statistic"] == 1 and counts(result)["swapped"] == 1


def test_read_sumstats__generic_csv_with_column_map(tmp_path):
    path = tmp_path / "gwas.csv"
    path.write_text(
        "rsid,chr,bp,effect_allele,other_allele,eaf,beta,se,n\n"
        "rs1,chr2,500,a,g,0.2,0.1,0.05,5000\n"
        "rs2,chrX,900,T,C,0.7,-0.3,0.1,4990\n"
    )
    columns = {"CHROM": "chr", "POS": "bp", "ID": "rsid", "A1": "effect_allele", "A2": "other_allele",
               "BETA": "beta", "SE": "se", "A1_FREQ": "eaf", "N": "n"}
    table = read_sumstats(path, columns=columns)
    expected = pd.DataFrame(
        {"CHROM": ["2", "X"], "POS": [500, 900], "ID": ["rs1", "rs2"], "A1": ["A", "T"], "A2": ["G", "C"],
         "A1_FREQ": [0.2, 0.7], "N": [5000.0, 4990.0], "BETA": [0.1, -0.3], "SE": [0.05, 0.1],
         "Z": [2.0, -3.0], "P": 2 * stats.norm.sf([2.0, 3.0])}
    )
    pd.testing.assert_frame_equal(table, expected, check_dtype=False)


def test_read_sumstats__whitespace_table_takes_n_from_argument(tmp_path):
    path = tmp_path / "gwas.txt"
    path.write_text("CHROM POS A1 A2 BETA SE P\n1 1000 A G 0.5 0.25 0.04\n")
    table = read_sumstats(path, n=321)
    assert table.ID.tolist() == ["1:1000"]
    assert table.N.tolist() == [321.0] and table.P.tolist() == [0.04]
    assert table.A1_FREQ.isna().all()


def test_read_sumstats__reads_gzipped_plink1_output(tmp_path):
    path = tmp_path / "gwas.assoc.linear.gz"
    with gzip.open(path, "wt") as handle:
        handle.write(PLINK1_LINEAR)
    table = read_sumstats(path, allow_missing=True)
    assert table.ID.tolist() == ["rs100", "rs101"] and table.BETA.tolist() == [-0.1234, 0.05]


def test_harmonise_sumstats__writes_contract_that_reads_back(tmp_path, write_plink, rng):
    bim = panel_bim(8)
    truth = truth_sumstats(bim, rng)
    prefix = write_plink(np.zeros((4, 8)), bim=bim)
    src = tmp_path / "gwas.tsv"
    write_tsv(swap(truth, np.array([2, 5])).iloc[::-1], src)
    result = harmonise_sumstats(src, prefix, tmp_path / "out/h.tsv", tmp_path / "out/h.log.tsv")
    assert_equal_truth(read_sumstats(tmp_path / "out/h.tsv"), result.table)
    pd.testing.assert_frame_equal(read_sumstats(tmp_path / "out/h.tsv"), truth, check_dtype=False, rtol=1e-9)
    written_log = pd.read_csv(tmp_path / "out/h.log.tsv", sep="\t")
    assert written_log.reason.tolist() == [*DROP_REASONS, *MATCH_COUNTS]
    assert written_log.n.tolist() == [0, 0, 0, 0, 0, 0, 8, 2, 0, 0, 0]


GOOD = {"CHROM": "1", "POS": "1000", "ID": "rs1", "A1": "A", "A2": "G", "N": "100", "BETA": "0.1", "SE": "0.05",
        "P": "0.04"}


def write_table(path, *rows: dict[str, str]) -> None:
    """A contract-like TSV: a good first row, then ``rows`` (overrides of the good values, ID rs2...)."""
    lines = [GOOD] + [GOOD | {"POS": str(2000 + i), "ID": f"rs{i + 2}"} | row for i, row in enumerate(rows)]
    path.write_text("\t".join(GOOD) + "\n" + "".join("\t".join(line.values()) + "\n" for line in lines))


AT_ROW_2 = r" at data row 2 \(ID rs2\)"


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        ({"BETA": "big"}, r"'BETA' is not numeric \(value 'big'\)" + AT_ROW_2),
        ({"SE": "?"}, r"'SE' is not numeric \(value '\?'\)" + AT_ROW_2),
        ({"P": "p<1e-8"}, r"'P' is not numeric \(value 'p<1e-8'\)" + AT_ROW_2),
        ({"N": "many"}, r"'N' is not numeric \(value 'many'\)" + AT_ROW_2),
        ({"SE": "0"}, r"'SE' is not a positive finite SE \(value 0\)" + AT_ROW_2),
        ({"SE": "-0.2"}, r"'SE' is not a positive finite SE \(value -0.2\)" + AT_ROW_2),
        ({"SE": "inf"}, r"'SE' is not a positive finite SE \(value inf\)" + AT_ROW_2),
        ({"BETA": "inf"}, r"'BETA' is infinite \(value inf\)" + AT_ROW_2),
        ({"P": "7.3"}, r"'P' is outside \[0, 1\] \(value 7.3\)" + AT_ROW_2 + r".*-log10"),
        ({"BETA": "NA"}, r"BETA or SE is missing" + AT_ROW_2 + r".*allow_missing"),
        ({"SE": "."}, r"BETA or SE is missing" + AT_ROW_2),
        ({"N": "0"}, r"'N' is not positive \(value 0\)" + AT_ROW_2),
        ({"A2": "NA"}, r"'A2' has a missing allele \(value 'NA'\)" + AT_ROW_2),
        ({"A1": "g"}, r"A1 equals A2 \(value 'G'\)" + AT_ROW_2),
        ({"POS": "abc"}, r"'POS' is not a non-negative integer position \(value 'abc'\)" + AT_ROW_2),
        ({"CHROM": "chr1_random"}, r"unknown chromosome name 'chr1_random' at data row 2"),
    ],
)
def test_read_sumstats__bad_values_raise(tmp_path, bad, message):
    path = tmp_path / "gwas.tsv"
    write_table(path, bad)
    with pytest.raises(InputError, match=re.escape(str(path)) + ": .*" + message):
        read_sumstats(path)


def test_read_sumstats__allow_missing_drops_and_counts(tmp_path, caplog):
    path = tmp_path / "gwas.tsv"
    write_table(path, {"BETA": "NA", "SE": "NA", "P": "NA"})
    with caplog.at_level(logging.WARNING, logger="phenomap.io.sumstats"):
        table = read_sumstats(path, allow_missing=True)
    assert table.ID.tolist() == ["rs1"]
    assert "dropped 1 rows with missing BETA or SE (e.g. rs2)" in caplog.text
    result = harmonise(table, make_bim(1).assign(ID="rs1"))
    assert result.log.set_index("reason").loc["missing_statistic"].tolist() == [1, "rs2"]


def test_read_sumstats__missing_file_raises(tmp_path):
    with pytest.raises(InputError, match=r"nothere.tsv does not exist: check the path"):
        read_sumstats(tmp_path / "nothere.tsv")


@pytest.mark.parametrize(
    ("header", "columns", "message"),
    [
        ("CHROM\tPOS\tID\tA1\tA2\tN\tbeta\tSE", None,
         r"no column for BETA: looked for 'BETA'; found columns \['CHROM'.*'beta'.*columns: \{BETA: <column name>\}"),
        ("CHROM\tPOS\tID\tA1\tA2\tN\tBETA\tSE", {"A1": "effect_allele"},
         r"no column for A1: looked for 'effect_allele'"),
        ("POS\tA1\tA2\tN\tBETA\tSE", None, r"no column for ID: looked for 'ID' \(or both CHROM and POS\)"),
        ("CHROM\tPOS\tID\tA1\tN\tBETA\tSE", None, r"no column for A2"),
        ("CHROM\tPOS\tID\tA1\tA2\tN\tBETA", None, r"no column for SE"),
        ("CHROM\tPOS\tID\tA1\tA2\tBETA\tSE", None,
         r"no sample-size column: add an N column .* or set n in the config"),
    ],
)
def test_read_sumstats__missing_column_raises(tmp_path, header, columns, message):
    path = tmp_path / "gwas.tsv"
    values = GOOD | {"beta": "0.1"}
    path.write_text(header + "\n" + "\t".join(values[c] for c in header.split("\t")) + "\n")
    with pytest.raises(InputError, match=re.escape(str(path)) + ".*" + message):
        read_sumstats(path, columns=columns)


def test_read_sumstats__plink_output_without_additive_rows_raises(tmp_path):
    path = tmp_path / "gwas.assoc.linear"
    path.write_text(PLINK1_LINEAR.replace("ADD", "DOMDEV"))
    with pytest.raises(InputError, match=r"no rows with TEST == ADD \(found TEST values \['COV1', 'DOMDEV'\]\)"):
        read_sumstats(path)


def test_read_sumstats__bad_settings_raise(tmp_path):
    path = tmp_path / "gwas.tsv"
    write_table(path)
    with pytest.raises(InputError, match="format 'vcf' is unknown"):
        read_sumstats(path, fmt="vcf")
    with pytest.raises(InputError, match=r"unknown key\(s\) \['EFFECT'\]"):
        read_sumstats(path, columns={"EFFECT": "BETA"})
    empty = tmp_path / "empty.tsv"
    empty.write_text("\t".join(GOOD) + "\n")
    with pytest.raises(InputError, match="empty.tsv has no data rows"):
        read_sumstats(empty)


# --- strand-ambiguous (A/T, C/G) variants -----------------------------------------------------

PALINDROMES = [("A", "T"), ("T", "A"), ("C", "G"), ("G", "C")]


def palindromic_panel(m: int) -> pd.DataFrame:
    bim = panel_bim(m)
    bim["A1"] = [PALINDROMES[i % 4][0] for i in range(m)]
    bim["A2"] = [PALINDROMES[i % 4][1] for i in range(m)]
    return bim


def test_harmonise__same_genotypes_keeps_ambiguous_variants_with_their_signs(rng):
    # The mice: statistics from the panel's own genotypes, reported for either allele (plink2
    # reports the minor one). Literally compared, every A/T and C/G variant is kept.
    bim = palindromic_panel(16)
    bim.loc[[14, 15], ["A1", "A2"]] = [["A", "G"], ["C", "T"]]
    truth = truth_sumstats(bim, rng)
    reported = swap(truth, np.array([1, 2, 5, 8, 11, 14]))
    reported = strand_flip(reported, np.array([15]))  # not possible from the same genotypes
    result = harmonise(reported, bim, same_genotypes=True)
    assert_equal_truth(result.table, truth.iloc[:15])
    c = counts(result)
    assert (c["matched"], c["swapped"], c["ambiguous"], c["strand_flipped"], c["allele_mismatch"]) == (15, 6, 0, 0, 1)
    assert counts(harmonise(reported, bim))["ambiguous"] == 14  # external: nothing to orient them by


def frequency_case_sumstats(rng):
    """Panel of 10 A/T-C/G variants with A1 frequencies ``f_panel``, the truth oriented to it
    (sumstats A1_FREQ on the same side of 0.5), and the statistics as reported: rows 0-1 as
    the panel, 2-3 swapped, 4-5 on the other strand, 6-7 both; rows 8-9 have a frequency
    within 0.1 of 0.5 in the sumstats (8) or the panel (9)."""
    bim = palindromic_panel(10)
    f_panel = np.array([0.2, 0.75, 0.15, 0.85, 0.3, 0.7, 0.1, 0.9, 0.2, 0.45])
    truth = truth_sumstats(bim, rng)
    truth["A1_FREQ"] = np.clip(f_panel + rng.uniform(-0.05, 0.05, 10), 0.01, 0.99)
    truth.loc[8, "A1_FREQ"] = 0.58
    reported = strand_flip(swap(truth, np.array([2, 3, 6, 7])), np.array([4, 5, 6, 7]))
    return bim, f_panel, truth, reported


def test_harmonise__external_ambiguous_variants_are_oriented_by_frequency(rng, caplog):
    bim, f_panel, truth, reported = frequency_case_sumstats(rng)
    # On the other strand, an A/T row reads like the swapped one: the literal sign is wrong.
    assert (reported.A1[4:6].to_numpy() == bim.A2[4:6].to_numpy()).all()

    with caplog.at_level(logging.WARNING, logger="phenomap.io.sumstats"):
        result = harmonise(reported, bim, panel_a1_freq=f_panel, source="gwas.tsv")

    assert_equal_truth(result.table, truth.iloc[:8])
    np.testing.assert_array_equal(np.sign(result.table.BETA), np.sign(truth.BETA[:8]))
    c = counts(result)
    assert (c["matched"], c["ambiguous_by_freq"], c["swapped"], c["strand_flipped"], c["ambiguous"]) == (8, 8, 4, 4, 2)
    examples = result.log.set_index("reason").example_id
    assert (examples["ambiguous_by_freq"], examples["ambiguous"]) == ("rs100", "rs108")
    assert "dropped 2 variants as ambiguous (e.g. rs108): A1 frequency within 0.1 of 0.5" in caplog.text


def test_harmonise__frequency_margin_is_strict_and_a_setting(rng):
    bim, f_panel, truth, reported = frequency_case_sumstats(rng)
    assert counts(harmonise(reported, bim, panel_a1_freq=f_panel, ambiguous_margin=0.0))["ambiguous"] == 0
    f_panel[0] = 0.4  # |0.4 - 0.5| = 0.1 is not > 0.1
    assert counts(harmonise(reported, bim, panel_a1_freq=f_panel))["ambiguous"] == 3
    with pytest.raises(InputError, match=r"ambiguous_margin = 0.5 is outside \[0, 0.5\)"):
        harmonise(reported, bim, ambiguous_margin=0.5)
    with pytest.raises(InputError, match=r"panel_a1_freq has shape \(3,\); it needs one entry per panel variant"):
        harmonise(reported, bim, panel_a1_freq=f_panel[:3])


def test_harmonise__ambiguous_without_sumstats_frequency_are_dropped_with_a_hint(rng, caplog):
    bim, f_panel, truth, reported = frequency_case_sumstats(rng)
    bim.loc[9, ["A1", "A2"]] = reported.loc[9, ["A1", "A2"]] = ["A", "G"]  # one unambiguous variant
    with caplog.at_level(logging.WARNING, logger="phenomap.io.sumstats"):
        result = harmonise(reported.assign(A1_FREQ=np.nan), bim, panel_a1_freq=f_panel)
    assert counts(result)["ambiguous"] == 9 and counts(result)["ambiguous_by_freq"] == 0
    assert "the summary statistics have no A1_FREQ: an effect-allele frequency column" in caplog.text


def test_harmonise_sumstats__panel_frequencies_come_from_its_genotypes(rng, write_plink, tmp_path):
    bim, f_panel, truth, reported = frequency_case_sumstats(rng)
    bim = pd.concat([bim, panel_bim(12).iloc[[10, 11]]], ignore_index=True)  # + rs110 A/G, rs111 C/T
    n = 400
    G = rng.binomial(2, np.r_[f_panel, 0.3, 0.3], size=(n, 12)).astype(float)
    G[rng.random(G.shape) < 0.02] = np.nan
    prefix = write_plink(G, bim=bim)
    reported = reported.drop(index=9)  # rs109 has no sumstats: its frequency is not read
    write_tsv(reported, tmp_path / "gwas.tsv")

    freq = panel_a1_freq(Bfile.open(prefix), np.array([0, 3, 11]), chunk=2)
    np.testing.assert_allclose(freq[[0, 3, 11]], np.nanmean(G[:, [0, 3, 11]], axis=0) / 2)
    assert np.isnan(np.delete(freq, [0, 3, 11])).all()

    result = harmonise_sumstats(tmp_path / "gwas.tsv", prefix, tmp_path / "h.tsv", tmp_path / "h.log.tsv")

    assert_equal_truth(result.table, truth.iloc[:8])
    c = counts(result)
    assert (c["ambiguous_by_freq"], c["ambiguous"], c["panel_without_sumstats"]) == (8, 1, 4)


@needs_plink2
def test_harmonise_sumstats__plink2_gwas_on_the_panel_keeps_ambiguous_hits(rng, write_plink, tmp_path):
    # The mice: plink2 --glm on the panel genotypes, a strong hit on a C/G SNP.
    n, m = 300, 8
    bim = palindromic_panel(m)
    G = rng.binomial(2, rng.uniform(0.1, 0.9, m), size=(n, m)).astype(float)
    prefix = write_plink(G, bim=bim)
    y = 0.6 * G[:, 2] + rng.normal(size=n)
    fam = make_fam(n)
    write_tsv(pd.DataFrame({"FID": fam.FID, "IID": fam.IID, "y": y}), tmp_path / "pheno.tsv")
    subprocess.run(
        ["plink2", "--bfile", prefix, "--pheno", tmp_path / "pheno.tsv", "--glm", "allow-no-covars",
         "--threads", "1", "--out", tmp_path / "gwas"],
        check=True, capture_output=True,
    )

    result = harmonise_sumstats(
        tmp_path / "gwas.y.glm.linear", prefix, tmp_path / "h.tsv", tmp_path / "h.log.tsv", same_genotypes=True
    )

    assert result.table.ID.tolist() == bim.ID.tolist()
    no_covariates = np.empty((n, 0))
    np.testing.assert_allclose(result.table.BETA, [ols(G[:, j], y, no_covariates)[0] for j in range(m)], rtol=1e-5)
    assert result.table.P[2] < 1e-9 and counts(result)["swapped"] > 0


# --- plink2 ERRCODE rows -------------------------------------------------------------------------

PLINK2_GLM = """\
#CHROM\tPOS\tID\tREF\tALT\tA1\tTEST\tOBS_CT\tBETA\tSE\tT_STAT\tP\tERRCODE
1\t1000\trs100\tG\tA\tA\tADD\t500\t0.12\t0.05\t2.4\t0.0167\t.
1\t2000\trs101\tT\tC\tC\tADD\t500\tNA\tNA\tNA\tNA\tCONST_OMITTED_ALLELE
1\t3000\trs102\tC\tA\tA\tADD\t500\t-0.2\t0.1\t-2\t0.0461\t.
1\t4000\trs103\tT\tG\tG\tADD\t500\tNA\tNA\tNA\tNA\tCORR_TOO_HIGH
1\t5000\trs104\tT\tC\tC\tADD\t500\tNA\tNA\tNA\tNA\tCONST_OMITTED_ALLELE
"""


def test_read_sumstats__plink2_error_rows_are_dropped_and_counted_by_code(tmp_path, caplog):
    path = tmp_path / "gwas.y.glm.linear"
    path.write_text(PLINK2_GLM)
    with caplog.at_level(logging.WARNING, logger="phenomap.io.sumstats"):
        table = read_sumstats(path)  # no allow_missing needed
    assert table.ID.tolist() == ["rs100", "rs102"]
    assert table.attrs["dropped"] == {"plink2_error": (3, "rs101")}
    expected = "dropped 3 rows plink2 reports as failed: ERRCODE CONST_OMITTED_ALLELE 2, CORR_TOO_HIGH 1 (e.g. rs101)"
    assert expected in caplog.text
    bim = make_bim(5).assign(ID=[f"rs{100 + i}" for i in range(5)])
    bim[["A1", "A2"]] = [("A", "G"), ("C", "T"), ("A", "C"), ("G", "T"), ("C", "T")]
    log_table = harmonise(table, bim).log.set_index("reason")
    assert log_table.loc["plink2_error"].tolist() == [3, "rs101"]
    assert log_table.loc["missing_statistic", "n"] == 0 and log_table.loc["matched", "n"] == 2


def test_read_sumstats__plink2_other_validations_still_apply(tmp_path):
    path = tmp_path / "gwas.y.glm.linear"
    path.write_text(PLINK2_GLM.replace("-0.2\t0.1\t-2\t0.0461\t.", "NA\tNA\tNA\tNA\t."))
    with pytest.raises(InputError, match=r"BETA or SE is missing at data row 3 \(ID rs102\)"):
        read_sumstats(path)
    lines = PLINK2_GLM.splitlines()
    path.write_text("\n".join([lines[0], lines[2], lines[4]]) + "\n")
    with pytest.raises(InputError, match="every test as failed .ERRCODE CONST_OMITTED_ALLELE 1, CORR_TOO_HIGH 1"):
        read_sumstats(path)


@needs_plink2
def test_read_sumstats__real_plink2_error_codes(rng, write_plink, tmp_path):
    # Constant variants give CONST_OMITTED_ALLELE, one equal to the covariate RANK_DEFICIENT.
    n = 80
    G = rng.binomial(2, 0.4, size=(n, 5)).astype(float)
    G[:, 1], G[:, 2] = 0.0, 2.0
    G[:, 3] = rng.integers(0, 2, n)
    prefix = write_plink(G)
    fam = make_fam(n)
    write_tsv(pd.DataFrame({"FID": fam.FID, "IID": fam.IID, "y": rng.normal(size=n)}), tmp_path / "pheno.tsv")
    write_tsv(pd.DataFrame({"FID": fam.FID, "IID": fam.IID, "c": G[:, 3]}), tmp_path / "covar.tsv")
    subprocess.run(
        ["plink2", "--bfile", prefix, "--pheno", tmp_path / "pheno.tsv", "--covar", tmp_path / "covar.tsv",
         "--glm", "--threads", "1", "--out", tmp_path / "gwas"],
        check=True, capture_output=True,
    )
    path = tmp_path / "gwas.y.glm.linear"
    codes = pd.read_csv(path, sep="\t").query("TEST == 'ADD'").ERRCODE.tolist()
    assert codes == [".", "CONST_OMITTED_ALLELE", "CONST_OMITTED_ALLELE", "RANK_DEFICIENT", "."]

    result = harmonise_sumstats(path, prefix, tmp_path / "h.tsv", tmp_path / "h.log.tsv")

    assert result.table.ID.tolist() == ["1:1000", "1:5000"]
    written = pd.read_csv(tmp_path / "h.log.tsv", sep="\t").set_index("reason")
    assert written.loc["plink2_error"].tolist() == [3, "1:2000"]


def test_harmonise_to_ld_matrix_variants_matches_a_brute_force_allele_join(rng, tmp_path):
    """LD matrices as the reference: every sumstats row compared with its variant's alleles one by one."""
    complement = dict(zip("ACGT", "TGCA"))
    pairs = [("A", "G"), ("C", "T"), ("A", "C"), ("G", "T"), ("A", "T"), ("C", "G")]
    m = 300
    alleles = [pairs[i] for i in rng.integers(0, len(pairs), m)]
    variants = pd.DataFrame({"CHROM": "1", "POS": np.arange(m) + 100, "ID": [f"v{j}" for j in range(m)],
                             "A1": [a for a, _ in alleles], "A2": [b for _, b in alleles], "ldscore": 1.0})
    write_tsv(variants, tmp_path / "variants.tsv")
    case = rng.integers(0, 5, m)  # 0 same, 1 swapped, 2 other strand, 3 other strand swapped, 4 other alleles
    rows = []
    for j, (p1, p2) in enumerate(alleles):
        a1, a2 = [(p1, p2), (p2, p1), (complement[p1], complement[p2]), (complement[p2], complement[p1]),
                  ("G", "GA")][case[j]]
        rows.append((f"v{j}", a1, a2, rng.uniform(0.05, 0.95), rng.normal(), 0.1))
    rows.append(("absent", "A", "G", 0.3, 0.5, 0.1))
    ss = pd.DataFrame(rows, columns=["ID", "A1", "A2", "A1_FREQ", "BETA", "SE"]).assign(N=1000)
    ss.to_csv(tmp_path / "ss.tsv", sep="\t", index=False)

    result = harmonise_sumstats(tmp_path / "ss.tsv", tmp_path / "variants.tsv", tmp_path / "out.tsv",
                                tmp_path / "log.tsv", tmp_path / "dropped.tsv", ld_matrices=True)

    expected, reasons = [], {}
    for (vid, a1, a2, freq, beta, _), (p1, p2) in zip(rows, alleles + [(None, None)]):
        if p1 is None:
            reasons[vid] = "not_in_panel"
        elif {p1, p2} == {complement[p1], complement[p2]}:  # A/T or C/G: no panel frequency to orient it
            reasons[vid] = "ambiguous" if (a1, a2) in ((p1, p2), (p2, p1)) else "allele_mismatch"
        elif (a1, a2) in ((p1, p2), (complement[p1], complement[p2])):
            expected.append((vid, p1, p2, freq, beta))
        elif (a1, a2) in ((p2, p1), (complement[p2], complement[p1])):
            expected.append((vid, p1, p2, 1 - freq, -beta))
        else:
            reasons[vid] = "allele_mismatch"
    expected = pd.DataFrame(expected, columns=["ID", "A1", "A2", "A1_FREQ", "BETA"])
    pd.testing.assert_frame_equal(result.table[["ID", "A1", "A2", "A1_FREQ", "BETA"]], expected)
    dropped = pd.read_csv(tmp_path / "dropped.tsv", sep="\t")
    assert dict(zip(dropped.ID, dropped.reason)) == reasons
    log = pd.read_csv(tmp_path / "log.tsv", sep="\t").set_index("reason").n
    assert log["not_in_panel"] == 1 and log["matched"] == len(expected)


def test_harmonise_to_ld_matrix_variants_needs_allele_frequencies(tmp_path):
    write_tsv(pd.DataFrame({"CHROM": ["1"], "POS": [1], "ID": ["v1"], "A1": ["A"], "A2": ["G"]}), tmp_path / "v.tsv")
    (tmp_path / "ss.tsv").write_text("ID\tA1\tA2\tBETA\tSE\tN\nv1\tA\tG\t0.1\t0.1\t100\n")
    with pytest.raises(InputError, match="has no A1 allele frequencies .* columns: {A1_FREQ: <column>}"):
        harmonise_sumstats(tmp_path / "ss.tsv", tmp_path / "v.tsv", tmp_path / "o.tsv", tmp_path / "l.tsv",
                           ld_matrices=True)
