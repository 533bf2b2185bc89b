"""Snakemake script of rule qc: filter samples and variants, report what was removed and a per-chromosome summary."""

from phenomap.logging import rule_logging
from phenomap.qc import run_qc

with rule_logging(snakemake.log[0]):
    run_qc(
        snakemake.input.geno[0].removesuffix(".bed"),
        snakemake.output.geno[0].removesuffix(".bed"),
        snakemake.output.removed,
        snakemake.output.summary,
        pedigree=snakemake.input.pedigree or None,
        chunk=snakemake.params.chunk,
        **snakemake.params.qc,
    )
