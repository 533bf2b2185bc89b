"""Snakemake script of rule plot_shrinkage: training curves and effects before and after shrinkage."""

from phenomap.logging import rule_logging
from phenomap.report.figures import shrinkage_summary_figure

with rule_logging(snakemake.log[0]):
    shrinkage_summary_figure(snakemake.input.model or None,
                             dict(zip(snakemake.params.traits, snakemake.input.effects, strict=True)),
                             snakemake.output[0], title=f"{snakemake.wildcards.cohort}: effect shrinkage")
