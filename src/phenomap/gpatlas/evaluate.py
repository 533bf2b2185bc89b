"""Held-out accuracy of G-P Atlas and of its linear baselines.

Metrics, per trait over the test samples where the trait is observed, on the original scale:

- ``r2``: 1 - SS_res / SS_tot around the test mean (negative when worse than that mean);
- ``pearson_r``: correlation of predictions and observations;
- ``mape``: mean absolute percentage error, 100 * mean(|pred - obs| / max(|obs|, floor)),
  with ``floor`` = 10 % of the median |obs| of the trait, so that observations near zero do
  not blow the ratio up. MAPE only means something for traits far from zero (such as the
  paper's simulated traits); for centred traits read R^2.

Baselines (:func:`fit_baselines`, callable on their own: no network needed) use the network's
features (one-hot or dosage, missing dosages imputed with the training mean) and the same
split and trait standardisation as the network: ridge with the leave-one-out penalty (from
chunked linear kernels, so no feature matrix is held), lasso with the K-fold-CV penalty,
and the pairwise lasso on the lasso's loci (see :mod:`phenomap.gpatlas.baselines`), all on
every training sample.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import pandas as pd

from phenomap.errors import InputError
from phenomap.gpatlas.baselines import (
    PAIRWISE_MAX_LOCI,
    PAIRWISE_SCREEN_PAIRS,
    LinearPath,
    fit_lasso_path,
    pairwise_baseline,
    ridge_baseline,
)
from phenomap.gpatlas.data import CODINGS, AtlasData, PhenotypeScaler, feature_means
from phenomap.gpatlas.epistasis import screen, screen_table
from phenomap.gpatlas.model import AtlasModel

log = logging.getLogger(__name__)

MAPE_FLOOR = 0.1
METRIC_COLUMNS = ["model", "trait", "n", "r2", "pearson_r", "mape"]
BASELINES = ("ridge", "lasso", "pairwise")


def trait_metrics(pred: np.ndarray, obs: np.ndarray) -> dict[str, float]:
    """R^2, Pearson r and MAPE (%) of (n,) predictions against (n,) observations (NaN ignored)."""
    ok = ~np.isnan(obs) & ~np.isnan(pred)
    p, y = pred[ok], obs[ok]
    if len(y) < 2:
        return {"n": len(y), "r2": np.nan, "pearson_r": np.nan, "mape": np.nan}
    ss_tot = np.sum((y - y.mean()) ** 2)
    r = np.corrcoef(p, y)[0, 1] if np.std(p) > 0 and ss_tot > 0 else np.nan
    floor = MAPE_FLOOR * np.median(np.abs(y))
    denom = np.maximum(np.abs(y), floor) if floor > 0 else np.abs(y)
    mape = 100 * np.mean(np.abs(p - y) / np.where(denom > 0, denom, np.nan))
    return {"n": len(y), "r2": 1 - np.sum((p - y) ** 2) / ss_tot if ss_tot > 0 else np.nan,
            "pearson_r": r, "mape": mape}


def metrics_table(predictions: dict[str, np.ndarray], obs: np.ndarray, traits) -> pd.DataFrame:
    """Metrics of each model's (n, T) predictions, per trait plus a ``median`` row per model."""
    rows = []
    for name, pred in predictions.items():
        per_trait = [{"model": name, "trait": t, **trait_metrics(pred[:, j], obs[:, j])} for j, t in enumerate(traits)]
        table = pd.DataFrame(per_trait)
        rows += per_trait
        rows.append({"model": name, "trait": "median", "n": int(table.n.median()),
                     **table[["r2", "pearson_r", "mape"]].median().to_dict()})
    return pd.DataFrame(rows, columns=METRIC_COLUMNS)


def check_split(is_test, n: int) -> np.ndarray:
    """(n,) bool is-test mask, with at least two training and two test samples; else InputError."""
    is_test = np.asarray(is_test)
    if is_test.shape != (n,) or is_test.dtype != bool:
        raise InputError(f"is_test: expected ({n},) booleans (True = test sample), got {is_test.dtype} {is_test.shape}.")
    if is_test.sum() < 2 or (~is_test).sum() < 2:
        raise InputError(f"is_test: {int(is_test.sum())} test and {int((~is_test).sum())} training samples; "
                         "both need at least 2.")
    return is_test


