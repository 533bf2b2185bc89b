"""Snakemake script of rule sumstats: harmonise one trait's summary statistics to the LD reference."""

from phenomap.io.sumstats import harmonise_sumstats
from phenomap.logging import rule_logging

with rule_logging(snakemake.log[0]):
    harmonise_sumstats(
        snakemake.input.source,
        snakemake.input.panel[0].removesuffix(".bed"),
        snakemake.output.table,
        snakemake.output.report,
        snakemake.output.dropped,
        **snakemake.params.options,
    )
