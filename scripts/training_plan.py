"""Snakemake script of rule training_plan: the settings of the training simulation."""

from phenomap.logging import rule_logging
from phenomap.shrinkage.calibrate import write_training_plan

with rule_logging(snakemake.log[0]):
    write_training_plan(
        list(snakemake.input.architectures),
        list(snakemake.input.geno),
        snakemake.output[0],
        source=snakemake.params.source,
        grid=snakemake.params.grid,
        derived=snakemake.params.derived,
        method=snakemake.params.method,
        sim_n=snakemake.params.sim_n,
    )
