"""What a new user's config does before and while the workflow runs on their own cohort.

A small msprime cohort stands in for the user's PLINK files. Dry runs check which jobs a
config schedules and which mistakes stop it before any job; one real run checks that a
cohort with a separate LD panel tests its own genotypes and takes LD from the panel; one
checks that an interrupted local run resumes.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from phenomap.gwas.linear import run_linear_gwas
from phenomap.io.plink import Bfile, write_bfile
from phenomap.io.tables import read_tsv
from phenomap.ld.matrix import read_block_ld
from phenomap.sim.cohort import ToyParams, simulate_toy_cohort

REPO = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.workflow
SMALL = ToyParams(n_founders=300, n_families=30, chromosome_mb=1.0, max_variants_per_chromosome=600, n_genes=20)


@pytest.fixture(scope="module")
def cohort(tmp_path_factory) -> Path:
    """A user's cohort folder: genotypes.{bed,bim,fam}, pheno.tsv, covar.tsv, pedigree.tsv, genes.tsv."""
    folder = tmp_path_factory.mktemp("user") / "cohort"
    simulate_toy_cohort(folder, SMALL, seed=5)
    return folder


def snakemake(workdir: Path, config: dict, *args: str, profile: str | None = None,
              **popen) -> subprocess.CompletedProcess | subprocess.Popen:
    """Run the workflow on ``config`` (written to workdir/my.yaml) in ``workdir``."""
    workdir.mkdir(parents=True, exist_ok=True)
    (workdir / "my.yaml").write_text(yaml.safe_dump(config))
    cmd = [sys.executable, "-m", "snakemake", "--snakefile", str(REPO / "Snakefile"), "--directory", str(workdir),
           "--configfile", str(workdir / "my.yaml"), "--cores", "2", *args]
    if profile:
        cmd += ["--profile", str(REPO / "profiles" / profile)]
    if popen:
        return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, **popen)
    return subprocess.run(cmd, capture_output=True, text=True)


def scheduled(proc: subprocess.CompletedProcess) -> dict[str, int]:
    """Rule -> job count of a dry run's job table."""
    assert proc.returncode == 0, proc.stderr[-3000:]
    table = proc.stdout.split("Job stats:")[1].split("total")[0]
    return {m.group(1): int(m.group(2)) for m in re.finditer(r"^(\w+)\s+(\d+)$", table, re.MULTILINE)}


def user_config(cohort: Path, **settings) -> dict:
    entry = {"bfile": str(cohort / "genotypes"), "pheno": str(cohort / "pheno.tsv"),
             "covar": str(cohort / "covar.tsv"), "genes": str(cohort / "genes.tsv"), "ld_blocks": "data"}
    return {"cohorts": {"mine": entry | settings}}


def test_a_user_config_runs_exactly_its_cohorts(cohort, tmp_path):
    proc = snakemake(tmp_path, user_config(cohort), "--dry-run")
    jobs = scheduled(proc)
    assert "toy_cohort" not in jobs and jobs["gwas"] == 3 and jobs["qc"] == 1
    outputs = re.findall(r"^\s+output: (.*)$", proc.stdout, re.MULTILINE)
    assert outputs and all(path.startswith("results/mine/") for line in outputs for path in line.split(", "))


