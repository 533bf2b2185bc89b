"""Snakemake script of rule cohort_summary: the cohort's summary.md."""

from phenomap.logging import rule_logging
from phenomap.report.summary import cohort_summary

inputs = snakemake.input
tests = inputs.get("gene_tests")
with rule_logging(snakemake.log[0]):
    cohort_summary(
        snakemake.wildcards.cohort,
        snakemake.output[0],
        gwas_summary=inputs.gwas,
        qc_summary=inputs.get("qc"),
        gene_tests=dict(zip(snakemake.params.traits, tests, strict=True)) if tests else None,
        gene_candidates=inputs.get("candidates"),
        q_threshold=snakemake.params.q_threshold,
        gpatlas_metrics=inputs.get("gpatlas"),
        grvsnn_comparison=inputs.get("grvsnn"),
        gpsearch_qtl=dict(zip(snakemake.params.gpsearch_traits, inputs.qtl, strict=True)),
        figures=inputs.figures,
    )
