"""Snakemake script of rule gpatlas_evaluate: predictions and held-out metrics with linear baselines, epistasis screen."""

from phenomap.gpatlas.pipeline import run_evaluation
from phenomap.logging import rule_logging

with rule_logging(snakemake.log[0]):
    run_evaluation(
        snakemake.input.geno[0].removesuffix(".bed"),
        snakemake.input.pheno,
        traits=snakemake.params.traits,
        split=snakemake.input.split,
        model=snakemake.input.model,
        out_predictions=snakemake.output.predictions,
        out_metrics=snakemake.output.metrics,
        out_epistasis=snakemake.output.epistasis,
        baselines=snakemake.params.baselines,
        lasso_alphas=snakemake.params.lasso_alphas,
        lasso_folds=snakemake.params.lasso_folds,
        screen_pairs=snakemake.params.screen_pairs,
        seed=snakemake.params.seed,
        threads=snakemake.threads,
    )
