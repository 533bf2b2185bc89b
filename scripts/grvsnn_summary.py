"""Snakemake script of rule grvsnn_summary: every fold's metrics, the comparison, selection frequencies, figures."""

from phenomap.grvsnn.pipeline import summarise_cv
from phenomap.logging import rule_logging

with rule_logging(snakemake.log[0]):
    summarise_cv(
        list(snakemake.input.metrics),
        list(snakemake.input.selected),
        snakemake.input.geno[0].removesuffix(".bed"),
        snakemake.output.metrics,
        snakemake.output.comparison,
        snakemake.output.selection,
        snakemake.output.boxplot,
        snakemake.output.selection_figure,
        loadings_tsv=snakemake.input.loadings or None,
        title=snakemake.wildcards.cohort,
    )
