"""Snakemake script of rule toy_cohort: simulate the toy cohort into the rule's output folder."""

from pathlib import Path

from phenomap.logging import rule_logging
from phenomap.sim.cohort import ToyParams, simulate_toy_cohort

with rule_logging(snakemake.log[0]):
    simulate_toy_cohort(
        Path(snakemake.output.pheno).parent,
        ToyParams(**snakemake.params.toy),
        seed=snakemake.params.seed,
    )
