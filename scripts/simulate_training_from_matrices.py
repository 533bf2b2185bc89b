"""Snakemake script of rule simulate_training_from_matrices: simulated GWAS on one block of LD matrices."""

from phenomap.logging import rule_logging
from phenomap.sim.training import setting_grid, simulate_block_from_ld

grid = snakemake.params.grid
with rule_logging(snakemake.log[0]):
    simulate_block_from_ld(
        snakemake.wildcards.block,
        snakemake.input.ld,
        list(snakemake.input.sumstats),
        snakemake.output[0],
        settings=setting_grid(grid["causal_fraction"], grid["h2"], grid["freq_exponent"], grid["ldscore_exponent"]),
        replicates=snakemake.params.replicates,
        m_total=snakemake.params.m_total,
        n=snakemake.params.n,
        seed=snakemake.params.seed,
    )
