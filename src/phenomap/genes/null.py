"""Null distribution of the gene statistic on shrunk effects, simulated through the shrinkage itself.

Why
---
The epsilon test takes shrunk effects in a null gene to be ``N(0, eps R_g)`` with ``eps`` the
variance of the smallest mixture cluster. Shrinkage is not linear: the network pulls small z
towards 0 and keeps large ones, so shrunk null effects are neither Gaussian nor of one variance,
and the smallest cluster's variance is not theirs (measured: type-I error 0.0025 at 0.05 on real
LD, median null p 0.98, and little power). No closed form gives the law of ``T_g`` after a
network, so it is simulated.

Null
----
The gene-test null is a null GWAS of the LD block: ``beta_hat ~ N(0, c S R S)`` with ``S =
diag(SE)`` the block's standard errors, ``R`` its LD (the sampling law of marginal effects
without true effects) and ``c >= 1`` the GWAS's inflation that LD does not explain (the
workflow takes the LD-score regression intercept, :func:`phenomap.gwas.summary.ldsc_intercept`;
1 for a clean GWAS). Each block gets ``B`` such draws, each draw goes through the *same
shrinkage function* that made the tested effects (the trained ensemble, fed the block's SE, LD
and sample size exactly as :func:`phenomap.shrinkage.apply.shrink_block` feeds it the GWAS), and
every gene of the block gets its ``T_g = sum_i shrunk_i^2`` on every draw. The null thus depends
only on the function applied, not on how it was trained. Draws of one block serve all its genes;
a gene in two blocks adds independent draws of each (LD between blocks is 0, the partition's
premise). The block-level features see a null block (mean z^2 near 1): the null is "no effect
in the block", the usual gene-test null; a gene next to a strong signal in its block is tested
against that null, not against "no effect in this gene only".

p-values
--------
``p = (1 + #{T* >= T}) / (B + 1)`` over the ``B`` null draws ``T*``: a valid Monte Carlo
p-value at every level (``P(p <= alpha) <= alpha``, equal when ``alpha (B + 1)`` is an integer).
Where fewer than ``MIN_EXCEEDANCES`` draws reach ``T`` its count is too small to be precise,
and the tail is fitted instead: the top ``TAIL_FRACTION`` of the draws above their threshold
``u`` follow a generalised Pareto distribution (peaks over threshold, as Knijnenburg et al. 2009
extend permutation p-values), ``p = TAIL_FRACTION * GPD_sf(T - u)``, capped at the Monte Carlo
p-value. A fitted negative shape (a bounded tail, which would give p = 0 beyond the largest
draw) is replaced by the exponential tail (shape 0). A moment-matched scaled chi-square (Liu on
the draws' mean, variance and skewness) was tried and rejected: with 1,000 draws its p at a
true 1e-3 ranged over 0.4-3 times the truth (10th-90th percentile over genes, toy LD), the GPD
over 0.2-2.2 times with median 1.0 (``bench/genes_null.py --tail``). Extrapolated p-values are
marked ``mc_tail``; more draws move the switch lower.

Cost: ``B`` times the shrinkage of every block holding a gene (the ensemble's forward pass on
``B x m`` rows), plus one eigendecomposition per block.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

import numpy as np
from scipy import stats

from phenomap.errors import InputError
from phenomap.genes.combine import cauchy_combination
from phenomap.genes.quadform import liu_pvalue
from phenomap.shrinkage import baselines
from phenomap.shrinkage.apply import nn_shrink_mean
from phenomap.shrinkage.baselines import shrink_block as shrink_with_baseline
from phenomap.shrinkage.model import Ensemble

log = logging.getLogger(__name__)

#: Shrinkage of one block: (beta_hat (B, m), se (m,), r (m, m), n) -> shrunk effects (B, m).
Shrinker = Callable[[np.ndarray, np.ndarray, np.ndarray, int], np.ndarray]
#: Fewest null draws at or above T for the plain Monte Carlo p-value; below, the fitted tail.
MIN_EXCEEDANCES = 10
#: Share of the null draws (the largest) to which the generalised Pareto tail is fitted.
TAIL_FRACTION = 0.1
#: Null draws pushed through the shrinkage at once (bounds the feature array to ~B_CHUNK x m x F).
DRAW_CHUNK = 250
#: Genes whose combined statistics are ranked at once (bounds those arrays to ~GENE_CHUNK x B).
GENE_CHUNK = 500


def nn_shrinker(ensemble: Ensemble) -> Shrinker:
    """The workflow's NN shrinkage (ensemble mean, as ``BETA_SHRUNK``) as a :data:`Shrinker`."""
    return lambda beta_hat, se, r, n: nn_shrink_mean(beta_hat, se, r, n, ensemble)


