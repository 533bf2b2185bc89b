"""Snakemake script of rule gene_summary: multi-trait gene summary and candidate genes."""

from phenomap.genes.summary import summarise_genes
from phenomap.logging import rule_logging

with rule_logging(snakemake.log[0]):
    summarise_genes(
        snakemake.input.labels,
        snakemake.input.types,
        snakemake.input.genes,
        snakemake.params.traits,
        snakemake.output.summary,
        snakemake.output.candidates,
        window=snakemake.params.window,
        min_snps=snakemake.params.min_snps,
        min_fraction=snakemake.params.min_fraction,
    )
