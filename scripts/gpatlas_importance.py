"""Snakemake script of rule gpatlas_importance: ablation importance, VIDA and pairwise interactions."""

from phenomap.gpatlas.pipeline import run_importance
from phenomap.logging import rule_logging

with rule_logging(snakemake.log[0]):
    run_importance(
        snakemake.input.geno[0].removesuffix(".bed"),
        snakemake.input.pheno,
        traits=snakemake.params.traits,
        split=snakemake.input.split,
        model=snakemake.input.model,
        out_importance=snakemake.output.importance,
        out_interactions=snakemake.output.interactions,
        out_pairs=snakemake.output.pairs,
        top_pairs=snakemake.params.top_pairs,
        device=snakemake.params.device,
        threads=snakemake.threads,
        **snakemake.params.vida,
    )
