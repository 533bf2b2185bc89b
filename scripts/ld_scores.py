"""Snakemake script of rule ld_scores: gather per-block LD scores into one table."""

from phenomap.ld.matrix import gather_ld_scores
from phenomap.logging import rule_logging

with rule_logging(snakemake.log[0]):
    gather_ld_scores(list(snakemake.input), snakemake.output[0])
