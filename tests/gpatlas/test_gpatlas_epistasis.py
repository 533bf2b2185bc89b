"""The screen of all locus pairs for a product effect, against brute force and a planted pair."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats
from sklearn.metrics import roc_auc_score
from gpatlas_helpers import make_planted

from phenomap.errors import InputError
from phenomap.gpatlas import epistasis
from phenomap.gpatlas.baselines import candidate_pairs, fit_lasso_path, pairwise_features, pairwise_path
from phenomap.gpatlas.data import feature_means
from phenomap.gpatlas.epistasis import (
    centred_counts, pair_auc, product_pvalues, screen, screen_table, top_product_pairs,
)
from phenomap.gpatlas.evaluate import fit_baselines
from phenomap.gpatlas.train import Settings


def test_centred_counts__missing_calls_take_the_observed_mean_and_rare_loci_are_left_out():
    states = np.array([[0, 2], [1, -1], [2, 1], [1, 0]], dtype=np.int8)
    counts = centred_counts(states, 3)
    np.testing.assert_allclose(counts, [[-1, 1], [0, 0], [1, 0], [0, -1]])
    assert centred_counts(np.array([[0, 3]], dtype=np.int8), 4) is None  # codes are not counts
    rare = np.zeros((30, 3), dtype=np.int8)
    rare[0, 0] = 1          # diploid MAF 1/60 < 0.05: not screened
    rare[:4, 1] = 1         # 4/60 = 0.067: screened
    rare[:1, 2] = 1         # haploid panel below: 1/30 < 0.05
    counts = centred_counts(rare, 3)
    assert not counts[:, 0].any() and counts[:, 1].any()
    assert not centred_counts(rare[:, [2]], 2).any()


def brute_force_scores(counts: np.ndarray, residual: np.ndarray) -> dict[tuple[int, int], float]:
    """Every pair's score; 0 for pairs in LD r² >= 0.8."""
    x, r = counts.astype(np.float64), residual - residual.mean()
    m = x.shape[1]
    return {(a, b): 0.0 if np.corrcoef(x[:, a], x[:, b])[0, 1] ** 2 >= 0.8 else
            np.sum(r * x[:, a] * x[:, b]) ** 2 / (r.var() * np.sum(x[:, a] ** 2 * x[:, b] ** 2))
            for a in range(m) for b in range(a + 1, m)}


def test_top_product_pairs__match_a_brute_force_loop_over_pairs(rng, monkeypatch):
    n, m, top = 150, 30, 20
    monkeypatch.setattr(epistasis, "BLOCK_SCORES", 7 * m)  # blocks of 7 loci to merge
    states = rng.integers(0, 3, size=(n, m)).astype(np.int8)
    states[:, 20] = np.where(rng.random(n) < 0.05, states[:, 21], states[:, 3])  # in LD with locus 3
    states[rng.random((n, m)) < 0.05] = -1
    counts = centred_counts(states, 3)
    # locus 3's dominance (its squared count) would make the pair (3, 20) score high: not screened
    residual = rng.normal(size=n) + 0.8 * counts[:, 4] * counts[:, 11] + 1.5 * counts[:, 3] ** 2
    subset = rng.random(n) > 0.2
    residuals = np.column_stack([residual, np.where(subset, rng.normal(size=n), np.nan)])
    screened = top_product_pairs(counts, residuals, top)
    for (pairs, scores), brute in zip(screened, (brute_force_scores(counts, residual),
                                                 brute_force_scores(counts[subset], residuals[subset, 1]))):
        expected = sorted(brute, key=brute.get, reverse=True)[:top]
        assert [tuple(p) for p in pairs] == expected
        np.testing.assert_allclose(scores, [brute[p] for p in expected], rtol=1e-4)
    assert tuple(screened[0][0][0]) == (4, 11)
    assert (3, 20) not in {tuple(p) for p in screened[0][0]}


def test_candidate_pairs__join_the_lasso_loci_pairs_and_the_screened_pairs():
    loci, pairs = candidate_pairs(np.array([2, 5, 9]), np.array([[7, 3], [2, 5]]))
    assert list(loci) == [2, 3, 5, 7, 9]
    named = {(int(loci[a]), int(loci[b])) for a, b in pairs}
    assert named == {(2, 5), (2, 9), (5, 9), (3, 7)} and len(pairs) == 4
    X = np.arange(40.0).reshape(2, 20)
    F = pairwise_features(X, loci, 2, pairs)
    assert F.shape == (2, 5 * 2 + 4 * 4)
    assert F[1, 10] == X[1, 4] * X[1, 10]  # first product: first feature of locus 2 times first of locus 5


