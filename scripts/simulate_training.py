"""Snakemake script of rule simulate_training: simulated GWAS on one LD block."""

from phenomap.logging import rule_logging
from phenomap.sim.training import setting_grid, simulate_block

grid = snakemake.params.grid
with rule_logging(snakemake.log[0]):
    simulate_block(
        snakemake.input.geno[0].removesuffix(".bed"),
        snakemake.input.blocks,
        snakemake.wildcards.block,
        snakemake.input.ld,
        snakemake.output[0],
        settings=setting_grid(grid["causal_fraction"], grid["h2"], grid["freq_exponent"], grid["ldscore_exponent"]),
        replicates=snakemake.params.replicates,
        m_total=snakemake.params.m_total,
        method=snakemake.params.method,
        n=snakemake.params.n,
        seed=snakemake.params.seed,
    )
