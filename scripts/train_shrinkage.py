"""Snakemake script of rule train_shrinkage: train the shrinkage ensemble."""

from phenomap.logging import rule_logging
from phenomap.shrinkage.train import train_shrinkage

with rule_logging(snakemake.log[0]):
    train_shrinkage(
        list(snakemake.input.sims),
        list(snakemake.input.ld),
        snakemake.output[0],
        top_t=snakemake.params.top_t,
        causal_weight=snakemake.params.causal_weight,
        threads=snakemake.threads,
        architectures=dict(zip(snakemake.params.traits, snakemake.input.architectures, strict=True)),
        seed=snakemake.params.seed,
        **snakemake.params.options,
    )
