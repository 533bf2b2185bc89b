"""Zero-mean truncated Dirichlet-process Gaussian mixture of multi-trait effects, by CAVI.

Model
-----
Each fitted variant i has effects ``gamma_i`` in R^d (d traits, 1 to 5)::

    v_k ~ Beta(1, alpha) for k < K,  v_K = 1            (stick breaking truncated at K = k_max)
    pi_k = v_k * prod_{l<k} (1 - v_l)
    Lambda_k ~ Wishart(W0, nu0)                          (precision, E[Lambda_k] = nu0 * W0)
    z_i ~ Categorical(pi),  gamma_i | z_i = k ~ N(0, Lambda_k^-1)

The means are fixed at zero: a component describes how large effects are and how they
co-vary across traits, not where they sit. Mean-field variational inference with
q(z_i) = Cat(r_i), q(v_k) = Beta(a_k, b_k), q(Lambda_k) = Wishart(W_k, nu_k) and, with
N_k = sum_i r_ik and S_k = sum_i r_ik gamma_i gamma_i^T (uncentred scatter),

* q(v): a_k = 1 + N_k,  b_k = alpha + sum_{l>k} N_l;
* q(Lambda): nu_k = nu0 + N_k,  W_k^-1 = W0^-1 + S_k;
* q(z): log r_ik = E[log pi_k] + E[log|Lambda_k|]/2 - (d/2) log(2 pi) - (nu_k/2) gamma_i^T W_k gamma_i
  + const_i, with E[log pi_k] = E[log v_k] + sum_{l<k} E[log(1 - v_l)].

One iteration updates q(z), then q(v) and q(Lambda); each update maximises the evidence lower
bound (ELBO) over its factor, so the ELBO, computed exactly after every iteration, never
decreases. Iterations stop when its relative change falls below ``tol`` (and no merge below
helps) or after ``max_iter``.

Merge moves. Zero-mean components all overlap at the origin, so plain CAVI empties a
redundant component only over hundreds of iterations, and often not at all (a cluster split
in two halves that also took variants from other clusters). Every ``MOVE_EVERY`` iterations
and at convergence, pairs of components are merged (responsibilities of one added to the
other, q(v) and q(Lambda) updated) when that raises the ELBO; at convergence, if no plain
merge helps, a merge followed by one CAVI iteration is tried for the three most similar
pairs. A move is kept only if it raises the ELBO, so the trace stays monotone. On the planted
4-cluster mixture of bench/clustering.py all 25 restarts reach K* = 4 with these moves; with
plain merges alone most restarts stopped at 5 to 7 clusters, at lower ELBOs.

Priors
------
``nu0 = d + 2``: the weakest Wishart prior whose covariance E[Sigma] = W0^-1 / (nu0 - d - 1)
is finite; it weighs as d + 2 pseudo-variants. ``W0^-1 = diag(s_1^2 .. s_d^2)`` with s_j^2
the median of the non-zero squared effects of trait j among the fitted variants, so the
prior covariance is the scale of the bulk of the fitted effects, trait by trait. The
empirical covariance is not used: it is dominated by the few largest effects and would
inflate the small-variance components, which the gene test relies on (their variance is its
null). ``alpha = 1`` (default) expects about log(1 + n / alpha) * alpha components a priori.

Null set
--------
Variants whose effects are essentially zero on every trait are not fitted and get label 0:
a variant is null when ``|gamma_ij| <= cutoff_j`` for every trait j. Three rules set the
cutoffs (``null_cutoff``):

* ``"ml-mages"``: the paper's rule, cutoff 0 on every trait: every variant with a non-zero
  effect on some trait is fitted, however small, and ``max_fitted_fraction`` is ignored.
  Prefer it for inputs whose nulls are exact zeros (elastic net, or NN-shrunk effects
  thresholded before clustering as ML-MAGES's published effects were) and to reproduce
  ML-MAGES's clusters; on raw NN-shrunk genome-wide effects, which are never exactly zero, it
  fits every variant and the smallest clusters (and the gene test's epsilon) go down to the
  near-zero bulk.
* ``"adaptive"`` (default), below: prefer it for raw NN-shrunk effects.
* a fixed cutoff in effect units, one value or one per trait.

Adaptive rule: trait j's cutoff is ``NULL_RELATIVE_CUTOFF`` (1e-3) times the largest
absolute effect of trait j. Exact zeros
(elastic net) are therefore always null; NN-shrunk outputs, which are small but never
exactly zero, lose only the values a thousand times below the largest effect: each
contributes less than 1e-6 of the largest squared effect to any sum of squares (the gene
statistic), and fitting them would only make the mixture spend components on ever smaller
zero-mean spikes. The rule is scale-free (same result in any effect unit) and needs no
assumption on the fraction of null variants.

``max_fitted_fraction`` (0.2 by default, as the workflow's; None = no cap) caps the fitted share of the variants: the relative
factor 1e-3 is raised, for all traits at once, until at most that fraction of the variants
is left (those whose largest |gamma_ij| / max_i |gamma_ij| over traits is largest). The ML-MAGES
reference code fits at most a fifth of the variants; on NN-shrunk genome-wide effects, whose
magnitudes spread continuously, this choice sets how small the smallest cluster, and so the
gene test's null variance, gets.

Restarts and the number of clusters
-----------------------------------
Each restart starts from a k-means++ seeding in a space of effect shapes: variant i is
described by log|gamma_i| (standardised) and the entries of u_i u_i^T, u_i = gamma_i / |gamma_i|
(its axis, sign-free), after dividing each trait by its prior scale s_j. Seeds are drawn with
probability proportional to the squared distance to the nearest seed so far; each variant
starts in the component of its nearest seed (components ordered by size, the largest first,
as the stick-breaking prior prefers). The restart with the best final ELBO is kept; each
restart's K* (counted as under "Clusters" below) is reported.

Why the best ELBO and not the most frequent K*: on effects without true clusters
(bench/clustering.py's continuous scale mixture) the restarts' K* spread over 4 to 15 and the
most frequent one changes with the seed (labels across five seeds: adjusted Rand index 0.57 at
worst); the best ELBO gives fewer clusters (K* 5 to 7) and agreement 0.62 at worst (median
0.70, docs/benchmarks.md). The remaining disagreement is not an optimisation failure that more
restarts would fix: two seeds whose fits reach the same K* = 5 and ELBOs within 0.5 nats label
the variants with an ARI of 0.77, as a continuum of effect sizes has many equally good
partitions. On the planted 4-cluster mixture every seed gives the same labels (ARI >= 0.9999).

With more than ``restart_subsample`` fitted variants, the restarts run on a random subset of
that size and the chosen restart is then refitted on all fitted variants, starting from its
q(v) and q(Lambda); K* is recomputed from the refit. Restarts only choose a starting point, and
a subset of 20 000 variants pins down components holding more than a few tenths of a percent
of them. On 100k variants x 2 traits (bench/clustering.py, a busy two-core machine) a fit took
12 s on the planted mixture (25 s with restarts on all 40k fitted variants, same clusters)
and 33 s on a continuous scale mixture with 88k fitted variants (K* = 11 under the former
most-frequent-K* rule, 5 to 7 now).

Clusters
--------
The clusters of a fit are chosen in two steps, for every restart and for the reported fit:

1. the fewest components whose expected weights, sorted in decreasing order, sum to at least
   ``weight_threshold`` (the paper's truncation);
2. of these, those labelling fewer than ``min_cluster_size`` fitted variants are removed, all
   at once (each variant is labelled by its largest responsibility over the step-1 components).
   A component can keep weight while no variant is labelled with it (in one dimension, a
   component nested between two others; or a small-variance component whose variants moved
   to a neighbour): such a cluster describes no variant, yet, as the smallest cluster, it
   would supply the gene test's epsilon. The component labelling the most variants is always
   kept. The default minimum, 1, removes only clusters without a variant: the clusters of the
   largest effects may hold only a handful of variants (8 and 9 in the toy cohort). For restarts on a subset, the minimum is scaled to the subset's share of the fitted
   variants.

K* is the number of clusters left. Responsibilities are then recomputed over them (the
posterior of z_i given that it is one of them, E[log pi_k] included; for the kept clusters
this equals the full posterior renormalised over them), and each fitted variant is labelled by
its largest one. Removing clusters only moves variants into the clusters left, so every
reported cluster labels at least ``min_cluster_size`` variants. Weights are the kept
components' expected stick-breaking weights, renormalised to sum to one; covariances are
their E[Sigma_k] = W_k^-1 / (nu_k - d - 1). Clusters are numbered 1..K* by decreasing trace of
E[Sigma_k]: cluster 1 has the largest effects and cluster K* the smallest; cluster typing
(:mod:`phenomap.mixture.typing`) and epsilon only see these clusters.

``null_variance`` (the gene test's epsilon) is the diagonal of E[Sigma] of the smallest
cluster (cluster K*, smallest trace): the per-trait variance of effects that are
"nonprioritised" (gene-epsilon's spurious cluster). The null set itself is not used, as its
variance is zero for elastic-net inputs.

Traits without any non-null effect
----------------------------------
A trait whose effects are all null is left out of the fit: its rows and columns of
``covariances`` are zero and its ``null_variance`` is NaN (no gene test is possible). When
no variant at all is non-null the fit is empty: K* = 0, ``weights`` (0,), ``covariances``
(0, d, d), ``responsibilities`` (0, 0), every label 0, empty ``elbo_trace`` and
``restart_kstars``, and ``null_variance`` all NaN.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy.special import betaln, digamma, gammaln, xlogy
from tqdm.auto import tqdm

from phenomap.errors import InputError
from phenomap.io.tables import atomic_path

log = logging.getLogger(__name__)

MAX_TRAITS = 5
NULL_RELATIVE_CUTOFF = 1e-3
#: Named rules of the null cutoff (see the module docstring); a number gives a fixed cutoff.
NULL_RULES = ("adaptive", "ml-mages")
#: Fewest fitted variants per trait for a fit to be attempted (one full covariance needs a few
#: times d(d + 1) / 2 variants; this asks for ten per trait).
MIN_FITTED_PER_TRAIT = 10
LOG_2PI = float(np.log(2 * np.pi))
LOG_PI = float(np.log(np.pi))
#: CAVI iterations between rounds of merge moves (also tried whenever the ELBO has converged).
MOVE_EVERY = 10
#: Most similar pairs tried by a refined merge (merge + one iteration) at convergence.
REFINED_MERGE_TRIALS = 3
FORMAT = "phenomap.dpgmm/1"


@dataclass(frozen=True)
class MixtureFit:
    """A fitted zero-mean mixture and the cluster of every variant.

    Attributes
    ----------
    weights : (K*,) mixing weights of the clusters, summing to one.
    covariances : (K*, d, d) E[Sigma_k], in squared effect units, clusters by decreasing trace.
    labels : (n,) int64, 0 = null (not fitted), 1..K* = cluster (1 = largest trace).
    responsibilities : (n_fitted, K*) posterior cluster probabilities of the fitted variants
        (those with ``labels > 0``), in input order.
    elbo_trace : (n_iter,) ELBO after each iteration of the reported fit (the refit when the
        restarts ran on a subset).
    restart_kstars : (n_restarts,) K* of every restart.
    n_restarts_with_kstar : number of restarts whose K* is that of the kept (best-ELBO) restart.
    null_cutoff : (d,) per-trait cutoff on |effect| below which (on every trait) a variant is null.
    null_variance : (d,) per-trait variance of the smallest cluster (epsilon of the gene test);
        NaN for a trait without non-null effects.
    """

    weights: np.ndarray
    covariances: np.ndarray
    labels: np.ndarray
    responsibilities: np.ndarray
    elbo_trace: np.ndarray
    restart_kstars: np.ndarray
    n_restarts_with_kstar: int
    null_cutoff: np.ndarray
    null_variance: np.ndarray

    @property
    def k_star(self) -> int:
        """Number of clusters."""
        return int(self.weights.shape[0])

    @property
    def fitted(self) -> np.ndarray:
        """(n,) bool, the variants that were fitted (not null)."""
        return self.labels > 0


@dataclass(frozen=True)
class _Prior:
    alpha: float
    nu0: float
    scatter0: np.ndarray  # W0^-1, (d, d)


@dataclass(frozen=True)
class _Posterior:
    """q(v) and q(Lambda); ``scatter`` holds W_k^-1."""

    a: np.ndarray  # (K - 1,)
    b: np.ndarray  # (K - 1,)
    nu: np.ndarray  # (K,)
    scatter: np.ndarray  # (K, d, d)


def fit_dpgmm(
    gamma: np.ndarray,
    *,
    k_max: int = 20,
    alpha: float = 1.0,
    n_restarts: int = 25,
    weight_threshold: float = 0.99,
    max_iter: int = 500,
    tol: float = 1e-6,
    seed: int = 0,
    null_cutoff: str | float | Sequence[float] = "adaptive",
    max_fitted_fraction: float | None = 0.2,
    min_cluster_size: int = 1,
    restart_subsample: int | None = 20_000,
    variant_ids: Sequence[str] | None = None,
) -> MixtureFit:
    """Fit the zero-mean truncated DP Gaussian mixture to multi-trait effects.

    Parameters
    ----------
    gamma : (n,) or (n, d) effects (shrunk or not) of n variants on d traits, 1 <= d <= 5.
    k_max : truncation level K of the stick-breaking construction.
    alpha : concentration of the Beta(1, alpha) stick proportions.
    n_restarts : number of seeded restarts.
    weight_threshold : K* = fewest components whose sorted expected weights reach this sum.
    max_iter, tol : stop after ``max_iter`` iterations or when the ELBO's relative change < ``tol``.
    seed : master seed: child 0 of ``SeedSequence(seed)`` draws the restart subset, child r + 1
        seeds restart r.
    null_cutoff : rule of the null set (see the module docstring): ``"adaptive"`` (default,
        ``NULL_RELATIVE_CUTOFF`` times each trait's largest |effect|, capped by
        ``max_fitted_fraction``), ``"ml-mages"`` (the paper's: only exact zeros on every trait
        are null), or a fixed |effect| cutoff (one value or one per trait).
    max_fitted_fraction : with the adaptive cutoff, raise it so that at most this fraction of
        the variants is fitted (default 0.2); None for no cap.
    min_cluster_size : fewest fitted variants labelled with a cluster for it to be reported
        (smaller ones are removed before K*, types and epsilon; see the module docstring).
    restart_subsample : run the restarts on at most this many fitted variants, then refit on
        all; None runs them on all.
    variant_ids : (n,) names used in error messages (default: 0-based row numbers).

    Returns
    -------
    MixtureFit (see the module docstring for the empty fit when every variant is null).

    Raises
    ------
    InputError for NaN or infinite effects (naming the first variant and trait), more than 5
    traits, invalid settings, or fewer than 10 x d non-null variants (but more than none).
    """
    gamma = _check_effects(gamma, variant_ids)
    _check_settings(k_max, alpha, n_restarts, weight_threshold, max_iter, tol, restart_subsample, max_fitted_fraction,
                    min_cluster_size)
    n, d = gamma.shape
    cutoff = _null_cutoffs(gamma, null_cutoff, max_fitted_fraction)
    fitted = (np.abs(gamma) > cutoff).any(axis=1)
    live = (np.abs(gamma) > cutoff).any(axis=0)
    n_fitted = int(fitted.sum())
    log.info("%d of %d variants are non-null (cutoffs %s); fitting %d of %d traits",
             n_fitted, n, np.array2string(cutoff, precision=3), int(live.sum()), d)
    if n_fitted == 0:
        log.warning("no variant has a non-null effect: returning an empty mixture (K* = 0)")
        return _empty_fit(n, d, cutoff)
    if not live.all():
        log.warning("trait(s) %s have no non-null effect: left out of the mixture", np.flatnonzero(~live).tolist())
    needed = MIN_FITTED_PER_TRAIT * int(live.sum())
    if n_fitted < needed:
        raise InputError(
            f"only {n_fitted} variants have a non-null effect (|effect| above {cutoff.tolist()} on some trait), "
            f"but the mixture needs at least {needed} ({MIN_FITTED_PER_TRAIT} per trait): use more variants, "
            "a less sparse shrinkage or a lower null_cutoff."
        )
    x = gamma[np.ix_(fitted, live)]
    prior = _default_prior(x, alpha)
    subset_seed, *restart_seeds = np.random.SeedSequence(seed).spawn(n_restarts + 1)
    subset = _subsample(n_fitted, restart_subsample, np.random.default_rng(subset_seed))
    x_restart = x[subset]
    outer_restart = _outer(x_restart)
    features = _shape_features(x_restart, prior)

    runs = []
    for restart_seed in tqdm(restart_seeds, desc="dpgmm restarts", mininterval=5):
        init = _kmeanspp_labels(features, k_max, np.random.default_rng(restart_seed))
        post, trace = _cavi(outer_restart, _start_from_labels(outer_restart, init, k_max, prior), prior, max_iter, tol)
        runs.append((post, trace))
    restart_min_size = min_cluster_size * subset.size / n_fitted
    kstars = np.array([_clusters(outer_restart, post, weight_threshold, restart_min_size)[0].size for post, _ in runs])
    best = int(np.argmax([trace[-1] for _, trace in runs]))
    post, trace = runs[best]
    n_with_kstar = int((kstars == kstars[best]).sum())
    log.info("K* per restart %s; best ELBO %.6g (restart %d, K* = %d, reached by %d restarts)",
             kstars.tolist(), trace[-1], best, kstars[best], n_with_kstar)
    if subset.size < n_fitted:
        post, trace = _cavi(_outer(x), post, prior, max_iter, tol)
        log.info("refit on all %d fitted variants: ELBO %.6g after %d iterations", n_fitted, trace[-1], len(trace))
    return _final_fit(x, post, weight_threshold, min_cluster_size, fitted, live, cutoff, trace, kstars, n_with_kstar)


# ---------------------------------------------------------------------------------------------
# input checks, null set, prior


def _check_effects(gamma: np.ndarray, variant_ids: Sequence[str] | None) -> np.ndarray:
    gamma = np.asarray(gamma, dtype=float)
    if gamma.ndim == 1:
        gamma = gamma[:, None]
    if gamma.ndim != 2 or gamma.shape[0] == 0 or gamma.shape[1] == 0:
        raise InputError(f"effects must be a non-empty (variants, traits) matrix, got shape {gamma.shape}.")
    if gamma.shape[1] > MAX_TRAITS:
        raise InputError(
            f"effects have {gamma.shape[1]} traits but the mixture handles at most {MAX_TRAITS}: "
            "cluster a subset of the traits (the number of covariance parameters grows as d^2)."
        )
    bad = ~np.isfinite(gamma)
    if bad.any():
        row, trait = np.argwhere(bad)[0]
        name = variant_ids[row] if variant_ids is not None else f"row {row}"
        raise InputError(
            f"effect of variant {name} on trait {trait} (0-based) is {gamma[row, trait]} "
            f"({int(bad.any(axis=1).sum())} variants have NaN or infinite effects): drop or fix these "
            "variants before clustering (missing effects are not zeros)."
        )
    return gamma


def _check_settings(k_max, alpha, n_restarts, weight_threshold, max_iter, tol, restart_subsample, max_fitted_fraction,
                    min_cluster_size):
    problems = {
        "k_max": k_max < 1,
        "alpha": not alpha > 0,
        "n_restarts": n_restarts < 1,
        "weight_threshold": not 0 < weight_threshold <= 1,
        "max_iter": max_iter < 1,
        "tol": not tol > 0,
        "restart_subsample": restart_subsample is not None and restart_subsample < 1,
        "max_fitted_fraction": max_fitted_fraction is not None and not 0 < max_fitted_fraction <= 1,
        "min_cluster_size": min_cluster_size < 1,
    }
    wrong = [key for key, is_wrong in problems.items() if is_wrong]
    if wrong:
        raise InputError(
            f"mixture setting(s) {wrong} out of range (k_max={k_max}, alpha={alpha}, n_restarts={n_restarts}, "
            f"weight_threshold={weight_threshold}, max_iter={max_iter}, tol={tol}, restart_subsample="
            f"{restart_subsample}, max_fitted_fraction={max_fitted_fraction}, min_cluster_size={min_cluster_size}): "
            "k_max, n_restarts, max_iter, restart_subsample, min_cluster_size >= 1, alpha > 0, tol > 0, "
            "0 < weight_threshold <= 1, 0 < max_fitted_fraction <= 1."
        )


def _null_cutoffs(gamma: np.ndarray, null_cutoff, max_fitted_fraction: float | None) -> np.ndarray:
    """(d,) per-trait cutoffs: a variant is null when |gamma_ij| <= cutoff_j for every trait j."""
    d = gamma.shape[1]
    rule = null_cutoff if isinstance(null_cutoff, str) else "fixed"
    if rule not in (*NULL_RULES, "fixed"):
        raise InputError(f"null_cutoff must be one of {list(NULL_RULES)} or a number (one or one per trait); "
                         f"got {null_cutoff!r}.")
    if rule == "adaptive":
        largest = np.abs(gamma).max(axis=0)
        factor = NULL_RELATIVE_CUTOFF
        if max_fitted_fraction is not None:
            live = largest > 0
            relative = (np.abs(gamma[:, live]) / largest[live]).max(axis=1, initial=0.0)
            rank = relative.size - int(np.floor(max_fitted_fraction * relative.size)) - 1
            if rank >= 0:  # at most floor(fraction * n) variants lie strictly above this order statistic
                factor = max(factor, float(np.partition(relative, rank)[rank]))
        return factor * largest
    if max_fitted_fraction is not None:
        log.warning("max_fitted_fraction is ignored: it caps the adaptive null cutoff only (null_cutoff = %r)",
                    null_cutoff)
    if rule == "ml-mages":  # every variant with a non-zero effect on some trait is fitted
        return np.zeros(d)
    cutoff = np.asarray(null_cutoff, dtype=float)
    if cutoff.ndim == 0:
        cutoff = np.full(d, float(cutoff))
    if cutoff.shape != (d,) or not (np.isfinite(cutoff) & (cutoff >= 0)).all():
        raise InputError(f"null_cutoff must be one value or {d} (one per trait), finite and >= 0; got {null_cutoff}.")
    return cutoff


def _default_prior(x: np.ndarray, alpha: float) -> _Prior:
    """nu0 = d + 2 and W0^-1 = diag(median of the non-zero squared effects of each trait)."""
    d = x.shape[1]
    scale = np.array([np.median(col[col != 0] ** 2) for col in x.T])
    return _Prior(alpha=float(alpha), nu0=d + 2.0, scatter0=np.diag(scale))


def _subsample(n: int, size: int | None, rng: np.random.Generator) -> np.ndarray:
    if size is None or n <= size:
        return np.arange(n)
    return np.sort(rng.choice(n, size, replace=False))


# ---------------------------------------------------------------------------------------------
# variational inference


def _outer(x: np.ndarray) -> np.ndarray:
    """(d(d+1)/2, n) products gamma_ij * gamma_il for j <= l (upper triangle, row-major).

    Arrays over variants are kept component-major, (K, n) and (P, n): reductions over the
    few components then run along contiguous rows, several times faster than over (n, K).
    """
    rows, cols = np.triu_indices(x.shape[1])
    return x.T[rows] * x.T[cols]


def _scatter(r: np.ndarray, outer: np.ndarray) -> np.ndarray:
    """(K, P) packed S_k = r @ outer.T.

    einsum rather than BLAS for this and the other thin products over variants: multithreaded
    BLAS calls on such shapes were 10 to 100 times slower on a busy two-core machine.
    """
    return np.einsum("kn,pn->kp", r, outer)


def _unpack(packed: np.ndarray, d: int) -> np.ndarray:
    """(..., K, d(d+1)/2) upper triangles -> (..., K, d, d) symmetric matrices."""
    rows, cols = np.triu_indices(d)
    out = np.zeros(packed.shape[:-1] + (d, d))
    out[..., rows, cols] = packed
    out[..., cols, rows] = packed
    return out


@dataclass(frozen=True)
class _Stats:
    """What the ELBO and the updates of q(v), q(Lambda) need from q(z) = r.

    The functions on _Stats and _Posterior also take a leading batch axis (candidate merges).
    """

    counts: np.ndarray  # (K,) N_k
    scatter: np.ndarray  # (K, P) upper triangles of S_k
    neg_entropy: float | np.ndarray  # sum_ik r_ik log r_ik


def _m_step(stats: _Stats, prior: _Prior) -> _Posterior:
    """q(v) and q(Lambda) given the statistics of q(z)."""
    d = prior.scatter0.shape[0]
    tail = np.cumsum(stats.counts[..., ::-1], axis=-1)[..., ::-1]  # sum_{l >= k} N_l
    return _Posterior(
        a=1.0 + stats.counts[..., :-1],
        b=prior.alpha + tail[..., 1:],
        nu=prior.nu0 + stats.counts,
        scatter=prior.scatter0 + _unpack(stats.scatter, d),
    )


def _expected_log_weights(post: _Posterior) -> np.ndarray:
    """E[log pi_k], (K,)."""
    total = digamma(post.a + post.b)
    edge = np.zeros(post.a.shape[:-1] + (1,))
    log_v = np.concatenate([digamma(post.a) - total, edge], axis=-1)  # v_K = 1
    log_1mv = digamma(post.b) - total
    return log_v + np.concatenate([edge, np.cumsum(log_1mv, axis=-1)], axis=-1)


def _expected_weights(post: _Posterior) -> np.ndarray:
    """E[pi_k], (K,): E[v_k] prod_{l<k} E[1 - v_l] under the independent Beta factors."""
    mean_v = np.append(post.a / (post.a + post.b), 1.0)
    return mean_v * np.concatenate([[1.0], np.cumprod(1 - mean_v[:-1])])


def _expected_log_det(post: _Posterior, logdet_scatter: np.ndarray) -> np.ndarray:
    """E[log |Lambda_k|], (K,)."""
    d = post.scatter.shape[-1]
    half = (post.nu[..., None] + 1 - np.arange(1, d + 1)) / 2
    return digamma(half).sum(axis=-1) + d * np.log(2) - logdet_scatter


def _log_rho(outer: np.ndarray, post: _Posterior) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Unnormalised log responsibilities (K, n), with the coefficients that built them.

    log rho = coef @ outer + const, where coef (K, P) holds -nu_k/2 W_k's upper triangle
    (off-diagonal entries doubled) and const (K,) the gamma-free terms.
    """
    d = post.scatter.shape[1]
    precision = np.linalg.inv(post.scatter)  # W_k
    rows, cols = np.triu_indices(d)
    coef = -0.5 * post.nu[:, None] * precision[:, rows, cols] * np.where(rows == cols, 1.0, 2.0)
    logdet = np.linalg.slogdet(post.scatter)[1]
    const = _expected_log_weights(post) + 0.5 * _expected_log_det(post, logdet) - 0.5 * d * LOG_2PI
    log_rho = np.einsum("kp,pn->kn", coef, outer)  # not BLAS, see _scatter
    log_rho += const[:, None]
    return log_rho, coef, const


