"""G-P Atlas benchmark: faithful vs improved model vs ridge/lasso/pairwise lasso, on the paper's design,
the toy cohort and the BGLR mice.

For each data set (one 80/20 split by seed) this trains both variants (the mice: the improved
one) and reports, per model, per trait and as the median over traits: held-out G->P R^2 and
MAPE, and for the variants (medians only) P->P R^2 and MAPE; ROC AUC of the locus importance
for causal loci and the number of causal loci found at 1 % false-positive rate (threshold:
99th percentile of the importance of non-causal loci); the same two figures the way the paper
counts them (``allele_auc``, ``found_1pct_fpr_allele``: every allele state of every locus is
scored, a state's score being the mean over test samples of the importance of the samples
that carry it; all states of a causal locus are positives; the threshold is the 99th
percentile of the non-causal states' scores and a causal locus is found when its best state
passes it); VIDA ROC AUC for interacting loci against all other loci and, as the paper
scores it, against the other causal loci only (``vida_auc_causal``); the pair interaction
score (:func:`~phenomap.gpatlas.importance.pair_interactions`: the mean squared interaction of
ablating two loci together, on the test samples, for every pair of the 20 most important loci
and every pair with a product term in the path; other pairs score 0) as ROC AUC of the
planted pairs among all pairs of loci (``pair_auc``) and, per locus (its largest pair score),
of the interacting loci among all loci (``pair_locus_auc``, beside VIDA's); the paths the
improved model chose and the epoch it kept (0 = no network); seconds per epoch of each tier;
and for the improved model the number of traits where its held-out R^2 is at least the best
baseline's (within 1e-4) and the worst difference. The marginal ANOVA (max -log10 p over
traits, training samples) is reported as a detection baseline, and the epistasis screen
(``epistasis.tsv``) as a pair interaction score: its ROC AUC for the planted pairs among all pairs
(largest score over traits, training samples) and the planted pairs it confirms on the test
samples (:func:`screen_detection`). Ridge, lasso and the
pairwise-interaction lasso (a second lasso on the main effects and all pairwise products of the
lasso's loci) are fitted on the same split and features, on every training sample (folds by
the tier-2 seed, as the workflow).

    python bench/gpatlas.py [--datasets paper,toy,mice] [--variants faithful,improved] [--epochs 250]
                            [--toy-epochs 100] [--mice-epochs 50] [--seed 1] [--device cpu]
    python bench/gpatlas.py --speed [--scale 1] [--before 3e4b27f]

``--speed`` runs only the cost comparison of the baselines (no network is trained): ridge,
lasso path and pairwise lasso, each in a fresh forked process on one thread (threadpoolctl,
torch), before (the implementation at git commit ``--before``, loaded from git into a
temporary package) and after (this tree), on the paper design and on a yeast-sized haploid
cross (1,000 segregants x 11,000 biallelic markers on 16 chromosomes, about 2.5 crossovers
per chromosome, 46 additive traits with 5-30 QTL, heritability 0.3-0.8, half the traits with
1-8 % missing values). Wall time, peak memory (the child's peak RSS above its RSS at start)
and held-out R^2 per trait (median, and the largest difference between before and after);
scikit-learn's ``RidgeCV`` (one fit of all traits, GCV = exact LOO, per-target penalties) as
the reference for ridge where every trait is observed on every training sample. Writes
bench/results/gpatlas_speed.tsv.

Paper design (phenomap.sim.gpatlas, from the released data): 3,000 individuals (600 held
out) x 3,000 loci, 30 traits of 10 causal loci each over 185 distinct causal loci (shared
loci carry the same weights), 20 % multiplicative epistasis, 1 % noise. Mice: the BGLR
heterogeneous-stock mice (1,814 x 10,346 markers, body length and BMI, genotypes alone).
Writes bench/results/gpatlas_<dataset>.tsv (one row per model and trait, ``trait`` = median
for the medians and the per-model figures).
"""

from __future__ import annotations

import argparse
import importlib
import logging
import multiprocessing
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import psutil
import torch
from sklearn.linear_model import RidgeCV
from sklearn.metrics import roc_auc_score
from threadpoolctl import threadpool_limits

