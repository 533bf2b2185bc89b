"""Snakemake script of rule gpsearch: one search replicate of a trait, resumed from its checkpoint."""

from phenomap.gpsearch.files import run_replicate
from phenomap.gpsearch.nsga import SearchSettings
from phenomap.logging import rule_logging

with rule_logging(snakemake.log[0]):
    run_replicate(
        snakemake.input.geno[0].removesuffix(".bed"),
        snakemake.input.pheno,
        snakemake.wildcards.trait,
        snakemake.input.split,
        snakemake.input.snpdb,
        snakemake.params.out_dir,
        checkpoint=snakemake.params.checkpoint,
        settings=SearchSettings(**snakemake.params.settings, n_jobs=snakemake.threads),
        covar=snakemake.input.covar or None,
        covariates=snakemake.params.covariates,
        importance_repeats=snakemake.params.importance_repeats,
    )
