"""Snakemake script of rule plot_ld_blocks: map of a cohort's LD blocks."""

from phenomap.logging import rule_logging
from phenomap.report.figures import ld_blocks_figure

with rule_logging(snakemake.log[0]):
    ld_blocks_figure(snakemake.input[0], snakemake.output[0], title=f"{snakemake.wildcards.cohort}: LD blocks")
