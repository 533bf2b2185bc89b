"""Snakemake script of rule grvsnn_loadings: loadings of the cohort's relationship matrix."""

from phenomap.grvsnn.pipeline import write_loadings
from phenomap.logging import rule_logging

with rule_logging(snakemake.log[0]):
    write_loadings(
        snakemake.input.geno[0].removesuffix(".bed"),
        snakemake.output.loadings,
        snakemake.output.eigenvalues,
        relationship=snakemake.input.relationship or None,
        pedigree=snakemake.input.pedigree or None,
        n_components=snakemake.params.n_components,
    )
