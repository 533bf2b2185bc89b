"""Accuracy and wall time of the baseline shrinkage methods on simulated 600-variant blocks.

Each block has its own genotypes (n samples, two haplotypes per sample, each a stationary AR(1)
Gaussian path along the block thresholded at the variant's allele frequency, so LD decays with
distance), sparse normal per-allele effects rescaled to a block heritability, and marginal OLS
effects. Settings: causal fraction {0.01, 0.05} x block h^2 {0.002, 0.02, 0.1}, from effects
below the noise to causal z-scores near 10. Methods: the elastic net as shipped (pseudo-
validation R^2, 3 splits), the same on one split, and with the correlation criterion on one
split (the textbook pseudo-validation), SuSiE-RSS with and without residual-variance estimation (the LD here is
in-sample), point-normal EB on the block's variants, and the references beta_hat and 0.

All methods run in this process with one BLAS thread (set before numpy loads; pass
``--blas-threads`` to change), so their times are comparable; on a busy machine multi-threaded
BLAS made a 600 x 600 eigendecomposition vary from 0.07 s to 5 s. Prints a table and writes
bench/results/baselines_timing.tsv.

    .venv/bin/python bench/baselines_timing.py [--blocks 3] [--variants 600] [--samples 5000]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--blocks", type=int, default=3, help="blocks per setting")
    parser.add_argument("--variants", type=int, default=600)
    parser.add_argument("--samples", type=int, default=5000)
    parser.add_argument("--blas-threads", default="1")
    parser.add_argument("--seed", type=int, default=20261125)
    parser.add_argument("--out", type=Path, default=HERE / "results" / "baselines_timing.tsv")
    return parser.parse_args()


ARGS = parse_args() if __name__ == "__main__" else None
if ARGS is not None:
    for variable in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[variable] = ARGS.blas_threads

import numpy as np  # noqa: E402  (after the BLAS thread count is set)
import pandas as pd  # noqa: E402
from tqdm.auto import tqdm  # noqa: E402

from phenomap.shrinkage.baselines import eb_point_normal, enet_sumstats, susie_rss_block  # noqa: E402
from phenomap.sim.haplotypes import ar1_genotypes  # noqa: E402

METHODS = {
    "enet (R2, 3 splits)": lambda b, s, R, n: enet_sumstats(b, s, R, n).beta,
    "enet (R2, 1 split)": lambda b, s, R, n: enet_sumstats(b, s, R, n, n_splits=1).beta,
    "enet (correlation, 1 split)": lambda b, s, R, n: enet_sumstats(b, s, R, n, criterion="correlation", n_splits=1).beta,
    "susie (L=10)": lambda b, s, R, n: susie_rss_block(b, s, R, n),
    "susie (L=10, est. resid. var.)": lambda b, s, R, n: susie_rss_block(b, s, R, n, estimate_residual_variance=True),
    "eb point-normal": lambda b, s, R, n: eb_point_normal(b, s).beta,
    "none (beta_hat)": lambda b, s, R, n: b,
    "zero": lambda b, s, R, n: np.zeros_like(b),
}
SETTINGS = [(fraction, h2) for fraction in (0.01, 0.05) for h2 in (0.002, 0.02, 0.1)]


def block_genotypes(rng: np.random.Generator, n: int, m: int, rho: float) -> np.ndarray:
    return ar1_genotypes(rng, n, m, rho=rho)


def simulate_block(rng, n, m, fraction, h2):
    G = block_genotypes(rng, n, m, rho=rng.choice([0.95, 0.99]))
    beta = np.zeros(m)
    causal = rng.choice(m, max(1, round(fraction * m)), replace=False)
    beta[causal] = rng.standard_normal(len(causal))
    beta *= np.sqrt(h2 / np.var(G @ beta))
    y = G @ beta + np.sqrt(1 - h2) * rng.standard_normal(n)
    Gc, yc = G - G.mean(axis=0), y - y.mean()
    sxx, sxy = np.einsum("ij,ij->j", Gc, Gc), Gc.T @ yc
    beta_hat = sxy / sxx
    se = np.sqrt((yc @ yc - beta_hat * sxy) / ((n - 2) * sxx))
    return beta, causal, beta_hat, se, np.corrcoef(G.T).astype(np.float32)


def main(args: argparse.Namespace) -> pd.DataFrame:
    rng = np.random.default_rng(args.seed)
    rows = []
    for fraction, h2 in tqdm(SETTINGS, desc="settings", file=sys.stderr):
        for block in range(args.blocks):
            beta, causal, beta_hat, se, R = simulate_block(rng, args.samples, args.variants, fraction, h2)
            for method, shrink in METHODS.items():
                start = time.perf_counter()
                shrunk = shrink(beta_hat, se, R, args.samples)
                seconds = time.perf_counter() - start
                error = shrunk - beta
                rows.append(
                    dict(method=method, causal_fraction=fraction, block_h2=h2, block=block, seconds=seconds,
                         rmse_all=np.sqrt(np.mean(error**2)), rmse_causal=np.sqrt(np.mean(error[causal] ** 2)))
                )
    runs = pd.DataFrame(rows)
    table = runs.groupby(["causal_fraction", "block_h2", "method"], sort=False).agg(
        rmse_all=("rmse_all", "mean"), rmse_causal=("rmse_causal", "mean"), median_seconds=("seconds", "median")
    ).reset_index()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    table.to_csv(args.out, sep="\t", index=False, float_format="%.5g")
    with pd.option_context("display.width", 200, "display.max_rows", 200):
        print(f"{args.samples} samples, blocks of {args.variants} variants, {args.blocks} blocks per setting, "
              f"BLAS threads {args.blas_threads}")
        print(table.to_string(index=False, float_format="%.5f"))
        print("\nmedian wall time per block over all settings (s):")
        print(runs.groupby("method", sort=False).seconds.median().to_string(float_format="%.3f"))
    return table


if __name__ == "__main__":
    main(ARGS)
