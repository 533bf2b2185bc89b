"""Snakemake script of rule gwas: association test of one trait with the configured model and engine."""

from phenomap.gwas import run_gwas
from phenomap.logging import rule_logging

with rule_logging(snakemake.log[0]):
    run_gwas(
        snakemake.input.geno[0].removesuffix(".bed"),
        snakemake.input.pheno,
        snakemake.wildcards.trait,
        snakemake.output[0],
        model=snakemake.params.model,
        engine=snakemake.params.engine,
        loco=snakemake.params.loco,
        covar=snakemake.input.covar or None,
        covariates=snakemake.params.covariates,
        chunk=snakemake.params.chunk,
        threads=snakemake.threads,
    )
