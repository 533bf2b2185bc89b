"""GRVSNN beside its baselines by cross-validation on real data: the BGLR mice and wheat.

Every method sees the same folds, the same fold-wise scaling and fixed effects (phenomap.grvsnn.cv):

* mice: 1,814 × 10,346 markers, body length and BMI (multi-task), sex as a fixed effect, 5-fold × 2
  repeats (random folds, seed 1); features = markers alone, or the 169 leading loadings of the
  pedigree relationship matrix A (its elbow) plus the markers;
* wheat: 599 lines × 1,279 DArT markers, grain yield in 4 environments as 4 tasks, the standard
  10-fold labels of BGLR (`sets`); markers alone, or the loadings of the pedigree A plus the markers.

GRVSNN is tuned per fold by TPE (``--trials`` trials on an inner 15 % validation split of the
training fold; the single-task models use the multi-task search's values); the baselines tune
themselves on the training fold (ridge: exact LOO; lasso: 5-fold CV; LassoNet: inner split;
BRR: evidence; BayesCπ: 6,000 Gibbs iterations, 2,000 burn-in, as the paper). One thread per
process. Each fold's tables are cached under bench/data/grvsnn/ so runs can be split, resumed
and run in parallel; ``--report`` gathers them into bench/results/grvsnn.tsv.

    python bench/grvsnn.py --data mice --features markers
    python bench/grvsnn.py --data mice --features loadings --repeats 1
    python bench/grvsnn.py --data mice --features markers --no-covariates --methods ridge,brr,lasso
    python bench/grvsnn.py --data wheat --features markers
    python bench/grvsnn.py --data wheat --features loadings
    python bench/grvsnn.py --report
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from realdata import mice_arrays, wheat_arrays  # noqa: E402

HERE = Path(__file__).resolve().parent
CACHE = HERE / "data" / "grvsnn"
METHODS = ["grvsnn", "grvsnn_single", "ridge", "brr", "lasso", "lassonet", "bayescpi"]


def dataset(name: str, features: str, covariates: bool = True):
    """PredictionData and the fold table of one benchmark case (``covariates``: the mice's sex as fixed effect)."""
    from phenomap.grvsnn.cv import PredictionData, make_folds
    from phenomap.grvsnn.relationship import loadings

    raw = mice_arrays() if name == "mice" else wheat_arrays()
    samples = pd.DataFrame({"FID": raw["ids"], "IID": raw["ids"]})
    X, names, k = raw["X"], list(raw["markers"]), 0
    if features == "loadings":
        L, _, k = loadings(raw["A"])
        X, names = np.hstack([L.astype(np.float32), X]), [f"L{i + 1}" for i in range(k)] + names
        print(f"{name}: {k} loadings of the pedigree relationship matrix (elbow)")
    data = PredictionData(samples=samples, features=X, feature_names=names, traits=list(raw["traits"]),
                          phenotypes=raw["Y"], covariates=raw["sex"][:, None] if name == "mice" and covariates else None,
                          n_loadings=k)
    if name == "mice":
        folds = make_folds(samples, k=5, repeats=2, seed=1)
    else:
        folds = samples.assign(repeat=0, fold=raw["sets"] - 1)
    return data, folds


def run_case(name: str, features: str, trials: int, methods: list[str], repeats: int, covariates: bool) -> None:
    from phenomap.grvsnn.cv import run_fold
    from phenomap.grvsnn.train import Hyperparameters

    data, folds = dataset(name, features, covariates)
    case = f"{name}_{features}" + ("" if covariates else "_nocovariates")
    out = CACHE / case
    out.mkdir(parents=True, exist_ok=True)
    folds = folds[folds["repeat"] < repeats]
    for (repeat, fold), _ in folds.groupby(["repeat", "fold"]):
        path = out / f"r{repeat}_f{fold}.metrics.tsv"
        if path.exists():
            continue
        start = time.perf_counter()
        is_test = (folds[folds["repeat"] == repeat].fold == fold).to_numpy()
        result = run_fold(data, is_test, methods=methods, hyperparameters=Hyperparameters(), tune_trials=trials,
                          seed=1, threads=1, repeat=int(repeat), fold=int(fold))
        result.tuning.to_csv(out / f"r{repeat}_f{fold}.tuning.tsv", sep="\t", index=False)
        counts = result.selected.groupby(["method", "trait"]).size().rename("n").reset_index()
        counts.to_csv(out / f"r{repeat}_f{fold}.selected.tsv", sep="\t", index=False)
        result.metrics.assign(data=name, features=features + ("" if covariates else ", no covariates")).to_csv(
            path, sep="\t", index=False)
        print(f"{name}/{features} repeat {repeat} fold {fold}: {time.perf_counter() - start:.0f} s")
        print(result.metrics[["method", "trait", "r", "mse", "n_selected", "seconds"]].to_string(index=False))


def report() -> pd.DataFrame:
    """Mean ± SE over folds per case, method and trait, with paired differences to the best baseline."""
    from phenomap.grvsnn.pipeline import comparison_table

    tables = []
    for case in sorted(CACHE.glob("*_*")):
        files = sorted(case.glob("*.metrics.tsv"))
        if not files:
            continue
        metrics = pd.concat([pd.read_csv(f, sep="\t") for f in files], ignore_index=True)
        table = comparison_table(metrics).assign(data=metrics.data.iloc[0], features=metrics.features.iloc[0])
        trials = [t for t in (pd.read_csv(f, sep="\t") for f in case.glob("*.tuning.tsv") if f.stat().st_size > 1)
                  if "user_attrs_seconds" in t]
        if trials:
            table["tuning_trial_seconds"] = pd.concat(trials).user_attrs_seconds.mean()
        tables.append(table)
    result = pd.concat(tables, ignore_index=True)
    out = HERE / "results" / "grvsnn.tsv"
    result.to_csv(out, sep="\t", index=False, float_format="%.6g")
    for (data, features), group in result.groupby(["data", "features"], sort=False):
        print(f"\n{data}, {features}:")
        print(group[["method", "trait", "folds", "r_mean", "r_se", "mse_mean", "n_selected_mean", "seconds_mean",
                     "r_diff", "r_diff_se", "best_baseline"]].to_string(index=False, float_format="%.3f"))
    print(f"\nwritten to {out}")
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", choices=("mice", "wheat"))
    parser.add_argument("--features", choices=("markers", "loadings"), default="markers")
    parser.add_argument("--trials", type=int, default=4, help="TPE trials per fold for GRVSNN")
    parser.add_argument("--methods", default=",".join(METHODS))
    parser.add_argument("--repeats", type=int, default=2, help="mice: repeats of the 5-fold split to run (1 or 2)")
    parser.add_argument("--no-covariates", action="store_true", help="mice: leave sex out (markers-only reference)")
    parser.add_argument("--report", action="store_true")
    args = parser.parse_args()
    if args.report:
        report()
        return
    import torch

    torch.set_num_threads(1)
    run_case(args.data, args.features, args.trials, args.methods.split(","), args.repeats, not args.no_covariates)


if __name__ == "__main__":
    main()
