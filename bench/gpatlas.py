"""G-P Atlas benchmark: faithful vs improved model vs ridge/lasso, on the paper's design and the toy cohort.

For each data set (one 80/20 split by seed) this trains both variants and reports, per model:
median over traits of held-out G->P and P->P R^2 and MAPE; ROC AUC of the locus importance
for causal loci and the number of causal loci found at 1 % false-positive rate (threshold:
99th percentile of the importance of non-causal loci); the same two figures the way the paper
counts them (``allele_auc``, ``found_1pct_fpr_allele``: every allele state of every locus is
scored, a state's score being the mean over test samples of the importance of the samples
that carry it; all states of a causal locus are positives; the threshold is the 99th
percentile of the non-causal states' scores and a causal locus is found when its best state
passes it); VIDA ROC AUC for interacting loci against all other loci and, as the paper
scores it, against the other causal loci only (``vida_auc_causal``); seconds per epoch of
each tier. The marginal ANOVA (max -log10 p over traits, training samples) is reported as a
detection baseline. Ridge, lasso and the pairwise-interaction lasso (a second lasso on the main
effects and all pairwise products of the lasso's loci) are fitted on the same split and
features; the lasso row is the improved model's linear path, which is that estimator.

    python bench/gpatlas.py [--epochs 250] [--toy-epochs 100] [--seed 1] [--device cpu] [--skip-toy]

Paper design (phenomap.sim.gpatlas, from the released data): 3,000 individuals (600 held
out) x 3,000 loci, 30 traits of 10 causal loci each over 185 distinct causal loci (shared
loci carry the same weights), 20 % multiplicative epistasis, 1 % noise.
Writes bench/results/gpatlas.tsv.
"""

from __future__ import annotations

import argparse
import logging
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from sklearn.metrics import roc_auc_score

from phenomap.device import pick
from phenomap.gpatlas.data import AtlasData, load_atlas_data, split_samples
from phenomap.gpatlas.evaluate import lasso_baseline, metrics_table, pairwise_baseline, ridge_baseline
from phenomap.gpatlas.importance import ablation_importance, anova_scores
from phenomap.gpatlas.train import Settings, train_geno_tier, train_pheno_tier
from phenomap.gpatlas.vida import vida
from phenomap.sim.cohort import ToyParams, simulate_toy_cohort
from phenomap.sim.gpatlas import AtlasDesign, simulate_atlas_design

HERE = Path(__file__).resolve().parent


def unscored_last(score: np.ndarray) -> np.ndarray:
    """Scores with NaN (locus not scored) replaced by a value below every scored one."""
    return np.where(np.isnan(score), np.nanmin(score) - 1, score)


def detection(score: np.ndarray, positive: np.ndarray) -> tuple[float, int]:
    """ROC AUC and number of positives above the 99th percentile of the negatives' scores."""
    score = unscored_last(score)
    threshold = np.quantile(score[~positive], 0.99)
    return float(roc_auc_score(positive, score)), int((score[positive] > threshold).sum())


def allele_detection(per_sample: np.ndarray, states: np.ndarray, n_states: int,
                     causal: np.ndarray) -> tuple[float, int]:
    """The paper's ROC AUC over allele states and number of causal loci found at 1 % FPR.

    per_sample, states : (n, m) importance of the carried state and state codes of n samples.
    """
    score = np.stack([np.where(states == s, per_sample, 0).mean(axis=0) for s in range(n_states)], axis=1)
    positive = np.repeat(causal[:, None], n_states, axis=1)
    threshold = np.quantile(score[~positive], 0.99)
    auc = float(roc_auc_score(positive.ravel(), score.ravel()))
    return auc, int((score[causal].max(axis=1) > threshold).sum())


def evaluate_variant(name, data, is_test, settings, seed, device, causal, interacting):
    start = time.perf_counter()
    model, curve1 = train_pheno_tier(data, is_test, settings, seed=seed + 1, device=device)
    curve2 = train_geno_tier(model, data, is_test, settings, seed=seed + 2, device=device)
    model.geno.cpu()
    model.pheno.cpu()
    wall = time.perf_counter() - start
    preds = {"pheno->pheno": model.predict_pheno(data.phenotypes[is_test]),
             "geno->pheno": model.predict_geno(data.states[is_test])}
    table = metrics_table(preds, data.phenotypes[is_test], data.traits)
    med = table[table.trait == "median"].set_index("model")
    imp = ablation_importance(model, data.states[is_test])
    auc, found = detection(imp.overall, causal)
    allele_auc, allele_found = allele_detection(imp.per_sample, data.states[is_test], data.n_states, causal)
    vida_auc = vida_auc_causal = np.nan
    if interacting.any():
        score = unscored_last(vida(imp.per_sample, importance=imp.overall).score)
        vida_auc = float(roc_auc_score(interacting, score))
        vida_auc_causal = float(roc_auc_score(interacting[causal], score[causal]))
    row = {
        "model": f"G-P Atlas {name}",
        "gp_r2": med.r2["geno->pheno"], "gp_mape": med.mape["geno->pheno"],
        "pp_r2": med.r2["pheno->pheno"], "pp_mape": med.mape["pheno->pheno"],
        "causal_auc": auc, "found_1pct_fpr": found, "allele_auc": allele_auc,
        "found_1pct_fpr_allele": allele_found, "vida_auc": vida_auc,
        "vida_auc_causal": vida_auc_causal,
        "t1_s_per_epoch": curve1.seconds.median(), "t2_s_per_epoch": curve2.seconds[1:].median(),
        "train_wall_s": wall, "device": str(device),
    }
    return row, model