def baseline_shrinker(method: str, seed: int) -> Shrinker:
    """A baseline of :mod:`phenomap.shrinkage.baselines` as a :data:`Shrinker` (one call per draw; ``none``, the
    identity, at once)."""
    if method == "none":
        return lambda beta_hat, se, r, n: np.asarray(beta_hat, dtype=np.float64)
    return lambda beta_hat, se, r, n: np.stack([shrink_with_baseline(method, b, se, r, n, seed=seed)
                                                for b in beta_hat])


def make_shrinker(method: str, *, model_dir: str | Path | None = None, top_t: int | None = None,
                  seed: int = 0) -> Shrinker:
    """The shrinkage of rule ``shrink`` as a :data:`Shrinker`: ``method`` ``nn`` (the ensemble in ``model_dir``,
    checked against ``top_t``) or a baseline (``none`` = the unshrunk beta_hat), with the rule's seed."""
    if method == "nn":
        if model_dir is None:
            raise InputError("the simulated gene-test null of NN-shrunk effects needs the trained ensemble's directory.")
        return nn_shrinker(Ensemble.load(model_dir, top_t=top_t))
    if method not in baselines.METHODS:
        raise InputError(f"shrinkage method must be nn or one of {baselines.METHODS}, got {method!r}.")
    return baseline_shrinker(method, seed)


def null_square_root(r: np.ndarray) -> tuple[np.ndarray, float]:
    """F (m, m) with ``F F' = r`` (negative eigenvalues set to 0) and r's smallest eigenvalue over its largest."""
    values, vectors = np.linalg.eigh(np.asarray(r, dtype=np.float64))
    return vectors * np.sqrt(np.clip(values, 0.0, None)), float(values[0] / values[-1])


def null_block_statistics(
    root: np.ndarray, se: np.ndarray, n: int, members: list[np.ndarray], shrink: Shrinker, *,
    n_draws: int, rng: np.random.Generator, r: np.ndarray, inflation: float = 1.0,
) -> tuple[np.ndarray, np.ndarray]:
    """Gene statistics of ``n_draws`` null GWAS of one block, through ``shrink``.

    Parameters
    ----------
    root : (m, m) square root of the block's LD ``r`` (:func:`null_square_root`).
    se : (m,) standard errors of the block's variants; n : GWAS sample size.
    members : per gene part, the positions (0..m-1) of its variants in the block.
    inflation : variance factor ``c >= 1`` of the null GWAS, ``z ~ N(0, c r)`` (e.g. the LD-score intercept).

    Returns
    -------
    Two (len(members), n_draws) float64 arrays from the same draws: ``sum_i shrunk_i^2`` and
    ``sum_i z_i^2`` (``z = beta_hat / se``) over each part's variants.
    """
    shrunk_stat, z_stat = np.empty((len(members), n_draws)), np.empty((len(members), n_draws))
    for start in range(0, n_draws, DRAW_CHUNK):
        size = min(DRAW_CHUNK, n_draws - start)
        z = np.sqrt(inflation) * (rng.standard_normal((size, len(se))) @ root.T)
        shrunk2 = shrink(z * se, se, r, n) ** 2
        for k, idx in enumerate(members):
            shrunk_stat[k, start:start + size] = shrunk2[:, idx].sum(axis=1)
            z_stat[k, start:start + size] = (z[:, idx] ** 2).sum(axis=1)
    return shrunk_stat, z_stat


