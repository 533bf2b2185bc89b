"""Snakemake script of rule ld_block_from_matrices: one block of the cohort's LD matrices as LD file and LD scores."""

from phenomap.ld.matrices import import_block_ld
from phenomap.logging import rule_logging

with rule_logging(snakemake.log[0]):
    import_block_ld(
        snakemake.input.blocks,
        snakemake.wildcards.block,
        snakemake.output.ld,
        snakemake.output.scores,
        adjust=snakemake.params.adjust,
    )
