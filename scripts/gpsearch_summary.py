"""Snakemake script of rule gpsearch_summary: consistency scores, QTL calls and figures over a trait's replicates."""

from phenomap.gpsearch.files import summarise_replicates
from phenomap.logging import rule_logging

with rule_logging(snakemake.log[0]):
    summarise_replicates(
        list(snakemake.input.importance),
        list(snakemake.input.hypervolume),
        list(snakemake.input.pareto),
        snakemake.input.snpdb,
        snakemake.output.scores,
        snakemake.output.qtl,
        snakemake.output.manhattan,
        snakemake.output.hypervolume,
        snakemake.output.pareto,
        top=snakemake.params.top,
        window=snakemake.params.window,
        title=f"{snakemake.wildcards.cohort} {snakemake.wildcards.trait}",
    )