def _e_step(outer: np.ndarray, post: _Posterior) -> tuple[np.ndarray, _Stats]:
    """Responsibilities r (K, n) and their statistics.

    sum_ik r_ik log r_ik is obtained as sum_ik r_ik log rho_ik - sum_i log Z_i, with
    sum_ik r_ik log rho_ik = sum_k N_k const_k + sum_kp coef_kp (r outer^T)_kp: two passes
    over the (K, n) array fewer than the direct sum.
    """
    log_rho, coef, const = _log_rho(outer, post)
    shift = log_rho.max(axis=0)
    log_rho -= shift
    r = np.exp(log_rho, out=log_rho)
    norm = r.sum(axis=0)
    r /= norm
    counts = r.sum(axis=1)
    scatter = _scatter(r, outer)
    cross = float(np.sum(coef * scatter) + counts @ const)
    log_z = float(shift.sum() + np.log(norm).sum())
    return r, _Stats(counts=counts, scatter=scatter, neg_entropy=cross - log_z)


def _elbo(stats: _Stats, post: _Posterior, prior: _Prior) -> float | np.ndarray:
    """Evidence lower bound of (q(z), q(v), q(Lambda)), all terms in closed form."""
    d = post.scatter.shape[-1]
    precision = np.linalg.inv(post.scatter)  # W_k
    logdet = np.linalg.slogdet(post.scatter)[1]  # log|W_k^-1|
    e_logdet = _expected_log_det(post, logdet)
    trace_data = np.einsum("...kij,...kji->...k", precision, _unpack(stats.scatter, d))
    trace_prior = np.einsum("...kij,ji->...k", precision, prior.scatter0)

    def log_wishart_norm(logdet_scatter, nu):  # log B(W, nu), with log|W| = -logdet_scatter
        log_multigamma = 0.25 * d * (d - 1) * LOG_PI + gammaln(0.5 * (np.asarray(nu)[..., None] - np.arange(d))).sum(-1)
        return 0.5 * nu * logdet_scatter - 0.5 * nu * d * np.log(2) - log_multigamma

    likelihood = 0.5 * stats.counts * (e_logdet - d * LOG_2PI) - 0.5 * post.nu * trace_data
    prior_lambda = (log_wishart_norm(np.linalg.slogdet(prior.scatter0)[1], prior.nu0)
                    + 0.5 * (prior.nu0 - d - 1) * e_logdet - 0.5 * post.nu * trace_prior)
    entropy_lambda = -log_wishart_norm(logdet, post.nu) - 0.5 * (post.nu - d - 1) * e_logdet + 0.5 * post.nu * d

    total = digamma(post.a + post.b)
    log_v, log_1mv = digamma(post.a) - total, digamma(post.b) - total
    prior_v = post.a.shape[-1] * np.log(prior.alpha) + (prior.alpha - 1) * log_1mv.sum(axis=-1)
    entropy_v = np.sum(betaln(post.a, post.b) - (post.a - 1) * log_v - (post.b - 1) * log_1mv, axis=-1)
    assignment = np.sum(stats.counts * _expected_log_weights(post), axis=-1)
    elbo = ((likelihood + prior_lambda + entropy_lambda).sum(axis=-1)
            + prior_v + entropy_v + assignment - stats.neg_entropy)
    return float(elbo) if np.ndim(elbo) == 0 else elbo


