"""Snakemake script of rule plot_gpatlas: held-out predictions and locus importance figures."""

from phenomap.logging import rule_logging
from phenomap.report.figures import gpatlas_figures

with rule_logging(snakemake.log[0]):
    gpatlas_figures(snakemake.input.predictions, snakemake.input.importance, snakemake.output.predictions,
                    snakemake.output.importance, title=snakemake.wildcards.cohort)
