"""What-if: does a consensus of the DP mixture's restarts make its clusters reproducible across seeds?

Not a phenomap method: a measurement for issue 13 (restart agreement, bar ARI >= 0.9 on the
continuous scale mixture of bench/clustering.py, where the fit keeps the best-ELBO restart and
reaches a median ARI of 0.70 across master seeds).

For each master seed the 25 restarts of :func:`phenomap.mixture.dpgmm.fit_dpgmm` are run as it
runs them (k-means++ starts on a 20,000-variant subset), with bench/clustering.py's settings
(adaptive null cut-off, no cap on the fitted share), and the final fit is made by two rules:

* ``best``: the workflow's rule, the best-ELBO restart refitted on all fitted variants;
* ``consensus-top<M>``: the M restarts with the best ELBOs vote: each subset variant is described by
  its M one-hot cluster labels (scaled by 1 / sqrt(M), so that squared distances are twice the
  fraction of restarts that split two variants: co-association), k-means (10 starts) cuts them
  into K = the median K* of the M restarts, and CAVI runs from that partition on the subset and
  then on all fitted variants.

Labels of the fitted variants are compared across seeds with scikit-learn's adjusted_rand_score.
``--fixed-subset`` draws the same restart subset for every seed, to separate the subset's share of
the disagreement from the restarts'.

    .venv/bin/python bench/clustering_consensus.py [--design scale-mixture|planted] [--seeds 5] [--fixed-subset]
"""

from __future__ import annotations

import argparse
import sys
import time
from itertools import combinations
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.cluster import KMeans
from sklearn.metrics import adjusted_rand_score

import phenomap.mixture.dpgmm as dp

sys.path.insert(0, str(Path(__file__).resolve().parent))
from clustering import simulate, simulate_scale_mixture  # noqa: E402

HERE = Path(__file__).resolve().parent
K_MAX, RESTARTS, SUBSET, THRESHOLD = 20, 25, 20_000, 0.99


def final_labels(x: np.ndarray, post, prior) -> tuple[np.ndarray, int, float]:
    """Refit ``post`` on all of ``x``; labels (1..K*), K* and the final ELBO."""
    post, trace = dp._cavi(dp._outer(x), post, prior, 500, 1e-6)
    everything = np.ones(x.shape[0], dtype=bool)
    fit = dp._final_fit(x, post, THRESHOLD, 1, everything, np.ones(x.shape[1], dtype=bool),
                        np.zeros(x.shape[1]), trace, np.zeros(0), 0)
    return fit.labels, fit.k_star, float(trace[-1])


def fits_of_seed(x: np.ndarray, seed: int, tops: list[int], fixed_subset: bool) -> dict[str, tuple]:
    """{rule: (labels, K*, ELBO)} for one master seed."""
    prior = dp._default_prior(x, 1.0)
    subset_seed, *restart_seeds = np.random.SeedSequence(seed).spawn(RESTARTS + 1)
    subset = dp._subsample(x.shape[0], SUBSET, np.random.default_rng(0 if fixed_subset else subset_seed))
    outer = dp._outer(x[subset])
    features = dp._shape_features(x[subset], prior)
    runs = []
    for restart_seed in restart_seeds:
        start = dp._kmeanspp_labels(features, K_MAX, np.random.default_rng(restart_seed))
        runs.append(dp._cavi(outer, dp._start_from_labels(outer, start, K_MAX, prior), prior, 500, 1e-6))
    elbos = np.array([trace[-1] for _, trace in runs])
    labels, kstars = [], []
    for post, _ in runs:
        kept, r = dp._clusters(outer, post, THRESHOLD, subset.size / x.shape[0])
        labels.append(r.argmax(axis=0))
        kstars.append(kept.size)
    out = {"best": final_labels(x, runs[int(np.argmax(elbos))][0], prior)}
    for top in tops:
        chosen = np.argsort(-elbos)[:top]
        votes = np.hstack([np.eye(kstars[m])[labels[m]] for m in chosen]) / np.sqrt(top)
        k = int(np.round(np.median(np.array(kstars)[chosen])))
        consensus = KMeans(k, n_init=10, random_state=seed % 2**31).fit(votes).labels_
        post, _ = dp._cavi(outer, dp._start_from_labels(outer, consensus, k, prior), prior, 500, 1e-6)
        out[f"consensus-top{top}"] = final_labels(x, post, prior)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--design", choices=("scale-mixture", "planted"), default="scale-mixture")
    parser.add_argument("--variants", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=20261125, help="data seed, and the first master seed")
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--tops", type=int, nargs="+", default=[6, 12, 25])
    parser.add_argument("--fixed-subset", action="store_true")
    parser.add_argument("--out", type=Path, default=HERE / "results" / "clustering_consensus.tsv")
    args = parser.parse_args()
    if args.design == "planted":
        effects = simulate(args.variants, 0.6, args.seed)[0]
    else:
        effects = simulate_scale_mixture(args.variants, args.seed)
    effects = effects[(np.abs(effects) > dp._null_cutoffs(effects, "adaptive", None)).any(axis=1)]  # as fit_dpgmm
    results: dict[str, list] = {}
    for seed in range(args.seed, args.seed + args.seeds):
        started = time.perf_counter()
        for rule, fit in fits_of_seed(effects, seed, args.tops, args.fixed_subset).items():
            results.setdefault(rule, []).append(fit)
        print(f"seed {seed}: {time.perf_counter() - started:.0f} s; "
              + "; ".join(f"{rule} K* {fits[-1][1]} ELBO {fits[-1][2]:.1f}" for rule, fits in results.items()),
              file=sys.stderr, flush=True)
    rows = []
    for rule, fits in results.items():
        ari = np.array([adjusted_rand_score(a[0], b[0]) for a, b in combinations(fits, 2)])
        rows.append({"design": args.design, "subset": "fixed" if args.fixed_subset else "per seed", "rule": rule,
                     "n_seeds": len(fits), "kstar_per_seed": " ".join(str(f[1]) for f in fits),
                     "elbo_median": np.median([f[2] for f in fits]), "ari_min": ari.min(),
                     "ari_median": np.median(ari)})
    table = pd.DataFrame(rows)
    print(table.to_string(index=False))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    header = not args.out.is_file()
    table.to_csv(args.out, sep="\t", index=False, float_format="%.7g", mode="a", header=header)
    print(f"appended to {args.out}", file=sys.stderr)


if __name__ == "__main__":
    main()
