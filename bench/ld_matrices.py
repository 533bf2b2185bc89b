"""LD matrices (`ld_matrices`) against the LD panel they were computed from: same shrunk effects?

Simulates a toy cohort (msprime, default ToyParams: 1,000 founders + families, 2 x 3,000
variants) under bench/data/ld_matrices/, runs the GWAS of trait1 and gives its statistics to two
sumstats-only cohorts: one with the genotypes as `ld_panel`, one with the LD that run computed,
exported to the LD-matrix format (`export_ld_matrices`). Both run the workflow up to the shrunk
effects with the summary-level training simulation, for `eb` (deterministic) and `nn` (toy
training settings of config/config.yaml), same seed. Reports per method the agreement of the
two paths (Pearson r, largest |difference| over the SD of the panel path's effects) and each
run's wall time; and the start-up check of the matrices (check_ld_matrices) on that directory
and on one synthetic 2,000-variant block. Prints a table and writes bench/results/ld_matrices.tsv.

    .venv/bin/python bench/ld_matrices.py
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from phenomap.gwas.linear import run_linear_gwas
from phenomap.io.tables import read_tsv, write_tsv
from phenomap.ld.matrices import check_ld_matrices, export_ld_matrices
from phenomap.sim.cohort import ToyParams, simulate_toy_cohort

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
DATA = HERE / "data" / "ld_matrices"
SEED = 20261207


def run(workdir: Path, cohort: dict, method: str) -> float:
    """Wall seconds of the workflow up to trait1's shrunk effects; toy shrinkage settings, summary simulation."""
    workdir.mkdir(parents=True, exist_ok=True)
    toy = yaml.safe_load((REPO / "config/config.yaml").read_text())
    config = {"cohorts": {"mine": cohort}, "shrinkage": toy["shrinkage"] | {"method": method, "simulation": "summary"}}
    (workdir / "my.yaml").write_text(yaml.safe_dump(config))
    started = time.perf_counter()
    with open(workdir / "snakemake.log", "w") as log:
        subprocess.run([sys.executable, "-m", "snakemake", "--snakefile", str(REPO / "Snakefile"), "--directory",
                        str(workdir), "--configfile", str(workdir / "my.yaml"), "--cores", "1",
                        "results/mine/shrinkage/trait1.tsv"], check=True, stdout=log, stderr=subprocess.STDOUT)
    return time.perf_counter() - started


def timed_check(directory: Path) -> dict:
    """Seconds and size of check_ld_matrices on an LD-matrix directory."""
    started = time.perf_counter()
    variants = check_ld_matrices(directory)
    return {"n_variants": len(variants), "check_s": time.perf_counter() - started}


def main() -> None:
    DATA.mkdir(parents=True, exist_ok=True)
    cohort = DATA / "cohort"
    if not (cohort / "genotypes.bed").exists():
        simulate_toy_cohort(cohort, ToyParams(), seed=SEED)
    run_linear_gwas(cohort / "genotypes", cohort / "pheno.tsv", "trait1", DATA / "trait1.tsv")
    sumstats = {"trait1": {"path": str(DATA / "trait1.tsv"), "format": "generic", "allow_missing": True}}
    rows = []
    for method in ("eb", "nn"):
        out = DATA / method
        panel_time = run(out / "panel", {"sumstats": sumstats, "ld_panel": str(cohort / "genotypes"),
                                         "ld_blocks": "data"}, method)
        export_ld_matrices(out / "panel/results/mine/ld", out / "ld")
        matrix_time = run(out / "matrices", {"sumstats": sumstats, "ld_matrices": str(out / "ld")}, method)
        panel, matrices = (read_tsv(out / path / "results/mine/shrinkage/trait1.tsv").set_index("ID").BETA_SHRUNK
                           for path in ("panel", "matrices"))
        assert panel.index.equals(matrices.index)
        rows.append({"method": method, "n_variants": len(panel), "pearson_r": np.corrcoef(panel, matrices)[0, 1],
                     "max_abs_diff_over_sd": float((panel - matrices).abs().max() / panel.std()),
                     "panel_wall_s": panel_time, "matrices_wall_s": matrix_time})
    n_blocks = len(read_tsv(DATA / "eb/ld/blocks.tsv"))
    rows.append({"method": f"check_ld_matrices ({n_blocks} toy blocks)", **timed_check(DATA / "eb/ld")})
    rng = np.random.default_rng(SEED)
    big = DATA / "big"
    big.mkdir(exist_ok=True)
    G = rng.binomial(2, 0.3, size=(2500, 2000)).astype(np.float32)
    r = np.corrcoef(G.T).astype(np.float32)
    np.savez(big / "b.npz", r=r, ids=[f"v{j}" for j in range(2000)], a1=["A"] * 2000, a2=["G"] * 2000,
             pos=np.arange(2000) + 1, n=2500)
    (big / "blocks.tsv").write_text("chrom\tstart\tstop\tblock\n1\t0\t3000\tb\n")
    rows.append({"method": "check_ld_matrices (one 2,000-variant block)", **timed_check(big)})
    table = pd.DataFrame(rows)
    print(table.to_string(index=False))
    write_tsv(table, HERE / "results" / "ld_matrices.tsv")


if __name__ == "__main__":
    main()
