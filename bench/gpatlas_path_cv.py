"""How the improved model's inner cross-validation chooses among its paths (training samples only).

``--part toy`` (default): on the toy cohort (the benchmark's 80/20 split and seeds, ``bench/gpatlas.py
--datasets toy``) each path is fitted on the training samples and its K-fold out-of-fold MSE
(standardised traits) computed as the path choice does, for K = 5 and 10, with the paired z of
the pairwise lasso over the lasso. Writes bench/results/gpatlas_toy_path_cv.tsv.

``--part folds``: what a larger K costs in false choices, on the design of
``tests/gpatlas/test_gpatlas_paths.py`` (300 samples, 15 loci, an additive and a pure-noise trait,
no interaction), ``--datasets`` simulated data sets: how often each path is chosen at K = 5 and
10; and whether the paired standard error of the rule is honest: over 400 data sets (200 samples,
ridge against the training mean, 10 and 40 features, one of them causal) the spread of the mean
out-of-fold gain against the mean of its naive paired SE, beside the factor by which the
Nadeau-Bengio correction would widen it, sqrt(1 + K / (K - 1)). Writes
bench/results/gpatlas_path_folds.tsv.

    python bench/gpatlas_path_cv.py [--part toy|folds] [--datasets 20]
"""

from __future__ import annotations

import argparse
import logging
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from sklearn.linear_model import Ridge
from sklearn.model_selection import KFold

from gpatlas import HERE, toy_cohort
from phenomap.gpatlas.baselines import fit_paths, out_of_fold
from phenomap.gpatlas.data import AtlasData, PhenotypeScaler, feature_means, split_samples
from phenomap.gpatlas.train import Settings, choose_paths, train_pheno_tier


def toy(seed: int = 1) -> pd.DataFrame:
    with tempfile.TemporaryDirectory() as tmp:
        data = toy_cohort(seed, Path(tmp))[0]
    train = np.flatnonzero(~split_samples(len(data.samples), 0.2, seed=seed))
    z = PhenotypeScaler.fit(data.phenotypes[train], data.traits).transform(data.phenotypes[train])
    states, mean = data.states[train], feature_means(data.states[train], data.n_states, "onehot")
    paths = fit_paths(states, data.n_states, "onehot", z, mean=mean, seed=seed + 2)
    rows = []
    for folds in (5, 10):
        oof = out_of_fold(states, data.n_states, "onehot", z, paths, mean=mean, folds=folds, seed=seed + 2)
        sq = {kind: (pred - z) ** 2 for kind, pred in oof.items()}
        for t, trait in enumerate(data.traits):
            seen = ~np.isnan(z[:, t])
            gain = sq["lasso"][seen, t] - sq["pairwise"][seen, t]
            mse = {f"{kind}_cv_mse": err[seen, t].mean() for kind, err in sq.items()}
            rows.append({"folds": folds, "trait": trait, **mse,
                         "pairwise_over_lasso_z": gain.mean() / (gain.std() / np.sqrt(seen.sum()))})
    return pd.DataFrame(rows)


def choices(n_datasets: int) -> pd.DataFrame:
    """Paths chosen at K = 5 and 10 for an additive and a noise trait (the unit test's design)."""
    n, m, rows = 300, 15, []
    for seed in range(n_datasets):
        rng = np.random.default_rng(seed)
        states = rng.integers(0, 3, size=(n, m)).astype(np.int8)
        y = np.column_stack([1.2 * states[:, 2] - (states[:, 9] == 1) + rng.normal(size=n), rng.normal(size=n)])
        ids = [f"s{i}" for i in range(n)]
        loci = pd.DataFrame({"CHROM": "1", "ID": [f"L{j}" for j in range(m)], "POS": np.arange(m) + 1,
                             "A1": "A", "A2": "G"})
        data = AtlasData(states, y, pd.DataFrame({"FID": ids, "IID": ids}), loci, ("additive", "noise"), 3)
        is_test = split_samples(n, 0.3, seed=2)
        train = np.flatnonzero(~is_test)
        mean = feature_means(data.states[train], 3, "onehot")
        for folds in (5, 10):  # the unit test's settings (TINY)
            settings = Settings(variant="improved", hidden=16, latent=4, batch_size=16, pheno_epochs=15,
                                lasso_alphas=10, lasso_folds=3, path_folds=folds)
            model, _ = train_pheno_tier(data, is_test, settings, seed=1)
            _, chosen = choose_paths(model, data, train, settings, mean=mean, seed=2)
            rows += [{"part": "choice", "folds": folds, "dataset": seed, "trait": trait, "path": path}
                     for trait, path in zip(data.traits, chosen)]
    table = pd.DataFrame(rows)
    return table.groupby(["part", "folds", "trait", "path"]).size().rename("datasets").reset_index()


def standard_errors(n_datasets: int = 400, n: int = 200) -> pd.DataFrame:
    """Spread of the mean paired out-of-fold gain over data sets against its naive paired SE."""
    rng, rows = np.random.default_rng(0), []
    for folds in (5, 10):
        for p in (10, 40):
            means, naive = [], []
            for r in range(n_datasets):
                X = rng.normal(size=(n, p))
                y = 0.3 * X[:, 0] + rng.normal(size=n)
                sq = np.zeros((2, n))
                for fit, held in KFold(folds, shuffle=True, random_state=r).split(X):
                    sq[0, held] = (y[held] - y[fit].mean()) ** 2
                    sq[1, held] = (y[held] - Ridge(alpha=1.0).fit(X[fit], y[fit]).predict(X[held])) ** 2
                gain = sq[0] - sq[1]
                means.append(gain.mean())
                naive.append(gain.std() / np.sqrt(n))
            rows.append({"part": "standard error", "folds": folds, "features": p, "spread_of_mean_gain": np.std(means),
                         "mean_naive_se": np.mean(naive), "ratio": np.std(means) / np.mean(naive),
                         "nadeau_bengio_factor": np.sqrt(1 + folds / (folds - 1))})
    return pd.DataFrame(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--part", choices=("toy", "folds"), default="toy")
    parser.add_argument("--datasets", type=int, default=20, help="--part folds: simulated data sets")
    args = parser.parse_args()
    logging.disable(logging.WARNING)
    torch.set_num_threads(1)
    if args.part == "toy":
        table, out = toy(), HERE / "results" / "gpatlas_toy_path_cv.tsv"
    else:
        table = pd.concat([choices(args.datasets), standard_errors()], ignore_index=True)
        out = HERE / "results" / "gpatlas_path_folds.tsv"
    table.to_csv(out, sep="\t", index=False, float_format="%.4g")
    print(table.to_string(index=False))


if __name__ == "__main__":
    main()