def _merge_candidates(stats: _Stats, post: _Posterior) -> list[tuple[int, int]]:
    """Pairs (earlier, later) of components holding at least one variant, most similar first.

    Similarity is the symmetrised Kullback-Leibler divergence of the zero-mean Gaussians with
    covariances E[Sigma_k] (up to a constant: tr(S_j^-1 S_k) + tr(S_k^-1 S_j)).
    """
    d = post.scatter.shape[1]
    active = np.flatnonzero(stats.counts >= 1.0)
    covariance = post.scatter / (post.nu - d - 1)[:, None, None]
    inverse = np.linalg.inv(covariance)
    j, k = np.triu_indices(active.size, 1)
    j, k = active[j], active[k]
    divergence = np.einsum("pij,pji->p", inverse[j], covariance[k]) + np.einsum("pij,pji->p", inverse[k], covariance[j])
    order = np.argsort(divergence, kind="stable")
    return list(zip(j[order].tolist(), k[order].tolist()))


def _merged(stats: _Stats, pairs: np.ndarray, neg_entropy: float) -> _Stats:
    """Statistics after merging, for each row (keep, drop) of ``pairs``, ``drop`` into ``keep``:
    a batch (len(pairs), K) when ``pairs`` is 2-D, else one merge."""
    pairs = np.asarray(pairs)
    batch = pairs.reshape(-1, 2)
    rows = np.arange(batch.shape[0])
    counts = np.repeat(stats.counts[None], rows.size, axis=0)
    scatter = np.repeat(stats.scatter[None], rows.size, axis=0)
    for values in (counts, scatter):
        values[rows, batch[:, 0]] += values[rows, batch[:, 1]]
        values[rows, batch[:, 1]] = 0.0
    if pairs.ndim == 1:
        counts, scatter = counts[0], scatter[0]
    return _Stats(counts=counts, scatter=scatter, neg_entropy=neg_entropy)


