"""Snakemake script of rule plot_gene_qq: QQ plot of every trait's gene-test p-values."""

from phenomap.logging import rule_logging
from phenomap.report.figures import qq_figure

with rule_logging(snakemake.log[0]):
    qq_figure(dict(zip(snakemake.params.traits, snakemake.input.tests, strict=True)), snakemake.output[0],
              title=f"{snakemake.wildcards.cohort}: gene tests")