@dataclass(frozen=True)
class Baselines:
    """Linear baselines of one train/test split.

    Attributes
    ----------
    predictions : {name: (n, T) float64}
        Every sample's prediction on the original trait scale, for each fitted baseline
        (``ridge``, ``lasso``, ``pairwise``).
    metrics : DataFrame
        Held-out metrics (:data:`METRIC_COLUMNS`, a ``median`` row per baseline).
    lasso : LinearPath or None
        The lasso (network coordinates, standardised traits) when lasso or pairwise ran.
    ridge_penalty : (T,) or None
        Leave-one-out-optimal ridge penalty of each trait.
    epistasis : DataFrame or None
        The screen of all locus pairs for product effects on the lasso's residual (training
        samples), tested on the test samples (:func:`~phenomap.gpatlas.epistasis.screen_table`);
        None without a lasso or with ``screen_pairs`` 0.
    """

    predictions: dict[str, np.ndarray]
    metrics: pd.DataFrame
    lasso: LinearPath | None
    ridge_penalty: np.ndarray | None
    epistasis: pd.DataFrame | None


def fit_baselines(data: AtlasData, is_test, *, coding: str = "onehot", baselines=BASELINES,
                  lasso_alphas: int = 20, lasso_folds: int = 5, seed: int = 0,
                  lasso: LinearPath | None = None, screen_pairs: int = PAIRWISE_SCREEN_PAIRS) -> Baselines:
    """Ridge, lasso and pairwise lasso of every trait, fitted on the training samples: no network needed.

    The workflow's ``gpatlas_evaluate`` step calls this with the model's split and settings,
    so the same arguments give its numbers.

    Parameters
    ----------
    data : AtlasData
        From :func:`~phenomap.gpatlas.data.atlas_data` (arrays) or
        :func:`~phenomap.gpatlas.data.load_atlas_data` (files).
    is_test : (n,) bool
        Test samples (e.g. :func:`~phenomap.gpatlas.data.split_samples`).
    coding : {"onehot", "dosage"}
        Features (as the network's ``gpatlas.coding``).
    baselines : subset of ("ridge", "lasso", "pairwise")
    lasso_alphas, lasso_folds, seed :
        Lasso penalty grid size, CV folds and fold seed (the workflow: the tier-2 seed).
    lasso : LinearPath, optional
        A lasso already fitted on these training samples (standardised traits, network
        coordinates), used as the lasso baseline and to pick the pairwise loci.
    screen_pairs : int
        Pairs per trait screened for a product effect: candidates of the pairwise lasso and rows of
        ``epistasis`` (0: no screen).

    Returns
    -------
    Baselines

    Raises
    ------
    InputError
        For an unknown baseline or coding, a bad split, or a trait constant on the training samples.
    """
    unknown = [b for b in baselines if b not in BASELINES]
    if unknown:
        raise InputError(f"baselines: {unknown[0]!r} is not one of {list(BASELINES)}.")
    if coding not in CODINGS:
        raise InputError(f"coding: {coding!r} is not one of {list(CODINGS)}.")
    is_test = check_split(is_test, len(data.states))
    train = np.flatnonzero(~is_test)
    scaler = PhenotypeScaler.fit(data.phenotypes[train], data.traits)
    z = scaler.transform(data.phenotypes)
    mean = feature_means(data.states[train], data.n_states, coding)
    mean32 = mean.astype(np.float32)  # what the network imputes
    shape = (data.states, data.n_states, coding)
    preds, penalty = {}, None
    if "ridge" in baselines:
        preds["ridge"], penalty = ridge_baseline(*shape, z, train, mean=mean32, traits=data.traits)
    if lasso is None and ("lasso" in baselines or "pairwise" in baselines):
        lasso = fit_lasso_path(data.states[train], data.n_states, coding, z[train], mean=mean,
                               n_alphas=lasso_alphas, folds=lasso_folds, seed=seed, traits=data.traits)
    epistasis = None
    if lasso is not None:
        additive = lasso.predict_states(*shape, mean32)
        # one screen of the training samples serves the pairwise baseline and epistasis.tsv
        screened = screen(data.states[train], data.n_states, z[train] - additive[train], screen_pairs)
        if "lasso" in baselines:
            preds["lasso"] = additive
        if "pairwise" in baselines:
            preds["pairwise"] = pairwise_baseline(*shape, z, train, lasso, mean=mean32, max_loci=PAIRWISE_MAX_LOCI,
                                                  screen_pairs=screen_pairs, n_alphas=lasso_alphas,
                                                  folds=lasso_folds, seed=seed, traits=data.traits, screened=screened)
        if screen_pairs > 0:
            epistasis = screen_table(data.states, z, additive, is_test, screened, traits=data.traits,
                                     loci=data.loci.ID.to_numpy())
    preds = {name: scaler.inverse(p) for name, p in preds.items()}
    metrics = metrics_table({k: v[is_test] for k, v in preds.items()}, data.phenotypes[is_test], data.traits)
    return Baselines(preds, metrics, lasso, penalty, epistasis)


