"""Snakemake script of rule simulate_training_from_matrices: simulated GWAS on one block of LD matrices."""

from phenomap.logging import rule_logging
from phenomap.shrinkage.calibrate import simulate_planned_block_from_ld

with rule_logging(snakemake.log[0]):
    simulate_planned_block_from_ld(
        snakemake.input.plan,
        snakemake.wildcards.block,
        snakemake.input.ld,
        list(snakemake.input.sumstats),
        snakemake.output[0],
        replicates=snakemake.params.replicates,
        m_total=snakemake.params.m_total,
        seed=snakemake.params.seed,
    )
