"""Snakemake script of rule gene_enrichment: gene test of one trait's effects."""

from phenomap.genes.enrichment import gene_enrichment
from phenomap.logging import rule_logging

with rule_logging(snakemake.log[0]):
    gene_enrichment(
        snakemake.input.effects,
        snakemake.params.effect_column,
        snakemake.input.genes,
        list(snakemake.input.ld),
        snakemake.output[0],
        mixture_json=snakemake.input.model,
        trait_index=snakemake.params.trait_index,
        window=snakemake.params.window,
        switch=snakemake.params.exact_below,
    )
