"""Snakemake script of rule simulate_training: simulated GWAS on one LD block."""

from phenomap.logging import rule_logging
from phenomap.shrinkage.calibrate import simulate_planned_block

with rule_logging(snakemake.log[0]):
    simulate_planned_block(
        snakemake.input.plan,
        snakemake.input.geno[0].removesuffix(".bed"),
        snakemake.input.blocks,
        snakemake.wildcards.block,
        snakemake.input.ld,
        snakemake.output[0],
        replicates=snakemake.params.replicates,
        method=snakemake.params.method,
        m_total=snakemake.params.m_total,
        seed=snakemake.params.seed,
    )
