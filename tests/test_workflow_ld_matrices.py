"""A summary-statistics cohort whose LD reference is per-block LD matrices (`ld_matrices`).

The small msprime cohort's GWAS, with some alleles swapped and a few variants the LD reference
lacks, is run twice: with the genotypes as `ld_panel`, and with the LD that run computed,
exported to the documented LD-matrix format. Same LD, same seed: the shrunk effects must be equal.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from phenomap.gwas.linear import run_linear_gwas
from phenomap.io.tables import read_tsv
from phenomap.ld.matrices import export_ld_matrices
from phenomap.sim.cohort import simulate_toy_cohort
from tests.test_workflow_inputs import SMALL, scheduled, snakemake

pytestmark = pytest.mark.workflow
SETTINGS = {"shrinkage": {"method": "eb", "simulation": "summary"}}
TARGET = "results/{cohort}/shrinkage/trait1.tsv"


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    """Cohort folder, and the trait's summary statistics: every 5th variant's alleles swapped (BETA, Z and
    A1_FREQ turned with them) and three variants the LD reference does not have."""
    root = tmp_path_factory.mktemp("ldm")
    simulate_toy_cohort(root / "cohort", SMALL, seed=5)
    gwas = run_linear_gwas(root / "cohort" / "genotypes", root / "cohort" / "pheno.tsv", "trait1", root / "gwas.tsv")
    swap = np.arange(len(gwas)) % 5 == 0
    gwas.loc[swap, ["A1", "A2"]] = gwas.loc[swap, ["A2", "A1"]].to_numpy()
    gwas.loc[swap, ["BETA", "Z"]] *= -1
    gwas.loc[swap, "A1_FREQ"] = 1 - gwas.loc[swap, "A1_FREQ"]
    extra = gwas.head(3).assign(ID=["absent1", "absent2", "absent3"], POS=[1, 2, 3])
    pd.concat([gwas, extra]).to_csv(root / "sumstats.tsv", sep="\t", index=False, na_rep="NA")
    return root


def cohort_config(root, **reference) -> dict:
    sumstats = {"trait1": {"path": str(root / "sumstats.tsv"), "format": "generic", "allow_missing": True}}
    return {"cohorts": {"mine": {"sumstats": sumstats, "genes": str(root / "cohort" / "genes.tsv"), **reference}},
            **SETTINGS}


def test_ld_matrices_give_the_shrunk_effects_of_the_panel_they_were_computed_from(inputs, tmp_path):
    panel_run, matrix_run = tmp_path / "panel", tmp_path / "matrices"
    panel = cohort_config(inputs, ld_panel=str(inputs / "cohort" / "genotypes"), ld_blocks="data")
    proc = snakemake(panel_run, panel, TARGET.format(cohort="mine"))
    assert proc.returncode == 0, proc.stderr[-3000:]
    export_ld_matrices(panel_run / "results/mine/ld", inputs / "ld")

    config = cohort_config(inputs, ld_matrices=str(inputs / "ld"))
    proc = snakemake(matrix_run, config, TARGET.format(cohort="mine"))
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "rule ld_block_from_matrices:" in proc.stdout + proc.stderr
    # the rest of the workflow, with the neural shrinkage, once the block checkpoint has run
    nn = config | {"shrinkage": {"method": "nn", "simulation": "summary"}}
    jobs = scheduled(snakemake(matrix_run, nn, "--dry-run"))
    assert jobs["simulate_training_from_matrices"] >= 1
    assert jobs["gwas_architecture"] == 1 and jobs["training_plan"] == 1  # training derived from the GWAS
    assert not {"simulate_training", "ld_block", "qc"} & set(jobs)
    assert {"train_shrinkage", "shrink", "cluster", "gene_enrichment", "gene_summary"} <= set(jobs)
    res = matrix_run / "results/mine"

    ours, theirs = (read_tsv(run / "results/mine/shrinkage/trait1.tsv") for run in (matrix_run, panel_run))
    assert len(ours) > 0.9 * len(read_tsv(inputs / "gwas.tsv"))
    pd.testing.assert_frame_equal(ours, theirs)
    pd.testing.assert_frame_equal(read_tsv(res / "sumstats/trait1.tsv"),
                                  read_tsv(panel_run / "results/mine/sumstats/trait1.tsv"))
    dropped = read_tsv(res / "sumstats/trait1.dropped.tsv")
    assert set(dropped.ID[dropped.reason == "not_in_panel"]) >= {"absent1", "absent2", "absent3"}
    log = read_tsv(res / "sumstats/trait1.harmonise.tsv").set_index("reason").n
    assert log["not_in_panel"] == (dropped.reason == "not_in_panel").sum() and log["swapped"] > 0


@pytest.mark.parametrize("change, message", [
    (lambda c: c | {"shrinkage": {"simulation": "individual"}}, "set shrinkage.simulation: summary"),
    (lambda c: {**c, "cohorts": {"mine": c["cohorts"]["mine"] | {"ld_panel": "x"}}}, "cannot also give ['ld_panel']"),
    (lambda c: {**c, "cohorts": {"mine": c["cohorts"]["mine"] | {"sumstats": {"trait1": {"path": "gwas.tsv",
                                                                                           "format": "generic"}}}}},
     "no allele-frequency column 'A1_FREQ'"),
    (lambda c: {**c, "cohorts": {"mine": c["cohorts"]["mine"] | {"ld_matrices": "nowhere"}}},
     "LD-matrix directory nowhere does not exist"),
])
def test_ld_matrix_config_mistakes_stop_before_any_job(inputs, tmp_path, change, message):
    (tmp_path / "gwas.tsv").write_text("ID\tA1\tA2\tBETA\tSE\tN\nv1\tA\tG\t0.1\t0.1\t100\n")
    (tmp_path / "ld").mkdir()  # the matrices of one block of two variants
    (tmp_path / "ld" / "blocks.tsv").write_text("chrom\tstart\tstop\tblock\n1\t0\t100\tb1\n")
    np.savez(tmp_path / "ld" / "b1.npz", r=np.eye(2), ids=["v1", "v2"], a1=["A", "C"], a2=["G", "T"], pos=[10, 20],
             n=100)
    proc = snakemake(tmp_path, change(cohort_config(inputs, ld_matrices=str(tmp_path / "ld"))), "--dry-run")
    assert proc.returncode != 0 and message in proc.stderr, proc.stderr[-2000:]
    assert "Traceback" not in proc.stderr
