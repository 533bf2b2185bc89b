"""Gene enrichment benchmark. Timing part: wall time and peak memory of the test on 20k genes.

Synthetic data: LD blocks of ``--block-variants`` variants, each the correlation of its own
genotypes (``--samples`` samples; two thresholded AR(1) Gaussian paths per sample, so LD
decays along the block); ``--genes`` genes of 5-50 consecutive variants each, placed at random
inside blocks (genes may overlap, as real ones do, and a few cross a block boundary); effects
drawn from the null N(0, eps R) block by block, and in the ``planted`` scenario 2% of the genes
get three large effects each (so their p-values fall in Imhof's range). The test is timed with
the LD held in memory (a dict) and read block by block from ``.npz`` files (as the workflow
does); peak memory is tracemalloc's peak of the allocations made during the test (numpy
included; measured in a second, untimed run), besides the process's maximum resident size
(which includes the simulated data: the LD blocks alone take 4 * variants * block_variants
bytes).

Runs with ``--blas-threads`` (default 2) BLAS threads, set before numpy loads. Prints a table
and writes bench/results/genes_timing.tsv.

    .venv/bin/python bench/genes.py [--genes 20000] [--variants 200000] [--block-variants 400]
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

HERE = Path(__file__).resolve().parent


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--genes", type=int, default=20_000)
    parser.add_argument("--variants", type=int, default=200_000)
    parser.add_argument("--block-variants", type=int, default=400)
    parser.add_argument("--samples", type=int, default=500)
    parser.add_argument("--blas-threads", default="2")
    parser.add_argument("--seed", type=int, default=20261125)
    parser.add_argument("--out", type=Path, default=HERE / "results" / "genes_timing.tsv")
    return parser.parse_args()


ARGS = parse_args() if __name__ == "__main__" else None
if ARGS is not None:
    for variable in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[variable] = ARGS.blas_threads

import numpy as np  # noqa: E402  (after the BLAS thread count is set)
import pandas as pd  # noqa: E402

from phenomap.genes.enrichment import LDBlockFiles, gene_test  # noqa: E402
from phenomap.ld.matrix import correlation  # noqa: E402
from phenomap.sim.haplotypes import ar1_genotypes  # noqa: E402

EPS = 1e-5
SPACING = 100  # bp between consecutive variants


def block_ld(rng: np.random.Generator, n_blocks: int, m: int, n: int) -> list[np.ndarray]:
    """Correlation matrices of ``n_blocks`` blocks of m variants, from simulated genotypes."""
    blocks = []
    for _ in range(n_blocks):
        G = ar1_genotypes(rng, n, m, rho=rng.uniform(0.8, 0.98))
        blocks.append(correlation(G))
    return blocks


def simulate(rng: np.random.Generator, args: argparse.Namespace):
    """Null effects, genes and LD blocks (block name -> (ids, r))."""
    m = args.block_variants
    n_blocks = -(-args.variants // m)
    ld = block_ld(rng, n_blocks, m, args.samples)
    ids = np.array([f"v{i}" for i in range(n_blocks * m)])
    beta = np.empty(n_blocks * m)
    for b, r in enumerate(ld):
        w, V = np.linalg.eigh(r.astype(np.float64))
        beta[b * m:(b + 1) * m] = V @ (np.sqrt(np.clip(w, 0, None) * EPS) * rng.standard_normal(m))
    size = rng.integers(5, 51, args.genes)
    first = rng.integers(0, len(ids) - size)
    effects = pd.DataFrame({"ID": ids, "CHROM": "1", "POS": SPACING * (np.arange(len(ids)) + 1), "beta": beta})
    genes = pd.DataFrame({"gene_id": np.arange(args.genes).astype(str), "symbol": [f"G{g}" for g in range(args.genes)],
                          "chrom": "1", "start": SPACING * (first + 1), "stop": SPACING * (first + size)})
    blocks = {f"1_{b + 1:04d}": (ids[b * m:(b + 1) * m], r) for b, r in enumerate(ld)}
    return effects, genes, blocks


def plant(rng: np.random.Generator, effects: pd.DataFrame, genes: pd.DataFrame, fraction: float) -> pd.DataFrame:
    """Effects with three large effects added in each of a random ``fraction`` of the genes."""
    beta = effects.beta.to_numpy().copy()
    first = genes.start.to_numpy() // SPACING - 1
    size = (genes.stop.to_numpy() - genes.start.to_numpy()) // SPACING + 1
    for g in np.flatnonzero(rng.random(len(genes)) < fraction):
        beta[first[g] + rng.choice(size[g], 3, replace=False)] += 8 * np.sqrt(EPS)
    return effects.assign(beta=beta)


def timed(effects, genes, ld_blocks) -> tuple[pd.DataFrame, float, float]:
    """The test's result, its wall time (s) and, from a second run under tracemalloc (which
    slows allocation-heavy code, so it is not timed), its peak traced memory (MiB)."""
    start = time.perf_counter()
    result = gene_test(effects, genes, ld_blocks, eps=EPS)
    seconds = time.perf_counter() - start
    tracemalloc.start()
    gene_test(effects, genes, ld_blocks, eps=EPS)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return result, seconds, peak / 2**20


def timing(args: argparse.Namespace) -> pd.DataFrame:
    rng = np.random.default_rng(args.seed)
    start = time.perf_counter()
    null, genes, blocks = simulate(rng, args)
    print(f"simulated {len(null)} variants in {len(blocks)} blocks, {len(genes)} genes "
          f"in {time.perf_counter() - start:.0f} s", file=sys.stderr)
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        paths = []
        for name, (ids, r) in blocks.items():
            paths.append(Path(folder) / f"{name}.npz")
            np.savez(paths[-1], r=r, ids=ids)
        for scenario, effects in (("null", null), ("planted 2%", plant(rng, null, genes, 0.02))):
            for source, ld in (("memory", blocks), ("npz files", LDBlockFiles(paths))):
                result, seconds, peak_mb = timed(effects, genes, ld)
                methods = result.p_method.value_counts()
                rows.append({
                    "scenario": scenario, "ld_source": source, "genes_tested": len(result),
                    "variants": len(effects), "ld_blocks": len(blocks), "gene_variant_pairs": int(result.n_snps.sum()),
                    "imhof": int(methods.get("imhof", 0)), "saddlepoint": int(methods.get("saddlepoint", 0)),
                    "q_below_0.05": int((result.q < 0.05).sum()), "wall_s": round(seconds, 2),
                    "peak_traced_mb": round(peak_mb, 1),
                })
                print(pd.DataFrame(rows[-1:]).to_string(index=False, header=len(rows) == 1), flush=True)
    table = pd.DataFrame(rows)
    table["max_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    table["blas_threads"] = args.blas_threads
    table["cpu_count"] = os.cpu_count()
    return table


def main(args: argparse.Namespace) -> None:
    table = timing(args)
    print(table.to_string(index=False))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    table.to_csv(args.out, sep="\t", index=False)
    print(f"wrote {args.out}", file=sys.stderr)


if __name__ == "__main__":
    main(ARGS)
