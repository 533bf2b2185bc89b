"""Snakemake script of rule gpatlas_geno: G-P Atlas tier 2 (genotypes into the tier-1 decoder)."""

from phenomap.gpatlas.pipeline import run_geno_tier
from phenomap.gpatlas.train import Settings
from phenomap.logging import rule_logging

with rule_logging(snakemake.log[0]):
    run_geno_tier(
        snakemake.input.geno[0].removesuffix(".bed"),
        snakemake.input.pheno,
        traits=snakemake.params.traits,
        split=snakemake.input.split,
        pheno_model=snakemake.input.model,
        out_model=snakemake.output.model,
        out_curve=snakemake.output.curve,
        settings=Settings(**snakemake.params.settings),
        seed=snakemake.params.seed,
        device=snakemake.params.device,
        threads=snakemake.threads,
    )
