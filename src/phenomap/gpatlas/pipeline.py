"""File-level steps of the G-P Atlas rules: read inputs, call the library, write outputs atomically.

Outputs of one cohort (``results/<cohort>/gpatlas/``):

- ``split.tsv``: ``FID IID split`` (train | test), fixed by tier 1 and reused by every later step;
- ``pheno_model.pt`` / ``geno_model.pt``: the model after tier 1 / tier 2 (:class:`AtlasModel`);
- ``pheno_curve.tsv`` / ``geno_curve.tsv``: training curves (one row per epoch);
- ``predictions.tsv``: long table ``FID IID split trait observed pheno_pred geno_pred ridge lasso``
  (original scale; ``pheno_pred`` reconstructs the sample's own traits through tier 1);
- ``metrics.tsv``: ``model trait n r2 pearson_r mape`` on the test samples, models
  ``pheno->pheno``, ``geno->pheno``, ``ridge``, ``lasso``, plus a ``median`` row per model;
- ``importance.tsv``: per locus ``CHROM ID POS A1 A2 rank importance best_state anova_log10p
  importance_<trait>…`` (ablation on the test samples; best_state = A1 copies of the most
  important allele state; anova_log10p = max over traits of the marginal ANOVA on the
  training samples), by decreasing importance;
- ``interactions.tsv``: per locus ``CHROM ID POS vida extreme_ratio_diff clumpiness_diff``, by
  decreasing VIDA score (NaN for loci beyond ``max_loci``);
- ``interaction_pairs.tsv``: ``ID_A ID_B interaction top_trait top_trait_interaction`` for every
  pair of the ``top_pairs`` most important loci, by decreasing interaction.
"""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd
import torch

from phenomap.device import pick
from phenomap.gpatlas.data import AtlasData, load_atlas_data, read_split, split_samples
from phenomap.gpatlas.evaluate import lasso_baseline, metrics_table, pairwise_baseline, ridge_baseline
from phenomap.gpatlas.importance import ablation_importance, anova_scores, pairwise_interactions
from phenomap.gpatlas.model import AtlasModel
from phenomap.gpatlas.train import Settings, train_geno_tier, train_pheno_tier
from phenomap.gpatlas.vida import vida
from phenomap.io.tables import write_tsv

log = logging.getLogger(__name__)


def configure_torch(threads: int) -> None:
    """CPU threads of this job and deterministic kernels (warnings only where CUDA has none)."""
    torch.set_num_threads(max(1, threads))
    torch.use_deterministic_algorithms(True, warn_only=True)


def _data_and_split(bfile, pheno, traits, split, chunk) -> tuple[AtlasData, np.ndarray]:
    data = load_atlas_data(bfile, pheno, traits, chunk=chunk)
    return data, read_split(split, data.samples)


def run_pheno_tier(bfile: str, pheno: str, *, traits, out_split: str, out_model: str, out_curve: str,
                   settings: Settings, seed: int, test_fraction: float, split_file: str | None = None,
                   device: str = "auto", threads: int = 1, chunk: int = 4096) -> None:
    """Fix the train/test split (random by ``seed`` or ``split_file``) and train tier 1."""
    configure_torch(threads)
    data = load_atlas_data(bfile, pheno, traits, chunk=chunk)
    is_test = read_split(split_file, data.samples) if split_file else split_samples(len(data.samples), test_fraction, seed=seed)
    log.info("split: %d training and %d test samples", int((~is_test).sum()), int(is_test.sum()))
    split = data.samples.assign(split=np.where(is_test, "test", "train"))
    model, curve = train_pheno_tier(data, is_test, settings, seed=seed + 1, device=pick(device))
    write_tsv(split, out_split)
    model.save(out_model)
    write_tsv(curve, out_curve)


def run_geno_tier(bfile: str, pheno: str, *, traits, split: str, pheno_model: str, out_model: str, out_curve: str,
                  settings: Settings, seed: int, device: str = "auto", threads: int = 1, chunk: int = 4096) -> None:
    """Train tier 2 into the tier-1 model and save the full model."""
    configure_torch(threads)
    dev = pick(device)
    data, is_test = _data_and_split(bfile, pheno, traits, split, chunk)
    model = AtlasModel.load(pheno_model, device=dev)
    curve = train_geno_tier(model, data, is_test, settings, seed=seed + 2, device=dev)
    model.save(out_model)
    write_tsv(curve, out_curve)


