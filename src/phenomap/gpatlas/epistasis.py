"""Exhaustive screen of locus pairs for a multiplicative (epistatic) effect on a trait.

A product of two loci without main effects (centred allele counts, as the toy cohort plants its
epistatic pairs) is invisible to a lasso on main effects, so the pairwise lasso's strong
hierarchy (products only among the lasso's loci) cannot find it. The screen scores every pair
(a, b) of loci by the score test of beta in ``r = beta * x_a * x_b + e``, with r the trait's
residual after its additive path and x the centred allele counts:

    S_ab = (sum_i r_i x_ia x_ib)^2 / (var(r) * sum_i x_ia^2 x_ib^2)

which is about chi-square with 1 df for a pair without interaction (main effects the path
missed, and the correlation of a product with its own factors, can inflate it: it ranks
candidates, it is not a p-value). Pairs in strong LD (:data:`MAX_PAIR_R2`) and rare loci
(:data:`MIN_SCREEN_MAF`) are left out. All
pairs' sums are matrix products, X^T diag(r) X per trait and (X*X)^T (X*X) shared by the traits,
taken in blocks of loci over the pairs a < b only (the upper triangle): O(m^2 n) time, half that of
the full square, and O(:data:`BLOCK_SCORES`) memory.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pandas as pd
from scipy import stats

from phenomap.gpatlas.data import observed_groups

#: allele-state panels whose codes are allele counts (haploid 0/1, diploid 0/1/2); others are not screened
MAX_COUNT_STATES = 3
#: loci with a rarer minor allele are not screened: a product with one rests on a handful of carriers,
#: its score is unstable and it can seldom be tested on the held-out samples
MIN_SCREEN_MAF = 0.05
#: pairs of loci in stronger LD (r² of their counts) are not screened: their product is close to one
#: locus's squared count, a dominance term of that locus rather than an interaction of two
MAX_PAIR_R2 = 0.8
#: screen blocks hold at most this many scores (traits x loci x loci of the block) at once
BLOCK_SCORES = 2**24
#: columns of :func:`screen_table` (``epistasis.tsv``)
SCREEN_COLUMNS = ("ID_A", "ID_B", "trait", "screen_score", "p_test", "q_test")


def centred_counts(states: np.ndarray, n_states: int) -> np.ndarray | None:
    """(n, m) float32 allele counts of ``states`` (n, m) int8 (-1 missing) centred on their observed
    mean (a missing call becomes 0, the mean), and 0 throughout for loci with a minor allele
    frequency below :data:`MIN_SCREEN_MAF` (never screened); None for panels whose codes are not
    counts (``n_states`` > :data:`MAX_COUNT_STATES`)."""
    if n_states > MAX_COUNT_STATES:
        return None
    counts = states.astype(np.float32)
    missing = states < 0
    counts[missing] = np.nan
    mean = np.nanmean(counts, axis=0) if missing.any() else counts.mean(axis=0)
    frequency = mean / (n_states - 1)  # A1 count over ploidy (2 for diploid, 1 for haploid panels)
    counts -= mean
    counts[missing] = 0.0
    counts[:, np.minimum(frequency, 1 - frequency) < MIN_SCREEN_MAF] = 0.0
    return counts


def product_scores(counts: np.ndarray, residuals: np.ndarray, rows: np.ndarray, columns: np.ndarray) -> np.ndarray:
    """Screen scores S_ab (module docstring) of loci ``rows`` (c,) against loci ``columns`` (k,), for each
    trait: (T, c, k) float64, 0 where the product is constant or the two loci are in LD r² >=
    :data:`MAX_PAIR_R2`. ``counts`` (n, m) centred allele counts, ``residuals`` (n, T) residuals of
    traits observed on all n samples."""
    r = (residuals - residuals.mean(axis=0)).astype(np.float32)
    a, b = counts[:, rows], counts[:, columns]
    a2, b2 = a**2, b**2
    denominator = a2.T @ b2  # shared by the traits
    norms = np.outer(a2.sum(axis=0, dtype=np.float64), b2.sum(axis=0, dtype=np.float64))
    r2 = ((a.T @ b).astype(np.float64)) ** 2 / np.maximum(norms, 1e-30)
    scored = (denominator > 0) & (r2 < MAX_PAIR_R2)
    out = np.zeros((r.shape[1], len(rows), len(columns)))
    for t in range(r.shape[1]):
        numerator = ((a * r[:, [t]]).T @ b).astype(np.float64)
        scale = float(r[:, t].var()) or 1.0
        np.divide(numerator**2, scale * denominator, out=out[t], where=scored)
    return out


def _blocks(counts: np.ndarray, n_traits: int) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Blocks (rows, columns) of loci for :func:`product_scores`, each within :data:`BLOCK_SCORES`:
    every pair a < b lies in one block, with a in its rows and b in its columns (the loci from
    its first row on, so the upper triangle is computed and not the whole square)."""
    m = counts.shape[1]
    size = max(1, BLOCK_SCORES // max(1, n_traits * m))
    for start in range(0, m, size):
        yield np.arange(start, min(start + size, m)), np.arange(start, m)


def top_product_pairs(counts: np.ndarray, residuals: np.ndarray, top: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """Per trait, the ``top`` locus pairs with the largest screen score S_ab (module docstring).

    ``counts`` (n, m) centred allele counts (:func:`centred_counts`), ``residuals`` (n, T) the traits'
    residuals, NaN = not observed (each trait is screened on its own samples; traits observed on
    the same samples share the work). Returns for each trait pairs (q, 2) int64 with a < b and
    their scores (q,), by decreasing score; q = min(top, m (m - 1) / 2).
    """
    best = [(np.zeros((0, 2), np.int64), np.zeros(0)) for _ in range(residuals.shape[1])]
    for observed, traits in observed_groups(residuals):
        for rows, columns in _blocks(counts, len(traits)):
            scores = product_scores(counts[observed], residuals[observed][:, traits], rows, columns)
            scores[:, columns[None, :] <= rows[:, None]] = -1.0  # each pair once, a < b
            for t, score in zip(traits, scores):
                keep = min(top, score.size)
                flat = np.argpartition(score.ravel(), score.size - keep)[score.size - keep:]
                a, b = np.unravel_index(flat, score.shape)
                pairs = np.concatenate([best[t][0], np.column_stack([rows[a], columns[b]])])
                values = np.concatenate([best[t][1], score[a, b]])
                order = np.argsort(-values, kind="stable")[:top]
                best[t] = pairs[order], values[order]
    return [(pairs[values >= 0], values[values >= 0]) for pairs, values in best]


def screen(states: np.ndarray, n_states: int, residuals: np.ndarray,
           top: int) -> list[tuple[np.ndarray, np.ndarray]] | None:
    """:func:`top_product_pairs` of the samples ``states`` (n, m) for ``residuals`` (n, T); None for
    panels whose codes are not allele counts or ``top`` < 1 (no screen)."""
    counts = centred_counts(states, n_states) if top > 0 else None
    return None if counts is None else top_product_pairs(counts, residuals, top)


def pair_auc(counts: np.ndarray, residuals: np.ndarray, positive: np.ndarray) -> float:
    """ROC AUC of the screen score (the largest S_ab over traits) for the pairs ``positive`` (q, 2)
    among all m (m - 1) / 2 pairs of loci, exact, without holding all scores (ties count one half).
    ``residuals`` (n, T), NaN = trait not observed (each trait screened on its own samples)."""
    m = counts.shape[1]
    positive = np.unique(np.sort(np.asarray(positive).reshape(-1, 2), axis=1), axis=0)
    groups = observed_groups(residuals)

    def combined(rows, columns):
        return np.max([product_scores(counts[o], residuals[o][:, traits], rows, columns).max(axis=0)
                       for o, traits in groups], axis=0)

    target = np.array([combined(np.array([a]), np.array([b]))[0, 0] for a, b in positive])
    negatives_above = np.zeros(len(positive))
    for rows, columns in _blocks(counts, residuals.shape[1]):
        negative = columns[None, :] > rows[:, None]
        mine = (positive[:, 0] >= rows[0]) & (positive[:, 0] <= rows[-1])
        negative[positive[mine, 0] - rows[0], positive[mine, 1] - columns[0]] = False
        score = combined(rows, columns)[negative]
        negatives_above += (score[None, :] > target[:, None]).sum(axis=1)
        negatives_above += 0.5 * (score[None, :] == target[:, None]).sum(axis=1)
    return float(1 - negatives_above.mean() / (m * (m - 1) // 2 - len(positive)))


def product_pvalues(states: np.ndarray, z: np.ndarray, background: np.ndarray, pairs: np.ndarray) -> np.ndarray:
    """Two-sided p of the product term, per pair of ``pairs`` (q, 2), by OLS of the trait ``z`` (n,) on
    an intercept, ``background`` (n,) (e.g. an additive prediction fitted elsewhere), indicators of
    each locus's allele states (its main effects, dominance included) and the product of the two
    centred allele counts (columns collinear with the others add nothing). ``states`` (n, m) allele
    counts, -1 = missing (those samples left out); NaN where the product itself is collinear with
    the rest or too few samples remain."""
    out = np.full(len(pairs), np.nan)
    for k, (a, b) in enumerate(np.asarray(pairs).reshape(-1, 2)):
        keep = (states[:, a] >= 0) & (states[:, b] >= 0) & ~np.isnan(z)
        sa, sb = states[keep, a], states[keep, b]
        columns = [np.ones(keep.sum()), background[keep]]
        columns += [(s == v).astype(float) for s in (sa, sb) for v in np.unique(s)[1:]]
        product = (sa - sa.mean()) * (sb - sb.mean())
        others = np.column_stack(columns)
        rank = np.linalg.matrix_rank(others)
        # the product's coefficient in the full least squares is that of its part orthogonal to the others
        p_part, z_part = (v - others @ np.linalg.lstsq(others, v, rcond=None)[0] for v in (product, z[keep]))
        df = len(product) - rank - 1
        if df < 1 or p_part @ p_part <= 1e-9 * (product @ product):
            continue
        beta = (p_part @ z_part) / (p_part @ p_part)
        sigma2 = np.sum((z_part - beta * p_part) ** 2) / df
        out[k] = 2 * stats.t.sf(abs(beta) / np.sqrt(sigma2 / (p_part @ p_part)), df)
    return out


def screen_table(states: np.ndarray, z: np.ndarray, additive: np.ndarray, is_test: np.ndarray,
                 screened: list[tuple[np.ndarray, np.ndarray]] | None, *, traits, loci: np.ndarray) -> pd.DataFrame:
    """Pairs screened on the training samples, each tested once on the test samples.

    ``states`` (n, m) allele states, ``z`` (n, T) standardised traits (NaN = missing), ``additive``
    (n, T) an additive prediction fitted on the training samples only (the lasso), ``is_test``
    (n,) bool, ``screened`` the :func:`screen` of the training samples for the residual
    ``z - additive`` (None: no screen), ``loci`` (m,) IDs. Each trait's pairs are tested on the
    test samples (:func:`product_pvalues`, ``additive`` as background): a held-out p is valid
    although the pairs were chosen by the screen. ``q_test``: Benjamini-Hochberg over every row.

    Returns ``ID_A ID_B trait screen_score p_test q_test`` by increasing p_test; empty without a
    screen.
    """
    if screened is None:
        return pd.DataFrame(columns=list(SCREEN_COLUMNS))
    parts = []
    for t, (name, (pairs, scores)) in enumerate(zip(traits, screened)):
        p = product_pvalues(states[is_test], z[is_test, t], additive[is_test, t], pairs)
        parts.append(pd.DataFrame({"ID_A": loci[pairs[:, 0]], "ID_B": loci[pairs[:, 1]], "trait": name,
                                   "screen_score": scores, "p_test": p}))
    table = pd.concat(parts, ignore_index=True)
    tested = table.p_test.notna()
    table["q_test"] = np.nan
    table.loc[tested, "q_test"] = stats.false_discovery_control(table.p_test[tested], method="bh")
    return table.sort_values(["p_test", "screen_score"], ascending=[True, False], kind="stable",
                             na_position="last").reset_index(drop=True)
