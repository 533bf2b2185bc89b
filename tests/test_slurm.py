"""The SLURM profile, tested without a cluster: stub `sbatch`, `sacct`, `srun` (tests/slurm_stub/) record every
submission and run it here, through the real snakemake-executor-plugin-slurm."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.workflow
TARGETS = ["results/toy/qc/summary.tsv", "results/toy/qc/removed.tsv", "results/toy/gpatlas/split.tsv"]
SETTINGS = """resources:
  partition: cpu_part
  gpu_partition: gpu_part
  account: lab
gpatlas:
  gpu: 1
  threads: 2
  mem_mb: 3000
  runtime_min: 30
"""


def snakemake(workdir: Path, profile: str, settings: Path, env: dict | None = None) -> subprocess.CompletedProcess:
    cmd = [sys.executable, "-m", "snakemake", "--snakefile", str(REPO / "Snakefile"), "--directory", str(workdir),
           "--configfile", str(REPO / "config/config.yaml"), str(settings), "--profile", str(REPO / profile),
           *TARGETS, "results/toy/gpatlas/pheno_model.pt"]
    if profile.endswith("slurm"):
        cmd += ["--slurm-init-seconds-before-status-checks", "1"]
    else:
        cmd += ["--cores", "2"]
    return subprocess.run(cmd, capture_output=True, text=True, env=env)


def test_slurm_profile_submits_every_job_with_its_resources_and_gpu_jobs_to_the_gpu_partition(tmp_path):
    bin_dir = tmp_path / "bin"
    shutil.copytree(REPO / "tests/slurm_stub", bin_dir)
    settings = tmp_path / "settings.yaml"
    settings.write_text(SETTINGS)
    env = dict(os.environ, PATH=f"{bin_dir}{os.pathsep}{os.environ['PATH']}", SLURM_STUB_STATE=str(tmp_path / "state"))
    proc = snakemake(tmp_path / "cluster", "profiles/slurm", settings, env)
    assert proc.returncode == 0, proc.stderr[-4000:]
    submissions = [json.loads(line) for line in (tmp_path / "state/sbatch.jsonl").read_text().splitlines()]
    by_rule = {}
    for job in submissions:
        args = job["args"]
        rule = args[args.index("--comment") + 1].removeprefix("rule_").split("_wildcards")[0]
        by_rule[rule] = args
    assert set(by_rule) == {"toy_cohort", "qc", "gpatlas_pheno"} and len(submissions) == 3
    for rule, args in by_rule.items():
        assert args[args.index("-A") + 1] == "lab"
        gpu = rule == "gpatlas_pheno"
        assert args[args.index("-p") + 1] == ("gpu_part" if gpu else "cpu_part"), rule
        assert ("--gpus=1" in args) == gpu, rule
    gpu_job = by_rule["gpatlas_pheno"]
    assert "--cpus-per-task=2" in gpu_job and gpu_job[gpu_job.index("--mem") + 1] == "3000"
    assert gpu_job[gpu_job.index("-t") + 1] == "30"
    assert by_rule["qc"][by_rule["qc"].index("--mem") + 1] == "4000"
    # the same targets run locally give the same files
    local = snakemake(tmp_path / "local", "profiles/local", settings)
    assert local.returncode == 0, local.stderr[-4000:]
    for target in TARGETS:
        assert (tmp_path / "cluster" / target).read_bytes() == (tmp_path / "local" / target).read_bytes(), target
