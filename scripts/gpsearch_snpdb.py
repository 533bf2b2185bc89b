"""Snakemake script of rule gpsearch_snpdb: a trait's training/validation split and SNP database."""

from phenomap.gpsearch.files import write_split_and_snpdb
from phenomap.logging import rule_logging

with rule_logging(snakemake.log[0]):
    write_split_and_snpdb(
        snakemake.input.geno[0].removesuffix(".bed"),
        snakemake.input.pheno,
        snakemake.wildcards.trait,
        snakemake.output.split,
        snakemake.output.snpdb,
        seed=snakemake.params.seed,
        covar=snakemake.input.covar or None,
        covariates=snakemake.params.covariates,
        **snakemake.params.options,
    )