def _merge_moves(r: np.ndarray, stats: _Stats, post: _Posterior, elbo: float, prior: _Prior):
    """Merge pairs of components where that alone raises the ELBO; ``r`` is updated in place.

    Zero-mean components overlap at the origin, so plain CAVI takes hundreds of iterations
    to empty one of two components that share a cluster; a merge does it in one step. A merge
    adds the responsibilities of the later component to the earlier one (the earlier stick
    position) and updates q(v), q(Lambda). Every candidate pair is considered, most similar
    first, each component taking part in one merge per round at most: the helpful merge is
    often not the most similar pair (a cluster split in two whose halves also took other
    variants). Since (a + b) log(a + b) >= a log a + b log b, the ELBO of a merge computed
    without its change of q(z) entropy is an upper bound; the bounds of all pairs are computed
    at once and the pass over the variants is only made for pairs whose bound wins.
    Returns (stats, post, elbo, number of merges).
    """
    pairs = np.array(_merge_candidates(stats, post), dtype=int).reshape(-1, 2)
    row_neg_entropy = xlogy(r, r).sum(axis=1)
    merged = 0
    while pairs.size:
        batch = _merged(stats, pairs, stats.neg_entropy)
        bounds = _elbo(batch, _m_step(batch, prior), prior)
        for (keep, drop), bound in zip(pairs[bounds > elbo], bounds[bounds > elbo]):
            column = r[keep] + r[drop]
            column_neg_entropy = float(xlogy(column, column).sum())
            change = column_neg_entropy - row_neg_entropy[keep] - row_neg_entropy[drop]
            if bound - change > elbo:  # the ELBO is linear in sum r log r
                break
        else:
            break
        r[keep], r[drop] = column, 0.0
        row_neg_entropy[keep], row_neg_entropy[drop] = column_neg_entropy, 0.0
        stats = _merged(stats, np.array([keep, drop]), stats.neg_entropy + change)
        post = _m_step(stats, prior)
        elbo = _elbo(stats, post, prior)
        merged += 1
        pairs = pairs[~np.isin(pairs, (keep, drop)).any(axis=1)]
    return stats, post, elbo, merged