@pytest.mark.parametrize("change, message", [
    (lambda c: c | {"shrinkage": {"epoch": 5}}, "config: shrinkage.epoch: unknown key; did you mean 'epochs'?"),
    (lambda c: {"cohorts": {"mine": c["cohorts"]["mine"] | {"traits": ["trait1", "trait7"]}}},
     "config: cohorts.mine.traits: trait(s) trait7 not in the phenotype file"),
    (lambda c: c | {"gwas": {"covariates": ["agee"]}},
     "config: gwas.covariates: covariate(s) agee not in the covariate file"),
    (lambda c: c | {"gpsearch": {"min_snps": 60, "max_snps": 40}},
     "config: gpsearch: need 1 <= min_snps <= max_snps, got 60 and 40."),
    (lambda c: c | {"gpsearch": {"traits": ["trait4"]}},
     "config: gpsearch.traits: cohort mine has no phenotypes for ['trait4'] (its traits: trait1, trait2, trait3); "
     "did you mean 'trait3'?"),
])
def test_config_mistakes_stop_before_any_job_in_one_line(cohort, tmp_path, change, message):
    proc = snakemake(tmp_path, change(user_config(cohort)), "--dry-run")
    assert proc.returncode != 0
    assert message in proc.stderr
    assert "Building DAG" not in proc.stdout + proc.stderr and "Traceback" not in proc.stderr
    assert len(proc.stderr.strip().splitlines()) <= 4  # the profile line, the heading, the error, the pointer


def test_without_a_gene_table_the_gene_stages_are_skipped_and_the_rest_runs(cohort, tmp_path):
    config = user_config(cohort)
    del config["cohorts"]["mine"]["genes"]
    proc = snakemake(tmp_path / "absent", config, "--dry-run")
    jobs = scheduled(proc)
    assert not {"gene_enrichment", "gene_summary", "plot_manhattan", "plot_gene_qq", "cluster_trait"} & set(jobs)
    assert {"gwas", "shrink", "cluster", "plot_clusters", "gpatlas_importance", "plot_gwas"} <= set(jobs)
    assert "no gene table" in proc.stderr
    jobs_none = scheduled(snakemake(tmp_path / "none", user_config(cohort, genes="none"), "--dry-run"))
    assert jobs_none == jobs


def test_human_genes_on_mouse_positions_stop_the_run_with_the_measured_shares(tmp_path, rng):
    """A mouse-like array (20 chromosomes at GRCm39 lengths) with `build: hg19`: the shipped human genes do not fit."""
    lengths = {**{str(c): mb for c, mb in zip(range(1, 20), (195, 182, 160, 157, 152, 150, 145, 130, 124, 131, 122,
                                                               120, 121, 125, 104, 98, 95, 91, 61))}, "X": 169}
    bim = pd.concat([pd.DataFrame({"CHROM": c, "POS": np.sort(rng.integers(1, mb * 1_000_000, 150))})
                     for c, mb in lengths.items()], ignore_index=True)
    bim = bim.assign(ID=[f"m{i}" for i in range(len(bim))], CM=0.0, A1="A", A2="G")
    ids = [f"s{i}" for i in range(40)]
    fam = pd.DataFrame({"FID": ids, "IID": ids, "PAT": "0", "MAT": "0", "SEX": "0", "PHENO": "-9"})
    write_bfile(tmp_path / "mouse", fam, bim, iter([rng.binomial(2, 0.3, (40, len(bim))).astype(np.float32)]))
    pd.DataFrame({"FID": ids, "IID": ids, "weight": rng.normal(size=40)}).to_csv(tmp_path / "pheno.tsv", sep="\t",
                                                                                  index=False)
    config = {"cohorts": {"mouse": {"bfile": str(tmp_path / "mouse"), "pheno": str(tmp_path / "pheno.tsv"),
                                    "build": "hg19", "population": "EUR", "ld_blocks": "data"}}}
    proc = snakemake(tmp_path / "run", config, "--dry-run")
    assert proc.returncode != 0
    assert re.search(r"look like different genomes or assemblies: on the 20 chromosomes they share, [\d.]+% of its "
                     r"[\d,]+ genes contain a variant where [\d.]+% would", proc.stderr), proc.stderr
    assert "set `genes: none`" in proc.stderr


