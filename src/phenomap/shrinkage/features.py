"""Per-variant input features of the shrinkage networks, built for a whole LD block at once.

For variant j of a block with marginal effects β̂, standard errors SE, LD matrix R and LD
scores ℓ, the ML-MAGES feature vector holds β̂_j, SE_j, ℓ_j and, for the T variants in
strongest LD with j (largest |R_jk|, k ≠ j), their β̂_k and R_jk.

phenomap expresses these on the z scale so that one trained ensemble serves traits of any
unit and GWAS of any sample size: effects enter as z = β̂/SE, the standard error as
log(SE_j / median SE of the block) (which carries the allele-frequency information), and the
network predicts β_j/SE_j, mapped back by multiplying with SE_j. A block-level context
feature, the mean z² of the block, tells the network how much signal the block holds (an
empirical-Bayes cue for how hard to shrink). With T neighbours there are 2T + 4 features.
Blocks with fewer than T + 1 variants are padded with z = 0, R = 0 neighbours.
"""

from __future__ import annotations

import numpy as np

from phenomap.errors import InputError


def feature_names(top_t: int) -> list[str]:
    """Column names of :func:`block_features`, in order."""
    return (
        ["z", "log_se_ratio", "ldscore", "block_mean_z2"]
        + [f"z_nb{i + 1}" for i in range(top_t)]
        + [f"r_nb{i + 1}" for i in range(top_t)]
    )


def top_neighbours(r: np.ndarray, top_t: int) -> tuple[np.ndarray, np.ndarray]:
    """Indices and correlations of each variant's ``top_t`` strongest-LD partners.

    r : (m, m) correlation matrix. Returns ``idx`` (m, top_t) int64 and ``corr`` (m, top_t)
    float64, ordered by decreasing |r| (ties by increasing index); the variant itself is
    excluded; missing partners (block smaller than top_t + 1) have idx = -1 and corr = 0.
    """
    m = r.shape[0]
    r = np.asarray(r, dtype=np.float64)
    strength = np.abs(r)
    np.fill_diagonal(strength, -1.0)
    k = min(top_t, m - 1)
    idx = np.full((m, top_t), -1, dtype=np.int64)
    corr = np.zeros((m, top_t))
    if k == 0:
        return idx, corr
    # O(m^2) selection of the k strongest, then an exact (|r| desc, index asc) order of those k;
    # rows with ties at the k-th place take the stable full sort so the choice stays exact.
    top = np.argpartition(-strength, k - 1, axis=1)[:, :k]
    top_strength = np.take_along_axis(strength, top, axis=1)
    kth = top_strength.min(axis=1)
    tied = (strength >= kth[:, None]).sum(axis=1) > k
    order = np.lexsort((top, -top_strength), axis=1)
    top = np.take_along_axis(top, order, axis=1)
    if tied.any():
        top[tied] = np.argsort(-strength[tied], axis=1, kind="stable")[:, :k]
    idx[:, :k] = top
    corr[:, :k] = np.take_along_axis(r, top, axis=1)
    return idx, corr


def block_features(
    beta_hat: np.ndarray, se: np.ndarray, ldscore: np.ndarray, neighbours: tuple[np.ndarray, np.ndarray]
) -> np.ndarray:
    """Feature matrix of one block for one or several GWAS replicates.

    Parameters
    ----------
    beta_hat, se : (m,) or (R, m) marginal effects and standard errors (any unit).
    ldscore : (m,) within-block LD scores.
    neighbours : output of :func:`top_neighbours` for the block's LD matrix.

    Returns
    -------
    (m, 2T + 4) or (R, m, 2T + 4) float32 features, columns as :func:`feature_names`.
    """
    single = np.ndim(beta_hat) == 1
    beta_hat, se = np.atleast_2d(beta_hat).astype(np.float64), np.atleast_2d(se).astype(np.float64)
    if beta_hat.shape != se.shape or beta_hat.shape[1] != len(ldscore):
        raise InputError(f"beta_hat {beta_hat.shape}, se {se.shape} and ldscore {len(ldscore)} do not match")
    idx, corr = neighbours
    n_rep, m = beta_hat.shape
    top_t = idx.shape[1]
    z = beta_hat / se
    z_nb = np.where(idx >= 0, z[:, np.maximum(idx, 0)], 0.0)  # (R, m, T)
    out = np.empty((n_rep, m, 2 * top_t + 4), dtype=np.float32)
    out[..., 0] = z
    out[..., 1] = np.log(se / np.median(se, axis=1, keepdims=True))
    out[..., 2] = ldscore
    out[..., 3] = np.mean(z**2, axis=1, keepdims=True)
    out[..., 4 : 4 + top_t] = z_nb
    out[..., 4 + top_t :] = corr
    return out[0] if single else out
