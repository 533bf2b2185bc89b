"""Held-out accuracy of G-P Atlas and of its linear baselines.

Metrics, per trait over the test samples where the trait is observed, on the original scale:

- ``r2``: 1 - SS_res / SS_tot around the test mean (negative when worse than that mean);
- ``pearson_r``: correlation of predictions and observations;
- ``mape``: mean absolute percentage error, 100 * mean(|pred - obs| / max(|obs|, floor)),
  with ``floor`` = 10 % of the median |obs| of the trait, so that observations near zero do
  not blow the ratio up. MAPE only means something for traits far from zero (such as the
  paper's simulated traits); for centred traits read R^2.

Baselines use the network's features (one-hot or dosage, missing calls imputed with the
training mean): ridge with the leave-one-out penalty (from chunked linear kernels, so no
feature matrix is held) and lasso with the K-fold-CV penalty. A model whose linear path
is a lasso (the improved variant) reports that path as the lasso baseline: it is the same
estimator on the same samples.
"""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd
import torch

from phenomap.gpatlas.baselines import lasso_cv, pairwise_lasso, ridge_predict
from phenomap.gpatlas.model import AtlasModel

log = logging.getLogger(__name__)

MAPE_FLOOR = 0.1
METRIC_COLUMNS = ["model", "trait", "n", "r2", "pearson_r", "mape"]


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


def _features_slice(model: AtlasModel, states: np.ndarray, start: int, stop: int) -> torch.Tensor:
    """Features of loci ``start:stop`` (n, F_slice), missing calls imputed with the training mean."""
    per_locus = model.architecture.per_locus
    x = model.features(states[:, start:stop])
    return torch.where(torch.isnan(x), model.geno.feature_mean[start * per_locus: stop * per_locus], x)


def ridge_baseline(model: AtlasModel, states: np.ndarray, z: np.ndarray, is_test: np.ndarray, *,
                   chunk: int = 4096) -> np.ndarray:
    """Ridge predictions (n, T) of every sample from standardised traits ``z`` (n, T, NaN = missing).

    Fitted per trait on the observed training samples; the linear kernels are accumulated
    over chunks of ``chunk`` loci.
    """
    train = np.flatnonzero(~is_test)
    K_all = np.zeros((len(states), len(train)))  # its rows `train` are the training kernel
    for start in range(0, states.shape[1], chunk):
        x = _features_slice(model, states, start, start + chunk).double().numpy()
        K_all += x @ x[train].T
    out = np.full(z.shape, np.nan)
    for t in range(z.shape[1]):
        obs = ~np.isnan(z[train, t])
        out[:, t], alpha = ridge_predict(K_all[np.ix_(train[obs], obs)], K_all[:, obs], z[train[obs], t])
        log.info("ridge %s: penalty %.3g", model.traits[t], alpha)
    return out


def lasso_baseline(model: AtlasModel, states: np.ndarray, z: np.ndarray, is_test: np.ndarray, *,
                   n_alphas: int, folds: int, seed: int) -> np.ndarray:
    """Lasso predictions (n, T) from standardised traits ``z``: the model's linear path if it
    has one, else a lasso per trait fitted on the observed training samples."""
    net = model.geno
    x = _features_slice(model, states, 0, states.shape[1])
    if net.linear is not None:
        with torch.no_grad():
            return net.linear(net.prepare(x)).double().numpy()
    x = x.numpy()
    train = np.flatnonzero(~is_test)
    out = np.full(z.shape, np.nan)
    for t in range(z.shape[1]):
        obs = train[~np.isnan(z[train, t])]
        fit = lasso_cv(x[obs], z[obs, t], n_alphas=n_alphas, folds=folds, seed=seed)
        out[:, t] = fit.predict(x)
        log.info("lasso %s: penalty %.3g, %d non-zero coefficients", model.traits[t], fit.alpha,
                 int((fit.coef != 0).sum()))
    return out


def pairwise_baseline(model: AtlasModel, states: np.ndarray, z: np.ndarray, is_test: np.ndarray, *,
                      n_alphas: int, folds: int, seed: int, max_loci: int = 40) -> np.ndarray:
    """Pairwise-interaction lasso predictions (n, T) from standardised traits ``z``
    (:func:`~phenomap.gpatlas.baselines.pairwise_lasso`, per trait, observed training samples).

    A model with a linear path already holds the first-stage lasso (same samples, features and
    CV settings): its coefficients select the loci instead of a second identical fit.
    """
    net = model.geno
    x = _features_slice(model, states, 0, states.shape[1]).numpy()
    main = [None] * z.shape[1] if net.linear is None else net.linear.weight.detach().numpy()
    train = np.flatnonzero(~is_test)
    out = np.full(z.shape, np.nan)
    for t in range(z.shape[1]):
        obs = train[~np.isnan(z[train, t])]
        fit = pairwise_lasso(x[obs], z[obs, t], block=model.architecture.per_locus, main_coef=main[t],
                             max_loci=max_loci, n_alphas=n_alphas, folds=folds, seed=seed)
        out[:, t] = fit.predict(x)
        log.info("pairwise lasso %s: %d loci, %d non-zero of %d coefficients", model.traits[t], len(fit.loci),
                 int((fit.fit.coef != 0).sum()), fit.fit.coef.size)
    return out