def run_evaluation(bfile: str, pheno: str, *, traits, split: str, model: str, out_predictions: str,
                   out_metrics: str, baselines=("ridge", "lasso", "pairwise"), lasso_alphas: int = 20, lasso_folds: int = 5,
                   seed: int = 0, threads: int = 1, chunk: int = 4096) -> pd.DataFrame:
    """Predictions of every sample and held-out metrics of the model and its baselines."""
    configure_torch(threads)
    data, is_test = _data_and_split(bfile, pheno, traits, split, chunk)
    atlas = AtlasModel.load(model)
    atlas.check_loci(data.loci, source=f"genotypes {bfile}")
    atlas.check_traits(data.traits, source=f"phenotype file {pheno}")
    preds = {"pheno->pheno": atlas.predict_pheno(data.phenotypes), "geno->pheno": atlas.predict_geno(data.states)}
    z = atlas.scaler.transform(data.phenotypes)
    if "ridge" in baselines:
        preds["ridge"] = atlas.scaler.inverse(ridge_baseline(atlas, data.states, z, is_test, chunk=chunk))
    if "lasso" in baselines:
        preds["lasso"] = atlas.scaler.inverse(lasso_baseline(atlas, data.states, z, is_test, n_alphas=lasso_alphas,
                                                             folds=lasso_folds, seed=seed + 2))
    if "pairwise" in baselines:
        pairwise = pairwise_baseline(atlas, data.states, z, is_test, n_alphas=lasso_alphas, folds=lasso_folds,
                                     seed=seed + 2)
        preds["pairwise"] = atlas.scaler.inverse(pairwise)
    metrics = metrics_table({k: v[is_test] for k, v in preds.items()}, data.phenotypes[is_test], data.traits)
    n, T = data.phenotypes.shape
    long = pd.DataFrame({
        "FID": np.repeat(data.samples.FID.to_numpy(), T), "IID": np.repeat(data.samples.IID.to_numpy(), T),
        "split": np.repeat(np.where(is_test, "test", "train"), T), "trait": np.tile(data.traits, n),
        "observed": data.phenotypes.ravel(),
    })
    for name, column in (("pheno->pheno", "pheno_pred"), ("geno->pheno", "geno_pred"), ("ridge", "ridge"),
                         ("lasso", "lasso"), ("pairwise", "pairwise")):
        if name in preds:
            long[column] = preds[name].ravel()
    write_tsv(long, out_predictions)
    write_tsv(metrics, out_metrics)
    log.info("held-out median R2: %s", dict(zip(metrics.model[metrics.trait == "median"],
                                                 metrics.r2[metrics.trait == "median"].round(3))))
    return metrics


def run_importance(bfile: str, pheno: str, *, traits, split: str, model: str, out_importance: str,
                   out_interactions: str, out_pairs: str, z_threshold: float = 2.0, partner_fraction: float = 0.1,
                   clumpiness_fraction: float = 0.05, max_loci: int = 3000, top_pairs: int = 20,
                   device: str = "auto", threads: int = 1, chunk: int = 4096, ablation_chunk: int = 256) -> None:
    """Ablation importance, VIDA scores and pairwise interactions on the test samples."""
    configure_torch(threads)
    dev = pick(device)
    data, is_test = _data_and_split(bfile, pheno, traits, split, chunk)
    atlas = AtlasModel.load(model, device=dev)
    atlas.check_loci(data.loci, source=f"genotypes {bfile}")
    test_states = data.states[is_test]
    imp = ablation_importance(atlas, test_states, chunk=ablation_chunk, device=dev)
    anova = anova_scores(data.states[~is_test], data.phenotypes[~is_test])
    loci = data.loci.reset_index(drop=True)
    table = loci.assign(importance=imp.overall, best_state=imp.best_state, anova_log10p=anova.max(axis=1))
    for t, name in enumerate(data.traits):
        table[f"importance_{name}"] = imp.per_trait[:, t]
    table = table.sort_values("importance", ascending=False, kind="stable")
    table.insert(5, "rank", np.arange(1, len(table) + 1))
    write_tsv(table, out_importance)

    scores = vida(imp.per_sample, z_threshold=z_threshold, partner_fraction=partner_fraction,
                  clumpiness_fraction=clumpiness_fraction, max_loci=max_loci, importance=imp.overall)
    interactions = loci[["CHROM", "ID", "POS"]].assign(
        vida=scores.score, extreme_ratio_diff=scores.extreme_ratio_diff, clumpiness_diff=scores.clumpiness_diff)
    write_tsv(interactions.sort_values("vida", ascending=False, kind="stable", na_position="last"), out_interactions)

    top = np.argsort(-imp.overall, kind="stable")[: min(top_pairs, len(loci))]
    inter = pairwise_interactions(atlas, test_states, top, device=dev)
    a, b = np.triu_indices(len(top), 1)
    per_trait = inter[a, b]  # (pairs, T)
    pairs = pd.DataFrame({
        "ID_A": loci.ID.to_numpy()[top[a]], "ID_B": loci.ID.to_numpy()[top[b]],
        "interaction": per_trait.mean(axis=1),
        "top_trait": np.asarray(data.traits)[per_trait.argmax(axis=1)] if len(a) else [],
        "top_trait_interaction": per_trait.max(axis=1) if len(a) else [],
    })
    write_tsv(pairs.sort_values("interaction", ascending=False, kind="stable"), out_pairs)
    log.info("importance: top loci %s", list(table.ID[:5]))
