"""Speed, memory and accuracy of the zero-mean DP mixture (fit_dpgmm) on 100k variants x 2 traits.

Two simulated inputs, both fitted with the default 25 restarts:

* ``planted``: a 4-component zero-mean mixture (trait-1 specific, trait-2 specific, shared
  with correlation 0.9, and a small isotropic "nonprioritised" bulk holding 70% of the
  non-null variants) plus 60% null variants (half exact zeros as from the elastic net, half
  N(0, 1e-7^2) as from NN shrinkage);
* ``scale-mixture``: no clusters and no nulls, every effect a correlated Gaussian times a
  log-normal scale (sd 1.2 on the log scale), like NN-shrunk effects, whose magnitudes spread
  continuously over orders of magnitude: the mixture then needs many components, and the
  fit is slowest.

Restarts run either on a 20 000-variant subset followed by a refit on all fitted variants
(``subset``, the default) or on all fitted variants (``all``, ``restart_subsample=None``).

Restart agreement: the default fit (``subset``) of each input is repeated with ``--seeds``
master seeds (the data stay the same); the labels of the fitted variants (the same set for every
seed) are compared pairwise with scikit-learn's adjusted_rand_score (label switching does not
matter to it), and K* is reported per seed.

Real effects: ``--effects TRAIT=PATH ...`` (a workflow run's shrinkage tables, e.g. the BGLR mice's
``results/mice/shrinkage/<trait>.tsv``) are joined and scaled as rule ``cluster`` does
(:func:`phenomap.mixture.pipeline.join_trait_effects`, column ``--effect-column``) and fitted
with the workflow's default settings (the adaptive cut-off with its 20 % cap) under ``--seeds``
master seeds: per fit to bench/results/clustering_real.tsv, agreement to clustering_real_seeds.tsv.

Each fit runs in its own fresh process (peak resident memory VmHWM, and its increase over the
resident set before the call; tracemalloc is not used as it slows the many small numpy
allocations of the iterations). Accuracy on the planted input: K* (planted 4), the largest
relative Frobenius error of a covariance and the largest absolute weight error after
matching clusters to planted components, the adjusted Rand index of the labels against the
truth (nulls as one class), and how many planted nulls are labelled null and vice versa.
Prints two tables and writes bench/results/clustering.tsv (one row per fit) and
bench/results/clustering_seeds.tsv (agreement across seeds).

    .venv/bin/python bench/clustering.py [--variants 100000] [--null-fraction 0.6] [--seed 20261125] [--seeds 5]
    .venv/bin/python bench/clustering.py --effects A=results/mice/shrinkage/A.tsv B=... [--effect-column BETA_SHRUNK]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from itertools import combinations
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.optimize import linear_sum_assignment
from sklearn.metrics import adjusted_rand_score

from phenomap.mixture.dpgmm import fit_dpgmm
from phenomap.mixture.pipeline import join_trait_effects

HERE = Path(__file__).resolve().parent
COVARIANCES = np.array([
    np.diag([1e-2, 1e-5]),
    np.diag([1e-5, 1e-2]),
    5e-3 * np.array([[1.0, 0.9], [0.9, 1.0]]),
    1e-5 * np.eye(2),
])
WEIGHTS = np.array([0.1, 0.1, 0.1, 0.7])
SETTINGS = {"subset": {"max_fitted_fraction": None}, "all": {"restart_subsample": None, "max_fitted_fraction": None},
            "workflow": {}}
RUNS = [("planted", "subset"), ("planted", "all"), ("scale-mixture", "subset")]


def simulate(n: int, null_fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(n, 2) planted effects and truth labels (0 = null, 1..4 = planted component)."""
    rng = np.random.default_rng(seed)
    n_null = int(round(null_fraction * n))
    truth = np.zeros(n, dtype=int)
    truth[n_null:] = rng.choice(4, size=n - n_null, p=WEIGHTS) + 1
    effects = np.zeros((n, 2))
    for k, cov in enumerate(COVARIANCES, start=1):
        effects[truth == k] = rng.multivariate_normal([0, 0], cov, size=int((truth == k).sum()))
    effects[n_null // 2 : n_null] = rng.normal(0, 1e-7, size=(n_null - n_null // 2, 2))
    order = rng.permutation(n)
    return effects[order], truth[order]


def simulate_scale_mixture(n: int, seed: int) -> np.ndarray:
    """(n, 2) effects: N(0, [[1, 0.3], [0.3, 1]]) times exp(N(log 3e-3, 1.2^2)), no nulls."""
    rng = np.random.default_rng(seed)
    scale = np.exp(rng.normal(np.log(3e-3), 1.2, size=(n, 1)))
    return scale * rng.multivariate_normal([0, 0], [[1.0, 0.3], [0.3, 1.0]], size=n)


def real_effects(args) -> np.ndarray:
    """(n, d) effects of ``--effects TRAIT=PATH ...``, joined and scaled as rule cluster does."""
    paths = dict(item.split("=", 1) for item in args.effects)
    joined, _ = join_trait_effects(paths, args.effect_column)
    return joined[list(paths)].to_numpy()


def _status_mb(field: str) -> float:
    with open("/proc/self/status") as fh:
        line = next(line for line in fh if line.startswith(f"{field}:"))
    return int(line.split()[1]) / 1024


def worker(args) -> None:
    """Fit once in this fresh process (master seed ``args.fit_seed``); print a JSON line of measurements
    and save the labels to ``args.labels``."""
    data, restarts = args.worker.split(":")
    if data == "real":
        effects, truth = real_effects(args), None
    elif data == "planted":
        effects, truth = simulate(args.variants, args.null_fraction, args.seed)
    else:
        effects, truth = simulate_scale_mixture(args.variants, args.seed), None
    rss_before = _status_mb("VmRSS")
    start = time.perf_counter()
    fit = fit_dpgmm(effects, seed=args.fit_seed, **SETTINGS[restarts])
    wall = time.perf_counter() - start
    np.save(args.labels, fit.labels)
    peak = _status_mb("VmHWM")
    result = {
        "wall_s": wall, "peak_rss_mb": peak, "rss_increase_mb": peak - rss_before,
        "n_fitted": int(fit.fitted.sum()), "k_star": fit.k_star, "restarts_with_kstar": fit.n_restarts_with_kstar,
        "kstar_per_restart": " ".join(map(str, fit.restart_kstars)), "n_iter_reported_fit": int(fit.elbo_trace.size),
    }
    if truth is not None:
        result.update(planted_accuracy(fit, truth))
    print(json.dumps(result))


def planted_accuracy(fit, truth: np.ndarray) -> dict:
    """Covariance, weight, label and null-set recovery against the planted truth."""
    error = np.array([[np.linalg.norm(est - true) / np.linalg.norm(true) for true in COVARIANCES]
                      for est in fit.covariances])
    rows, cols = linear_sum_assignment(error)
    null_true, null_fit = truth == 0, fit.labels == 0
    return {
        "planted_k": len(WEIGHTS),
        "max_cov_rel_error": float(error[rows, cols].max()) if fit.k_star >= 4 else None,
        "max_weight_abs_error": float(np.abs(fit.weights[rows] - WEIGHTS[cols]).max()) if fit.k_star >= 4 else None,
        "ari": adjusted_rand_score(truth, fit.labels),
        "null_recall": float((null_true & null_fit).sum() / null_true.sum()),
        "null_precision": float((null_true & null_fit).sum() / null_fit.sum()),
    }


def seed_agreement(labels: list[np.ndarray]) -> np.ndarray:
    """Adjusted Rand index of every pair of fits, over the variants fitted in both."""
    return np.array([adjusted_rand_score(a[(a > 0) & (b > 0)], b[(a > 0) & (b > 0)]) for a, b in combinations(labels, 2)])


def run_fit(args, data: str, restarts: str, fit_seed: int, labels_path: Path) -> dict:
    """One fit in a fresh process; its measurements."""
    done = subprocess.run(
        [sys.executable, __file__, "--worker", f"{data}:{restarts}", "--variants", str(args.variants),
         "--null-fraction", str(args.null_fraction), "--seed", str(args.seed), "--fit-seed", str(fit_seed),
         "--labels", str(labels_path), "--effect-column", args.effect_column,
         *(["--effects", *args.effects] if args.effects else [])],
        check=True, capture_output=True, text=True,
    )
    result = json.loads(done.stdout.strip().splitlines()[-1])
    n_variants, n_traits = (len(np.load(labels_path)), len(args.effects)) if data == "real" else (args.variants, 2)
    return {"data": data, "restarts_on": restarts, "fit_seed": fit_seed, "n_variants": n_variants, "n_traits": n_traits,
            **result}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--variants", type=int, default=100_000)
    parser.add_argument("--null-fraction", type=float, default=0.6)
    parser.add_argument("--seed", type=int, default=20261125)
    parser.add_argument("--seeds", type=int, default=5, help="master seeds of the agreement fits (seed, seed + 1, ...)")
    parser.add_argument("--out", type=Path, default=HERE / "results" / "clustering.tsv")
    parser.add_argument("--effects", nargs="+", metavar="TRAIT=PATH", help="real effects: seed agreement only")
    parser.add_argument("--effect-column", default="BETA_SHRUNK")
    parser.add_argument("--worker", choices=[f"{data}:{restarts}" for data, restarts in [*RUNS, ("real", "workflow")]],
                        help=argparse.SUPPRESS)
    parser.add_argument("--fit-seed", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--labels", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args)
        return

    print(f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}", file=sys.stderr)
    rows, agreement = [], []
    runs = [("real", "workflow")] if args.effects else RUNS
    if args.effects:
        args.out = args.out.with_name("clustering_real.tsv")
    with tempfile.TemporaryDirectory() as tmp:
        for data, restarts in runs:
            seeds = range(args.seed, args.seed + (1 if restarts == "all" else args.seeds))
            paths = [Path(tmp) / f"{data}-{restarts}-{s}.npy" for s in seeds]
            fits = [run_fit(args, data, restarts, s, path) for s, path in zip(seeds, paths)]
            rows += fits
            if len(fits) >= 2:
                ari = seed_agreement([np.load(path) for path in paths])
                agreement.append({
                    "data": " ".join(args.effects) if data == "real" else data, "restarts_on": restarts, "n_seeds": len(fits), "ari_min": ari.min(),
                    "ari_median": np.median(ari), "ari_mean": ari.mean(),
                    "kstar_per_seed": " ".join(str(f["k_star"]) for f in fits),
                    "wall_s_median": np.median([f["wall_s"] for f in fits]),
                })
    args.out.parent.mkdir(parents=True, exist_ok=True)
    seeds_out = args.out.with_name(args.out.stem + "_seeds.tsv")
    for table, path in [(pd.DataFrame(rows), args.out), (pd.DataFrame(agreement), seeds_out)]:
        table.to_csv(path, sep="\t", index=False, float_format="%.4g", na_rep="NA")
        with pd.option_context("display.width", 250, "display.float_format", "{:.4g}".format):
            print(table.drop(columns="kstar_per_restart", errors="ignore").to_string(index=False))
        print(f"written {path}", file=sys.stderr)


if __name__ == "__main__":
    main()
