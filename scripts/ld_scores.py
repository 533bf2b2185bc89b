"""Snakemake script of rule ld_scores: gather per-block LD scores into one table."""

from phenomap.io.tables import concat_tsv
from phenomap.logging import rule_logging

with rule_logging(snakemake.log[0]):
    concat_tsv(list(snakemake.input), snakemake.output[0])
