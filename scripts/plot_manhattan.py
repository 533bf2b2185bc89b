"""Snakemake script of rule plot_manhattan: one trait's effects with its significant genes labelled."""

from phenomap.logging import rule_logging
from phenomap.report.figures import manhattan_figure

with rule_logging(snakemake.log[0]):
    manhattan_figure(snakemake.input.effects, snakemake.params.effect_column, snakemake.input.tests,
                     snakemake.output[0], q_threshold=snakemake.params.q_threshold,
                     title=f"{snakemake.wildcards.cohort}: {snakemake.wildcards.trait}")