def _refined_merge(outer: np.ndarray, stats: _Stats, post: _Posterior, elbo: float, prior: _Prior):
    """Merge then take one CAVI iteration, for the ``REFINED_MERGE_TRIALS`` most similar pairs;
    keep the first whose ELBO beats ``elbo``. Returns (post, elbo, merged).

    A merge can lower the ELBO at first and raise it once the variants have moved to the
    components that suit them (the two halves of a split cluster that also took variants
    from other clusters): this move, tried at convergence, lets CAVI leave such optima.
    """
    for keep, drop in _merge_candidates(stats, post)[:REFINED_MERGE_TRIALS]:
        trial_post = _m_step(_merged(stats, np.array([keep, drop]), 0.0), prior)
        _, trial = _e_step(outer, trial_post)
        trial_post = _m_step(trial, prior)
        trial_elbo = _elbo(trial, trial_post, prior)
        if trial_elbo > elbo:
            return trial_post, trial_elbo, True
    return post, elbo, False


def _cavi(
    outer: np.ndarray, post: _Posterior, prior: _Prior, max_iter: int, tol: float
) -> tuple[_Posterior, np.ndarray]:
    """Iterate (q(z); q(v), q(Lambda)) from ``post``, with merge moves every ``MOVE_EVERY``
    iterations and at convergence (then refined merges too, if no plain merge helps); return
    the last posterior and the ELBO after each iteration (after the moves)."""
    trace: list[float] = []
    for iteration in range(1, max_iter + 1):
        r, stats = _e_step(outer, post)
        post = _m_step(stats, prior)
        elbo = _elbo(stats, post, prior)
        converged = bool(trace) and abs(elbo - trace[-1]) < tol * abs(elbo)
        if converged or iteration % MOVE_EVERY == 0:
            stats, post, elbo, merged = _merge_moves(r, stats, post, elbo, prior)
            if converged and not merged:
                post, elbo, merged = _refined_merge(outer, stats, post, elbo, prior)
            converged = converged and not merged
        trace.append(elbo)
        if converged:
            break
    return post, np.array(trace)


