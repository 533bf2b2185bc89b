"""Speed of the SNP database: marginal validation r² of every SNP under all nine encodings.

Simulates (once, cached under bench/data/) a PLINK fileset of N samples x M variants on 10
chromosomes with 1% missing calls and a trait from 200 causal variants under mixed
inheritance, then builds the SNP database from the fileset (bed-reader chunks, as the
workflow does) and from the genotypes in memory (float32), each in its own child process
so peak memory is its own. Prints and writes bench/results/gpsearch_snpdb.tsv: input size,
wall seconds, peak RSS, and the share of causal variants among the 200 highest best r².

    python bench/gpsearch_snpdb.py [--samples 5000] [--variants 100000] [--chunk 2048]
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
N_CAUSAL = 200


def simulate(prefix: Path, n: int, m: int, seed: int = 1) -> None:
    """Write the fileset, its phenotype (``prefix.pheno.npy``) and causal indices (``prefix.causal.npy``)."""
    from phenomap.gpsearch.encodings import FIXED_ENCODINGS, encode
    from phenomap.io.plink import write_bfile

    rng = np.random.default_rng(seed)
    ids = [f"i{i}" for i in range(n)]
    fam = pd.DataFrame({"FID": ids, "IID": ids, "PAT": "0", "MAT": "0", "SEX": "0", "PHENO": "-9"})
    chrom = np.repeat(np.arange(1, 11), -(-m // 10))[:m]
    pos = np.concatenate([np.arange(1, (chrom == c).sum() + 1) * 1000 for c in range(1, 11)])
    bim = pd.DataFrame({"CHROM": chrom.astype(str), "ID": [f"v{j}" for j in range(m)], "CM": 0.0, "POS": pos,
                        "A1": "A", "A2": "G"})
    freq = rng.uniform(0.05, 0.5, m)
    causal = np.sort(rng.choice(m, N_CAUSAL, replace=False))
    kinds = rng.choice(list(FIXED_ENCODINGS), N_CAUSAL)
    genetic = np.zeros(n)

    def chunks(size=5000):
        nonlocal genetic
        for start in range(0, m, size):
            G = rng.binomial(2, freq[start : start + size], size=(n, len(freq[start : start + size]))).astype(np.float32)
            for j in np.flatnonzero((causal >= start) & (causal < start + size)):
                genetic = genetic + rng.normal(0, 0.3) * encode(G[:, [causal[j] - start]], kinds[j])[:, 0]
            G[rng.random(G.shape) < 0.01] = np.nan
            yield G

    prefix.parent.mkdir(parents=True, exist_ok=True)
    write_bfile(prefix, fam, bim, chunks())
    y = genetic + rng.normal(0, np.sqrt(genetic.var()), n)  # h2 = 0.5
    np.save(f"{prefix}.pheno.npy", y)
    np.save(f"{prefix}.causal.npy", causal)


def run_one(prefix: str, method: str, chunk: int) -> dict:
    """Build the SNP database one way; return seconds, peak RSS and the causal share of the top 200."""
    from phenomap.gpsearch.snpdb import build_snpdb, snpdb_from_bfile
    from phenomap.io.plink import Bfile

    y = np.load(f"{prefix}.pheno.npy")
    causal = np.load(f"{prefix}.causal.npy")
    is_train = np.arange(len(y)) % 2 == 0
    if method == "in_memory":
        geno = Bfile.open(prefix)
        G = geno.read()
        start = time.perf_counter()
        table = build_snpdb(G, y, is_train, geno.bim, chunk=chunk, bin_size=100)
    else:
        start = time.perf_counter()
        table = snpdb_from_bfile(prefix, y, is_train, chunk=chunk, bin_size=100)
    seconds = time.perf_counter() - start
    top = np.argsort(-table.best_r2.to_numpy())[:N_CAUSAL]
    return {"seconds": seconds, "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            "causal_in_top": float(np.isin(top, causal).mean())}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=5000)
    parser.add_argument("--variants", type=int, default=100_000)
    parser.add_argument("--chunk", type=int, default=2048)
    parser.add_argument("--child", nargs=2, metavar=("PREFIX", "METHOD"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(run_one(*args.child, args.chunk)))
        return
    prefix = HERE / "data" / f"gpsearch_{args.samples}x{args.variants}"
    if not Path(f"{prefix}.causal.npy").exists():
        start = time.perf_counter()
        simulate(prefix, args.samples, args.variants)
        print(f"simulated in {time.perf_counter() - start:.1f} s", file=sys.stderr)
    rows = []
    for method in ("bed_chunks", "in_memory"):
        out = subprocess.run([sys.executable, __file__, "--child", str(prefix), method, "--chunk", str(args.chunk)],
                             check=True, capture_output=True, text=True).stdout
        rows.append({"method": method, "samples": args.samples, "variants": args.variants, "chunk": args.chunk,
                     **json.loads(out.strip().splitlines()[-1])})
    table = pd.DataFrame(rows)
    print(table.to_string(index=False))
    (HERE / "results").mkdir(exist_ok=True)
    table.to_csv(HERE / "results" / "gpsearch_snpdb.tsv", sep="\t", index=False, float_format="%.6g")


if __name__ == "__main__":
    main()
