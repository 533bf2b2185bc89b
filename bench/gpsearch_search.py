"""Cost of one pipeline evaluation in the NSGA-II search, per selector and regressor kind.

Simulated: 1,000 samples x 2,000 SNPs (two planted QTL), 50/50 split, pipelines of 30 SNPs.
Each selector kind is timed with a linear regressor and each regressor kind with the
variance selector (threshold drawn from its grid), ``REPEATS`` random pipelines each; then a
small whole search (population 10, 2 generations, every node kind) gives the mean wall time
per fitted pipeline. Prints the table and writes bench/results/gpsearch_search.tsv.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pandas as pd

from phenomap.gpsearch.nodes import LDPruneNode, Pipeline, RegressorNode, SelectorNode, SnpNode
from phenomap.gpsearch.nsga import SearchSettings, evaluate_pipeline, run_search
from phenomap.gpsearch.snpdb import build_snpdb
from phenomap.io.tables import write_tsv

N, M, N_SNPS, REPEATS = 1000, 2000, 30, 5


def simulate(rng):
    G = rng.binomial(2, rng.uniform(0.05, 0.5, M), size=(N, M)).astype(float)
    y = G[:, 10] / 2 + (G[:, 1500] == 2) + rng.normal(size=N)
    bim = pd.DataFrame({"CHROM": np.repeat(["1", "2", "3", "4"], M // 4), "ID": [f"snp{i}" for i in range(M)],
                        "POS": np.tile(np.arange(1, M // 4 + 1) * 20_000, 4), "A1": "A", "A2": "G"})
    return G, y, np.arange(N) % 2 == 0, bim


def time_kind(rng, G, y, train, snpdb, selector, regressor):
    """Mean seconds of evaluate_pipeline over REPEATS random pipelines of the given kinds."""
    seconds = []
    for _ in range(REPEATS):
        rows = np.sort(rng.choice(np.flatnonzero(snpdb.considered), N_SNPS, replace=False))
        pipe = Pipeline(tuple(SnpNode.from_snpdb(snpdb, int(i)) for i in rows), LDPruneNode.random(rng),
                        SelectorNode.random(rng, selector), RegressorNode.random(rng, regressor))
        start = time.perf_counter()
        evaluate_pipeline(pipe.to_json(), G[train], y[train], G[~train], y[~train])
        seconds.append(time.perf_counter() - start)
    return float(np.mean(seconds))


def main():
    rng = np.random.default_rng(0)
    G, y, train, bim = simulate(rng)
    snpdb = build_snpdb(G, y, train, bim, bin_size=50)
    rows = [("selector", kind, time_kind(rng, G, y, train, snpdb, kind, "linear")) for kind in SelectorNode.SPACE]
    rows += [("regressor", kind, time_kind(rng, G, y, train, snpdb, "variance", kind))
             for kind in RegressorNode.SPACE]
    settings = SearchSettings(population=10, generations=2, min_snps=10, max_snps=N_SNPS, seed=0)
    start = time.perf_counter()
    result = run_search(G, y, train, snpdb, settings, progress=False)
    rows.append(("search", f"{result.n_fits} fits, all kinds", (time.perf_counter() - start) / result.n_fits))
    table = pd.DataFrame(rows, columns=["node", "kind", "seconds_per_evaluation"])
    table.insert(0, "input", f"{N} samples x {M} SNPs, {N_SNPS} SNPs per pipeline")
    print(table.to_string(index=False))
    write_tsv(table, Path(__file__).parent / "results" / "gpsearch_search.tsv", float_format="%.4g")


if __name__ == "__main__":
    main()
