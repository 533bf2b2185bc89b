"""File-level steps of the G-P Atlas rules: read inputs, call the library, write outputs atomically.

The same steps on arrays, in one call and in memory: :func:`phenomap.gpatlas.fit.fit_atlas`.

Outputs of one cohort (``results/<cohort>/gpatlas/``):

- ``split.tsv``: ``FID IID split`` (train | test), fixed by tier 1 and reused by every later step;
- ``pheno_model.pt`` / ``geno_model.pt``: the model after tier 1 / tier 2 (:class:`AtlasModel`);
- ``pheno_curve.tsv`` / ``geno_curve.tsv``: training curves (one row per epoch);
- ``predictions.tsv``: long table ``FID IID split trait observed pheno_pred geno_pred ridge lasso pairwise``
  (original scale; ``pheno_pred`` reconstructs the sample's own traits through tier 1; one
  column per configured baseline);
- ``metrics.tsv``: ``model trait n r2 pearson_r mape`` on the test samples, models
  ``pheno->pheno``, ``geno->pheno``, ``ridge``, ``lasso``, ``pairwise``, plus a ``median`` row per model;
- ``epistasis.tsv``: ``ID_A ID_B trait screen_score p_test q_test``: per trait the locus pairs whose
  product best explains the lasso's residual on the training samples, tested on the test samples
  (:func:`~phenomap.gpatlas.epistasis.screen_table`; empty without the lasso or pairwise baseline);
- ``importance.tsv``: per locus ``CHROM ID POS A1 A2 rank importance best_state anova_log10p
  importance_<trait>…`` (ablation on the test samples; best_state = A1 copies of the most
  important allele state; anova_log10p = max over traits of the marginal ANOVA on the
  training samples), by decreasing importance;
- ``interactions.tsv``: per locus ``CHROM ID POS vida extreme_ratio_diff clumpiness_diff``, by
  decreasing VIDA score (NaN for loci beyond ``max_loci``);
- ``interaction_pairs.tsv``: ``ID_A ID_B interaction top_trait top_trait_interaction in_path`` for
  every pair of the ``top_pairs`` most important loci and every pair with a product term in the
  model's path (``in_path``), by decreasing interaction.
"""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd
import torch

from phenomap.device import pick
from phenomap.gpatlas.baselines import PAIRWISE_SCREEN_PAIRS
from phenomap.gpatlas.data import AtlasData, load_atlas_data, read_split, split_samples
from phenomap.gpatlas.epistasis import SCREEN_COLUMNS
from phenomap.gpatlas.evaluate import BASELINES, evaluate_model
from phenomap.gpatlas.importance import importance_tables
from phenomap.gpatlas.model import AtlasModel
from phenomap.gpatlas.train import Settings, train_geno_tier, train_pheno_tier
from phenomap.io.tables import write_tsv
from phenomap.logging import rule_summary

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
    _summarise_tier(1, data, is_test, curve)


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
    _summarise_tier(2, data, is_test, curve)


def _summarise_tier(tier: int, data: AtlasData, is_test: np.ndarray, curve: pd.DataFrame) -> None:
    rule_summary(f"tier {tier}: {int((~is_test).sum()):,} training samples x {len(data.loci):,} loci, "
                 f"{len(data.traits)} traits", f"test MSE {curve.test_loss.iloc[-1]:.4f}")


def run_evaluation(bfile: str, pheno: str, *, traits, split: str, model: str, out_predictions: str,
                   out_metrics: str, out_epistasis: str, baselines=BASELINES, lasso_alphas: int = 20,
                   lasso_folds: int = 5, screen_pairs: int = PAIRWISE_SCREEN_PAIRS, seed: int = 0, threads: int = 1,
                   chunk: int = 4096) -> pd.DataFrame:
    """Predictions of every sample, held-out metrics of the model and its baselines, and the epistasis
    screen (:func:`~phenomap.gpatlas.evaluate.evaluate_model`, whose lasso folds use the tier-2 seed,
    ``seed + 2``)."""
    configure_torch(threads)
    data, is_test = _data_and_split(bfile, pheno, traits, split, chunk)
    atlas = AtlasModel.load(model)
    atlas.check_loci(data.loci, source=f"genotypes {bfile}")
    atlas.check_traits(data.traits, source=f"phenotype file {pheno}")
    predictions, metrics, epistasis = evaluate_model(atlas, data, is_test, baselines=baselines,
                                                     lasso_alphas=lasso_alphas, lasso_folds=lasso_folds,
                                                     screen_pairs=screen_pairs, seed=seed + 2)
    write_tsv(predictions, out_predictions)
    write_tsv(metrics, out_metrics)
    if epistasis is None:
        epistasis = pd.DataFrame(columns=list(SCREEN_COLUMNS))
    else:
        confirmed = epistasis[epistasis.q_test < 0.05]
        log.info("epistasis screen: %d of %d screened pairs confirmed on the test samples (q < 0.05)%s",
                 len(confirmed), len(epistasis),
                 "" if confirmed.empty else f"; first {confirmed.ID_A.iloc[0]} x {confirmed.ID_B.iloc[0]} "
                                            f"({confirmed.trait.iloc[0]}, p {confirmed.p_test.iloc[0]:.2g})")
    write_tsv(epistasis, out_epistasis)
    r2 = metrics[metrics.trait == "median"].set_index("model").r2
    best = r2.drop(["pheno->pheno", "geno->pheno"]).idxmax() if len(r2) > 2 else None
    rule_summary(f"{int(is_test.sum()):,} held-out samples x {len(data.traits)} traits",
                 f"held-out R^2 {r2['geno->pheno']:.3f}" + (f" (best baseline {best} {r2[best]:.3f})" if best else ""))
    return metrics


def run_importance(bfile: str, pheno: str, *, traits, split: str, model: str, out_importance: str,
                   out_interactions: str, out_pairs: str, z_threshold: float = 2.0, partner_fraction: float = 0.1,
                   clumpiness_fraction: float = 0.05, max_loci: int = 3000, top_pairs: int = 20,
                   device: str = "auto", threads: int = 1, chunk: int = 4096, ablation_chunk: int = 256) -> None:
    """Ablation importance, VIDA scores and pairwise interactions on the test samples
    (:func:`~phenomap.gpatlas.importance.importance_tables`)."""
    configure_torch(threads)
    dev = pick(device)
    data, is_test = _data_and_split(bfile, pheno, traits, split, chunk)
    atlas = AtlasModel.load(model, device=dev)
    atlas.check_loci(data.loci, source=f"genotypes {bfile}")
    table, interactions, pairs = importance_tables(
        atlas, data, is_test, z_threshold=z_threshold, partner_fraction=partner_fraction,
        clumpiness_fraction=clumpiness_fraction, max_loci=max_loci, top_pairs=top_pairs, chunk=ablation_chunk,
        device=dev)
    write_tsv(table, out_importance)
    write_tsv(interactions, out_interactions)
    write_tsv(pairs, out_pairs)
    log.info("importance: top loci %s", list(table.ID[:5]))
    rule_summary(f"{len(table):,} loci ablated on {int(is_test.sum()):,} test samples, {len(pairs):,} pairs",
                 f"top locus {table.ID.iloc[0]}")
