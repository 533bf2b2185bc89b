"""G-P Atlas on arrays: one call from a genotype array and a trait table to the workflow's outputs.

:func:`fit_atlas` runs the four steps of the workflow's G-P Atlas stage in memory, with the
same seeds: the train/test split (``seed``), tier 1 (``seed + 1``), tier 2 and its paths
(``seed + 2``), predictions and metrics beside the baselines (lasso folds ``seed + 2``), and
ablation importance, VIDA and pairwise interactions. Given the same data, settings and seed
(the workflow's seed is ``config seed + 1000``, its ``SEED_OFFSETS["gpatlas"]``) it returns
the model and tables that ``results/<cohort>/gpatlas/`` holds, on the CPU with the same
number of torch threads (the workflow's ``gpatlas.threads``, default 1).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import pandas as pd

from phenomap.device import pick
from phenomap.errors import InputError
from phenomap.gpatlas.data import AtlasData, atlas_data, sample_table, split_samples
from phenomap.gpatlas.evaluate import BASELINES, check_split, evaluate_model
from phenomap.gpatlas.importance import importance_tables
from phenomap.gpatlas.model import AtlasModel
from phenomap.gpatlas.train import Settings, train_geno_tier, train_pheno_tier
from phenomap.io.tables import align_samples

log = logging.getLogger(__name__)

VIDA_KEYS = ("z_threshold", "partner_fraction", "clumpiness_fraction", "max_loci")


@dataclass(frozen=True)
class AtlasResult:
    """Everything the workflow's G-P Atlas stage writes, in memory.

    Attributes
    ----------
    data : AtlasData
        The analysed samples (those with a value for some trait), loci and traits.
    is_test : (n,) bool
        Test samples of ``data`` (``split.tsv``).
    model : AtlasModel
        Both tiers (``geno_model.pt``; ``model.save(path)`` writes it).
    pheno_curve, geno_curve : DataFrame
        Training curves (``pheno_curve.tsv``, ``geno_curve.tsv``).
    predictions : DataFrame
        ``predictions.tsv``: per sample and trait, observed value, P->P and G->P predictions
        and the baselines', original scale.
    metrics : DataFrame
        ``metrics.tsv``: held-out R², Pearson r and MAPE per model and trait.
    epistasis : DataFrame or None
        ``epistasis.tsv``: locus pairs screened for product effects on the training samples and
        tested on the test samples (None without the lasso or pairwise baseline).
    importance, interactions, pairs : DataFrame or None
        ``importance.tsv``, ``interactions.tsv``, ``interaction_pairs.tsv`` (None when
        ``importance=False``).
    """

    data: AtlasData
    is_test: np.ndarray
    model: AtlasModel
    pheno_curve: pd.DataFrame
    geno_curve: pd.DataFrame
    predictions: pd.DataFrame
    metrics: pd.DataFrame
    epistasis: pd.DataFrame | None
    importance: pd.DataFrame | None
    interactions: pd.DataFrame | None
    pairs: pd.DataFrame | None

    @property
    def split(self) -> pd.DataFrame:
        """``FID IID split`` (train | test), as ``split.tsv``."""
        return self.data.samples.assign(split=np.where(self.is_test, "test", "train"))


def _test_mask(is_test, data: AtlasData, samples, n_rows: int) -> np.ndarray:
    """A user's (n_rows,) is-test mask over the genotype rows, restricted to the analysed samples."""
    is_test = np.asarray(is_test)
    if is_test.shape != (n_rows,) or is_test.dtype != bool:
        raise InputError(f"is_test: expected ({n_rows},) booleans over the genotype rows, got {is_test.dtype} "
                         f"{is_test.shape}.")
    return is_test[align_samples(data.samples, sample_table(samples, n_rows), source="samples")]


