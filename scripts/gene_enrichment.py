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
        mixture_json=snakemake.input.model or None,
        trait_index=snakemake.params.trait_index,
        shrink_method=snakemake.params.shrink_method,
        model_dir=snakemake.input.shrink_model or None,
        top_t=snakemake.params.top_t,
        shrink_seed=snakemake.params.shrink_seed,
        n_draws=snakemake.params.n_draws,
        seed=snakemake.params.seed,
        combine_z=snakemake.params.combine_z,
        ldscores_tsv=snakemake.input.ldscores or None,
        window=snakemake.params.window,
        switch=snakemake.params.exact_below,
    )
