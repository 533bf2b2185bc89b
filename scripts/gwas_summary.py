"""Snakemake script of rule gwas_summary: per-trait table of sources, harmonisation, lambda_GC and top loci."""

from phenomap.gwas.report import sumstats_summary
from phenomap.logging import rule_logging

with rule_logging(snakemake.log[0]):
    traits = snakemake.params.traits
    sumstats_summary(
        dict(zip(traits, snakemake.input.tables, strict=True)),
        dict(zip(traits, snakemake.input.reports, strict=True)),
        dict(zip(traits, snakemake.params.sources, strict=True)),
        snakemake.output[0],
    )