# ---------------------------------------------------------------------------------------------
# initialisation


def _shape_features(x: np.ndarray, prior: _Prior) -> np.ndarray:
    """(n, 1 + d(d+1)/2): standardised log-norm and axis products u u^T of the scaled effects."""
    scaled = x / np.sqrt(np.diag(prior.scatter0))
    norm = np.linalg.norm(scaled, axis=1)
    log_norm = np.log(norm)
    spread = log_norm.std()
    axis = scaled / norm[:, None]
    return np.column_stack([(log_norm - log_norm.mean()) / (spread if spread > 0 else 1.0), _outer(axis).T])


def _kmeanspp_labels(features: np.ndarray, k: int, rng: np.random.Generator) -> np.ndarray:
    """(n,) index of the nearest of k seeds drawn by k-means++ (D^2 sampling)."""
    n = features.shape[0]
    seeds = [int(rng.integers(n))]
    dist = ((features - features[seeds[0]]) ** 2).sum(axis=1)
    for _ in range(1, k):
        total = dist.sum()
        seeds.append(int(rng.choice(n, p=dist / total)) if total > 0 else int(rng.integers(n)))
        dist = np.minimum(dist, ((features - features[seeds[-1]]) ** 2).sum(axis=1))
    centres = features[seeds]
    sq = (features**2).sum(axis=1)[:, None] - 2 * features @ centres.T + (centres**2).sum(axis=1)
    return np.argmin(sq, axis=1)