def test_pairwise_path__finds_a_product_without_main_effects_only_with_the_screen(rng):
    # a centred product of loci 3 and 17 (no marginal effect) beside an additive locus 5
    n, m = 1000, 60
    states = rng.integers(0, 3, size=(n, m)).astype(np.int8)
    c = states - states.mean(axis=0)
    y = 0.8 * c[:, 3] * c[:, 17] + 0.5 * c[:, 5] + rng.normal(size=n)
    z = ((y - y.mean()) / y.std())[:, None]
    train, test = np.arange(700), np.arange(700, n)
    mean = feature_means(states[train], 3, "onehot")
    main = fit_lasso_path(states[train], 3, "onehot", z[train], mean=mean, n_alphas=15, folds=4, seed=0)
    assert main.coef[0].reshape(m, 3)[[3, 17]].max() - main.coef[0].reshape(m, 3)[[3, 17]].min() < 0.05

    def fit(scan):
        path = pairwise_path(states[train], 3, "onehot", z[train], main, screen_pairs=scan, n_alphas=15, folds=4,
                             seed=0)
        pred = path.predict_states(states[test], 3, "onehot", mean.astype(np.float32))[:, 0]
        pairs = set(zip((path.pair_a // 3).tolist(), (path.pair_b // 3).tolist()))
        return pairs, 1 - np.mean((pred - z[test, 0]) ** 2) / np.var(z[test, 0])

    without, r2_without = fit(0)
    screened, r2_screened = fit(10)
    assert (3, 17) not in without
    assert (3, 17) in screened
    assert r2_screened > r2_without + 0.08  # seeds 0-5: gains 0.13-0.22


def test_pair_auc__equals_sklearn_on_every_pairs_largest_score_over_traits(rng, monkeypatch):
    n, m = 120, 25
    monkeypatch.setattr(epistasis, "BLOCK_SCORES", 6 * m)  # positives in several blocks
    counts = centred_counts(rng.integers(0, 3, size=(n, m)).astype(np.int8), 3)
    residuals = np.column_stack([rng.normal(size=n) + 0.5 * counts[:, 2] * counts[:, 9], rng.normal(size=n)])
    residuals[rng.random(n) < 0.1, 1] = np.nan
    a, b = np.triu_indices(m, 1)
    observed = [~np.isnan(residuals[:, t]) for t in range(2)]
    scores = [brute_force_scores(counts[o], residuals[o, t]) for t, o in enumerate(observed)]
    combined = np.max([[score[pair] for pair in zip(a, b)] for score in scores], axis=0)
    positive = np.array([[9, 2], [0, 1], [5, 20]])
    label = np.zeros(len(a), bool)
    for i, j in np.sort(positive, axis=1):
        label[(a == i) & (b == j)] = True
    assert pair_auc(counts, residuals, positive) == pytest.approx(roc_auc_score(label, combined), abs=1e-6)


def test_product_pvalues__equal_the_f_test_of_nested_least_squares(rng):
    n = 300
    states = rng.integers(0, 3, size=(n, 6)).astype(np.int8)
    background = rng.normal(size=n)
    z = 0.4 * background + 0.5 * (states[:, 1] - 1.0) * (states[:, 4] - 1.0) + rng.normal(size=n)
    states[rng.random(states.shape) < 0.03] = -1
    pairs = np.array([[1, 4], [0, 2]])
    p = product_pvalues(states, z, background, pairs)
    for k, (i, j) in enumerate(pairs):
        keep = (states[:, i] >= 0) & (states[:, j] >= 0)
        si, sj = states[keep, i], states[keep, j]
        reduced = np.column_stack([np.ones(keep.sum()), background[keep], si == 1, si == 2, sj == 1, sj == 2])
        full = np.column_stack([reduced, (si - si.mean()) * (sj - sj.mean())])
        rss = [np.sum((z[keep] - X @ np.linalg.lstsq(X, z[keep], rcond=None)[0]) ** 2) for X in (reduced, full)]
        df = keep.sum() - full.shape[1]
        assert p[k] == pytest.approx(stats.f.sf((rss[0] - rss[1]) / (rss[1] / df), 1, df), rel=1e-8)
    assert p[0] < 1e-6 < 0.01 < p[1]


def test_screen_table__finds_the_planted_pair_on_training_samples_and_confirms_it_on_test_samples(rng):
    n, m = 900, 80
    states = rng.integers(0, 3, size=(n, m)).astype(np.int8)
    c = states - states.mean(axis=0)
    additive = np.column_stack([0.5 * c[:, 0], 0.5 * c[:, 1]])
    z = additive + np.column_stack([0.5 * c[:, 30] * c[:, 61], np.zeros(n)]) + rng.normal(size=(n, 2))
    is_test = np.arange(n) >= 600
    loci = np.array([f"L{j}" for j in range(m)])
    screened = screen(states[~is_test], 3, z[~is_test] - additive[~is_test], 5)
    table = screen_table(states, z, additive, is_test, screened, traits=("t1", "t2"), loci=loci)
    assert list(table.columns) == ["ID_A", "ID_B", "trait", "screen_score", "p_test", "q_test"]
    assert len(table) == 10 and (table.groupby("trait").size() == 5).all()
    first = table.iloc[0]
    assert (first.ID_A, first.ID_B, first.trait) == ("L30", "L61", "t1")
    assert first.q_test < 1e-3
    assert table.p_test.notna().all()  # also where the background is one locus's main effect (trait t2)
    assert (table.q_test.iloc[1:] > 0.05).all()  # nothing else is confirmed on the test samples


def test_screen_pairs__zero_turns_the_screen_off_and_a_negative_count_is_refused():
    data = make_planted(n=120)
    is_test = np.arange(120) >= 90
    off = fit_baselines(data, is_test, baselines=("lasso",), lasso_alphas=5, lasso_folds=3, screen_pairs=0)
    on = fit_baselines(data, is_test, baselines=("lasso",), lasso_alphas=5, lasso_folds=3, screen_pairs=4)
    assert off.epistasis is None
    assert len(on.epistasis) == 4 * len(data.traits)
    with pytest.raises(InputError, match="screen_pairs = -1"):
        Settings(screen_pairs=-1)
