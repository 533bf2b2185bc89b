"""Snakemake script of rule plot_clusters: effect scatter plots with cluster ellipses, per trait pair."""

from phenomap.logging import rule_logging
from phenomap.report.figures import cluster_figures

with rule_logging(snakemake.log[0]):
    cluster_figures(snakemake.input.labels, snakemake.input.model, snakemake.input.types, snakemake.params.traits,
                    snakemake.output[0], seed=snakemake.params.seed)