def _start_from_labels(outer: np.ndarray, labels: np.ndarray, k: int, prior: _Prior) -> _Posterior:
    """q(v), q(Lambda) from hard assignments, components renumbered by decreasing size."""
    sizes = np.bincount(labels, minlength=k)
    rank = np.empty(k, dtype=int)
    rank[np.argsort(-sizes, kind="stable")] = np.arange(k)
    r = np.zeros((k, labels.size))
    r[rank[labels], np.arange(labels.size)] = 1.0
    return _m_step(_Stats(counts=r.sum(axis=1), scatter=_scatter(r, outer), neg_entropy=0.0), prior)


# ---------------------------------------------------------------------------------------------
# model choice and output


def _k_star(weights: np.ndarray, threshold: float) -> int:
    """Fewest components whose expected weights, largest first, sum to ``threshold`` (1e-12 slack)."""
    cumulative = np.cumsum(np.sort(weights)[::-1])
    return int(min(np.searchsorted(cumulative, threshold - 1e-12) + 1, weights.size))


def _clusters(outer: np.ndarray, post: _Posterior, threshold: float, min_size: float) -> tuple[np.ndarray, np.ndarray]:
    """Indices of the reported clusters (K*,) and their responsibilities (K*, n): the components
    reaching ``threshold`` of the weight, less those labelling fewer than ``min_size`` variants
    (the one labelling the most is kept); see "Clusters" in the module docstring."""
    weights = _expected_weights(post)
    kept = np.argsort(-weights, kind="stable")[: _k_star(weights, threshold)]
    log_rho = _log_rho(outer, post)[0]
    sizes = np.bincount(log_rho[kept].argmax(axis=0), minlength=kept.size)
    kept = kept[(sizes >= min_size) | (sizes == sizes.max())]
    return kept, _softmax(log_rho[kept])


