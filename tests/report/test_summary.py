"""The cohort summary says what QC kept, λGC, genes, who wins each prediction comparison, and the QTL calls."""

from __future__ import annotations

import pandas as pd

from phenomap.io.tables import write_tsv
from phenomap.report.summary import cohort_summary


def test_cohort_summary_reports_counts_winners_and_links(tmp_path):
    res = tmp_path / "results/c"
    write_tsv(pd.DataFrame({
        "chrom": ["1", "2", "total"], "variants_in": [60, 40, 100], "variants_kept": [55, 40, 95],
        "variant_missing": [2, 0, 2], "monomorphic": [0, 0, 0], "maf": [3, 0, 3], "hwe": [0, 0, 0],
        "hwe_not_tested": [0, 0, 0], "samples_in": [None, None, 500], "samples_kept": [None, None, 490],
        "sample_missing": [None, None, 10]}), res / "qc/summary.tsv")
    write_tsv(pd.DataFrame({
        "trait": ["a", "b"], "source": ["linear GWAS", "linear GWAS"], "n_variants": [95, 95], "dropped": ["none"] * 2,
        "median_n": [490, 490], "lambda_gc": [1.02, 1.31], "n_genome_wide": [3, 0], "top_id": ["rs1", "rs7"],
        "top_chrom": ["1", "2"], "top_pos": [1000, 2000], "top_p": [1e-9, 1e-6]}), res / "summary/gwas.tsv")
    for trait, q in (("a", [0.001, 0.2]), ("b", [0.5, 0.9])):
        write_tsv(pd.DataFrame({"gene": ["G1", "G2"], "q": q}), res / f"genes/enrichment/{trait}.tsv")
    write_tsv(pd.DataFrame({"candidate": ["shared"], "gene": ["G1"], "gene_id": ["E1"], "score": [0.3], "rank": [1]}),
              res / "genes/candidates.tsv")
    write_tsv(pd.DataFrame({"model": ["geno->pheno", "ridge", "lasso"] * 2, "trait": ["a"] * 3 + ["b"] * 3,
                            "n": 100, "r2": [0.30, 0.25, 0.20, 0.10, 0.12, 0.15], "pearson_r": 0.5, "mape": 1.0}),
              res / "gpatlas/metrics.tsv")
    write_tsv(pd.DataFrame({"method": ["grvsnn", "ridge"], "trait": ["a", "a"], "folds": [5, 5], "r_mean": [0.40, 0.45],
                            "r_se": [0.02, 0.02], "best_baseline": ["ridge", "ridge"], "folds_r_better": [1, None]}),
              res / "grvsnn/comparison.tsv")
    write_tsv(pd.DataFrame({"CHROM": ["2"], "POS": [2000], "ID": ["rs7"], "score": [0.8], "encoding": ["dominant"],
                            "n_snps": [3], "start": [1000], "end": [3000]}), res / "gpsearch/a/qtl.tsv")
    text = cohort_summary(
        "c", res / "summary.md", gwas_summary=res / "summary/gwas.tsv", qc_summary=res / "qc/summary.tsv",
        gene_tests={t: res / f"genes/enrichment/{t}.tsv" for t in "ab"}, gene_candidates=res / "genes/candidates.tsv",
        gpatlas_metrics=res / "gpatlas/metrics.tsv", grvsnn_comparison=res / "grvsnn/comparison.tsv",
        gpsearch_qtl={"a": res / "gpsearch/a/qtl.tsv"}, figures=[res / "figures/gwas/a.png"])
    assert (res / "summary.md").read_text() == text
    assert "Samples: 490 of 500 kept (10 removed for missingness). Variants: 95 of 100 kept (removed: " \
           "variant_missing 2, maf 3)" in text
    assert "| b | linear GWAS | 95 | 1.310 | 0 | rs7 (2:2,000) |" in text and "try `gwas.model: lmm`" in text
    assert "- a: 1 gene(s) with q < 0.05 (G1)" in text and "- b: 0 gene(s)" in text
    assert "- candidates, shared: G1" in text
    assert "| a | 0.3 | ridge | 0.25 | G-P Atlas |" in text and "| b | 0.1 | lasso | 0.15 | lasso |" in text
    assert "| a | 0.400 ± 0.020 | ridge | 0.450 ± 0.020 | 1 of 5 |" in text
    assert "rs7 2:2,000 (dominant, score 0.80)" in text
    assert "[`gpsearch/a/qtl.tsv`](gpsearch/a/qtl.tsv)" in text and "[`figures/gwas/a.png`]" in text


def test_cohort_summary_of_a_summary_statistics_cohort_has_only_its_stages(tmp_path):
    write_tsv(pd.DataFrame({
        "trait": ["a"], "source": ["summary statistics"], "n_variants": [95], "dropped": ["ambiguous 5"],
        "median_n": [490], "lambda_gc": [1.3], "n_genome_wide": [0], "top_id": [None], "top_chrom": [None],
        "top_pos": [None], "top_p": [None]}), tmp_path / "gwas.tsv")
    text = cohort_summary("s", tmp_path / "summary.md", gwas_summary=tmp_path / "gwas.tsv")
    assert text.count("## ") == 1 and "| a | summary statistics | 95 | 1.300 | 0 | none |" in text
    assert "lmm" not in text  # λGC advice is for the cohort's own linear GWAS only
