"""Snakemake script of rule gwas_architecture: per-block signal of one trait's GWAS."""

from phenomap.logging import rule_logging
from phenomap.shrinkage.calibrate import gwas_architecture

with rule_logging(snakemake.log[0]):
    gwas_architecture(snakemake.input.sumstats, list(snakemake.input.ld), snakemake.output[0])