def test_a_cohort_with_an_ld_panel_tests_its_own_genotypes_and_takes_ld_from_the_panel(cohort, tmp_path):
    """Cohort = the first 200 samples, panel = the other 160 (and every other variant): GWAS on the
    cohort's QC'd genotypes (every individual-level stage too), LD from the QC'd panel."""
    source = Bfile.open(cohort / "genotypes")
    n = source.n_samples
    people, panel_people, panel_variants = np.arange(200), np.arange(200, n), np.arange(0, source.n_variants, 2)
    for name, samples, variants in (("mine", people, np.arange(source.n_variants)),
                                    ("panel", panel_people, panel_variants)):
        write_bfile(tmp_path / name, source.fam.iloc[samples], source.bim.iloc[variants],
                    iter([source.read(variants, samples)]))
    config = user_config(cohort, bfile=str(tmp_path / "mine"), ld_panel=str(tmp_path / "panel"))
    dry = snakemake(tmp_path / "run", config, "--dry-run")
    for rule in ("gwas", "gpatlas_pheno", "gpatlas_geno", "gpatlas_evaluate", "gpatlas_importance"):
        block = dry.stdout.split(f"rule {rule}:")[1].split("output:")[0]
        assert "results/mine/qc/genotypes.bed" in block and "panel" not in block, (rule, block)
    targets = ["results/mine/summary/gwas.tsv", "results/mine/ld/ldscores.tsv"]
    proc = snakemake(tmp_path / "run", config, *targets)
    assert proc.returncode == 0, proc.stderr[-3000:]
    res = tmp_path / "run" / "results" / "mine"
    own = Bfile.open(res / "qc" / "genotypes")
    assert set(own.fam.IID) <= set(source.fam.IID.iloc[people]) and own.n_samples >= 195
    direct = run_linear_gwas(res / "qc" / "genotypes", cohort / "pheno.tsv", "trait1", tmp_path / "direct.tsv",
                             covar=cohort / "covar.tsv")
    gwas = read_tsv(res / "gwas" / "trait1.tsv")
    pd.testing.assert_frame_equal(gwas, read_tsv(tmp_path / "direct.tsv"), check_exact=False, rtol=1e-9)
    panel = Bfile.open(res / "qc" / "panel" / "genotypes")
    assert set(panel.fam.IID) <= set(source.fam.IID.iloc[panel_people])
    block = next((res / "ld" / "blocks").glob("*.npz"))
    assert read_block_ld(block).n == panel.n_samples
    harmonised = read_tsv(res / "sumstats" / "trait1.tsv")
    assert set(harmonised.ID) <= set(panel.bim.ID) and len(harmonised) > 0.9 * panel.n_variants


