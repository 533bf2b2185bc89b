"""Inner-CV errors of the improved model's candidate paths on the toy cohort (training samples only).

The benchmark's 80/20 split and seeds (``bench/gpatlas.py --datasets toy``); each path is fitted
on the training samples and its K-fold out-of-fold MSE (standardised traits) computed as the
path choice does, for K = 5 and 10, with the paired z of the pairwise lasso over the lasso.
Writes bench/results/gpatlas_toy_path_cv.tsv.

    PHENOMAP_SHARED_DATA=/work/shared/data python bench/gpatlas_path_cv.py
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from gpatlas import HERE, toy_cohort
from phenomap.gpatlas.baselines import fit_paths, out_of_fold
from phenomap.gpatlas.data import PhenotypeScaler, feature_means, split_samples


def main(seed: int = 1) -> None:
    torch.set_num_threads(1)
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
    table = pd.DataFrame(rows)
    table.to_csv(HERE / "results" / "gpatlas_toy_path_cv.tsv", sep="\t", index=False, float_format="%.4g")
    print(table.to_string(index=False))


if __name__ == "__main__":
    main()