PREDICTION_COLUMNS = {"pheno->pheno": "pheno_pred", "geno->pheno": "geno_pred", "ridge": "ridge",
                      "lasso": "lasso", "pairwise": "pairwise"}


def evaluate_model(model: AtlasModel, data: AtlasData, is_test, *, baselines=BASELINES, lasso_alphas: int = 20,
                   lasso_folds: int = 5, screen_pairs: int = PAIRWISE_SCREEN_PAIRS,
                   seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame | None]:
    """Predictions of every sample and held-out metrics of a trained model and its baselines.

    Parameters
    ----------
    model : AtlasModel
        Both tiers trained, on ``data``'s loci and traits.
    data : AtlasData
    is_test : (n,) bool
    baselines, lasso_alphas, lasso_folds, screen_pairs, seed :
        As :func:`fit_baselines` (``seed``: the tier-2 seed, whose folds the model's paths used).

    Returns
    -------
    predictions : DataFrame
        One row per sample and trait: ``FID IID split trait observed pheno_pred geno_pred``
        and a column per baseline (original scale).
    metrics : DataFrame
        :data:`METRIC_COLUMNS` of ``pheno->pheno``, ``geno->pheno`` and each baseline, on the test samples.
    epistasis : DataFrame or None
        :attr:`Baselines.epistasis` (None without the lasso or pairwise baseline).
    """
    is_test = check_split(is_test, len(data.states))
    model.check_traits(data.traits, source="phenotypes")
    preds = {"pheno->pheno": model.predict_pheno(data.phenotypes), "geno->pheno": model.predict_geno(data.states)}
    epistasis = None
    if baselines:
        fitted = fit_baselines(data, is_test, coding=model.architecture.coding, baselines=baselines,
                               lasso_alphas=lasso_alphas, lasso_folds=lasso_folds, seed=seed,
                               screen_pairs=screen_pairs)
        preds |= fitted.predictions
        epistasis = fitted.epistasis
    metrics = metrics_table({k: v[is_test] for k, v in preds.items()}, data.phenotypes[is_test], data.traits)
    n, T = data.phenotypes.shape
    long = pd.DataFrame({
        "FID": np.repeat(data.samples.FID.to_numpy(), T), "IID": np.repeat(data.samples.IID.to_numpy(), T),
        "split": np.repeat(np.where(is_test, "test", "train"), T), "trait": np.tile(data.traits, n),
        "observed": data.phenotypes.ravel(),
    })
    for name, column in PREDICTION_COLUMNS.items():
        if name in preds:
            long[column] = preds[name].ravel()
    log.info("held-out median R2: %s", dict(zip(metrics.model[metrics.trait == "median"],
                                                 metrics.r2[metrics.trait == "median"].round(3))))
    return long, metrics, epistasis