def test_an_interrupted_local_run_ends_its_jobs_and_resumes(cohort, tmp_path):
    """Ctrl-C (SIGINT to the process group) during a job leaves no job process behind; after a hard kill
    (a second Ctrl-C, a lost terminal) and `--unlock`, the job's output is incomplete and a plain rerun
    with the local profile redoes it instead of stopping."""
    config = user_config(cohort, genes="none") | {"gpatlas": {"pheno_epochs": 100_000}}
    target = "results/mine/gpatlas/pheno_model.pt"  # its job writes the split first, then trains for long
    log = tmp_path / "logs" / "gpatlas_pheno" / "mine.log"

    def start_and_wait_for_training() -> subprocess.Popen:
        log.unlink(missing_ok=True)
        # a terminal's Ctrl-C: SIGINT handled by default even when pytest runs in the background (`cmd &`
        # starts with SIGINT ignored, which its children would inherit)
        proc = snakemake(tmp_path, config, target, profile="local", start_new_session=True,
                         preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
        deadline = time.time() + 300
        while not log.exists() and time.time() < deadline and proc.poll() is None:
            time.sleep(0.2)
        assert log.exists(), "the training job never started"
        time.sleep(5)
        return proc

    def job_processes(proc) -> list[str]:
        return subprocess.run(["pgrep", "-s", str(proc.pid)], capture_output=True, text=True).stdout.split()

    proc = start_and_wait_for_training()
    os.killpg(proc.pid, signal.SIGINT)
    proc.wait(timeout=120)
    time.sleep(1)
    assert not job_processes(proc), "job processes outlived the interrupted run"

    proc = start_and_wait_for_training()
    proc.kill()  # snakemake itself dies without cleaning up; then its job is stopped too
    proc.wait(timeout=30)
    os.killpg(proc.pid, signal.SIGKILL)
    assert snakemake(tmp_path, config, "--unlock").returncode == 0  # the killed run's lock, as snakemake says
    # the job had written its first output when it died (its outputs are written one after another)
    (tmp_path / "results/mine/gpatlas/split.tsv").write_text("FID\tIID\tsplit\n")
    config["gpatlas"]["pheno_epochs"] = 2
    without_profile = snakemake(tmp_path, config, target, "--dry-run")
    assert "IncompleteFilesException" in without_profile.stderr + without_profile.stdout
    rerun = snakemake(tmp_path, config, target, profile="local")
    assert rerun.returncode == 0, rerun.stderr[-3000:]
    assert (tmp_path / target).exists()


def test_user_supplied_tables_are_inputs_snakemake_tracks(cohort, tmp_path):
    """A changed block table or split file must rerun what depends on it: both are job inputs."""
    table = tmp_path / "blocks.bed"
    table.write_text("chrom\tstart\tstop\n1\t0\t600000\n1\t600000\t2000000\n2\t0\t2000000\n")
    split = tmp_path / "split.tsv"
    fam = Bfile.open(cohort / "genotypes").fam
    fam[["FID", "IID"]].assign(split=np.where(np.arange(len(fam)) % 5 == 0, "test", "train")).to_csv(
        split, sep="\t", index=False)
    proc = snakemake(tmp_path / "run", user_config(cohort, ld_blocks=str(table)) | {"gpatlas": {"split_file": str(split)}},
                     "--dry-run")
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert str(table) in proc.stdout.split("checkpoint ld_blocks:")[1].split("output:")[0]
    assert str(split) in proc.stdout.split("rule gpatlas_pheno:")[1].split("output:")[0]


def test_shrinkage_training_is_derived_from_the_cohorts_gwas(cohort, tmp_path):
    """The training plan brackets the per-block signal (N h2) of the cohort's own GWAS; `fixed` restores the grid."""
    run = tmp_path / "derived"
    plan_path = run / "results/mine/shrinkage/training_plan.json"
    dry = scheduled(snakemake(run, user_config(cohort), "--dry-run", str(plan_path.relative_to(run))))
    assert dry["gwas_architecture"] == 3 and dry["training_plan"] == 1 and "simulate_training" not in dry
    proc = snakemake(run, user_config(cohort), str(plan_path.relative_to(run)))
    assert proc.returncode == 0, proc.stderr[-3000:]
    plan = json.loads(plan_path.read_text())
    arch = [read_tsv(run / f"results/mine/shrinkage/architecture/trait{k}.tsv") for k in (1, 2, 3)]
    n_panel = Bfile.open(run / "results/mine/qc/genotypes").n_samples  # the LD reference: the QC'd genotypes
    assert all(((a.n > 0.9 * n_panel) & (a.n <= n_panel)).all() for a in arch)  # the GWAS's N (a few calls missing)
    top = max(a.signal.max() for a in arch)
    # schema defaults (a user config): 5 points up to 1.5 x the strongest block, at the panel's size (individual)
    expected = np.geomspace(1.0, max(1.5 * top, 10.0), 5) / n_panel
    assert plan["source"] == "derived" and plan["per_block"] and plan["n"] is None
    np.testing.assert_allclose(sorted({s["h2"] for s in plan["settings"]}), expected, rtol=1e-9)
    assert {s["causal_fraction"] for s in plan["settings"]} == {0.002, 0.01, 0.05}
    assert "SNP h2" in (run / "logs/gwas_architecture/mine/trait1.log").read_text()
    fixed = scheduled(snakemake(tmp_path / "fixed", user_config(cohort) | {"shrinkage": {"training_grid": "fixed"}},
                                "--dry-run", str(plan_path.relative_to(run))))
    assert "gwas_architecture" not in fixed and fixed["training_plan"] == 1
