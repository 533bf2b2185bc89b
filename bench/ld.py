"""Speed and memory of per-block LD (block_ld) and of the data-driven partition (make_ld_blocks).

Simulates a PLINK fileset (default 5000 samples x 20000 variants on one chromosome, in
independent haplotype blocks) under bench/data/, then runs each measurement in its own
subprocess so peak memories do not mix:

* ``block_ld`` on blocks of 250, 500, 1000, 2000 and 4000 variants (variants/s, r entries/s);
* ``make_ld_blocks(source="data")`` on the whole fileset.

Peak memory is reported twice: the process's peak resident set (VmHWM, which includes the
interpreter and libraries; ru_maxrss is not used because a child started with vfork
inherits its parent's peak) and its increase over the resident set just before the call,
and the peak of the Python/numpy heap seen by tracemalloc during the call. Prints a table and writes
bench/results/ld.tsv.

    .venv/bin/python bench/ld.py [--samples 5000] [--variants 20000] [--sizes 250 500 1000 2000 4000]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

import numpy as np
import pandas as pd

from phenomap.io.plink import Bfile, write_bfile
from phenomap.ld.blocks import make_ld_blocks
from phenomap.ld.matrix import block_ld

HERE = Path(__file__).resolve().parent
SPACING = 100  # bp between consecutive variants
SEED = 20261125


def planted_sizes(sizes: list[int], total: int, rng: np.random.Generator) -> list[int]:
    """The benchmark block sizes first, then random 100-1000 variant blocks up to ``total``."""
    out = list(sizes)
    while sum(out) < total:
        out.append(int(min(rng.integers(100, 1000), total - sum(out))))
    return out


def simulate(prefix: Path, n: int, block_sizes: list[int], rng: np.random.Generator) -> None:
    """Genotypes in independent haplotype blocks (one latent value per haplotype and block)."""

    def blocks():
        for size in block_sizes:
            weight = rng.uniform(0.3, 1.5, size)  # how strongly each variant follows the block
            thresholds = rng.uniform(-1.0, 1.0, size)
            G = np.zeros((n, size), dtype=np.float32)
            for _ in range(2):
                G += rng.normal(size=(n, 1)) * weight + rng.normal(size=(n, size)) > thresholds
            yield G

    m = sum(block_sizes)
    ids = [f"s{i}" for i in range(n)]
    fam = pd.DataFrame({"FID": ids, "IID": ids, "PAT": "0", "MAT": "0", "SEX": "0", "PHENO": "-9"})
    pos = (np.arange(m) + 1) * SPACING
    bim = pd.DataFrame({"CHROM": "1", "ID": [f"1:{p}" for p in pos], "CM": 0.0, "POS": pos, "A1": "A", "A2": "G"})
    write_bfile(prefix, fam, bim, blocks())


def write_block_table(path: Path, bfile: Bfile, sizes: list[int]) -> list[str]:
    """A make_ld_blocks-style table of the first ``len(sizes)`` planted blocks; their names."""
    first = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    last = first + np.array(sizes) - 1
    pos, ids = bfile.bim.POS.to_numpy(), bfile.bim.ID.to_numpy()
    names = [f"1_{i + 1:04d}" for i in range(len(sizes))]
    table = pd.DataFrame({"chrom": "1", "start": pos[first], "stop": pos[last] + 1, "block": names,
                          "n_variants": sizes, "first_id": ids[first], "last_id": ids[last]})
    table.to_csv(path, sep="\t", index=False)
    return names


def measure(call) -> dict:
    """Run ``call()`` once; wall time, peak RSS increase and tracemalloc peak (MB)."""
    rss_before = _status_mb("VmRSS")
    tracemalloc.start()
    start = time.perf_counter()
    call()
    wall = time.perf_counter() - start
    peak_heap = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()
    peak_rss = _status_mb("VmHWM")
    return {"wall_s": wall, "peak_rss_mb": peak_rss, "rss_increase_mb": peak_rss - rss_before,
            "tracemalloc_peak_mb": peak_heap}


def _status_mb(field: str) -> float:
    """A memory field of /proc/self/status (Linux), in MB."""
    with open("/proc/self/status") as fh:
        line = next(line for line in fh if line.startswith(f"{field}:"))
    return int(line.split()[1]) / 1024


def worker(args) -> None:
    """One measurement in this (fresh) process; prints a JSON line."""
    with tempfile.TemporaryDirectory() as tmp:
        if args.worker == "block":
            result = measure(lambda: block_ld(args.prefix, args.blocks, args.block, Path(tmp) / "b.npz",
                                              Path(tmp) / "b.tsv", chunk=args.chunk))
        else:
            result = measure(lambda: make_ld_blocks(args.prefix, Path(tmp) / "blocks.tsv", source="data",
                                                    chunk=args.chunk))
    print(json.dumps(result))


def run_worker(*options: str) -> dict:
    done = subprocess.run([sys.executable, __file__, *options], check=True, capture_output=True, text=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=5000)
    parser.add_argument("--variants", type=int, default=20000)
    parser.add_argument("--sizes", type=int, nargs="+", default=[250, 500, 1000, 2000, 4000])
    parser.add_argument("--chunk", type=int, default=2000)
    parser.add_argument("--out", type=Path, default=HERE / "results" / "ld.tsv")
    parser.add_argument("--worker", choices=["block", "partition"], help=argparse.SUPPRESS)
    parser.add_argument("--prefix", help=argparse.SUPPRESS)
    parser.add_argument("--blocks", help=argparse.SUPPRESS)
    parser.add_argument("--block", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args)
        return

    rng = np.random.default_rng(SEED)
    sizes = planted_sizes(args.sizes, args.variants, rng)
    prefix = HERE / "data" / f"ld_{args.samples}x{sum(sizes)}"
    if not Path(f"{prefix}.bed").exists():
        start = time.perf_counter()
        simulate(prefix, args.samples, sizes, rng)
        print(f"simulated {prefix} in {time.perf_counter() - start:.1f} s", file=sys.stderr)
    bfile = Bfile.open(prefix)
    blocks_tsv = HERE / "data" / f"ld_{args.samples}x{sum(sizes)}.blocks.tsv"
    names = write_block_table(blocks_tsv, bfile, args.sizes)

    rows = []
    common = ["--prefix", str(prefix), "--chunk", str(args.chunk)]
    for name, m in zip(names, args.sizes):
        result = run_worker("--worker", "block", "--blocks", str(blocks_tsv), "--block", name, *common)
        rows.append({"task": "block_ld", "n_samples": bfile.n_samples, "n_variants": m, **result,
                     "variants_per_s": m / result["wall_s"], "r_entries_per_s": m * m / result["wall_s"]})
    result = run_worker("--worker", "partition", *common)
    rows.append({"task": "make_ld_blocks(data)", "n_samples": bfile.n_samples, "n_variants": bfile.n_variants,
                 **result, "variants_per_s": bfile.n_variants / result["wall_s"], "r_entries_per_s": np.nan})

    table = pd.DataFrame(rows)[["task", "n_samples", "n_variants", "wall_s", "variants_per_s", "r_entries_per_s",
                                "peak_rss_mb", "rss_increase_mb", "tracemalloc_peak_mb"]]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    table.to_csv(args.out, sep="\t", index=False, float_format="%.4g", na_rep="NA")
    with pd.option_context("display.width", 200, "display.float_format", "{:.4g}".format):
        print(table.to_string(index=False))
    print(f"written {args.out}", file=sys.stderr)


if __name__ == "__main__":
    main()