def simulated_pvalues(stat: np.ndarray, null: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """P-values of observed statistics against their null draws (see the module docstring).

    stat : (G,) observed T_g; null : (G, B) null draws of each. Returns p (G,) and the method of
    each, ``"mc"`` (Monte Carlo count) or ``"mc_tail"`` (fitted generalised Pareto tail).
    """
    stat = np.asarray(stat, dtype=np.float64)
    n_draws = null.shape[1]
    exceed = (null >= stat[:, None]).sum(axis=1)
    p = (1.0 + exceed) / (n_draws + 1.0)
    method = np.where(exceed < MIN_EXCEEDANCES, "mc_tail", "mc")
    n_tail = max(MIN_EXCEEDANCES + 1, int(TAIL_FRACTION * n_draws))
    for g in np.flatnonzero(exceed < MIN_EXCEEDANCES):
        p[g] = min(p[g], _pareto_tail(stat[g], null[g], n_tail))
    return p, method


def combined_pvalues(
    stat: np.ndarray, null: np.ndarray, stat_z: np.ndarray, null_z: np.ndarray, eigenvalues: list[np.ndarray],
    p_tail: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """P-values of the Cauchy combination of the shrunk-effect test and the ``sum z^2`` test, calibrated on the
    joint null draws of both statistics.

    The combination of two dependent p-values is only approximately uniform at moderate levels
    (measured: type-I error 0.063 at 0.05 on human-like LD), so its own null is taken from the
    draws: the observed gene and its ``B`` draws are pooled (exchangeable under the null); each
    pooled value gets ``p_effects`` = the share of pooled ``T`` at or above its own and ``p_z`` =
    Liu's p of its ``sum z^2`` (a monotone map, so its approximation does not matter here), and
    their combination ``C``; ``p = (1 + #{draws with C* <= C}) / (B + 1)``, a valid Monte Carlo
    p-value. Where fewer than ``MIN_EXCEEDANCES`` draws reach the observed ``C``, ``p_tail`` (the
    combination of the fitted-tail and exact p-values, accurate as p shrinks) is used, capped at
    the Monte Carlo value.

    stat, stat_z : (G,) observed statistics; null, null_z : (G, B) their draws from the same null
    GWAS; eigenvalues : per gene, those of ``R_g``; p_tail : (G,). Returns p (G,) and the method
    of each, ``"mc"`` or ``"cauchy"`` (p_tail).
    """
    exceed = np.empty(len(stat), dtype=np.int64)
    for start in range(0, len(stat), GENE_CHUNK):  # bounds the (genes, B + 1) arrays
        part = slice(start, start + GENE_CHUNK)
        pooled, pooled_z = np.column_stack([stat[part], null[part]]), np.column_stack([stat_z[part], null_z[part]])
        p_effects = stats.rankdata(-pooled, method="max", axis=1) / pooled.shape[1]
        p_z = np.vstack([liu_pvalue(row, lam) for row, lam in zip(pooled_z, eigenvalues[part])])
        combined = cauchy_combination(np.stack([p_effects.ravel(), p_z.ravel()])).reshape(pooled.shape)
        exceed[part] = (combined[:, 1:] <= combined[:, :1]).sum(axis=1)
    p = (1.0 + exceed) / (null.shape[1] + 1.0)
    tail = exceed < MIN_EXCEEDANCES
    p[tail] = np.minimum(p[tail], p_tail[tail])
    return p, np.where(tail, "cauchy", "mc")


def _pareto_tail(x: float, draws: np.ndarray, n_tail: int) -> float:
    """``P(T >= x)`` from a generalised Pareto fit to the ``n_tail`` largest draws above the next one."""
    top = np.sort(draws)[-(n_tail + 1):]
    threshold, excess = top[0], top[1:] - top[0]
    if not excess.any():  # a degenerate null (e.g. every draw shrunk to 0)
        return 1.0 / (len(draws) + 1.0) if x > threshold else 1.0
    shape, _, scale = stats.genpareto.fit(excess, floc=0)
    if shape < 0:
        shape, scale = 0.0, float(excess.mean())
    return float(n_tail / len(draws) * stats.genpareto.sf(x - threshold, shape, 0, scale))
