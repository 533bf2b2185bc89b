"""Snakemake script of rule shrink: shrunk effects of one trait over all LD blocks."""

from phenomap.logging import rule_logging
from phenomap.shrinkage.apply import shrink_trait

with rule_logging(snakemake.log[0]):
    shrink_trait(
        snakemake.input.sumstats,
        list(snakemake.input.ld),
        snakemake.output[0],
        method=snakemake.params.method,
        model_dir=snakemake.input.model or None,
        top_t=snakemake.params.top_t,
        seed=snakemake.params.seed,
    )
