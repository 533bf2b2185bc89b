"""Snakemake script of rule ld_block: correlation matrix and LD scores of one block."""

from phenomap.ld.matrix import block_ld
from phenomap.logging import rule_logging

with rule_logging(snakemake.log[0]):
    block_ld(
        snakemake.input.geno[0].removesuffix(".bed"),
        snakemake.input.blocks,
        snakemake.wildcards.block,
        snakemake.output.ld,
        snakemake.output.scores,
        chunk=snakemake.params.chunk,
        adjust=snakemake.params.adjust,
    )
