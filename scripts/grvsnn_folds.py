"""Snakemake script of rule grvsnn_folds: the cross-validation folds of the analysed samples."""

from phenomap.grvsnn.pipeline import write_folds
from phenomap.logging import rule_logging

with rule_logging(snakemake.log[0]):
    write_folds(
        snakemake.input.geno[0].removesuffix(".bed"),
        snakemake.input.pheno,
        snakemake.params.traits,
        snakemake.output[0],
        k=snakemake.params.k,
        repeats=snakemake.params.repeats,
        seed=snakemake.params.seed,
        covar=snakemake.input.covar or None,
        covariates=snakemake.params.covariates,
        fold_file=snakemake.input.fold_file or None,
    )
