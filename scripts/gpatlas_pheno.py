"""Snakemake script of rule gpatlas_pheno: train/test split and G-P Atlas tier 1."""

from phenomap.gpatlas.pipeline import run_pheno_tier
from phenomap.gpatlas.train import Settings
from phenomap.logging import rule_logging

with rule_logging(snakemake.log[0]):
    run_pheno_tier(
        snakemake.input.geno[0].removesuffix(".bed"),
        snakemake.input.pheno,
        traits=snakemake.params.traits,
        out_split=snakemake.output.split,
        out_model=snakemake.output.model,
        out_curve=snakemake.output.curve,
        settings=Settings(**snakemake.params.settings),
        seed=snakemake.params.seed,
        test_fraction=snakemake.params.test_fraction,
        split_file=snakemake.input.split_file or None,
        device=snakemake.params.device,
        threads=snakemake.threads,
    )