def _final_fit(x, post, threshold, min_size, fitted, live, cutoff, trace, kstars, n_with_kstar) -> MixtureFit:
    n, d = fitted.size, live.size
    d_live = x.shape[1]
    weights = _expected_weights(post)
    kept, r = _clusters(_outer(x), post, threshold, min_size)
    covariances_live = post.scatter[kept] / (post.nu[kept] - d_live - 1)[:, None, None]
    order = np.argsort(-np.trace(covariances_live, axis1=1, axis2=2), kind="stable")
    covariances = np.zeros((kept.size, d, d))
    covariances[np.ix_(np.arange(kept.size), live, live)] = covariances_live[order]
    r = r[order].T
    labels = np.zeros(n, dtype=np.int64)
    labels[fitted] = r.argmax(axis=1) + 1
    null_variance = np.full(d, np.nan)
    null_variance[live] = np.diag(covariances_live[order][-1])
    kept_weights = weights[kept][order]
    return MixtureFit(
        weights=kept_weights / kept_weights.sum(),
        covariances=covariances,
        labels=labels,
        responsibilities=r,
        elbo_trace=np.asarray(trace),
        restart_kstars=kstars,
        n_restarts_with_kstar=int(n_with_kstar),
        null_cutoff=cutoff,
        null_variance=null_variance,
    )


def _softmax(log_rho: np.ndarray) -> np.ndarray:
    """Normalise (K, n) log weights over the components."""
    r = np.exp(log_rho - log_rho.max(axis=0))
    return r / r.sum(axis=0)


def _empty_fit(n: int, d: int, cutoff: np.ndarray) -> MixtureFit:
    return MixtureFit(
        weights=np.zeros(0),
        covariances=np.zeros((0, d, d)),
        labels=np.zeros(n, dtype=np.int64),
        responsibilities=np.zeros((0, 0)),
        elbo_trace=np.zeros(0),
        restart_kstars=np.zeros(0, dtype=np.int64),
        n_restarts_with_kstar=0,
        null_cutoff=cutoff,
        null_variance=np.full(d, np.nan),
    )


# ---------------------------------------------------------------------------------------------
# persistence


def save_mixture(fit: MixtureFit, path: str | Path, *, extra: dict | None = None) -> None:
    """Write ``fit``, per-variant labels and responsibilities included, as JSON (atomically).

    NaN is written as null; floats round-trip exactly. ``extra`` holds further JSON-ready
    entries (e.g. the trait names), written alongside and ignored by :func:`load_mixture`.
    """

    def listed(array):
        return np.where(np.isnan(array), None, array).tolist() if array.dtype.kind == "f" else array.tolist()

    document = {
        "format": FORMAT,
        "n_traits": int(fit.covariances.shape[1]),
        "k_star": fit.k_star,
        "weights": listed(fit.weights),
        "covariances": listed(fit.covariances),
        "null_cutoff": listed(fit.null_cutoff),
        "null_variance": listed(fit.null_variance),
        "n_restarts_with_kstar": fit.n_restarts_with_kstar,
        "restart_kstars": listed(fit.restart_kstars),
        "elbo_trace": listed(fit.elbo_trace),
        "labels": listed(fit.labels),
        "responsibilities": listed(fit.responsibilities),
        **(extra or {}),
    }
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(document))


def load_mixture(path: str | Path) -> MixtureFit:
    """Read a fit written by :func:`save_mixture`."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"mixture file {path} does not exist: run the clustering step first.")
    try:
        doc = json.loads(path.read_text())
    except json.JSONDecodeError as err:
        raise InputError(f"mixture file {path} is not valid JSON ({err}): rerun the clustering step.") from None
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise InputError(f"mixture file {path} is not a {FORMAT} document: it was not written by save_mixture.")

    missing = [key for key in (*MixtureFit.__dataclass_fields__, "n_traits", "k_star") if key not in doc]
    if missing:
        raise InputError(f"mixture file {path} lacks {missing}: rerun the clustering step.")
    d, k = doc["n_traits"], doc["k_star"]

    def floats(key):  # null (NaN) is read back as NaN
        return np.array(doc[key], dtype=float)

    return MixtureFit(
        weights=floats("weights"),
        covariances=floats("covariances").reshape(k, d, d),
        labels=np.array(doc["labels"], dtype=np.int64),
        responsibilities=floats("responsibilities").reshape(-1, k) if k else np.zeros((0, 0)),
        elbo_trace=floats("elbo_trace"),
        restart_kstars=np.array(doc["restart_kstars"], dtype=np.int64),
        n_restarts_with_kstar=int(doc["n_restarts_with_kstar"]),
        null_cutoff=floats("null_cutoff"),
        null_variance=floats("null_variance"),
    )
