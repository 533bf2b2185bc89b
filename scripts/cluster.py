"""Snakemake script of rules cluster and cluster_trait: DP mixture of effects, labels and cluster types."""

from phenomap.logging import rule_logging
from phenomap.mixture.pipeline import cluster_effects

with rule_logging(snakemake.log[0]):
    cluster_effects(
        dict(zip(snakemake.params.traits, snakemake.input.effects, strict=True)),
        snakemake.params.effect_column,
        snakemake.output.labels,
        snakemake.output.model,
        snakemake.output.types,
        mixture=snakemake.params.mixture,
        ratio_threshold=snakemake.params.ratio_threshold,
        angle_threshold=snakemake.params.angle_threshold,
    )
