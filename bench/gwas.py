"""GWAS engine benchmark: phenomap's numpy engine vs plink2 --glm on the same cohort.

Simulates (once, cached under bench/data/) a cohort of N samples x M variants with 2%
missing calls, a trait with 50 causal variants and 4 covariates, then runs each engine
in its own child process (so peak memory is its own) with the same thread count, and
prints/writes: wall time, time ratio, peak RSS, and the max relative difference of
BETA/SE/P between engines (limited by plink2's 6 printed significant digits).

    python bench/gwas.py [--samples 5000] [--variants 100000] [--threads 1]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent


def simulate(prefix: Path, n: int, m: int, seed: int = 1) -> None:
    from phenomap.io.plink import write_bfile

    rng = np.random.default_rng(seed)
    ids = [f"i{i}" for i in range(n)]
    fam = pd.DataFrame({"FID": ids, "IID": ids, "PAT": "0", "MAT": "0", "SEX": "0", "PHENO": "-9"})
    bim = pd.DataFrame({"CHROM": "1", "ID": [f"v{j}" for j in range(m)], "CM": 0.0,
                        "POS": np.arange(1, m + 1) * 100, "A1": "A", "A2": "G"})
    freq = rng.uniform(0.01, 0.5, m)
    causal = rng.choice(m, 50, replace=False)
    genetic = np.zeros(n)

    def chunks(size=5000):
        nonlocal genetic
        for start in range(0, m, size):
            f = freq[start:start + size]
            G = rng.binomial(2, f, (n, len(f))).astype(np.float32)
            in_chunk = causal[(causal >= start) & (causal < start + size)] - start
            genetic = genetic + G[:, in_chunk] @ rng.normal(0, 0.1, len(in_chunk))
            G[rng.random(G.shape) < 0.02] = np.nan
            yield G

    write_bfile(prefix, fam, bim, chunks())
    C = rng.normal(size=(n, 4))
    y = genetic + C @ [0.3, -0.2, 0.1, 0.0] + rng.normal(size=n)
    pd.DataFrame({"FID": ids, "IID": ids, "trait": y}).to_csv(f"{prefix}.pheno.tsv", sep="\t", index=False)
    cov = pd.DataFrame(C, columns=["age", "pc1", "pc2", "pc3"])
    pd.concat([fam[["FID", "IID"]], cov], axis=1).to_csv(f"{prefix}.covar.tsv", sep="\t", index=False)


def child(engine: str, prefix: str, out: str, threads: int) -> None:
    """Run one engine and print JSON {seconds, peak_mb} (self + children RSS)."""
    from phenomap.gwas import run_gwas

    t0 = time.perf_counter()
    run_gwas(prefix, f"{prefix}.pheno.tsv", "trait", out, engine=engine, covar=f"{prefix}.covar.tsv",
             chunk=4096, threads=threads)
    seconds = time.perf_counter() - t0
    peak_kb = max(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
                  resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
    print(json.dumps({"seconds": seconds, "peak_mb": peak_kb / 1024}))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--samples", type=int, default=5000)
    ap.add_argument("--variants", type=int, default=100_000)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--child", nargs=3, metavar=("ENGINE", "PREFIX", "OUT"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        child(*args.child, threads=args.threads)
        return

    data = HERE / "data"
    data.mkdir(exist_ok=True)
    prefix = data / f"gwas_{args.samples}x{args.variants}"
    if not Path(f"{prefix}.bed").exists():
        t0 = time.perf_counter()
        simulate(prefix, args.samples, args.variants)
        print(f"simulated {args.samples} x {args.variants} in {time.perf_counter() - t0:.0f} s", file=sys.stderr)
    env = dict(os.environ, OMP_NUM_THREADS=str(args.threads), OPENBLAS_NUM_THREADS=str(args.threads),
               MKL_NUM_THREADS=str(args.threads))
    rows, tables = [], {}
    for engine in ("numpy", "plink2"):
        out = data / f"gwas_{engine}.tsv"
        proc = subprocess.run([sys.executable, __file__, "--threads", str(args.threads), "--child", engine,
                               str(prefix), str(out)], env=env, capture_output=True, text=True, check=True)
        stats = json.loads(proc.stdout.strip().splitlines()[-1])
        tables[engine] = pd.read_csv(out, sep="\t")
        rows.append({"engine": engine, "samples": args.samples, "variants": args.variants,
                     "threads": args.threads, **stats})
    a, b = tables["numpy"], tables["plink2"]
    ok = b.P.notna() & a.P.notna()
    result = pd.DataFrame(rows)
    result["time_ratio_vs_plink2"] = result.seconds / result.seconds.iloc[1]
    for col in ("BETA", "SE", "P"):
        result[f"max_rel_diff_{col}"] = float(np.max(np.abs(a[col][ok] / b[col][ok] - 1)))
    result["variants_compared"] = int(ok.sum())
    (HERE / "results").mkdir(exist_ok=True)
    result.to_csv(HERE / "results" / "gwas.tsv", sep="\t", index=False, float_format="%.4g")
    print(result.to_string(index=False, float_format=lambda x: f"{x:.4g}"))


if __name__ == "__main__":
    main()
