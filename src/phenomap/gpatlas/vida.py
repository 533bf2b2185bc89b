"""VIDA: variable importance distribution analysis, the paper's unsupervised interaction score.

From a per-sample importance matrix V (n samples x p loci):

1. z-score each locus's column (a constant column gives zeros);
2. similarity of two loci = (|rho| + phi) / 2, with rho the correlation of their z-scores over
   the samples where both are non-zero and phi the observed over expected number of samples
   where both are extreme (|z| > ``z_threshold``); each locus's partners are the
   ``partner_fraction`` most similar other loci;
3. per sample and locus: the extreme-ratio difference (share of extreme partners minus share
   of extreme non-partners) and the clumpiness difference, clumpiness being the share of the
   summed |z| held by the top ``clumpiness_fraction`` of values (partners minus non-partners;
   the published formula is cut off in the text, we use |z| so the share lies in [0, 1]);
4. a locus's score is the mean extreme-ratio difference times the mean clumpiness difference,
   both over the samples where the locus itself is extreme (0 when it never is).

Memory and time grow with p^2, so only the ``max_loci`` most important loci are scored.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
from tqdm.auto import tqdm

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class VidaResult:
    """Per-locus VIDA output (p,), NaN for loci left out by ``max_loci``."""

    score: np.ndarray
    extreme_ratio_diff: np.ndarray
    clumpiness_diff: np.ndarray
    n_partners: int


def zscore_columns(V: np.ndarray) -> np.ndarray:
    """(n, p) column z-scores; constant columns become 0."""
    sd = V.std(axis=0)
    return np.where(sd > 0, (V - V.mean(axis=0)) / np.where(sd > 0, sd, 1), 0.0)


def similarity(Z: np.ndarray, z_threshold: float) -> np.ndarray:
    """(p, p) partner similarity (|rho| + phi) / 2 of z-scored importance ``Z`` (n, p)."""
    n = len(Z)
    M = (Z != 0).astype(np.float64)
    count = M.T @ M  # samples where both are non-zero
    sx = Z.T @ M  # sum of x over samples where y is non-zero
    sxx = (Z**2).T @ M
    sxy = Z.T @ Z
    var_x = count * sxx - sx**2
    denom = np.sqrt(np.clip(var_x * var_x.T, 0, None))
    rho = np.where(denom > 0, (count * sxy - sx * sx.T) / np.where(denom > 0, denom, 1), 0.0)
    E = (np.abs(Z) > z_threshold).astype(np.float64)
    expected = np.outer(E.sum(axis=0), E.sum(axis=0)) / n
    phi = np.where(expected > 0, (E.T @ E) / np.where(expected > 0, expected, 1), 0.0)
    return (np.abs(rho) + phi) / 2


def _top_share(values: np.ndarray, fraction: float) -> np.ndarray:
    """Per row of (n, k) non-negative ``values``: sum of the top ceil(fraction * k) over the total."""
    k = values.shape[1]
    top = max(1, int(np.ceil(fraction * k)))
    total = values.sum(axis=1)
    largest = -np.partition(-values, top - 1, axis=1)[:, :top]
    return np.where(total > 0, largest.sum(axis=1) / np.where(total > 0, total, 1), 0.0)


def vida(V: np.ndarray, *, z_threshold: float = 2.0, partner_fraction: float = 0.1,
         clumpiness_fraction: float = 0.05, max_loci: int = 3000, importance: np.ndarray | None = None) -> VidaResult:
    """VIDA scores of the loci (columns) of the per-sample importance ``V`` (n, p).

    ``importance`` (p,) ranks loci for ``max_loci`` (default: the column means of V).
    """
    n, p = V.shape
    rank = V.mean(axis=0) if importance is None else importance
    kept = np.sort(np.argsort(-rank, kind="stable")[: min(max_loci, p)])
    if len(kept) < p:
        log.info("VIDA on the %d most important of %d loci", len(kept), p)
    Z = zscore_columns(V[:, kept].astype(np.float64))
    q = len(kept)
    sim = similarity(Z, z_threshold)
    np.fill_diagonal(sim, -np.inf)
    n_partners = max(1, int(np.ceil(partner_fraction * (q - 1))))
    partners = np.argpartition(-sim, n_partners - 1, axis=1)[:, :n_partners]  # (q, n_partners)

    A = np.abs(Z)
    extreme = A > z_threshold
    n_extreme = extreme.sum(axis=1)
    ratio_diff, clump_diff = np.zeros(q), np.zeros(q)
    others = np.ones(q, dtype=bool)
    for j in tqdm(range(q), desc="VIDA", mininterval=5):
        mine = extreme[:, j]
        if not mine.any():
            continue
        rows = np.flatnonzero(mine)
        part = partners[j]
        others[:] = True
        others[part] = False
        others[j] = False
        partner_extreme = extreme[np.ix_(rows, part)].sum(axis=1)
        other_extreme = n_extreme[rows] - partner_extreme - 1  # the locus itself is extreme here
        ratio = partner_extreme / n_partners - other_extreme / max(1, q - 1 - n_partners)
        clump = _top_share(A[np.ix_(rows, part)], clumpiness_fraction) - _top_share(
            A[rows][:, others], clumpiness_fraction)
        ratio_diff[j], clump_diff[j] = ratio.mean(), clump.mean()

    def spread(values):
        out = np.full(p, np.nan)
        out[kept] = values
        return out

    return VidaResult(spread(ratio_diff * clump_diff), spread(ratio_diff), spread(clump_diff), n_partners)
