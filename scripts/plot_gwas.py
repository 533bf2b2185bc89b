"""Snakemake script of rule plot_gwas: Manhattan and QQ plot of one trait's -log10 P with lambda_GC."""

from phenomap.gwas.report import gwas_figure
from phenomap.logging import rule_logging

with rule_logging(snakemake.log[0]):
    gwas_figure(snakemake.input[0], snakemake.output[0],
                title=f"{snakemake.wildcards.cohort}: {snakemake.wildcards.trait} ({snakemake.params.source})")