def benchmark(label, data, causal, interacting, *, epochs, seed, device, lasso_folds):
    is_test = split_samples(len(data.samples), 0.2, seed=seed)
    common = dict(pheno_epochs=epochs, geno_epochs=epochs, lasso_folds=lasso_folds, latent=min(32, 4 * len(data.traits)))
    rows = []
    for variant in ("faithful", "improved"):
        settings = Settings(variant=variant, **common)
        row, model = evaluate_variant(variant, data, is_test, settings, seed, device, causal, interacting)
        rows.append(row)
        print(f"[{label}] {row['model']}: G->P R2 {row['gp_r2']:.3f}, AUC {row['causal_auc']:.3f}", flush=True)
    z = model.scaler.transform(data.phenotypes)
    for name, fn in (("ridge", ridge_baseline), ("lasso", lasso_baseline), ("pairwise lasso", pairwise_baseline)):
        kwargs = {} if name == "ridge" else dict(n_alphas=20, folds=lasso_folds, seed=seed)
        pred = model.scaler.inverse(fn(model, data.states, z, is_test, **kwargs))
        med = metrics_table({name: pred[is_test]}, data.phenotypes[is_test], data.traits)
        med = med[med.trait == "median"].iloc[0]
        rows.append({"model": name, "gp_r2": med.r2, "gp_mape": med.mape})
    anova = anova_scores(data.states[~is_test], data.phenotypes[~is_test]).max(axis=1)
    auc, found = detection(anova, causal)
    rows.append({"model": "marginal ANOVA", "causal_auc": auc, "found_1pct_fpr": found})
    table = pd.DataFrame(rows)
    table.insert(0, "dataset", label)
    table.insert(1, "n_causal", int(causal.sum()))
    table.insert(2, "n_interacting", int(interacting.sum()))
    return table


def paper_design(seed: int) -> tuple[AtlasData, np.ndarray, np.ndarray]:
    sim = simulate_atlas_design(AtlasDesign(), seed=seed)
    n, m = sim.states.shape
    ids = [f"I{i}" for i in range(n)]
    data = AtlasData(
        states=sim.states, phenotypes=sim.phenotypes,
        samples=pd.DataFrame({"FID": ids, "IID": ids}),
        loci=pd.DataFrame({"CHROM": "1", "ID": [f"L{j}" for j in range(m)], "POS": np.arange(m) + 1,
                           "A1": "A", "A2": "G"}),
        traits=tuple(f"trait{t + 1}" for t in range(sim.phenotypes.shape[1])), n_states=3,
    )
    return data, sim.causal, sim.interacting


def toy_cohort(seed: int, workdir: Path) -> tuple[AtlasData, np.ndarray, np.ndarray]:
    simulate_toy_cohort(workdir, ToyParams(), seed=seed)
    data = load_atlas_data(workdir / "genotypes", workdir / "pheno.tsv")
    effects = pd.read_csv(workdir / "truth_effects.tsv", sep="\t", dtype=str)
    pairs = pd.read_csv(workdir / "truth_epistasis.tsv", sep="\t", dtype=str)
    interacting = data.loci.ID.isin(set(pairs.ID_A) | set(pairs.ID_B)).to_numpy()
    causal = data.loci.ID.isin(set(effects.ID)).to_numpy() | interacting
    return data, causal, interacting


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--epochs", type=int, default=250, help="epochs of each tier on the paper design (paper: 250)")
    parser.add_argument("--toy-epochs", type=int, default=100, help="epochs of each tier on the toy cohort")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--device", default="cpu", help="auto | cpu | cuda")
    parser.add_argument("--lasso-folds", type=int, default=5)
    parser.add_argument("--skip-toy", action="store_true")
    parser.add_argument("--out", default=str(HERE / "results" / "gpatlas.tsv"))
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    torch.set_num_threads(1)
    device = pick(args.device)
    tables = [benchmark("paper design", *paper_design(args.seed), epochs=args.epochs, seed=args.seed,
                        device=device, lasso_folds=args.lasso_folds)]
    if not args.skip_toy:
        with tempfile.TemporaryDirectory() as tmp:
            tables.append(benchmark("toy cohort", *toy_cohort(args.seed, Path(tmp)), epochs=args.toy_epochs,
                                    seed=args.seed, device=device, lasso_folds=args.lasso_folds))
    table = pd.concat(tables, ignore_index=True)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    table.to_csv(args.out, sep="\t", index=False, float_format="%.4g")
    with pd.option_context("display.width", 250, "display.max_columns", 30):
        print(table.to_string(index=False, float_format=lambda v: f"{v:.3g}"))


if __name__ == "__main__":
    main()