from phenomap.device import pick
from phenomap.gpatlas.baselines import PAIRWISE_SCREEN_PAIRS, RIDGE_ALPHAS
from phenomap.gpatlas.data import (
    AtlasData,
    PhenotypeScaler,
    atlas_data,
    encode,
    feature_means,
    load_atlas_data,
    split_samples,
)
from phenomap.gpatlas.epistasis import centred_counts, pair_auc, top_product_pairs
from phenomap.gpatlas.evaluate import fit_baselines, metrics_table, trait_metrics
from phenomap.gpatlas.importance import ablation_importance, anova_scores, pair_interactions, path_pairs
from phenomap.gpatlas.train import Settings, train_geno_tier, train_pheno_tier
from phenomap.gpatlas.vida import vida
from phenomap.sim.cohort import ToyParams, simulate_toy_cohort
from phenomap.sim.gpatlas import AtlasDesign, simulate_atlas_design

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from realdata import mice_arrays  # noqa: E402

#: loci whose pairwise interactions are measured beside the path's product terms (as the workflow's top_pairs)
TOP_PAIRS = 20
#: the last commit before issue 15 (shared ridge decomposition, biallelic coding, baselines on their own)
BEFORE = "3e4b27f"


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


def pair_detection(model, states: np.ndarray, importance: np.ndarray, planted: np.ndarray,
                   interacting: np.ndarray) -> tuple[float, float]:
    """ROC AUC of the model's pair interaction score for the planted locus pairs among all pairs of
    loci, and of its per-locus maximum for the interacting loci among all loci.

    Pairs scored (:func:`pair_interactions` on ``states``): every pair of the ``TOP_PAIRS`` most
    ``importance``-ant loci and every pair with a product term in the path; the others score 0.
    ``planted`` (q, 2) locus indices.
    """
    m = states.shape[1]
    top = np.argsort(-importance, kind="stable")[:TOP_PAIRS]
    a, b = np.triu_indices(len(top), 1)
    pairs = np.unique(np.concatenate([np.sort(np.column_stack([top[a], top[b]]), axis=1), path_pairs(model)]), axis=0)
    score = pair_interactions(model, states, pairs).mean(axis=1)
    def position(p):  # index of the pairs (q, 2) in the order of np.triu_indices(m, 1)
        lo, hi = p.min(axis=1), p.max(axis=1)
        return lo * m - lo * (lo + 1) // 2 + hi - lo - 1

    all_scores, positive = np.zeros(m * (m - 1) // 2), np.zeros(m * (m - 1) // 2, bool)
    all_scores[position(pairs)] = score
    positive[position(planted)] = True
    locus = np.zeros(m)
    np.maximum.at(locus, pairs[:, 0], score)
    np.maximum.at(locus, pairs[:, 1], score)
    return float(roc_auc_score(positive, all_scores)), float(roc_auc_score(interacting, locus))


#: a reported pair whose two loci lie this close to the two loci of a planted pair is its LD proxy
PROXY_BP = 200_000


def screen_detection(data, is_test: np.ndarray, baselines, planted: np.ndarray | None) -> dict:
    """The epistasis screen (``epistasis.tsv``): the seconds of one screen of all pairs on the training
    samples (as each fit of the pairwise path runs it), the pairs reported at q_test < 0.05 and, with
    a truth, as a pair interaction score: ROC AUC of its largest score over traits for the planted
    pairs among all pairs, the planted pairs confirmed (q_test < 0.05) and the reported pairs
    within :data:`PROXY_BP` of a planted pair's two loci (its LD proxies, itself included)."""
    train = ~is_test
    z = PhenotypeScaler.fit(data.phenotypes[train], data.traits).transform(data.phenotypes[train])
    mean32 = feature_means(data.states[train], data.n_states, "onehot").astype(np.float32)
    residual = z - baselines.lasso.predict_states(data.states[train], data.n_states, "onehot", mean32)
    counts = centred_counts(data.states[train], data.n_states)
    start = time.perf_counter()
    top_product_pairs(counts, residual, PAIRWISE_SCREEN_PAIRS)
    confirmed = baselines.epistasis[baselines.epistasis.q_test < 0.05]
    row = {"model": "epistasis screen", "trait": "median", "pairs_reported_q05": len(confirmed),
           "screen_s_per_fit": time.perf_counter() - start}
    if planted is None:
        return row
    index = pd.Series(np.arange(len(data.loci)), index=data.loci.ID)
    chrom, pos = data.loci.CHROM.astype(str).to_numpy(), data.loci.POS.to_numpy()
    found = {tuple(sorted(p)) for p in planted}
    pairs = [tuple(sorted((index[r.ID_A], index[r.ID_B]))) for r in confirmed.itertuples()]

    def near(i, j):  # i within PROXY_BP of j on its chromosome
        return chrom[i] == chrom[j] and abs(pos[i] - pos[j]) <= PROXY_BP

    proxies = sum(any((near(a, p) and near(b, q)) or (near(a, q) and near(b, p)) for p, q in planted)
                  for a, b in pairs)
    return row | {"pair_auc": pair_auc(counts, residual, planted), "pairs_planted": len(found),
                  "pairs_confirmed_q05": sum(pair in found for pair in pairs), "pairs_near_planted_q05": proxies}


def evaluate_variant(name, data, is_test, settings, seed, device, causal, interacting, planted):
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
    row = {
        "model": f"G-P Atlas {name}", "trait": "median",
        "gp_r2": med.r2["geno->pheno"], "gp_mape": med.mape["geno->pheno"],
        "pp_r2": med.r2["pheno->pheno"], "pp_mape": med.mape["pheno->pheno"],
        "paths": ", ".join(f"{kind} {n}" for kind, n in pd.Series(model.paths).value_counts().items()),
        "network_kept": int(curve2.epoch[curve2.kept].iloc[0]) if "kept" in curve2 else settings.geno_epochs,
        "t1_s_per_epoch": curve1.seconds.median(), "t2_s_per_epoch": curve2.seconds[1:].median(),
        "train_wall_s": wall, "device": str(device),
    }
    if causal is not None:
        imp = ablation_importance(model, data.states[is_test])
        row["causal_auc"], row["found_1pct_fpr"] = detection(imp.overall, causal)
        row["allele_auc"], row["found_1pct_fpr_allele"] = allele_detection(imp.per_sample, data.states[is_test],
                                                                           data.n_states, causal)
        if interacting.any():
            score = unscored_last(vida(imp.per_sample, importance=imp.overall).score)
            row["vida_auc"] = float(roc_auc_score(interacting, score))
            row["vida_auc_causal"] = float(roc_auc_score(interacting[causal], score[causal]))
            row["pair_auc"], row["pair_locus_auc"] = pair_detection(model, data.states[is_test], imp.overall,
                                                                    planted, interacting)
    per_trait = table[(table.model == "geno->pheno") & (table.trait != "median")]
    rows = [row] + [{"model": row["model"], "trait": t, "gp_r2": r2, "gp_mape": mape}
                    for t, r2, mape in zip(per_trait.trait, per_trait.r2, per_trait.mape)]
    return rows, model


def benchmark(label, data, causal, interacting, planted, *, epochs, seed, device, lasso_folds, path_folds, variants):
    """One data set: each variant, the baselines, the ANOVA; medians and per-trait held-out R^2.
    ``causal``/``interacting`` (m,) bool and ``planted`` (q, 2) pairs: the truth, None for real data."""
    is_test = split_samples(len(data.samples), 0.2, seed=seed)
    common = dict(pheno_epochs=epochs, geno_epochs=epochs, lasso_folds=lasso_folds, path_folds=path_folds,
                  latent=min(32, 4 * len(data.traits)))
    rows = []
    for variant in variants:
        settings = Settings(variant=variant, **common)
        variant_rows, model = evaluate_variant(variant, data, is_test, settings, seed, device, causal, interacting,
                                               planted)
        rows += variant_rows
        print(f"[{label}] {variant_rows[0]['model']}: G->P R2 {variant_rows[0]['gp_r2']:.3f}, "
              f"paths {variant_rows[0]['paths']}", flush=True)
    baselines = fit_baselines(data, is_test, lasso_alphas=20, lasso_folds=lasso_folds, seed=seed + 2)
    for name, label_ in (("ridge", "ridge"), ("lasso", "lasso"), ("pairwise", "pairwise lasso")):
        for _, r in baselines.metrics[baselines.metrics.model == name].iterrows():
            rows.append({"model": label_, "trait": r.trait, "gp_r2": r.r2, "gp_mape": r.mape})
    if causal is not None:
        anova = anova_scores(data.states[~is_test], data.phenotypes[~is_test]).max(axis=1)
        auc, found = detection(anova, causal)
        rows.append({"model": "marginal ANOVA", "trait": "median", "causal_auc": auc, "found_1pct_fpr": found})
    truth = planted if causal is not None and interacting.any() else None
    rows.append(screen_detection(data, is_test, baselines, truth))
    table = pd.DataFrame(rows)
    # the default model against the best baseline of each trait
    r2 = table[table.trait != "median"].pivot_table(index="trait", columns="model", values="gp_r2")
    best = r2[["ridge", "lasso", "pairwise lasso"]].max(axis=1)
    if "G-P Atlas improved" in r2:
        gap = r2["G-P Atlas improved"] - best
        default = (table.model == "G-P Atlas improved") & (table.trait == "median")
        table.loc[default, "traits_ge_best_baseline"] = int((gap >= -1e-4).sum())  # equal up to float32
        table.loc[default, "worst_gap_to_best_baseline"] = gap.min()
        table.loc[default, "median_best_baseline_r2"] = best.median()
    table.insert(0, "dataset", label)
    table.insert(1, "n_causal", int(causal.sum()) if causal is not None else np.nan)
    table.insert(2, "n_interacting", int(interacting.sum()) if causal is not None else np.nan)
    return table


def paper_design(seed: int, design: AtlasDesign = AtlasDesign()):
    sim = simulate_atlas_design(design, seed=seed)
    n, m = sim.states.shape
    ids = [f"I{i}" for i in range(n)]
    data = AtlasData(
        states=sim.states, phenotypes=sim.phenotypes,
        samples=pd.DataFrame({"FID": ids, "IID": ids}),
        # unlinked loci: 1 Mb apart, so that none is another's LD proxy (screen_detection)
        loci=pd.DataFrame({"CHROM": "1", "ID": [f"L{j}" for j in range(m)], "POS": (np.arange(m) + 1) * 1_000_000,
                           "A1": "A", "A2": "G"}),
        traits=tuple(f"trait{t + 1}" for t in range(sim.phenotypes.shape[1])), n_states=3,
    )
    return data, sim.causal, sim.interacting, sim.interactions[["locus_a", "locus_b"]].to_numpy(int)


def toy_cohort(seed: int, workdir: Path):
    simulate_toy_cohort(workdir, ToyParams(), seed=seed)
    data = load_atlas_data(workdir / "genotypes", workdir / "pheno.tsv")
    effects = pd.read_csv(workdir / "truth_effects.tsv", sep="\t", dtype=str)
    pairs = pd.read_csv(workdir / "truth_epistasis.tsv", sep="\t", dtype=str)
    interacting = data.loci.ID.isin(set(pairs.ID_A) | set(pairs.ID_B)).to_numpy()
    causal = data.loci.ID.isin(set(effects.ID)).to_numpy() | interacting
    index = pd.Series(np.arange(len(data.loci)), index=data.loci.ID)
    return data, causal, interacting, np.column_stack([index[pairs.ID_A].to_numpy(), index[pairs.ID_B].to_numpy()])


def mice() -> tuple[AtlasData, None, None, None]:
    """The BGLR mice (1,814 x 10,346 markers, body length and BMI; genotypes alone, no covariate)."""
    arrays = mice_arrays()
    data = atlas_data(arrays["X"], arrays["Y"], samples=list(arrays["ids"]), loci=list(arrays["markers"]),
                      traits=arrays["traits"])
    return data, None, None, None


def yeast_cross(seed: int, *, n: int = 1000, m: int = 11000, n_traits: int = 46, chromosomes: int = 16,
                crossovers: float = 2.5) -> AtlasData:
    """A yeast-sized haploid cross: biallelic segregants (0/1) with linkage, additive traits with missing values."""
    rng = np.random.default_rng(seed)
    sizes = np.full(chromosomes, m // chromosomes) + (np.arange(chromosomes) < m % chromosomes)
    blocks = []
    for size in sizes:  # parental origin switches at crossovers, about `crossovers` per chromosome
        switches = rng.random((n, size)) < crossovers / size
        switches[:, 0] = False
        blocks.append(((rng.integers(0, 2, size=(n, 1)) + np.cumsum(switches, axis=1)) % 2).astype(np.int8))
    states = np.concatenate(blocks, axis=1)
    y = np.empty((n, n_traits))
    for t in range(n_traits):
        qtl = rng.choice(m, rng.integers(5, 31), replace=False)
        genetic = states[:, qtl] @ (rng.normal(size=len(qtl)) * rng.exponential(size=len(qtl)))
        h2 = rng.uniform(0.3, 0.8)
        y[:, t] = genetic + rng.normal(size=n) * np.sqrt(genetic.var() * (1 - h2) / h2)
        if rng.random() < 0.5:
            y[rng.random(n) < rng.uniform(0.01, 0.08), t] = np.nan
    ids = [f"Y{i}" for i in range(n)]
    chrom = np.repeat(np.arange(1, chromosomes + 1), sizes).astype(str)
    loci = pd.DataFrame({"CHROM": chrom, "ID": [f"M{j}" for j in range(m)], "POS": np.arange(m), "A1": "B", "A2": "R"})
    return AtlasData(states, y, pd.DataFrame({"FID": ids, "IID": ids}), loci,
                     tuple(f"growth{t + 1}" for t in range(n_traits)), 2)


def load_before(ref: str, workdir: Path) -> SimpleNamespace:
    """``phenomap.gpatlas.{baselines,evaluate}`` as of git commit ``ref``, imported from ``workdir``."""
    package = workdir / "gpatlas_before"
    package.mkdir()
    (package / "__init__.py").write_text("")
    for name in ("baselines", "evaluate"):
        source = subprocess.run(["git", "-C", str(HERE.parent), "show", f"{ref}:src/phenomap/gpatlas/{name}.py"],
                                check=True, capture_output=True, text=True).stdout
        (package / f"{name}.py").write_text(source.replace("phenomap.gpatlas.baselines", "gpatlas_before.baselines"))
    sys.path.insert(0, str(workdir))
    return SimpleNamespace(evaluate=importlib.import_module("gpatlas_before.evaluate"))


def _child(fn, queue):
    torch.set_num_threads(1)
    start_rss = psutil.Process().memory_info().rss
    with threadpool_limits(1):
        t0 = time.perf_counter()
        out = fn()
        seconds = time.perf_counter() - t0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    queue.put((seconds, (peak - start_rss) / 2**20, out))


def measure(fn) -> tuple[float, float, np.ndarray]:
    """Run ``fn`` in a forked process on one thread: (seconds, peak MiB above the start, its result)."""
    ctx = multiprocessing.get_context("fork")
    queue = ctx.Queue()
    process = ctx.Process(target=_child, args=(fn, queue))
    process.start()
    result = queue.get()
    process.join()
    return result


def speed_comparison(label: str, data: AtlasData, seed: int, before: SimpleNamespace, *, lasso_folds: int = 5,
                     lasso_alphas: int = 20) -> pd.DataFrame:
    """Before/after wall time, peak memory and held-out R^2 of ridge, lasso and pairwise lasso on one data set."""
    is_test = split_samples(len(data.samples), 0.2, seed=seed)
    train = np.flatnonzero(~is_test)
    k = data.n_states
    scaler = PhenotypeScaler.fit(data.phenotypes[train], data.traits)
    z = scaler.transform(data.phenotypes)
    mean = torch.as_tensor(feature_means(data.states[train], k, "onehot"), dtype=torch.float32)
    # what the old functions read from a model: its one-hot features and training feature means
    old_model = SimpleNamespace(architecture=SimpleNamespace(per_locus=k), traits=data.traits,
                                features=lambda states: encode(torch.as_tensor(states), "onehot", k),
                                geno=SimpleNamespace(feature_mean=mean, linear=None))
    lasso = dict(n_alphas=lasso_alphas, folds=lasso_folds, seed=seed)
    runs = {
        "ridge": (lambda: scaler.inverse(before.evaluate.ridge_baseline(old_model, data.states, z, is_test)),
                  lambda: fit_baselines(data, is_test, baselines=("ridge",)).predictions["ridge"]),
        "lasso path": (lambda: scaler.inverse(before.evaluate.lasso_baseline(old_model, data.states, z, is_test, **lasso)),
                       lambda: fit_baselines(data, is_test, baselines=("lasso",), lasso_alphas=lasso_alphas,
                                             lasso_folds=lasso_folds, seed=seed).predictions["lasso"]),
        "pairwise lasso (with its lasso)": (
            lambda: scaler.inverse(before.evaluate.pairwise_baseline(old_model, data.states, z, is_test, **lasso)),
            lambda: fit_baselines(data, is_test, baselines=("pairwise",), lasso_alphas=lasso_alphas,
                                  lasso_folds=lasso_folds, seed=seed).predictions["pairwise"]),
    }
    obs = data.phenotypes[is_test]

    def r2(pred):
        return np.array([trait_metrics(pred[is_test, t], obs[:, t])["r2"] for t in range(obs.shape[1])])

    n, m = data.states.shape
    common = {"dataset": label, "samples": n, "loci": m, "states": k, "traits": len(data.traits),
              "one_hot_columns": m * k}
    rows, r2_after = [], {}
    for method, (old, new) in runs.items():
        t_old, mem_old, pred_old = measure(old)
        t_new, mem_new, pred_new = measure(new)
        r2_old, r2_after[method] = r2(pred_old), r2(pred_new)
        rows.append({**common, "method": method, "before_s": t_old, "after_s": t_new, "speedup": t_old / t_new,
                     "before_peak_mib": mem_old, "after_peak_mib": mem_new, "r2_median_before": np.median(r2_old),
                     "r2_median_after": np.median(r2_after[method]),
                     "max_abs_r2_diff": np.abs(r2_old - r2_after[method]).max()})
        print(f"[{label}] {method}: {t_old:.1f} s -> {t_new:.1f} s ({t_old / t_new:.2f}x), peak {mem_old:.0f} -> "
              f"{mem_new:.0f} MiB, max |R2 diff| {rows[-1]['max_abs_r2_diff']:.2g}", flush=True)
    by = {row["method"]: row for row in rows}
    # all three: the old code fitted the lasso twice (lasso baseline, then again inside the pairwise
    # baseline); the new one once (the pairwise run above includes it; lasso predictions cost ~nothing)
    rows.append({**common, "method": "all three baselines (sum of the rows above)",
                 "before_s": sum(r["before_s"] for r in rows), "after_s": by["ridge"]["after_s"]
                 + by["pairwise lasso (with its lasso)"]["after_s"],
                 "before_peak_mib": max(r["before_peak_mib"] for r in rows),
                 "after_peak_mib": max(r["after_peak_mib"] for r in rows)})
    rows[-1]["speedup"] = rows[-1]["before_s"] / rows[-1]["after_s"]
    if not np.isnan(z[train]).any():
        def ridgecv():
            x = encode(torch.as_tensor(data.states), "onehot", k).double().numpy()
            start = time.perf_counter()
            fit = RidgeCV(alphas=RIDGE_ALPHAS, alpha_per_target=True).fit(x[train], data.phenotypes[train])
            return fit.predict(x), time.perf_counter() - start

        _, mem, (pred, seconds) = measure(ridgecv)
        rows.append({**common, "method": "reference: scikit-learn RidgeCV, one fit of every trait", "after_s": seconds,
                     "after_peak_mib": mem, "r2_median_after": np.median(r2(pred)),
                     "max_abs_r2_diff": np.abs(r2(pred) - r2_after["ridge"]).max()})
        print(f"[{label}] RidgeCV: {seconds:.1f} s (fit and predict, one-hot matrix given), peak {mem:.0f} MiB; "
              f"ridge after / RidgeCV = {by['ridge']['after_s'] / seconds:.2f}", flush=True)
    return pd.DataFrame(rows)


def speed_main(args) -> None:
    scale = args.scale
    paper, _, _ = paper_design(args.seed, AtlasDesign(n_individuals=int(3000 * scale), n_loci=int(3000 * scale)))
    yeast = yeast_cross(args.seed, n=int(1000 * scale), m=int(11000 * scale))
    with tempfile.TemporaryDirectory() as tmp:
        before = load_before(args.before, Path(tmp))
        table = pd.concat([speed_comparison("paper design", paper, args.seed, before, lasso_folds=args.lasso_folds),
                           speed_comparison("yeast-sized cross", yeast, args.seed, before,
                                            lasso_folds=args.lasso_folds)], ignore_index=True)
    out = Path(args.out or HERE / "results" / "gpatlas_speed.tsv")
    out.parent.mkdir(parents=True, exist_ok=True)
    table.to_csv(out, sep="\t", index=False, float_format="%.4g")
    with pd.option_context("display.width", 250, "display.max_columns", 30):
        print(table.drop(columns=["samples", "loci", "states", "traits", "one_hot_columns"]).to_string(
            index=False, float_format=lambda v: f"{v:.3g}"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--epochs", type=int, default=250, help="epochs of each tier on the paper design (paper: 250)")
    parser.add_argument("--toy-epochs", type=int, default=100, help="epochs of each tier on the toy cohort")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--device", default="cpu", help="auto | cpu | cuda")
    parser.add_argument("--lasso-folds", type=int, default=5)
    parser.add_argument("--path-folds", type=int, default=10, help="inner CV folds of the improved model's path choice")
    parser.add_argument("--mice-epochs", type=int, default=50, help="epochs of each tier on the mice")
    parser.add_argument("--datasets", default="paper,toy,mice", help="comma-separated: paper, toy, mice")
    parser.add_argument("--variants", default="faithful,improved", help="paper and toy (the mice: improved only)")
    parser.add_argument("--speed", action="store_true", help="only the before/after cost of the baselines")
    parser.add_argument("--scale", type=float, default=1.0, help="--speed: scale samples and loci (1 = full size)")
    parser.add_argument("--before", default=BEFORE, help="--speed: git commit of the 'before' implementation")
    parser.add_argument("--out", default=None,
                        help="output table (default bench/results/gpatlas_<dataset>.tsv, gpatlas_speed.tsv)")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    torch.set_num_threads(1)
    if args.speed:
        speed_main(args)
        return
    device = pick(args.device)
    common = dict(seed=args.seed, device=device, lasso_folds=args.lasso_folds, path_folds=args.path_folds)
    variants = tuple(args.variants.split(","))
    for name in args.datasets.split(","):
        if name == "paper":
            table = benchmark("paper design", *paper_design(args.seed), epochs=args.epochs, variants=variants,
                              **common)
        elif name == "toy":
            with tempfile.TemporaryDirectory() as tmp:
                table = benchmark("toy cohort", *toy_cohort(args.seed, Path(tmp)), epochs=args.toy_epochs,
                                  variants=variants, **common)
        elif name == "mice":
            table = benchmark("mice", *mice(), epochs=args.mice_epochs, variants=("improved",), **common)
        else:
            raise SystemExit(f"--datasets: unknown data set {name!r}; use paper, toy, mice")
        out = Path(args.out or HERE / "results" / f"gpatlas_{name}.tsv")
        out.parent.mkdir(parents=True, exist_ok=True)
        table.to_csv(out, sep="\t", index=False, float_format="%.4g")
        with pd.option_context("display.width", 250, "display.max_columns", 30, "display.max_rows", 40):
            print(table[table.trait == "median"].to_string(index=False, float_format=lambda v: f"{v:.3g}"))

if __name__ == "__main__":
    main()
