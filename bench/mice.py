"""The BGLR mice end to end, as a new user runs them: config/examples/mice.yaml through the whole workflow.

Writes the mice as PLINK files (bench/realdata.py), runs ``snakemake --profile profiles/local``
on config/examples/mice.yaml (its input paths made absolute) in its own working directory
bench/data/mice/run/ (outputs in results/mice/ there), then reports: variants kept by QC (per reason) and by harmonisation, lambda_GC of the linear
model (run here on the same QC'd genotypes) beside the workflow's mixed model, the top loci of
each trait under the mixed model, the cluster types, G-P Atlas's held-out R² beside its baselines,
the wall time of the whole run and of its slowest rules.

    python bench/mice.py [--cores 2] [--rerun]

Results: bench/results/mice.tsv (one row per figure).
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from realdata import MICE_TRAITS, mice_plink

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
CONFIG = REPO / "config" / "examples" / "mice.yaml"
RUN = HERE / "data" / "mice" / "run"
RESULTS = RUN / "results" / "mice"


def top_loci(table: pd.DataFrame, n: int = 3, distance: float = 5e6) -> pd.DataFrame:
    """The ``n`` smallest-P variants at least ``distance`` bp apart (or on other chromosomes)."""
    chosen = []
    for row in table.dropna(subset=["P"]).sort_values("P").itertuples():
        if all(row.CHROM != c.CHROM or abs(row.POS - c.POS) >= distance for c in chosen):
            chosen.append(row)
        if len(chosen) == n:
            break
    return pd.DataFrame(chosen)[["ID", "CHROM", "POS", "BETA", "P"]]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cores", type=int, default=2)
    parser.add_argument("--rerun", action="store_true", help="delete results/mice first (a full run from scratch)")
    args = parser.parse_args()
    paths = mice_plink()
    if args.rerun:
        shutil.rmtree(RUN, ignore_errors=True)
    RUN.mkdir(parents=True, exist_ok=True)
    config = yaml.safe_load(CONFIG.read_text())
    config["cohorts"]["mice"] |= {key: str(paths[key]) for key in ("bfile", "pheno", "covar", "relationship")}
    (RUN / "config.yaml").write_text(yaml.safe_dump(config))
    start = time.perf_counter()
    cmd = [sys.executable, "-m", "snakemake", "--snakefile", str(REPO / "Snakefile"), "--directory", str(RUN),
           "--profile", str(REPO / "profiles" / "local"), "--configfile", str(RUN / "config.yaml"),
           "--cores", str(args.cores)]
    subprocess.run(cmd, check=True)
    wall = time.perf_counter() - start

    from phenomap.gwas.linear import run_linear_gwas
    from phenomap.gwas.summary import lambda_gc
    from phenomap.io.tables import read_tsv

    rows = [("run", "wall time of the whole workflow (s)", round(wall, 1))]
    qc = read_tsv(RESULTS / "qc" / "summary.tsv").set_index("chrom").loc["total"]
    rows += [("qc", f"variants {key}", int(qc[key])) for key in
             ("variants_in", "variants_kept", "variant_missing", "monomorphic", "maf", "hwe", "hwe_not_tested")]
    rows += [("qc", f"samples {key}", int(qc[key])) for key in ("samples_in", "samples_kept", "hwe_females")]
    summary = read_tsv(RESULTS / "summary" / "gwas.tsv").set_index("trait")
    for trait in MICE_TRAITS:
        rows.append((trait, "variants after harmonisation", int(summary.loc[trait, "n_variants"])))
        rows.append((trait, "dropped by harmonisation", summary.loc[trait, "dropped"]))
        linear = run_linear_gwas(RESULTS / "qc" / "genotypes", paths["pheno"], trait, RUN / f"linear_{trait}.tsv",
                                 covar=paths["covar"])
        lmm = read_tsv(RESULTS / "gwas" / f"{trait}.tsv")
        rows.append((trait, "lambda_GC linear", round(lambda_gc(p=linear.P.to_numpy()), 3)))
        rows.append((trait, "lambda_GC lmm (LOCO)", round(float(summary.loc[trait, "lambda_gc"]), 3)))
        rows.append((trait, "P < 5e-8 linear", int((linear.P < 5e-8).sum())))
        rows.append((trait, "P < 5e-8 lmm", int((lmm.P < 5e-8).sum())))
        for rank, locus in enumerate(top_loci(lmm).itertuples(), 1):
            rows.append((trait, f"lmm top locus {rank}",
                         f"{locus.ID} {locus.CHROM}:{locus.POS} beta {locus.BETA:.3g} P {locus.P:.2g}"))
    types = read_tsv(RESULTS / "clusters" / "types.tsv")
    rows.append(("clusters", "K* and cluster types", f"{len(types)}: " + ", ".join(
        f"{t.type} ({t.traits})" for t in types.itertuples())))
    grvsnn = read_tsv(RESULTS / "grvsnn" / "comparison.tsv")
    for m in grvsnn.itertuples():
        rows.append(("GRVSNN", f"CV r {m.method} {m.trait}", f"{m.r_mean:.3f} ± {m.r_se:.3f}"))
    metrics = read_tsv(RESULTS / "gpatlas" / "metrics.tsv")
    for m in metrics[(metrics.trait != "median") & (metrics.model != "pheno->pheno")].itertuples():
        rows.append(("G-P Atlas", f"held-out R2 {m.model} {m.trait}", round(m.r2, 3)))
    timings = []
    for path in (RUN / "benchmarks").rglob("*.tsv"):
        rule = path.relative_to(RUN / "benchmarks").parts[0]
        timings.append((rule, float(pd.read_csv(path, sep="\t").s.iloc[0])))
    per_rule = pd.DataFrame(timings, columns=["rule", "s"]).groupby("rule").s.sum().sort_values(ascending=False)
    rows += [("rules", f"{rule} (s, all its jobs)", round(s, 1)) for rule, s in per_rule.head(8).items()]
    table = pd.DataFrame(rows, columns=["part", "figure", "value"])
    out = HERE / "results" / "mice.tsv"
    table.to_csv(out, sep="\t", index=False)
    print(table.to_string(index=False))
    print(f"\nwritten to {out}")


if __name__ == "__main__":
    np.seterr(all="ignore")
    main()