def fit_atlas(genotypes, phenotypes, *, samples=None, loci=None, traits=None, settings: Settings | None = None,
              seed: int = 0, test_fraction: float = 0.2, is_test=None, baselines=BASELINES, vida: dict | None = None,
              top_pairs: int = 20, importance: bool = True, device: str = "auto") -> AtlasResult:
    """Train and evaluate G-P Atlas on arrays, as the workflow does on PLINK files.

    Parameters
    ----------
    genotypes : (n, m) array_like
        A1 counts (0/1/2, haploid 0/1 or 0/2) or allele-state codes 0..k-1; NaN or -1 for a
        missing call. The number of allele states is inferred
        (:func:`~phenomap.gpatlas.data.infer_states`).
    phenotypes : DataFrame or (n, T) array_like
        Traits, NaN = missing: a DataFrame with ``IID`` (and ``FID``) columns is joined to
        ``samples`` on them, otherwise rows follow the genotype rows
        (:func:`~phenomap.gpatlas.data.atlas_data`).
    samples : sequence of str or DataFrame, optional
        (n,) IIDs, or ``FID IID``; default S1..Sn.
    loci : sequence of str or DataFrame, optional
        (m,) locus IDs, or ``CHROM ID POS A1 A2``; default L1..Lm.
    traits : sequence of str, optional
        Traits to analyse (default: every trait column) or an array's column names.
    settings : Settings, optional
        Network and linear-path settings (default: ``Settings()``, the documented defaults).
    seed : int
        Seed of the split; the tiers use ``seed + 1`` and ``seed + 2``.
    test_fraction : float
        Share of samples held out (ignored with ``is_test``).
    is_test : (n,) bool, optional
        Your own split over the genotype rows (True = test).
    baselines : subset of ("ridge", "lasso", "pairwise")
    vida : dict, optional
        VIDA settings (``z_threshold``, ``partner_fraction``, ``clumpiness_fraction``, ``max_loci``).
    top_pairs : int
        Loci whose pairwise interactions are measured.
    importance : bool
        Compute importance, VIDA and interactions (the slowest part on many loci).
    device : {"auto", "cpu", "cuda"}
        Training and ablation device; predictions are made on the CPU, as the workflow does.

    Returns
    -------
    AtlasResult

    Raises
    ------
    InputError
        For bad inputs (see :func:`~phenomap.gpatlas.data.atlas_data`), a bad split, an
        unknown baseline or VIDA setting.
    """
    settings = Settings() if settings is None else settings
    unknown = sorted(set(vida or {}) - set(VIDA_KEYS))
    if unknown:
        raise InputError(f"vida: unknown setting {unknown[0]!r}; use {list(VIDA_KEYS)}.")
    dev = pick(device)
    data = atlas_data(genotypes, phenotypes, samples=samples, loci=loci, traits=traits)
    if is_test is None:
        is_test = split_samples(len(data.samples), test_fraction, seed=seed)
    else:
        is_test = check_split(_test_mask(is_test, data, samples, len(np.asarray(genotypes))), len(data.samples))
    log.info("split: %d training and %d test samples", int((~is_test).sum()), int(is_test.sum()))
    model, pheno_curve = train_pheno_tier(data, is_test, settings, seed=seed + 1, device=dev)
    geno_curve = train_geno_tier(model, data, is_test, settings, seed=seed + 2, device=dev)
    model.pheno.cpu()
    model.geno.cpu()
    predictions, metrics, epistasis = evaluate_model(model, data, is_test, baselines=baselines,
                                                     lasso_alphas=settings.lasso_alphas,
                                                     lasso_folds=settings.lasso_folds,
                                                     screen_pairs=settings.screen_pairs, seed=seed + 2)
    tables = (None, None, None)
    if importance:
        tables = importance_tables(model, data, is_test, top_pairs=top_pairs, device=dev, **(vida or {}))
        model.geno.cpu()
    return AtlasResult(data, is_test, model, pheno_curve, geno_curve, predictions, metrics, epistasis, *tables)
