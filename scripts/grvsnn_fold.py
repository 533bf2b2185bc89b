"""Snakemake script of rule grvsnn_fold: GRVSNN and the baselines on one cross-validation fold."""

from phenomap.device import pick
from phenomap.grvsnn.pipeline import run_cv_fold
from phenomap.grvsnn.train import Hyperparameters
from phenomap.logging import rule_logging

options = dict(snakemake.params.options)
with rule_logging(snakemake.log[0]):
    run_cv_fold(
        snakemake.input.geno[0].removesuffix(".bed"),
        snakemake.input.pheno,
        snakemake.params.traits,
        snakemake.input.folds,
        repeat=int(snakemake.wildcards.repeat),
        fold=int(snakemake.wildcards.fold),
        out_metrics=snakemake.output.metrics,
        out_selected=snakemake.output.selected,
        out_predictions=snakemake.output.predictions,
        covar=snakemake.input.covar or None,
        covariates=snakemake.params.covariates,
        loadings_tsv=snakemake.input.loadings or None,
        study_path=snakemake.params.study,
        threads=snakemake.threads,
        **options | dict(hyperparameters=Hyperparameters(**options["hyperparameters"]), device=pick(options["device"])),
    )
